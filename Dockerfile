# linkbrief in a container: the built wheel on a slim Python, run as a non-root user.
#
#   docker build -t linkbrief .
#   docker run --env-file .env -p 8080:8080 -v linkbrief-data:/data linkbrief
#
# The image build itself is not exercised by the test suite (no container engine
# there); tests/test_deploy_files.py lints this file with hadolint.

# --- build: the wheel, from this checkout ---------------------------------------
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
RUN pip install --no-cache-dir build==1.2.2 \
    && python -m build --wheel --outdir /dist

# --- run: the wheel and its dependencies, nothing else -------------------------------
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/linkbrief.db \
    OPS_HTTP_PORT=8080 \
    LOG_FORMAT=json
COPY --from=build /dist/*.whl /tmp/
RUN pip install --no-cache-dir /tmp/*.whl \
    && rm /tmp/*.whl \
    && useradd --create-home --uid 10001 linkbrief \
    && mkdir /data \
    && chown linkbrief:linkbrief /data
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
# 8080: /healthz and /metrics (OPS_HTTP_PORT); 3000: Slack HTTP mode (SLACK_HTTP_PORT).
EXPOSE 8080 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('OPS_HTTP_PORT', '8080') + '/healthz', timeout=4)"]
ENTRYPOINT ["linkbrief"]
CMD ["run"]

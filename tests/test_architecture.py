"""The layering rules from docs/architecture.md, checked on the source (AST, no imports run).

* the pipeline, renderers, store and digest builder never import a chat SDK
  or the openai package;
* ``bot/llm/`` is the only importer of openai;
* ``bot/config.py`` is the only reader of the environment.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[1] / "bot"
CHAT_AND_MODEL_SDKS = ("slack_bolt", "slack_sdk", "discord", "openai")


def _modules() -> list[Path]:
    return sorted(BOT.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize(
    "layer", ["pipeline", "render", "store", "digest", "delivery", "followup"]
)
def test_platform_free_layers_import_no_chat_or_model_sdk(layer: str) -> None:
    offenders = {
        str(path.relative_to(BOT)): sorted(
            n for n in _imports(path) if _top(n) in CHAT_AND_MODEL_SDKS
        )
        for path in (BOT / layer).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_llm_package_imports_openai() -> None:
    importers = {
        str(path.relative_to(BOT))
        for path in _modules()
        if any(_top(n) == "openai" for n in _imports(path))
    }
    assert importers and all(p.startswith("llm/") for p in importers), importers


def test_only_config_reads_the_environment() -> None:
    readers = set()
    for path in _modules():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("environ", "getenv")
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ):
                readers.add(str(path.relative_to(BOT)))
    assert readers <= {"config.py"}, readers

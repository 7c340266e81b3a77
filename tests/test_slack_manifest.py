"""The app manifest asks for exactly the scopes and events the Slack front end uses."""

from __future__ import annotations

import re
from pathlib import Path

MANIFEST = Path(__file__).resolve().parent.parent / "slack" / "manifest.yml"


def list_under(text: str, key: str) -> set[str]:
    """The ``- item`` entries of the YAML list under ``key:`` (comments skipped)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{key}:")
    indent = len(lines[start]) - len(lines[start].lstrip())
    items: set[str] = set()
    for line in lines[start + 1 :]:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(line) - len(line.lstrip()) <= indent:
            break
        if stripped.startswith("- "):
            items.add(stripped[2:].strip())
    return items


def test_the_manifest_has_exactly_the_scopes_and_events_used() -> None:
    text = MANIFEST.read_text(encoding="utf-8")
    assert list_under(text, "bot") == {
        "channels:history",
        "groups:history",
        "chat:write",
        "commands",
        "reactions:read",
        "app_mentions:read",  # issue 18: questions in a brief's thread
        "users:read",  # issue 18: who may delete a brief
    }
    assert list_under(text, "bot_events") == {
        "message.channels",
        "message.groups",
        "reaction_added",
        "app_mention",
    }
    assert re.search(r"^\s*socket_mode_enabled: true$", text, re.MULTILINE)
    assert re.search(r"^\s*- command: /linkbrief$", text, re.MULTILINE)


def test_every_scope_is_explained_in_a_comment() -> None:
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if re.fullmatch(r"\s*- (channels:history|groups:history|chat:write|commands|"
                        r"reactions:read|app_mentions:read|users:read)", line):  # fmt: skip
            assert lines[i - 1].strip().startswith("#"), f"no reason given for {line.strip()}"

"""Settings: every name in the README's configuration exists, .env.example documents every field,
and invalid combinations fail with one line naming the setting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

DESIGN_NAMES = [
    "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_MODE",
    "SLACK_HTTP_PORT", "SLACK_API_BASE_URL", "DISCORD_TOKEN", "DISCORD_API_BASE_URL",
    "DISCORD_GATEWAY_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "LLM_MODEL", "SUMMARIZER",
    "DATABASE_URL", "FETCH_ALLOWED_PRIVATE_HOSTS",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def test_every_design_name_is_a_setting() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    assert set(DESIGN_NAMES) <= fields


def test_env_example_documents_every_setting() -> None:
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", text, flags=re.M))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_defaults_are_the_embedded_ones() -> None:
    settings = load_settings(None)
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert not settings.llm_enabled
    assert not settings.slack_enabled and not settings.discord_enabled


def test_env_example_copied_as_is_starts_the_console(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text((ROOT / ".env.example").read_text())
    settings = load_settings(env)
    assert not settings.slack_enabled and not settings.discord_enabled
    assert not settings.llm_enabled


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("MAX_LINKS_PER_MESSAGE", "5")
    settings = load_settings(None)
    assert settings.llm_enabled
    assert settings.max_links_per_message == 5


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_MODE": "http"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN"),
        ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN"),
        ({"SUMMARIZER": "llm"}, "OPENAI_API_KEY"),
        ({"SLACK_HTTP_PORT": "0"}, "SLACK_HTTP_PORT"),
        ({"SLACK_MODE": "carrier-pigeon"}, "SLACK_MODE"),
        ({"DIGEST_DEFAULT_TZ": "Mars/Olympus"}, "DIGEST_DEFAULT_TZ"),
        ({"FETCH_ALLOWED_PRIVATE_HOSTS": "10.0.0.0/99"}, "FETCH_ALLOWED_PRIVATE_HOSTS"),
        ({"LLM_CONCURRENCY": "0"}, "LLM_CONCURRENCY"),
    ],
)
def test_invalid_combinations_fail_with_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as info:
        load_settings(None)
    message = str(info.value)
    assert named in message
    assert "\n" not in message


def test_secrets_are_listed_for_redaction() -> None:
    settings = load_settings(
        None, slack_bot_token="xoxb-abc", slack_app_token="xapp-def", openai_api_key="sk-123"
    )
    assert set(settings.secrets()) == {"xoxb-abc", "xapp-def", "sk-123"}
    assert "xoxb-abc" not in repr(settings)

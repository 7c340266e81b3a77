"""Prompt templates as files: loaded and validated once, at start.

``prompts/`` holds one ``<name>.txt`` per field of ``Prompts``. Templates use
``string.Template`` syntax (``$var`` / ``${var}``; ``$$`` for a dollar sign).
A template that names an unknown variable fails at load; a render that leaves
a variable out, or passes one the template doesn't know, fails at render. Both
raise ``PromptError`` naming the variable, so a typo in a prompt edit shows up
at start instead of as a strange brief.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from string import Template

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from bot.errors import ConfigError

# Inside the package, so a wheel ships them (pyproject's package-data).
DEFAULT_PROMPTS_DIR = Path(__file__).resolve().parents[1] / "prompts"

# The variables ``user.txt`` may name; the summarizer always passes all of them.
USER_VARIABLES = frozenset(
    {"article", "boundary", "title", "site", "url", "language_instruction", "part_note"}
)
# The ones without which the prompt is unsafe or useless.
USER_REQUIRED = frozenset({"article", "boundary"})
# Values the page controls (og:site_name, <title>, rel=canonical, the text): user.txt
# may only place them between the two delimiters that carry $boundary.
PAGE_VARIABLES = frozenset({"article", "title", "site", "url"})


class PromptError(ConfigError):
    """A prompt file is missing, unreadable, or names a variable it may not."""


def new_boundary() -> str:
    """A random per-request marker: an article can't forge the end delimiter it doesn't know."""
    return secrets.token_hex(8)


def template_variables(text: str, *, where: str) -> set[str]:
    template = Template(text)
    if not template.is_valid():
        raise PromptError(f"Prompt {where} has a stray '$' (write '$$' for a literal dollar sign).")
    return set(template.get_identifiers())


class Prompts(BaseModel):
    """The loaded prompt texts. Unknown keys (files) are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str
    user: str

    @field_validator("system")
    @classmethod
    def _system_is_plain(cls, value: str) -> str:
        names = template_variables(value, where="system.txt")
        if names:
            # The system prompt stays fixed so servers can cache it as a prefix.
            raise ValueError(f"system.txt may not use variables, found: {', '.join(sorted(names))}")
        if not value.strip():
            raise ValueError("system.txt is empty")
        return value

    @field_validator("user")
    @classmethod
    def _user_names_known_variables(cls, value: str) -> str:
        names = template_variables(value, where="user.txt")
        unknown = names - USER_VARIABLES
        if unknown:
            raise ValueError(f"user.txt uses unknown variable ${sorted(unknown)[0]}")
        missing = USER_REQUIRED - names
        if missing:
            raise ValueError(f"user.txt must use ${sorted(missing)[0]}")
        outside = _unfenced_page_variables(value)
        if outside:
            raise ValueError(
                f"user.txt places ${outside[0]} outside the delimiters that carry $$boundary"
            )
        return value

    @property
    def user_variables(self) -> set[str]:
        return set(Template(self.user).get_identifiers())

    @property
    def system_text(self) -> str:
        # ``$$`` is how a literal dollar sign is written in every prompt file.
        return self.system.replace("$$", "$")

    def render_user(self, **variables: str) -> str:
        """Fill ``user.txt``; every variable it names must be given, and nothing else."""
        unknown = set(variables) - USER_VARIABLES
        if unknown:
            raise PromptError(f"Unknown prompt variable ${sorted(unknown)[0]}.")
        missing = self.user_variables - set(variables)
        if missing:
            raise PromptError(f"Missing prompt variable ${sorted(missing)[0]}.")
        boundary = variables.get("boundary", "")
        if boundary and any(boundary in variables.get(name, "") for name in PAGE_VARIABLES):
            # Astronomically unlikely with a random boundary; refuse rather than be forged.
            raise PromptError("The article contains the prompt boundary; pick a new one.")
        return Template(self.user).substitute(variables)


def _unfenced_page_variables(text: str) -> list[str]:
    """Page variables that stand before the first or after the last ``$boundary``."""
    spots: list[tuple[int, str]] = []
    for match in Template.pattern.finditer(text):
        name = match.group("named") or match.group("braced")
        if name:
            spots.append((match.start(), name))
    fences = [at for at, name in spots if name == "boundary"]
    if len(fences) < 2:
        return sorted(name for _, name in spots if name in PAGE_VARIABLES)
    first, last = fences[0], fences[-1]
    return sorted({name for at, name in spots if name in PAGE_VARIABLES and not first < at < last})


def load_prompts(directory: Path | None = None) -> Prompts:
    """Read and validate every prompt file in ``directory`` (default: the package's prompts/)."""
    folder = directory or DEFAULT_PROMPTS_DIR
    if not folder.is_dir():
        raise PromptError(f"Prompt directory {folder} does not exist.")
    texts: dict[str, str] = {}
    for path in sorted(folder.glob("*.txt")):
        try:
            texts[path.stem] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PromptError(f"Cannot read prompt file {path.name}: {exc}") from None
    try:
        return Prompts(**texts)
    except ValidationError as exc:
        raise PromptError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = str(err["loc"][0]) if err.get("loc") else "prompts"
    if err["type"] == "missing":
        return f"Prompt file {field}.txt is missing."
    if err["type"] == "extra_forbidden":
        return f"Unexpected prompt file {field}.txt (known: system.txt, user.txt)."
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    return f"Invalid prompt {field}.txt: {msg}"

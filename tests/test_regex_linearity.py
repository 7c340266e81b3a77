"""No regular expression in the package takes super-linear time on hostile text.

Every pattern is found by reading the package's source (``re.compile(...)`` and
``re.sub/search/match/fullmatch/findall/finditer/split(...)`` with a literal
pattern), so a new regex is checked without being listed here. Each one runs
(``finditer`` and ``fullmatch``) on adversarial strings — repetitions of short units
built from the characters the pattern itself names, plus a fixed set of classic
troublemakers — at two sizes 8x apart.

This is a complexity check, not a deadline: the time ratio of the large to the
small input (best of several runs, so a loaded machine only adds noise to single
runs) must stay well below the quadratic 64x. A ratio above ``MAX_RATIO`` is
re-measured before it fails, and tiny absolute times are ignored.
"""

from __future__ import annotations

import ast
import re
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bot"
_RE_FUNCS = {
    "compile",
    "sub",
    "subn",
    "search",
    "match",
    "fullmatch",
    "findall",
    "finditer",
    "split",
}

SMALL = 500
FACTOR = 8
MAX_RATIO = 24.0  # linear is ~8; quadratic is ~64
MIN_LARGE_S = 0.002  # below this the large run is too quick to say anything

BASE_UNITS = [
    "a", "a.", "a-", "a ", "a\n", " ", "\t", "\n", ".", "1.", "11", "a1", "aA", "a_", "_",
    "[a](", "](", "[", "(", ")", "<a", "<a|", "<a:", "@a", "a@", "&amp;", "&", "http://",
    "a://", "www.", "a.com/", "\\", "\\6", "/*", "*", "\"", "'", "“", "»", ":", ";", "#",
    "> ", "-", "—", "é", "日本", "ſ", "\u200b", "a.a", "aaa.", "0x", "%", "=", "?", ",",
]  # fmt: skip


def _literal(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return None
    return None


def _flags(call: ast.Call, module: dict[str, object]) -> int:
    flags = 0
    candidates = list(call.args[1:]) + [k.value for k in call.keywords if k.arg == "flags"]
    for node in candidates:
        for sub in ast.walk(node):
            is_re_attribute = isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name)
            if is_re_attribute and sub.value.id == "re" and hasattr(re, sub.attr):
                value = getattr(re, sub.attr)
                if isinstance(value, re.RegexFlag):
                    flags |= value
    return flags


def package_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """Every regex of the package: module-level compiled ones and literal inline ones."""
    import importlib

    found: dict[tuple[str, int], str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module_name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            func = node.func
            if not (isinstance(func.value, ast.Name) and func.value.id == "re"):
                continue
            if func.attr not in _RE_FUNCS or not node.args:
                continue
            text = _literal(node.args[0])
            if text is None:
                continue
            flags = _flags(node, {}) if func.attr == "compile" else 0
            key = (text, re.compile(text, flags).flags)  # the same key as a compiled one
            found.setdefault(key, f"{module_name}:{node.lineno}")
        # Compiled patterns built from pieces (f-strings, joined constants) too.
        if module_name.endswith("__main__") or "migrations" in path.parts:
            continue  # running these modules means running the program or alembic
        module = importlib.import_module(module_name.removesuffix(".__init__"))
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                found.setdefault((value.pattern, value.flags), f"{module_name}.{name}")
    patterns = []
    for (text, flags), where in sorted(found.items(), key=lambda item: item[1]):
        patterns.append((where, re.compile(text, flags)))
    return patterns


# Patterns that are only ever applied to a bounded window of text, with where that is
# enforced; the window, not the pattern, is what keeps them linear.
BOUNDED_WINDOW = {
    r"([\w.]+)[.!?…]+[\"'”’)\]]*(?:\[\d{1,3}\])*$": (
        "bot/pipeline/sentences.py: searched only in the 24 characters before a full stop"
    ),
}


def units_for(pattern: re.Pattern[str]) -> list[str]:
    """The fixed troublemakers plus units made of the pattern's own punctuation."""
    units = list(BASE_UNITS)
    punct = sorted({c for c in pattern.pattern if not c.isalnum() and c not in " \\"})
    for char in punct:
        units += [char, "a" + char, "a" + char + " ", char + "a" + char]
    return list(dict.fromkeys(units))


def _cost(pattern: re.Pattern[str], text: str, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _match in pattern.finditer(text):
            pass
        pattern.fullmatch(text)
        best = min(best, time.perf_counter() - started)
    return best


def _ratio(pattern: re.Pattern[str], unit: str, repeats: int) -> tuple[float, float]:
    small = (unit * (SMALL // len(unit) + 1))[:SMALL]
    large = (unit * (SMALL * FACTOR // len(unit) + 1))[: SMALL * FACTOR]
    # Inputs built before any clock starts; the small run also warms the pattern.
    t_small = _cost(pattern, small, repeats)
    t_large = _cost(pattern, large, repeats)
    return t_large / max(t_small, 1e-7), t_large


PATTERNS = package_patterns()


def test_the_package_regexes_are_found() -> None:
    # A sanity floor: the search itself must not silently find nothing.
    assert len(PATTERNS) >= 60
    names = " ".join(where for where, _ in PATTERNS)
    assert "render.common" in names and "pipeline.urls" in names


@pytest.mark.parametrize(("where", "pattern"), PATTERNS, ids=[w for w, _ in PATTERNS])
def test_regex_time_grows_linearly(where: str, pattern: re.Pattern[str]) -> None:
    if pattern.pattern in BOUNDED_WINDOW:
        pytest.skip(BOUNDED_WINDOW[pattern.pattern])
    suspects = []
    for unit in units_for(pattern):
        ratio, large = _ratio(pattern, unit, repeats=2)
        if ratio > MAX_RATIO and large > MIN_LARGE_S:
            # Re-measure with more runs: one slow sample on a busy machine is not a finding.
            ratio, large = _ratio(pattern, unit, repeats=5)
            if ratio > MAX_RATIO and large > MIN_LARGE_S:
                suspects.append(
                    f"{unit!r}: x{ratio:.0f} ({large * 1000:.1f} ms at {SMALL * FACTOR})"
                )
                break  # one finding is enough: the pattern must be fixed
    assert not suspects, f"{where} /{pattern.pattern}/ grows super-linearly on " + ", ".join(
        suspects
    )

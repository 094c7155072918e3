"""Packaged rule data (cue patterns, boilerplate expressions, lexicons), validated on load."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from pipeline.errors import ResourceError
from pipeline.schema import CUE_KINDS

_ROOT = "pipeline.resources"


@dataclass(frozen=True, slots=True)
class CuePattern:
    """One SpanRuler pattern: a phrase (matched on lower case) or a token pattern."""

    kind: str
    id: str
    pattern: str | list[dict]

    def as_ruler_pattern(self) -> dict:
        """The dict form that spaCy's SpanRuler takes."""
        return {"label": self.kind, "id": self.id, "pattern": self.pattern}


def _read(relative: str) -> str:
    try:
        return resources.files(_ROOT).joinpath(relative).read_text("utf-8")
    except OSError as err:
        raise ResourceError(
            f"Packaged resource {relative} cannot be read: {err}. Reinstall healthclaims."
        ) from err


@cache
def load_cue_patterns() -> tuple[CuePattern, ...]:
    """Cue patterns from `resources/patterns/cues.jsonl`, checked line by line."""
    patterns = []
    for number, line in enumerate(_read("patterns/cues.jsonl").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ResourceError(f"patterns/cues.jsonl line {number}: not JSON ({err}).") from err
        kind, pattern = row.get("label"), row.get("pattern")
        if kind not in CUE_KINDS:
            raise ResourceError(
                f"patterns/cues.jsonl line {number}: kind {kind!r} is not one of {', '.join(CUE_KINDS)}."
            )
        if not (isinstance(pattern, str) and pattern.strip()) and not (
            isinstance(pattern, list) and pattern and all(isinstance(tok, dict) for tok in pattern)
        ):
            raise ResourceError(
                f"patterns/cues.jsonl line {number}: pattern must be a phrase or a list of token dicts."
            )
        patterns.append(CuePattern(kind=kind, id=str(row.get("id", kind)), pattern=pattern))
    return tuple(patterns)


@cache
def load_boilerplate_regex() -> re.Pattern[str]:
    """One case-insensitive expression matching any boilerplate sentence."""
    try:
        data = json.loads(_read("patterns/boilerplate.json"))
        expressions = [str(pattern) for pattern in data["patterns"]]
        return re.compile("|".join(f"(?:{expr})" for expr in expressions), re.IGNORECASE)
    except (KeyError, TypeError, json.JSONDecodeError, re.error) as err:
        raise ResourceError(f"patterns/boilerplate.json is malformed: {err}.") from err


@cache
def load_lexicon(name: str) -> tuple[str, ...]:
    """Terms of `resources/lexicons/<name>.txt`, one per line, lower case, unique."""
    terms = []
    seen = set()
    for number, line in enumerate(_read(f"lexicons/{name}.txt").splitlines(), start=1):
        term = line.strip().lower()
        if not term:
            continue
        if term in seen:
            raise ResourceError(f"lexicons/{name}.txt line {number}: {term!r} is listed twice.")
        seen.add(term)
        terms.append(term)
    return tuple(terms)


@cache
def load_word_set(name: str) -> frozenset[str]:
    """A lexicon as a set, for membership tests on hot paths."""
    return frozenset(load_lexicon(name))

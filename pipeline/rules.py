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
    """One cue pattern: a phrase (matched on lower case by a PhraseMatcher) or a regular expression.

    Phrases go through spaCy's PhraseMatcher; the few cues that need word
    shape or case (acronyms, "Smith et al.", percentages, links) or a look at
    the word before (appeals to unnamed research) are regular expressions
    run over the text, which is far cheaper than token patterns.
    """

    kind: str
    id: str
    phrase: str | None = None
    regex: re.Pattern[str] | None = None
    requires: tuple[str, ...] = ()  # a regex runs only on text holding one of these strings
    reach: int | None = None  # ... within this many characters of them (None: components.REGEX_REACH)


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
        kind, phrase, expression = row.get("label"), row.get("pattern"), row.get("regex")
        where = f"patterns/cues.jsonl line {number}"
        if kind not in CUE_KINDS:
            raise ResourceError(f"{where}: kind {kind!r} is not one of {', '.join(CUE_KINDS)}.")
        cue_id = str(row.get("id", kind))
        if isinstance(phrase, str) and phrase.strip() and expression is None:
            patterns.append(CuePattern(kind=kind, id=cue_id, phrase=phrase))
        elif isinstance(expression, str) and expression and phrase is None:
            requires = row.get("requires", [])
            if not (isinstance(requires, list) and all(isinstance(r, str) and r for r in requires)):
                raise ResourceError(f"{where}: 'requires' must be a list of non-empty strings.")
            reach = row.get("reach")
            if reach is not None and not (isinstance(reach, int) and reach > 0):
                raise ResourceError(f"{where}: 'reach' must be a positive number of characters.")
            try:
                patterns.append(
                    CuePattern(
                        kind=kind,
                        id=cue_id,
                        regex=re.compile(expression),
                        requires=tuple(requires),
                        reach=reach,
                    )
                )
            except re.error as err:
                raise ResourceError(f"{where}: regex does not compile ({err}).") from err
        else:
            raise ResourceError(f"{where}: give either a phrase as 'pattern' or a 'regex', not both.")
    return tuple(patterns)


@cache
def load_boilerplate_regex() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Two case-insensitive expressions that together match any boilerplate sentence.

    Each pattern in `boilerplate.json` matches a whole stripped sentence. Those
    that start with `.*` are turned into one expression to `search` for (a
    literal search is fast; a leading `.*` under `fullmatch` backtracks over
    the whole sentence), the rest into one to `fullmatch`. The floating
    expression is case-sensitive and meant for lower-cased text, so that re
    can use its fast literal search.
    """
    try:
        data = json.loads(_read("patterns/boilerplate.json"))
        expressions = [str(pattern) for pattern in data["patterns"]]
        anchored = [expr for expr in expressions if not expr.startswith(".*")]
        floating = [
            expr.removeprefix(".*").removesuffix(".*") for expr in expressions if expr.startswith(".*")
        ]
        return (
            re.compile("|".join(f"(?:{expr})" for expr in anchored) or "(?!)", re.IGNORECASE),
            re.compile("|".join(f"(?:{expr})" for expr in floating) or "(?!)"),
        )
    except (KeyError, TypeError, json.JSONDecodeError, re.error) as err:
        raise ResourceError(f"patterns/boilerplate.json is malformed: {err}.") from err


@cache
def load_end_mark_regex() -> re.Pattern[str]:
    """One case-insensitive expression for a line that is a press release's end mark ("###").

    It matches the line break before the mark, so search "\\n" + text: a
    leading literal lets `re` skip to line breaks instead of trying every
    position (four times faster than `^` under re.MULTILINE).
    """
    try:
        expressions = [
            str(pattern) for pattern in json.loads(_read("patterns/boilerplate.json"))["end_marks"]
        ]
        alternatives = "|".join(f"(?:{expr})" for expr in expressions) or "(?!)"
        return re.compile(rf"\n[ \t]*(?:{alternatives})[ \t]*(?=\n|$)", re.IGNORECASE)
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

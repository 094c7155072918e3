"""Pure functions over spaCy Docs and text: layout, boilerplate, sentences, attributes.

The components in `components.py` call these; `checker.py` calls
`sentences_from_doc` to turn a Doc into records, after which no spaCy object
travels further.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator

import numpy as np
from spacy.tokens import Doc

from pipeline.rules import load_boilerplate_regex
from pipeline.schema import Cue, Entity, Sentence

_LINE_START = re.compile(r"\n[ \t\r\f\v\u00a0]*(?=\S)")
_TERMINAL = re.compile(r"[.!?;:…\"”’)\]]\s*$")
_WORD = re.compile(r"\w+")

HEADINGS_KEY = "hc_headings"
BOILERPLATE_KEY = "hc_boilerplate"
CUES_KEY = "hc_cues"
TEXT_KEY = "hc_text"


def doc_text(doc: Doc) -> str:
    """The Doc's text, built once and cached on the Doc (`doc.text` rebuilds it from every token)."""
    text = doc.user_data.get(TEXT_KEY)
    if text is None:
        text = doc.user_data[TEXT_KEY] = doc.text
    return text


def find_layout_breaks(text: str) -> Iterator[int]:
    """Character offsets where a new line of content begins (paragraphs, list items, headings)."""
    for match in _LINE_START.finditer(text):
        yield match.end()


def is_heading_line(text: str, start: int, end: int, *, max_words: int = 20) -> bool:
    """Whether text[start:end] fills its own line and reads as a heading (no closing punctuation)."""
    start, end = _strip_offsets(text, start, end)
    body = text[start:end]
    if not body or _TERMINAL.search(body):
        return False
    before = text[:start].rstrip(" \t\u00a0")
    after = text[end:].lstrip(" \t\u00a0")
    starts_line = not before or before.endswith("\n")
    ends_line = not after or after.startswith("\n")
    return starts_line and ends_line and 0 < len(_WORD.findall(body)) <= max_words


def find_boilerplate(text: str) -> bool:
    """Whether a stripped sentence is navigation, a byline, a prompt or a footer."""
    return bool(text) and load_boilerplate_regex().fullmatch(text) is not None


def _strip_offsets(text: str, start: int, end: int) -> tuple[int, int]:
    segment = text[start:end]
    left = len(segment) - len(segment.lstrip())
    right = len(segment.rstrip())
    return start + left, start + right


def _longest_per_kind(cues: list[Cue]) -> tuple[Cue, ...]:
    """Drop a cue that lies inside a longer cue of the same kind."""
    kept: list[Cue] = []
    for cue in sorted(cues, key=lambda c: (c.start, -(c.end - c.start))):
        if any(k.kind == cue.kind and k.start <= cue.start and cue.end <= k.end for k in kept):
            continue
        kept.append(cue)
    return tuple(kept)


def sentence_bounds(doc: Doc) -> list[tuple[int, int, int, int]]:
    """(first token, end token, start char, end char) of each sentence.

    Read from token arrays rather than `doc.sents`, which builds a Python
    object for every token on every pass.
    """
    if len(doc) == 0:
        return []
    starts = doc.to_array("SENT_START")
    idx = doc.to_array("IDX")
    first = np.flatnonzero(starts == 1).tolist()
    if not first or first[0] != 0:
        first.insert(0, 0)
    ends = [*first[1:], len(doc)]
    doc_end = len(doc_text(doc))
    return [
        (s, e, int(idx[s]), int(idx[e]) if e < len(doc) else doc_end)
        for s, e in zip(first, ends, strict=True)
    ]


def sentences_from_doc(doc: Doc) -> tuple[Sentence, ...]:
    """Every non-empty sentence of a processed Doc as a `Sentence` record."""
    headings = {span.start_char for span in doc.spans.get(HEADINGS_KEY, [])}
    boilerplate = {span.start_char for span in doc.spans.get(BOILERPLATE_KEY, [])}
    spans = [
        (start_char, end_char, start_char in headings, start_char in boilerplate)
        for _, _, start_char, end_char in sentence_bounds(doc)
    ]
    return _records(doc, spans)


def whole_doc_sentence(doc: Doc) -> Sentence | None:
    """The whole Doc as one `Sentence` record, for corpus lines that are one sentence each."""
    text = doc.text
    start, end = _strip_offsets(text, 0, len(text))
    body = text[start:end]
    records = _records(doc, [(start, end, is_heading_line(text, start, end), find_boilerplate(body))])
    return records[0] if records else None


def _records(doc: Doc, spans: list[tuple[int, int, bool, bool]]) -> tuple[Sentence, ...]:
    text = doc_text(doc)
    cues = sorted(
        (
            Cue(span.text, span.start_char, span.end_char, span.label_, span.id_)
            for span in doc.spans.get(CUES_KEY, [])
        ),
        key=lambda c: c.start,
    )
    cue_starts = [cue.start for cue in cues]
    ents = [Entity(ent.text, ent.label_, ent.start_char, ent.end_char) for ent in doc.ents]
    ent_starts = [ent.start for ent in ents]
    records = []
    for span_start, span_end, heading, boiler in spans:
        start, end = _strip_offsets(text, span_start, span_end)
        if start >= end:
            continue
        body = text[start:end]
        lo, hi = bisect_left(cue_starts, start), bisect_left(cue_starts, end)
        sent_cues = _longest_per_kind([cue for cue in cues[lo:hi] if cue.end <= end])
        lo, hi = bisect_left(ent_starts, start), bisect_left(ent_starts, end)
        records.append(
            Sentence(
                text=body,
                start=start,
                end=end,
                cues=sent_cues,
                entities=tuple(ent for ent in ents[lo:hi] if ent.end <= end),
                is_heading=heading,
                is_boilerplate=boiler,
                is_question=body.rstrip("\"”’') ").endswith("?"),
            )
        )
    return tuple(records)


def sentence_attributes(sentence: Sentence) -> dict[str, bool]:
    """The attributes a sentence's own cues decide (all but `vague_evidence`)."""
    kinds = sentence.cue_kinds
    return {
        "cites_source": "citation" in kinds,
        "vague_evidence": False,
        "hedged": "hedge" in kinds,
        "absolute": "absolute" in kinds,
        "hype": "promotion" in kinds,
    }

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

from pipeline.rules import load_boilerplate_regex, load_end_mark_regex
from pipeline.schema import MIN_CLAIM_WORDS, Cue, Entity, Sentence

_LINE_START = re.compile(r"\n[ \t\r\f\v\u00a0]*(?=\S)")
_TERMINAL = re.compile(r"[.!?;:…\"”’)\]]\s*$")
_WORD = re.compile(r"\w+")
_ENOUGH_WORDS = re.compile(rf"\w+(?:\W+\w+){{{MIN_CLAIM_WORDS - 1}}}")  # stops at the third word

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


OPENERS = ('"', "“", "‘", "'", "(", "[")


def in_hashes(values: np.ndarray, sorted_hashes: np.ndarray) -> np.ndarray:
    """Whether each ORTH hash is one of `sorted_hashes` (a binary search; cheaper than np.isin here)."""
    at = np.minimum(np.searchsorted(sorted_hashes, values), len(sorted_hashes) - 1)
    return sorted_hashes[at] == values


def sentence_starts(doc: Doc, final_hashes: np.ndarray, opener_hashes: np.ndarray) -> np.ndarray:
    """A bool per token: does a sentence start here?

    The rule of spaCy's `sentencizer`, computed on token arrays instead of a
    Python loop: after a sentence-final mark (`final_hashes`: sorted ORTH
    hashes of its punctuation characters) the next word token starts a
    sentence, closing quotes and brackets staying with the sentence they
    close. Two additions: an opening quote or bracket (`opener_hashes`;
    attached to the next word, spaced from the previous token) moves into the
    sentence it opens, and every line of content starts a sentence, so a
    heading or list item is never glued to its neighbour.
    """
    n = len(doc)
    starts = np.zeros(n, dtype=bool)
    if n == 0:
        return starts
    arrays = doc.to_array(["ORTH", "IS_PUNCT", "SPACY", "IDX"])
    orth, is_punct, spacy_after, idx = arrays[:, 0], arrays[:, 1] == 1, arrays[:, 2] == 1, arrays[:, 3]
    final = np.zeros(n, dtype=bool)
    final[is_punct] = in_hashes(orth[is_punct], final_hashes)
    words = np.flatnonzero(~is_punct & ~final)
    if len(words) > 1:
        seen = np.concatenate(([0], np.cumsum(final)))  # seen[x] = final marks among tokens [0, x)
        previous, current = words[:-1], words[1:]
        new = current[seen[current] - seen[previous + 1] > 0]
        # "... to work. "I sleep" -> the opening quote joins the sentence it opens.
        before = new - 1
        opens = (
            (before > 0)
            & ~spacy_after[before]
            & spacy_after[np.maximum(before - 1, 0)]
            & in_hashes(orth[before], opener_hashes)
        )
        starts[np.where(opens, before, new)] = True
    text = doc_text(doc)
    breaks = np.fromiter(find_layout_breaks(text), dtype=np.int64)
    if len(breaks):
        at = np.searchsorted(idx, breaks)
        starts[at[at < n]] = True
    starts[0] = True
    return starts


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
    return _starts_line(text, start) and _ends_line(text, end) and 0 < len(_WORD.findall(body)) <= max_words


_INLINE_SPACE = " \t\u00a0"


def _starts_line(text: str, at: int) -> bool:
    """Whether only spaces stand between the previous line break (or the text start) and `at`."""
    while at > 0 and text[at - 1] in _INLINE_SPACE:
        at -= 1
    return at == 0 or text[at - 1] == "\n"


def _ends_line(text: str, at: int) -> bool:
    """Whether only spaces stand between `at` and the next line break (or the text end)."""
    while at < len(text) and text[at] in _INLINE_SPACE:
        at += 1
    return at == len(text) or text[at] == "\n"


def find_boilerplate(text: str) -> bool:
    """Whether a stripped sentence is navigation, a byline, a prompt or a footer."""
    if not text:
        return False
    anchored, floating = load_boilerplate_regex()
    return anchored.fullmatch(text) is not None or floating.search(text.lower()) is not None


def body_end(text: str) -> int:
    """Where the article's body ends: at the first line that is a press release's end mark ("###", "-30-").

    The whole text's length when there is none.
    """
    match = load_end_mark_regex().search("\n" + text)  # its start is the mark line's start in `text`
    return match.start() if match else len(text)


def _strip_offsets(text: str, start: int, end: int) -> tuple[int, int]:
    segment = text[start:end]
    left = len(segment) - len(segment.lstrip())
    right = len(segment.rstrip())
    return start + left, start + right


def _longest_per_kind(cues: list[Cue]) -> tuple[Cue, ...]:
    """Drop a cue that lies inside a longer cue of the same kind."""
    if len(cues) < 2:
        return tuple(cues)
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
    first = np.flatnonzero(starts == 1)
    if not first.size or first[0] != 0:
        first = np.concatenate(([0], first))
    ends = [*first[1:].tolist(), len(doc)]
    start_chars = idx[first].tolist()
    end_chars = [*start_chars[1:], len(doc_text(doc))]
    return list(zip(first.tolist(), ends, start_chars, end_chars, strict=True))


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
            Cue(text[span.start_char : span.end_char], span.start_char, span.end_char, span.label_, span.id_)
            for span in doc.spans.get(CUES_KEY, [])
        ),
        key=lambda c: c.start,
    )
    cue_starts = [cue.start for cue in cues]
    ents = _entities(doc, text)
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
                is_fragment=_ENOUGH_WORDS.search(body) is None,
            )
        )
    return tuple(records)


def _entities(doc: Doc, text: str) -> list[Entity]:
    """`doc.ents` as records, read from token arrays (`doc.ents` builds a Token object per token)."""
    if len(doc) == 0:
        return []
    arrays = doc.to_array(["ENT_IOB", "ENT_TYPE", "IDX", "LENGTH"])
    iob, ent_type, idx, length = arrays[:, 0], arrays[:, 1], arrays[:, 2], arrays[:, 3]
    first = np.flatnonzero(iob == 3)  # B: an entity begins here
    if not first.size:
        return []
    outside = np.append(np.flatnonzero(iob != 1), len(doc))  # tokens that are not I
    last = outside[np.searchsorted(outside, first, side="right")] - 1
    strings = doc.vocab.strings
    return [
        Entity(text[start:end], strings[label], start, end)
        for start, end, label in zip(
            idx[first].tolist(), (idx[last] + length[last]).tolist(), ent_type[first].tolist(), strict=True
        )
    ]


_NEGATORS = frozenset({"no", "not", "never", "without", "nor", "cannot"})
_WORD_OR_CONTRACTION = re.compile(r"[\w']+")


def negated(sentence: Sentence, cue: Cue) -> bool:
    """Whether one of the two words before a cue negates it ("no cure", "will not cure", "isn't always")."""
    before = _WORD_OR_CONTRACTION.findall(
        sentence.text[: cue.start - sentence.start].lower().replace("’", "'")
    )[-2:]
    return any(word in _NEGATORS or word.endswith("n't") for word in before)


def sentence_attributes(sentence: Sentence) -> dict[str, bool]:
    """The attributes a sentence's own cues decide (all but `vague_evidence`).

    A negated absolute ("there is no cure", "not a miracle") overstates
    nothing, so it does not make a claim `absolute`.
    """
    kinds = sentence.cue_kinds
    return {
        "cites_source": "citation" in kinds,
        "vague_evidence": False,
        "hedged": "hedge" in kinds,
        "absolute": any(cue.kind == "absolute" and not negated(sentence, cue) for cue in sentence.cues),
        "hype": "promotion" in kinds,
    }


def vague_evidence(sentence: Sentence, *, article_cites: bool) -> bool:
    """Whether a study-backed claim leans on research nobody identifies (TAXONOMY.md's `vague_evidence`).

    It is vague when the article names no checkable source anywhere, or when
    the sentence itself appeals to unnamed research ("earlier studies found",
    "has been shown to", "experts say": a `vague` cue) and names no source of
    its own. A sentence that refers back to the article's own study ("the
    researchers found") is not vague.
    """
    kinds = sentence.cue_kinds
    return not article_cites or ("vague" in kinds and "citation" not in kinds)


PRECEDENCE_EVIDENCE = "rule: an anecdote cue outranks promotional (taxonomy precedence)"


def precedence_label(label: str, sentence: Sentence) -> str:
    """The label after the taxonomy's precedence (study-backed over anecdotal over promotional).

    The label stage weighs every word; it does not know that an anecdotal
    warrant outranks the writer's say-so. A sentence it calls promotional
    that carries an anecdote cue ("patients often report", "I tried", "one
    woman said") and no study cue is anecdotal.
    """
    if label == "promotional" and "anecdote" in sentence.cue_kinds and "study" not in sentence.cue_kinds:
        return "anecdotal"
    return label

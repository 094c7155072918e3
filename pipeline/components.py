"""The spaCy components of healthclaims: the only module that registers factories.

Each component is thin; the logic lives in plain functions in `extract.py`.
"""

from __future__ import annotations

import re

import numpy as np
from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.pipeline import Sentencizer
from spacy.tokens import Doc, Span, SpanGroup

from pipeline.extract import (
    BOILERPLATE_KEY,
    CUES_KEY,
    HEADINGS_KEY,
    OPENERS,
    TEXT_KEY,
    body_end,
    doc_text,
    find_boilerplate,
    is_heading_line,
    sentence_bounds,
    sentence_starts,
)
from pipeline.rules import load_cue_patterns, load_lexicon


@Language.factory("healthclaims_segmenter", default_config={"max_heading_tokens": 20})
def make_segmenter(nlp: Language, name: str, max_heading_tokens: int) -> Segmenter:
    """Sentence boundaries from punctuation, line breaks and list items; headings marked."""

    def hashes(chars) -> np.ndarray:
        return np.unique(np.array([nlp.vocab.strings.add(char) for char in chars], dtype=np.uint64))

    return Segmenter(
        final_hashes=hashes(Sentencizer.default_punct_chars),
        opener_hashes=hashes(OPENERS),
        max_heading_tokens=max_heading_tokens,
    )


class Segmenter:
    """Sets every token's sentence start (see `extract.sentence_starts`) and records heading lines.

    Replaces spaCy's `sentencizer`: same punctuation rule, computed on
    arrays, plus line breaks and opening quotes.
    """

    def __init__(
        self, *, final_hashes: np.ndarray, opener_hashes: np.ndarray, max_heading_tokens: int
    ) -> None:
        self.final_hashes = final_hashes
        self.opener_hashes = opener_hashes
        self.max_heading_tokens = max_heading_tokens

    def __call__(self, doc: Doc) -> Doc:
        if len(doc) == 0:
            return doc
        starts = sentence_starts(doc, self.final_hashes, self.opener_hashes)
        values = np.where(starts, 1, -1).astype(np.uint64).reshape(-1, 1)
        doc.from_array([SENT_START], values)
        text = doc_text(doc)
        headings = [
            Span(doc, first, end)
            for first, end, start_char, end_char in sentence_bounds(doc)
            if is_heading_line(text, start_char, end_char, max_words=self.max_heading_tokens)
        ]
        doc.spans[HEADINGS_KEY] = SpanGroup(doc, name=HEADINGS_KEY, spans=headings)
        return doc


@Language.factory("healthclaims_boilerplate", default_config={})
def make_boilerplate(nlp: Language, name: str) -> BoilerplateFilter:
    """Marks navigation, bylines, prompts and footers, which are never claims."""
    return BoilerplateFilter()


class BoilerplateFilter:
    """Puts every boilerplate sentence in `doc.spans["hc_boilerplate"]`.

    A sentence is boilerplate when it reads as navigation, a byline, a prompt
    or a footer (`extract.find_boilerplate`), and so is everything after a
    press release's end mark ("###", "-30-"): by that convention what
    follows is the "About" paragraph, contacts and notes to editors.
    """

    def __call__(self, doc: Doc) -> Doc:
        text = doc_text(doc)
        ends = body_end(text)
        spans = [
            Span(doc, first, end)
            for first, end, start_char, end_char in sentence_bounds(doc)
            if start_char >= ends or find_boilerplate(text[start_char:end_char].strip())
        ]
        doc.spans[BOILERPLATE_KEY] = SpanGroup(doc, name=BOILERPLATE_KEY, spans=spans)
        return doc


@Language.factory("healthclaims_cues", default_config={})
def make_cues(nlp: Language, name: str) -> CueMatcher:
    """Cue spans from `resources/patterns/cues.jsonl`: its phrases and its regular expressions."""
    patterns = load_cue_patterns()
    matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    phrases: dict[tuple[str, str], list[str]] = {}
    for pattern in patterns:
        if pattern.phrase is not None:
            phrases.setdefault((pattern.kind, pattern.id), []).append(pattern.phrase)
    labels = {}
    for (kind, cue_id), texts in phrases.items():
        key = f"{kind}:{cue_id}"
        matcher.add(key, list(nlp.tokenizer.pipe(texts)))
        labels[nlp.vocab.strings[key]] = (nlp.vocab.strings.add(kind), nlp.vocab.strings.add(cue_id))
    regexes: dict[tuple[re.Pattern[str], tuple[str, ...], int], list[tuple[str, str]]] = {}
    for pattern in patterns:
        if pattern.regex is not None:
            # Patterns sharing an expression (an acronym is both an institution
            # and an authority) are scanned once.
            key = (pattern.regex, pattern.requires, pattern.reach or REGEX_REACH)
            regexes.setdefault(key, []).append((pattern.kind, pattern.id))
    return CueMatcher(matcher, labels, regexes)


REGEX_REACH = 240  # characters a regex cue may extend either side of its required string


def needle_windows(text: str, needles: tuple[str, ...], *, reach: int) -> list[tuple[int, int]]:
    """The stretches of `text` within `reach` of any needle, merged; the whole text without needles.

    Substring search is far cheaper than a regex scan, so a regex whose every
    match holds one of the needles only needs to run in these windows.
    """
    if not needles:
        return [(0, len(text))]
    hits = []
    for needle in needles:
        at = text.find(needle)
        while at != -1:
            hits.append(at)
            at = text.find(needle, at + 1)
    windows: list[tuple[int, int]] = []
    for at in sorted(hits):
        lo, hi = max(0, at - reach), min(len(text), at + reach)
        if windows and lo <= windows[-1][1]:
            windows[-1] = (windows[-1][0], hi)
        else:
            windows.append((lo, hi))
    return windows


class CueMatcher:
    """Puts a span in `doc.spans["hc_cues"]` for every cue found; its label is the cue kind, its id the pattern.

    Phrases are matched on lower-case tokens by a PhraseMatcher. The few cues
    that need word shape or case (acronyms, "Smith et al.", percentages,
    links) are regular expressions over the text, snapped to token bounds. A
    regex match must start at a word boundary; this is checked here rather
    than with a leading `\\b`, which would stop `re` from scanning for the
    expression's first literal quickly. A regex with `requires` strings (every
    match holds one) is only run near where they occur (`needle_windows`),
    not over the whole text.
    """

    def __init__(
        self,
        matcher: PhraseMatcher,
        labels: dict[int, tuple[int, int]],
        regexes: dict[tuple[re.Pattern[str], tuple[str, ...], int], list[tuple[str, str]]],
    ) -> None:
        self.matcher = matcher
        self.labels = labels  # match key -> (kind, pattern id) string hashes
        self.regexes = regexes

    def __call__(self, doc: Doc) -> Doc:
        labels = self.labels
        found = [
            Span(doc, start, end, label=labels[key][0], span_id=labels[key][1])
            for key, start, end in self.matcher(doc)
            if not is_month_may(doc, start, end)
        ]
        text = doc_text(doc)
        for (regex, requires, reach), kinds in self.regexes.items():
            for lo, hi in needle_windows(text, requires, reach=reach):
                for match in regex.finditer(text, lo, hi):
                    at = match.start()
                    if at and text[at - 1].isalnum() and text[at].isalnum():
                        continue
                    for kind, cue_id in kinds:
                        span = doc.char_span(
                            at, match.end(), label=kind, span_id=cue_id, alignment_mode="expand"
                        )
                        if span is not None:
                            found.append(span)
        doc.spans[CUES_KEY] = SpanGroup(doc, name=CUES_KEY, spans=found)
        return doc


def is_month_may(doc: Doc, start: int, end: int) -> bool:
    """Whether doc[start:end] is the month "May" in a date ("May 19", "19 May", "May 2010"), not the hedge."""
    if end - start != 1 or doc[start].text != "May":
        return False
    return any(0 <= i < len(doc) and doc[i].like_num for i in (start - 1, start + 1))


class TextKeepingTokenizer:
    """Wraps a tokenizer to keep each Doc's input text in `doc.user_data`.

    `doc.text` rebuilds the string from every token on each access; the
    components read the original once from here instead (see `doc_text`).
    """

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer

    def __call__(self, text: str) -> Doc:
        doc = self.tokenizer(text)
        doc.user_data[TEXT_KEY] = text
        return doc

    def pipe(self, texts, batch_size: int = 1000):
        for text in texts:
            yield self(text)

    def __getattr__(self, name: str):
        return getattr(self.tokenizer, name)


@Language.factory(
    "healthclaims_entities",
    default_config={"lexicons": {"INTERVENTION": "interventions", "CONDITION": "conditions"}},
)
def make_entities(nlp: Language, name: str, lexicons: dict[str, str]) -> LexiconEntities:
    """INTERVENTION and CONDITION entities from the packaged lexicons."""
    matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    for label, lexicon in lexicons.items():
        matcher.add(label, list(nlp.tokenizer.pipe(load_lexicon(lexicon))))
    return LexiconEntities(matcher)


class LexiconEntities:
    """Sets `doc.ents` from lexicon matches, the longest match winning where two overlap.

    Does what spaCy's `entity_ruler` does for phrase patterns, without its
    per-match bookkeeping, which cost five times the matching itself.
    """

    def __init__(self, matcher: PhraseMatcher) -> None:
        self.matcher = matcher

    def __call__(self, doc: Doc) -> Doc:
        matches = sorted(self.matcher(doc), key=lambda m: (m[1], m[1] - m[2]))
        spans, taken_until = [], 0
        for label, start, end in matches:
            if start >= taken_until:
                spans.append(Span(doc, start, end, label=label))
                taken_until = end
        doc.set_ents(spans, default="unmodified")
        return doc

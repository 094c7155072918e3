"""The spaCy components of healthclaims: the only module that registers factories.

Each component is thin; the logic lives in plain functions in `extract.py`.
"""

from __future__ import annotations

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup

from pipeline.extract import (
    BOILERPLATE_KEY,
    HEADINGS_KEY,
    doc_text,
    find_boilerplate,
    find_layout_breaks,
    is_heading_line,
    sentence_bounds,
)


@Language.factory("healthclaims_segmenter", default_config={"max_heading_tokens": 20})
def make_segmenter(nlp: Language, name: str, max_heading_tokens: int) -> Segmenter:
    """Sentence boundaries at line breaks and list items; headings marked."""
    return Segmenter(max_heading_tokens=max_heading_tokens)


class Segmenter:
    """Forces a sentence start after every line break and records heading lines.

    Runs after spaCy's punctuation `sentencizer`, so a heading line is never
    glued to the sentence that follows it.
    """

    def __init__(self, *, max_heading_tokens: int) -> None:
        self.max_heading_tokens = max_heading_tokens

    def __call__(self, doc: Doc) -> Doc:
        if len(doc) == 0:
            return doc
        text = doc_text(doc)
        token_starts = doc.to_array("IDX").astype(np.int64)
        for char in find_layout_breaks(text):
            i = int(np.searchsorted(token_starts, char))
            if 0 < i < len(doc):
                doc[i].is_sent_start = True
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
    """Puts every boilerplate sentence in `doc.spans["hc_boilerplate"]`."""

    def __call__(self, doc: Doc) -> Doc:
        text = doc_text(doc)
        spans = [
            Span(doc, first, end)
            for first, end, start_char, end_char in sentence_bounds(doc)
            if find_boilerplate(text[start_char:end_char].strip())
        ]
        doc.spans[BOILERPLATE_KEY] = SpanGroup(doc, name=BOILERPLATE_KEY, spans=spans)
        return doc

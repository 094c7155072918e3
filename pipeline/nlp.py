"""build_nlp: spacy.blank("en") plus our rule components, nothing downloaded."""

from __future__ import annotations

import spacy
from spacy.language import Language

from pipeline.components import TextKeepingTokenizer  # also registers the healthclaims_* factories

MAX_CHARS = 12_000_000


def build_nlp(*, base: str | None = None) -> Language:
    """The spaCy stage: segmentation, boilerplate, cue spans and entities.

    Args:
        base: an installed spaCy pipeline to start from instead of blank
            English (opt-in, e.g. "en_core_web_sm"); its own sentence
            boundaries and entities are replaced by ours.
    """
    if base:
        nlp = spacy.load(base, exclude=["ner", "entity_ruler", "senter", "parser"])
    else:
        nlp = spacy.blank("en")
    nlp.max_length = MAX_CHARS
    nlp.tokenizer = TextKeepingTokenizer(nlp.tokenizer)
    nlp.add_pipe("healthclaims_segmenter")
    nlp.add_pipe("healthclaims_boilerplate")
    nlp.add_pipe("healthclaims_cues")
    nlp.add_pipe("healthclaims_entities")
    return nlp

"""build_nlp: spacy.blank("en") plus our rule components, nothing downloaded."""

from __future__ import annotations

import spacy
from spacy.language import Language

import pipeline.components  # noqa: F401  (registers the healthclaims_* factories)
from pipeline.extract import CUES_KEY
from pipeline.rules import load_cue_patterns, load_lexicon

ENTITY_LEXICONS = {"INTERVENTION": "interventions", "CONDITION": "conditions"}
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
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("healthclaims_segmenter")
    nlp.add_pipe("healthclaims_boilerplate")
    cue_ruler = nlp.add_pipe(
        "span_ruler",
        name="healthclaims_cues",
        config={"spans_key": CUES_KEY, "phrase_matcher_attr": "LOWER", "validate": True},
    )
    cue_ruler.add_patterns([pattern.as_ruler_pattern() for pattern in load_cue_patterns()])
    entity_ruler = nlp.add_pipe(
        "entity_ruler",
        name="healthclaims_entities",
        config={"phrase_matcher_attr": "LOWER", "validate": False},
    )
    with nlp.select_pipes(enable=[]):
        entity_ruler.add_patterns(
            [
                {"label": label, "pattern": term}
                for label, lexicon in ENTITY_LEXICONS.items()
                for term in load_lexicon(lexicon)
            ]
        )
    return nlp

"""Sentence features: one pure function shared by training and prediction.

A sentence becomes a dict of named binary features (words, word pairs, cue
kinds and patterns, entity types, shape, and the previous sentence's cues).
sklearn's DictVectorizer turns the dicts into a matrix at training time; the
same names index the exported weights at prediction time, so both paths see
identical features.
"""

from __future__ import annotations

import re
from itertools import pairwise

from pipeline.rules import load_word_set
from pipeline.schema import Sentence

_TOKEN = re.compile(r"[a-z]++(?:'[a-z]+)?+|[0-9]++(?:[.,][0-9]+)*+%?+|[%$!?\"“”]")
_FIRST_PERSON = frozenset({"i", "i'm", "i've", "i'd", "my", "me", "myself", "mine"})
_WE = frozenset({"we", "our", "us", "we've", "we're"})
_YOU = frozenset({"you", "your", "you're", "you'll", "yours", "yourself"})
_REPORTING = frozenset({"said", "says", "say", "told", "added", "explained", "noted", "according"})
_COMPARATIVE = frozenset(
    {"than", "compared", "versus", "vs", "faster", "quicker", "better", "worse", "superior"}
)
_WORD_SHAPES = (
    ("shape=first_person", _FIRST_PERSON),
    ("shape=we", _WE),
    ("shape=you", _YOU),
    ("shape=reporting", _REPORTING),
    ("shape=comparative", _COMPARATIVE),
)
_BULLET = re.compile(r"^\s*(?:[-*•·▪◦]|\d{1,2}[.)])\s+")


def word_tokens(text: str) -> list[str]:
    """Lower-case word tokens; numbers become <num> or <pct>."""
    return [
        ("<pct>" if tok.endswith("%") else "<num>") if tok[0].isdigit() else tok
        for tok in _TOKEN.findall(text.lower().replace("’", "'"))
    ]


def featurize(sentence: Sentence, previous: Sentence | None = None) -> dict[str, float]:
    """Named features of one sentence, given the sentence before it (or None)."""
    text = sentence.text
    stripped = text.rstrip()
    tokens = word_tokens(text)
    feats: dict[str, float] = dict.fromkeys(
        ["w=" + tok for tok in tokens] + [f"b={left}_{right}" for left, right in pairwise(tokens)],
        1.0,
    )
    if tokens:
        feats["first=" + tokens[0]] = 1.0
    words = set(tokens)
    for name, vocab in _WORD_SHAPES:
        if not words.isdisjoint(vocab):
            feats[name] = 1.0
    if not words.isdisjoint(load_word_set("effects")):
        feats["shape=effect"] = 1.0
        if any(ent.label == "INTERVENTION" for ent in sentence.entities):
            feats["shape=effect+intervention"] = 1.0
    if "<num>" in words or "<pct>" in words:
        feats["shape=number"] = 1.0
    if stripped.endswith("!"):
        feats["shape=exclaim"] = 1.0
    if _BULLET.match(text):
        feats["shape=list_item"] = 1.0
    if stripped.endswith(":"):
        feats["shape=intro_colon"] = 1.0
    n = len(tokens)
    feats["len=" + ("short" if n < 8 else "medium" if n < 25 else "long")] = 1.0
    for cue in sentence.cues:
        feats["cue=" + cue.kind] = 1.0
        feats["cue=" + cue.kind + ":" + cue.pattern] = 1.0
    for ent in sentence.entities:
        feats["ent=" + ent.label] = 1.0
    if len({ent.label for ent in sentence.entities}) == 2:
        feats["ent=both"] = 1.0
    if previous is not None:
        for kind in previous.cue_kinds:
            feats["prev_cue=" + kind] = 1.0
        if previous.is_heading:
            feats["prev=heading"] = 1.0
        if previous.text.rstrip().endswith(":"):
            feats["prev=intro_colon"] = 1.0
    else:
        feats["prev=none"] = 1.0
    return feats

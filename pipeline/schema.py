"""Typed records passed between the stages.

Every stage after the spaCy one works on these records, so renderers, batch
scoring and the review store need no spaCy. Imports nothing heavier than the
standard library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

REPORT_SCHEMA = "healthclaims/report@1"


class Label(StrEnum):
    """The warrant the text gives for a claim (TAXONOMY.md)."""

    STUDY = "study-backed"
    ANECDOTE = "anecdotal"
    PROMO = "promotional"


LABELS: tuple[Label, ...] = (Label.STUDY, Label.ANECDOTE, Label.PROMO)

LABEL_MEANING = {
    Label.STUDY: "supported by research named or described in the text",
    Label.ANECDOTE: "supported by personal or individual experience",
    Label.PROMO: "asserted without stated support",
}

ATTRIBUTES: tuple[str, ...] = ("cites_source", "vague_evidence", "hedged", "absolute", "hype")

CUE_KINDS: tuple[str, ...] = (
    "study",
    "anecdote",
    "promotion",
    "hedge",
    "absolute",
    "citation",
    "plan",
    "vague",
)


@dataclass(frozen=True, slots=True)
class Cue:
    """A phrase that signals a warrant or a manner of claiming."""

    text: str
    start: int
    end: int
    kind: str
    pattern: str = ""


@dataclass(frozen=True, slots=True)
class Entity:
    """An intervention or condition named in a sentence."""

    text: str
    label: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Article:
    """One article's extracted body text and where it came from."""

    id: str
    source: str
    text: str
    title: str = ""

    @property
    def chars(self) -> int:
        """Length of the body text that all offsets refer to."""
        return len(self.text)


_NO_KINDS: frozenset[str] = frozenset()

# A claim names something and its effect: no sentence of fewer words is one
# in the corpus (283 sentences) or in eval-dev (25).
MIN_CLAIM_WORDS = 3


@dataclass(frozen=True, slots=True)
class Sentence:
    """One body sentence as the spaCy stage sees it, before classification."""

    text: str
    start: int
    end: int
    cues: tuple[Cue, ...] = ()
    entities: tuple[Entity, ...] = ()
    is_heading: bool = False
    is_boilerplate: bool = False
    is_question: bool = False
    is_fragment: bool = False  # under MIN_CLAIM_WORDS words ("Thank you!", "Smith said.")

    @property
    def cue_kinds(self) -> frozenset[str]:
        """The kinds of cue found in the sentence."""
        return frozenset([cue.kind for cue in self.cues]) if self.cues else _NO_KINDS

    @property
    def candidate(self) -> bool:
        """Whether the sentence may be a claim at all (not a heading, boilerplate, question or fragment)."""
        return not (self.is_heading or self.is_boilerplate or self.is_question or self.is_fragment)


@dataclass(frozen=True, slots=True)
class Claim:
    """A sentence scored by the classifiers, with its attributes and flags."""

    id: str
    text: str
    start: int
    end: int
    is_claim: bool
    claim_probability: float
    label: Label | None
    confidence: float | None
    probabilities: dict[str, float]
    attributes: dict[str, bool]
    cues: tuple[Cue, ...]
    entities: tuple[Entity, ...]
    flags: tuple[str, ...]
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Which model produced a report."""

    name: str
    version: str
    trained_examples: int


@dataclass(frozen=True, slots=True)
class ArticleReport:
    """Everything the tool says about one article; every renderer reads this."""

    article: Article
    sentences: tuple[Claim, ...]
    model: ModelInfo
    status: str = "ok"
    error: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def claims(self) -> tuple[Claim, ...]:
        """Only the sentences that are health claims."""
        return tuple(sent for sent in self.sentences if sent.is_claim)

    @property
    def summary(self) -> dict[str, float | int]:
        """Counts per label, flagged claims and the evidence share."""
        claims = self.claims
        counts: dict[str, float | int] = {"claims": len(claims)}
        for label in LABELS:
            counts[label.value] = sum(1 for claim in claims if claim.label == label)
        counts["flagged"] = sum(1 for claim in claims if claim.flags)
        study = counts[Label.STUDY.value]
        counts["evidence_share"] = round(study / len(claims), 4) if claims else 0.0
        return counts

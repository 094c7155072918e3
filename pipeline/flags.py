"""The review-flag policy (TAXONOMY.md, "Flagged for review"), in one function."""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.schema import Cue, Label

FLAG_ORDER = ("low_confidence", "promotional", "vague_evidence", "absolute", "generalised_anecdote")


def review_flags(
    label: Label, confidence: float, attributes: dict[str, bool], cues: Iterable[Cue], *, threshold: float
) -> tuple[str, ...]:
    """Why a claim goes to the review queue; empty when it does not."""
    flags = set()
    if confidence < threshold:
        flags.add("low_confidence")
    if label == Label.PROMO:
        flags.add("promotional")
    if attributes.get("vague_evidence"):
        flags.add("vague_evidence")
    if attributes.get("absolute"):
        flags.add("absolute")
    if label == Label.ANECDOTE and any(
        cue.kind == "anecdote" and cue.pattern == "generalised" for cue in cues
    ):
        flags.add("generalised_anecdote")
    return tuple(flag for flag in FLAG_ORDER if flag in flags)

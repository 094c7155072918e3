"""Markdown: a summary table and one row per claim, for pasting into notes and tickets."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.schema import LABEL_MEANING, LABELS, ArticleReport


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(reports: Sequence[ArticleReport], *, all_sentences: bool = False) -> str:
    """Each article as a Markdown section."""
    parts = []
    for report in reports:
        summary = report.summary
        title = report.article.title or report.article.id
        parts.append(f"# {_cell(title)}\n")
        parts.append(
            f"Source: `{report.article.source}` · model {report.model.name} {report.model.version}\n"
        )
        parts.append(
            "| claims | " + " | ".join(label.value for label in LABELS) + " | flagged | evidence share |"
        )
        parts.append("|---:|" + "---:|" * len(LABELS) + "---:|---:|")
        counts = " | ".join(str(summary[label.value]) for label in LABELS)
        parts.append(
            f"| {summary['claims']} | {counts} | {summary['flagged']} | {summary['evidence_share']:.0%} |\n"
        )
        parts.append("| # | claim | label | confidence | attributes | flags | cues |")
        parts.append("|---:|---|---|---:|---|---|---|")
        listed = report.sentences if all_sentences else report.claims
        for n, claim in enumerate(listed, start=1):
            label = (
                f"**{claim.label.value}** ({LABEL_MEANING[claim.label]})" if claim.label else "not a claim"
            )
            confidence = f"{claim.confidence:.2f}" if claim.confidence is not None else ""
            attrs = ", ".join(name for name, on in claim.attributes.items() if on)
            cues = ", ".join(f"{c.kind}: {c.text}" for c in claim.cues)
            parts.append(
                f"| {n} | {_cell(claim.text)} | {label} | {confidence} | {attrs} | {', '.join(claim.flags)} | {_cell(cues)} |"
            )
        parts.append("")
    return "\n".join(parts) + "\n"

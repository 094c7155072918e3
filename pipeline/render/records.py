"""JSON and JSON Lines: the exact serialisation of the report (REPORT_FORMAT.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from pipeline.schema import LABEL_MEANING, REPORT_SCHEMA, ArticleReport, Claim


def claim_record(claim: Claim) -> dict:
    """One claim (or, with is_claim false, a plain sentence) as a JSON-ready dict."""
    return {
        "id": claim.id,
        "text": claim.text,
        "start": claim.start,
        "end": claim.end,
        "is_claim": claim.is_claim,
        "label": claim.label.value if claim.label else None,
        "label_meaning": LABEL_MEANING[claim.label] if claim.label else None,
        "confidence": claim.confidence,
        "probabilities": claim.probabilities,
        "claim_probability": claim.claim_probability,
        "attributes": claim.attributes,
        "cues": [{"text": c.text, "start": c.start, "end": c.end, "kind": c.kind} for c in claim.cues],
        "entities": [
            {"text": e.text, "label": e.label, "start": e.start, "end": e.end} for e in claim.entities
        ],
        "flags": list(claim.flags),
        "evidence": list(claim.evidence),
    }


def report_record(report: ArticleReport, *, all_sentences: bool = False) -> dict:
    """One article's report as a JSON-ready dict."""
    article = report.article
    listed = report.sentences if all_sentences else report.claims
    record = {
        "schema": REPORT_SCHEMA,
        "article": {
            "id": article.id,
            "source": article.source,
            "title": article.title,
            "chars": article.chars,
        },
        "summary": report.summary,
        "claims": [claim_record(claim) for claim in listed],
        "model": {
            "name": report.model.name,
            "version": report.model.version,
            "trained_examples": report.model.trained_examples,
        },
    }
    if report.status != "ok":
        record["status"], record["error"] = report.status, report.error
    return record


def render_json(reports: Sequence[ArticleReport], *, all_sentences: bool = False) -> str:
    """One JSON object for one article, a JSON array for several."""
    records = [report_record(r, all_sentences=all_sentences) for r in reports]
    payload = records[0] if len(records) == 1 else records
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def render_jsonl(reports: Sequence[ArticleReport], *, all_sentences: bool = False) -> str:
    """One claim per line, each with its `article_id`."""
    lines = []
    for report in reports:
        listed = report.sentences if all_sentences else report.claims
        for claim in listed:
            lines.append(
                json.dumps({"article_id": report.article.id, **claim_record(claim)}, ensure_ascii=False)
            )
    return "".join(line + "\n" for line in lines)

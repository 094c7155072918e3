"""HTML: one self-contained page, the article with each claim highlighted by label."""

from __future__ import annotations

from collections.abc import Sequence

from jinja2 import Environment, PackageLoader, select_autoescape

from pipeline.schema import LABEL_MEANING, LABELS, ArticleReport, Claim


def _segments(report: ArticleReport) -> list[tuple[str, Claim | None]]:
    """The body text cut into plain runs and claim runs, in order."""
    text = report.article.text
    segments: list[tuple[str, Claim | None]] = []
    cursor = 0
    for claim in report.claims:
        if claim.start < cursor:
            continue
        segments.append((text[cursor : claim.start], None))
        segments.append((text[claim.start : claim.end], claim))
        cursor = claim.end
    segments.append((text[cursor:], None))
    return [(run, claim) for run, claim in segments if run]


def render_html(reports: Sequence[ArticleReport]) -> str:
    """A standalone HTML page; all article text is escaped by the template engine."""
    env = Environment(
        loader=PackageLoader("pipeline.render", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("report.html.j2")
    articles = [
        {"report": report, "summary": report.summary, "segments": _segments(report)} for report in reports
    ]
    title = (
        reports[0].article.title or reports[0].article.id if len(reports) == 1 else f"{len(reports)} articles"
    )
    return template.render(
        title=title, articles=articles, labels=[label.value for label in LABELS], meaning=LABEL_MEANING
    )

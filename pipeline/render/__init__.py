"""Renderers: every output format is drawn from the same `ArticleReport` records."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.schema import ArticleReport

FORMATS = ("terminal", "json", "jsonl", "markdown", "html")


def render(
    reports: Sequence[ArticleReport], fmt: str, *, all_sentences: bool = False, color: bool = False
) -> str:
    """The reports in one format, as text ready to write."""
    if fmt == "json":
        from pipeline.render.records import render_json

        return render_json(reports, all_sentences=all_sentences)
    if fmt == "jsonl":
        from pipeline.render.records import render_jsonl

        return render_jsonl(reports, all_sentences=all_sentences)
    if fmt == "markdown":
        from pipeline.render.markdown_report import render_markdown

        return render_markdown(reports, all_sentences=all_sentences)
    if fmt == "html":
        from pipeline.render.html_report import render_html

        return render_html(reports)
    if fmt == "terminal":
        from pipeline.render.terminal import render_terminal

        return render_terminal(reports, all_sentences=all_sentences, color=color)
    raise ValueError(f"Unknown format {fmt!r}; expected one of {', '.join(FORMATS)}.")

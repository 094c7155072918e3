"""Terminal: colour per label, the cues highlighted, and a summary table (rich)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline.schema import LABEL_MEANING, LABELS, ArticleReport, Claim, Label

LABEL_STYLE = {Label.STUDY: "bold green", Label.ANECDOTE: "bold yellow", Label.PROMO: "bold magenta"}
CUE_STYLE = {
    "study": "underline green",
    "anecdote": "underline yellow",
    "promotion": "underline magenta",
    "hedge": "italic",
    "absolute": "bold red",
    "citation": "underline cyan",
    "vague": "underline red",
}


INDENT = 5  # claim text and its details sit under the label, wrapped lines too


def _print_indented(console: Console, text: Text, first: Text | None = None) -> None:
    """Print `text` wrapped to the console's width, every line indented (the first behind `first`)."""
    for n, line in enumerate(text.wrap(console, console.width - INDENT)):
        console.print((first if first is not None and n == 0 else Text(" " * INDENT)) + line)


def _claim_text(claim: Claim) -> Text:
    text = Text(claim.text)
    for cue in claim.cues:
        text.stylize(CUE_STYLE.get(cue.kind, ""), cue.start - claim.start, cue.end - claim.start)
    return text


def _summary_table(report: ArticleReport) -> Table:
    summary = report.summary
    table = Table(title="Summary", show_header=True, header_style="bold")
    for column in ("claims", *(label.value for label in LABELS), "flagged", "evidence share"):
        table.add_column(column, justify="right")
    table.add_row(
        str(summary["claims"]),
        *(Text(str(summary[label.value]), style=LABEL_STYLE[label]) for label in LABELS),
        str(summary["flagged"]),
        f"{summary['evidence_share']:.0%}",
    )
    return table


def render_terminal(
    reports: Sequence[ArticleReport], *, all_sentences: bool = False, color: bool = False
) -> str:
    """The reports as terminal text; ANSI colour only when `color` is set."""
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=100, highlight=False)
    for report in reports:
        title = report.article.title or report.article.id
        console.rule(Text(title, style="bold"))
        console.print(Text(f"{report.article.source} · {report.article.chars} characters", style="dim"))
        listed = report.sentences if all_sentences else report.claims
        for n, claim in enumerate(listed, start=1):
            if claim.label is None:
                _print_indented(console, Text(claim.text, style="dim"), first=Text(f"{n:>3}. ", style="dim"))
                continue
            head = Text(f"{n:>3}. ")
            head.append(f"{claim.label.value}", style=LABEL_STYLE[claim.label])
            head.append(f" {claim.confidence:.0%}", style="bold")
            head.append(f"  ({LABEL_MEANING[claim.label]})", style="dim")
            if claim.flags:
                head.append("  ⚑ " + ", ".join(claim.flags), style="red")
            console.print(head)
            _print_indented(console, _claim_text(claim))
            details = [name for name, on in claim.attributes.items() if on]
            extra = []
            if details:
                extra.append("attributes: " + ", ".join(details))
            if claim.cues:
                extra.append("cues: " + "; ".join(f"{c.kind} “{c.text}”" for c in claim.cues))
            if claim.evidence:
                extra.append("why: " + "; ".join(claim.evidence))
            for line in extra:
                _print_indented(console, Text(line, style="dim"))
        if not report.claims:
            console.print(Text("No health claims found.", style="dim"))
        console.print(_summary_table(report))
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())  # no right padding

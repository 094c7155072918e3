"""summary.html of a batch run: charts (matplotlib, inline SVG) and the most flagged articles."""

from __future__ import annotations

import io

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from pipeline.schema import LABEL_MEANING, LABELS

COLOURS = {"study-backed": "#1b7f3b", "anecdotal": "#a86b00", "promotional": "#9b2c8f"}


def _figure(width: float, height: float):
    """A bare matplotlib Figure (no pyplot: nothing global, a quicker import)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    return figure, figure.subplots()


def _svg(figure) -> Markup:
    """A matplotlib figure as inline SVG (matplotlib escapes the text it draws)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    svg = buffer.getvalue()
    return Markup(svg[svg.index("<svg") :])


def _charts(figures: dict) -> dict[str, Markup]:
    import matplotlib

    matplotlib.rcParams.update(
        {"font.size": 10, "svg.fonttype": "none", "axes.spines.top": False, "axes.spines.right": False}
    )
    charts = {}
    labels = list(figures["labels"])
    counts = [figures["labels"][label] for label in labels]
    total = sum(counts) or 1
    fig, ax = _figure(6, 2.2)
    bars = ax.barh(
        labels[::-1], [c / total for c in counts[::-1]], color=[COLOURS[lab] for lab in labels[::-1]]
    )
    ax.bar_label(bars, labels=[f"{c / total:.0%}  ({c:,})" for c in counts[::-1]], padding=4)
    ax.set_xlim(0, 1.15)
    ax.set_xlabel("share of all claims")
    charts["labels"] = _svg(fig)

    fig, ax = _figure(6, 2.6)
    ax.hist(
        figures["evidence_shares"],
        bins=[i / 10 for i in range(11)],
        color=COLOURS["study-backed"],
        edgecolor="white",
    )
    ax.set_xlabel("evidence share (study-backed claims / all claims) per article")
    ax.set_ylabel("articles")
    charts["evidence"] = _svg(fig)

    if figures["promoted"]:
        names = [name for name, _ in figures["promoted"]][::-1]
        values = [n for _, n in figures["promoted"]][::-1]
        fig, ax = _figure(6, 0.28 * len(names) + 0.8)
        bars = ax.barh(names, values, color=COLOURS["promotional"])
        ax.bar_label(bars, padding=3)
        ax.set_xlabel("promotional claims naming the intervention")
        charts["promoted"] = _svg(fig)
    return charts


def render_summary_html(figures: dict) -> str:
    """The page; every article title and id is escaped by the template engine."""
    env = Environment(
        loader=PackageLoader("pipeline.render", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("summary.html.j2").render(
        figures=figures,
        charts=_charts(figures),
        colours=COLOURS,
        meaning=LABEL_MEANING,
        labels=[label.value for label in LABELS],
    )

"""The healthclaims command line: the only module that prints, prompts or exits."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from pipeline.errors import HealthClaimsError
from pipeline.render import FORMATS

DEFAULT_MODEL = Path(os.environ.get("HEALTHCLAIMS_MODEL", "models/default"))
EXIT_GATE = 3
EXIT_SOME_FAILED = 4


model_option = click.option(
    "--model",
    "model_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_MODEL,
    show_default=True,
    help="Model folder made by `healthclaims train` (env HEALTHCLAIMS_MODEL).",
)


corpus_option = click.option(
    "--corpus",
    "corpus_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path("corpus"),
    show_default=True,
    help="Labelled corpus folder.",
)

config_option = click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A TOML file overriding the packaged defaults.",
)

threshold_option = click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Flag claims whose label confidence is below this [default: 0.6].",
)

DEFAULT_FULLFACT = Path("../shared/benchmarks/fullfact-health-claims.csv")
DEFAULT_BASELINE = Path("tests/quality_baseline.json")

fullfact_option = click.option(
    "--fullfact",
    type=click.Path(dir_okay=False),
    default=str(DEFAULT_FULLFACT),
    show_default=True,
    help="Full Fact benchmark CSV for the outside check of the label classifier ('' to skip).",
)


def _fail(err: HealthClaimsError) -> click.ClickException:
    return click.ClickException(str(err))


def _err(message: str) -> None:
    click.echo(message, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="healthclaims")
def cli() -> None:
    """Find the health claims in articles and show what backs each one.

    Each claim is labelled by the warrant the text gives it: study-backed
    (research), anecdotal (personal experience) or promotional (asserted
    without stated support). Start with `healthclaims annotate ARTICLE`.
    """


@cli.command()
@click.argument("articles", nargs=-1, required=True, metavar="ARTICLE...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="terminal",
    show_default=True,
    help="Report format. json and jsonl follow REPORT_FORMAT.md.",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    help="Write the report here instead of stdout.",
)
@click.option(
    "--html-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write an HTML report to this file.",
)
@model_option
@threshold_option
@click.option("--all-sentences", is_flag=True, help="List every body sentence, not only claims.")
@click.option(
    "--fail-on",
    type=click.Choice(["flagged", "promotional"]),
    default=None,
    help=f"Exit with status {EXIT_GATE} when any claim is flagged / promotional (for editorial gates).",
)
@config_option
@click.option(
    "--spacy-model",
    default=None,
    metavar="NAME",
    help="Start from an installed pretrained spaCy pipeline instead of blank English (opt-in).",
)
def annotate(articles, fmt, out, html_out, model_dir, threshold, all_sentences, fail_on, config, spacy_model):
    """Annotate articles: every health claim with its label, confidence, cues and flags.

    ARTICLE is a .txt, .md or .html file, an http(s):// URL, or - for stdin.
    The report goes to stdout (or --out); messages go to stderr. An article
    that cannot be read is reported and skipped; the exit status is then 1.

    \b
    Examples:
      healthclaims annotate article.txt
      healthclaims annotate page.html --format html -o report.html
      curl -s URL | healthclaims annotate - --format jsonl | jq .label
    """
    from pipeline.checker import Checker
    from pipeline.ingest import load_article
    from pipeline.render import render
    from pipeline.settings import load_settings

    try:
        settings = load_settings(config, threshold=threshold)
        checker = Checker.from_model_dir(model_dir, settings, base=spacy_model)
    except HealthClaimsError as err:
        raise _fail(err) from err
    except OSError as err:
        raise click.ClickException(f"[E305] Cannot load spaCy pipeline {spacy_model!r}: {err}") from err
    loaded, failures = [], 0
    for source in articles:
        try:
            loaded.append(load_article(source, max_bytes=settings.max_bytes, timeout=settings.timeout))
        except HealthClaimsError as err:
            failures += 1
            _err(f"Error: {source}: {err}")
    reports = list(checker.check_many(loaded))
    if reports:
        color = fmt == "terminal" and out == "-" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        text = render(reports, fmt, all_sentences=all_sentences, color=color)
        with click.open_file(out, "w", encoding="utf-8") as handle:
            handle.write(text)
        if html_out:
            Path(html_out).write_text(render(reports, "html"), encoding="utf-8")
            _err(f"HTML report written to {html_out}")
    if failures:
        _err(f"{failures} of {len(articles)} article(s) could not be read.")
        sys.exit(1)
    if fail_on and _gate_tripped(reports, fail_on):
        _err(f"Found {fail_on} claims (--fail-on {fail_on}).")
        sys.exit(EXIT_GATE)


def _gate_tripped(reports, fail_on: str) -> bool:
    if fail_on == "flagged":
        return any(claim.flags for report in reports for claim in report.claims)
    return any(claim.label == "promotional" for report in reports for claim in report.claims)


@cli.command()
@corpus_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_MODEL,
    show_default=True,
    help="Where to write the model.",
)
@click.option(
    "--no-cv", is_flag=True, help="Skip cross-validation (faster; meta.json then has no CV metrics)."
)
@click.option(
    "--with-reviews",
    "reviews_db",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Also learn from the decisions in this review database (see `healthclaims review`).",
)
def train(corpus_dir, out_dir, no_cv, reviews_db):
    """Train the claim detector and the label classifier from the corpus (and, if given, reviews)."""
    from pipeline.classify import train_model
    from pipeline.nlp import build_nlp
    from pipeline.review import review_sentences

    _err(f"Training from {corpus_dir}{f' and the reviews in {reviews_db}' if reviews_db else ''} ...")
    try:
        reviewed = review_sentences(reviews_db) if reviews_db else []
        meta = train_model(corpus_dir, out_dir, nlp=build_nlp(), cross_validate=not no_cv, reviewed=reviewed)
    except HealthClaimsError as err:
        raise _fail(err) from err
    _err(
        f"Model written to {out_dir} ({meta['trained_examples']} examples, {meta['trained_claims']} claims)."
    )
    cv = meta.get("cv_metrics") or {}
    if cv:
        click.echo(
            f"cross-validated ({cv['folds']} folds): claim F1 {cv['claim_f1']:.3f} "
            f"(P {cv['claim_precision']:.3f}, R {cv['claim_recall']:.3f}), label macro-F1 {cv['label_macro_f1']:.3f}, "
            f"label ECE {cv['label_ece']:.3f}"
        )


@cli.command()
@click.argument("gold", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--articles",
    "articles_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Take the article texts from this JSONL file (id and text a line) instead of GOLD/articles.jsonl; "
    "gold rows may then give offsets without text (corpus/checks/).",
)
@model_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write evaluation.md, evaluation.json and confusion.png here.",
)
@fullfact_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
    help="What to print on stdout.",
)
@click.option(
    "--errors", "n_errors", type=click.IntRange(0), default=0, help="Also list the N surest mistakes."
)
@click.option(
    "--update-baseline",
    is_flag=True,
    help="Set the quality-gate floors in the --baseline file from this run (they only rise).",
)
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_BASELINE,
    show_default=True,
    help="The quality-gate file --update-baseline writes (tests/quality_baseline_check.json for the check set).",
)
@click.option("--allow-lower", is_flag=True, help="With --update-baseline: allow a floor to go down.")
def evaluate(
    gold,
    articles_file,
    model_dir,
    out_dir,
    fullfact,
    fmt,
    n_errors,
    update_baseline,
    baseline_file,
    allow_lower,
):
    """Score the pipeline against labelled articles (the eval-dev format) and the Full Fact benchmark.

    GOLD is a folder holding articles.jsonl and gold.jsonl, such as
    ../shared/eval-dev, or only gold.jsonl with --articles naming the
    texts, such as corpus/checks/fakehealth-blind. Prints claim-detection
    precision, recall and F1; per-label scores and macro-F1 on the claims
    found; the confusion matrix with a "not a claim" row and column;
    calibration (ECE, beside the ECE a perfectly calibrated model would show
    on as many claims); 95% intervals for claim F1, macro-F1 and ECE by
    resampling whole articles; and each attribute's precision and recall.

    \b
    Examples:
      healthclaims evaluate ../shared/eval-dev --out reports/eval
      healthclaims evaluate ../shared/eval-dev --format json | jq .gold.claim
      healthclaims evaluate corpus/checks/fakehealth-blind --fullfact '' \\
        --articles ../shared/corpora/fakehealth.jsonl
    """
    from pipeline import evaluate as ev
    from pipeline import gate
    from pipeline.checker import Checker
    from pipeline.corpus import load_gold_articles
    from pipeline.settings import load_settings

    try:
        checker = Checker.from_model_dir(model_dir, load_settings())
        articles = load_gold_articles(gold, articles=articles_file)
        outcomes = ev.run_articles(checker, articles)
        result = {
            "model": checker.model.info.version,
            "model_path": str(model_dir),
            "gold_path": str(gold),
            "gold_hash": ev.gold_hash(gold, articles=articles_file),
            "gold": {**ev.score_outcomes(outcomes), "intervals": ev.intervals(outcomes)},
        }
        if fullfact:
            result["fullfact_path"] = fullfact
            result["fullfact"] = ev.evaluate_fullfact(checker, ev.load_fullfact(Path(fullfact)))
        if n_errors:
            result["errors"] = ev.errors(outcomes, limit=n_errors)
    except HealthClaimsError as err:
        raise _fail(err) from err
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        click.echo(ev.to_markdown(result), nl=False)
        for row in result.get("errors", []):
            click.echo(f"- gold {row['gold']} / predicted {row['predicted']}: {row['text'][:160]}")
    if out_dir:
        for path in ev.write_reports(result, out_dir):
            _err(f"wrote {path}")
    if update_baseline:
        try:
            baseline = gate.update(result, baseline_file, allow_lower=allow_lower)
        except HealthClaimsError as err:
            raise _fail(err) from err
        _err(f"Quality floors in {baseline_file}: {baseline.floors}")


@cli.command()
@corpus_option
@click.option(
    "--gold",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Gold articles to score each design on (e.g. ../shared/eval-dev).",
)
@click.option(
    "--check",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="A second gold set to score each design on (e.g. corpus/checks/fakehealth-blind).",
)
@click.option(
    "--check-articles",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The article texts for --check, when its folder holds only gold.jsonl "
    "(e.g. ../shared/corpora/fakehealth.jsonl).",
)
@fullfact_option
def compare(corpus_dir, gold, check, check_articles, fullfact):
    """Compare model designs: corpus cross-validation, gold articles, a check set and Full Fact, in one table.

    Trains each design (word n-grams; plus character n-grams; plus cue and
    context features, with a binary claim stage or a four-way model, labels
    from a separate label stage or from the four-way model as shipped; and
    spaCy's own text classifier trained from scratch) from the corpus and
    prints a Markdown table. Takes about 10 minutes on 2 cores.
    """
    from pipeline.compare import compare as run_compare
    from pipeline.compare import to_markdown
    from pipeline.nlp import build_nlp

    try:
        rows = run_compare(
            corpus_dir,
            build_nlp(),
            gold_dir=gold,
            check_dir=check,
            check_articles=check_articles,
            fullfact=Path(fullfact) if fullfact else None,
            progress=_err,
        )
    except HealthClaimsError as err:
        raise _fail(err) from err
    click.echo(to_markdown(rows), nl=False)


@cli.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option(
    "--out",
    "-o",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for claims.parquet, articles.parquet, summary.html (and the run's progress.sqlite).",
)
@model_option
@click.option(
    "--workers",
    "-j",
    type=click.IntRange(1),
    default=None,
    help="Worker processes (Dask workers with --engine dask).  [default: all cores]",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="local: processes on this machine; dask: a Dask cluster (--scheduler, or a local one).",
)
@click.option(
    "--scheduler", metavar="ADDRESS", default=None, help="Dask scheduler, e.g. tcp://10.0.0.5:8786."
)
@click.option(
    "--text-column", default="text", show_default=True, help="Text column of JSON Lines / CSV inputs."
)
@click.option("--id-column", default="id", show_default=True, help="Id column of JSON Lines / CSV inputs.")
@click.option("--csv", "write_csv", is_flag=True, help="Also write claims.csv and articles.csv.")
@click.option("--reports", is_flag=True, help="Also write one HTML report per article into OUT/reports/.")
@click.option(
    "--batch-size",
    type=click.IntRange(1),
    default=None,
    help="Articles per committed batch (default: 16 on the local engine, 64 on Dask, "
    "where each task costs more to ship).",
)
@click.option("--fresh", is_flag=True, help="Discard a previous run in OUT instead of resuming it.")
@click.option("--fetch", is_flag=True, help="Download the `url` of JSON Lines / CSV rows that have no text.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary table.")
@threshold_option
@config_option
def score(
    inputs,
    out_dir,
    model_dir,
    workers,
    engine,
    scheduler,
    text_column,
    id_column,
    write_csv,
    reports,
    batch_size,
    fresh,
    fetch,
    quiet,
    threshold,
    config,
):
    """Score a whole corpus into tables: one row per claim, one per article.

    INPUT is a folder of .txt/.md/.html files (searched recursively), a JSON
    Lines file with `id` and `text` (optional `title`, `url`), a CSV file
    (name its text column with --text-column), or - for JSON Lines on stdin
    (kept in OUT/stdin-HASH.jsonl, so piping the same lines again resumes). A run is committed batch by
    batch: stopped at any moment, the same command resumes it. A bad article
    becomes a row with an error `status`; the run goes on, and the exit
    status is 4 when any article failed.

    \b
    Examples:
      healthclaims score ../shared/corpora/fakehealth.jsonl --out runs/fakehealth
      healthclaims score articles/ --out runs/articles --csv --reports
      healthclaims score corpus.jsonl --out runs/c --engine dask --scheduler tcp://HOST:8786
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from pipeline.batch import ScoreOptions, score_corpus
    from pipeline.settings import load_settings

    console = Console(stderr=True)
    try:
        options = ScoreOptions(
            model_dir=model_dir,
            settings=load_settings(config, threshold=threshold),
            workers=workers or os.cpu_count() or 1,
            engine=engine,
            scheduler=scheduler,
            batch_size=batch_size,
            text_column=text_column,
            id_column=id_column,
            csv=write_csv,
            reports=reports,
            fresh=fresh,
            fetch=fetch,
        )
        progress = Progress(
            TextColumn("scoring"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=console,
            disable=quiet or not console.is_terminal,
        )
        task = None

        def on_start(total: int, done: int) -> None:
            nonlocal task
            if done:
                _err(f"Resuming: {done:,} of {total:,} articles already scored in {out_dir}.")
            task = progress.add_task("score", total=total, completed=done, rate="")

        def on_batch(n: int) -> None:
            progress.advance(task, n)
            speed = progress.tasks[0].speed
            progress.update(task, rate=f"{speed:,.1f} articles/s" if speed else "")

        if "-" in inputs:
            from pipeline.batch import save_stdin

            saved = str(save_stdin(sys.stdin.buffer, out_dir))
            inputs = [saved if given == "-" else given for given in inputs]
        with progress:
            summary = score_corpus(list(inputs), out_dir, options, on_start=on_start, on_batch=on_batch)
    except HealthClaimsError as err:
        raise _fail(err) from err
    if not quiet:
        console.print(_score_table(summary))
        console.print("Written: " + ", ".join(str(path) for path in summary.files), highlight=False)
    if summary.failed:
        _err(f"{summary.failed:,} of {summary.articles:,} articles failed; see the status and error columns.")
        sys.exit(EXIT_SOME_FAILED)


def _score_table(summary):
    from rich.table import Table

    table = Table(title=f"healthclaims score: {summary.out_dir}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("articles", f"{summary.articles:,}")
    table.add_row("  scored in this run", f"{summary.scored_now:,}")
    table.add_row(
        "  failed",
        f"{summary.failed:,}"
        + (f"  ({', '.join(f'{k} x{v}' for k, v in summary.errors.items())})" if summary.errors else ""),
    )
    table.add_row("claims", f"{summary.claims:,}")
    for label, n in summary.labels.items():
        share = n / summary.claims if summary.claims else 0.0
        table.add_row(f"  {label}", f"{n:,}  {share:.0%}")
    table.add_row("flagged for review", f"{summary.flagged:,}")
    return table


DEFAULT_REVIEW_DB = Path("reviews.db")

db_option = click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"The review database (SQLite).  [default: {DEFAULT_REVIEW_DB}]",
)


def _review_db(db_path: Path | None) -> Path:
    """--db as given to this command, else as given to `review` before it (`review --db X stats`)."""
    if db_path is not None:
        return db_path
    parent = click.get_current_context().parent
    return (parent.params.get("db_path") if parent else None) or DEFAULT_REVIEW_DB


def _reviewer_default() -> str:
    import getpass

    try:
        return os.environ.get("HEALTHCLAIMS_REVIEWER") or getpass.getuser()
    except (KeyError, OSError):
        return "reviewer"


def queue_options(command):
    """--reviewer, --order and the filters shared by the terminal and web reviewers."""
    from pipeline.review import LABEL_VALUES, ORDERS

    for option in reversed(
        [
            click.option(
                "--reviewer",
                default=_reviewer_default,
                show_default="your user name",
                help="Your name, recorded with each decision (env HEALTHCLAIMS_REVIEWER).",
            ),
            click.option(
                "--order",
                type=click.Choice(ORDERS),
                default="uncertain",
                show_default=True,
                help="uncertain: least confident first; article: in import order; confidence: most confident first.",
            ),
            click.option(
                "--flag", default=None, help="Only claims with this flag (e.g. promotional, vague_evidence)."
            ),
            click.option(
                "--label",
                type=click.Choice(LABEL_VALUES),
                default=None,
                help="Only claims predicted with this label.",
            ),
            click.option(
                "--source", default=None, help="Only claims whose source or article id contains this text."
            ),
        ]
    ):
        command = option(command)
    return command


@cli.group(invoke_without_command=True)
@db_option
@queue_options
@click.pass_context
def review(ctx, db_path, reviewer, order, flag, label, source):
    """Review flagged claims one at a time in the terminal (or a subcommand below).

    Keys: a accept · 1/2/3 relabel study-backed/anecdotal/promotional ·
    n not a claim · s skip · u undo · c add a note · q quit. Each decision is
    saved the moment it is made; two reviewers can work on one database at
    once and are handed different claims.

    \b
    Examples:
      healthclaims annotate story.html --format json -o story.json
      healthclaims review import story.json runs/fakehealth
      healthclaims review --reviewer ana --flag vague_evidence
      healthclaims review serve --port 8765
    """
    if ctx.invoked_subcommand is not None:
        return
    from pipeline.review import open_store

    db_path = db_path or DEFAULT_REVIEW_DB
    try:
        with open_store(db_path, create=False) as store:
            _review_loop(
                store,
                reviewer=reviewer,
                order=order,
                filters={"flag": flag, "label": label, "source": source},
            )
    except HealthClaimsError as err:
        raise _fail(err) from err


def _review_loop(store, *, reviewer: str, order: str, filters: dict) -> None:
    from rich.console import Console
    from rich.panel import Panel
    from rich.text import Text

    from pipeline.review import LABEL_VALUES

    console = Console(highlight=False)
    keys = {"a": ("accept", None), "n": ("not-a-claim", None), "s": ("skip", None)}
    keys.update({str(i): ("relabel", label) for i, label in enumerate(LABEL_VALUES, start=1)})
    styles = {"study-backed": "green", "anecdotal": "yellow", "promotional": "magenta"}
    item = store.next_item(reviewer, order=order, **filters)
    while True:
        progress = store.progress(**filters)
        if item is None:
            console.print(f"Nothing left to review ({progress['decided']} of {progress['total']} decided).")
            return
        claim = Text(item.text)
        for cue in item.cues:
            if item.start <= cue["start"] and cue["end"] <= item.end:
                claim.stylize("bold underline", cue["start"] - item.start, cue["end"] - item.start)
        body = Text()
        if item.before:
            body.append(item.before + "\n", style="dim")
        body.append(claim)
        if item.after:
            body.append("\n" + item.after, style="dim")
        body.append("\n\npredicted ")
        body.append(item.label, style=f"bold {styles.get(item.label, '')}")
        body.append(f"  {item.confidence:.0%} confident")
        if item.flags:
            body.append("  flags: " + ", ".join(item.flags), style="red")
        console.print(
            Panel(body, title=item.title or item.article_id, subtitle=item.source, title_align="left")
        )
        console.print(
            f"[dim]{progress['decided']} of {progress['total']} reviewed, {progress['left']} left · "
            "a accept · 1 study-backed · 2 anecdotal · 3 promotional · n not a claim · s skip · u undo · c note · q quit[/]"
        )
        try:  # keys can also be piped in, one character each
            key = (click.getchar() if sys.stdin.isatty() else sys.stdin.read(1)).lower()
        except EOFError:
            key = ""
        if key in ("", "q", "\x03", "\x04"):  # "" is the end of piped input
            console.print("Saved. Bye.")
            return
        if key == "u":
            undone = store.undo(reviewer)
            console.print("Undone." if undone else "Nothing of yours to undo.")
            item = undone or item
            continue
        if key == "c":
            text = click.prompt("Note", default="", show_default=False)
            if text:
                if not item.decision:
                    store.decide(item.id, "skip", reviewer=reviewer, note=text, version=item.version)
                    console.print("Noted and skipped.")
                    item = store.next_item(reviewer, order=order, **filters)
                else:
                    store.note(item.id, text, reviewer=reviewer)
            continue
        if key not in keys:
            console.print(f"[red]Unknown key {key!r}.[/]")
            continue
        decision, label = keys[key]
        store.decide(item.id, decision, reviewer=reviewer, label=label, version=item.version)
        console.print(f"[green]Saved:[/] {decision}{' -> ' + label if label else ''}")
        item = store.next_item(reviewer, order=order, **filters)


@review.command("import")
@click.argument("reports", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@db_option
@click.option("--all", "every_claim", is_flag=True, help="Queue every claim, not only the flagged ones.")
def review_import(reports, db_path, every_claim):
    """Queue the flagged claims of `annotate` JSON/JSONL reports or `score` output folders.

    Importing the same report twice adds nothing: a claim's id is made from
    its article id, offsets and text. A file in the wrong format is refused
    before anything is written.
    """
    db_path = _review_db(db_path)
    from pipeline.review import open_store, records_from_reports

    try:
        records = records_from_reports(reports, every_claim=every_claim)
        with open_store(db_path) as store:
            added, present = store.add_items(records)
            progress = store.progress()
    except HealthClaimsError as err:
        raise _fail(err) from err
    _err(f"Queued {added} new claim(s) in {db_path} ({present} already there); {progress['left']} to review.")


@review.command("serve")
@db_option
@queue_options
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port to listen on."
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. Anything but this machine exposes the queue to your network: you are warned.",
)
def review_serve(db_path, reviewer, order, flag, label, source, port, host):
    """Review in the browser: a local page with the same queue and keys.

    It listens on 127.0.0.1 only unless --host says otherwise. Every request
    that changes data needs the page's secret token and a same-origin
    request, so other web pages cannot post decisions.
    """
    db_path = _review_db(db_path)
    from werkzeug.serving import make_server

    from pipeline.review import open_store
    from pipeline.review_web import LOCAL_HOSTS, create_app

    try:
        open_store(db_path, create=False).close()  # fail now, not on the first request
    except HealthClaimsError as err:
        raise _fail(err) from err
    allowed = LOCAL_HOSTS
    if host not in LOCAL_HOSTS:
        _err(
            f"Warning: binding to {host}: anyone who can reach this machine can see and change the review queue."
        )
        allowed = (*LOCAL_HOSTS, host, *([] if host not in ("0.0.0.0", "::") else [_hostname()]))
    app = create_app(
        db_path,
        reviewer=reviewer,
        order=order,
        filters={"flag": flag, "label": label, "source": source},
        allowed_hosts=allowed,
    )
    try:
        server = make_server(host, port, app, threaded=True)
    except OSError as err:
        raise click.ClickException(
            f"[E702] Cannot listen on {host}:{port}: {err.strerror}. Try another --port."
        ) from err
    _err(
        f"Reviewing {db_path} as {reviewer} at http://{host if ':' not in host else f'[{host}]'}:{server.server_port}/ (Ctrl-C to stop)"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        _err("Stopped.")


def _hostname() -> str:
    import socket

    return socket.gethostname()


@review.command("export")
@db_option
@click.option(
    "--out",
    "-o",
    default="-",
    show_default=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Output file (- for stdout).",
)
@click.option(
    "--to",
    "target",
    type=click.Choice(["corpus", "label-studio"]),
    default="corpus",
    show_default=True,
    help="corpus: JSON Lines in the corpus format; label-studio: Label Studio tasks (JSON) with predictions.",
)
def review_export(db_path, out, target):
    """Write the decisions for training (`train --with-reviews` reads the database directly) or Label Studio."""
    db_path = _review_db(db_path)
    from pipeline.review import export_corpus_rows, export_label_studio, open_store

    try:
        with open_store(db_path, create=False) as store:
            rows = export_corpus_rows(store) if target == "corpus" else export_label_studio(store)
    except HealthClaimsError as err:
        raise _fail(err) from err
    with click.open_file(out, "w", encoding="utf-8") as handle:
        if target == "corpus":
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        else:
            handle.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
    _err(f"Exported {len(rows)} {'decisions' if target == 'corpus' else 'tasks'} to {out}.")


@review.command("stats")
@db_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def review_stats(db_path, fmt):
    """Counts by decision, predicted against reviewed labels, and Cohen's kappa between reviewers."""
    db_path = _review_db(db_path)
    from pipeline.review import open_store

    try:
        with open_store(db_path, create=False) as store:
            stats = store.stats()
    except HealthClaimsError as err:
        raise _fail(err) from err
    if fmt == "json":
        click.echo(json.dumps(stats, indent=2, default=list))
        return
    click.echo(f"{stats['items']} claims queued")
    click.echo("decisions: " + ", ".join(f"{name} {n}" for name, n in stats["decisions"].items()))
    click.echo(
        "reviewers: " + (", ".join(f"{name} {n}" for name, n in stats["reviewers"].items()) or "none yet")
    )
    if stats["agreement"] is not None:
        click.echo(f"model agrees with the reviews on {stats['agreement']:.0%} of decided claims")
    labels = stats["confusion"]["labels"]
    click.echo("\npredicted \\ reviewed   " + "  ".join(f"{name:>12}" for name in labels))
    for name, row in zip(labels, stats["confusion"]["rows_predicted_columns_reviewed"], strict=False):
        click.echo(f"{name:<20} " + "  ".join(f"{n:>12}" for n in row))
    for pair in stats["kappa"]:
        first, second = pair["reviewers"]
        click.echo(f"Cohen's kappa {first} / {second}: {pair['kappa']:.3f} on {pair['shared']} shared claims")


def main() -> None:
    """Entry point: run the CLI with a one-line message for any unexpected failure."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        _err("Aborted.")
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except HealthClaimsError as err:
        _err(f"Error: {err}")
        sys.exit(1)
    except KeyboardInterrupt:
        _err("Interrupted.")
        sys.exit(130)
    except Exception as err:  # the last boundary: a message, never a traceback
        if os.environ.get("HEALTHCLAIMS_DEBUG"):
            raise
        _err(f"Error: unexpected {type(err).__name__}: {err} (set HEALTHCLAIMS_DEBUG=1 for details)")
        sys.exit(1)


@cli.command()
@click.option(
    "--corpus",
    "corpus_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=Path("../shared/corpora/fakehealth.jsonl"),
    show_default=True,
    help="JSON Lines corpus with a `text` field per article.",
)
@click.option(
    "--article",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=Path("corpus/samples/sample-article.txt"),
    show_default=True,
    help="Article for the command-line start-up timing.",
)
@model_option
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N articles.")
@click.option(
    "--repeats", type=click.IntRange(1), default=3, show_default=True, help="Runs per measurement (median)."
)
@click.option(
    "--score/--no-score",
    "with_score",
    default=True,
    show_default=True,
    help="Also time `healthclaims score` on the corpus: 1 and 2 workers, the Dask engine.",
)
@click.option(
    "--tenfold/--no-tenfold",
    default=True,
    show_default=True,
    help="Also score the corpus repeated ten times, to compare peak memory.",
)
def bench(corpus_path, article, model_dir, limit, repeats, with_score, tenfold):
    """Measure throughput against spaCy's bare tokenizer, and start-up against importing spaCy and sklearn."""
    from pipeline.bench import bench_startup, bench_throughput, load_corpus_texts
    from pipeline.checker import Checker
    from pipeline.settings import load_settings

    try:
        checker = Checker.from_model_dir(model_dir, load_settings())
    except HealthClaimsError as err:
        raise _fail(err) from err
    rows = load_corpus_texts(corpus_path, limit=limit)
    _err(f"Throughput over {len(rows)} articles of {corpus_path} ({repeats} runs each, medians) ...")
    speed = bench_throughput(checker, rows, repeats=repeats)
    click.echo(f"articles                     {speed['articles']:>12,}")
    click.echo(f"tokens                       {speed['tokens']:>12,}")
    click.echo(
        f"bare blank('en') tokenizer   {speed['tokenizer_tokens_per_s']:>12,} tokens/s  ({speed['tokenizer_seconds']} s)"
    )
    click.echo(
        f"full annotate pipeline       {speed['pipeline_tokens_per_s']:>12,} tokens/s  ({speed['pipeline_seconds']} s)"
    )
    click.echo(f"pipeline / tokenizer         {speed['ratio']:>12.1%}   (target >= 30%)")
    _err("Command-line start-up ...")
    start = bench_startup(article, model_dir, repeats=max(repeats, 5))
    click.echo(
        f"healthclaims annotate (1 article)  {start['annotate_seconds']:.2f} s median of {start['repeats']}"
    )
    click.echo(
        f"python -c 'import spacy, sklearn'  {start['import_seconds']:.2f} s median of {start['repeats']}"
    )
    click.echo(f"annotate / import                  {start['ratio']:.2f}x   (target <= 1.30x)")
    if with_score:
        _bench_score(corpus_path, rows, model_dir, tokens=speed["tokens"], tenfold=tenfold)


def _bench_score(corpus_path, rows, model_dir, *, tokens, tenfold):
    import tempfile

    from pipeline.bench import bench_score, repeat_corpus

    def line(name, run):
        click.echo(
            f"{name:<34} {run['seconds']:>7.2f} s  {run['articles_per_s']:>7.1f} articles/s  "
            f"{run['tokens_per_s']:>8,} tokens/s  peak {run['peak_mb']:,} MB"
        )

    with tempfile.TemporaryDirectory(prefix="healthclaims-bench-") as tmp:
        work = Path(tmp)
        corpus = work / "corpus.jsonl"
        corpus.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in rows), encoding="utf-8")
        _err(f"healthclaims score over the same {len(rows):,} articles ...")
        one = bench_score(corpus, model_dir, work / "one", workers=1, tokens=tokens)
        line("score, local engine, 1 worker", one)
        two = bench_score(corpus, model_dir, work / "two", workers=2, tokens=tokens)
        line("score, local engine, 2 workers", two)
        click.echo(
            f"2 workers / 1 worker               {one['seconds'] / two['seconds']:.2f}x   (target >= 1.70x)"
        )
        click.echo(f"corpus with 2 workers              {two['seconds']:.2f} s   (target <= 30 s)")
        dask = bench_score(corpus, model_dir, work / "dask", workers=2, engine="dask", tokens=tokens)
        line("score, dask LocalCluster, 2 workers", dask)
        click.echo(
            f"dask / local (2 workers)           {dask['seconds'] / two['seconds']:.2f}x   (target <= 1.30x)"
        )
        if tenfold:
            big = repeat_corpus(corpus, work / "tenfold.jsonl", 10)
            _err("healthclaims score over the corpus ten times over ...")
            ten = bench_score(big, model_dir, work / "ten", workers=2, tokens=10 * tokens)
            line("score, tenfold corpus, 2 workers", ten)
            click.echo(
                f"peak memory tenfold / once         {ten['peak_mb'] / two['peak_mb']:.2f}x   (target < 1.20x)"
            )

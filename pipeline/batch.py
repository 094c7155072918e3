"""Batch: score a whole corpus into `claims` and `articles` tables, in parallel and resumably.

The flow, one way:

    inputs -> Jobs (light: a row's text or a file's path) -> batches
           -> workers (`score_jobs`: one Checker per worker process, plain tuples back)
           -> RunStore (SQLite in the output folder: one transaction per batch)
           -> export (Parquet, optionally CSV, written chunk by chunk) and summary.html

Every batch is committed in one SQLite transaction, so a run killed at any
moment (SIGKILL included) loses at most the batches in flight; started again
with the same command it scores only the articles not yet committed. Each
article is keyed by its position in the input (`seq`), so none is scored
twice and the final tables are sorted the same way whatever the interruption.

Workers are local processes (`engine="local"`) or a Dask cluster
(`engine="dask"`); either way they receive batches of Jobs and return plain
records, never spaCy Docs.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import json
import os
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from functools import cache
from itertools import islice
from pathlib import Path

from pipeline.errors import BadRowError, BatchError, EmptyInputError, HealthClaimsError, status_code
from pipeline.schema import LABELS, ArticleReport
from pipeline.settings import Settings

FILE_SUFFIXES = {".txt", ".text", ".md", ".markdown", ".html", ".htm", ".xhtml"}
STORE_FILE = "progress.sqlite"
LOCAL_BATCH = 16  # articles per batch handed to a local worker
DASK_BATCH = 64  # per Dask task: each one costs a round trip through the scheduler
ATTRIBUTES = ("cites_source", "vague_evidence", "hedged", "absolute", "hype")
LABEL_COLUMNS = tuple(label.value for label in LABELS)
ARTICLE_COLUMNS = (
    "article_id",
    "source",
    "title",
    "chars",
    "claims",
    *LABEL_COLUMNS,
    "flagged",
    "evidence_share",
    "status",
    "error",
)
CLAIM_COLUMNS = (
    "article_id",
    "claim_id",
    "text",
    "start",
    "end",
    "label",
    "confidence",
    *ATTRIBUTES,
    "flags",
    "claim_probability",
    "interventions",
    "conditions",
    "context_before",
    "context_after",
)


@dataclass(frozen=True, slots=True)
class Job:
    """One article to score, as light as possible: its text, or where to read it."""

    seq: int  # position in the input; the run's key for the article
    id: str
    source: str
    text: str | None = None  # a corpus row's text
    path: str | None = None  # a file (or URL) to read in the worker
    title: str = ""
    error: str = ""  # "[E...] message" when the input row itself is unusable


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What a worker returns for a batch: plain rows, ready for the store."""

    articles: list[tuple]  # (seq, *ARTICLE_COLUMNS)
    claims: list[tuple]  # (seq, n, *CLAIM_COLUMNS)
    reports: dict[str, str] = field(default_factory=dict)  # article_id -> HTML report


@dataclass(frozen=True)
class ScoreOptions:
    """How to run `score_corpus`."""

    model_dir: Path
    settings: Settings
    workers: int = 1
    engine: str = "local"  # "local" or "dask"
    scheduler: str | None = None  # a Dask scheduler address; None starts a LocalCluster
    batch_size: int | None = None  # articles per batch; None: LOCAL_BATCH or DASK_BATCH
    text_column: str = "text"
    id_column: str = "id"
    csv: bool = False
    reports: bool = False
    fresh: bool = False
    fetch: bool = False  # fetch the `url` of corpus rows that have no text


@dataclass(frozen=True)
class RunSummary:
    """Totals of a finished run, for the terminal."""

    out_dir: Path
    articles: int
    failed: int
    scored_now: int
    claims: int
    labels: dict[str, int]
    flagged: int
    errors: dict[str, int]
    files: list[Path]


# ---------------------------------------------------------------- inputs


def iter_jobs(
    inputs: Iterable[str | Path], *, text_column: str = "text", id_column: str = "id", fetch: bool = False
) -> Iterator[Job]:
    """Jobs from folders (recursively), JSON Lines files and CSV files, in a stable order."""
    seq = 0
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in FILE_SUFFIXES)
            rows: Iterator[Job] = (
                Job(seq=0, id=p.relative_to(path).with_suffix("").as_posix(), source=str(p), path=str(p))
                for p in files
            )
        elif not path.is_file():
            raise BatchError(f"{given} is neither a folder nor a file. Give folders, .jsonl or .csv files.")
        elif path.suffix.lower() in {".jsonl", ".ndjson"}:
            rows = _jsonl_jobs(path, text_column=text_column, id_column=id_column, fetch=fetch)
        elif path.suffix.lower() == ".csv":
            rows = _csv_jobs(path, text_column=text_column, id_column=id_column, fetch=fetch)
        elif path.suffix.lower() in FILE_SUFFIXES:
            rows = iter([Job(seq=0, id=path.stem, source=str(path), path=str(path))])
        else:
            raise BatchError(
                f"{given}: cannot tell what it holds from its suffix {path.suffix!r}. "
                "Give folders of .txt/.md/.html files, .jsonl or .csv files."
            )
        for job in rows:
            yield replace(job, seq=seq)
            seq += 1


def _jsonl_jobs(path: Path, *, text_column: str, id_column: str, fetch: bool) -> Iterator[Job]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                yield Job(
                    seq=0,
                    id=where,
                    source=where,
                    error=f"[{BadRowError.code}] line {number} is not JSON ({err.msg}).",
                )
                continue
            if not isinstance(row, dict):
                yield Job(
                    seq=0,
                    id=where,
                    source=where,
                    error=f"[{BadRowError.code}] line {number} is not a JSON object.",
                )
                continue
            yield _row_job(row, where, text_column=text_column, id_column=id_column, fetch=fetch)


def _csv_jobs(path: Path, *, text_column: str, id_column: str, fetch: bool) -> Iterator[Job]:
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or text_column not in reader.fieldnames:
            raise BatchError(
                f"{path} has no column {text_column!r} (columns: {', '.join(reader.fieldnames or [])}). "
                "Name the text column with --text-column."
            )
        for number, row in enumerate(reader, start=2):
            yield _row_job(row, f"{path}:{number}", text_column=text_column, id_column=id_column, fetch=fetch)


def _row_job(row: dict, where: str, *, text_column: str, id_column: str, fetch: bool) -> Job:
    article_id = str(row.get(id_column) or where)
    text, url = row.get(text_column), str(row.get("url") or "")
    title = str(row.get("title") or "")
    if isinstance(text, str) and text.strip():
        return Job(seq=0, id=article_id, source=url or where, text=text, title=title)
    if url.startswith(("http://", "https://")):
        if fetch:
            return Job(seq=0, id=article_id, source=url, path=url, title=title)
        message = f"{where} has no text (give --fetch to download its url)."
    else:
        message = f"{where} has no text."
    return Job(
        seq=0, id=article_id, source=url or where, title=title, error=f"[{EmptyInputError.code}] {message}"
    )


def count_jobs(inputs: Iterable[str | Path], **columns) -> int:
    """How many jobs the inputs hold (one cheap pass, for the progress bar)."""
    return sum(1 for _ in iter_jobs(inputs, **columns))


def fingerprint(inputs: Iterable[str | Path], options: ScoreOptions, model_version: str) -> str:
    """What makes two runs the same run: the inputs' contents, columns, model and thresholds.

    Files are hashed by content, so a corpus piped in again (`-`) resumes its run.
    """
    digest = hashlib.sha256()
    for part in (
        model_version,
        options.text_column,
        options.id_column,
        str(options.fetch),
        repr(options.settings),
    ):
        digest.update(part.encode() + b"\0")
    for given in inputs:
        path = Path(given)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(path) if path.is_dir() else "").encode() + b"\0")
            with file.open("rb") as handle:
                digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def save_stdin(stream, out_dir: Path) -> Path:
    """Copy JSON Lines from stdin into the run's folder, so the run can read it twice and resume.

    The copy is named by its content's hash: other lines piped into the same
    folder never overwrite the input of the run already there.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".stdin-{os.getpid()}.tmp"
    digest = hashlib.sha256()
    with tmp.open("wb") as handle:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            handle.write(chunk)
    target = out_dir / f"stdin-{digest.hexdigest()[:16]}.jsonl"
    os.replace(tmp, target)
    return target


# ---------------------------------------------------------------- workers


@cache
def _checker(model_dir: str, settings: Settings):
    """One Checker per worker process, built on first use."""
    from pipeline.checker import Checker

    return Checker.from_model_dir(Path(model_dir), settings)


def score_jobs(jobs: list[Job], model_dir: str, settings: Settings, reports: bool = False) -> BatchResult:
    """Score a batch of jobs (runs in a worker). A bad article becomes an error row, never an exception."""
    from pipeline.ingest import article_from_bytes, load_article

    checker = _checker(str(model_dir), settings)
    articles, claims, pages = [], [], {}
    good, failed = [], []
    for job in jobs:
        if job.error:
            code, _, message = job.error.partition("] ")
            failed.append((job, code.strip("["), message))
            continue
        try:
            if job.text is not None:
                data = job.text.encode("utf-8", errors="replace")
                article = article_from_bytes(
                    data, name=job.id, source=job.source, kind=None, max_bytes=settings.max_bytes
                )
            else:
                article = load_article(job.path, max_bytes=settings.max_bytes, timeout=settings.timeout)
        except HealthClaimsError as err:
            failed.append((job, status_code(err), str(err).partition("] ")[2]))
            continue
        good.append((job, replace(article, id=job.id, source=job.source, title=job.title or article.title)))
    for job, code, message in failed:
        articles.append(
            (job.seq, job.id, job.source, job.title, 0, 0, *[0] * len(LABELS), 0, 0.0, code, message)
        )
    reports_out = checker.check_many([article for _, article in good])
    for (job, _), report in zip(good, reports_out, strict=True):
        articles.append(_article_row(job.seq, report))
        claims.extend(_claim_rows(job.seq, report))
        if reports:
            from pipeline.render import render

            pages[job.id] = render([report], "html")
    return BatchResult(articles=articles, claims=claims, reports=pages)


def _article_row(seq: int, report: ArticleReport) -> tuple:
    article, summary = report.article, report.summary
    return (
        seq,
        article.id,
        article.source,
        article.title,
        article.chars,
        summary["claims"],
        *[summary[label] for label in LABEL_COLUMNS],
        summary["flagged"],
        summary["evidence_share"],
        "ok",
        "",
    )


def _claim_rows(seq: int, report: ArticleReport) -> Iterator[tuple]:
    sentences = report.sentences
    n = 0
    for i, claim in enumerate(sentences):
        if not claim.is_claim:
            continue
        yield (
            seq,
            n,
            report.article.id,
            claim.id,
            claim.text,
            claim.start,
            claim.end,
            claim.label.value,
            claim.confidence,
            *[bool(claim.attributes.get(name)) for name in ATTRIBUTES],
            ";".join(claim.flags),
            claim.claim_probability,
            ";".join(sorted({e.text.lower() for e in claim.entities if e.label == "INTERVENTION"})),
            ";".join(sorted({e.text.lower() for e in claim.entities if e.label == "CONDITION"})),
            sentences[i - 1].text if i else "",
            sentences[i + 1].text if i + 1 < len(sentences) else "",
        )
        n += 1


# ---------------------------------------------------------------- engines


def _batches(jobs: Iterator[Job], size: int) -> Iterator[list[Job]]:
    while batch := list(islice(jobs, size)):
        yield batch


def _run_local(
    batches: Iterator[list[Job]], options: ScoreOptions, model_dir: str
) -> Iterator[tuple[list[Job], BatchResult]]:
    """Batches scored in this process (one worker) or a pool of processes, as they finish."""
    if options.workers <= 1:
        for batch in batches:
            yield batch, score_jobs(batch, model_dir, options.settings, options.reports)
        return
    import multiprocessing

    if sys.platform.startswith("linux"):
        # Load the model here, then fork: every worker inherits the loaded
        # Checker (copy-on-write) and starts scoring at once.
        _checker(model_dir, options.settings)
        gc.freeze()  # the collector then leaves the inherited objects alone: their pages stay shared
        context = multiprocessing.get_context("fork")
    else:
        context = multiprocessing.get_context("spawn")  # each worker loads the model on its first batch
    with ProcessPoolExecutor(
        max_workers=options.workers,
        mp_context=context,
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        yield from _bounded(
            batches,
            lambda batch: pool.submit(score_jobs, batch, model_dir, options.settings, options.reports),
            in_flight=2 * options.workers,
        )


def _run_dask(
    batches: Iterator[list[Job]], options: ScoreOptions, model_dir: str
) -> Iterator[tuple[list[Job], BatchResult]]:
    """Batches scored on a Dask cluster: the one at `options.scheduler`, or a LocalCluster."""
    from distributed import Client, LocalCluster
    from distributed import wait as dask_wait

    cluster = None
    try:
        if options.scheduler:
            client = Client(options.scheduler, timeout="20s")
        else:
            import dask

            method = "spawn"
            if sys.platform.startswith("linux"):
                # As for the local engine: load the model once here and fork the
                # workers from this process, so they start with it loaded.
                _checker(model_dir, options.settings)
                method = "fork"
            with dask.config.set({"distributed.worker.multiprocessing-method": method}):
                cluster = LocalCluster(
                    n_workers=options.workers, threads_per_worker=1, processes=True, dashboard_address=None
                )
            client = Client(cluster)
    except (OSError, TimeoutError) as err:
        raise BatchError(f"Cannot reach the Dask scheduler {options.scheduler}: {err}.") from err
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        yield from _bounded(
            batches,
            lambda batch: client.submit(
                score_jobs, batch, model_dir, options.settings, options.reports, pure=False
            ),
            in_flight=2 * n_workers,
            first_done=lambda futures: dask_wait(futures, return_when="FIRST_COMPLETED").done,
        )
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _exit_with_parent(parent: int) -> None:
    """In a worker: exit when the parent is gone (killed with SIGKILL, say), instead of lingering."""
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def _first_done(futures: list[Future]) -> set[Future]:
    return wait(futures, return_when=FIRST_COMPLETED).done


def _bounded(
    batches: Iterator[list[Job]],
    submit: Callable,
    *,
    in_flight: int,
    first_done: Callable[[list], set] = _first_done,
) -> Iterator[tuple[list[Job], BatchResult]]:
    """Keep at most `in_flight` batches submitted (memory stays flat); yield each as it finishes."""
    pending: dict = {}
    for batch in batches:
        pending[submit(batch)] = batch
        while len(pending) >= in_flight:
            for future in first_done(list(pending)):
                yield pending.pop(future), future.result()
    while pending:
        for future in first_done(list(pending)):
            yield pending.pop(future), future.result()


# ---------------------------------------------------------------- the store


class RunStore:
    """The run's SQLite database: committed articles and claims, and the run's fingerprint."""

    def __init__(self, path: Path, run_key: str, *, fresh: bool = False) -> None:
        self.path = path
        if fresh and path.exists():
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        try:
            self.db = sqlite3.connect(path)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._create()
            stored = self.db.execute("SELECT value FROM run WHERE key = 'fingerprint'").fetchone()
        except sqlite3.DatabaseError as err:
            raise BatchError(f"{path} is not a healthclaims run database ({err}). Use --fresh.") from err
        if stored is None:
            with self.db:
                self.db.execute("INSERT INTO run VALUES ('fingerprint', ?)", (run_key,))
        elif stored[0] != run_key:
            raise BatchError(
                f"{path.parent} holds a run of other inputs, settings or model. "
                "Give another --out, or --fresh to discard it and start over."
            )

    def _create(self) -> None:
        article_cols = ", ".join(f'"{c}"' for c in ARTICLE_COLUMNS)
        claim_cols = ", ".join(f'"{c}"' for c in CLAIM_COLUMNS)
        with self.db:
            self.db.execute("CREATE TABLE IF NOT EXISTS run (key TEXT PRIMARY KEY, value TEXT)")
            self.db.execute(f"CREATE TABLE IF NOT EXISTS articles (seq INTEGER PRIMARY KEY, {article_cols})")
            self.db.execute(
                f"CREATE TABLE IF NOT EXISTS claims (seq INTEGER, n INTEGER, {claim_cols}, PRIMARY KEY (seq, n))"
            )

    def done(self) -> set[int]:
        """The input positions already committed."""
        return {seq for (seq,) in self.db.execute("SELECT seq FROM articles")}

    def commit(self, result: BatchResult) -> None:
        """One batch, in one transaction: all of it lands or none."""
        with self.db:
            self.db.executemany(
                f"INSERT INTO articles VALUES ({', '.join('?' * (len(ARTICLE_COLUMNS) + 1))})",
                result.articles,
            )
            self.db.executemany(
                f"INSERT INTO claims VALUES ({', '.join('?' * (len(CLAIM_COLUMNS) + 2))})", result.claims
            )

    def close(self) -> None:
        self.db.close()


# ---------------------------------------------------------------- the run


def score_corpus(
    inputs: list[str],
    out_dir: Path,
    options: ScoreOptions,
    *,
    on_start: Callable[[int, int], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> RunSummary:
    """Score every article of `inputs` into `out_dir`, resuming a run that was stopped.

    `on_start(total, already_done)` and `on_batch(n_articles)` report progress.
    """
    from pipeline.artifacts import read_meta

    model_version = read_meta(options.model_dir).get("version", "")
    columns = {"text_column": options.text_column, "id_column": options.id_column, "fetch": options.fetch}
    total = count_jobs(inputs, **columns)
    out_dir.mkdir(parents=True, exist_ok=True)
    store = RunStore(out_dir / STORE_FILE, fingerprint(inputs, options, model_version), fresh=options.fresh)
    try:
        done = store.done()
        if on_start:
            on_start(total, len(done))
        todo = (job for job in iter_jobs(inputs, **columns) if job.seq not in done)
        engine = _run_dask if options.engine == "dask" else _run_local
        report_dir = out_dir / "reports"
        scored_now = 0
        size = options.batch_size or (DASK_BATCH if options.engine == "dask" else LOCAL_BATCH)
        for batch, result in engine(_batches(todo, size), options, str(options.model_dir)):
            if result.reports:
                _write_reports(report_dir, result.reports)
            store.commit(result)
            scored_now += len(batch)
            if on_batch:
                on_batch(len(batch))
        from pipeline.tables import export_tables

        files = export_tables(
            store.path, out_dir, csv=options.csv, reports=options.reports, workers=options.workers
        )
        return _summary(store.db, out_dir, scored_now, files)
    finally:
        store.close()


def _write_reports(folder: Path, pages: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for article_id, page in pages.items():
        target = folder / report_name(article_id)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, target)


def report_name(article_id: str) -> str:
    """The file name of an article's HTML report: readable, unique, safe on every filesystem."""
    from pipeline.ingest import slugify

    digest = hashlib.sha1(article_id.encode()).hexdigest()[:8]
    return f"{slugify(article_id)[:60]}-{digest}.html"


def _summary(db: sqlite3.Connection, out_dir: Path, scored_now: int, files: list[Path]) -> RunSummary:
    articles, failed = db.execute("SELECT COUNT(*), SUM(status != 'ok') FROM articles").fetchone()
    labels = dict(db.execute("SELECT label, COUNT(*) FROM claims GROUP BY label").fetchall())
    flagged = db.execute("SELECT COUNT(*) FROM claims WHERE flags != ''").fetchone()[0]
    errors = Counter(
        dict(db.execute("SELECT status, COUNT(*) FROM articles WHERE status != 'ok' GROUP BY status"))
    )
    return RunSummary(
        out_dir=out_dir,
        articles=articles,
        failed=failed or 0,
        scored_now=scored_now,
        claims=sum(labels.values()),
        labels={label: labels.get(label, 0) for label in LABEL_COLUMNS},
        flagged=flagged,
        errors=dict(errors),
        files=files,
    )

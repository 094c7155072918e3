"""Tables: a run's SQLite store exported to Parquet (and CSV), chunk by chunk, plus summary.html.

Columns follow REPORT_FORMAT.md ("Batch scoring tables"), with added claim
columns: `claim_probability`, `interventions` and `conditions` (`;`-joined,
lower case), and `context_before` / `context_after` (the neighbouring
sentences, for reading a claim in place and for the review queue). Rows come out in input order, claims by position
in their article, so an interrupted and resumed run exports the same tables
as an uninterrupted one. Files are written under a temporary name and moved
into place, so a reader never sees half a table.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, closing
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from pipeline.batch import ARTICLE_COLUMNS, ATTRIBUTES, CLAIM_COLUMNS, LABEL_COLUMNS, report_name

CHUNK_ROWS = 5_000

ARTICLE_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("source", pa.string()),
        ("title", pa.string()),
        ("chars", pa.int64()),
        ("claims", pa.int64()),
        *[(label, pa.int64()) for label in LABEL_COLUMNS],
        ("flagged", pa.int64()),
        ("evidence_share", pa.float64()),
        ("status", pa.string()),
        ("error", pa.string()),
    ]
)
CLAIM_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("claim_id", pa.string()),
        ("text", pa.string()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("label", pa.string()),
        ("confidence", pa.float64()),
        *[(name, pa.bool_()) for name in ATTRIBUTES],
        ("flags", pa.string()),
        ("claim_probability", pa.float64()),
        ("interventions", pa.string()),
        ("conditions", pa.string()),
        ("context_before", pa.string()),
        ("context_after", pa.string()),
    ]
)


def _column(values, type_: pa.DataType) -> pa.Array:
    if type_ == pa.bool_():  # SQLite keeps booleans as 0/1
        return pa.array(values, type=pa.int64()).cast(pa.bool_())
    return pa.array(values, type=type_)


def _chunks(db: sqlite3.Connection, sql: str, schema: pa.Schema):
    cursor = db.execute(sql)
    while rows := cursor.fetchmany(CHUNK_ROWS):
        columns = zip(*rows, strict=True)
        yield pa.Table.from_arrays(
            [_column(values, f.type) for values, f in zip(columns, schema, strict=True)], schema=schema
        )


def _write(db: sqlite3.Connection, sql: str, schema: pa.Schema, path: Path, *, csv: bool) -> list[Path]:
    targets = [path, path.with_suffix(".csv")] if csv else [path]
    temporary = [target.with_name(target.name + ".tmp") for target in targets]
    with ExitStack() as stack:
        writers = [stack.enter_context(pq.ParquetWriter(temporary[0], schema))]
        if csv:
            writers.append(stack.enter_context(pcsv.CSVWriter(str(temporary[1]), schema)))
        writers[0].write_table(schema.empty_table())  # a valid file even with no rows
        for table in _chunks(db, sql, schema):
            for writer in writers:
                writer.write_table(table)
    for tmp, target in zip(temporary, targets, strict=True):
        os.replace(tmp, target)
    return targets


def export_tables(
    db_path: Path, out_dir: Path, *, csv: bool = False, reports: bool = False, workers: int = 1
) -> list[Path]:
    """claims.parquet, articles.parquet (and .csv) and summary.html from the run's store at `db_path`.

    With more than one worker (on Linux), summary.html is drawn in a forked
    process while this one writes the tables: drawing the charts (mostly
    importing matplotlib) takes as long as writing the tables.
    """
    if workers > 1 and sys.platform.startswith("linux"):
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
            summary = pool.submit(write_summary, db_path, out_dir, reports=reports)
            files = _write_tables(db_path, out_dir, csv=csv)
            return [*files, summary.result()]
    return [*_write_tables(db_path, out_dir, csv=csv), write_summary(db_path, out_dir, reports=reports)]


def _write_tables(db_path: Path, out_dir: Path, *, csv: bool) -> list[Path]:
    article_sql = "SELECT " + ", ".join(f'"{c}"' for c in ARTICLE_COLUMNS) + " FROM articles ORDER BY seq"
    claim_sql = "SELECT " + ", ".join(f'"{c}"' for c in CLAIM_COLUMNS) + " FROM claims ORDER BY seq, n"
    with closing(_read_only(db_path)) as db:
        files = _write(db, article_sql, ARTICLE_SCHEMA, out_dir / "articles.parquet", csv=csv)
        files += _write(db, claim_sql, CLAIM_SCHEMA, out_dir / "claims.parquet", csv=csv)
    return files


def write_summary(db_path: Path, out_dir: Path, *, reports: bool = False) -> Path:
    """summary.html from the run's store."""
    with closing(_read_only(db_path)) as db:
        figures = corpus_figures(db, reports=reports)
    summary = out_dir / "summary.html"
    tmp = summary.with_name(summary.name + ".tmp")
    tmp.write_text(render_summary(figures), encoding="utf-8")
    os.replace(tmp, summary)
    return summary


def _read_only(db_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{Path(db_path).resolve().as_uri()}?mode=ro", uri=True)


def corpus_figures(db: sqlite3.Connection, *, reports: bool = False, top: int = 15) -> dict:
    """The aggregates summary.html shows, computed in SQL or by streaming the claims."""
    articles, failed = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(status != 'ok'), 0) FROM articles"
    ).fetchone()
    labels = dict(db.execute("SELECT label, COUNT(*) FROM claims GROUP BY label").fetchall())
    shares = [
        share
        for (share,) in db.execute("SELECT evidence_share FROM articles WHERE status = 'ok' AND claims > 0")
    ]
    promoted: Counter[str] = Counter()
    for (names,) in db.execute(
        "SELECT interventions FROM claims WHERE label = 'promotional' AND interventions != ''"
    ):
        promoted.update(names.split(";"))
    flagged = [
        {
            "id": article_id,
            "title": title,
            "source": source,
            "flagged": n,
            "claims": claims,
            "report": f"reports/{report_name(article_id)}" if reports else None,
        }
        for article_id, title, source, n, claims in db.execute(
            "SELECT article_id, title, source, flagged, claims FROM articles WHERE status = 'ok' "
            "ORDER BY flagged DESC, seq LIMIT ?",
            (top,),
        )
    ]
    errors = db.execute(
        "SELECT status, COUNT(*) FROM articles WHERE status != 'ok' GROUP BY status"
    ).fetchall()
    return {
        "articles": articles,
        "failed": failed,
        "claims": sum(labels.values()),
        "labels": {label: labels.get(label, 0) for label in LABEL_COLUMNS},
        "evidence_shares": shares,
        "promoted": promoted.most_common(top),
        "flagged": flagged,
        "errors": errors,
    }


def render_summary(figures: dict) -> str:
    """summary.html: charts of the corpus (matplotlib SVG inline) and the most flagged articles."""
    from pipeline.render.summary_report import render_summary_html

    return render_summary_html(figures)

"""`healthclaims score`: inputs, error rows, equal tables across workers and engines, resuming after SIGKILL."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import psutil
import pytest
from click.testing import CliRunner

from pipeline.batch import ARTICLE_COLUMNS, CLAIM_COLUMNS, ScoreOptions, score_corpus
from pipeline.cli import EXIT_SOME_FAILED, cli
from pipeline.settings import load_settings

from .conftest import ROOT, SHARED

FAKEHEALTH = SHARED / "corpora" / "fakehealth.jsonl"


@pytest.fixture(scope="module")
def corpus_rows():
    if not FAKEHEALTH.is_file():
        pytest.skip("../shared/corpora/fakehealth.jsonl is not present")
    with FAKEHEALTH.open(encoding="utf-8") as handle:
        return [json.loads(next(handle)) for _ in range(40)]


@pytest.fixture()
def jsonl(tmp_path, corpus_rows):
    """40 real FakeHealth articles, plus one row without text and one line that is not JSON."""
    path = tmp_path / "articles.jsonl"
    lines = [json.dumps({k: row[k] for k in ("id", "title", "url", "text")}) for row in corpus_rows]
    lines.insert(5, json.dumps({"id": "no-text", "text": "   "}))
    lines.insert(9, "{not json")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _tables(out_dir):
    return pd.read_parquet(out_dir / "articles.parquet"), pd.read_parquet(out_dir / "claims.parquet")


def _options(model_dir, **kw):
    return ScoreOptions(model_dir=model_dir, settings=load_settings(), **kw)


def test_score_jsonl_tables_follow_the_report_format(jsonl, model_dir, tmp_path):
    summary = score_corpus([str(jsonl)], tmp_path / "out", _options(model_dir, workers=1, batch_size=8))
    articles, claims = _tables(tmp_path / "out")
    assert tuple(articles.columns) == ARTICLE_COLUMNS and tuple(claims.columns) == CLAIM_COLUMNS
    assert len(articles) == 42 and summary.articles == 42 and summary.failed == 2
    bad = articles.set_index("article_id").loc[["no-text", f"{jsonl}:10"], ["status", "error"]]
    assert list(bad["status"]) == ["E101", "E130"] and bad["error"].str.len().min() > 10
    ok = articles[articles.status == "ok"]
    assert (ok.claims == ok[["study-backed", "anecdotal", "promotional"]].sum(axis=1)).all()
    assert ok.claims.sum() == len(claims) > 200
    assert set(claims.label) == {"study-backed", "anecdotal", "promotional"}
    assert claims.hedged.dtype == bool and claims.confidence.between(0, 1).all()
    # Offsets point into each article's body: the claim text is found where it says.
    first = claims.iloc[0]
    assert first.end - first.start == len(first.text)
    page = (tmp_path / "out" / "summary.html").read_text()
    assert page.count("<svg") >= 3 and "Most flagged articles" in page


def test_score_folder_with_bad_files_cli(model_dir, tmp_path):
    folder = tmp_path / "in"
    (folder / "nested").mkdir(parents=True)
    (folder / "good.txt").write_text(
        "Vitamin D pills cut winter colds by a third, a 2019 review of 25 trials found.\n", encoding="utf-8"
    )
    (folder / "nested" / "page.html").write_text(
        "<html><head><title>Miracle &lt;tea&gt;</title></head><body><article><p>This tea melts belly fat "
        "in days, guaranteed! Order now and feel amazing.</p><p>Our customers say it changed their lives."
        "</p></article></body></html>",
        encoding="utf-8",
    )
    (folder / "empty.md").write_text("  \n", encoding="utf-8")
    (folder / "scan.txt").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)))
    (folder / "ignored.png").write_bytes(b"\x89PNG")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["score", str(folder), "--out", str(out), "--model", str(model_dir), "-j", "1", "--csv", "--reports"],
    )
    assert result.exit_code == EXIT_SOME_FAILED, result.output
    assert "2 of 4 articles failed" in result.output
    articles, claims = _tables(out)
    status = dict(zip(articles.article_id, articles.status, strict=True))
    assert status == {"empty": "E101", "good": "ok", "nested/page": "ok", "scan": "E110"}
    assert set(claims.article_id) == {"good", "nested/page"}
    assert (out / "claims.csv").read_text().startswith('"article_id","claim_id"')
    assert len(list((out / "reports").glob("*.html"))) == 2
    page = (out / "summary.html").read_text()
    assert 'href="reports/' in page and "<tea>" not in page


def test_score_two_workers_and_dask_equal_one_worker(jsonl, model_dir, tmp_path):
    score_corpus([str(jsonl)], tmp_path / "one", _options(model_dir, workers=1, batch_size=4))
    score_corpus([str(jsonl)], tmp_path / "two", _options(model_dir, workers=2, batch_size=4))
    score_corpus([str(jsonl)], tmp_path / "dask", _options(model_dir, workers=2, batch_size=4, engine="dask"))
    one = _tables(tmp_path / "one")
    for other in ("two", "dask"):
        for expected, got in zip(one, _tables(tmp_path / other), strict=True):
            pd.testing.assert_frame_equal(got, expected)


def test_score_existing_dask_scheduler(jsonl, model_dir, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        summary = score_corpus(
            [str(jsonl)],
            tmp_path / "out",
            _options(model_dir, engine="dask", scheduler=cluster.scheduler_address, batch_size=8),
        )
    assert summary.articles == 42 and summary.claims > 200


@pytest.fixture()
def long_jsonl(tmp_path, corpus_rows):
    """300 real FakeHealth articles (plus one row without text): a run long enough to be killed halfway."""
    with FAKEHEALTH.open(encoding="utf-8") as handle:
        rows = [json.loads(next(handle)) for _ in range(300)]
    path = tmp_path / "long.jsonl"
    lines = [json.dumps({k: row[k] for k in ("id", "title", "url", "text")}) for row in rows]
    lines.insert(5, json.dumps({"id": "no-text", "text": "   "}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_score_resumes_after_sigkill_with_equal_tables(long_jsonl, model_dir, tmp_path):
    jsonl = long_jsonl
    whole = tmp_path / "whole"
    score_corpus([str(jsonl)], whole, _options(model_dir, workers=1, batch_size=2))
    killed = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "pipeline",
        "score",
        str(jsonl),
        "--out",
        str(killed),
        "--model",
        str(model_dir),
        "-j",
        "2",
        "--batch-size",
        "2",
        "--quiet",
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    store = killed / "progress.sqlite"
    deadline = time.monotonic() + 120
    committed = 0
    while committed < 10 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
        if store.exists():
            try:
                with sqlite3.connect(store) as db:
                    committed = db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            except sqlite3.OperationalError:
                committed = 0
    assert process.poll() is None, "the run finished before it could be killed"
    workers = psutil.Process(process.pid).children(recursive=True)
    assert len(workers) == 2
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, "workers outlived their killed parent"
    assert not (killed / "claims.parquet").exists()
    with sqlite3.connect(store) as db:
        assert 10 <= db.execute("SELECT COUNT(*) FROM articles").fetchone()[0] < 301
    resumed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == EXIT_SOME_FAILED, resumed.stderr
    for expected, got in zip(_tables(whole), _tables(killed), strict=True):
        pd.testing.assert_frame_equal(got, expected)


def test_score_refuses_another_runs_folder_and_bad_csv(jsonl, model_dir, tmp_path):
    out = tmp_path / "out"
    score_corpus([str(jsonl)], out, _options(model_dir, batch_size=8))
    other = tmp_path / "other.csv"
    other.write_text("headline,body\nA,Garlic cures colds overnight.\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["score", str(other), "--out", str(out), "--model", str(model_dir)])
    assert result.exit_code == 1 and "[E601]" in result.output and "--text-column" in result.output
    result = runner.invoke(
        cli,
        ["score", str(other), "--out", str(out), "--model", str(model_dir), "--text-column", "body", "-q"],
    )
    assert result.exit_code == 1 and "holds a run of other inputs" in result.output
    result = runner.invoke(
        cli,
        [
            "score",
            str(other),
            "--out",
            str(out),
            "--model",
            str(model_dir),
            "--text-column",
            "body",
            "-q",
            "--fresh",
            "-j",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    articles, claims = _tables(out)
    assert list(articles.article_id) == [f"{other}:2"] and list(claims.label) == ["promotional"]


def test_rows_without_text_are_fetched_only_when_asked(model_dir, tmp_path):
    from pipeline.batch import iter_jobs

    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        json.dumps({"id": "gone", "text": "", "url": "http://127.0.0.1:9/story"})
        + "\n"
        + json.dumps({"id": "here", "text": "Green tea burns fat while you sleep, guaranteed!"})
        + "\n",
        encoding="utf-8",
    )
    (gone, _) = iter_jobs([rows])
    assert gone.error.startswith("[E101]") and "--fetch" in gone.error
    (fetched, _) = iter_jobs([rows], fetch=True)
    assert fetched.path == "http://127.0.0.1:9/story" and not fetched.error
    summary = score_corpus([str(rows)], tmp_path / "out", _options(model_dir, fetch=True))
    articles, claims = _tables(tmp_path / "out")
    assert list(articles.status) == ["E120", "ok"] and "could not be fetched" in articles.error[0]
    assert summary.failed == 1 and list(claims.article_id) == ["here"]


def test_score_reads_json_lines_from_stdin_and_resumes_them(jsonl, model_dir, tmp_path):
    out = tmp_path / "out"
    lines = jsonl.read_bytes()
    command = ["score", "-", "--out", str(out), "--model", str(model_dir), "-j", "1"]
    first = CliRunner().invoke(cli, command, input=lines)
    assert first.exit_code == EXIT_SOME_FAILED, first.output
    articles, _ = _tables(out)
    (saved,) = out.glob("stdin-*.jsonl")
    assert len(articles) == 42 and saved.read_bytes() == lines
    again = CliRunner().invoke(cli, command, input=lines)
    assert "Resuming: 42 of 42 articles already scored" in again.output
    other = CliRunner().invoke(cli, command, input=lines[: len(lines) // 2].rsplit(b"\n", 1)[0] + b"\n")
    assert other.exit_code == 1 and "holds a run of other inputs" in other.output
    assert saved.read_bytes() == lines  # the run's own input is left as it was

"""Benchmarks: pipeline throughput against spaCy's bare tokenizer, and CLI start-up.

Figures are measured side by side in one run and reported as medians and
ratios, because these machines are noisy.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import spacy

from pipeline.checker import Checker
from pipeline.schema import Article


def load_corpus_texts(path: Path, *, limit: int | None = None) -> list[tuple[str, str]]:
    """(id, text) of the non-empty articles of a JSON Lines corpus such as fakehealth.jsonl."""
    rows = []
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            text = (row.get("text") or "").strip()
            if text:
                rows.append((str(row.get("id")), text))
            if limit and len(rows) >= limit:
                break
    return rows


def bench_throughput(checker: Checker, rows: list[tuple[str, str]], *, repeats: int = 3) -> dict:
    """Tokens per second of the full annotate pipeline (no rendering) and of a bare blank tokenizer."""
    texts = [text for _, text in rows]
    blank = spacy.blank("en")
    blank.max_length = checker.nlp.max_length
    n_tokens = sum(len(doc) for doc in blank.pipe(texts))
    articles = [Article(id=art_id, source="corpus", text=text) for art_id, text in rows]
    tokenizer_times, pipeline_times = [], []
    n_claims = 0
    for _ in range(repeats):
        started = time.perf_counter()
        for _doc in blank.pipe(texts):
            pass
        tokenizer_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        n_claims = sum(len(report.claims) for report in checker.check_many(articles))
        pipeline_times.append(time.perf_counter() - started)
    tokenizer_s, pipeline_s = statistics.median(tokenizer_times), statistics.median(pipeline_times)
    return {
        "articles": len(rows),
        "tokens": n_tokens,
        "claims": n_claims,
        "repeats": repeats,
        "tokenizer_seconds": round(tokenizer_s, 3),
        "pipeline_seconds": round(pipeline_s, 3),
        "tokenizer_tokens_per_s": round(n_tokens / tokenizer_s),
        "pipeline_tokens_per_s": round(n_tokens / pipeline_s),
        "ratio": round(tokenizer_s / pipeline_s, 3),
    }


def bench_startup(article: Path, model_dir: Path, *, repeats: int = 5) -> dict:
    """Median wall time of `healthclaims annotate ARTICLE` against `python -c "import spacy, sklearn"`."""
    python = sys.executable
    cli = [
        python,
        "-m",
        "pipeline",
        "annotate",
        str(article),
        "--format",
        "json",
        "-o",
        "-",
        "--model",
        str(model_dir),
    ]
    baseline = [python, "-c", "import spacy, sklearn"]
    annotate_times, import_times = [], []
    for _ in range(repeats):  # interleaved, so drift hits both alike
        for command, times in ((baseline, import_times), (cli, annotate_times)):
            started = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - started)
    annotate_s, import_s = statistics.median(annotate_times), statistics.median(import_times)
    return {
        "article": str(article),
        "repeats": repeats,
        "annotate_seconds": round(annotate_s, 3),
        "import_seconds": round(import_s, 3),
        "ratio": round(annotate_s / import_s, 3),
    }


def _run_watched(command: list[str]) -> tuple[float, int, int]:
    """Run a command; its wall time, exit status and peak memory (RSS summed over its process tree)."""
    import psutil

    started = time.perf_counter()
    process = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:  # a process ended while we looked
            pass
        time.sleep(0.05)
    return time.perf_counter() - started, process.returncode, peak


def bench_score(
    corpus: Path, model_dir: Path, out_dir: Path, *, workers: int, engine: str = "local", tokens: int = 0
) -> dict:
    """`healthclaims score` over a corpus from the command line: wall time, speed and peak memory."""
    import pyarrow.parquet as pq

    command = [
        sys.executable, "-m", "pipeline", "score", str(corpus), "--out", str(out_dir), "--model", str(model_dir),
        "--workers", str(workers), "--engine", engine, "--quiet", "--fresh",
    ]  # fmt: skip
    seconds, status, peak = _run_watched(command)
    if status not in (0, 4):  # 4: some articles failed, which a real corpus has
        raise RuntimeError(f"{' '.join(command)} exited with status {status}")
    articles = pq.read_metadata(out_dir / "articles.parquet").num_rows
    return {
        "engine": engine,
        "workers": workers,
        "articles": articles,
        "seconds": round(seconds, 2),
        "articles_per_s": round(articles / seconds, 1),
        "tokens_per_s": round(tokens / seconds) if tokens else None,
        "peak_mb": round(peak / 2**20),
    }


def repeat_corpus(corpus: Path, target: Path, times: int) -> Path:
    """A corpus `times` as long: every row repeated, each copy with its own id."""
    with Path(corpus).open(encoding="utf-8") as source, target.open("w", encoding="utf-8") as out:
        rows = [json.loads(line) for line in source if line.strip()]
        for copy in range(times):
            for row in rows:
                out.write(json.dumps({**row, "id": f"{row.get('id')}#{copy}"}) + "\n")
    return target

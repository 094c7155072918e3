"""The review workflow on a real SQLite database: import, decisions, undo, concurrency, bad databases, learning."""

import json
import multiprocessing
import sqlite3
import time

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.errors import ReviewError
from pipeline.review import SCHEMA_VERSION, open_store, records_from_reports

from .conftest import ROOT, SAMPLE

ARTICLE = """Magnesium for migraines: what we know

A 2021 review of 21 trials in the journal Headache found that magnesium cut the number of migraine days by a fifth.
Many of my clients tell me their headaches vanished within a week of starting our magnesium drip.
Our IV drip is the best way to end migraines for good, guaranteed!
Book your session today and feel the difference instantly.
Magnesium is found in leafy greens, nuts and seeds.
Some doctors say a daily supplement could prevent attacks in people who get them often.
Studies show that ginger tea relieves migraine nausea.
"""


@pytest.fixture()
def report_json(run_cli, tmp_path):
    article = tmp_path / "magnesium.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    out = tmp_path / "report.json"
    result = run_cli(
        "annotate", str(article), str(SAMPLE), "--format", "json", "-o", str(out), "--all-sentences"
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture()
def run_cli(model_dir):
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(
            cli,
            [*args, *(["--model", str(model_dir)] if args[0] in ("annotate",) else [])],
            input=input,
            catch_exceptions=False,
        )

    return invoke


@pytest.fixture()
def db(tmp_path, report_json):
    path = tmp_path / "reviews.db"
    store = open_store(path)
    store.add_items(records_from_reports([report_json]))
    store.close()
    return path


def test_import_queues_flagged_claims_once_with_context(run_cli, report_json, tmp_path):
    path = tmp_path / "r.db"
    first = run_cli("review", "import", str(report_json), "--db", str(path))
    again = run_cli("review", "import", str(report_json), "--db", str(path))
    assert first.exit_code == 0 and again.exit_code == 0
    assert "0 new claim(s)" in again.output and "already there" in again.output
    store = open_store(path)
    items = store.items()
    assert items and all(item.flags for item in items)
    promo = next(item for item in items if item.text.startswith("Our IV drip"))
    assert promo.label == "promotional" and "promotional" in promo.flags
    assert promo.before.startswith("Many of my clients") and promo.after.startswith("Book your session")
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    every = run_cli("review", "import", str(report_json), "--db", str(path), "--all")
    assert "new claim(s)" in every.output and store.progress()["total"] > len(items)
    store.close()


def test_decisions_history_and_undo(db):
    store = open_store(db)
    first = store.next_item("ana")
    assert first.confidence == min(i.confidence for i in store.items())  # uncertain first
    assert store.decide(first.id, "relabel", reviewer="ana", label="anecdotal", version=first.version)
    assert not store.decide(first.id, "accept", reviewer="ana", version=first.version)  # a double submit
    assert store.item(first.id).reviewed_label == "anecdotal"
    second = store.next_item("ana")
    assert second.id != first.id
    store.decide(second.id, "not-a-claim", reviewer="ana", note="a description")
    assert store.undo("ana").id == second.id
    assert store.item(second.id).decision is None
    assert store.next_item("ana").id == second.id  # back in the queue, leased to ana again
    history = store.db.execute("SELECT decision, undone_at IS NOT NULL FROM decisions ORDER BY n").fetchall()
    assert [tuple(row) for row in history] == [("relabel", 0), ("not-a-claim", 1)]
    with pytest.raises(ReviewError, match="Relabel needs"):
        store.decide(second.id, "relabel", reviewer="ana", label="miracle")
    store.close()


def test_terminal_review_keys(db):
    runner = CliRunner()
    result = runner.invoke(
        cli, ["review", "--db", str(db), "--reviewer", "ben", "--order", "article"], input="3n"
    )
    assert result.exit_code == 0, result.output
    assert "Saved: relabel -> promotional" in result.output and "Saved: not-a-claim" in result.output
    assert "reviewed" in result.output and "left" in result.output
    result = runner.invoke(cli, ["review", "--db", str(db), "--reviewer", "ben"], input="uq")
    assert "Undone." in result.output
    store = open_store(db)
    decided = store.decided()
    assert [(d["decision"], d["reviewer"]) for _, d in decided] == [("relabel", "ben")]
    store.close()


def _worker(path, name, start, out):
    store = open_store(path)
    mine = []
    start.wait(60)
    while (item := store.next_item(name)) is not None:
        time.sleep(0.002)  # reading the claim
        if store.decide(item.id, "accept", reviewer=name, version=item.version):
            mine.append(item.id)
    store.close()
    out.put(mine)


def test_two_reviewers_at_once_lose_and_duplicate_nothing(tmp_path, report_json):
    path = tmp_path / "busy.db"
    store = open_store(path)
    records = records_from_reports([report_json], every_claim=True)
    # Many claims: the same reports under several article ids.
    store.add_items([{**r, "article_id": f"{r['article_id']}-{k}"} for k in range(15) for r in records])
    total = store.progress()["total"]
    store.close()
    context = multiprocessing.get_context("spawn")
    out, start = context.Queue(), context.Event()
    workers = [context.Process(target=_worker, args=(path, n, start, out)) for n in "xy"]
    for w in workers:
        w.start()
    start.set()
    results = [out.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=30)
    assert all(results), "both reviewers got work"
    decided = [item for mine in results for item in mine]
    assert len(decided) == len(set(decided)) == total
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == total


def test_stats_and_kappa(db, run_cli):
    store = open_store(db)
    items = store.items()
    for item in items:
        store.decide(item.id, "accept", reviewer="ana")
        store.decide(item.id, "not-a-claim" if item.label == "promotional" else "accept", reviewer="ben")
    store.close()
    result = run_cli("review", "stats", "--db", str(db), "--format", "json")
    stats = json.loads(result.output)
    assert stats["decisions"]["accept"] >= len(items)
    (pair,) = stats["kappa"]
    assert pair["reviewers"] == ["ana", "ben"] and pair["shared"] == len(items) and pair["kappa"] < 1
    text = run_cli("review", "stats", "--db", str(db)).output
    assert "Cohen's kappa ana / ben" in text


def test_export_corpus_and_label_studio(db, run_cli, tmp_path):
    store = open_store(db)
    item = store.next_item("ana")
    store.decide(item.id, "relabel", reviewer="ana", label="study-backed")
    store.close()
    out = tmp_path / "reviewed.jsonl"
    assert run_cli("review", "export", "--db", str(db), "--out", str(out)).exit_code == 0
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["text"] == item.text and row["claim"] and row["label"] == "study-backed"
    from pipeline.corpus import _check_row

    _check_row(row, "export")  # the corpus loader accepts it
    tasks_file = tmp_path / "tasks.json"
    run_cli("review", "export", "--db", str(db), "--to", "label-studio", "--out", str(tasks_file))
    tasks = json.loads(tasks_file.read_text())
    assert {t["data"]["claim_id"] for t in tasks} >= {item.id}
    reviewed = next(t for t in tasks if t["data"]["claim_id"] == item.id)
    assert reviewed["predictions"][0]["score"] == pytest.approx(item.confidence)
    assert reviewed["annotations"][0]["result"][0]["value"]["choices"] == ["study-backed"]


def test_bad_databases_and_imports_leave_things_as_they_were(tmp_path, db, run_cli):
    newer = tmp_path / "newer.db"
    with sqlite3.connect(newer) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ReviewError, match="newer healthclaims"):
        open_store(newer)
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database at all" * 100)
    result = run_cli("review", "stats", "--db", str(corrupt))
    assert (
        result.exit_code == 1
        and "[E701]" in result.output
        and "not a healthclaims review database" in result.output
    )
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as raw:
        raw.execute("CREATE TABLE invoices (n INTEGER)")
    with pytest.raises(ReviewError, match="something else"):
        open_store(other)
    before = db.read_bytes()
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"hello": "world"}')
    result = run_cli("review", "import", str(wrong), "--db", str(db))
    assert result.exit_code == 1 and "not a healthclaims report" in result.output
    assert open_store(db).progress()["total"] > 0 and db.read_bytes() == before
    locker = sqlite3.connect(db, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        store = open_store(db)
        store.db.execute("PRAGMA busy_timeout = 200")
        with pytest.raises(ReviewError, match="locked"):
            store.decide(store.items()[0].id, "accept", reviewer="ana")
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    readonly = tmp_path / "ro"
    readonly.mkdir()
    copy = readonly / "reviews.db"
    copy.write_bytes(before)
    store = open_store(copy)
    store.close()
    copy.chmod(0o444)
    readonly.chmod(0o555)
    try:
        store = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        store.close()
        from pipeline.review import ReviewStore

        ro = ReviewStore(sqlite3.connect(f"file:{copy}?mode=ro", uri=True, isolation_level=None), copy)
        ro.db.row_factory = sqlite3.Row
        with pytest.raises(ReviewError, match="read-only"):
            ro.decide(ro.items()[0].id, "accept", reviewer="ana")
    finally:
        readonly.chmod(0o755)


def test_reviews_retrain_the_model(tmp_path, report_json, model_dir, run_cli):
    """Relabelling claims the model gets wrong, then training with the reviews, changes those predictions."""
    from pipeline.artifacts import load_model
    from pipeline.checker import Checker
    from pipeline.classify import train_model
    from pipeline.nlp import build_nlp
    from pipeline.review import review_sentences
    from pipeline.schema import Article
    from pipeline.settings import load_settings

    nlp = build_nlp()
    texts = [
        "Everyone at my yoga studio swears their back pain melted away with this stretch.",
        "Our chiropractic adjustments realign your spine and end sciatica for good.",
        "Customers write in every week to say the copper bracelet eased their arthritis.",
        "Regular sauna sessions flush toxins and strengthen your immune system.",
        "My grandmother's turmeric paste healed my eczema in three days.",
        "Drinking celery juice every morning reverses fatty liver disease.",
    ]
    wanted = ["anecdotal", "promotional", "anecdotal", "promotional", "anecdotal", "promotional"]
    before = Checker(nlp, load_model(model_dir), load_settings())
    article = Article(id="wrong", source="t", text="\n\n".join(texts))
    predicted = {c.text: c.label.value for c in before.check(article).claims}
    path = tmp_path / "fix.db"
    store = open_store(path)
    store.add_items(
        [
            {
                "article_id": "wrong",
                "source": "t",
                "text": t,
                "start": i,
                "end": i + len(t),
                "label": predicted.get(t, "promotional"),
                "confidence": 0.5,
                "flags": ["low_confidence"],
            }
            for i, t in enumerate(texts)
        ]
    )
    # The reviewer marks each the opposite of its right label: the model must follow the reviews.
    flipped = {"anecdotal": "study-backed", "promotional": "study-backed"}
    for item in store.items():
        right = wanted[texts.index(item.text)]
        store.decide(item.id, "relabel", reviewer="ana", label=flipped[right])
    store.close()
    retrained = tmp_path / "retrained"
    train_model(ROOT / "corpus", retrained, nlp=nlp, cross_validate=False, reviewed=review_sentences(path))
    after = Checker(nlp, load_model(retrained), load_settings())
    now = {c.text: c.label.value for c in after.check(article).claims}
    changed = [t for t in texts if now.get(t) == "study-backed" and predicted.get(t) != "study-backed"]
    assert len(changed) >= 5, (predicted, now)


def _chromium():
    import os
    import shutil

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is not installed; .ci/run installs it with apt-get.")
        pytest.skip("the browser test needs Debian's chromium (apt-get install chromium)")
    return path


@pytest.fixture()
def server(db):
    """The review web app on a free local port, in a thread, as `healthclaims review serve` runs it."""
    import threading

    from werkzeug.serving import make_server

    from pipeline.review_web import create_app

    app = create_app(db, reviewer="web", order="article")
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", app.config["CSRF_TOKEN"]
    httpd.shutdown()


def test_web_review_in_headless_chromium(server, db):
    from playwright.sync_api import expect, sync_playwright

    url, _ = server
    store = open_store(db)
    first, second = store.items()[:2]
    total = store.progress()["total"]
    store.close()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), headless=True, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(url)
        expect(page.locator("#claim")).to_have_text(first.text)
        expect(page.locator("#counter")).to_contain_text(f"0 of {total} reviewed")
        inside = [c for c in first.cues if first.start <= c["start"] and c["end"] <= first.end]
        assert (page.locator("#claim mark").count() > 0) == bool(inside)
        page.keyboard.press("3")
        expect(page.locator("#status")).to_contain_text("Saved: relabel → promotional")
        expect(page.locator("#claim")).to_have_text(second.text)
        expect(page.locator("#counter")).to_contain_text(f"1 of {total} reviewed")
        page.keyboard.press("n")
        expect(page.locator("#counter")).to_contain_text(f"2 of {total} reviewed")
        page.keyboard.press("u")
        expect(page.locator("#status")).to_have_text("Undone.")
        expect(page.locator("#claim")).to_have_text(second.text)
        page.keyboard.press("a")
        expect(page.locator("#counter")).to_contain_text(f"2 of {total} reviewed")
        browser.close()
    store = open_store(db)
    assert store.item(first.id).reviewed_label == "promotional"
    assert store.item(second.id).decision == "accept"
    history = store.db.execute("SELECT decision, undone_at IS NOT NULL FROM decisions ORDER BY n").fetchall()
    assert [tuple(row) for row in history] == [("relabel", 0), ("not-a-claim", 1), ("accept", 0)]
    store.close()


def test_web_refuses_cross_site_requests(server, db):
    import urllib.error
    import urllib.request

    url, token = server
    store = open_store(db)
    item = store.items()[0]
    store.close()
    body = json.dumps({"item_id": item.id, "decision": "accept"}).encode()

    def post(headers):
        request = urllib.request.Request(f"{url}/api/decide", data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request) as response:
                return response.status
        except urllib.error.HTTPError as err:
            return err.code

    json_type = {"Content-Type": "application/json"}
    assert post(json_type) == 403  # no token
    assert post({**json_type, "X-CSRF-Token": "guess"}) == 403
    assert post({**json_type, "X-CSRF-Token": token, "Origin": "https://evil.example"}) == 403
    assert post({**json_type, "X-CSRF-Token": token, "Host": "evil.example"}) == 403
    assert post({"Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": token}) == 415
    assert open_store(db).item(item.id).decision is None  # nothing got through
    assert post({**json_type, "X-CSRF-Token": token, "Origin": url}) == 200
    assert open_store(db).item(item.id).decision == "accept"


def test_serve_binds_locally_and_warns_for_other_hosts(db):
    import subprocess
    import sys

    command = [sys.executable, "-m", "pipeline", "review", "serve", "--db", str(db), "--port", "0"]
    for extra, warned in (([], False), (["--host", "0.0.0.0"], True)):
        process = subprocess.Popen([*command, *extra], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        try:
            line = process.stderr.readline()
            if warned:
                assert line.startswith("Warning: binding to 0.0.0.0")
                line = process.stderr.readline()
            else:
                assert "http://127.0.0.1:" in line
            assert "Reviewing" in line
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_import_from_a_score_folder_keeps_context(model_dir, tmp_path):
    from pipeline.batch import ScoreOptions, score_corpus
    from pipeline.settings import load_settings

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "magnesium.txt").write_text(ARTICLE, encoding="utf-8")
    score_corpus([str(folder)], tmp_path / "run", ScoreOptions(model_dir=model_dir, settings=load_settings()))
    store = open_store(tmp_path / "r.db")
    added, _ = store.add_items(records_from_reports([tmp_path / "run"]))
    promo = next(item for item in store.items() if item.text.startswith("Our IV drip"))
    assert added >= 2 and promo.source.endswith("magnesium.txt")
    assert promo.before.startswith("Many of my clients") and promo.after.startswith("Book your session")
    store.close()


def test_stats_before_any_decision_and_keys_from_a_pipe(db):
    import subprocess
    import sys

    command = [sys.executable, "-m", "pipeline", "review", "--db", str(db)]
    stats = subprocess.run([*command, "stats"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert stats.returncode == 0 and "decisions: accept 0" in stats.stdout, stats.stderr
    piped = subprocess.run(
        [*command, "--reviewer", "cat"], input="a", cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert piped.returncode == 0 and "Saved: accept" in piped.stdout, piped.stderr
    assert [d["reviewer"] for _, d in open_store(db).decided()] == ["cat"]


def test_import_annotate_json_lines_even_of_one_claim(run_cli, tmp_path):
    article = tmp_path / "one.txt"
    article.write_text("Our detox tea melts fat overnight, guaranteed!\n", encoding="utf-8")
    out = tmp_path / "one.jsonl"
    assert run_cli("annotate", str(article), "--format", "jsonl", "-o", str(out)).exit_code == 0
    assert len(out.read_text().splitlines()) == 1
    (record,) = records_from_reports([out])
    assert record["article_id"] == "one" and record["label"] == "promotional" and record["flags"]

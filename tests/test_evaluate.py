"""`evaluate`: scoring against gold articles and the Full Fact benchmark, and the quality gate."""

import json

import numpy as np
import pytest

from pipeline import evaluate as ev
from pipeline import gate
from pipeline.corpus import load_gold_articles
from pipeline.errors import GateError
from pipeline.schema import Article

from .conftest import CHECK, FAKEHEALTH, ROOT, SHARED

EVAL_DEV = SHARED / "eval-dev"
FULLFACT = SHARED / "benchmarks" / "fullfact-health-claims.csv"
BASELINE = ROOT / "tests" / "quality_baseline.json"


@pytest.fixture(scope="module")
def eval_dev():
    if not (EVAL_DEV / "gold.jsonl").is_file():
        pytest.skip("../shared/eval-dev is not present")
    return load_gold_articles(EVAL_DEV)


@pytest.fixture(scope="module")
def outcomes(checker, eval_dev):
    return ev.run_articles(checker, eval_dev)


@pytest.fixture(scope="module")
def result(outcomes):
    return {
        "model": "test",
        "gold_path": str(EVAL_DEV),
        "gold_hash": ev.gold_hash(EVAL_DEV),
        "gold": ev.score_outcomes(outcomes),
    }


def test_evaluate_counts_every_gold_sentence_once(result, eval_dev):
    gold = result["gold"]
    n = sum(len(article.sentences) for article in eval_dev)
    assert gold["sentences"] == n
    matrix = gold["confusion"]["matrix"]
    assert gold["confusion"]["labels"] == ["not a claim", "study-backed", "anecdotal", "promotional"]
    assert sum(map(sum, matrix)) == n
    # Row sums are the gold counts; column sums the predicted counts.
    gold_claims = sum(s.claim for a in eval_dev for s in a.sentences)
    assert n - sum(matrix[0]) == gold_claims == gold["claim"]["gold_claims"]
    assert n - sum(row[0] for row in matrix) == gold["claim"]["predicted_claims"]
    # Claims found with the right label lie on the diagonal of the label block.
    correct = sum(matrix[i][i] for i in range(1, 4))
    assert correct == round(gold["labels"]["accuracy"] * gold["labels"]["found_claims"])


def test_evaluate_metrics_are_consistent(result):
    claim = result["gold"]["claim"]
    p, r = claim["precision"], claim["recall"]
    assert claim["f1"] == pytest.approx(2 * p * r / (p + r), abs=2e-3)
    assert 0.0 <= result["gold"]["calibration"]["label_ece"] <= 1.0
    assert set(result["gold"]["attributes"]) == {
        "cites_source",
        "vague_evidence",
        "hedged",
        "absolute",
        "hype",
    }


def test_evaluate_intervals_resample_whole_articles(result, outcomes):
    found = ev.intervals(outcomes, resamples=300)
    gold = result["gold"]
    for key, point in (
        ("claim_f1", gold["claim"]["f1"]),
        ("label_macro_f1", gold["labels"]["macro_f1"]),
    ):
        low, high = found[key]
        assert low < point < high  # a dozen articles: the interval is wide, and holds the estimate
    assert 0.0 <= found["label_ece"][0] < found["label_ece"][1] <= 1.0
    assert ev.intervals(outcomes, resamples=300) == found  # seeded: the same run gives the same figures
    # With every verdict right, every resample scores perfectly.
    perfect = [
        ev.Outcome(o.article, o.gold, o.gold.claim, o.gold.label, 1.0, float(o.gold.claim), o.attrs, "")
        for o in outcomes
    ]
    assert ev.intervals(perfect, resamples=50) == {
        "claim_f1": [1.0, 1.0],
        "label_macro_f1": [1.0, 1.0],
        "label_ece": [0.0, 0.0],
    }
    one_article = [o for o in outcomes if o.article == outcomes[0].article]
    assert ev.intervals(one_article) == {}  # nothing to resample


def test_evaluate_ece_if_calibrated_is_the_noise_floor_of_a_perfect_model():
    rng = np.random.default_rng(1)
    confidence = rng.uniform(0.4, 1.0, size=90)
    floor = ev.ece_if_calibrated(confidence)
    assert 0.0 < floor["p5"] < floor["median"] < floor["p95"] < 0.25  # 90 claims: far from zero
    many = ev.ece_if_calibrated(rng.uniform(0.4, 1.0, size=20000), draws=50)
    assert many["p95"] < floor["p5"]  # it shrinks with the number of claims
    certain = ev.ece_if_calibrated(np.ones(50), draws=50)
    assert certain == {"median": 0.0, "p5": 0.0, "p95": 0.0}  # always right at confidence 1
    assert ev.ece_if_calibrated(np.array([])) == {}


def test_evaluate_match_prefers_largest_overlap(checker):
    """A gold sentence split in two by the product takes the verdict of the bigger piece."""
    from pipeline.corpus import GoldSentence

    text = "Zinc shortens colds by two days. The trial ran for a year."
    report = checker.check(Article(id="x", source="t", text=text))
    gold = [GoldSentence(text=text, claim=True, label="promotional", start=0, end=len(text))]
    (match,) = ev.match_sentences(gold, sorted(report.sentences, key=lambda c: c.start))
    assert match is not None and match.text == "Zinc shortens colds by two days."


def test_evaluate_fullfact_maps_three_types(checker):
    if not FULLFACT.is_file():
        pytest.skip("the Full Fact benchmark is not present")
    rows = ev.load_fullfact(FULLFACT)
    kinds = {kind for _, kind in rows}
    assert kinds == {"citation", "personal", "promotion", "not a claim"}
    scores = ev.evaluate_fullfact(checker, rows)
    assert scores["rows"] == sum(kind != "not a claim" for _, kind in rows) == 45
    assert sum(s["support"] for s in scores["per_label"].values()) == 45
    assert scores["not_a_claim_rows"] == 11


def test_evaluate_reports_written(result, tmp_path):
    paths = ev.write_reports(result, tmp_path)
    assert [p.name for p in paths] == ["evaluation.md", "evaluation.json", "confusion.png"]
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(paths[1].read_text())["gold"]["claim"] == result["gold"]["claim"]
    assert "| not a claim |" in paths[0].read_text()


def test_quality_gate_on_eval_dev(result):
    """The floors pinned in tests/quality_baseline.json hold for the current model on eval-dev."""
    baseline = gate.read_baseline(BASELINE)
    problems = gate.check(result, baseline)
    assert not problems, "; ".join(problems)


def test_quality_gate_refuses_to_lower_without_leave(result, tmp_path):
    path = tmp_path / "baseline.json"
    gate.update(result, path)
    floors = gate.read_baseline(path).floors
    assert floors["claim_f1"] == pytest.approx(result["gold"]["claim"]["f1"] - gate.MARGIN, abs=1e-3)
    worse = json.loads(json.dumps(result))
    worse["gold"]["claim"]["f1"] -= 0.2
    assert gate.check(worse, gate.read_baseline(path))  # the drop is caught
    with pytest.raises(GateError, match="allow-lower"):
        gate.update(worse, path)
    assert gate.update(worse, path, allow_lower=True).floors["claim_f1"] < floors["claim_f1"]


def test_quality_gate_notices_changed_gold(result, tmp_path):
    path = tmp_path / "baseline.json"
    gate.update(result, path)
    changed = {**result, "gold_hash": "0" * 64}
    assert any("changed" in problem for problem in gate.check(changed, gate.read_baseline(path)))


def test_quality_gate_on_the_check_set(checker, check_articles):
    """The floors in tests/quality_baseline_check.json hold on corpus/checks/fakehealth-blind (real news)."""
    outcomes = ev.run_articles(checker, check_articles)
    result = {"gold_hash": ev.gold_hash(CHECK, articles=FAKEHEALTH), "gold": ev.score_outcomes(outcomes)}
    problems = gate.check(result, gate.read_baseline(ROOT / "tests" / "quality_baseline_check.json"))
    assert not problems, "; ".join(problems)

"""The learned stages' calibration: temperature fitting, and where its data comes from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import Pipeline

from pipeline.artifacts import claim_probability
from pipeline.classify import build_linear, examples_from_corpus, fit_temperature
from pipeline.corpus import load_sentences

CORPUS = Path(__file__).parent.parent / "corpus"


@pytest.mark.parametrize("beta", [0.4, 1.0, 2.5])
def test_fit_temperature_recovers_the_scale_that_generated_labels(beta):
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(4000, 3))
    p = np.exp(beta * logits)
    p /= p.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in p])
    assert fit_temperature(logits, y) == pytest.approx(beta, rel=0.1)


def test_fit_temperature_agrees_with_sklearn_on_binary_decisions(nlp):
    """On the same held-out decisions, our fit gives sklearn's own temperature."""
    sentences = load_sentences(CORPUS / "sentences")[:1500]
    examples = examples_from_corpus(nlp, sentences, [])
    y = np.array([ex.claim for ex in examples])
    X = Pipeline(build_linear(C=4.0).steps[:-1]).fit_transform([ex.features for ex in examples])
    folds = KFold(n_splits=5)
    calibrated = CalibratedClassifierCV(
        LogisticRegression(C=4.0, max_iter=2000), method="temperature", cv=folds, ensemble=False
    ).fit(X, y)
    decision = cross_val_predict(
        LogisticRegression(C=4.0, max_iter=2000), X, y, cv=folds, method="decision_function"
    )
    sklearn_beta = float(calibrated.calibrated_classifiers_[0].calibrators[0].beta_)
    assert fit_temperature(decision, y.astype(int)) == pytest.approx(sklearn_beta, rel=1e-3)


def test_trained_model_records_article_calibrated_temperatures(model_dir):
    meta = json.loads((model_dir / "meta.json").read_text())
    hyper = meta["hyperparameters"]
    assert "held-out whole articles" in hyper["calibration"]
    assert 0.05 < hyper["beta"] < 20
    weights = np.load(model_dir / "weights.npz")
    assert float(weights["beta"]) == pytest.approx(hyper["beta"], abs=1e-4)


def test_claim_probability_is_one_minus_not_a_claim():
    proba = np.array([[0.1, 0.6, 0.2, 0.1], [0.05, 0.05, 0.1, 0.8]])
    four = ("anecdotal", "none", "promotional", "study-backed")
    np.testing.assert_allclose(claim_probability(proba, four), [0.4, 0.95])

"""The model comparison's designs, trained on real corpus sentences."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from pipeline.classify import examples_from_corpus
from pipeline.compare import DESIGNS, TextcatFitted, fit_design, score_gold, to_markdown
from pipeline.corpus import load_sentences

from .conftest import ROOT


def _split(nlp):
    """A third of the standalone corpus sentences: four fifths to train on, one fifth to test."""
    examples = examples_from_corpus(nlp, load_sentences(ROOT / "corpus" / "sentences")[::3], [])
    return [ex for i, ex in enumerate(examples) if i % 5], examples[::5]


def test_spacy_textcat_design_learns_claims_from_the_text_alone(nlp):
    """spaCy's own classifier, trained from scratch on about 1,400 corpus sentences, ranks unseen ones."""
    train, test = _split(nlp)
    design = next(d for d in DESIGNS if d.model == "textcat")
    fitted = fit_design(design, train)
    assert isinstance(fitted, TextcatFitted)
    claim_p, labels, confidence = fitted.predict([], [ex.text for ex in test])
    assert roc_auc_score([ex.claim for ex in test], claim_p) > 0.8
    assert set(labels) <= {"study-backed", "anecdotal", "promotional"}
    assert np.all((confidence > 0.33) & (confidence <= 1.0))  # the most probable of three
    studies = [lab for lab, ex in zip(labels, test, strict=True) if ex.claim and ex.label == "study-backed"]
    assert studies.count("study-backed") > len(studies) / 2


def test_designs_are_scored_on_a_second_gold_set_by_offsets(nlp, check_articles):
    """`compare --check`: a shipped-style design, trained on corpus sentences, scored on the check set's real news."""
    train, _ = _split(nlp)
    design = next(d for d in DESIGNS if d.model == "linear" and d.labels == "four-way")
    fitted = fit_design(design, train).calibrate(train)
    scores = score_gold(fitted, nlp, check_articles, 0.5, prefix="check")
    assert set(scores) >= {"check_claim_f1", "check_label_macro_f1", "check_label_ece"}
    assert 0.55 < scores["check_claim_f1"] < 0.95  # calling every sentence a claim scores 0.53
    assert "check-set claim F1" in to_markdown([{"design": design.name, **scores}])

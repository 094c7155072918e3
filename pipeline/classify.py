"""The learned stage: one four-way model gives claims and labels.

A sklearn Pipeline over the named features of `features.featurize`:
DictVectorizer -> L2 Normalizer -> class-balanced logistic regression over
four classes (not a claim and the three labels), calibrated by temperature
scaling. P(claim) is one minus P(not a claim); a claim's label probabilities
are P(label | claim), the softmax of the three label columns alone. The
temperature is fitted on predictions for whole articles of the corpus,
each predicted by a model that never saw it: the product reads whole
articles, and held-out articles are the nearest thing in the corpus to
text nobody here wrote (standalone sentences, predicted by
sentence-level cross-validation, give overconfident probabilities on real
news). This module builds, trains and cross-validates the model;
`artifacts.py` saves and loads it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.model_selection import GroupKFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer
from spacy.language import Language

from pipeline.artifacts import NOT_A_CLAIM, claim_probability
from pipeline.corpus import (
    GoldArticle,
    GoldSentence,
    align,
    corpus_hash,
    load_gold_articles,
    load_sentences,
)
from pipeline.errors import CorpusError
from pipeline.extract import sentences_from_doc, whole_doc_sentence
from pipeline.features import featurize
from pipeline.schema import LABELS, Sentence

CLAIM_C = 8.0
CV_FOLDS = 5
SEED = 13
MIN_FEATURE_COUNT = 2
REVIEW_WEIGHT = 3
N_JOBS = -1  # cross-validation folds are fitted in parallel, one process per core
MIN_CALIBRATION_ROWS = 200  # fewer held-out article sentences than this: calibrate on every row


@dataclass(frozen=True, slots=True)
class Example:
    """One training sentence: its features and gold decisions."""

    features: dict[str, float]
    claim: bool
    label: str | None
    source: str  # the corpus section or the article it came from
    in_article: bool = False  # from a whole labelled article
    text: str = ""  # the sentence, for designs that read raw text (`compare.py`)


def build_linear(*, C: float, balanced: bool = False) -> Pipeline:
    """An untrained stage: vectorise, normalise, logistic regression.

    Calibration is one number beside the fitted stage, its inverse
    temperature (`article_temperature`, `calibrated_proba`). `balanced`
    weights each class inversely to its frequency: labels are judged by
    macro-F1, and anecdotes are rare in news.
    """
    return Pipeline(
        [
            ("vectorize", DictVectorizer(dtype=np.float64)),
            ("normalize", Normalizer(norm="l2")),
            (
                "classify",
                LogisticRegression(C=C, max_iter=2000, class_weight="balanced" if balanced else None),
            ),
        ]
    )


def logits(decision: np.ndarray) -> np.ndarray:
    """A linear model's decision values as one logit per class.

    A binary model has one column d; its logits are (-d, d), as sklearn's
    temperature scaling takes them.
    """
    return np.column_stack([-decision, decision]) if decision.ndim == 1 else decision


def calibrated_proba(stage: Pipeline, X: Sequence[dict[str, float]], beta: float) -> np.ndarray:
    """Class probabilities of a fitted stage at inverse temperature `beta`: softmax(beta * logits)."""
    return softmax(beta * logits(stage.decision_function(X)), axis=1)


def examples_from_corpus(
    nlp: Language,
    sentences: Sequence[GoldSentence],
    articles: Sequence[GoldArticle],
    *,
    featurizer: Callable[[Sentence, Sentence | None], dict[str, float]] = featurize,
) -> list[Example]:
    """Featurise every rule-admitted sentence of the corpus with its gold decisions.

    Standalone sentences are processed one per Doc (with their `context`
    sentence as the previous one); whole articles are segmented by our own
    stage and aligned with the gold sentences by character overlap, as at
    prediction time.
    """
    examples: list[Example] = []
    docs = nlp.pipe(sent.text for sent in sentences)
    contexts = sorted({s.context for s in sentences if s.context})
    context_docs = dict(zip(contexts, nlp.pipe(contexts), strict=True))
    for gold, doc in zip(sentences, docs, strict=True):
        record = whole_doc_sentence(doc)
        if record is None or not record.candidate:
            continue
        previous = whole_doc_sentence(context_docs[gold.context]) if gold.context else None
        examples.append(
            Example(featurizer(record, previous), gold.claim, gold.label, gold.section, text=record.text)
        )
    for article, doc in zip(articles, nlp.pipe(a.text for a in articles), strict=True):
        records = sentences_from_doc(doc)
        for i, (record, gold) in enumerate(zip(records, align(records, article.sentences), strict=True)):
            if gold is None or not record.candidate:
                continue
            previous = records[i - 1] if i else None
            examples.append(
                Example(
                    featurizer(record, previous),
                    gold.claim,
                    gold.label,
                    article.id,
                    in_article=True,
                    text=record.text,
                )
            )
    return examples


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, *, bins: int = 10) -> float:
    """Mean gap between confidence and accuracy over equal-width confidence bins."""
    confidence, correct = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=float)
    if confidence.size == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.mean() * abs(confidence[mask].mean() - correct[mask].mean())
    return float(error)


def prune_rare_features(examples: Sequence[Example], *, min_count: int) -> list[Example]:
    """Drop features seen in fewer than `min_count` examples: they carry no signal, only size.

    Prediction skips features the model never saw, so pruning here keeps both
    paths consistent.
    """
    counts = Counter(name for ex in examples for name in ex.features)
    return [
        replace(ex, features={k: v for k, v in ex.features.items() if counts[k] >= min_count})
        for ex in examples
    ]


def fit_temperature(decision: np.ndarray, y: np.ndarray) -> float:
    """The inverse temperature beta minimising the log loss of softmax(beta * logits).

    `decision` is a linear model's decision_function output (see `logits`);
    `y` holds class indices.
    """
    scores = logits(decision)
    rows = np.arange(len(y))

    def loss(log_beta: float) -> float:
        return float(-log_softmax(np.exp(log_beta) * scores, axis=1)[rows, y].mean())

    return float(np.exp(minimize_scalar(loss, bounds=(-5.0, 5.0), method="bounded").x))


def held_out_decision(examples: Sequence[Example], y: np.ndarray, *, C: float, balanced: bool) -> np.ndarray:
    """Decision values for every example from a model trained without its section or article.

    Each section and each article is one group of a GroupKFold.
    """
    return cross_val_predict(
        build_linear(C=C, balanced=balanced),
        [ex.features for ex in examples],
        y,
        groups=[ex.source for ex in examples],
        cv=GroupKFold(n_splits=CV_FOLDS),
        method="decision_function",
        n_jobs=N_JOBS,
    )


def calibration_rows(examples: Sequence[Example]) -> np.ndarray:
    """The rows temperatures are fitted on: whole-article sentences, or every row if there are too few."""
    rows = np.array([ex.in_article for ex in examples])
    if rows.sum() < MIN_CALIBRATION_ROWS:
        rows[:] = True
    return rows


def article_temperature(
    examples: Sequence[Example], y: np.ndarray, *, C: float, balanced: bool = False
) -> float:
    """Inverse temperature fitted on held-out predictions for whole-article sentences."""
    decision = held_out_decision(examples, y, C=C, balanced=balanced)
    rows = calibration_rows(examples)
    return fit_temperature(decision[rows], np.unique(y, return_inverse=True)[1][rows])


def claim_targets(examples: Sequence[Example]) -> np.ndarray:
    """The four classes: the label of a claim, `NOT_A_CLAIM` otherwise."""
    return np.array([ex.label if ex.claim else NOT_A_CLAIM for ex in examples])


def label_columns(classes: Sequence[str]) -> list[int]:
    """The columns of the four classes that are labels (every class but `NOT_A_CLAIM`)."""
    return [i for i, c in enumerate(classes) if str(c) != NOT_A_CLAIM]


@dataclass(frozen=True, slots=True)
class TrainedModel:
    """The fitted four-way stage, its inverse temperature and its cross-validated metrics."""

    stage: Pipeline
    beta: float
    metrics: dict
    n_examples: int


def train_four_way(examples: Sequence[Example], *, cross_validate: bool = True) -> TrainedModel:
    """Fit the four-way model on the examples; report cross-validated figures when asked.

    One class-balanced logistic regression tells four classes apart: not a
    claim and the three labels. A sentence's claim probability is one minus
    that of "not a claim"; a claim's label is the most probable of the three
    labels, its probabilities P(label | claim): the label columns' softmax,
    with the model's one temperature. Claims of different warrants are worded differently, so
    one weight vector per warrant separates them from background better
    than one for all claims (ROC AUC 0.896 against 0.889 on held-out corpus
    articles), and on eval-dev the one model's label confidences are better
    calibrated than a separate label stage's (`make compare`).
    """
    examples = prune_rare_features(examples, min_count=MIN_FEATURE_COUNT)
    X = [ex.features for ex in examples]
    y_claim = np.array([ex.claim for ex in examples])
    y_four = claim_targets(examples)
    beta = article_temperature(examples, y_four, C=CLAIM_C, balanced=True)
    stage = build_linear(C=CLAIM_C, balanced=True).fit(X, y_four)
    metrics: dict = {}
    if cross_validate:
        folds = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=SEED)
        decision = cross_val_predict(
            build_linear(C=CLAIM_C, balanced=True),
            X,
            y_four,
            cv=folds,
            method="decision_function",
            n_jobs=N_JOBS,
        )
        classes = np.unique(y_four)
        claim_p = claim_probability(softmax(beta * decision, axis=1), classes)
        claim_pred = claim_p >= 0.5
        p, r, f, _ = precision_recall_fscore_support(y_claim, claim_pred, average="binary")
        columns = label_columns(classes)
        label_proba = softmax(beta * decision[y_claim][:, columns], axis=1)
        y_label = y_four[y_claim]
        label_pred = classes[columns][label_proba.argmax(axis=1)]
        metrics = {
            "folds": CV_FOLDS,
            "claim_precision": round(float(p), 4),
            "claim_recall": round(float(r), 4),
            "claim_f1": round(float(f), 4),
            "claim_ece": round(
                expected_calibration_error(np.maximum(claim_p, 1 - claim_p), claim_pred == y_claim), 4
            ),
            "label_macro_f1": round(float(f1_score(y_label, label_pred, average="macro")), 4),
            "label_f1": {
                label.value: round(float(f1_score(y_label == label.value, label_pred == label.value)), 4)
                for label in LABELS
            },
            "label_ece": round(expected_calibration_error(label_proba.max(axis=1), label_pred == y_label), 4),
        }
    return TrainedModel(stage=stage, beta=beta, metrics=metrics, n_examples=len(examples))


def train_model(
    corpus_dir: Path,
    out_dir: Path,
    *,
    nlp: Language,
    cross_validate: bool = True,
    reviewed: Sequence[GoldSentence] = (),
) -> dict:
    """Train the model from `corpus_dir` (plus `reviewed` sentences) and save it into `out_dir`.

    A reviewed sentence is a correction made on real text; it enters
    training `REVIEW_WEIGHT` times, so that a handful of corrections can move
    a model trained on thousands of corpus sentences.
    """
    from pipeline.artifacts import save_model

    corpus_dir = Path(corpus_dir)
    sentences = load_sentences(corpus_dir / "sentences")
    sentences += [replace(s, section="review") for s in reviewed for _ in range(REVIEW_WEIGHT)]
    articles_dir = corpus_dir / "articles"
    articles = load_gold_articles(articles_dir) if (articles_dir / "articles.jsonl").is_file() else []
    if not sentences and not articles:
        raise CorpusError(f"No labelled data under {corpus_dir} (expected sentences/*.jsonl or articles/).")
    examples = examples_from_corpus(nlp, sentences, articles)
    model = train_four_way(examples, cross_validate=cross_validate)
    meta = {
        "corpus": str(corpus_dir),
        "corpus_hash": corpus_hash(corpus_dir),
        "trained_examples": model.n_examples,
        "trained_claims": int(sum(ex.claim for ex in examples)),
        "corpus_sentences": len(sentences),
        "corpus_articles": len(articles),
        "reviewed_sentences": len(reviewed),
        "hyperparameters": {
            "model": "one logistic regression over four classes (not a claim + three labels), class-balanced",
            "C": CLAIM_C,
            "calibration": "temperature, fitted on held-out whole articles",
            "beta": round(model.beta, 4),
        },
        "cv_metrics": model.metrics,
    }
    save_model(out_dir, model.stage, beta=model.beta, meta=meta)
    return meta

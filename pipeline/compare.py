"""Model comparison: several designs side by side, on the corpus and on text nobody here wrote.

Each design is a featuriser plus where its claims and labels come from:
claims from a binary claim stage or from a four-class model (not a claim +
three labels; 1 - P(not a claim)), labels from a stage trained on claims or
from that four-class model. The product ships the one four-class model.
One design is spaCy's own text classifier, trained from scratch on the
sentence text alone (`TextcatFitted`).
Every design is scored the same three ways in one run:
- 5-fold cross-validation on the corpus (claim F1, label macro-F1 on claims);
- the eval-dev articles, through our own segmentation, as `evaluate` does;
- the Full Fact benchmark's mapped claims (label macro-F1).
The model scored on eval-dev and Full Fact is calibrated as the product is
(temperatures fitted on held-out whole articles); cross-validation reports
F1 only, from the uncalibrated models (inverse temperature 1).
`healthclaims compare` prints the table; the README keeps the latest one.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import spacy
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from spacy.language import Language
from spacy.training import Example as SpacyExample
from spacy.util import fix_random_seed, minibatch

from pipeline import evaluate as ev
from pipeline.artifacts import NOT_A_CLAIM, claim_probability
from pipeline.classify import (
    CLAIM_C,
    CV_FOLDS,
    MIN_FEATURE_COUNT,
    SEED,
    Example,
    article_temperature,
    build_linear,
    calibrated_proba,
    claim_targets,
    examples_from_corpus,
    label_columns,
    prune_rare_features,
)
from pipeline.corpus import GoldArticle, load_gold_articles, load_sentences
from pipeline.extract import precedence_label, sentences_from_doc, whole_doc_sentence
from pipeline.features import featurize, word_tokens
from pipeline.schema import LABELS, Sentence

Featurizer = Callable[[Sentence, Sentence | None], dict[str, float]]


def word_features(sentence: Sentence, previous: Sentence | None = None) -> dict[str, float]:
    """Words and word pairs only: the plain bag-of-n-grams baseline."""
    tokens = word_tokens(sentence.text)
    feats = dict.fromkeys(["w=" + tok for tok in tokens], 1.0)
    feats.update(dict.fromkeys([f"b={a}_{b}" for a, b in pairwise(tokens)], 1.0))
    return feats


def word_char_features(sentence: Sentence, previous: Sentence | None = None) -> dict[str, float]:
    """Words, word pairs and character 4-grams inside words (robust to inflection and spelling)."""
    feats = word_features(sentence, previous)
    for tok in set(word_tokens(sentence.text)):
        padded = f" {tok} "
        feats.update(dict.fromkeys([f"c={padded[i : i + 4]}" for i in range(len(padded) - 3)], 1.0))
    return feats


BINARY_CLAIM_C = 4.0  # the binary claim stage shipped until session 4
LABEL_C = 8.0  # the label stage shipped until session 5


@dataclass(frozen=True)
class Design:
    """One way to build the model."""

    name: str
    description: str
    featurizer: Featurizer
    claims: str = "four-way"  # "four-way": 1 - P(not a claim) of a 4-class model; "binary": a yes/no stage
    labels: str = (
        "label-stage"  # "label-stage": a classifier trained on claims; "four-way": the 4-class model
    )
    model: str = "linear"  # "linear": logistic regression over the features; "textcat": spaCy's textcat


DESIGNS = (
    Design(
        "words", "word + word-pair n-grams; binary claim stage, label stage", word_features, claims="binary"
    ),
    Design("words+chars", "the same plus character 4-grams", word_char_features, claims="binary"),
    Design(
        "words+cues, binary claim stage",
        "n-grams + cue, entity, shape and context features; binary claim stage, label stage (shipped to session 3)",
        featurize,
        claims="binary",
    ),
    Design(
        "words+cues, 4-way claims + label stage",
        "claims from a class-balanced 4-way model (not a claim + three labels), labels from the label stage"
        " (shipped in session 4)",
        featurize,
    ),
    Design(
        "words+cues, one 4-way model (shipped)",
        "the same 4-way model gives claims and labels (P(label | claim) from its label columns)",
        featurize,
        labels="four-way",
    ),
    Design(
        "spaCy textcat, one 4-way model",
        "spaCy's own text classifier (its default ensemble: a CNN over hashed word embeddings beside a bag of"
        " words), trained from scratch on the sentence text alone; claims and labels as the shipped model",
        featurize,
        labels="four-way",
        model="textcat",
    ),
)

TEXTCAT_EPOCHS = 4  # passes over the corpus; held-out figures peak at 3 to 4
TEXTCAT_DROPOUT = 0.2
TEXTCAT_BATCH = 32


class Fitted:
    """A design trained on some examples: claim probabilities and labels for feature dicts.

    Its stages start at inverse temperature 1 (the plain logistic
    regression); `calibrate` fits the temperatures as the product does.
    """

    def __init__(self, design: Design, examples: Sequence[Example]):
        self.design = design
        self.stages: dict[str, Pipeline] = {}
        self.betas: dict[str, float] = {}
        features = [ex.features for ex in examples]
        if "four-way" in (design.claims, design.labels):
            self.stages["four"] = build_linear(C=CLAIM_C, balanced=True).fit(
                features, claim_targets(examples)
            )
        if design.claims == "binary":
            claims = np.array([ex.claim for ex in examples])
            self.stages["claim"] = build_linear(C=BINARY_CLAIM_C).fit(features, claims)
        if design.labels == "label-stage":
            claimed = [ex for ex in examples if ex.claim]
            self.stages["label"] = build_linear(C=LABEL_C, balanced=True).fit(
                [ex.features for ex in claimed], [ex.label for ex in claimed]
            )

    def calibrate(self, examples: Sequence[Example]) -> Fitted:
        """Temperatures fitted on held-out whole articles, as `classify.train_four_way` does for the product."""
        claimed = [ex for ex in examples if ex.claim]
        fits = {
            "four": lambda: article_temperature(examples, claim_targets(examples), C=CLAIM_C, balanced=True),
            "claim": lambda: article_temperature(
                examples, np.array([ex.claim for ex in examples]), C=BINARY_CLAIM_C
            ),
            "label": lambda: article_temperature(
                claimed, np.array([ex.label for ex in claimed]), C=LABEL_C, balanced=True
            ),
        }
        self.betas = {name: fits[name]() for name in self.stages}
        return self

    def _proba(self, name: str, features: Sequence[dict]) -> tuple[np.ndarray, list[str]]:
        stage = self.stages[name]
        proba = calibrated_proba(stage, features, self.betas.get(name, 1.0))
        return proba, [str(c) for c in stage.classes_]

    def predict(
        self,
        features: Sequence[dict],
        texts: Sequence[str],
        records: Sequence[Sentence] | None = None,
    ) -> tuple[np.ndarray, list[str], np.ndarray]:
        """(claim probability, label, label confidence) for each feature dict.

        With the sentences' `records`, labels follow the taxonomy's precedence
        as the product's do (`extract.precedence_label`). A linear design
        reads the features, not the `texts`.
        """
        if not features:
            return np.zeros(0), [], np.zeros(0)
        if self.design.claims == "four-way":
            claim_p = claim_probability(*self._proba("four", features))
        else:
            claim_p = self._proba("claim", features)[0][:, 1]
        if self.design.labels == "four-way":
            label_p, names = label_given_claim(*self._proba("four", features))
        else:
            label_p, names = self._proba("label", features)
        return (claim_p, *_choose(label_p, names, records))


def label_given_claim(proba: np.ndarray, classes: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """P(label | claim) from a four-class model: its label columns renormalised, as `ModelBundle.label`."""
    columns = label_columns(classes)
    label_p = proba[:, columns] / proba[:, columns].sum(axis=1, keepdims=True)
    return label_p, [classes[i] for i in columns]


def _choose(
    label_p: np.ndarray, names: Sequence[str], records: Sequence[Sentence] | None
) -> tuple[list[str], np.ndarray]:
    """The most probable label (after the taxonomy's precedence, given the records) and its probability."""
    chosen = [names[b] for b in label_p.argmax(axis=1)]
    if records is not None:
        chosen = [precedence_label(label, rec) for label, rec in zip(chosen, records, strict=True)]
    return chosen, label_p[np.arange(len(chosen)), [names.index(label) for label in chosen]]


class TextcatFitted:
    """spaCy's own text classifier as a design: `textcat` with its default model, four exclusive classes.

    It starts from `spacy.blank("en")` and learns from the corpus sentences'
    text alone (no cues, entities or previous sentence), `TEXTCAT_EPOCHS`
    passes of minibatch updates, seeded. Its softmax is used as it comes out
    of training (no temperature).
    """

    def __init__(self, design: Design, examples: Sequence[Example]):
        self.design = design
        fix_random_seed(SEED)
        self.nlp = spacy.blank("en")
        textcat = self.nlp.add_pipe("textcat")
        self.classes = [NOT_A_CLAIM, *(label.value for label in LABELS)]
        for name in self.classes:
            textcat.add_label(name)
        train = [
            SpacyExample.from_dict(
                self.nlp.make_doc(ex.text), {"cats": {name: float(name == target) for name in self.classes}}
            )
            for ex, target in zip(examples, claim_targets(examples), strict=True)
        ]
        optimizer = self.nlp.initialize(lambda: train)
        shuffle = random.Random(SEED).shuffle
        for _ in range(TEXTCAT_EPOCHS):
            shuffle(train)
            for batch in minibatch(train, size=TEXTCAT_BATCH):
                self.nlp.update(batch, sgd=optimizer, drop=TEXTCAT_DROPOUT)

    def calibrate(self, examples: Sequence[Example]) -> TextcatFitted:
        """Nothing to fit: the softmax is used as it comes out of training."""
        return self

    def predict(
        self,
        features: Sequence[dict],
        texts: Sequence[str],
        records: Sequence[Sentence] | None = None,
    ) -> tuple[np.ndarray, list[str], np.ndarray]:
        """As `Fitted.predict`, from the texts."""
        if not texts:
            return np.zeros(0), [], np.zeros(0)
        proba = np.array([[doc.cats[name] for name in self.classes] for doc in self.nlp.pipe(texts)])
        return (
            claim_probability(proba, self.classes),
            *_choose(*label_given_claim(proba, self.classes), records),
        )


def fit_design(design: Design, examples: Sequence[Example]) -> Fitted | TextcatFitted:
    """A design trained on some corpus examples (uncalibrated)."""
    if design.model == "textcat":
        return TextcatFitted(design, examples)
    return Fitted(design, examples)


@dataclass(frozen=True, slots=True)
class _Predicted:
    start: int
    end: int
    is_claim: bool
    label: str | None
    confidence: float | None
    claim_probability: float


def cross_validate(design: Design, examples) -> dict[str, float]:
    """Claim F1 and label macro-F1 under stratified k-fold cross-validation on the corpus."""
    feats = [ex.features for ex in examples]
    claims = np.array([ex.claim for ex in examples])
    labels = np.array([ex.label or NOT_A_CLAIM for ex in examples])
    claim_pred = np.zeros(len(examples), dtype=bool)
    label_pred = np.array([NOT_A_CLAIM] * len(examples), dtype=object)
    folds = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=SEED)
    for train, test in folds.split(feats, labels):
        fitted = fit_design(design, [examples[i] for i in train])
        claim_p, label, _ = fitted.predict([feats[i] for i in test], [examples[i].text for i in test])
        claim_pred[test] = claim_p >= 0.5
        label_pred[test] = label
    _, _, claim_f1, _ = precision_recall_fscore_support(claims, claim_pred, average="binary")
    label_f1 = f1_score(labels[claims], label_pred[claims].astype(str), average="macro")
    return {"cv_claim_f1": round(float(claim_f1), 4), "cv_label_macro_f1": round(float(label_f1), 4)}


def score_gold(
    fitted: Fitted | TextcatFitted,
    nlp: Language,
    articles: Sequence[GoldArticle],
    threshold: float,
    *,
    prefix: str = "gold",
) -> dict:
    """The design on gold articles, segmented by our own stage, scored as `evaluate` scores the product."""
    outcomes = []
    for article, doc in zip(articles, nlp.pipe(a.text for a in articles), strict=True):
        records = sentences_from_doc(doc)
        candidates = [i for i, rec in enumerate(records) if rec.candidate]
        feats = [fitted.design.featurizer(records[i], records[i - 1] if i else None) for i in candidates]
        chosen = [records[i] for i in candidates]
        claim_p, labels, confidence = fitted.predict(feats, [rec.text for rec in chosen], chosen)
        by_index = {i: n for n, i in enumerate(candidates)}
        predicted = []
        for i, rec in enumerate(records):
            n = by_index.get(i)
            is_claim = n is not None and claim_p[n] >= threshold
            predicted.append(
                _Predicted(
                    rec.start,
                    rec.end,
                    is_claim,
                    labels[n] if is_claim else None,
                    float(confidence[n]) if is_claim else None,
                    float(claim_p[n]) if n is not None else 0.0,
                )
            )
        for gold, pred in zip(
            article.sentences, ev.match_sentences(article.sentences, predicted), strict=True
        ):
            outcomes.append(
                ev.Outcome(
                    article=article.id,
                    gold=gold,
                    claim=bool(pred and pred.is_claim),
                    label=pred.label if pred else None,
                    confidence=pred.confidence if pred else None,
                    claim_probability=pred.claim_probability if pred else 0.0,
                    attrs=frozenset(),
                    predicted_text="",
                )
            )
    scores = ev.score_outcomes(outcomes)
    return {
        f"{prefix}_claim_f1": scores["claim"]["f1"],
        f"{prefix}_label_macro_f1": scores["labels"]["macro_f1"],
        f"{prefix}_label_ece": scores["calibration"]["label_ece"],
    }


def score_fullfact(fitted: Fitted | TextcatFitted, nlp: Language, rows: Sequence[tuple[str, str]]) -> float:
    """Label macro-F1 on the benchmark's mapped claims."""
    mapped = [(text, ev.FULLFACT_MAPPING[kind]) for text, kind in rows if kind in ev.FULLFACT_MAPPING]
    records = [whole_doc_sentence(doc) for doc in nlp.pipe(text for text, _ in mapped)]
    feats = [fitted.design.featurizer(rec, None) for rec in records]
    _, labels, _ = fitted.predict(feats, [rec.text for rec in records], records)
    names = [label.value for label in LABELS]
    return round(float(f1_score([lab for _, lab in mapped], labels, labels=names, average="macro")), 4)


def compare(
    corpus_dir: Path,
    nlp: Language,
    *,
    gold_dir: Path | None,
    fullfact: Path | None,
    check_dir: Path | None = None,
    check_articles: Path | None = None,
    threshold: float = 0.5,
    designs: Sequence[Design] = DESIGNS,
    progress: Callable[[str], None] = lambda message: None,
) -> list[dict]:
    """One row of figures per design."""
    sentences = load_sentences(Path(corpus_dir) / "sentences")
    articles_dir = Path(corpus_dir) / "articles"
    articles = load_gold_articles(articles_dir) if (articles_dir / "articles.jsonl").is_file() else []
    gold = load_gold_articles(gold_dir) if gold_dir else []
    check = load_gold_articles(check_dir, articles=check_articles) if check_dir else []
    ff_rows = ev.load_fullfact(fullfact) if fullfact else []
    rows = []
    for design in designs:
        progress(f"{design.name}: featurising, cross-validating and fitting ...")
        examples = prune_rare_features(
            examples_from_corpus(nlp, sentences, articles, featurizer=design.featurizer),
            min_count=MIN_FEATURE_COUNT,
        )
        row = {"design": design.name, "description": design.description, **cross_validate(design, examples)}
        fitted = fit_design(design, examples).calibrate(examples)
        if gold:
            row.update(score_gold(fitted, nlp, gold, threshold))
        if check:
            row.update(score_gold(fitted, nlp, check, threshold, prefix="check"))
        if ff_rows:
            row["fullfact_label_macro_f1"] = score_fullfact(fitted, nlp, ff_rows)
        rows.append(row)
    return rows


COLUMNS = (
    ("design", "design"),
    ("cv_claim_f1", "corpus CV claim F1"),
    ("cv_label_macro_f1", "corpus CV label macro-F1"),
    ("gold_claim_f1", "eval-dev claim F1"),
    ("gold_label_macro_f1", "eval-dev label macro-F1"),
    ("gold_label_ece", "eval-dev label ECE"),
    ("check_claim_f1", "check-set claim F1"),
    ("check_label_macro_f1", "check-set label macro-F1"),
    ("fullfact_label_macro_f1", "Full Fact label macro-F1"),
)


def to_markdown(rows: Sequence[dict]) -> str:
    """The comparison as a Markdown table."""
    present = [(key, title) for key, title in COLUMNS if any(key in row for row in rows)]
    lines = [
        "| " + " | ".join(title for _, title in present) + " |",
        "|---" + "|---:" * (len(present) - 1) + "|",
    ]
    for row in rows:
        cells = [row.get(key, "") for key, _ in present]
        lines.append("| " + " | ".join(f"{c:.3f}" if isinstance(c, float) else str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"

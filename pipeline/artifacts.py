"""Model artifacts: save with skops, load the exported weights fast, check versions.

A model folder holds
- `stages.skops`: the fitted four-way sklearn Pipeline (see `classify.py`)
  and its inverse temperature, saved with skops, loadable for evaluation
  and inspection;
- `weights.npz`: the same model's learned numbers (feature names,
  coefficients, intercepts, the calibration temperature), exported at
  save time and read with `allow_pickle=False`. Prediction uses these, so
  annotating an article does not import scikit-learn at all; a test checks
  both give the same probabilities;
- `meta.json`: versions, label set, corpus hash, training size and
  cross-validated metrics.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from itertools import chain
from pathlib import Path

import numpy as np

from pipeline import __version__
from pipeline.errors import ModelCorruptError, ModelError, ModelLabelError, ModelVersionError
from pipeline.schema import LABELS, ModelInfo

MODEL_NAME = "healthclaims-default"
NOT_A_CLAIM = "none"  # the four-way model's fourth class, beside the three labels
STAGES_FILE, WEIGHTS_FILE, META_FILE = "stages.skops", "weights.npz", "meta.json"
FORMAT_VERSION = 2  # 2: one four-way model; 1 had a separate label stage


def installed_version(package: str) -> str:
    """The installed version of a distribution, or 'missing'."""
    try:
        return version(package)
    except PackageNotFoundError:
        return "missing"


@dataclass(frozen=True)
class Prediction:
    """A head's output for a batch of sentences."""

    proba: np.ndarray  # (n_sentences, n_classes), rows sum to 1
    best: np.ndarray  # (n_sentences,) index of the most probable class
    evidence: list[list[str]]  # per sentence, the features that pushed hardest towards `best`


@dataclass(frozen=True)
class Encoded:
    """Sentences' features as feature indices: every sentence's indices end to end, and their counts."""

    flat: np.ndarray  # (total features,)
    lengths: np.ndarray  # (n_sentences,)

    def take(self, rows: np.ndarray) -> Encoded:
        """The given sentences only, in the order given."""
        starts = np.concatenate(([0], np.cumsum(self.lengths)[:-1]))[rows]
        lengths = self.lengths[rows]
        new_starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        positions = np.arange(int(lengths.sum())) + np.repeat(starts - new_starts, lengths)
        return Encoded(flat=self.flat[positions], lengths=lengths)


@dataclass(frozen=True)
class LinearHead:
    """A calibrated linear classifier over named binary features.

    Mirrors DictVectorizer -> Normalizer(l2) -> LogisticRegression, with
    softmax(beta * decision) as its probabilities (`classify.calibrated_proba`),
    and scores a whole batch of sentences (an article) with a few array
    operations.
    """

    classes: tuple[str, ...]
    index: dict[str, int]
    coef: np.ndarray  # (n_rows, n_features); one row for a binary stage
    intercept: np.ndarray  # (n_rows,)
    beta: float  # inverse temperature

    def __post_init__(self) -> None:
        # Per feature, one weight per class: a binary stage's single row d
        # becomes the two columns (-d, d), so both cases share one code path.
        rows = np.ascontiguousarray(self.coef.T, dtype=np.float64)
        bias = np.asarray(self.intercept, dtype=np.float64)
        if rows.shape[1] == 1:
            rows, bias = np.hstack([-rows, rows]), np.concatenate([-bias, bias])
        object.__setattr__(self, "_rows", rows)
        object.__setattr__(self, "_bias", bias)
        object.__setattr__(self, "_names", list(self.index))

    def encode(self, features: list[dict[str, float]]) -> Encoded:
        """Sentences' feature names as this head's feature indices (unknown names dropped)."""
        lookup = self.index.get
        idx_lists = [[i for i in map(lookup, feats) if i is not None] for feats in features]
        lengths = np.fromiter(map(len, idx_lists), dtype=np.intp, count=len(idx_lists))
        flat = np.fromiter(chain.from_iterable(idx_lists), dtype=np.intp, count=int(lengths.sum()))
        return Encoded(flat=flat, lengths=lengths)

    def predict_many(self, features: list[dict[str, float]], *, explain: int = 0) -> Prediction:
        """Probabilities for many sentences' features, and (if `explain`) each one's strongest features."""
        return self.predict_encoded(self.encode(features), explain=explain)

    def predict_encoded(self, encoded: Encoded, *, explain: int = 0) -> Prediction:
        """`predict_many` for features already encoded against this head."""
        flat, lengths = encoded.flat, encoded.lengths
        n_sentences, n_classes = len(lengths), self._rows.shape[1]
        gathered = self._rows[flat]
        sums = np.zeros((n_sentences, n_classes))
        nonempty = lengths > 0
        if flat.size:
            offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
            sums[nonempty] = np.add.reduceat(gathered, offsets[nonempty], axis=0)
        decision = sums / np.sqrt(np.maximum(lengths, 1))[:, None] + self._bias
        scaled = self.beta * decision
        scaled -= scaled.max(axis=1, keepdims=True)
        exp = np.exp(scaled)
        proba = exp / exp.sum(axis=1, keepdims=True)
        best = proba.argmax(axis=1)
        evidence: list[list[str]] = [[] for _ in range(n_sentences)]
        if explain and flat.size:
            owner = np.repeat(np.arange(n_sentences), lengths)
            push = gathered[np.arange(flat.size), best[owner]] - gathered.mean(axis=1)
            order = np.lexsort((-push, owner))  # by sentence, strongest push first
            rank = np.arange(order.size) - np.searchsorted(owner[order], owner[order])
            keep = order[(rank < explain) & (push[order] > 0)]
            for sentence, feature in zip(owner[keep].tolist(), flat[keep].tolist(), strict=True):
                evidence[sentence].append(self._names[feature])
        return Prediction(proba=proba, best=best, evidence=evidence)

    def predict_proba(self, features: dict[str, float]) -> np.ndarray:
        """Calibrated class probabilities for one sentence's features."""
        return self.predict_many([features]).proba[0]

    def restricted(self, classes: Sequence[str]) -> LinearHead:
        """The same model over some of its classes only (same features and temperature).

        The four-way model's label head: the softmax of its three label rows
        is P(label | claim), the four-way probabilities of the labels
        renormalised to sum to one.
        """
        rows = [self.classes.index(c) for c in classes]
        return LinearHead(
            classes=tuple(classes),
            index=self.index,
            coef=self.coef[rows],
            intercept=self.intercept[rows],
            beta=self.beta,
        )

    @classmethod
    def from_pipeline(cls, pipe, *, beta: float) -> LinearHead:
        """Export a fitted stage Pipeline (see `classify.build_linear`) at inverse temperature `beta`."""
        vectorizer = pipe.named_steps["vectorize"]
        estimator = pipe.named_steps["classify"]
        return cls(
            classes=tuple(str(c) for c in estimator.classes_),
            index={name: i for i, name in enumerate(vectorizer.feature_names_)},
            coef=np.asarray(estimator.coef_, dtype=np.float64),
            intercept=np.asarray(estimator.intercept_, dtype=np.float64),
            beta=float(beta),
        )


@dataclass(frozen=True)
class ModelBundle:
    """A loaded model: the four-way head, its label head and their metadata.

    `claim` is the whole four-way model (not a claim + three labels); `label`
    is its three label rows (`LinearHead.restricted`).
    """

    path: Path
    meta: dict
    claim: LinearHead
    label: LinearHead

    def predict(
        self, features: list[dict[str, float]], *, threshold: float, explain: int = 0
    ) -> tuple[np.ndarray, np.ndarray, Prediction | None]:
        """Every sentence's claim probability, the rows at or over `threshold` (the claims), and
        the label head's prediction for those rows (None when there are none)."""
        encoded = self.claim.encode(features)
        claim_p = self.claim_probability(self.claim.predict_encoded(encoded).proba)
        rows = np.flatnonzero(claim_p >= threshold)
        if not rows.size:
            return claim_p, rows, None
        # Both heads share one feature index, so a sentence is looked up once.
        return claim_p, rows, self.label.predict_encoded(encoded.take(rows), explain=explain)

    def claim_probability(self, proba: np.ndarray) -> np.ndarray:
        """P(claim) from the four-way head's class probabilities: 1 - P(not a claim)."""
        return claim_probability(proba, self.claim.classes)

    @property
    def info(self) -> ModelInfo:
        """Name, version and training size, as reports show them."""
        return ModelInfo(
            name=self.meta.get("name", MODEL_NAME),
            version=self.meta.get("version", ""),
            trained_examples=int(self.meta.get("trained_examples", 0)),
        )


def claim_probability(proba: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """P(claim) from the four-way model's class probabilities: 1 - P(not a claim)."""
    return 1.0 - proba[:, [str(c) for c in classes].index(NOT_A_CLAIM)]


def save_model(folder: Path, stage, *, beta: float, meta: dict) -> Path:
    """Write stages.skops, weights.npz and meta.json into `folder`."""
    import sklearn
    import skops.io as sio

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sio.dump({"model": stage, "beta": float(beta)}, folder / STAGES_FILE)
    head = LinearHead.from_pipeline(stage, beta=beta)
    np.savez_compressed(
        folder / WEIGHTS_FILE,
        classes=np.array(head.classes),
        features=np.array(list(head.index)),
        coef=head.coef,
        intercept=head.intercept,
        beta=np.array(head.beta),
    )
    created = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    full_meta = {
        "name": MODEL_NAME,
        "version": f"{__version__}+{created}",
        "format": FORMAT_VERSION,
        "created": created,
        "labels": [label.value for label in LABELS],
        "versions": {
            "healthclaims": __version__,
            "scikit-learn": sklearn.__version__,
            "spacy": installed_version("spacy"),
            "numpy": np.__version__,
            "skops": installed_version("skops"),
        },
        **meta,
    }
    (folder / META_FILE).write_text(json.dumps(full_meta, indent=2) + "\n", "utf-8")
    return folder


def read_meta(folder: Path) -> dict:
    """meta.json of a model folder, checked for format, sklearn version and label set."""
    folder = Path(folder)
    meta_path = folder / META_FILE
    if not meta_path.is_file():
        raise ModelError(f"No model at {folder} ({META_FILE} missing). Run 'make train' or pass --model DIR.")
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelCorruptError(
            f"{meta_path} is not valid JSON ({err}). Run 'make train' to rebuild it."
        ) from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        raise ModelVersionError(
            f"{folder} is model format {meta.get('format') if isinstance(meta, dict) else '?'}, "
            f"this healthclaims reads format {FORMAT_VERSION}. Run 'make train'."
        )
    trained_with = meta.get("versions", {}).get("scikit-learn")
    installed = installed_version("scikit-learn")
    if trained_with != installed:
        raise ModelVersionError(
            f"The model at {folder} was trained with scikit-learn {trained_with} but {installed} is installed. "
            "Run 'make train'."
        )
    expected = [label.value for label in LABELS]
    if meta.get("labels") != expected:
        raise ModelLabelError(
            f"The model at {folder} predicts labels {meta.get('labels')}, expected {expected}. Run 'make train'."
        )
    return meta


def load_model(folder: Path) -> ModelBundle:
    """Load a model folder for prediction (no scikit-learn import)."""
    folder = Path(folder)
    meta = read_meta(folder)
    weights = folder / WEIGHTS_FILE
    try:
        with np.load(weights, allow_pickle=False) as data:
            claim = LinearHead(
                classes=tuple(str(c) for c in data["classes"]),
                index={str(f): i for i, f in enumerate(data["features"].tolist())},
                coef=data["coef"],
                intercept=data["intercept"],
                beta=float(data["beta"]),
            )
    except FileNotFoundError as err:
        raise ModelError(f"No weights at {weights}. Run 'make train' or pass --model DIR.") from err
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise ModelCorruptError(f"{weights} is corrupt or incomplete ({err}). Run 'make train'.") from err
    n_classes, n_features = len(claim.classes), len(claim.index)
    if claim.coef.shape != (n_classes, n_features) or claim.intercept.shape != (n_classes,):
        raise ModelCorruptError(
            f"{weights}: the weights do not match their feature and class lists. Run 'make train'."
        )
    labels = [label.value for label in LABELS]
    if sorted(claim.classes) != sorted([*labels, NOT_A_CLAIM]):
        raise ModelLabelError(
            f"{weights}: classes {claim.classes} differ from the taxonomy's labels and {NOT_A_CLAIM!r}."
        )
    label = claim.restricted([c for c in claim.classes if c != NOT_A_CLAIM])
    return ModelBundle(path=folder, meta=meta, claim=claim, label=label)


def load_stages(folder: Path) -> dict:
    """The fitted sklearn stage and its temperature from stages.skops, trusting only the types we save."""
    import skops.io as sio

    path = Path(folder) / STAGES_FILE
    read_meta(folder)
    try:
        untrusted = sio.get_untrusted_types(file=path)
        allowed = [t for t in untrusted if t.startswith(("sklearn.", "numpy.", "builtins."))]
        if len(allowed) != len(untrusted):
            raise ModelCorruptError(
                f"{path} holds types we do not save: {sorted(set(untrusted) - set(allowed))}."
            )
        return sio.load(path, trusted=allowed)
    except FileNotFoundError as err:
        raise ModelError(f"No {STAGES_FILE} in {folder}. Run 'make train'.") from err
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
        raise ModelCorruptError(f"{path} is corrupt ({err}). Run 'make train'.") from err

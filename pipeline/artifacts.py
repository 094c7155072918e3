"""Model artifacts: save with skops, load the exported weights fast, check versions.

A model folder holds
- `stages.skops`: the two fitted sklearn Pipelines (claim, label), saved with
  skops, loadable for retraining, evaluation and inspection;
- `weights.npz`: the same models' learned numbers (feature names, coefficients,
  intercepts, calibration temperature), exported at save time and read with
  `allow_pickle=False`. Prediction uses these, so annotating an article does
  not import scikit-learn at all; a test checks both give the same
  probabilities;
- `meta.json`: versions, label set, corpus hash, training size and
  cross-validated metrics.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from pipeline import __version__
from pipeline.errors import ModelCorruptError, ModelError, ModelLabelError, ModelVersionError
from pipeline.schema import LABELS, ModelInfo

MODEL_NAME = "healthclaims-default"
STAGES_FILE, WEIGHTS_FILE, META_FILE = "stages.skops", "weights.npz", "meta.json"
FORMAT_VERSION = 1


def installed_version(package: str) -> str:
    """The installed version of a distribution, or 'missing'."""
    try:
        return version(package)
    except PackageNotFoundError:
        return "missing"


@dataclass(frozen=True)
class LinearHead:
    """A calibrated linear classifier over named binary features.

    Mirrors DictVectorizer -> Normalizer(l2) -> CalibratedClassifierCV(
    LogisticRegression, method="temperature", ensemble=False).
    """

    classes: tuple[str, ...]
    index: dict[str, int]
    coef: np.ndarray  # (n_rows, n_features); one row for a binary stage
    intercept: np.ndarray  # (n_rows,)
    beta: float  # inverse temperature

    def __post_init__(self) -> None:
        # One contiguous row of class weights per feature makes the gather cheap.
        object.__setattr__(self, "_rows", np.ascontiguousarray(self.coef.T))

    def _decision(self, features: dict[str, float]) -> tuple[np.ndarray, list[int]]:
        index = self.index
        idx = [index[name] for name in features if name in index]
        if not idx:
            return self.intercept.copy(), idx
        return self._rows[idx].sum(axis=0) / np.sqrt(len(idx)) + self.intercept, idx

    def predict_proba(self, features: dict[str, float]) -> np.ndarray:
        """Calibrated class probabilities for one sentence's features."""
        decision, _ = self._decision(features)
        logits = np.array([-decision[0], decision[0]]) if decision.shape[0] == 1 else decision
        scaled = self.beta * logits
        scaled -= scaled.max()
        exp = np.exp(scaled)
        return exp / exp.sum()

    def explain(self, features: dict[str, float], class_index: int, *, top: int = 3) -> list[str]:
        """The features that pushed most towards `class_index`, strongest first."""
        _, idx = self._decision(features)
        if not idx:
            return []
        rows = self._rows[idx]
        if rows.shape[1] == 1:
            weights = rows[:, 0] * (1 if class_index == 1 else -1)
        else:
            weights = rows[:, class_index] - rows.mean(axis=1)
        names = list(self.index)
        order = np.argsort(weights)[::-1][:top]
        return [names[idx[i]] for i in order if weights[i] > 0]

    @classmethod
    def from_pipeline(cls, pipe) -> LinearHead:
        """Export a fitted stage Pipeline (see `classify.build_stage`)."""
        vectorizer = pipe.named_steps["vectorize"]
        calibrated = pipe.named_steps["classify"].calibrated_classifiers_[0]
        estimator = calibrated.estimator
        return cls(
            classes=tuple(str(c) for c in pipe.named_steps["classify"].classes_),
            index={name: i for i, name in enumerate(vectorizer.feature_names_)},
            coef=np.asarray(estimator.coef_, dtype=np.float64),
            intercept=np.asarray(estimator.intercept_, dtype=np.float64),
            beta=float(np.asarray(calibrated.calibrators[0].beta_)),
        )


@dataclass(frozen=True)
class ModelBundle:
    """A loaded model: the claim and label heads plus their metadata."""

    path: Path
    meta: dict
    claim: LinearHead
    label: LinearHead

    @property
    def info(self) -> ModelInfo:
        """Name, version and training size, as reports show them."""
        return ModelInfo(
            name=self.meta.get("name", MODEL_NAME),
            version=self.meta.get("version", ""),
            trained_examples=int(self.meta.get("trained_examples", 0)),
        )


def save_model(folder: Path, claim_stage, label_stage, *, meta: dict) -> Path:
    """Write stages.skops, weights.npz and meta.json into `folder`."""
    import sklearn
    import skops.io as sio

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sio.dump({"claim": claim_stage, "label": label_stage}, folder / STAGES_FILE)
    arrays = {}
    for stage_name, stage in (("claim", claim_stage), ("label", label_stage)):
        head = LinearHead.from_pipeline(stage)
        arrays[f"{stage_name}_classes"] = np.array(head.classes)
        arrays[f"{stage_name}_features"] = np.array(list(head.index))
        arrays[f"{stage_name}_coef"] = head.coef
        arrays[f"{stage_name}_intercept"] = head.intercept
        arrays[f"{stage_name}_beta"] = np.array(head.beta)
    np.savez_compressed(folder / WEIGHTS_FILE, **arrays)
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
            heads = {
                name: LinearHead(
                    classes=tuple(str(c) for c in data[f"{name}_classes"]),
                    index={str(f): i for i, f in enumerate(data[f"{name}_features"].tolist())},
                    coef=data[f"{name}_coef"],
                    intercept=data[f"{name}_intercept"],
                    beta=float(data[f"{name}_beta"]),
                )
                for name in ("claim", "label")
            }
    except FileNotFoundError as err:
        raise ModelError(f"No weights at {weights}. Run 'make train' or pass --model DIR.") from err
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise ModelCorruptError(f"{weights} is corrupt or incomplete ({err}). Run 'make train'.") from err
    for name, head in heads.items():
        if head.coef.shape[1] != len(head.index) or head.coef.shape[0] != head.intercept.shape[0]:
            raise ModelCorruptError(
                f"{weights}: the {name} weights do not match their feature list. Run 'make train'."
            )
    if sorted(heads["label"].classes) != sorted(label.value for label in LABELS):
        raise ModelLabelError(f"{weights}: label classes {heads['label'].classes} differ from the taxonomy.")
    return ModelBundle(path=folder, meta=meta, claim=heads["claim"], label=heads["label"])


def load_stages(folder: Path) -> dict:
    """The fitted sklearn stages from stages.skops, trusting only the types we save."""
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

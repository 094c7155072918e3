"""Evaluation: score the pipeline against labelled articles and an outside benchmark.

`evaluate_articles` runs the whole checker on articles in the eval-dev format
and scores it sentence by sentence, matching each gold sentence to the
predicted sentence that overlaps it most (the product may split sentences
differently from the annotators). `evaluate_fullfact` scores the label
classifier alone on Full Fact's labelled claims. The metrics come from
sklearn; this module only decides what is compared with what.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import bootstrap
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from pipeline.checker import Checker
from pipeline.classify import expected_calibration_error
from pipeline.corpus import GoldArticle, GoldSentence, best_overlaps
from pipeline.errors import CorpusError
from pipeline.extract import precedence_label, whole_doc_sentence
from pipeline.features import featurize
from pipeline.schema import ATTRIBUTES, LABELS, Article, Claim

NOT_A_CLAIM = "not a claim"
LABEL_NAMES = [label.value for label in LABELS]
FULLFACT_MAPPING = {"citation": "study-backed", "personal": "anecdotal", "promotion": "promotional"}
FULLFACT_NOT_A_CLAIM = "not a claim"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One gold sentence beside what the pipeline said about the text it covers."""

    article: str
    gold: GoldSentence
    claim: bool
    label: str | None
    confidence: float | None
    claim_probability: float
    attrs: frozenset[str]
    predicted_text: str


def match_sentences(gold: Sequence[GoldSentence], predicted: Sequence[Claim]) -> list[Claim | None]:
    """For each gold sentence, the predicted sentence that overlaps it most (None when none does)."""
    return best_overlaps(gold, predicted)


def run_articles(checker: Checker, articles: Sequence[GoldArticle]) -> list[Outcome]:
    """Annotate every gold article and pair each gold sentence with the prediction for it."""
    inputs = [Article(id=art.id, source="gold", text=art.text, title=art.title) for art in articles]
    outcomes = []
    for art, report in zip(articles, checker.check_many(inputs), strict=True):
        matched = match_sentences(art.sentences, report.sentences)  # both in text order
        for gold, pred in zip(art.sentences, matched, strict=True):
            outcomes.append(
                Outcome(
                    article=art.id,
                    gold=gold,
                    claim=bool(pred and pred.is_claim),
                    label=pred.label.value if pred and pred.label else None,
                    confidence=pred.confidence if pred else None,
                    claim_probability=pred.claim_probability if pred else 0.0,
                    attrs=frozenset(k for k, v in pred.attributes.items() if v) if pred else frozenset(),
                    predicted_text=pred.text if pred else "",
                )
            )
    return outcomes


def _prf(y_true, y_pred, **kwargs) -> dict[str, float]:
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, zero_division=0.0, **kwargs)
    return {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4)}


def score_outcomes(outcomes: Sequence[Outcome]) -> dict:
    """Claim detection, labels on found claims, the confusion matrix, calibration and attributes."""
    if not outcomes:
        raise CorpusError("No gold sentences to score.")
    gold_claim = np.array([o.gold.claim for o in outcomes])
    pred_claim = np.array([o.claim for o in outcomes])
    claim = _prf(gold_claim, pred_claim, average="binary")
    claim["gold_claims"], claim["predicted_claims"] = int(gold_claim.sum()), int(pred_claim.sum())

    found = [o for o in outcomes if o.gold.claim and o.claim]
    y_true = [o.gold.label for o in found]
    y_pred = [o.label for o in found]
    per_label = {}
    if found:
        p, r, f, support = precision_recall_fscore_support(
            y_true, y_pred, labels=LABEL_NAMES, zero_division=0.0
        )
        for i, name in enumerate(LABEL_NAMES):
            per_label[name] = {
                "precision": round(float(p[i]), 4),
                "recall": round(float(r[i]), 4),
                "f1": round(float(f[i]), 4),
                "support": int(support[i]),
            }
    present = sorted(set(y_true), key=LABEL_NAMES.index)
    _, macro, label_ece = _headline(outcomes)

    rows = [NOT_A_CLAIM, *LABEL_NAMES]
    matrix = confusion_matrix(
        [o.gold.label if o.gold.claim else NOT_A_CLAIM for o in outcomes],
        [o.label if o.claim else NOT_A_CLAIM for o in outcomes],
        labels=rows,
    )
    claim_ece = expected_calibration_error(
        np.array([o.claim_probability for o in outcomes]), gold_claim.astype(float)
    )
    attributes = {}  # stays empty for gold without attribute labels (corpus/checks/)
    for attr in ATTRIBUTES if any(o.gold.attrs for o in outcomes) else ():
        has_gold = [attr in o.gold.attrs for o in found]
        has_pred = [attr in o.attrs for o in found]
        scores = _prf(has_gold, has_pred, average="binary", labels=[True]) if found else {}
        attributes[attr] = {**scores, "gold": int(sum(has_gold)), "predicted": int(sum(has_pred))}
    return {
        "sentences": len(outcomes),
        "articles": len({o.article for o in outcomes}),
        "claim": claim,
        "labels": {
            "found_claims": len(found),
            "accuracy": round(float(np.mean([t == p for t, p in zip(y_true, y_pred, strict=True)])), 4)
            if found
            else 0.0,
            "macro_f1": round(macro, 4),
            "macro_over": present,
            "per_label": per_label,
        },
        "confusion": {"labels": rows, "matrix": matrix.tolist()},
        "calibration": {
            "label_ece": round(label_ece, 4),
            "label_ece_if_calibrated": ece_if_calibrated(
                np.array([o.confidence for o in found], dtype=float)
            ),
            "claim_ece": round(claim_ece, 4),
        },
        "attributes": attributes,
    }


INTERVAL_LEVEL = 0.95
INTERVAL_RESAMPLES = 1000


def _headline(outcomes: Sequence[Outcome]) -> tuple[float, float, float]:
    """Claim F1, label macro-F1 on found claims and label ECE (as `score_outcomes` computes them)."""
    gold = np.array([o.gold.claim for o in outcomes])
    pred = np.array([o.claim for o in outcomes])
    hits = int((gold & pred).sum())
    claim_f1 = 2 * hits / (gold.sum() + pred.sum()) if hits else 0.0
    found = [o for o in outcomes if o.gold.claim and o.claim]
    if not found:
        return claim_f1, 0.0, 0.0
    y_true = [o.gold.label for o in found]
    y_pred = [o.label for o in found]
    present = sorted(set(y_true), key=LABEL_NAMES.index)
    macro = f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0.0)
    ece = expected_calibration_error(
        np.array([o.confidence for o in found], dtype=float),
        np.array([t == q for t, q in zip(y_true, y_pred, strict=True)]),
    )
    return claim_f1, float(macro), ece


def intervals(
    outcomes: Sequence[Outcome], *, resamples: int = INTERVAL_RESAMPLES, seed: int = 0
) -> dict[str, list[float]]:
    """95% percentile-bootstrap intervals of claim F1, label macro-F1 and label ECE.

    The unit resampled is the article, not the sentence: sentences of one
    article share a writer and a subject, so they are not independent, and
    a gold set of a dozen articles is far less certain than its few hundred
    sentences suggest.
    """
    by_article: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_article.setdefault(outcome.article, []).append(outcome)
    groups = list(by_article.values())
    if len(groups) < 2:
        return {}

    def statistic(chosen: np.ndarray) -> np.ndarray:
        return np.array(_headline([o for i in chosen for o in groups[int(i)]]))

    result = bootstrap(
        (np.arange(len(groups)),),
        statistic,
        n_resamples=resamples,
        confidence_level=INTERVAL_LEVEL,
        method="percentile",
        vectorized=False,
        random_state=seed,
    )
    low, high = result.confidence_interval
    return {
        name: [round(float(lo), 4), round(float(hi), 4)]
        for name, lo, hi in zip(("claim_f1", "label_macro_f1", "label_ece"), low, high, strict=True)
    }


def ece_if_calibrated(confidence: np.ndarray, *, draws: int = 2000, seed: int = 0) -> dict[str, float]:
    """The ECE a perfectly calibrated model with these confidences would show on this many claims.

    Each draw makes every prediction right with probability equal to its
    confidence (consistency resampling, Bröcker and Smith 2007) and
    measures ECE. On a few dozen claims the binned ECE of a perfect model
    is far from zero; a measured ECE inside this range cannot be told from
    perfect calibration.
    """
    confidence = np.asarray(confidence, dtype=float)
    if confidence.size == 0:
        return {}
    rng = np.random.default_rng(seed)
    sampled = [
        expected_calibration_error(confidence, rng.random(confidence.size) < confidence) for _ in range(draws)
    ]
    low, median, high = np.percentile(sampled, [5, 50, 95])
    return {"median": round(float(median), 4), "p5": round(float(low), 4), "p95": round(float(high), 4)}


def errors(outcomes: Sequence[Outcome], *, limit: int = 40) -> list[dict]:
    """The sentences the pipeline got wrong, most confident mistakes first, for error analysis."""
    wrong = []
    for o in outcomes:
        gold = o.gold.label if o.gold.claim else NOT_A_CLAIM
        pred = o.label if o.claim else NOT_A_CLAIM
        if gold != pred:
            sureness = o.confidence if o.claim and o.gold.claim else abs(o.claim_probability - 0.5) * 2
            row = {
                "article": o.article,
                "gold": gold,
                "predicted": pred,
                "claim_probability": o.claim_probability,
                "confidence": o.confidence,
                "text": o.gold.text,
            }
            wrong.append((sureness or 0.0, row))
    wrong.sort(key=lambda pair: -pair[0])
    return [row for _, row in wrong[:limit]]


def load_fullfact(path: Path) -> list[tuple[str, str]]:
    """(claim text, Full Fact type) rows of the benchmark CSV that have a mapped type or are 'not a claim'."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as err:
        raise CorpusError(f"Cannot read {path}: {err.strerror or err}.") from err
    if rows and not {"output_text", "type_of_claim"} <= set(rows[0]):
        raise CorpusError(f"{path} has no output_text and type_of_claim columns.")
    wanted = {*FULLFACT_MAPPING, FULLFACT_NOT_A_CLAIM}
    return [
        (row["output_text"].strip(), row["type_of_claim"].strip().lower())
        for row in rows
        if row["type_of_claim"].strip().lower() in wanted and row["output_text"].strip()
    ]


def evaluate_fullfact(checker: Checker, rows: Sequence[tuple[str, str]]) -> dict:
    """The label classifier on Full Fact's claims, each claim taken as one sentence.

    Labels are scored on the mapped rows whatever the claim detector says
    (this checks the label classifier); the claim detector is reported
    separately, as its recall on the mapped claims and how many of the
    'not a claim' rows it wrongly takes for claims.
    """
    sentences = [whole_doc_sentence(doc) for doc in checker.nlp.pipe(text for text, _ in rows)]
    feats = [featurize(sent) if sent else {} for sent in sentences]
    claim_p = checker.model.claim_probability(checker.model.claim.predict_many(feats).proba)
    label_pred = checker.model.label.predict_many(feats)
    classes = checker.model.label.classes
    mapped = [i for i, (_, kind) in enumerate(rows) if kind in FULLFACT_MAPPING]
    negatives = [i for i, (_, kind) in enumerate(rows) if kind == FULLFACT_NOT_A_CLAIM]
    y_true = [FULLFACT_MAPPING[rows[i][1]] for i in mapped]
    y_pred = [precedence_label(classes[int(label_pred.best[i])], sentences[i]) for i in mapped]
    threshold = checker.settings.claim_threshold
    p, r, f, support = precision_recall_fscore_support(y_true, y_pred, labels=LABEL_NAMES, zero_division=0.0)
    return {
        "rows": len(mapped),
        "macro_f1": round(float(f1_score(y_true, y_pred, labels=LABEL_NAMES, average="macro")), 4),
        "accuracy": round(float(np.mean([t == q for t, q in zip(y_true, y_pred, strict=True)])), 4),
        "per_label": {
            name: {
                "precision": round(float(p[i]), 4),
                "recall": round(float(r[i]), 4),
                "f1": round(float(f[i]), 4),
                "support": int(support[i]),
            }
            for i, name in enumerate(LABEL_NAMES)
        },
        "confusion": {
            "labels": LABEL_NAMES,
            "matrix": confusion_matrix(y_true, y_pred, labels=LABEL_NAMES).tolist(),
        },
        "claim_recall_on_mapped": round(float(np.mean(claim_p[mapped] >= threshold)), 4) if mapped else 0.0,
        "not_a_claim_rows": len(negatives),
        "not_a_claim_taken_for_claims": int(np.sum(claim_p[negatives] >= threshold)) if negatives else 0,
    }


def gold_hash(folder: Path, *, articles: Path | None = None) -> str:
    """SHA-256 of a gold folder's articles.jsonl (or `articles`) and gold.jsonl, to pin a baseline to its data."""
    digest = hashlib.sha256()
    for name, path in (
        ("articles.jsonl", articles or Path(folder) / "articles.jsonl"),
        ("gold.jsonl", Path(folder) / "gold.jsonl"),
    ):
        digest.update(name.encode())
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


# --- reports -----------------------------------------------------------------


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _floor_lines(floor: dict | None, n_claims: int) -> list[str]:
    if not floor:
        return []
    return [
        f"A perfectly calibrated model with these confidences would show a label ECE of {floor['median']:.3f} "
        f"on {n_claims} claims (90% of draws {floor['p5']:.3f}–{floor['p95']:.3f}).",
    ]


def _interval_lines(found: dict | None) -> list[str]:
    if not found:
        return []
    names = {"claim_f1": "claim F1", "label_macro_f1": "label macro-F1", "label_ece": "label ECE"}
    spans = ", ".join(f"{names[key]} {lo:.3f}–{hi:.3f}" for key, (lo, hi) in found.items())
    return [
        "",
        f"{INTERVAL_LEVEL:.0%} intervals, resampling whole articles ({INTERVAL_RESAMPLES} bootstrap samples): {spans}.",
    ]


def to_markdown(result: dict) -> str:
    """The evaluation as Markdown tables (what `healthclaims evaluate` prints)."""
    gold = result["gold"]
    claim, labels = gold["claim"], gold["labels"]
    parts = [
        f"## Gold articles: {result['gold_path']}",
        f"{gold['articles']} articles, {gold['sentences']} sentences, model `{result['model']}`.",
        "",
        "### Claim detection",
        _table(
            ["precision", "recall", "F1", "gold claims", "predicted claims"],
            [
                [
                    f"{claim['precision']:.3f}",
                    f"{claim['recall']:.3f}",
                    f"**{claim['f1']:.3f}**",
                    claim["gold_claims"],
                    claim["predicted_claims"],
                ]
            ],
        ),
        "",
        f"### Labels on the {labels['found_claims']} correctly found claims",
        _table(
            ["label", "precision", "recall", "F1", "support"],
            [
                [name, f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['f1']:.3f}", s["support"]]
                for name, s in labels["per_label"].items()
            ]
            + [["**macro**", "", "", f"**{labels['macro_f1']:.3f}**", ""]],
        ),
        "",
        f"Accuracy {labels['accuracy']:.3f}. Calibration: label ECE {gold['calibration']['label_ece']:.3f}, "
        f"claim-probability ECE {gold['calibration']['claim_ece']:.3f}.",
        *_floor_lines(gold["calibration"].get("label_ece_if_calibrated"), labels["found_claims"]),
        *_interval_lines(gold.get("intervals")),
        "",
        "### Confusion matrix (rows gold, columns predicted)",
        _table(
            ["gold \\ predicted", *gold["confusion"]["labels"]],
            [
                [name, *row]
                for name, row in zip(gold["confusion"]["labels"], gold["confusion"]["matrix"], strict=True)
            ],
        ),
        "",
        "### Attributes on found claims",
        _table(
            ["attribute", "precision", "recall", "gold", "predicted"],
            [
                [name, f"{s.get('precision', 0):.3f}", f"{s.get('recall', 0):.3f}", s["gold"], s["predicted"]]
                for name, s in gold["attributes"].items()
            ],
        )
        if gold["attributes"]
        else "This gold set labels no attributes.",
    ]
    ff = result.get("fullfact")
    if ff:
        parts += [
            "",
            f"## Full Fact benchmark: {result['fullfact_path']}",
            f"Label classifier on {ff['rows']} mapped claims: macro-F1 **{ff['macro_f1']:.3f}**, "
            f"accuracy {ff['accuracy']:.3f}.",
            "",
            _table(
                ["label", "precision", "recall", "F1", "support"],
                [
                    [name, f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['f1']:.3f}", s["support"]]
                    for name, s in ff["per_label"].items()
                ],
            ),
            "",
            f"Claim detector: finds {ff['claim_recall_on_mapped']:.0%} of the mapped claims; takes "
            f"{ff['not_a_claim_taken_for_claims']} of {ff['not_a_claim_rows']} 'not a claim' rows for claims.",
        ]
    return "\n".join(parts) + "\n"


def write_confusion_png(result: dict, path: Path) -> Path:
    """The gold-set confusion matrix as a PNG (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    confusion = result["gold"]["confusion"]
    display = ConfusionMatrixDisplay(np.array(confusion["matrix"]), display_labels=confusion["labels"])
    fig, ax = plt.subplots(figsize=(6.5, 5.5), dpi=120)
    display.plot(ax=ax, cmap="Blues", colorbar=False, xticks_rotation=30)
    ax.set_title(f"healthclaims on {Path(result['gold_path']).name}: gold (rows) vs predicted")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_reports(result: dict, out_dir: Path) -> list[Path]:
    """evaluation.md, evaluation.json and confusion.png in `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "evaluation.md"
    md.write_text(to_markdown(result), encoding="utf-8")
    js = out_dir / "evaluation.json"
    js.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [md, js, write_confusion_png(result, out_dir / "confusion.png")]

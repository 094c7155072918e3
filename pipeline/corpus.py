"""The labelled corpus: sentence files and whole articles, loaded and validated.

Two formats, both documented in corpus/README.md:
- `corpus/sentences/*.jsonl`: one labelled sentence a line.
- `corpus/articles/{articles,gold}.jsonl`: whole articles labelled sentence by
  sentence, the same format as the evaluation set (`../shared/eval-dev`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pipeline.errors import CorpusError
from pipeline.schema import ATTRIBUTES, LABELS, Sentence

T = TypeVar("T")
_LABEL_VALUES = {label.value for label in LABELS}


@dataclass(frozen=True, slots=True)
class GoldSentence:
    """One labelled sentence: standalone, or a span of a labelled article."""

    text: str
    claim: bool
    label: str | None
    attrs: tuple[str, ...] = ()
    start: int = 0
    end: int = 0
    context: str = ""
    topic: str = ""
    genre: str = ""
    section: str = ""


@dataclass(frozen=True, slots=True)
class GoldArticle:
    """A whole article with its sentences labelled (eval-dev format)."""

    id: str
    text: str
    title: str
    collection: str
    sentences: tuple[GoldSentence, ...]


def _check_row(row: dict, where: str) -> GoldSentence:
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise CorpusError(f"{where}: 'text' must be a non-empty string.")
    claim = row.get("claim")
    if not isinstance(claim, bool):
        raise CorpusError(f"{where}: 'claim' must be true or false, not {claim!r}.")
    label = row.get("label")
    if claim and label not in _LABEL_VALUES:
        raise CorpusError(f"{where}: label {label!r} is not one of {', '.join(sorted(_LABEL_VALUES))}.")
    if not claim and label is not None:
        raise CorpusError(f"{where}: a non-claim must have label null, not {label!r}.")
    attrs = row.get("attrs") or []
    unknown = [attr for attr in attrs if attr not in ATTRIBUTES]
    if unknown:
        raise CorpusError(f"{where}: attribute(s) {unknown} not among {', '.join(ATTRIBUTES)}.")
    return GoldSentence(
        text=text.strip(),
        claim=claim,
        label=label if claim else None,
        attrs=tuple(attrs),
        start=int(row.get("start", 0)),
        end=int(row.get("end", 0)),
        context=str(row.get("context") or ""),
        topic=str(row.get("topic") or ""),
        genre=str(row.get("genre") or ""),
    )


def _read_jsonl(path: Path) -> Iterable[tuple[int, dict]]:
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise CorpusError(f"{path} cannot be read: {err}.") from err
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise CorpusError(f"{path} line {number}: not valid JSON ({err.msg}).") from err
        if not isinstance(row, dict):
            raise CorpusError(f"{path} line {number}: expected a JSON object.")
        yield number, row


def load_sentences(folder: Path) -> list[GoldSentence]:
    """Every labelled sentence in `folder/*.jsonl`, each tagged with its section (file stem)."""
    sentences = []
    for path in sorted(Path(folder).glob("*.jsonl")):
        for number, row in _read_jsonl(path):
            sent = _check_row(row, f"{path} line {number}")
            sentences.append(_with_section(sent, path.stem))
    return sentences


def _with_section(sent: GoldSentence, section: str) -> GoldSentence:
    return GoldSentence(
        text=sent.text,
        claim=sent.claim,
        label=sent.label,
        attrs=sent.attrs,
        start=sent.start,
        end=sent.end,
        context=sent.context,
        topic=sent.topic,
        genre=sent.genre,
        section=section,
    )


def load_gold_articles(folder: Path, *, articles: Path | None = None) -> list[GoldArticle]:
    """Articles and their sentence labels from `folder/articles.jsonl` and `folder/gold.jsonl`.

    A gold row may leave out `text`; it is then read from the article at the
    row's offsets. `articles` names another file of article texts (`{"id",
    "text", ...}` a line, such as `../shared/corpora/fakehealth.jsonl`); then
    only the articles the gold names are kept.
    """
    folder = Path(folder)
    articles_path, gold_path = Path(articles or folder / "articles.jsonl"), folder / "gold.jsonl"
    for path in (articles_path, gold_path):
        if not path.is_file():
            raise CorpusError(
                f"{path} is missing; a gold folder holds articles.jsonl and gold.jsonl "
                "(or gold.jsonl alone, with the texts named by `healthclaims evaluate --articles FILE`)."
            )
    texts: dict[str, dict] = {}
    for number, row in _read_jsonl(articles_path):
        if not isinstance(row.get("text"), str):
            raise CorpusError(f"{articles_path} line {number}: 'text' must be a string.")
        texts[str(row.get("id"))] = row
    rows: dict[str, list[GoldSentence]] = {}
    for number, row in _read_jsonl(gold_path):
        where = f"{gold_path} line {number}"
        art_id = str(row.get("article"))
        if art_id not in texts:
            raise CorpusError(f"{where}: article {art_id!r} is not in {articles_path}.")
        if "text" not in row:
            row["text"] = texts[art_id]["text"][int(row.get("start", 0)) : int(row.get("end", 0))]
        rows.setdefault(art_id, []).append(_check_row(row, where))
    gold_articles = []
    for art_id, row in texts.items():
        if articles is not None and art_id not in rows:
            continue
        text = row["text"]
        sents = tuple(sorted(rows.get(art_id, []), key=lambda s: s.start))
        for sent in sents:
            if text[sent.start : sent.end].strip() != sent.text:
                raise CorpusError(
                    f"{gold_path}: article {art_id} offsets {sent.start}-{sent.end} do not hold {sent.text[:40]!r}."
                )
        gold_articles.append(
            GoldArticle(
                id=art_id,
                text=text,
                title=str(row.get("title") or ""),
                collection=str(row.get("collection") or row.get("genre") or ""),
                sentences=sents,
            )
        )
    return gold_articles


def best_overlaps(items: Sequence, spans: Sequence[T]) -> list[T | None]:
    """For each item, the span overlapping it most (None when none does).

    Both sequences hold objects with character `start` and `end`, sorted by
    `start`; one forward sweep pairs them.
    """
    matched: list[T | None] = []
    j = 0
    for item in items:
        while j < len(spans) and spans[j].end <= item.start:
            j += 1
        best, best_overlap = None, 0
        k = j
        while k < len(spans) and spans[k].start < item.end:
            overlap = min(item.end, spans[k].end) - max(item.start, spans[k].start)
            if overlap > best_overlap:
                best, best_overlap = spans[k], overlap
            k += 1
        matched.append(best)
    return matched


def align(sentences: Sequence[Sentence], gold: Sequence[GoldSentence]) -> list[GoldSentence | None]:
    """For each predicted sentence, the gold sentence it overlaps most (None when none)."""
    return best_overlaps(sentences, gold)


def corpus_hash(root: Path) -> str:
    """SHA-256 over the corpus files training reads, so a model records exactly what it learnt from."""
    digest = hashlib.sha256()
    root = Path(root)
    for path in sorted([*root.glob("sentences/*.jsonl"), *root.glob("articles/*.jsonl")]):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()

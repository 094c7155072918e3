"""Checker: the spaCy stage plus the learned four-way model, article in, report out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from pathlib import Path

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch

from pipeline.artifacts import ModelBundle, load_model
from pipeline.extract import (
    PRECEDENCE_EVIDENCE,
    precedence_label,
    sentence_attributes,
    sentences_from_doc,
    vague_evidence,
)
from pipeline.features import featurize
from pipeline.flags import review_flags
from pipeline.nlp import build_nlp
from pipeline.schema import Article, ArticleReport, Claim, Label, Sentence
from pipeline.settings import Settings

_LABELS = {label.value: label for label in Label}
_FEATURE_WORDS = {
    "w": "word",
    "b": "words",
    "cue": "cue",
    "ent": "entity",
    "shape": "form",
    "prev_cue": "previous sentence cue",
    "prev": "previous sentence",
    "first": "first word",
    "len": "length",
}


@cache
def describe_feature(name: str) -> str:
    """A feature name in words, for explanations ("cue=study:study-verb" -> "cue study (study-verb)")."""
    kind, _, value = name.partition("=")
    value = value.replace("_", " ") if kind == "b" else value
    if kind == "cue" and ":" in value:
        cue_kind, _, pattern = value.partition(":")
        value = f"{cue_kind} ({pattern})"
    return (
        f"{_FEATURE_WORDS.get(kind, kind)} {value!r}"
        if kind in {"w", "b", "first"}
        else f"{_FEATURE_WORDS.get(kind, kind)} {value}"
    )


class Checker:
    """Annotates articles: finds claims, labels them, adds attributes and flags."""

    def __init__(self, nlp: Language, model: ModelBundle, settings: Settings) -> None:
        self.nlp = nlp
        self.model = model
        self.settings = settings

    @classmethod
    def from_model_dir(cls, model_dir: Path, settings: Settings, *, base: str | None = None) -> Checker:
        """Load a model folder and build the spaCy stage."""
        return cls(build_nlp(base=base), load_model(model_dir), settings)

    def check(self, article: Article) -> ArticleReport:
        """The report for one article."""
        return next(self.check_many([article]))

    def check_many(self, articles: Iterable[Article], *, batch_size: int = 32) -> Iterator[ArticleReport]:
        """Reports for many articles, in order, streaming through `nlp.pipe` a batch at a time."""
        pairs = self.nlp.pipe(((a.text, a) for a in articles), as_tuples=True, batch_size=batch_size)
        for batch in minibatch(pairs, size=batch_size):
            yield from self.reports_from_docs([(article, doc) for doc, article in batch])

    def reports_from_docs(self, pairs: Sequence[tuple[Article, Doc]]) -> list[ArticleReport]:
        """Score the sentences of processed Docs into one `ArticleReport` per Doc.

        Three passes over all the sentences of the batch at once (numpy's cost
        per call is paid once per batch, not once per article): features for
        every candidate sentence, the claim head over all of them, the label
        head over the claims.
        """
        documents = [sentences_from_doc(doc) for _, doc in pairs]
        candidates = [
            (n, i)
            for n, sentences in enumerate(documents)
            for i, sent in enumerate(sentences)
            if sent.candidate
        ]
        features = [featurize(documents[n][i], documents[n][i - 1] if i else None) for n, i in candidates]
        claim_probability = [[0.0] * len(sentences) for sentences in documents]
        label_of: dict[tuple[int, int], int] = {}
        if candidates:
            positive, claim_rows, labelled = self.model.predict(
                features, threshold=self.settings.claim_threshold, explain=3
            )
            for (n, i), p in zip(candidates, positive.tolist(), strict=True):
                claim_probability[n][i] = p
            label_of = {candidates[row]: k for k, row in enumerate(claim_rows.tolist())}
        if label_of:
            shown = np.round(labelled.proba, 4).tolist()  # as reports show them
            confidence = labelled.proba.max(axis=1).tolist()
            best = labelled.best.tolist()
        reports = []
        for n, ((article, _), sentences) in enumerate(zip(pairs, documents, strict=True)):
            article_cites = any(cue.kind == "citation" for sent in sentences for cue in sent.cues)
            scored, number = [], 0
            for i, sent in enumerate(sentences):
                k = label_of.get((n, i))
                if k is None:
                    scored.append(self._not_claim(article, sent, claim_probability[n][i]))
                    continue
                number += 1
                scored.append(
                    self._claim(
                        article,
                        sent,
                        number=number,
                        claim_probability=claim_probability[n][i],
                        proba=shown[k],
                        confidence=confidence[k],
                        best=best[k],
                        evidence=labelled.evidence[k],
                        article_cites=article_cites,
                    )
                )
            reports.append(ArticleReport(article=article, sentences=tuple(scored), model=self.model.info))
        return reports

    def _not_claim(self, article: Article, sent: Sentence, claim_probability: float) -> Claim:
        return Claim(
            id=f"{article.id}:s{sent.start}",
            text=sent.text,
            start=sent.start,
            end=sent.end,
            is_claim=False,
            claim_probability=round(claim_probability, 4),
            label=None,
            confidence=None,
            probabilities={},
            attributes=sentence_attributes(sent),
            cues=sent.cues,
            entities=sent.entities,
            flags=(),
        )

    def _claim(
        self,
        article: Article,
        sent: Sentence,
        *,
        number: int,
        claim_probability: float,
        proba: list[float],
        confidence: float,
        best: int,
        evidence: list[str],
        article_cites: bool,
    ) -> Claim:
        classes = self.model.label.classes
        chosen = precedence_label(classes[best], sent)
        overruled = chosen != classes[best]  # the taxonomy's precedence overrules the label
        if overruled:
            confidence = proba[classes.index(chosen)]
        label = _LABELS[chosen]
        attributes = sentence_attributes(sent)
        attributes["vague_evidence"] = label == Label.STUDY and vague_evidence(
            sent, article_cites=article_cites
        )
        return Claim(
            id=f"{article.id}:c{number}",
            text=sent.text,
            start=sent.start,
            end=sent.end,
            is_claim=True,
            claim_probability=round(claim_probability, 4),
            label=label,
            confidence=round(confidence, 4),
            probabilities=dict(zip(classes, proba, strict=True)),
            attributes=attributes,
            cues=sent.cues,
            entities=sent.entities,
            flags=review_flags(label, confidence, attributes, sent.cues, threshold=self.settings.threshold),
            evidence=((PRECEDENCE_EVIDENCE,) if overruled else ())
            + tuple(describe_feature(name) for name in evidence),
        )

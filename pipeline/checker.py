"""Checker: the spaCy stage plus the two learned stages, article in, report out."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc

from pipeline.artifacts import ModelBundle, load_model
from pipeline.extract import sentence_attributes, sentences_from_doc
from pipeline.features import featurize
from pipeline.flags import review_flags
from pipeline.nlp import build_nlp
from pipeline.schema import Article, ArticleReport, Claim, Label, Sentence
from pipeline.settings import Settings

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
        """Reports for many articles, in order, streaming through `nlp.pipe`."""
        pairs = self.nlp.pipe(((a.text, a) for a in articles), as_tuples=True, batch_size=batch_size)
        for doc, article in pairs:
            yield self.report_from_doc(article, doc)

    def report_from_doc(self, article: Article, doc: Doc) -> ArticleReport:
        """Score the sentences of a processed Doc into an `ArticleReport`."""
        started = time.perf_counter()
        sentences = sentences_from_doc(doc)
        article_cites = any("citation" in sent.cue_kinds for sent in sentences)
        scored = []
        n_claims = 0
        for i, sent in enumerate(sentences):
            previous = sentences[i - 1] if i else None
            claim = self._score(
                article, sent, previous, article_cites=article_cites, claim_number=n_claims + 1
            )
            n_claims += claim.is_claim
            scored.append(claim)
        return ArticleReport(
            article=article,
            sentences=tuple(scored),
            model=self.model.info,
            elapsed=time.perf_counter() - started,
        )

    def _score(
        self,
        article: Article,
        sent: Sentence,
        previous: Sentence | None,
        *,
        article_cites: bool,
        claim_number: int,
    ) -> Claim:
        attributes = sentence_attributes(sent)
        claim_probability = 0.0
        features = None
        if sent.candidate:
            features = featurize(sent, previous)
            claim_probability = float(self.model.claim.predict_proba(features)[1])
        if claim_probability < self.settings.claim_threshold:
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
                attributes=attributes,
                cues=sent.cues,
                entities=sent.entities,
                flags=(),
            )
        proba = self.model.label.predict_proba(features)
        best = int(proba.argmax())
        label = Label(self.model.label.classes[best])
        confidence = float(proba[best])
        attributes["vague_evidence"] = label == Label.STUDY and not article_cites
        evidence = tuple(describe_feature(name) for name in self.model.label.explain(features, best))
        return Claim(
            id=f"{article.id}:c{claim_number}",
            text=sent.text,
            start=sent.start,
            end=sent.end,
            is_claim=True,
            claim_probability=round(claim_probability, 4),
            label=label,
            confidence=round(confidence, 4),
            probabilities={
                cls: round(float(p), 4) for cls, p in zip(self.model.label.classes, proba, strict=True)
            },
            attributes=attributes,
            cues=sent.cues,
            entities=sent.entities,
            flags=review_flags(label, confidence, attributes, sent.cues, threshold=self.settings.threshold),
            evidence=evidence,
        )

"""The labelled corpus: size, coverage, format, and its distance from eval-dev."""

import json
import re
from collections import Counter

import pytest

from pipeline.corpus import load_gold_articles, load_sentences
from pipeline.errors import CorpusError

from .conftest import CHECK, FAKEHEALTH, ROOT, SHARED

CORPUS = ROOT / "corpus"
# Subjects of the eval-dev articles, as word stems: no corpus topic may contain one
# ("osteoporosis-drugs" and "colon-cancer" are caught too), so eval-dev measures unseen subjects.
EVAL_DEV_SUBJECTS = (
    "carotid",
    "prostate",
    "psychosis",
    "skin-cancer",
    "melanoma",
    "merkel",
    "ovarian",
    "osteoporosis",
    "lung-cancer",
    "alzheimer",
    "dementia",
    "colorectal",
    "colon",
    "bowel-cancer",
    "late-life-anxiety",
    "metformin",
)


def _eval_dev_subjects(topics):
    return {topic for topic in topics if any(stem in topic for stem in EVAL_DEV_SUBJECTS)}


def _articles_meta():
    return [json.loads(line) for line in (CORPUS / "articles" / "articles.jsonl").read_text().splitlines()]


def test_corpus_size_and_coverage():
    sentences = load_sentences(CORPUS / "sentences")
    articles = load_gold_articles(CORPUS / "articles")
    gold = [s for a in articles for s in a.sentences]
    assert len(sentences) + len(gold) >= 3000
    assert len(articles) >= 30
    topics = {s.topic for s in sentences} | {a["topic"] for a in _articles_meta()}
    assert len(topics) >= 40
    genres = Counter(s.genre for s in sentences)
    assert set(genres) == {
        "clinic-marketing",
        "product-page",
        "health-news",
        "press-release",
        "personal-blog",
        "medical-reference",
    }
    share = sum(not s.claim for s in [*sentences, *gold]) / (len(sentences) + len(gold))
    assert 0.35 <= share <= 0.6, share
    labels = Counter(s.label for s in [*sentences, *gold] if s.claim)
    assert min(labels.values()) >= 300


def test_corpus_keeps_away_from_eval_dev():
    sentences = load_sentences(CORPUS / "sentences")
    assert not _eval_dev_subjects({s.topic for s in sentences})
    assert not _eval_dev_subjects({a["topic"] for a in _articles_meta()})
    gold_file = SHARED / "eval-dev" / "gold.jsonl"
    if gold_file.is_file():
        dev = {json.loads(line)["text"].strip().lower() for line in gold_file.read_text().splitlines()}
        ours = {s.text.strip().lower() for s in sentences}
        ours |= {s.text.strip().lower() for a in load_gold_articles(CORPUS / "articles") for s in a.sentences}
        shared = {text for text in ours & dev if len(text) > 50}  # short boilerplate lines may coincide
        assert not shared


def test_articles_modelled_on_real_news_copy_no_wording():
    """Articles whose layout follows a FakeHealth article: never an eval-dev one, never its sentences."""
    modelled = {a["id"]: a["structure_from"] for a in _articles_meta() if a.get("structure_from")}
    assert len(modelled) >= 100
    texts = {a["id"]: a["text"] for a in _articles_meta()}
    dev_ids = SHARED / "eval-dev" / "articles.jsonl"
    if dev_ids.is_file():
        dev = {json.loads(line)["id"] for line in dev_ids.read_text().splitlines()}
        assert not set(modelled.values()) & dev
    source_file = SHARED / "corpora" / "fakehealth.jsonl"
    if source_file.is_file():
        wanted = set(modelled.values())
        sources = {}
        for line in source_file.read_text().splitlines():
            row = json.loads(line)
            if row["id"] in wanted:
                sources[row["id"]] = row.get("text") or ""
        for article_id, source_id in modelled.items():
            # no run of 10 words in common: names and stock phrases ("the U.S. Food and
            # Drug Administration", "said in a news release from the") are shorter
            shared = _word_runs(texts[article_id], 10) & _word_runs(sources[source_id], 10)
            assert not shared, (article_id, sorted(shared)[:3])


def _word_runs(text, n):
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_gold_rows_without_text_read_it_from_an_articles_file(tmp_path):
    text, claim = (
        "Title\n\nZinc shortened colds by two days. The trial ran in 2019.",
        "Zinc shortened colds by two days.",
    )
    start = text.index(claim)
    texts = tmp_path / "texts.jsonl"
    texts.write_text(
        json.dumps({"id": "a", "text": text})
        + "\n"
        + json.dumps({"id": "b", "text": "Nobody labelled this one."})
        + "\n"
    )
    gold = tmp_path / "check"
    gold.mkdir()
    (gold / "gold.jsonl").write_text(
        json.dumps(
            {
                "article": "a",
                "i": 0,
                "start": start,
                "end": start + len(claim),
                "claim": True,
                "label": "promotional",
            }
        )
        + "\n"
    )
    with pytest.raises(CorpusError, match="--articles"):
        load_gold_articles(gold)  # no articles.jsonl of its own
    (article,) = load_gold_articles(gold, articles=texts)  # "b" has no labels, so it is left out
    assert article.id == "a"
    assert [s.text for s in article.sentences] == [claim]
    (gold / "gold.jsonl").write_text(
        json.dumps({"article": "c", "i": 0, "start": 0, "end": 5, "claim": False, "label": None}) + "\n"
    )
    with pytest.raises(CorpusError, match="'c' is not in"):
        load_gold_articles(gold, articles=texts)


def test_fakehealth_check_set_is_real_unseen_news(check_articles):
    """corpus/checks/fakehealth-blind labels 40 FakeHealth articles, none of them eval-dev's, by offsets only."""
    rows = [json.loads(line) for line in (CHECK / "gold.jsonl").read_text().splitlines()]
    assert not any("text" in row for row in rows)  # no sentence from elsewhere is copied into corpus/
    assert len(check_articles) == 40
    eval_dev_urls = {
        json.loads(line)["url"] for line in (SHARED / "eval-dev" / "articles.jsonl").read_text().splitlines()
    }
    urls = {json.loads(line)["id"]: json.loads(line)["url"] for line in FAKEHEALTH.read_text().splitlines()}
    assert not {urls[a.id] for a in check_articles} & eval_dev_urls
    sentences = [s for a in check_articles for s in a.sentences]
    assert len(sentences) == len(rows)
    assert 0.25 < sum(s.claim for s in sentences) / len(sentences) < 0.5  # news: about a third are claims

"""Shared fixtures: blank-English spaCy stage and a model trained from the real corpus into tmp."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.checker import Checker
from pipeline.classify import train_model
from pipeline.nlp import build_nlp
from pipeline.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEED = SHARED / "seed-article.txt"
SAMPLE = ROOT / "corpus" / "samples" / "sample-article.txt"
FAKEHEALTH = SHARED / "corpora" / "fakehealth.jsonl"
CHECK = ROOT / "corpus" / "checks" / "fakehealth-blind"


@pytest.fixture(scope="session")
def nlp():
    return build_nlp()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory, nlp):
    """The default model, trained from corpus/ (no cross-validation) into a temporary folder."""
    out = tmp_path_factory.mktemp("model") / "default"
    train_model(ROOT / "corpus", out, nlp=nlp, cross_validate=False)
    return out


@pytest.fixture(scope="session")
def checker(model_dir, nlp):
    from pipeline.artifacts import load_model

    return Checker(nlp, load_model(model_dir), load_settings())


@pytest.fixture(scope="session")
def seed_text():
    if not SEED.is_file():
        pytest.skip("../shared/seed-article.txt is not present")
    return SEED.read_text("utf-8")


@pytest.fixture(scope="session")
def check_articles():
    """corpus/checks/fakehealth-blind, its texts read from ../shared/corpora/fakehealth.jsonl (loaded once)."""
    from pipeline.corpus import load_gold_articles

    if not FAKEHEALTH.is_file():
        pytest.skip("../shared/corpora/fakehealth.jsonl is not present")
    return load_gold_articles(CHECK, articles=FAKEHEALTH)

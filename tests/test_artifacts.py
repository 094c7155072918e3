import json
import shutil

import numpy as np
import pytest

from pipeline.artifacts import load_model, load_stages
from pipeline.classify import calibrated_proba
from pipeline.corpus import load_sentences
from pipeline.errors import ModelCorruptError, ModelError, ModelLabelError, ModelVersionError
from pipeline.extract import whole_doc_sentence
from pipeline.features import featurize

from .conftest import ROOT


@pytest.fixture()
def model_copy(model_dir, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(model_dir, target)
    return target


def test_artifacts_fast_heads_match_the_sklearn_stage(model_dir, nlp):
    """The exported weights give the skops-saved sklearn model's probabilities, and the label head
    gives P(label | claim): the model's label probabilities renormalised."""
    stages = load_stages(model_dir)
    stage = stages["model"]
    bundle = load_model(model_dir)
    sentences = load_sentences(ROOT / "corpus" / "sentences")[::37]
    feats = [featurize(whole_doc_sentence(doc)) for doc in nlp.pipe(s.text for s in sentences)]
    expected = calibrated_proba(stage, feats, stages["beta"])
    assert stages["beta"] == bundle.claim.beta == bundle.label.beta
    assert list(bundle.claim.classes) == [str(c) for c in stage.classes_]
    np.testing.assert_allclose(np.vstack([bundle.claim.predict_proba(f) for f in feats]), expected, atol=1e-9)
    columns = [list(bundle.claim.classes).index(c) for c in bundle.label.classes]
    assert sorted(bundle.label.classes) == ["anecdotal", "promotional", "study-backed"]
    conditional = expected[:, columns] / expected[:, columns].sum(axis=1, keepdims=True)
    np.testing.assert_allclose(
        np.vstack([bundle.label.predict_proba(f) for f in feats]), conditional, atol=1e-9
    )


def test_artifacts_both_stages_at_once_match_each_head(model_dir, nlp):
    """`ModelBundle.predict` looks features up once; it must agree with each head run alone."""
    bundle = load_model(model_dir)
    sentences = load_sentences(ROOT / "corpus" / "sentences")[::23]
    feats = [featurize(whole_doc_sentence(doc)) for doc in nlp.pipe(s.text for s in sentences)]
    claim_p, rows, labelled = bundle.predict(feats, threshold=0.5, explain=3)
    # the claim head has four classes; a sentence's claim probability is 1 - P("none")
    assert sorted(bundle.claim.classes) == ["anecdotal", "none", "promotional", "study-backed"]
    alone = 1.0 - bundle.claim.predict_many(feats).proba[:, bundle.claim.classes.index("none")]
    np.testing.assert_allclose(claim_p, alone, atol=1e-12)
    np.testing.assert_array_equal(rows, np.flatnonzero(alone >= 0.5))
    assert 0 < len(rows) < len(feats)
    expected = bundle.label.predict_many([feats[row] for row in rows], explain=3)
    np.testing.assert_allclose(labelled.proba, expected.proba, atol=1e-12)
    assert labelled.evidence == expected.evidence


def test_artifacts_meta_records_provenance(model_dir):
    meta = json.loads((model_dir / "meta.json").read_text())
    assert meta["labels"] == ["study-backed", "anecdotal", "promotional"]
    assert len(meta["corpus_hash"]) == 64
    assert meta["trained_examples"] > 800
    assert {"scikit-learn", "spacy", "numpy", "skops"} <= set(meta["versions"])


def test_artifacts_missing_model(tmp_path):
    with pytest.raises(ModelError, match=r"\[E301\] No model at .*make train"):
        load_model(tmp_path / "none")


def test_artifacts_other_sklearn_version_refused(model_copy):
    meta = json.loads((model_copy / "meta.json").read_text())
    meta["versions"]["scikit-learn"] = "0.24.2"
    (model_copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelVersionError, match=r"\[E302\] .*scikit-learn 0.24.2 .*make train"):
        load_model(model_copy)


def test_artifacts_other_label_set_refused(model_copy):
    meta = json.loads((model_copy / "meta.json").read_text())
    meta["labels"] = ["true", "false"]
    (model_copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLabelError, match=r"\[E303\]"):
        load_model(model_copy)


@pytest.mark.parametrize("victim", ["weights.npz", "meta.json"])
def test_artifacts_corrupt_file_refused(model_copy, victim):
    path = model_copy / victim
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ModelError, match=r"\[E30[14]\] .*(corrupt|not valid JSON)"):
        load_model(model_copy)


def test_artifacts_corrupt_skops_refused(model_copy):
    (model_copy / "stages.skops").write_bytes(b"not a zip file")
    with pytest.raises(ModelCorruptError, match=r"\[E304\]"):
        load_stages(model_copy)


def test_artifacts_older_model_format_refused(model_copy):
    """A model folder from before the four-way model (format 1: separate claim and label stages)."""
    meta = json.loads((model_copy / "meta.json").read_text())
    meta["format"] = 1
    (model_copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(
        ModelVersionError, match=r"\[E302\] .*model format 1, this healthclaims reads format 2"
    ):
        load_model(model_copy)

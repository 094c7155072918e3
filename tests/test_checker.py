"""The seed article's worked example (TAXONOMY.md) must come out as the table says."""

import pytest

from pipeline.extract import PRECEDENCE_EVIDENCE
from pipeline.schema import Article

# (start of the sentence, claim?, label, attributes that must be set)
WORKED_EXAMPLE = [
    ("Migraines are debilitating headaches characterized by intense pain", False, None, set()),
    (
        "In recent years, IV infusion therapy for migraines has emerged",
        True,
        "promotional",
        {"hedged", "hype"},
    ),
    ("This method allows for a quicker absorption", True, "promotional", set()),
    (
        "In a clinical trial, patients receiving IV magnesium sulfate",
        True,
        "study-backed",
        {"vague_evidence"},
    ),
    ("Patients who have tried IV infusion therapy for migraines often report", True, "anecdotal", set()),
    ("This is supported by evidence suggesting", True, "study-backed", {"vague_evidence", "hedged"}),
    (
        "It is in this context that IV infusion therapy for migraines is being explored",
        True,
        "promotional",
        {"hedged", "hype"},
    ),
    ("The actual infusion takes anywhere from 30 minutes to an hour", False, None, set()),
    ("Sign up for our Newsletter", False, None, set()),
]


@pytest.fixture(scope="module")
def seed_report(checker, seed_text):
    return checker.check(Article(id="seed-article", source="seed-article.txt", text=seed_text))


@pytest.mark.parametrize(
    ("opening", "is_claim", "label", "attrs"), WORKED_EXAMPLE, ids=[r[0][:30] for r in WORKED_EXAMPLE]
)
def test_checker_seed_worked_example(seed_report, opening, is_claim, label, attrs):
    matches = [s for s in seed_report.sentences if s.text.startswith(opening)]
    assert matches, f"no sentence starts with {opening!r}"
    for sent in matches:
        assert sent.is_claim is is_claim, sent
        if is_claim:
            assert sent.label == label
            on = {name for name, value in sent.attributes.items() if value}
            assert attrs <= on, f"{sent.text[:50]}: attributes {on} lack {attrs - on}"


def test_checker_offsets_and_ids(seed_report, seed_text):
    claims = seed_report.claims
    assert len(claims) >= 6
    for claim in claims:
        assert seed_text[claim.start : claim.end] == claim.text
        assert abs(sum(claim.probabilities.values()) - 1) < 1e-3
        # confidence is the probability of the label given: the label stage's best, unless the
        # taxonomy's precedence overruled it, which the explanation then says first
        assert claim.confidence == claim.probabilities[claim.label.value]
        overruled = claim.confidence < max(claim.probabilities.values())
        assert overruled == (claim.evidence[:1] == (PRECEDENCE_EVIDENCE,))
    assert len({c.id for c in claims}) == len(claims)
    summary = seed_report.summary
    assert summary["claims"] == len(claims)
    assert summary["evidence_share"] == pytest.approx(summary["study-backed"] / len(claims), abs=1e-4)


def test_checker_flags_follow_policy(seed_report):
    for claim in seed_report.claims:
        if claim.label == "promotional":
            assert "promotional" in claim.flags
        if claim.attributes["vague_evidence"]:
            assert "vague_evidence" in claim.flags
        if claim.attributes["absolute"]:
            assert "absolute" in claim.flags


def test_checker_named_source_is_not_vague(checker):
    text = (
        "Walking and the heart\n\n"
        "A 2022 study in JAMA Cardiology found that people who walked 7,000 steps a day had a lower risk of death.\n"
        "Researchers found that walking also lowered blood pressure.\n"
    )
    report = checker.check(Article(id="walk", source="-", text=text))
    study = [c for c in report.claims if c.label == "study-backed"]
    assert study and not any(c.attributes["vague_evidence"] for c in study)

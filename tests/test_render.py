import json

import pytest

from pipeline.render import render
from pipeline.schema import CUE_KINDS, Article

TEXT = (
    "Ginger & <Cancer>\n\n"
    "A 2020 trial in the Lancet found that ginger capsules reduced nausea after chemotherapy.\n"
    "Our miracle ginger shots cure nausea instantly! <script>alert('x')</script>\n"
    "I tried ginger tea and my morning sickness eased within days.\n"
    "The capsules contain 500 mg of dried root.\n"
)


@pytest.fixture(scope="module")
def report(checker):
    return checker.check(Article(id="ginger", source="ginger.txt", text=TEXT, title="Ginger & <Cancer>"))


def test_render_json_follows_contract(report):
    data = json.loads(render([report], "json"))
    assert data["schema"] == "healthclaims/report@1"
    assert data["article"] == {
        "id": "ginger",
        "source": "ginger.txt",
        "title": "Ginger & <Cancer>",
        "chars": len(TEXT),
    }
    assert set(data["summary"]) == {
        "claims",
        "study-backed",
        "anecdotal",
        "promotional",
        "flagged",
        "evidence_share",
    }
    assert data["claims"], "expected claims in the ginger text"
    for claim in data["claims"]:
        assert TEXT[claim["start"] : claim["end"]] == claim["text"]
        assert claim["label"] in {"study-backed", "anecdotal", "promotional"}
        assert set(claim["attributes"]) == {"cites_source", "vague_evidence", "hedged", "absolute", "hype"}
        assert claim["confidence"] == claim["probabilities"][claim["label"]]
        for cue in claim["cues"]:
            assert TEXT[cue["start"] : cue["end"]] == cue["text"]
            assert cue["kind"] in CUE_KINDS
        assert all(set(e) >= {"text", "label"} for e in claim["entities"])
    assert {"name", "version", "trained_examples"} <= set(data["model"])


def test_render_json_all_sentences_lists_non_claims(report):
    data = json.loads(render([report], "json", all_sentences=True))
    non_claims = [c for c in data["claims"] if not c["is_claim"]]
    assert non_claims and all(c["label"] is None for c in non_claims)


def test_render_json_array_for_several(report):
    data = json.loads(render([report, report], "json"))
    assert isinstance(data, list) and len(data) == 2


def test_render_jsonl_one_claim_per_line(report):
    lines = render([report], "jsonl").splitlines()
    assert len(lines) == len(report.claims)
    for line in lines:
        row = json.loads(line)
        assert row["article_id"] == "ginger" and row["label"]


def test_render_html_escapes_article_text(report):
    page = render([report], "html")
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page
    assert "Ginger &amp; &lt;Cancer&gt;" in page
    assert page.count("<mark ") == len(report.claims)
    for label in ("study-backed", "anecdotal", "promotional"):
        assert label in page


def test_render_markdown_and_terminal_show_the_same_claims(report):
    markdown = render([report], "markdown")
    terminal = render([report], "terminal")
    for claim in report.claims:
        assert claim.label.value in markdown and claim.label.value in terminal
    assert "\x1b[" not in terminal  # no colour unless asked
    assert "\x1b[" in render([report], "terminal", color=True)


def test_render_terminal_wraps_long_claims_under_their_label(checker):
    long_claim = (
        "In a randomised trial of 400 adults published in the Journal of Sleep Research, "
        "a nightly magnesium supplement shortened the time it took to fall asleep by twelve minutes "
        "and cut night-time waking by a third compared with placebo, the researchers reported."
    )
    report = checker.check(Article(id="sleep", source="sleep.txt", text=long_claim, title="Magnesium"))
    assert report.claims
    lines = render([report], "terminal").splitlines()
    first = next(i for i, line in enumerate(lines) if line.lstrip().startswith("In a randomised"))
    body = lines[first : first + 3]
    assert all(line.startswith("     ") for line in body)  # wrapped lines keep the indent
    assert " ".join(line.strip() for line in body).startswith(long_claim[:200])
    assert not any(line.endswith(" ") for line in lines)  # nothing padded to the right

import pytest

from pipeline.extract import precedence_label, sentences_from_doc
from pipeline.rules import load_cue_patterns, load_lexicon
from pipeline.schema import CUE_KINDS

ARTICLE = """Why Vitamin D Matters

Vitamin D is made in the skin. A 2019 trial in the BMJ found that it did not prevent fractures.
Benefits our readers report:
- better sleep
- fewer colds

I tried it for a month and my joint pain eased! This miracle pill may cure fatigue instantly.
Sign up for our newsletter
"""


def _sentences(nlp, text=ARTICLE):
    return sentences_from_doc(nlp(text))


@pytest.mark.parametrize(
    ("text", "hedged"),
    [
        ("WEDNESDAY, May 19, 2010 (HealthDay News) -- A scan predicts language delay.", False),
        ("The trial ended on 4 May and the drug lowered blood pressure.", False),
        ("May 2010 was when the trial began recruiting adults with asthma.", False),
        ("May help with sleep, the label says.", True),
        ("The drug may lower blood pressure in May, June and July.", True),
    ],
)
def test_nlp_month_may_is_not_a_hedge(nlp, text, hedged):
    (sentence,) = sentences_from_doc(nlp(text))
    assert ("hedge" in sentence.cue_kinds) is hedged
    sents = _sentences(nlp)
    assert sents[0].text == "Why Vitamin D Matters"
    assert sents[0].is_heading
    assert sents[1].text == "Vitamin D is made in the skin."
    assert not sents[1].is_heading


def test_nlp_list_items_are_their_own_sentences(nlp):
    texts = [s.text for s in _sentences(nlp)]
    assert "- better sleep" in texts and "- fewer colds" in texts
    assert "Benefits our readers report:" in texts


def test_nlp_offsets_point_into_text(nlp):
    for sent in _sentences(nlp):
        assert ARTICLE[sent.start : sent.end] == sent.text
        for cue in sent.cues:
            assert ARTICLE[cue.start : cue.end] == cue.text


def test_nlp_boilerplate_marked(nlp):
    last = _sentences(nlp)[-1]
    assert last.text == "Sign up for our newsletter" and last.is_boilerplate and not last.candidate


@pytest.mark.parametrize(
    ("text", "boilerplate"),
    [
        ("(MORE: Yoga Can Help Stroke Survivors Regain Their Balance)", True),
        ("(More on TIME.com: Coffee Drinking Linked With Lower Risk of Fatal Prostate Cancer)", True),
        ("Read more: why sleep matters for your heart", True),
        ("More patients now recover at home after the operation.", False),
    ],
)
def test_links_to_related_stories_are_boilerplate(text, boilerplate):
    from pipeline.extract import find_boilerplate

    assert find_boilerplate(text) is boilerplate


def test_nlp_everything_after_a_press_release_end_mark_is_boilerplate(nlp):
    """AP style ends a release with "###" (or "-30-"); the "About" paragraph after it is never a claim."""
    text = (
        "The drug cut migraine attacks by half in the trial, the researchers found.\n\n"
        "Patients on the drug also slept better.\n\n###\n\nAbout the Institute\n\n"
        "Our pioneering work led to immunotherapy, which treats cancer with minimal side effects. "
        "For more information, visit example.org."
    )
    sentences = sentences_from_doc(nlp(text))
    assert [s.candidate for s in sentences] == [True, True, False, False, False, False]
    # Without the end mark the same paragraph is body text.
    assert sentences_from_doc(nlp(text.replace("###", "")))[-2].candidate


def test_nlp_a_sentence_of_one_or_two_words_is_never_a_claim(nlp):
    """ "Thank you!", "Stress." and a split-off "Smith says." name no effect of anything."""
    text = 'Thank you!\n\nStress.\n\n"It cut my pain in half," Smith says. It works wonders for joint pain.'
    sentences = sentences_from_doc(nlp(text))
    assert [(s.text, s.candidate) for s in sentences] == [
        ("Thank you!", False),
        ("Stress.", False),
        ('"It cut my pain in half," Smith says.', True),
        ("It works wonders for joint pain.", True),
    ]


def test_nlp_cues_by_kind(nlp):
    by_text = {s.text: s for s in _sentences(nlp)}
    trial = by_text["A 2019 trial in the BMJ found that it did not prevent fractures."]
    assert {"study", "citation"} <= trial.cue_kinds
    anecdote = by_text["I tried it for a month and my joint pain eased!"]
    assert "anecdote" in anecdote.cue_kinds
    hype = by_text["This miracle pill may cure fatigue instantly."]
    assert {"hedge", "absolute", "promotion"} <= hype.cue_kinds


def test_nlp_entities_from_lexicons(nlp):
    sents = _sentences(nlp)
    labels = {(e.text.lower(), e.label) for s in sents for e in s.entities}
    assert ("vitamin d", "INTERVENTION") in labels
    assert ("fractures", "CONDITION") in labels
    assert ("fatigue", "CONDITION") in labels


def test_nlp_question_is_not_a_candidate(nlp):
    (sent,) = _sentences(nlp, "Can turmeric really ease arthritis pain?")
    assert sent.is_question and not sent.candidate


def test_rules_lexicons_are_large_and_disjoint():
    interventions, conditions = set(load_lexicon("interventions")), set(load_lexicon("conditions"))
    assert len(interventions) >= 300 and len(conditions) >= 300
    assert not interventions & conditions


def test_every_cue_phrase_is_found_by_the_cue_component(nlp):
    phrases = [p for p in load_cue_patterns() if p.phrase is not None]
    missed = [
        (p.kind, p.id, p.phrase)
        for p, doc in zip(phrases, nlp.pipe(p.phrase[0].upper() + p.phrase[1:] for p in phrases), strict=True)
        if (p.kind, p.id) not in {(span.label_, span.id_) for span in doc.spans["hc_cues"]}
    ]
    assert not missed
    assert {p.kind for p in load_cue_patterns()} == set(CUE_KINDS)  # every kind has patterns


def test_a_group_is_an_anecdote_cue_only_with_an_experience_verb(nlp):
    """ "many users find" is an anecdote (TAXONOMY.md); "many men who undergo a biopsy" is not."""
    from pipeline.extract import whole_doc_sentence

    group = whole_doc_sentence(
        nlp("An accurate test would mean that many men who now undergo biopsy could skip it.")
    )
    told = whole_doc_sentence(nlp("Many women say the cream eased their hot flushes within a week."))
    assert "anecdote" not in group.cue_kinds
    assert "anecdote" in told.cue_kinds


def test_plan_cues_tell_a_wish_from_a_promised_benefit(nlp):
    """TAXONOMY.md: hopes and plans are not claims, while "offers new hope" is promotional hype."""
    from pipeline.extract import whole_doc_sentence

    wish = whole_doc_sentence(nlp("The team hopes to test the implant in a larger trial next year."))
    promise = whole_doc_sentence(
        nlp("The therapy has emerged as an alternative, offering new hope for sufferers.")
    )
    assert "plan" in wish.cue_kinds and "promotion" not in wish.cue_kinds
    assert "promotion" in promise.cue_kinds and "plan" not in promise.cue_kinds


@pytest.mark.parametrize(
    ("text", "vague"),
    [
        ("Earlier studies found that people with those conditions had more complications.", True),
        ("Research has shown that many patients keep losing vision on eye drops.", True),
        ("Metformin has been shown to switch on an enzyme that slows tumour growth.", True),
        ("Bright light soon after waking helps reset the body clock, experts say.", True),
        # A sentence that refers back to the article's own study names it.
        ("The researchers found that women taking the drug had fewer night sweats.", False),
        ("These studies show that coaching can begin the week a concern is raised.", False),
        ("Professor Ferrer's earlier research showed that the oil kills lice.", False),
    ],
)
def test_vague_cues_mark_appeals_to_unnamed_research(nlp, text, vague):
    """TAXONOMY.md's vague_evidence: research the article never identifies ("studies show")."""
    from pipeline.extract import whole_doc_sentence

    assert ("vague" in whole_doc_sentence(nlp(text)).cue_kinds) is vague


def test_vague_evidence_needs_unnamed_research_or_an_article_without_sources(nlp):
    from pipeline.extract import sentences_from_doc, vague_evidence

    named, unnamed, own = sentences_from_doc(
        nlp(
            "The study, published in the Journal of Bone Research, found that the drug slowed bone loss. "
            "Other studies have shown that it can cause jaw problems. "
            "Earlier trials in Denmark, reported in The Lancet, found the same."
        )
    )
    assert not vague_evidence(named, article_cites=True)
    assert vague_evidence(unnamed, article_cites=True)
    assert not vague_evidence(own, article_cites=True)  # the sentence names its own source
    assert vague_evidence(named, article_cites=False)


@pytest.mark.parametrize(
    ("text", "absolute"),
    [
        ("This supplement is guaranteed to cure your back pain.", True),
        ("There is no cure, and current medicines only ease symptoms.", False),
        ("Hydrodilatation will not cure every frozen shoulder.", False),
        ("Cannabidiol isn't a miracle, but it does cut seizures.", False),
    ],
)
def test_a_negated_absolute_overstates_nothing(nlp, text, absolute):
    from pipeline.extract import sentence_attributes, whole_doc_sentence

    record = whole_doc_sentence(nlp(text))
    assert "absolute" in record.cue_kinds
    assert sentence_attributes(record)["absolute"] is absolute


def test_an_institution_citation_needs_a_name(nlp):
    """ "an Austrian hospital" or "our hospital" names nothing a reader could check."""
    doc = nlp(
        "Patients at an Austrian hospital did well. Our hospital agrees. "
        "Doctors at Southmead Hospital and Boston University disagree."
    )
    found = {span.text for span in doc.spans["hc_cues"] if span.label_ == "citation"}
    assert found == {"Southmead Hospital", "Boston University"}


def test_regex_cues_find_citations_acronyms_and_percentages(nlp):
    doc = nlp(
        "Smith et al. reported in the Journal of Clinical Nutrition that 23% of patients improved, "
        "the NHS said (Jones, 2019). See https://example.org/trial or NCT01234567 at Harvard University."
    )
    found = {(span.label_, span.id_, span.text) for span in doc.spans["hc_cues"]}
    assert ("citation", "author-year", "Smith et al.") in found
    assert ("citation", "journal", "Journal of Clinical Nutrition") in found
    assert ("study", "percent-finding", "23%") in found
    assert ("citation", "institution", "NHS") in found and ("study", "authority", "NHS") in found
    assert ("citation", "author-year", "(Jones, 2019)") in found
    assert ("citation", "link", "https://example.org/trial") in found
    assert ("citation", "trial-id", "NCT01234567") in found
    assert ("citation", "institution", "Harvard University") in found
    # Case matters for acronyms: "who" the pronoun is not the WHO.
    assert not any(
        span.id_ == "authority" for span in nlp("People who exercise sleep better.").spans["hc_cues"]
    )


def test_regex_cues_near_their_required_strings_find_what_a_full_scan_finds():
    """A regex with `requires` runs only near those strings; on real articles that loses no match."""
    import json

    from pipeline.components import REGEX_REACH, needle_windows

    from .conftest import SHARED

    corpus = SHARED / "corpora" / "fakehealth.jsonl"
    if not corpus.is_file():
        pytest.skip("../shared/corpora/fakehealth.jsonl is not present")
    with corpus.open(encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line, _ in zip(handle, range(300), strict=False)]
    regexes = {
        (p.regex, p.requires, p.reach or REGEX_REACH)
        for p in load_cue_patterns()
        if p.regex is not None and p.requires
    }
    assert len(regexes) >= 8
    compared = 0
    for regex, requires, reach in regexes:
        for text in texts:
            full = [m.span() for m in regex.finditer(text)]
            near = [
                m.span()
                for lo, hi in needle_windows(text, requires, reach=reach)
                for m in regex.finditer(text, lo, hi)
            ]
            assert near == full, (regex.pattern, text[:80])
            compared += len(full)
    assert compared > 500


@pytest.mark.parametrize(
    ("text", "label", "expected"),
    [
        (
            "Patients who have tried the drops often report clearer vision within days.",
            "promotional",
            "anecdotal",
        ),
        ("I tried the cream for a week and my rash faded.", "promotional", "anecdotal"),
        ("Patients often report less pain, and a 2020 trial found the same.", "promotional", "promotional"),
        ("Our cream clears rashes in days.", "promotional", "promotional"),
        ("Patients often report less pain after the injection.", "study-backed", "study-backed"),
    ],
)
def test_precedence_puts_an_anecdote_over_the_writers_word(nlp, text, label, expected):
    (sentence,) = sentences_from_doc(nlp(text))
    assert precedence_label(label, sentence) == expected

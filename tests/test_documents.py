from __future__ import annotations

import pytest

from model.documents import split_sentences
from model.labels import DEFAULT_LABELS
from tests.conftest import ROOT

CASES = {
    "abbreviations": (
        "Gen. Ali arrived in the U.S. on Jan. 3. He met Lt. Col. Smith at 9 a.m. in St. Louis. Talks ended.",
        ["Gen. Ali arrived in the U.S. on Jan. 3.", "He met Lt. Col. Smith at 9 a.m. in St. Louis.", "Talks ended."],
    ),
    "acronym_at_end": (
        "The envoy flew to the U.S. The talks began on Monday.",
        ["The envoy flew to the U.S.", "The talks began on Monday."],
    ),
    "quotes": (
        '"We have taken the town," a commander said. "The enemy fled!" Residents cheered.',
        ['"We have taken the town," a commander said.', '"The enemy fled!"', "Residents cheered."],
    ),
    "headline_and_byline": (
        "Rebels seize border town\n\nBy Jane Doe\n\nKABUL (Wire) - Fighters took the town. Officials confirmed it.",
        [
            "Rebels seize border town",
            "By Jane Doe",
            "KABUL (Wire) - Fighters took the town.",
            "Officials confirmed it.",
        ],
    ),
    "hard_wrap": (
        "Government forces retook the town after a week of\nheavy fighting, the ministry said.",
        ["Government forces retook the town after a week of\nheavy fighting, the ministry said."],
    ),
    "initials_and_numbers": (
        "John F. Kennedy visited Berlin in 1963. The crowd was estimated at 450,000. No. 10 said nothing.",
        ["John F. Kennedy visited Berlin in 1963.", "The crowd was estimated at 450,000.", "No. 10 said nothing."],
    ),
    "caption": (
        "Protesters in Minsk, Aug. 16, 2020. (Photo: Wire)\nCrowds filled the avenue.",
        ["Protesters in Minsk, Aug. 16, 2020.", "(Photo: Wire)", "Crowds filled the avenue."],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_tricky_text(name: str):
    text, expected = CASES[name]
    got = split_sentences(text)
    assert [s.text for s in got] == expected
    for s in got:
        assert text[s.start : s.end] == s.text


def test_offsets_always_slice_back_on_the_sample_article():
    text = (ROOT / "seeds" / "sample_article.txt").read_text(encoding="utf-8")
    sentences = split_sentences(text)
    assert len(sentences) >= 15
    assert all(text[s.start : s.end] == s.text for s in sentences)
    assert [s.start for s in sentences] == sorted(s.start for s in sentences)


def test_empty_and_bad_input():
    assert split_sentences("") == [] and split_sentences("  \n\n ") == []
    with pytest.raises(TypeError):
        split_sentences(None)  # type: ignore[arg-type]


SEED_ARTICLE_LABELS = ROOT / "benchmarks" / "data" / "seed_article_2014_iraq.labels.json"


def test_seed_article_labels_align_with_the_splitter():
    """The hand labels of the project's seed article (guideline v2) match the splitter's sentences one to one."""
    import json

    spec = json.loads(SEED_ARTICLE_LABELS.read_text(encoding="utf-8"))
    article = ROOT / spec["article"]
    if not article.is_file():
        pytest.skip(f"{article} is not beside this checkout")
    sentences = split_sentences(article.read_text(encoding="utf-8"))
    assert [s["index"] for s in spec["sentences"]] == list(range(len(sentences)))
    for row, sentence in zip(spec["sentences"], sentences):
        assert sentence.text.startswith(row["starts"]), (row["index"], sentence.text[:40])
        assert row["label"] in DEFAULT_LABELS
    labels = {row["label"] for row in spec["sentences"]}
    assert labels == set(DEFAULT_LABELS)  # the article reports all four events and none

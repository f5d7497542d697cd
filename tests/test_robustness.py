"""Bad and strange input at the inference entry points: defined results or errors that name the item."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import EventClassifier, extract_events, split_sentences

STRANGE = {
    "control characters": "Jets\x00 struck\x07 the\x1b town\x7f.",
    "emoji": "🚀💥 Drones hit the depot 🔥🔥",
    "right-to-left": "قصفت طائرات حربية البلدة يوم الأحد",
    "mixed scripts": "Протестующие marched through Kyiv, 示威者 said.",
    "html": "<p>Rebels <b>seized</b> the town&nbsp;of X.</p><script>alert(1)</script>",
    "zero-width": "\u200bThe\u200d envoy\ufeff arrived.",
    "long text": "The army shelled the town. " * 4000,
    "single character": "x",
    "numbers only": "2014-06-22 13:45 1,234",
}


@pytest.fixture(scope="module")
def clf(trained_tiny: Path) -> EventClassifier:
    return EventClassifier.from_pretrained(trained_tiny)


def test_strange_texts_get_one_result_each_in_order(clf: EventClassifier):
    texts = list(STRANGE.values())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        preds = clf.predict(texts)
    assert len(preds) == len(texts)
    assert any("truncated" in str(w.message) for w in caught)  # the 100,000-character text
    for text, pred in zip(texts, preds):
        assert pred == clf.predict([text])[0] or text == STRANGE["long text"]
        assert abs(sum(pred.probabilities.values()) - 1) < 1e-5


@given(st.lists(st.text(min_size=0, max_size=200), min_size=0, max_size=6))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_arbitrary_unicode_never_crashes(clf: EventClassifier, texts: list[str]):
    blank = [i for i, t in enumerate(texts) if not t.strip()]
    if blank:
        with pytest.raises(ValueError, match=rf"texts\[{blank[0]}\] is empty"):
            clf.predict(texts)
        return
    first = clf.predict(texts)
    assert len(first) == len(texts)
    for p in first:
        assert abs(sum(p.probabilities.values()) - 1) < 1e-5
        assert p.label in clf.labels
    assert clf.predict(texts) == first  # deterministic
    np.testing.assert_allclose(clf.predict_proba(list(reversed(texts)))[::-1], clf.predict_proba(texts), atol=1e-5)


@given(st.text(max_size=400))
@settings(max_examples=150, deadline=None)
def test_sentence_offsets_always_slice_back(text: str):
    sentences = split_sentences(text)
    for s in sentences:
        assert text[s.start : s.end] == s.text and s.text.strip() == s.text and s.text
    assert [s.start for s in sentences] == sorted(s.start for s in sentences)
    assert all(a.end <= b.start for a, b in zip(sentences, sentences[1:]))


@given(st.text(max_size=300))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_extract_events_on_arbitrary_articles(clf: EventClassifier, text: str):
    rows = extract_events(text, clf)
    assert len(rows) == len(split_sentences(text))
    assert all(text[r["start"] : r["end"]] == r["sentence"] for r in rows)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (None, TypeError, "list of strings"),
        (b"bytes", TypeError, "list of strings"),
        ([b"bytes"], TypeError, r"texts\[0\] is bytes"),
        (["fine", ["nested"]], TypeError, r"texts\[1\] is list"),
        (["fine", ""], ValueError, r"texts\[1\] is empty"),
        (["fine", "\n\t "], ValueError, r"texts\[1\] is empty"),
        (["fine", float("nan")], TypeError, r"texts\[1\] is float"),
    ],
)
def test_bad_items_raise_named_errors(clf: EventClassifier, value, error, message):
    with pytest.raises(error, match=message):
        clf.predict(value)


def test_bare_string_and_empty_inputs(clf: EventClassifier):
    assert clf.predict("Jets struck the town.").label in clf.labels
    assert clf.predict([]) == [] and clf.predict(()) == []
    assert clf.predict_proba([]).shape == (0, 5)
    assert extract_events("", clf) == [] and extract_events("   \n\n ", clf) == []

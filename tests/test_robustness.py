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


def test_lone_surrogates_are_replaced_and_reported(clf: EventClassifier):
    broken = "Jets\udcff struck the town."  # what undecodable bytes become with errors="surrogateescape"
    with pytest.warns(UnicodeWarning, match=r"lone surrogate .*texts\[1\].*replaced with U\+FFFD"):
        preds = clf.predict(["Crowds marched.", broken])
    assert preds[1] == clf.predict("Jets\ufffd struck the town.")
    with pytest.warns(UnicodeWarning):
        assert len(extract_events("Crowds marched. " + broken, clf)) == 2


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def test_invalid_utf8_on_stdin_is_replaced_and_reported(trained_tiny: Path, monkeypatch, capsys):
    import json

    from model.cli import extract_main
    from model.cli import main as predict_main

    _stdin(monkeypatch, b"Jets struck the town.\nCaf\xe9 bombed \xff\xfe.\n")
    assert predict_main(["--checkpoint", str(trained_tiny), "--format", "jsonl"]) == 0
    out, err = capsys.readouterr()
    assert [json.loads(x)["sentence"] for x in out.splitlines()] == [
        "Jets struck the town.",
        "Caf\ufffd bombed \ufffd\ufffd.",
    ]
    assert "standard input: not valid UTF-8 at line(s) 2" in err and "replaced with U+FFFD" in err

    _stdin(monkeypatch, b"Jets struck the town. Caf\xe9 bombed.")
    with pytest.warns(UnicodeWarning, match="<stdin>: not valid UTF-8 at line.s. 1"):
        assert extract_main(["-", "--checkpoint", str(trained_tiny)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_extract_skips_unreadable_files_and_keeps_every_other_row(trained_tiny: Path, tmp_path: Path, capsys):
    import json

    from model.cli import extract_main

    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text("Jets struck the town. Crowds marched.", encoding="utf-8")
    (folder / "b.txt").write_bytes("Caf\xe9 bombed.".encode("latin-1"))
    (folder / "c.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (folder / "d.txt").write_bytes("Rebels took the port.".encode("utf-16"))
    (folder / "e.txt").write_text("The envoy arrived in Rome.", encoding="utf-8")
    out = tmp_path / "events.jsonl"
    assert extract_main([str(folder), "--checkpoint", str(trained_tiny), "-o", str(out)]) == 1
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(Path(r["document"]).name, r["sentence_index"], r["error"] is None) for r in rows] == [
        ("a.txt", 0, True),
        ("a.txt", 1, True),
        ("b.txt", None, False),  # each bad file keeps its place as an error row
        ("c.txt", None, False),
        ("d.txt", None, False),
        ("e.txt", 0, True),
    ]
    assert rows[2]["error"].startswith("not valid UTF-8 (line 1, byte 3)") and rows[2]["label"] is None
    err = capsys.readouterr().err
    assert "error" in err and "b.txt: not valid UTF-8 (line 1, byte 3)" in err
    assert "c.txt: not valid UTF-8" in err and "d.txt: " in err
    assert "3 file(s) could not be read" in err


def test_stream_events_flushes_inside_a_long_document(clf: EventClassifier, monkeypatch: pytest.MonkeyPatch):
    from model.inference import stream_events

    sizes = []
    real = clf.predict

    def predict(texts, **kwargs):
        sizes.append(len(texts))
        return real(texts, **kwargs)

    monkeypatch.setattr(clf, "predict", predict)
    article = "Jets struck the town. " * 50  # 50 sentences in one document
    rows = list(stream_events([("long", article)], clf, buffer_sentences=8, progress=False))
    assert [r["sentence_index"] for r in rows] == list(range(50))
    assert max(sizes) <= 8  # never the whole document at once

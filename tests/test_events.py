"""Multi-label mode, calibration, abstention and standard event codes (tiny model and fixtures)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from model import EventClassifier, load_config
from model.codes import codes_for, event_codes
from model.labels import DEFAULT_LABELS
from tests.conftest import TOY, toy_rows, write_jsonl
from training.calibration import choose_thresholds, expected_calibration_error, fit_temperature
from training.data import DataError, load_labelled_file
from training.trainer import train

EVENTS = [x for x in DEFAULT_LABELS if x != "none"]


def test_code_mapping_is_complete():
    codes = event_codes()
    assert set(codes) == set(DEFAULT_LABELS)
    for label in DEFAULT_LABELS:
        assert set(codes[label]) >= {"acled", "cameo", "plover"}
    for label in EVENTS:
        assert codes[label]["cameo"] and codes[label]["plover"], label
        assert all(c["code"].isdigit() for c in codes[label]["cameo"])
    for label in ("territorial_gain", "airstrike", "rally"):
        assert codes[label]["acled"], label
    assert [c["code"] for c in codes_for("diplomatic_visit")["cameo"]] == ["042", "043"]
    assert codes_for("custom_label") == {"acled": [], "cameo": [], "plover": []}


def test_temperature_scaling_reduces_ece_on_overconfident_logits():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 5, 2000)
    logits = rng.normal(0, 1, (2000, 5))
    logits[np.arange(2000), gold] += 1.5  # right about 60% of the time ...
    logits *= 4.0  # ... but far too sure of itself
    t = fit_temperature(logits, gold)
    soft = lambda z: np.exp(z - z.max(1, keepdims=True)) / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)  # noqa: E731
    before, after = expected_calibration_error(soft(logits), gold), expected_calibration_error(soft(logits / t), gold)
    assert t > 2.0
    assert after < before / 3


def test_thresholds_maximise_f1_per_label():
    probs = np.array([[0.9, 0.2, 0.0, 0.0, 0.1], [0.4, 0.7, 0.0, 0.0, 0.1], [0.35, 0.1, 0.0, 0.0, 0.8]])
    gold = [[0], [0, 1], [4]]
    th = choose_thresholds(probs, gold, list(DEFAULT_LABELS), "none")
    assert set(th) == set(EVENTS)
    assert 0.35 < th["territorial_gain"] <= 0.4  # keeps rows 0-1 (0.9, 0.4), drops row 2 (0.35)
    assert 0.2 < th["airstrike"] <= 0.7


def test_labels_column_parsing(tmp_path: Path):
    cfg = load_config(None)
    csv = tmp_path / "m.csv"
    csv.write_text(
        "text,label,labels\nTroops retook the town after air raids.,territorial_gain,territorial_gain;airstrike\nA rally.,rally,\n"
    )
    ds, _ = load_labelled_file(csv, cfg)
    assert ds["label_set"] == [[0, 1], [2]]
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"text": "x", "label": "rally", "labels": ["rally", "riot"]}])
    with pytest.raises(DataError, match=r"unknown labels in column 'labels': row 1: \['riot'\]"):
        load_labelled_file(bad, cfg)


@pytest.fixture(scope="module")
def multi_label_checkpoint(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("multi")
    rows = toy_rows() + [
        {
            "text": "Government forces retook the town after a week of air strikes.",
            "label": "territorial_gain",
            "labels": ["territorial_gain", "airstrike"],
        },
        {
            "text": "Jets bombed the square where protesters had gathered.",
            "label": "airstrike",
            "labels": ["airstrike", "rally"],
        },
    ]
    cfg = load_config(
        None,
        {
            "model.base_model": str(tiny_base),
            "model.problem_type": "multi_label",
            "training.label_smoothing": 0.0,
            "model.max_length": 64,
            "data.train_file": str(write_jsonl(tmp / "train.jsonl", rows)),
            "data.dev_file": str(write_jsonl(tmp / "dev.jsonl", rows[::2])),
            "data.test_file": None,
            "training.output_dir": str(tmp / "ckpt"),
            "training.max_steps": 3,
            "training.batch_size": 8,
            "training.device": "cpu",
            "inference.device": "cpu",
        },
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return train(cfg, verbose=False).checkpoint


def test_multi_label_training_stores_thresholds(multi_label_checkpoint: Path):
    hf = json.loads((multi_label_checkpoint / "config.json").read_text())
    assert hf["problem_type"] == "multi_label_classification"
    cal = json.loads((multi_label_checkpoint / "config.json").read_text())["conflict_events"]["calibration"]
    assert set(cal["thresholds"]) == set(EVENTS)
    assert all(0.0 < t < 1.0 for t in cal["thresholds"].values())
    metrics = json.loads((multi_label_checkpoint / "metrics.json").read_text())
    assert "multi_label" in metrics["dev"] and "ece" not in metrics["dev"]


def test_multi_label_predictions(multi_label_checkpoint: Path):
    clf = EventClassifier.from_pretrained(multi_label_checkpoint)
    assert clf.multi_label
    texts = [t for v in TOY.values() for t in v]
    for p in clf.predict(texts):
        assert all(0.0 <= v <= 1.0 for v in p.probabilities.values())
        assert p.labels and p.label == p.labels[0]
        if p.labels != ("none",):
            assert "none" not in p.labels
            for name in p.labels:
                assert p.probabilities[name] >= clf.calibration.thresholds[name]
        assert p.score == p.probabilities[p.label]


def test_single_label_checkpoint_is_temperature_scaled(trained_tiny: Path):
    cal = json.loads((trained_tiny / "config.json").read_text())["conflict_events"]["calibration"]
    assert cal["temperature"] > 0 and cal["thresholds"] == {}
    metrics = json.loads((trained_tiny / "metrics.json").read_text())
    assert {"ece", "ece_raw", "temperature"} <= set(metrics["dev"])
    assert (trained_tiny / "evaluation" / "dev" / "reliability.png").is_file()


def test_min_confidence_abstains_and_codes_on_request(trained_tiny: Path):
    clf = EventClassifier.from_pretrained(trained_tiny, overrides=["inference.min_confidence=0.99"])
    p = clf.predict("Jets struck the town.", with_codes=True)
    assert p.label == "uncertain" and p.labels == ("uncertain",) and p.codes == {}
    clf = EventClassifier.from_pretrained(trained_tiny)
    p = clf.predict("Jets struck the town.", with_codes=True)
    assert p.codes == {p.label: codes_for(p.label)}
    assert "codes" in p.to_dict() and "codes" not in clf.predict("Jets struck the town.").to_dict()


def test_stream_events_over_a_folder_and_cli(trained_tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from model.cli import extract_main
    from model.inference import iter_documents, stream_events

    folder = tmp_path / "articles"
    (folder / "sub").mkdir(parents=True)
    docs = {
        folder
        / "a.txt": "Rebels seize border town\n\nKABUL - Gen. Ali said the U.S. envoy arrived. Jets struck the town.",
        folder / "sub" / "b.txt": "Thousands marched in Minsk. Police made arrests.",
    }
    for path, text in docs.items():
        path.write_text(text, encoding="utf-8")
    (folder / "notes.md").write_text("ignored")
    rows = list(stream_events(iter_documents(folder), trained_tiny, buffer_sentences=2, progress=False))
    assert [(Path(r["document"]).name, r["sentence_index"]) for r in rows] == [
        ("a.txt", 0),
        ("a.txt", 1),
        ("a.txt", 2),
        ("b.txt", 0),
        ("b.txt", 1),
    ]
    for r in rows:
        assert docs[Path(r["document"])][r["start"] : r["end"]] == r["sentence"]
    assert extract_main([str(folder), "--checkpoint", str(trained_tiny), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("document,sentence_index,start,end,sentence,label") and len(lines) == 6
    out = tmp_path / "events.jsonl"
    assert extract_main([str(folder / "a.txt"), "--checkpoint", str(trained_tiny), "-o", str(out), "--codes"]) == 0
    assert [json.loads(x)["sentence_index"] for x in out.read_text().splitlines()] == [0, 1, 2]
    with pytest.raises(FileNotFoundError):
        list(iter_documents(tmp_path / "missing"))
    with pytest.raises(SystemExit) as exit_info:
        extract_main([str(tmp_path / "missing"), "--checkpoint", str(trained_tiny)])
    assert exit_info.value.code == 2 and "no such file or folder" in capsys.readouterr().err

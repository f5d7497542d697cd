from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from model import EventClassifier, Prediction, predict
from model.classifier import CheckpointError
from model.config import ConfigError
from tests.conftest import TOY

SENTENCES = [t for texts in TOY.values() for t in texts]


@pytest.fixture(scope="module")
def clf(trained_tiny: Path) -> EventClassifier:
    return EventClassifier.from_pretrained(trained_tiny)


def test_checkpoint_is_a_standard_hf_directory(trained_tiny: Path):
    names = {p.name for p in trained_tiny.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "training_config.yaml",
        "metrics.json",
        "README.md",
    } <= names
    assert not names & {"pytorch_model.bin", "training_args.bin"}
    hf = json.loads((trained_tiny / "config.json").read_text())
    assert hf["id2label"] == {
        "0": "territorial_gain",
        "1": "airstrike",
        "2": "rally",
        "3": "diplomatic_visit",
        "4": "none",
    }
    assert hf["label2id"]["none"] == 4
    metrics = json.loads((trained_tiny / "metrics.json").read_text())
    assert metrics["train"]["steps"] == 2
    assert set(metrics["dev"]["per_class"]) == set(hf["label2id"])
    assert (trained_tiny / "evaluation" / "dev" / "confusion_matrix.png").stat().st_size > 1000


def test_checkpoint_carries_its_config(clf: EventClassifier):
    assert clf.config.model.max_length == 64  # the training-time setting, not the default 128
    assert clf.labels == ["territorial_gain", "airstrike", "rally", "diplomatic_visit", "none"]


def test_predict_shape_and_types(clf: EventClassifier):
    preds = clf.predict(SENTENCES)
    assert len(preds) == len(SENTENCES)
    for p in preds:
        assert isinstance(p, Prediction)
        assert p.label in clf.labels and p.labels == (p.label,)
        assert list(p.probabilities) == clf.labels
        assert abs(sum(p.probabilities.values()) - 1) < 1e-5
        assert p.score == max(p.probabilities.values())
    single = clf.predict(SENTENCES[0])
    assert isinstance(single, Prediction) and single == preds[0]
    probs = clf.predict_proba(SENTENCES)
    assert probs.shape == (len(SENTENCES), 5) and probs.dtype == np.float32


def test_batching_and_sorting_do_not_change_results(clf: EventClassifier, trained_tiny: Path):
    reference = clf.predict_proba(SENTENCES, batch_size=len(SENTENCES))
    small = clf.predict_proba(SENTENCES, batch_size=3)
    unsorted = EventClassifier.from_pretrained(trained_tiny, overrides=["inference.sort_by_length=false"])
    np.testing.assert_allclose(small, reference, atol=1e-5)
    np.testing.assert_allclose(unsorted.predict_proba(SENTENCES, batch_size=3), reference, atol=1e-5)


def test_no_gradient_state(clf: EventClassifier):
    clf.predict(SENTENCES[:2])
    assert all(p.grad is None for p in clf.model.parameters())
    assert not clf.model.training


def test_save_load_round_trip_is_identical(clf: EventClassifier, tmp_path: Path):
    clf.save_pretrained(tmp_path / "copy")
    again = EventClassifier.from_pretrained(tmp_path / "copy")
    np.testing.assert_array_equal(again.predict_proba(SENTENCES), clf.predict_proba(SENTENCES))
    assert again.config == clf.config


def test_module_level_predict_and_pipeline(trained_tiny: Path, monkeypatch: pytest.MonkeyPatch):
    from transformers import pipeline

    ours = predict(SENTENCES[:3], model=trained_tiny)
    monkeypatch.setenv("EVENT_CLASSIFIER_MODEL", str(trained_tiny))
    assert predict(SENTENCES[:3]) == ours
    hf = pipeline("text-classification", model=str(trained_tiny), device="cpu")(SENTENCES[:3])
    assert [h["label"] for h in hf] == [p.label for p in ours]
    # the plain pipeline has no temperature scaling: compare with our uncalibrated probabilities
    clf = EventClassifier.from_pretrained(trained_tiny)
    raw = clf.probabilities_from_logits(clf.predict_logits(SENTENCES[:3]), temperature=1.0)
    assert [round(h["score"], 4) for h in hf] == [round(float(r.max()), 4) for r in raw]


@pytest.mark.parametrize(
    ("texts", "error", "message"),
    [
        (["ok text", None], TypeError, r"texts\[1\] is NoneType"),
        (["ok text", 3], TypeError, r"texts\[1\] is int"),
        (["ok text", "   "], ValueError, r"texts\[1\] is empty"),
        ({"a": 1}, TypeError, "list of strings"),
        (5, TypeError, "list of strings"),
    ],
)
def test_bad_inputs_name_the_item(clf: EventClassifier, texts, error, message):
    with pytest.raises(error, match=message):
        clf.predict(texts)


def test_empty_list_and_generators(clf: EventClassifier):
    assert clf.predict([]) == []
    assert len(clf.predict(t for t in SENTENCES[:2])) == 2


def test_long_text_is_truncated_with_a_warning(clf: EventClassifier):
    with pytest.warns(UserWarning, match="truncated"):
        (p,) = clf.predict(["word " * 5000])
    assert p.label in clf.labels


def test_inference_overrides_only(trained_tiny: Path):
    assert (
        EventClassifier.from_pretrained(trained_tiny, overrides=["inference.batch_size=3"]).config.inference.batch_size
        == 3
    )
    with pytest.raises(ConfigError, match="only inference settings"):
        EventClassifier.from_pretrained(trained_tiny, overrides=["model.max_length=32"])


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _set_block(ckpt: Path, key: str, value) -> None:
    """Set ``key`` of the ``conflict_events`` block of ``config.json`` (the calibration lives there since format 1;
    tests/test_checkpoint.py checks the same values in a format-0 checkpoint's calibration.json)."""
    hf = json.loads((ckpt / "config.json").read_text())
    hf["conflict_events"][key] = value
    (ckpt / "config.json").write_text(json.dumps(hf))


def test_refuses_pickle_weights(trained_tiny: Path, tmp_path: Path):
    bad = _copy(trained_tiny, tmp_path / "pickled")
    (bad / "model.safetensors").rename(bad / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="pytorch_model.bin: pickle-based weights are refused"):
        EventClassifier.from_pretrained(bad)


@pytest.mark.parametrize(
    "broken",
    [
        "missing_dir",
        "no_config",
        "no_weights",
        "bad_json",
        "label_mismatch",
        "corrupt_weights",
        "remote_code",
        "base_encoder",
        "bad_calibration",
        "bad_block",
        "newer_format",
        "config_is_a_list",
        "id2label_key_not_int",
        "id2label_gap",
        "tokenizer_files_missing",
        "tokenizer_files_missing_no_check_file",
        "tokenizer_class_changed",
        "tokenizer_vocab_swapped",
        "temperature_infinity",
        "temperature_nan",
        "temperature_absurd",
        "threshold_absurd",
        "threshold_unknown_label",
        "calibration_is_a_list",
        "onnx_file_outside",
    ],
)
def test_broken_checkpoints_name_the_file(trained_tiny: Path, tmp_path: Path, broken: str):
    ckpt = tmp_path / "missing" if broken == "missing_dir" else _copy(trained_tiny, tmp_path / broken)
    expected = {
        "missing_dir": "not found",
        "no_config": "config.json: missing",
        "no_weights": "model.safetensors: missing",
        "bad_json": "config.json: unreadable",
        "label_mismatch": "disagrees",
        "corrupt_weights": "model.safetensors: could not load",
        "remote_code": "config.json: asks for custom code",
        "base_encoder": "config.json: architecture .*not a sequence",
        "bad_calibration": "config.json: conflict_events.calibration: unreadable",
        "bad_block": "config.json: conflict_events must be a mapping",
        "newer_format": "config.json: conflict_events.format_version is 2",
        "config_is_a_list": "config.json: unreadable .expected a JSON object, got list",
        "id2label_key_not_int": "config.json: id2label key 'zero' is not an integer id",
        "id2label_gap": r"config.json: id2label ids \[0, 1, 2, 3, 7\] are not 0..4",
        "tokenizer_files_missing": "tokenizer does not match the model",
        "tokenizer_files_missing_no_check_file": "tokenizer does not match the model: .*mostly unknown tokens",
        "tokenizer_class_changed": "tokenizer does not match the model",
        "tokenizer_vocab_swapped": "tokenizer does not match the model",
        "temperature_infinity": r"conflict_events.calibration: temperature inf is outside \[0.01, 100\]",
        "temperature_nan": r"conflict_events.calibration: temperature nan is outside",
        "temperature_absurd": r"conflict_events.calibration: temperature 1e-09 is outside",
        "threshold_absurd": r"conflict_events.calibration: thresholds.rally must be a number in \(0, 1\)",
        "threshold_unknown_label": "conflict_events.calibration: threshold for unknown label 'riot'",
        "calibration_is_a_list": "conflict_events.calibration: unreadable calibration file .expected a JSON object",
        "onnx_file_outside": "config.json: conflict_events: inference.onnx_file: .*plain file name",
    }[broken]
    if broken == "no_config":
        (ckpt / "config.json").unlink()
    elif broken == "no_weights":
        (ckpt / "model.safetensors").unlink()
    elif broken == "bad_json":
        (ckpt / "config.json").write_text("{not json")
    elif broken == "label_mismatch":
        hf = json.loads((ckpt / "config.json").read_text())
        hf["id2label"]["0"], hf["id2label"]["1"] = hf["id2label"]["1"], hf["id2label"]["0"]
        (ckpt / "config.json").write_text(json.dumps(hf))
    elif broken in ("remote_code", "base_encoder"):
        hf = json.loads((ckpt / "config.json").read_text())
        if broken == "remote_code":
            hf["auto_map"] = {"AutoModelForSequenceClassification": "evil.Model"}
        else:
            hf["architectures"] = ["BertModel"]
        (ckpt / "config.json").write_text(json.dumps(hf))
    elif broken == "bad_calibration":
        _set_block(ckpt, "calibration", "[1, 2")
    elif broken in ("bad_block", "newer_format"):
        hf = json.loads((ckpt / "config.json").read_text())
        hf["conflict_events"] = [1] if broken == "bad_block" else {**hf["conflict_events"], "format_version": 2}
        (ckpt / "config.json").write_text(json.dumps(hf))
    elif broken == "corrupt_weights":
        (ckpt / "model.safetensors").write_bytes(b"\x00" * 100)
    elif broken == "config_is_a_list":
        (ckpt / "config.json").write_text("[1, 2, 3]")
    elif broken in ("id2label_key_not_int", "id2label_gap"):
        hf = json.loads((ckpt / "config.json").read_text())
        hf["id2label"]["zero" if broken == "id2label_key_not_int" else "7"] = hf["id2label"].pop("4")
        (ckpt / "config.json").write_text(json.dumps(hf))
    elif broken.startswith("tokenizer_files_missing"):
        if broken.endswith("no_check_file"):  # a checkpoint saved before tokenizer_check.json existed
            (ckpt / "tokenizer_check.json").unlink()
        for name in ("tokenizer.json", "vocab.txt", "special_tokens_map.json"):
            (ckpt / name).unlink(missing_ok=True)
    elif broken == "tokenizer_class_changed":
        cfg = json.loads((ckpt / "tokenizer_config.json").read_text())
        cfg["tokenizer_class"] = "GPT2Tokenizer"
        (ckpt / "tokenizer_config.json").write_text(json.dumps(cfg))
    elif broken == "tokenizer_vocab_swapped":  # same size, other ids: two vocabulary entries trade places
        tok = json.loads((ckpt / "tokenizer.json").read_text())
        vocab = tok["model"]["vocab"]
        vocab["town"], vocab["the"] = vocab["the"], vocab["town"]
        (ckpt / "tokenizer.json").write_text(json.dumps(tok))
    elif broken.startswith(("temperature_", "threshold_")):
        value = {"temperature_infinity": float("inf"), "temperature_nan": float("nan"), "temperature_absurd": 1e-09}
        thresholds = {"threshold_absurd": {"rally": 7.5}, "threshold_unknown_label": {"riot": 0.5}}
        _set_block(ckpt, "calibration", {"temperature": value.get(broken, 1.0), "thresholds": thresholds.get(broken, {})})
    elif broken == "calibration_is_a_list":
        _set_block(ckpt, "calibration", [1.0])
    elif broken == "onnx_file_outside":
        hf = json.loads((ckpt / "config.json").read_text())
        _set_block(ckpt, "inference", {**hf["conflict_events"]["inference"], "onnx_file": "../../other/model.onnx"})
    with pytest.raises(CheckpointError, match=expected):
        EventClassifier.from_pretrained(ckpt)


def test_interrupted_save_keeps_the_previous_checkpoint(
    clf: EventClassifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    target = clf.save_pretrained(tmp_path / "ckpt")
    before = clf.predict_proba(SENTENCES)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut during save")

    monkeypatch.setattr(clf.tokenizer, "save_pretrained", crash)
    with pytest.raises(KeyboardInterrupt):
        clf.save_pretrained(target)
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no half-written temporary left behind
    np.testing.assert_array_equal(EventClassifier.from_pretrained(target).predict_proba(SENTENCES), before)


def test_save_killed_between_its_two_renames_is_repaired_by_the_next_load(
    clf: EventClassifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    target = clf.save_pretrained(tmp_path / "ckpt")
    before = clf.predict_proba(SENTENCES)
    real_rename = Path.rename

    def rename(self: Path, dst):
        if ".tmp-" in self.name:  # the second rename: new checkpoint into place; the old one is already aside
            raise KeyboardInterrupt("killed between the two renames")
        return real_rename(self, dst)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        clf.save_pretrained(target)
    monkeypatch.undo()
    assert not target.exists() and [p.name.split("-")[0] for p in tmp_path.iterdir()] == [".ckpt.old"]
    with pytest.warns(UserWarning, match="restored .*ckpt from .ckpt.old-"):
        again = EventClassifier.from_pretrained(target)
    np.testing.assert_array_equal(again.predict_proba(SENTENCES), before)
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def test_next_save_restores_and_cleans_leftovers_of_killed_runs(clf: EventClassifier, tmp_path: Path):
    target = clf.save_pretrained(tmp_path / "ckpt")
    target.rename(tmp_path / ".ckpt.old-abc123")  # killed between the renames ...
    (tmp_path / ".ckpt.tmp-def456").mkdir()  # ... and a half-written save from another killed run
    (tmp_path / ".ckpt.tmp-def456" / "model.safetensors").write_bytes(b"\0" * 1000)
    (tmp_path / ".other.tmp-zzz").mkdir()  # another checkpoint's files are not touched
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.save_pretrained(target)
    messages = " | ".join(str(w.message) for w in caught)
    assert "restored" in messages and "removed .ckpt.tmp-def456" in messages
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.tmp-zzz", "ckpt"]
    np.testing.assert_array_equal(
        EventClassifier.from_pretrained(target).predict_proba(SENTENCES[:2]), clf.predict_proba(SENTENCES[:2])
    )

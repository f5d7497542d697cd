"""The checkpoint format: format 1 (the ``conflict_events`` block), the format-0 shim, the training record and the
model card."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from model import EventClassifier
from model.card import main as card_main
from model.card import record_evaluations, render_card
from model.checkpoint import BLOCK_KEY, FORMAT_VERSION, file_sha256, git_commit
from model.classifier import CheckpointError

FIXTURES = Path(__file__).parent / "fixtures"
V0 = FIXTURES / "checkpoint_v0"
V0_EXPECTED = json.loads((FIXTURES / "checkpoint_v0_expected.json").read_text())
SENTENCES = ["Jets struck the town.", "Crowds marched in the capital.", "The envoy arrived in Rome."]


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))


# ---------------------------------------------------------------------- format 0, forever
def test_checkpoint_of_format_0_loads_with_its_probabilities():
    """tests/fixtures/checkpoint_v0 was written by the code before format 1; it must load, unchanged, forever."""
    assert not (V0 / "config.json").read_text().count(BLOCK_KEY)
    clf = EventClassifier.from_pretrained(V0)
    assert clf.labels == V0_EXPECTED["labels"]
    assert clf.calibration.temperature == V0_EXPECTED["temperature"] == 1.7
    assert clf.config.model.max_length == V0_EXPECTED["max_length"] == 32
    np.testing.assert_allclose(clf.predict_proba(V0_EXPECTED["sentences"]), V0_EXPECTED["probabilities"], atol=1e-6)


def test_format_0_saved_again_is_format_1_with_the_same_probabilities(tmp_path: Path):
    clf = EventClassifier.from_pretrained(V0)
    out = clf.save_pretrained(tmp_path / "v1")
    assert json.loads((out / "config.json").read_text())[BLOCK_KEY]["format_version"] == FORMAT_VERSION
    assert not (out / "calibration.json").exists()
    again = EventClassifier.from_pretrained(out)
    assert again.config == clf.config and again.calibration.temperature == 1.7
    np.testing.assert_array_equal(again.predict_proba(V0_EXPECTED["sentences"]), clf.predict_proba(V0_EXPECTED["sentences"]))


@pytest.mark.parametrize(
    "broken",
    [
        "bad_calibration",
        "bad_training_config",
        "temperature_infinity",
        "temperature_absurd",
        "threshold_absurd",
        "threshold_unknown_label",
        "calibration_is_a_list",
        "onnx_file_outside",
    ],
)
def test_broken_format_0_checkpoints_name_the_file(tmp_path: Path, broken: str):
    """The format-0 files keep their checks: calibration.json, and the model/inference sections of the config."""
    ckpt = _copy(V0, tmp_path / broken)
    expected = {
        "bad_calibration": "calibration.json: unreadable",
        "bad_training_config": "training_config.yaml: model.max_length: expected an integer",
        "temperature_infinity": r"calibration.json: temperature inf is outside \[0.01, 100\]",
        "temperature_absurd": r"calibration.json: temperature 1e-09 is outside",
        "threshold_absurd": r"calibration.json: thresholds.rally must be a number in \(0, 1\)",
        "threshold_unknown_label": "calibration.json: threshold for unknown label 'riot'",
        "calibration_is_a_list": "calibration.json: unreadable calibration file .expected a JSON object",
        "onnx_file_outside": "training_config.yaml: inference.onnx_file: .*plain file name",
    }[broken]
    calibration = {
        "bad_calibration": "[1, 2",
        "temperature_infinity": '{"temperature": Infinity}',
        "temperature_absurd": '{"temperature": 1e-09}',
        "threshold_absurd": '{"temperature": 1.0, "thresholds": {"rally": 7.5}}',
        "threshold_unknown_label": '{"temperature": 1.0, "thresholds": {"riot": 0.5}}',
        "calibration_is_a_list": "[1.0]",
    }
    if broken in calibration:
        (ckpt / "calibration.json").write_text(calibration[broken])
    elif broken == "bad_training_config":
        _edit_yaml(ckpt / "training_config.yaml", lambda c: c["model"].update(max_length="many"))
    else:
        _edit_yaml(ckpt / "training_config.yaml", lambda c: c["inference"].update(onnx_file="../../other/model.onnx"))
    with pytest.raises(CheckpointError, match=expected):
        EventClassifier.from_pretrained(ckpt)


def test_unknown_keys_in_a_format_0_config_warn(tmp_path: Path):
    ckpt = _copy(V0, tmp_path / "renamed")
    _edit_yaml(ckpt / "training_config.yaml", lambda c: (c["model"].update(colour="blue"), c["data"].pop("dev_file")))
    with pytest.warns(UserWarning, match="model.colour"):
        clf = EventClassifier.from_pretrained(ckpt)
    np.testing.assert_allclose(clf.predict_proba(V0_EXPECTED["sentences"]), V0_EXPECTED["probabilities"], atol=1e-6)


# ---------------------------------------------------------------------- format 1
def test_block_holds_what_inference_needs(trained_tiny: Path, tmp_path: Path):
    block = json.loads((trained_tiny / "config.json").read_text())[BLOCK_KEY]
    assert block["format_version"] == FORMAT_VERSION == 1
    assert block["labels"] == ["territorial_gain", "airstrike", "rally", "diplomatic_visit", "none"]
    assert (block["none_label"], block["problem_type"], block["max_length"]) == ("none", "single_label", 64)
    assert block["calibration"]["temperature"] > 0 and block["calibration"]["thresholds"] == {}
    assert block["inference"]["batch_size"] == 32
    assert not (trained_tiny / "calibration.json").exists()  # stored once, in the block
    # the training record is not needed to load: without it, the same predictions
    reference = EventClassifier.from_pretrained(trained_tiny)
    bare = _copy(trained_tiny, tmp_path / "bare")
    (bare / "training_config.yaml").unlink()
    clf = EventClassifier.from_pretrained(bare)
    assert (clf.labels, clf.config.model.max_length) == (reference.labels, 64)
    assert clf.calibration == reference.calibration
    np.testing.assert_array_equal(clf.predict_proba(SENTENCES), reference.predict_proba(SENTENCES))


def test_unknown_or_bad_keys_in_the_training_record_warn(trained_tiny: Path, tmp_path: Path):
    reference = EventClassifier.from_pretrained(trained_tiny).predict_proba(SENTENCES)
    ckpt = _copy(trained_tiny, tmp_path / "renamed")

    def rename(cfg: dict) -> None:
        cfg["training"]["epochs_total"] = cfg["training"].pop("epochs")  # a key renamed by a later version
        cfg["training"]["batch_size"] = "thirty-two"  # a type changed by a later version
        cfg["schedule"] = {"warmup": 3}  # a section added by a later version

    _edit_yaml(ckpt / "training_config.yaml", rename)
    with pytest.warns(UserWarning) as caught:
        clf = EventClassifier.from_pretrained(ckpt)
    messages = " ".join(str(w.message) for w in caught)
    assert "training.epochs_total" in messages and "schedule" in messages
    assert "training.batch_size: expected an integer" in messages
    np.testing.assert_array_equal(clf.predict_proba(SENTENCES), reference)
    with pytest.warns(UserWarning):  # the same two warnings
        clf = EventClassifier.from_pretrained(ckpt, overrides=["inference.batch_size=2"])
    assert clf.config.inference.batch_size == 2


def test_newer_format_is_refused(trained_tiny: Path, tmp_path: Path):
    ckpt = _copy(trained_tiny, tmp_path / "future")
    _edit_json(ckpt / "config.json", lambda hf: hf[BLOCK_KEY].update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(CheckpointError, match=f"format_version is {FORMAT_VERSION + 1}.*reads checkpoint formats up to"):
        EventClassifier.from_pretrained(ckpt)


def test_block_values_are_checked(trained_tiny: Path, tmp_path: Path):
    ckpt = _copy(trained_tiny, tmp_path / "bad")
    _edit_json(ckpt / "config.json", lambda hf: hf[BLOCK_KEY].pop("max_length"))
    with pytest.raises(CheckpointError, match="conflict_events: missing max_length"):
        EventClassifier.from_pretrained(ckpt)


def test_training_record(trained_tiny: Path, tiny_base: Path):
    record = json.loads((trained_tiny / "training_record.json").read_text())
    cfg = yaml.safe_load((trained_tiny / "training_config.yaml").read_text())
    assert record["format_version"] == FORMAT_VERSION and record["package"]["name"] == "conflict-event-classifier"
    assert record["git"] is None or len(record["git"]["commit"]) == 40
    assert record["base_model"]["name"] == str(tiny_base)
    assert record["base_model"]["weights_sha256"] == file_sha256(tiny_base / "model.safetensors")
    train = record["data"]["train"]
    assert train["sha256"] == file_sha256(cfg["data"]["train_file"]) and train["rows_kept"] == 20
    assert train["label_counts"] == {"territorial_gain": 4, "airstrike": 4, "rally": 4, "diplomatic_visit": 4, "none": 4}
    assert record["data"]["dev"]["rows_kept"] == 10 and "test" not in record["data"]
    assert record["seed"] == 13 and record["train_seconds"] >= 0
    keys = {key for entry in record["log_history"] for key in entry}
    assert {"eval_loss", "eval_macro_f1", "train_loss"} <= keys  # the Trainer's history: each evaluation, the run


def test_git_commit_never_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    assert git_commit(tmp_path) is None  # not a checkout
    (tmp_path / ".git").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path))  # no git program
    assert git_commit(tmp_path) is None


def test_tokenizer_length_is_the_model_length(trained_tiny: Path):
    from transformers import AutoTokenizer, pipeline

    assert json.loads((trained_tiny / "tokenizer_config.json").read_text())["model_max_length"] == 64
    long_text = " ".join(["The envoy arrived in Rome."] * 200)  # 1,000 words
    assert len(AutoTokenizer.from_pretrained(trained_tiny)(long_text, truncation=True)["input_ids"]) == 64
    # the tiny BERT has 128 positions: with the tokenizer's old 512 this would fail
    result = pipeline("text-classification", model=str(trained_tiny), device="cpu", truncation=True)(long_text)
    assert result[0]["label"] in EventClassifier.from_pretrained(trained_tiny).labels


# ---------------------------------------------------------------------- model card
def _results(labels: list[str]) -> dict:
    per_class = {x: {"precision": 0.8, "recall": 0.7, "f1": 0.75, "support": 5} for x in labels}

    def result(f1: float) -> dict:
        return {"macro_f1": f1, "macro_f1_ci95": [f1 - 0.05, f1 + 0.04], "accuracy": 0.9, "num_examples": 25,
                "per_class": per_class, "ece_raw": 0.12, "ece": 0.05}

    return {
        "meta": {"sets": {"news_dev.jsonl": 25}},
        "results": {
            "fine-tuned MiniLM (X: tiny (default))": {"news_dev.jsonl": result(0.812)},
            "fine-tuned MiniLM (Y: another)": {"news_dev.jsonl": result(0.5)},
            "cue-word lexicon (tools)": {"news_dev.jsonl": result(0.634)},
        },
    }


def test_card_has_metadata_labels_and_corpus_results(trained_tiny: Path):
    card = (trained_tiny / "README.md").read_text()
    assert card == render_card(trained_tiny)
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["language"] == ["en"] and header["license"] == "apache-2.0"
    assert header["pipeline_tag"] == "text-classification" and "f1" in header["metrics"] and header["tags"]
    for text in ("## Intended use", "## Out of scope", "| `rally` | People publicly assemble", "## Results on the corpus",
                 "| dev | 10 |", "Not recorded for this checkpoint", "## Known failure kinds", "## How to reproduce",
                 "cec-train --config training_config.yaml", "corpus dev split:"):
        assert text in card, text


def test_card_shows_real_news_results_beside_the_lexicon(trained_tiny: Path, tmp_path: Path):
    ckpt = _copy(trained_tiny, tmp_path / "ckpt")
    results = tmp_path / "accuracy.json"
    results.write_text(json.dumps(_results(EventClassifier.from_pretrained(ckpt).labels)))
    analysis = tmp_path / "errors.json"
    analysis.write_text(json.dumps({"X: tiny (default)": {"news_dev.jsonl": {"kinds": {"false visit: caption": 7}}}}))
    record_evaluations(ckpt, results, error_analysis=analysis)
    card = (ckpt / "README.md").read_text()
    assert "| news_dev.jsonl | this model | 25 | 0.812 | [0.76–0.85] | 0.750 |" in card
    assert "| news_dev.jsonl | lexicon | 25 | 0.634 | [0.58–0.67] |" in card
    assert "- news_dev.jsonl: 0.120 → 0.050" in card and "- false visit: caption: 7" in card
    saved = json.loads((ckpt / "evaluations.json").read_text())
    assert saved["weights_sha256"] == file_sha256(ckpt / "model.safetensors")
    assert saved["system"] == "fine-tuned MiniLM (X: tiny (default))"
    # the checkpoint still loads, and its card survives a reload-free render
    EventClassifier.from_pretrained(ckpt)


def test_model_card_command(trained_tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    ckpt = _copy(trained_tiny, tmp_path / "ckpt")
    results = tmp_path / "accuracy.json"
    results.write_text(json.dumps(_results(EventClassifier.from_pretrained(ckpt).labels)))
    assert card_main([str(ckpt), "--results", str(results), "--system", "nope"]) == 2
    assert "system 'nope' not found" in capsys.readouterr().err
    assert card_main([str(ckpt), "--results", str(results)]) == 0
    assert (ckpt / "evaluations.json").is_file()
    assert card_main([str(tmp_path / "missing")]) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert card_main([str(ckpt)]) == 0  # re-render only
    assert "| news_dev.jsonl | lexicon |" in (ckpt / "README.md").read_text()


def test_card_of_a_format_0_checkpoint(tmp_path: Path):
    """scripts/model_card.py also runs on checkpoints written before format 1 (labels and calibration from their files)."""
    card = render_card(_copy(V0, tmp_path / "v0"))
    assert "| `airstrike` | An attack delivered from aircraft or drones." in card
    assert "logits are divided by 1.700" in card and "Checkpoint format 0" in card

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from model import EventClassifier
from model.classifier import CheckpointError
from model.onnx_backend import calibration_texts, export_onnx, quantization_kind
from tests.conftest import TOY

SENTENCES = [t for texts in TOY.values() for t in texts]


@pytest.fixture(scope="module")
def exported(trained_tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    ckpt = tmp_path_factory.mktemp("onnx") / "ckpt"
    shutil.copytree(trained_tiny, ckpt)
    export_onnx(ckpt, calibration=calibration_texts(ckpt))
    return ckpt


def test_export_writes_fp32_and_int8(exported: Path):
    assert quantization_kind(exported / "onnx" / "model.onnx") == "none"
    assert quantization_kind(exported / "onnx" / "model.int8.onnx") == "dynamic"
    assert quantization_kind(exported / "onnx" / "model.int8-static.onnx") == "static"


def test_calibration_texts_come_from_the_training_file(trained_tiny: Path):
    texts = calibration_texts(trained_tiny)
    assert len(texts) == len(SENTENCES) and set(texts) == set(SENTENCES)  # the toy training file
    assert len(calibration_texts(trained_tiny, limit=5)) == 5


TARGET = "Thousands marched through the capital demanding elections."
LONG = "The army shelled the town and " * 8 + "residents fled."


def _in_other_company(clf: EventClassifier) -> list[np.ndarray]:
    """The target sentence's probabilities alone, in two different batches and in a shuffled batch."""
    order = np.random.default_rng(0).permutation(len(SENTENCES))
    shuffled = [SENTENCES[i] for i in order]
    return [
        clf.predict_proba([TARGET])[0],
        clf.predict_proba([TARGET, LONG, "A."], batch_size=32)[0],
        clf.predict_proba(SENTENCES, batch_size=32)[SENTENCES.index(TARGET)],
        clf.predict_proba(shuffled, batch_size=7)[shuffled.index(TARGET)],
    ]


def test_int8_answer_for_a_sentence_does_not_depend_on_its_neighbours(exported: Path):
    clf = EventClassifier.from_pretrained(exported, overrides=["inference.backend=onnx", "inference.onnx_file=model.int8.onnx"])
    alone, *others = _in_other_company(clf)
    for other in others:
        np.testing.assert_array_equal(other, alone)  # each sentence runs alone: bit for bit the same
    static = EventClassifier.from_pretrained(
        exported, overrides=["inference.backend=onnx", "inference.onnx_file=model.int8-static.onnx"]
    )
    alone, *others = _in_other_company(static)
    for other in others:
        np.testing.assert_allclose(other, alone, atol=1e-4)  # scales fixed at export: batches may run together
        assert other.argmax() == alone.argmax()
    np.testing.assert_allclose(  # and it is still the same model
        static.predict_proba(SENTENCES), EventClassifier.from_pretrained(exported).predict_proba(SENTENCES), atol=0.05
    )


def test_batched_dynamic_int8_is_the_documented_exception(exported: Path):
    """With inference.onnx_dynamic_batches=true the old behaviour returns: scales shared by the whole batch."""
    clf = EventClassifier.from_pretrained(
        exported, overrides=["inference.backend=onnx", "inference.onnx_file=model.int8.onnx", "inference.onnx_dynamic_batches=true"]
    )
    assert not clf._onnx.per_row
    alone, *others = _in_other_company(clf)
    assert any(np.abs(other - alone).max() > 0 for other in others)


def test_onnx_file_must_stay_inside_the_checkpoint(exported: Path, tmp_path: Path):
    elsewhere = tmp_path / "other.onnx"
    shutil.copy(exported / "onnx" / "model.onnx", elsewhere)
    link = exported / "onnx" / "link.onnx"
    link.symlink_to(elsewhere)
    try:
        with pytest.raises(CheckpointError, match="must be inside"):
            EventClassifier.from_pretrained(
                exported, overrides=["inference.backend=onnx", "inference.onnx_file=link.onnx"]
            )
    finally:
        link.unlink()


def test_fp32_onnx_matches_torch(exported: Path):
    torch_clf = EventClassifier.from_pretrained(exported)
    onnx_clf = EventClassifier.from_pretrained(
        exported, overrides=["inference.backend=onnx", "inference.onnx_file=model.onnx"]
    )
    assert onnx_clf.backend == "onnx" and onnx_clf.model is None
    np.testing.assert_allclose(
        onnx_clf.predict_proba(SENTENCES, batch_size=5), torch_clf.predict_proba(SENTENCES), atol=1e-4
    )


def test_int8_backend_runs_the_same_predict(exported: Path):
    clf = EventClassifier.from_pretrained(exported, overrides=["inference.backend=onnx", "inference.onnx_file=model.int8.onnx"])
    preds = clf.predict(SENTENCES)
    assert len(preds) == len(SENTENCES)
    assert all(abs(sum(p.probabilities.values()) - 1) < 1e-5 for p in preds)
    with pytest.raises(ValueError, match="cannot be saved"):
        clf.save_pretrained(exported.parent / "nope")


def test_missing_export_is_a_clear_error(trained_tiny: Path):
    with pytest.raises(CheckpointError, match="run `cec-export-onnx"):
        EventClassifier.from_pretrained(trained_tiny, overrides=["inference.backend=onnx"])


def test_cec_predict_input_with_onnx_gives_the_labels_of_predict(exported: Path, tmp_path: Path):
    """`cec-predict --input FILE inference.backend=onnx` and `predict()` with the same settings agree."""
    import json

    from model.cli import main as predict_main

    source = tmp_path / "sentences.jsonl"
    source.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(SENTENCES)))
    out = tmp_path / "out.jsonl"
    argv = ["--checkpoint", str(exported), "--input", str(source), "--id-column", "id", "-o", str(out), "-q"]
    assert predict_main([*argv, "inference.backend=onnx", "inference.batch_size=4"]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    clf = EventClassifier.from_pretrained(exported, overrides=["inference.backend=onnx", "inference.batch_size=4"])
    expected = clf.predict(SENTENCES)
    assert [r["id"] for r in rows] == list(range(len(SENTENCES)))
    assert [r["label"] for r in rows] == [p.label for p in expected]
    for row, p in zip(rows, expected):
        assert row["prob_none"] == pytest.approx(p.probabilities["none"], abs=1e-6)

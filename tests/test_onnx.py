from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from model import EventClassifier
from model.classifier import CheckpointError
from model.onnx_backend import export_onnx
from tests.conftest import TOY

SENTENCES = [t for texts in TOY.values() for t in texts]


@pytest.fixture(scope="module")
def exported(trained_tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    ckpt = tmp_path_factory.mktemp("onnx") / "ckpt"
    shutil.copytree(trained_tiny, ckpt)
    export_onnx(ckpt)
    return ckpt


def test_export_writes_fp32_and_int8(exported: Path):
    assert (exported / "onnx" / "model.onnx").is_file()
    assert (exported / "onnx" / "model.int8.onnx").is_file()


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
    clf = EventClassifier.from_pretrained(exported, overrides=["inference.backend=onnx"])
    preds = clf.predict(SENTENCES)
    assert len(preds) == len(SENTENCES)
    assert all(abs(sum(p.probabilities.values()) - 1) < 1e-5 for p in preds)
    with pytest.raises(ValueError, match="cannot be saved"):
        clf.save_pretrained(exported.parent / "nope")


def test_missing_export_is_a_clear_error(trained_tiny: Path):
    with pytest.raises(CheckpointError, match="run `cec-export-onnx"):
        EventClassifier.from_pretrained(trained_tiny, overrides=["inference.backend=onnx"])

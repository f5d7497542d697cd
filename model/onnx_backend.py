"""A fast CPU inference path: ONNX export, graph optimisation, int8 quantisation, ONNX Runtime.

    cec-export-onnx --checkpoint checkpoints/default          # writes checkpoints/default/onnx/model.int8.onnx
    EventClassifier.from_pretrained("checkpoints/default", overrides=["inference.backend=onnx"])

The exported graph takes ``input_ids`` and ``attention_mask`` and returns the logits; ``predict()`` is the same
code as for PyTorch (tokenisation, length-sorted batching, softmax) with only the forward pass swapped.
Requires the optional extra ``pip install conflict-event-classifier[onnx]``.

A classifier's answer for a sentence must not depend on the other sentences of the call. Two int8 files:

- ``model.int8.onnx``, dynamic quantisation: activation scales are computed at run time over the whole input
  tensor, i.e. over every sentence of a padded batch. It is therefore run **one sentence at a time** (each with
  its own scales, no padding), unless ``inference.onnx_dynamic_batches=true`` asks for the old batch-dependent
  behaviour.
- ``model.int8-static.onnx``, static quantisation (written when calibration texts are available): activation
  scales are calibrated once at export time on sentences of the training corpus and stored in the graph, so
  whole batches can run together and each sentence still gets the same numbers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ONNX_DIR", "OnnxLogits", "calibration_texts", "export_onnx", "quantization_kind"]

ONNX_DIR = "onnx"
FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
STATIC_INT8_FILE = "model.int8-static.onnx"
QUANTIZATION_KEY = "cec.quantization"
"""Metadata key in each exported file: ``none``, ``dynamic`` or ``static``."""
_DYNAMIC_OPS = {"DynamicQuantizeLinear", "DynamicQuantizeMatMul", "MatMulInteger", "QAttention"}
CALIBRATION_SENTENCES = 512


def _require() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError(
            "the ONNX backend needs onnx and onnxruntime: pip install 'conflict-event-classifier[onnx]'"
        ) from exc
    return onnxruntime


def export_onnx(
    checkpoint: str | os.PathLike[str],
    *,
    quantize: bool = True,
    optimize: bool = True,
    calibration: Sequence[str] | None = None,
) -> Path:
    """Export ``checkpoint`` to ``<checkpoint>/onnx/``: fp32, and unless ``quantize=False`` dynamic int8 and (when
    ``calibration`` texts are given, see :func:`calibration_texts`) static int8 calibrated on them.

    Returns the path of the file the ONNX backend uses by default (dynamic int8 if quantised).
    """
    _require()
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    root = Path(checkpoint)
    out = root / ONNX_DIR
    out.mkdir(exist_ok=True)
    # Eager attention exports as plain MatMul/Softmax, which ONNX Runtime's BERT optimiser can fuse.
    model = AutoModelForSequenceClassification.from_pretrained(
        root, use_safetensors=True, trust_remote_code=False, attn_implementation="eager"
    ).eval()
    tokenizer = AutoTokenizer.from_pretrained(root)
    sample = tokenizer(["Jets struck the town on Sunday.", "A rally."], padding=True, return_tensors="pt")

    class _Logits(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits

    fp32 = out / FP32_FILE
    with torch.inference_mode():
        torch.onnx.export(
            _Logits(model),
            (sample["input_ids"], sample["attention_mask"]),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "logits": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    if optimize:
        from onnxruntime.transformers.optimizer import optimize_model

        cfg = model.config
        optimized = optimize_model(
            str(fp32), model_type="bert", num_heads=cfg.num_attention_heads, hidden_size=cfg.hidden_size, opt_level=1
        )
        optimized.save_model_to_file(str(fp32))
    _set_quantization_kind(fp32, "none")
    if not quantize:
        return fp32
    int8 = out / INT8_FILE
    quantize_dynamic(
        str(fp32),
        str(int8),
        weight_type=QuantType.QInt8,
        per_channel=True,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    _set_quantization_kind(int8, "dynamic")
    if calibration:
        export_static_int8(root, calibration, tokenizer=tokenizer)
    return int8


def export_static_int8(
    checkpoint: str | os.PathLike[str], texts: Sequence[str], *, tokenizer: Any = None, batch_size: int = 16
) -> Path:
    """Write ``<checkpoint>/onnx/model.int8-static.onnx`` from the fp32 export: weights int8 per channel,
    activations uint8 with scales calibrated once on ``texts`` and stored in
    the graph, so a sentence's result does not depend on the other sentences it is batched with.

    Calibration keeps the minimum and maximum of each activation over ``texts`` (batched by length, so almost no
    padding enters the ranges)."""
    _require()
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    root = Path(checkpoint)
    fp32 = root / ONNX_DIR / FP32_FILE
    if not fp32.is_file():
        raise FileNotFoundError(f"{fp32}: export the fp32 model first (export_onnx)")
    if tokenizer is None:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(root)
    texts = [t for t in texts if isinstance(t, str) and t.strip()]
    if not texts:
        raise ValueError("static quantisation needs calibration texts")
    max_length = int(_checkpoint_max_length(root))
    texts = sorted(texts, key=lambda t: len(tokenizer(t, truncation=True, max_length=max_length)["input_ids"]))
    batches = []
    for start in range(0, len(texts), batch_size):
        enc = tokenizer(
            texts[start : start + batch_size], truncation=True, max_length=max_length, padding=True, return_tensors="np"
        )
        batches.append({k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask")})

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(batches)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._it, None)

    static = root / ONNX_DIR / STATIC_INT8_FILE
    quantize_static(
        str(fp32),
        str(static),
        _Reader(),
        quant_format=QuantFormat.QDQ,
        op_types_to_quantize=["MatMul"],  # the encoder; the small pooler and head (Gemm) stay fp32
        per_channel=True,
        reduce_range=True,  # 7-bit weights: no int16 saturation in the u8*s8 kernels of CPUs without VNNI
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
        extra_options={"DefaultTensorType": _float_type()},
    )
    _set_quantization_kind(static, "static")
    return static


def calibration_texts(checkpoint: str | os.PathLike[str], limit: int = CALIBRATION_SENTENCES) -> list[str]:
    """Up to ``limit`` sentences for static calibration: the checkpoint's training file (from its
    ``training_config.yaml``), evenly spread over it; ``[]`` when that file is not available."""
    import yaml

    try:
        cfg = yaml.safe_load((Path(checkpoint) / "training_config.yaml").read_text(encoding="utf-8"))
        data = cfg["data"]
        path, column = Path(data["train_file"]), data.get("text_column", "text")
    except (OSError, TypeError, KeyError, yaml.YAMLError):
        return []
    if not path.is_file():
        return []
    texts: list[str] = []
    try:
        if path.suffix.lower() == ".csv":
            import csv

            with open(path, encoding="utf-8-sig", newline="") as fh:
                texts = [row.get(column) or "" for row in csv.DictReader(fh)]
        else:
            from model.jsonl import read_jsonl

            texts = [row.get(column) or "" for row in read_jsonl(path)]
    except (OSError, ValueError, AttributeError):
        return []
    texts = [t for t in texts if isinstance(t, str) and t.strip()]
    step = max(1, len(texts) // limit)
    return texts[::step][:limit]


def quantization_kind(path: str | os.PathLike[str]) -> str:
    """``dynamic``, ``static`` or ``none``: from the file's metadata, else from its operators."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    for prop in model.metadata_props:
        if prop.key == QUANTIZATION_KEY:
            return prop.value
    ops = {node.op_type for node in model.graph.node}
    if ops & _DYNAMIC_OPS:
        return "dynamic"
    return "static" if "QuantizeLinear" in ops else "none"


def _set_quantization_kind(path: Path, kind: str) -> None:
    import onnx

    model = onnx.load(str(path))
    for prop in list(model.metadata_props):
        if prop.key == QUANTIZATION_KEY:
            model.metadata_props.remove(prop)
    entry = model.metadata_props.add()
    entry.key, entry.value = QUANTIZATION_KEY, kind
    onnx.save(model, str(path))


def _float_type() -> int:
    import onnx

    return onnx.TensorProto.FLOAT


def _checkpoint_max_length(root: Path) -> int:
    """``max_length`` from the ``conflict_events`` block of ``config.json`` (format 0: ``training_config.yaml``)."""
    import json

    import yaml

    from model.checkpoint import BLOCK_KEY

    try:
        block = json.loads((root / "config.json").read_text(encoding="utf-8")).get(BLOCK_KEY)
        if isinstance(block, dict) and "max_length" in block:
            return int(block["max_length"])
        return int(yaml.safe_load((root / "training_config.yaml").read_text(encoding="utf-8"))["model"]["max_length"])
    except (OSError, TypeError, KeyError, ValueError, AttributeError, yaml.YAMLError):
        return 128


class OnnxLogits:
    """Callable that maps a padded batch (torch tensors) to logits with ONNX Runtime.

    A dynamically quantised model runs each sentence alone, without padding (see the module docstring), unless
    ``dynamic_batches`` is set; fp32 and statically quantised models run whole batches.
    """

    def __init__(
        self,
        checkpoint: str | os.PathLike[str],
        *,
        file: str = INT8_FILE,
        num_threads: int = 0,
        dynamic_batches: bool = False,
    ) -> None:
        ort = _require()
        folder = (Path(checkpoint) / ONNX_DIR).resolve()
        path = Path(checkpoint) / ONNX_DIR / file
        if path.resolve().parent != folder:  # also a symlink pointing elsewhere
            raise ValueError(
                f"{path}: ONNX model files must be inside {folder}; refusing to run a model from elsewhere"
            )
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: no ONNX export in this checkpoint; run `cec-export-onnx --checkpoint {checkpoint}`"
            )
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if num_threads:
            options.intra_op_num_threads = num_threads
        self.path = path
        self.quantization = quantization_kind(path)
        self.per_row = self.quantization == "dynamic" and not dynamic_batches
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, inputs: dict[str, Any]) -> np.ndarray:
        ids = inputs["input_ids"].cpu().numpy().astype(np.int64)
        mask = inputs["attention_mask"].cpu().numpy().astype(np.int64)
        if not self.per_row:
            return self.session.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0]
        rows = []
        for row_ids, row_mask in zip(ids, mask):
            keep = row_mask.astype(bool)  # the sentence's own tokens: no padding, so nothing from its neighbours
            feed = {"input_ids": row_ids[keep][None], "attention_mask": row_mask[keep][None]}
            rows.append(self.session.run(["logits"], feed)[0])
        return np.concatenate(rows, axis=0)

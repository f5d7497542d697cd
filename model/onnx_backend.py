"""A fast CPU inference path: ONNX export, graph optimisation, dynamic int8 quantisation, ONNX Runtime.

    cec-export-onnx --checkpoint checkpoints/default          # writes checkpoints/default/onnx/model.int8.onnx
    EventClassifier.from_pretrained("checkpoints/default", overrides=["inference.backend=onnx"])

The exported graph takes ``input_ids`` and ``attention_mask`` and returns the logits; ``predict()`` is the same
code as for PyTorch (tokenisation, length-sorted batching, softmax) with only the forward pass swapped.
Requires the optional extra ``pip install conflict-event-classifier[onnx]``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ONNX_DIR", "OnnxLogits", "export_onnx"]

ONNX_DIR = "onnx"
FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"


def _require() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError(
            "the ONNX backend needs onnx and onnxruntime: pip install 'conflict-event-classifier[onnx]'"
        ) from exc
    return onnxruntime


def export_onnx(checkpoint: str | os.PathLike[str], *, quantize: bool = True, optimize: bool = True) -> Path:
    """Export ``checkpoint`` to ``<checkpoint>/onnx/`` (fp32, and int8 unless ``quantize=False``).

    Returns the path of the file the ONNX backend will use (int8 if quantised).
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
    return int8


class OnnxLogits:
    """Callable that maps a padded batch (torch tensors) to logits with ONNX Runtime."""

    def __init__(self, checkpoint: str | os.PathLike[str], *, file: str = INT8_FILE, num_threads: int = 0) -> None:
        ort = _require()
        path = Path(checkpoint) / ONNX_DIR / file
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: no ONNX export in this checkpoint; run `cec-export-onnx --checkpoint {checkpoint}`"
            )
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if num_threads:
            options.intra_op_num_threads = num_threads
        self.path = path
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, inputs: dict[str, Any]) -> np.ndarray:
        feed = {name: inputs[name].cpu().numpy().astype(np.int64) for name in ("input_ids", "attention_mask")}
        return self.session.run(["logits"], feed)[0]

"""Conflict-event sentence classifier: configuration, label schema, model and inference.

>>> from model import predict
>>> predict(["Jets struck the town on Sunday."])[0].label  # doctest: +SKIP
'airstrike'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from model._lazy import lazy_exports

# Names are imported on first use, so ``import model.labels`` (or the corpus tools) does not load PyTorch.
_EXPORTS = {
    "CheckpointError": "model.classifier",
    "EventClassifier": "model.classifier",
    "Prediction": "model.classifier",
    "Config": "model.config",
    "ConfigError": "model.config",
    "load_config": "model.config",
    "Sentence": "model.documents",
    "split_sentences": "model.documents",
    "default_checkpoint": "model.inference",
    "extract_events": "model.inference",
    "load": "model.inference",
    "predict": "model.inference",
    "DEFAULT_LABELS": "model.labels",
    "LABEL_DESCRIPTIONS": "model.labels",
    "NONE_LABEL": "model.labels",
    "ModelNotFoundError": "model.offline",
    "resolve_model_path": "model.offline",
}

if TYPE_CHECKING:
    from model.classifier import CheckpointError, EventClassifier, Prediction
    from model.config import Config, ConfigError, load_config
    from model.documents import Sentence, split_sentences
    from model.inference import default_checkpoint, extract_events, load, predict
    from model.labels import DEFAULT_LABELS, LABEL_DESCRIPTIONS, NONE_LABEL
    from model.offline import ModelNotFoundError, resolve_model_path


__getattr__ = lazy_exports("model", _EXPORTS, globals())


__all__ = [
    "DEFAULT_LABELS",
    "LABEL_DESCRIPTIONS",
    "NONE_LABEL",
    "CheckpointError",
    "Config",
    "ConfigError",
    "EventClassifier",
    "ModelNotFoundError",
    "Prediction",
    "Sentence",
    "default_checkpoint",
    "extract_events",
    "load",
    "load_config",
    "predict",
    "resolve_model_path",
    "split_sentences",
]

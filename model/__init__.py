"""Conflict-event sentence classifier: configuration, label schema, model and inference.

>>> from model import predict
>>> predict(["Jets struck the town on Sunday."])[0].label  # doctest: +SKIP
'airstrike'
"""

from __future__ import annotations

from model.classifier import CheckpointError, EventClassifier, Prediction
from model.config import Config, ConfigError, load_config
from model.documents import Sentence, split_sentences
from model.inference import default_checkpoint, extract_events, load, predict
from model.labels import DEFAULT_LABELS, LABEL_DESCRIPTIONS, NONE_LABEL
from model.offline import ModelNotFoundError, resolve_model_path

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

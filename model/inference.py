"""Module-level entry points: ``predict`` and ``extract_events`` with a cached default model."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from model.classifier import CheckpointError, EventClassifier, Prediction
from model.documents import split_sentences

__all__ = ["DEFAULT_CHECKPOINT_ENV", "default_checkpoint", "extract_events", "load", "predict"]

DEFAULT_CHECKPOINT_ENV = "EVENT_CLASSIFIER_MODEL"
_PROJECT_ROOT = Path(__file__).resolve().parents[1]


def default_checkpoint() -> Path:
    """The checkpoint used when none is given: ``$EVENT_CLASSIFIER_MODEL``, else ``checkpoints/default`` in the
    working directory, else in the project checkout."""
    env = os.environ.get(DEFAULT_CHECKPOINT_ENV)
    if env:
        return Path(env)
    for root in (Path.cwd(), _PROJECT_ROOT):
        candidate = root / "checkpoints" / "default"
        if (candidate / "config.json").is_file():
            return candidate
    raise CheckpointError(
        "no trained model found: pass model=<checkpoint dir>, set $EVENT_CLASSIFIER_MODEL, or train the default "
        "model with `make train` (writes checkpoints/default)"
    )


@lru_cache(maxsize=4)
def _cached(path: str) -> EventClassifier:
    return EventClassifier.from_pretrained(path)


def load(model: str | os.PathLike[str] | EventClassifier | None = None) -> EventClassifier:
    """Return a classifier: the one given, one loaded (and cached) from a directory, or the default checkpoint."""
    if isinstance(model, EventClassifier):
        return model
    return _cached(str(Path(model if model is not None else default_checkpoint()).resolve()))


def predict(
    texts: str | Sequence[str],
    model: str | os.PathLike[str] | EventClassifier | None = None,
    *,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> Prediction | list[Prediction]:
    """Classify sentences with the default (or given) model; one :class:`Prediction` per input, in order.

    >>> predict(["Jets struck the town on Sunday."])[0].label  # doctest: +SKIP
    'airstrike'
    """
    return load(model).predict(texts, batch_size=batch_size, progress=progress)


def extract_events(
    article: str,
    model: str | os.PathLike[str] | EventClassifier | None = None,
    *,
    keep_none: bool = True,
) -> list[dict[str, Any]]:
    """Split an article into sentences and classify each one.

    Returns one dict per sentence: ``sentence``, ``start``, ``end`` (offsets into ``article``), ``label``,
    ``score``, ``labels`` and ``probabilities``. With ``keep_none=False`` sentences labelled ``none`` are dropped.
    """
    classifier = load(model)
    sentences = split_sentences(article)
    if not sentences:
        return []
    predictions = classifier.predict([s.text for s in sentences])
    rows = []
    for sentence, prediction in zip(sentences, predictions):
        if not keep_none and prediction.label == classifier.config.model.none_label:
            continue
        rows.append({"sentence": sentence.text, "start": sentence.start, "end": sentence.end, **prediction.to_dict()})
    return rows

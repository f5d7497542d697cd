"""Average the weights of several fine-tuned checkpoints of one base model (a "model soup").

>>> average_checkpoints(["runs/a", "runs/b"], "checkpoints/soup", dev_file="seeds/dev.jsonl")  # doctest: +SKIP

Models fine-tuned from the same pretrained encoder stay in one basin of the loss, so the mean of their weights is
itself a good model, often more robust to text unlike the training data than any one of them (Wortsman et al.,
2022, "Model soups"). The checkpoints must share labels, architecture and tokenizer; the temperature of the
average is fitted anew on ``dev_file`` (never on evaluation data).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from model.checkpoint import RECORD_FILE, WEIGHTS_FILE, file_sha256, provenance, read_json
from model.classifier import EventClassifier
from training.data import load_labelled_file
from training.trainer import average_state_dicts, calibrate

__all__ = ["average_checkpoints", "main"]


def average_checkpoints(
    checkpoints: Sequence[str | Path],
    output: str | Path,
    *,
    dev_file: str | Path | None = None,
    weights: Sequence[float] | None = None,
) -> Path:
    """Write the (weighted) mean of ``checkpoints`` to ``output``; refit its temperature on ``dev_file``."""
    if len(checkpoints) < 2:
        raise ValueError("average_checkpoints needs at least two checkpoints")
    weights = list(weights) if weights is not None else [1.0] * len(checkpoints)
    if len(weights) != len(checkpoints) or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError("weights must be non-negative, one per checkpoint, and not all zero")
    classifiers = [EventClassifier.from_pretrained(p) for p in checkpoints]
    first = classifiers[0]
    for path, clf in zip(checkpoints[1:], classifiers[1:]):
        if clf.labels != first.labels:
            raise ValueError(f"{path}: labels {clf.labels} differ from {checkpoints[0]}'s {first.labels}")
    first.model.load_state_dict(average_state_dicts([c.model.state_dict() for c in classifiers], weights))
    metrics: dict[str, Any] = {"soup": {"checkpoints": [str(p) for p in checkpoints], "weights": weights}}
    if dev_file is not None and first.config.model.problem_type == "single_label":
        config = first.config.update({"data.dev_file": str(dev_file)})
        dev, _ = load_labelled_file(dev_file, config)
        first.calibration = calibrate(first, dev, config)
        metrics["calibration"] = first.calibration.to_dict()
    record = provenance(
        first.config,
        weights=weights,
        averaged_from=[
            {
                "path": str(path),
                "weights_sha256": file_sha256(Path(path) / WEIGHTS_FILE),
                "training_record": read_json(Path(path) / RECORD_FILE),
            }
            for path in checkpoints
        ],
    )
    return first.save_pretrained(output, metrics=metrics, record=record)


def main(argv: Sequence[str] | None = None) -> int:
    """``cec-average``; the command line lives in :func:`training.cli.average_main` (parsed before PyTorch loads)."""
    from training.cli import average_main

    return average_main(argv)


if __name__ == "__main__":
    sys.exit(main())

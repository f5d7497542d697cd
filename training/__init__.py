"""Training, data validation and evaluation for the conflict-event classifier (depends on ``model``)."""

from __future__ import annotations

from training.data import DataError, DataReport, load_labelled_file, load_splits
from training.evaluation import compute_metrics, evaluate_classifier, write_report
from training.trainer import TrainResult, train

__all__ = [
    "DataError",
    "DataReport",
    "TrainResult",
    "compute_metrics",
    "evaluate_classifier",
    "load_labelled_file",
    "load_splits",
    "train",
    "write_report",
]

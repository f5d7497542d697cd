"""Training, data validation and evaluation for the conflict-event classifier (depends on ``model``)."""

from __future__ import annotations

from typing import TYPE_CHECKING


def _require_own_model_package() -> None:
    """Stop at import with a clear message if the ``model`` package found on ``sys.path`` is not this project's
    (``training`` depends on it; a ``model.py`` or ``model/`` of another project would shadow it)."""
    import model

    try:
        from model.resources import PROJECT as marker
    except ImportError:
        marker = None
    if marker != "conflict-event-classifier":
        where = getattr(model, "__file__", None) or list(getattr(model, "__path__", []))
        raise ImportError(
            f"the 'model' package imported from {where} is not conflict-event-classifier's: another 'model' on "
            "sys.path shadows it (check the working directory and PYTHONPATH)"
        )


_require_own_model_package()

from model._lazy import lazy_exports  # noqa: E402  (after the check, which names a shadowing 'model')

# Imported on first use, so the corpus tools (``training.corpus``) do not load PyTorch.
_EXPORTS = {
    "DataError": "training.data",
    "DataReport": "training.data",
    "load_labelled_file": "training.data",
    "load_splits": "training.data",
    "compute_metrics": "training.evaluation",
    "evaluate_classifier": "training.evaluation",
    "write_report": "training.evaluation",
    "TrainResult": "training.trainer",
    "train": "training.trainer",
}

if TYPE_CHECKING:
    from training.data import DataError, DataReport, load_labelled_file, load_splits
    from training.evaluation import compute_metrics, evaluate_classifier, write_report
    from training.trainer import TrainResult, train


__getattr__ = lazy_exports("training", _EXPORTS, globals())


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

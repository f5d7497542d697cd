"""Calibration fitted on the dev split: temperature scaling, multi-label thresholds, and how to measure them.

>>> t = fit_temperature(dev_logits, dev_gold_ids)                # doctest: +SKIP
>>> expected_calibration_error(softmax(dev_logits / t), dev_gold_ids)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["choose_thresholds", "confidence_ece", "expected_calibration_error", "fit_temperature", "plot_reliability"]


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def fit_temperature(logits: np.ndarray, gold: Sequence[int]) -> float:
    """The temperature ``t`` minimising the negative log-likelihood of ``softmax(logits / t)`` on ``gold``."""
    from scipy.optimize import minimize_scalar

    logits = np.asarray(logits, dtype=np.float64)
    gold = np.asarray(gold)
    if len(gold) == 0:
        return 1.0

    def nll(log_t: float) -> float:
        return -float(_log_softmax(logits / np.exp(log_t))[np.arange(len(gold)), gold].mean())

    best = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(best.x))


def expected_calibration_error(probs: np.ndarray, gold: Sequence[int], n_bins: int = 15) -> float:
    """ECE of the top-label confidence: the weighted mean gap between confidence and accuracy over equal-width
    confidence bins."""
    probs = np.asarray(probs)
    if len(probs) == 0:
        return 0.0
    return confidence_ece(probs.max(axis=1), probs.argmax(axis=1) == np.asarray(gold), n_bins)


def confidence_ece(confidence: Sequence[float], correct: Sequence[bool], n_bins: int = 15) -> float:
    """ECE from each prediction's reported confidence and whether it was right (any decision rule)."""
    confidence, correct = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=bool)
    if len(confidence) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (confidence > lo) & (confidence <= hi)
        if inside.any():
            ece += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(ece)


def reliability_bins(probs: np.ndarray, gold: Sequence[int], n_bins: int = 15) -> list[tuple[float, float, int]]:
    """``(mean confidence, accuracy, count)`` of each non-empty confidence bin."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(gold)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (confidence > lo) & (confidence <= hi)
        if inside.any():
            out.append((float(confidence[inside].mean()), float(correct[inside].mean()), int(inside.sum())))
    return out


def plot_reliability(curves: dict[str, tuple[np.ndarray, Sequence[int]]], path: Path, *, title: str) -> None:
    """Reliability diagram: accuracy against confidence per bin, one line per ``{name: (probs, gold)}``; each
    point is labelled with the number of texts in its bin."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfect calibration")
    for name, (probs, gold) in curves.items():
        bins = reliability_bins(probs, gold)
        ece = expected_calibration_error(probs, gold)
        (line,) = ax.plot([b[0] for b in bins], [b[1] for b in bins], marker="o", label=f"{name} (ECE {ece:.3f})")
        for x, y, count in bins:  # a bin of 1-3 texts swings between 0 and 1: say how many it holds
            ax.annotate(
                str(count), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7, color=line.get_color()
            )
    ax.set_xlabel("confidence (top probability); numbers: texts per bin")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def choose_thresholds(
    probs: np.ndarray, gold_sets: Sequence[Sequence[int]], labels: Sequence[str], none_label: str
) -> dict[str, float]:
    """Per event label, the sigmoid threshold that maximises that label's F1 on dev (ties: the lower threshold)."""
    from training.evaluation import binary_f1  # that module imports this one

    grid = np.round(np.arange(0.05, 0.951, 0.05), 2)
    thresholds = {}
    for j, name in enumerate(labels):
        if name == none_label:
            continue
        truth = np.array([j in s for s in gold_sets])
        best = (-1.0, 0.5)
        for t in grid:
            f1 = binary_f1(probs[:, j] >= t, truth)
            if f1 > best[0] + 1e-12:
                best = (f1, float(t))
        thresholds[name] = best[1]
    return thresholds

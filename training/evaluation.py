"""Evaluate a classifier through the same ``predict`` path users call, and write the results.

>>> result = evaluate_classifier(clf, texts, gold_labels, out_dir="eval/dev")  # doctest: +SKIP
>>> result["macro_f1"]                                                       # doctest: +SKIP

Writes ``metrics.json`` (accuracy, macro-F1, per-class precision/recall/F1/support, confusion matrix), a
``confusion_matrix.png`` and a short ``report.md``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from model.classifier import EventClassifier
from model.offline import enable_offline_mode

enable_offline_mode()

import evaluate  # noqa: E402

__all__ = ["METRIC_PATH", "compute_metrics", "evaluate_classifier", "write_report"]

METRIC_PATH = Path(__file__).resolve().parent / "metrics" / "classification"


@lru_cache(maxsize=1)
def _metric() -> evaluate.EvaluationModule:
    return evaluate.load(str(METRIC_PATH))


def compute_metrics(
    predictions: Sequence[int], references: Sequence[int], label_names: Sequence[str]
) -> dict[str, Any]:
    """Metrics from label ids (the one implementation; used by evaluation, training and the benchmarks)."""
    return _metric().compute(
        predictions=[int(p) for p in predictions],
        references=[int(r) for r in references],
        label_names=list(label_names),
    )


def evaluate_classifier(
    classifier: EventClassifier,
    texts: Sequence[str],
    gold: Sequence[str],
    *,
    out_dir: str | Path | None = None,
    title: str = "evaluation",
    progress: bool | None = None,
) -> dict[str, Any]:
    """Predict ``texts`` with ``classifier`` and score against ``gold`` label names.

    Gold labels the classifier does not know raise ``ValueError``. With ``out_dir`` the metrics, the confusion
    matrix plot and a markdown report are written there.
    """
    labels = classifier.labels
    unknown = sorted(set(gold) - set(labels))
    if unknown:
        raise ValueError(f"gold labels {unknown} are not labels of this model ({labels})")
    if len(texts) != len(gold):
        raise ValueError(f"{len(texts)} texts but {len(gold)} gold labels")
    probs = classifier.predict_proba(list(texts), progress=progress)
    predicted = probs.argmax(axis=1)
    ids = {name: i for i, name in enumerate(labels)}
    result = compute_metrics(predicted, [ids[g] for g in gold], labels)
    result["mean_confidence"] = float(np.mean(probs.max(axis=1))) if len(probs) else 0.0
    if out_dir is not None:
        write_report(result, labels, out_dir, title=title)
    return result


def write_report(result: dict[str, Any], labels: Sequence[str], out_dir: str | Path, *, title: str) -> Path:
    """Write ``metrics.json``, ``confusion_matrix.png`` and ``report.md`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    plot_confusion_matrix(result["confusion_matrix"], labels, out / "confusion_matrix.png", title=title)
    (out / "report.md").write_text(markdown_report(result, labels, title=title), encoding="utf-8")
    return out


def markdown_report(result: dict[str, Any], labels: Sequence[str], *, title: str) -> str:
    lines = [
        f"# {title}",
        "",
        f"{result['num_examples']} examples. Accuracy **{result['accuracy']:.3f}**, macro-F1 **{result['macro_f1']:.3f}** "
        f"(averaged over {', '.join(result['labels_averaged'])}).",
        "",
        "| label | precision | recall | F1 | support |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in labels:
        c = result["per_class"][name]
        lines.append(f"| {name} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |")
    lines += ["", "Confusion matrix (rows: gold, columns: predicted): `confusion_matrix.png`", ""]
    lines.append("| gold \\ predicted | " + " | ".join(labels) + " |")
    lines.append("|---|" + "---:|" * len(labels))
    for name, row in zip(labels, result["confusion_matrix"]):
        lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def plot_confusion_matrix(matrix: Sequence[Sequence[int]], labels: Sequence[str], path: Path, *, title: str) -> None:
    """A row-normalised confusion matrix with raw counts in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.asarray(matrix, dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    fig, ax = plt.subplots(figsize=(1.3 * len(labels) + 2, 1.1 * len(labels) + 1.5))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center",
                    color="white" if share[i, j] > 0.5 else "black", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

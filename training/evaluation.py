"""Evaluate a classifier through the same ``predict`` path users call, and write the results.

>>> result = evaluate_classifier(clf, texts, gold_labels, out_dir="eval/dev")  # doctest: +SKIP
>>> result["macro_f1"]                                                       # doctest: +SKIP

Writes ``metrics.json`` (accuracy, macro-F1 with a bootstrap interval, per-class precision/recall/F1/support,
confusion matrix), a ``confusion_matrix.png``, a ``reliability.png`` with the number of texts in each bin, a short
``report.md`` and, if asked, ``errors.csv`` (every misclassified text with its gold label and prediction).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from model.classifier import EventClassifier
from model.offline import enable_offline_mode
from training.calibration import expected_calibration_error, plot_reliability, reliability_bins

enable_offline_mode()

import evaluate  # noqa: E402

__all__ = [
    "METRIC_PATH",
    "binary_f1",
    "bootstrap_macro_f1",
    "compute_metrics",
    "evaluate_classifier",
    "label_ids",
    "set_metrics",
    "write_errors",
    "write_report",
]

METRIC_PATH = Path(__file__).resolve().parent / "metrics" / "classification"
SINGLE_LABEL_WARNING = (
    "the gold data has only the label(s) {labels}: macro-F1 is the F1 of that one label (accuracy, really) and says "
    "nothing about telling labels apart; evaluate on data with at least two labels"
)


@lru_cache(maxsize=1)
def _metric() -> evaluate.EvaluationModule:
    return evaluate.load(str(METRIC_PATH))


def compute_metrics(
    predictions: Sequence[int | str], references: Sequence[int | str], label_names: Sequence[str]
) -> dict[str, Any]:
    """Metrics from label ids or label names (the one implementation; used by evaluation, training, the baselines
    and the benchmarks). A predicted name that is not a label (``uncertain``) counts as wrong for every label;
    an unknown gold name raises ``ValueError``."""
    return _metric().compute(
        predictions=label_ids(predictions, label_names, unknown=-1),
        references=label_ids(references, label_names),
        label_names=list(label_names),
    )


def label_ids(labels: Sequence[int | str], label_names: Sequence[str], *, unknown: int | None = None) -> list[int]:
    """Label names (or ids, kept as they are) as ids in ``label_names`` order; a name that is not a label becomes
    ``unknown``, or raises ``ValueError`` when ``unknown`` is ``None``."""
    ids = {name: i for i, name in enumerate(label_names)}
    out = []
    for label in labels:
        if not isinstance(label, str):
            out.append(int(label))
        elif label in ids or unknown is not None:
            out.append(ids.get(label, unknown))
        else:
            raise ValueError(f"gold label {label!r} is not one of the labels {list(label_names)}")
    return out


def binary_f1(predicted: np.ndarray, truth: np.ndarray) -> float:
    """F1 of one label from boolean masks (what is predicted, what is true): 2·TP / (predicted + true), 0 when both
    are empty — the formula of the classification metric, for label sets and threshold search."""
    total = int(predicted.sum() + truth.sum())
    return 2 * int((predicted & truth).sum()) / total if total else 0.0


def bootstrap_macro_f1(
    predictions: Sequence[int | str],
    references: Sequence[int | str],
    label_names: Sequence[str],
    *,
    n: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """95 % percentile interval of macro-F1 over ``n`` resamples of the rows (seeded), by :func:`compute_metrics`
    (label ids or names)."""
    rng = np.random.default_rng(seed)
    pred = np.asarray(label_ids(predictions, label_names, unknown=-1))
    ref = np.asarray(label_ids(references, label_names))
    values = []
    for _ in range(n):
        idx = rng.integers(0, len(ref), len(ref))
        values.append(compute_metrics(pred[idx], ref[idx], label_names)["macro_f1"])
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def evaluate_classifier(
    classifier: EventClassifier,
    texts: Sequence[str],
    gold: Sequence[str],
    *,
    gold_sets: Sequence[Sequence[str]] | None = None,
    out_dir: str | Path | None = None,
    title: str = "evaluation",
    progress: bool | None = None,
    bootstrap: int = 0,
    errors_file: bool = False,
    codes: bool = False,
) -> dict[str, Any]:
    """Predict ``texts`` with ``classifier`` and score against ``gold`` label names (the main label of each text).

    Single-label models also get the expected calibration error of their probabilities before (``ece_raw``)
    and after (``ece``) the checkpoint's temperature scaling. With ``gold_sets`` (every label of each text),
    multi-label metrics over label sets are added under ``multi_label``. Abstention (``min_confidence``) is not
    applied: every text is scored on its best label. Gold labels the classifier does not know raise
    ``ValueError``. With ``out_dir`` the metrics, the plots and a markdown report are written there (and, with
    ``errors_file``, ``errors.csv``: one row per misclassified text, most confident first, with the ACLED/CAMEO/
    PLOVER columns if ``codes``). ``bootstrap=N`` adds ``macro_f1_ci95``, the 95 % interval over N resamples. With
    ``inference.min_confidence`` set, ``abstention`` gives the share of texts answered and the accuracy on them.
    """
    labels = classifier.labels
    unknown = sorted(set(gold) - set(labels))
    if unknown:
        raise ValueError(f"gold labels {unknown} are not labels of this model ({labels})")
    if len(texts) != len(gold):
        raise ValueError(f"{len(texts)} texts but {len(gold)} gold labels")
    ids = {name: i for i, name in enumerate(labels)}
    gold_ids = [ids[g] for g in gold]
    logits = classifier.predict_logits(list(texts), progress=progress)
    probs = classifier.probabilities_from_logits(logits)
    decisions = [classifier.decide(row, abstain=False) for row in probs]
    predicted = [ids[d.label] for d in decisions]
    result = compute_metrics(predicted, gold_ids, labels)
    if len(result["labels_averaged"]) < 2:
        result["warning"] = SINGLE_LABEL_WARNING.format(labels=result["labels_averaged"])
        warnings.warn(f"{title}: {result['warning']}", stacklevel=2)
    result["mean_confidence"] = float(np.mean([d.score for d in decisions])) if decisions else 0.0
    if bootstrap and gold_ids:
        result["macro_f1_ci95"] = bootstrap_macro_f1(predicted, gold_ids, labels, n=bootstrap)
    threshold = classifier.config.inference.min_confidence
    if threshold > 0 and decisions:
        answered = [d.score >= threshold for d in decisions]
        right = [p == g for p, g in zip(predicted, gold_ids)]
        n_answered = sum(answered)
        result["abstention"] = {
            "min_confidence": threshold,
            "coverage": n_answered / len(decisions),
            "accuracy_answered": sum(a and r for a, r in zip(answered, right)) / n_answered if n_answered else None,
        }
    curves = {}
    if not classifier.multi_label:
        raw = classifier.probabilities_from_logits(logits, temperature=1.0)
        result["ece_raw"] = expected_calibration_error(raw, gold_ids)
        result["ece"] = expected_calibration_error(probs, gold_ids)
        result["temperature"] = classifier.calibration.temperature
        result["reliability_bins"] = [
            {"confidence": c, "accuracy": a, "count": n} for c, a, n in reliability_bins(probs, gold_ids)
        ]
        curves = {
            "raw (T=1)": (raw, gold_ids),
            f"temperature-scaled (T={classifier.calibration.temperature:.2f})": (probs, gold_ids),
        }
    if gold_sets is not None:
        result["multi_label"] = set_metrics(
            [d.labels for d in decisions], gold_sets, labels, classifier.config.model.none_label
        )
    if out_dir is not None:
        if errors_file:
            result["num_errors"] = write_errors(
                Path(out_dir) / "errors.csv", classifier, texts, gold, probs, codes=codes
            )
        write_report(result, labels, out_dir, title=title)
        if curves:
            plot_reliability(curves, Path(out_dir) / "reliability.png", title=f"{title}: reliability")
    return result


def write_errors(
    path: str | Path,
    classifier: EventClassifier,
    texts: Sequence[str],
    gold: Sequence[str],
    probs: np.ndarray,
    *,
    codes: bool = False,
) -> int:
    """Write every text whose best label is not its gold label to a CSV file, most confident mistake first:
    ``row`` (0-based index in the data), ``text``, ``gold``, then the prediction columns of
    :func:`model.output.prediction_schema`. Returns the number of rows written (the header is always written)."""
    from model.output import open_writer, prediction_row, prediction_schema

    decisions = [classifier.decide(row, abstain=False, with_codes=codes) for row in probs]
    wrong = [i for i, (d, g) in enumerate(zip(decisions, gold)) if d.label != g]
    wrong.sort(key=lambda i: -decisions[i].score)
    columns = {"row": "int", "text": "string", "gold": "string", **prediction_schema(classifier.labels, codes=codes)}
    writer = open_writer(columns, "csv", str(path))
    try:
        for i in wrong:
            writer.write({"row": i, "text": texts[i], "gold": gold[i], **prediction_row(decisions[i], codes=codes)})
    finally:
        writer.close()
    return len(wrong)


def set_metrics(
    predicted: Sequence[Sequence[str]], gold: Sequence[Sequence[str]], labels: Sequence[str], none_label: str
) -> dict[str, Any]:
    """Per-label F1 over label sets (a text counts for every label it carries), macro over event labels present,
    and the share of texts whose whole label set is right."""
    per = {}
    for name in labels:
        if name == none_label:
            continue
        p = np.array([name in x for x in predicted])
        g = np.array([name in x for x in gold])
        per[name] = {"f1": binary_f1(p, g), "support": int(g.sum())}
    present = [n for n, v in per.items() if v["support"]]
    return {
        "per_class": per,
        "macro_f1_events": float(np.mean([per[n]["f1"] for n in present])) if present else 0.0,
        "exact_set_accuracy": float(np.mean([set(a) == set(b) for a, b in zip(predicted, gold)])) if gold else 0.0,
    }


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
        f"(averaged over {', '.join(result['labels_averaged'])})"
        + (
            f"; 95 % bootstrap interval of macro-F1 [{result['macro_f1_ci95'][0]:.3f}, {result['macro_f1_ci95'][1]:.3f}]."
            if result.get("macro_f1_ci95")
            else "."
        ),
        "",
        "| label | precision | recall | F1 | support |",
        "|---|---:|---:|---:|---:|",
    ]
    if result.get("warning"):
        lines[4:4] = [f"**Warning:** {result['warning']}.", ""]
    for name in labels:
        c = result["per_class"][name]
        lines.append(f"| {name} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |")
    if "ece" in result:
        lines += [
            "",
            f"Calibration: expected calibration error {result['ece_raw']:.3f} before and "
            f"**{result['ece']:.3f}** after temperature scaling (T = {result['temperature']:.2f}, fitted on dev); "
            "reliability diagram: `reliability.png`.",
        ]
    if "abstention" in result:
        ab = result["abstention"]
        answered = "n/a" if ab["accuracy_answered"] is None else f"{ab['accuracy_answered']:.3f}"
        lines += [
            "",
            f"Abstention at min_confidence {ab['min_confidence']:.2f}: {ab['coverage']:.1%} of texts answered, "
            f"accuracy on them {answered} (the metrics above score every text on its best label).",
        ]
    if "num_errors" in result:
        lines += ["", f"{result['num_errors']} misclassified texts, most confident first: `errors.csv`."]
    if "multi_label" in result:
        ml = result["multi_label"]
        lines += [
            "",
            f"Multi-label (label sets): macro-F1 over events {ml['macro_f1_events']:.3f}, "
            f"exact set accuracy {ml['exact_set_accuracy']:.3f}.",
        ]
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
            ax.text(
                j,
                i,
                f"{int(counts[i, j])}",
                ha="center",
                va="center",
                color="white" if share[i, j] > 0.5 else "black",
                fontsize=9,
            )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

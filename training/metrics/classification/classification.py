"""Classification metrics as a local ``evaluate`` module (the Hub's metric scripts cannot be downloaded offline).

Loaded by path: ``evaluate.load("training/metrics/classification")``. Computes accuracy, macro-F1 over the labels
present in the references (or the ``labels`` given), per-class precision/recall/F1/support and the confusion
matrix, with scikit-learn.
"""

import datasets
import evaluate
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

_DESCRIPTION = "Accuracy, macro-F1, per-class precision/recall/F1/support and confusion matrix."
_KWARGS_DESCRIPTION = """
Args:
    predictions (list of int): predicted label ids.
    references (list of int): gold label ids.
    label_names (list of str): name of each label id.
    average_over (str): 'present' averages F1 over labels that occur in the references (default);
        'all' averages over every label in label_names.
Returns:
    accuracy, macro_f1, macro_precision, macro_recall, per_class {name: {precision, recall, f1, support}},
    confusion_matrix (rows = gold, columns = predicted, in label_names order), labels_averaged.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Classification(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references, label_names=None, average_over="present"):
        if label_names is None:
            label_names = [str(i) for i in range(max(list(predictions) + list(references)) + 1)]
        all_ids = list(range(len(label_names)))
        present = sorted(set(references))
        averaged = present if average_over == "present" else all_ids
        p, r, f, s = precision_recall_fscore_support(references, predictions, labels=all_ids, zero_division=0)
        per_class = {
            label_names[i]: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(s[i]),
            }
            for i in all_ids
        }
        macro = lambda values: float(sum(values[i] for i in averaged) / len(averaged)) if averaged else 0.0  # noqa: E731
        return {
            "accuracy": float(accuracy_score(references, predictions)) if len(references) else 0.0,
            "macro_f1": macro(f),
            "macro_precision": macro(p),
            "macro_recall": macro(r),
            "per_class": per_class,
            "confusion_matrix": confusion_matrix(references, predictions, labels=all_ids).tolist(),
            "labels_averaged": [label_names[i] for i in averaged],
            "num_examples": len(references),
        }

"""Accuracy table: fine-tuned checkpoints against baselines, on the seed test split and on real news.

    python scripts/benchmark_accuracy.py                                   # checkpoints/default
    python scripts/benchmark_accuracy.py --model default=checkpoints/default --model starter=checkpoints/starter

Writes benchmarks/accuracy.md and benchmarks/accuracy.json. Real-news sets are read from ../shared/benchmarks
(evaluation only) when that folder exists, and skipped with a message otherwise. Every score goes through
training.evaluation.compute_metrics, the code path of scripts/evaluate.py.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

# Replace the scripts/ folder on the path (its evaluate.py would shadow the `evaluate` library) by the project root.
ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

from model import EventClassifier, load_config  # noqa: E402
from training.baselines import EmbeddingBaseline, KeywordBaseline, MajorityBaseline, TfidfBaseline  # noqa: E402
from training.corpus import read_jsonl  # noqa: E402
from training.evaluation import compute_metrics, evaluate_classifier  # noqa: E402

EVENTS = ["territorial_gain", "airstrike", "rally", "diplomatic_visit"]


def load_sets(shared: Path) -> dict[str, tuple[list[str], list[str]]]:
    sets = {}
    test = read_jsonl(ROOT / "seeds" / "test.jsonl")
    sets["seed test split"] = ([r["text"] for r in test], [r["label"] for r in test])
    if shared.is_dir():
        for path in sorted(shared.glob("*.jsonl")):
            rows = read_jsonl(path)
            sets[path.name] = ([r["text"] for r in rows], [r["label"] for r in rows])
    else:
        print(f"[skip] {shared} not found: real-news benchmarks skipped (only the seed test split is scored)")
    return sets


def score(pred: list[str], gold: list[str], labels: list[str]) -> dict:
    ids = {name: i for i, name in enumerate(labels)}
    return compute_metrics([ids[p] for p in pred], [ids[g] for g in gold], labels)


def bootstrap_macro_f1(pred: list[str], gold: list[str], labels: list[str], *, n: int = 1000) -> tuple[float, float]:
    """95 % percentile interval of macro-F1 over ``n`` resamples of the rows (seeded), by :func:`score`."""
    rng = np.random.default_rng(0)
    values = []
    for _ in range(n):
        idx = rng.integers(0, len(gold), len(gold))
        values.append(score([pred[i] for i in idx], [gold[i] for i in idx], labels)["macro_f1"])
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="fine-tuned checkpoint to score (repeatable; default: default=checkpoints/default)",
    )
    parser.add_argument("--shared", default=str(ROOT.parent / "shared" / "benchmarks"))
    parser.add_argument("--out", default=str(ROOT / "benchmarks"))
    parser.add_argument("--no-embedding", action="store_true", help="skip the frozen-encoder baseline")
    parser.add_argument("--bootstrap", type=int, default=1000, help="resamples for the macro-F1 interval")
    args = parser.parse_args()

    cfg = load_config(ROOT / "configs" / "default.yaml")
    labels = cfg.model.labels
    train = read_jsonl(ROOT / "seeds" / "train.jsonl")
    dev = read_jsonl(ROOT / "seeds" / "dev.jsonl")
    tx, ty = [r["text"] for r in train], [r["label"] for r in train]
    dx, dy = [r["text"] for r in dev], [r["label"] for r in dev]
    sets = load_sets(Path(args.shared))

    systems: dict[str, object] = {}
    for spec in args.model or ["default=checkpoints/default"]:
        name, _, path = spec.partition("=")
        systems[f"fine-tuned MiniLM ({name})"] = EventClassifier.from_pretrained(
            ROOT / path if not Path(path).is_absolute() else path
        )
    systems["keyword rules (untuned)"] = KeywordBaseline().fit(tx, ty)
    systems["TF-IDF + logistic regression"] = TfidfBaseline().fit(tx, ty, dx, dy)
    if not args.no_embedding:
        systems["frozen MiniLM + logistic regression"] = EmbeddingBaseline().fit(tx, ty, dx, dy)
    systems["majority class"] = MajorityBaseline().fit(tx, ty)

    results: dict[str, dict[str, dict]] = {}
    for sys_name, system in systems.items():
        results[sys_name] = {}
        for set_name, (texts, gold) in sets.items():
            start = time.perf_counter()
            if isinstance(system, EventClassifier):
                result = evaluate_classifier(system, texts, gold, progress=False)
                pred = [p.label for p in system.predict(texts, progress=False)]
            else:
                pred = list(system.predict(texts))
                result = score(pred, gold, labels)
            result["seconds"] = round(time.perf_counter() - start, 2)
            result["macro_f1_ci95"] = bootstrap_macro_f1(pred, gold, labels, n=args.bootstrap)
            results[sys_name][set_name] = result
            low, high = result["macro_f1_ci95"]
            print(
                f"{sys_name:45s} {set_name:22s} macro-F1 {result['macro_f1']:.3f} [{low:.3f}, {high:.3f}]  "
                f"acc {result['accuracy']:.3f}"
            )

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "train_rows": len(tx),
        "dev_rows": len(dx),
        "sets": {k: len(v[0]) for k, v in sets.items()},
    }
    (out / "accuracy.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2), encoding="utf-8")
    lines = [
        "# Accuracy",
        "",
        "Produced by `python scripts/benchmark_accuracy.py` (numbers below are from its last run).",
        f"Training data for every trained row: the seed `train` split ({len(tx)} rows); model/C selection on `dev` "
        f"({len(dx)} rows). Real-news sets are evaluation only. Macro-F1 averages the labels present in each set; "
        f"the interval is the 95 % bootstrap percentile interval over {args.bootstrap} resamples of the rows "
        "(small classes make macro-F1 on a few hundred real snippets move by several points).",
        "",
    ]
    for set_name, (texts, gold) in sets.items():
        present = [x for x in EVENTS + ["none"] if x in set(gold)]
        lines += [
            f"## {set_name} ({len(texts)} rows)",
            "",
            "| system | accuracy | macro-F1 | 95 % interval | " + " | ".join(f"F1 {x}" for x in present) + " |",
            "|---|---:|---:|---:|" + "---:|" * len(present),
        ]
        for sys_name in systems:
            r = results[sys_name][set_name]
            cells = " | ".join(f"{r['per_class'][x]['f1']:.3f}" for x in present)
            low, high = r["macro_f1_ci95"]
            lines.append(
                f"| {sys_name} | {r['accuracy']:.3f} | **{r['macro_f1']:.3f}** | {low:.3f}–{high:.3f} | {cells} |"
            )
        lines.append("")
    (out / "accuracy.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"written: {out / 'accuracy.md'}, {out / 'accuracy.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Accuracy table: fine-tuned checkpoints against baselines, on the seed test split and on real news.

    python scripts/benchmark_accuracy.py                                   # checkpoints/default
    python scripts/benchmark_accuracy.py --model default=checkpoints/default --model starter=checkpoints/starter

Writes benchmarks/accuracy.md and benchmarks/accuracy.json. Real-news sets are read from ../shared/benchmarks
(evaluation only) when that folder exists, and skipped with a message otherwise. Every score goes through
training.evaluation.compute_metrics, the code path of cec-evaluate (scripts/evaluate_checkpoint.py).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
from pathlib import Path

from model import EventClassifier, load_config, split_sentences
from model.provenance import run_stamp, stamp_markdown
from training.baselines import EmbeddingBaseline, KeywordBaseline, MajorityBaseline, TfidfBaseline
from training.calibration import confidence_ece
from training.corpus import read_jsonl
from training.evaluation import bootstrap_macro_f1, compute_metrics, evaluate_classifier

ROOT = Path(__file__).resolve().parents[1]  # the checkout: data, benchmarks and docs are read from it

EVENTS = ["territorial_gain", "airstrike", "rally", "diplomatic_visit"]


SEED_ARTICLE = ROOT / "benchmarks" / "data" / "seed_article_2014_iraq.labels.json"


def seed_article() -> tuple[list[str], list[str]] | None:
    """The project's seed article (in ../shared/seeds), split by the package's splitter, with our v2 labels."""
    spec = json.loads(SEED_ARTICLE.read_text(encoding="utf-8"))
    path = ROOT / spec["article"]
    if not path.is_file():
        return None
    sentences = split_sentences(path.read_text(encoding="utf-8"))
    rows = spec["sentences"]
    if len(sentences) != len(rows) or any(not s.text.startswith(r["starts"]) for s, r in zip(sentences, rows)):
        raise SystemExit(f"{SEED_ARTICLE} no longer matches the splitter's sentences of {path}")
    return [s.text for s in sentences], [r["label"] for r in rows]


def load_sets(shared: Path, *, seed_test: bool = True) -> dict[str, tuple[list[str], list[str]]]:
    sets = {}
    if seed_test:
        test = read_jsonl(ROOT / "seeds" / "test.jsonl")
        sets["seed test split"] = ([r["text"] for r in test], [r["label"] for r in test])
    if shared.is_dir():
        for path in sorted(shared.glob("*.jsonl")):
            rows = read_jsonl(path)
            sets[path.name] = ([r["text"] for r in rows], [r["label"] for r in rows])
    else:
        print(f"[skip] {shared} not found: real-news benchmarks skipped (only the seed test split is scored)")
    article = seed_article()
    if article is not None:
        sets["seed article (2014 Iraq)"] = article
    return sets


class SharedLexicon:
    """The 30-line cue-word lexicon of ../shared/tools/corpus_check.py, imported from there (not copied)."""

    def __init__(self, tools: Path) -> None:
        spec = importlib.util.spec_from_file_location("corpus_check", tools / "corpus_check.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.rule = module.keyword_rule

    def predict(self, texts: list[str]) -> list[str]:
        return [self.rule(t) for t in texts]


def recipe(path: Path) -> str:
    """The training settings that distinguish the ablation rows, read from the checkpoint."""
    cfg = path / "training_config.yaml"
    metrics = path / "metrics.json"
    if not cfg.is_file():
        return ""
    import yaml

    c = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    t = c["training"]
    saved = json.loads(metrics.read_text(encoding="utf-8")) if metrics.is_file() else {}
    if "soup" in saved:
        return "weight average of " + " + ".join(Path(p).name for p in saved["soup"]["checkpoints"])
    rows = json.loads(metrics.read_text(encoding="utf-8")).get("train", {}).get("examples") if metrics.is_file() else None
    parts = [f"{Path(c['data']['train_file']).name} ({rows} rows)" if rows else Path(c["data"]["train_file"]).name,
             f"{t['epochs']:g} ep", f"lr {t['learning_rate']:g}"]
    if t.get("none_share"):
        parts.append(f"none share {t['none_share']:g}")
    if t.get("label_smoothing"):
        parts.append(f"smoothing {t['label_smoothing']:g}")
    if t.get("average_seeds", 1) > 1:
        parts.append(f"{t['average_seeds']} seeds averaged")
    if t.get("average_last_epochs", 1) > 1:
        parts.append(f"avg last {t['average_last_epochs']} ep")
    parts.append(f"seed {t['seed']}")
    return ", ".join(parts)


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
    parser.add_argument("--real-only", action="store_true",
                        help="score only the real-news sets and the seed article, against the shared lexicon (no "
                        "seed test split, no trained baselines): the quick ablation table")
    args = parser.parse_args()

    cfg = load_config(ROOT / "configs" / "default.yaml")
    labels = cfg.model.labels
    train = read_jsonl(ROOT / "seeds" / "train.jsonl")
    dev = read_jsonl(ROOT / "seeds" / "dev.jsonl")
    tx, ty = [r["text"] for r in train], [r["label"] for r in train]
    dx, dy = [r["text"] for r in dev], [r["label"] for r in dev]
    sets = load_sets(Path(args.shared), seed_test=not args.real_only)

    systems: dict[str, object] = {}
    recipes: dict[str, str] = {}
    checkpoints: dict[str, Path] = {}
    for spec in args.model or ["default=checkpoints/default"]:
        name, _, path = spec.partition("=")
        path = ROOT / path if not Path(path).is_absolute() else Path(path)
        checkpoints[name] = path
        systems[f"fine-tuned MiniLM ({name})"] = EventClassifier.from_pretrained(path)
        recipes[f"fine-tuned MiniLM ({name})"] = recipe(path)
    tools = Path(args.shared).parent / "tools"
    if (tools / "corpus_check.py").is_file():
        systems["cue-word lexicon (../shared/tools/corpus_check.py)"] = SharedLexicon(tools)
    if not args.real_only:
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
                preds = system.predict(texts, progress=False)
                pred = [p.label for p in preds]
                result["ece_predict"] = confidence_ece([p.score for p in preds], [p == g for p, g in zip(pred, gold)])
                result["errors_at_0.9"] = sum(p.score >= 0.9 and p.label != g for p, g in zip(preds, gold))
            else:
                pred = list(system.predict(texts))
                result = compute_metrics(pred, gold, labels)
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
    stamp = run_stamp(checkpoints, where=ROOT)
    report = {"stamp": stamp, "meta": meta, "results": results}
    (out / "accuracy.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    lines = [
        "# Accuracy",
        "",
        *stamp_markdown(stamp),
        "",
        "Produced by `python scripts/benchmark_accuracy.py"
        + (" --real-only --model NAME=DIR …`: the checkpoints named and the shared cue-word lexicon, no trained "
           "baselines; each row's recipe gives the training file and row count it was trained on (earlier rows "
           "used earlier corpus versions)." if args.real_only else
           f"` (numbers below are from its last run). Training data for every trained baseline: the seed `train` "
           f"split ({len(tx)} rows); model/C selection on `dev` ({len(dx)} rows).")
        + " Real-news sets are evaluation only: nothing is trained, tuned or calibrated on "
        "them. Macro-F1 averages the labels present in each set; the interval is the 95 % bootstrap percentile "
        f"interval over {args.bootstrap} resamples of the rows (small classes make macro-F1 on a few hundred real "
        "snippets move by several points). ECE is the expected calibration error (15 bins) of the probability "
        "`predict()` reports, after the temperature fitted on the corpus dev split.",
        "",
        "## Summary (ablation table): macro-F1 [95 % interval] on every set",
        "",
        "| system | recipe | " + " | ".join(sets) + " | ECE " + " / ".join(
            n for n in sets if n != "seed test split") + " |",
        "|---|---|" + "---:|" * len(sets) + "---:|",
    ]
    for sys_name in systems:
        cells = []
        for set_name in sets:
            r = results[sys_name][set_name]
            low, high = r["macro_f1_ci95"]
            cells.append(f"**{r['macro_f1']:.3f}** [{low:.2f}–{high:.2f}]")
        eces = " / ".join(f"{results[sys_name][n]['ece_predict']:.3f}" for n in sets
                          if n != "seed test split" and "ece_predict" in results[sys_name][n]) or "–"
        lines.append(f"| {sys_name} | {recipes.get(sys_name, '')} | " + " | ".join(cells) + f" | {eces} |")
    lines.append("")
    for set_name, (texts, gold) in sets.items():
        present = [x for x in EVENTS + ["none"] if x in set(gold)]
        lines += [
            f"## {set_name} ({len(texts)} rows)",
            "",
            "| system | accuracy | macro-F1 | 95 % interval | " + " | ".join(f"F1 {x}" for x in present)
            + " | ECE | errors at p ≥ 0.9 |",
            "|---|---:|---:|---:|" + "---:|" * len(present) + "---:|---:|",
        ]
        for sys_name in systems:
            r = results[sys_name][set_name]
            cells = " | ".join(f"{r['per_class'][x]['f1']:.3f}" for x in present)
            low, high = r["macro_f1_ci95"]
            ece = f"{r['ece_predict']:.3f}" if "ece_predict" in r else "–"
            errs = str(r["errors_at_0.9"]) if "errors_at_0.9" in r else "–"
            lines.append(
                f"| {sys_name} | {r['accuracy']:.3f} | **{r['macro_f1']:.3f}** | {low:.3f}–{high:.3f} | {cells} "
                f"| {ece} | {errs} |"
            )
        lines.append("")
    (out / "accuracy.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"written: {out / 'accuracy.md'}, {out / 'accuracy.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Speed and memory table for the inference backends, with accuracy parity, on this machine.

    python scripts/benchmark_speed.py [--checkpoint checkpoints/default] [--repeats 5] [--sentences 1000]

Each backend runs in its own subprocess (so peak memory and load time are its own): PyTorch fp32 in input
order (the eager baseline), PyTorch fp32 with length-sorted batches (the default torch path), ONNX Runtime fp32,
and three ONNX Runtime int8 paths (all sorted): dynamic int8 on whole batches (activation scales shared by the
batch, so a sentence's scores depend on its neighbours; the pre-issue-13 behaviour), dynamic int8 one sentence at
a time (the default now) and static int8 (scales calibrated at export time on the training file). Reports
throughput at batch 1/8/32/128 (median of repeats), single-sentence latency p50/p95, peak resident memory, load
time, macro-F1 on the seed test split and on ../shared/benchmarks (when present), and how much a sentence's
probabilities move between being classified alone and inside batches (largest change, label flips), with ratios
against the eager baseline of the same run. Training time per epoch comes from the checkpoint's metrics.json
(measured when it was trained). Writes benchmarks/speed.md/json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout: data, benchmarks and docs are read from it

BACKENDS = {
    "torch fp32, input order (eager baseline)": ["inference.backend=torch", "inference.sort_by_length=false"],
    "torch fp32, length-sorted": ["inference.backend=torch", "inference.sort_by_length=true"],
    "onnxruntime fp32, length-sorted (the ONNX default)": ["inference.backend=onnx", "inference.onnx_file=model.onnx"],
    "onnxruntime int8 dynamic, whole batches (batch-dependent)": [
        "inference.backend=onnx",
        "inference.onnx_file=model.int8.onnx",
        "inference.onnx_dynamic_batches=true",
    ],
    "onnxruntime int8 dynamic, per sentence": [
        "inference.backend=onnx",
        "inference.onnx_file=model.int8.onnx",
    ],
    "onnxruntime int8 static, length-sorted": ["inference.backend=onnx", "inference.onnx_file=model.int8-static.onnx"],
}
BATCH_SIZES = (1, 8, 32, 128)
NEIGHBOUR_SAMPLE = 300


def _texts() -> list[str]:
    from training.corpus import read_jsonl

    return [r["text"] for split in ("test", "dev") for r in read_jsonl(ROOT / "seeds" / f"{split}.jsonl")]


def _eval_sets(shared: Path) -> dict[str, tuple[list[str], list[str]]]:
    from training.corpus import read_jsonl

    rows = read_jsonl(ROOT / "seeds" / "test.jsonl")
    sets = {"seed test split": ([r["text"] for r in rows], [r["label"] for r in rows])}
    for path in sorted(shared.glob("*.jsonl")) if shared.is_dir() else []:
        rows = read_jsonl(path)
        sets[path.name] = ([r["text"] for r in rows], [r["label"] for r in rows])
    return sets


def worker(
    checkpoint: str,
    overrides: list[str],
    repeats: int,
    shared: Path,
    *,
    texts: list[str] | None = None,
    eval_sets: dict[str, tuple[list[str], list[str]]] | None = None,
) -> dict:
    """Measure one backend (runs in a subprocess). ``texts``/``eval_sets`` default to the seed corpus."""
    start = time.perf_counter()
    from model import EventClassifier
    from model.provenance import peak_rss_mb as peak_rss_mb_now

    clf = EventClassifier.from_pretrained(checkpoint, overrides=overrides)
    load_seconds = time.perf_counter() - start
    texts = texts if texts is not None else _texts()
    clf.predict_proba(texts[:64], batch_size=32, progress=False)  # warm-up
    throughput = {}
    for bs in BATCH_SIZES:
        sample = texts if bs >= 8 else texts[:300]
        runs = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            clf.predict_proba(sample, batch_size=bs, progress=False)
            runs.append(len(sample) / (time.perf_counter() - t0))
        throughput[bs] = statistics.median(runs)
    latencies, alone = [], []
    for text in texts[:NEIGHBOUR_SAMPLE]:
        t0 = time.perf_counter()
        alone.append(clf.predict_proba([text], progress=False)[0])
        latencies.append((time.perf_counter() - t0) * 1000)
    latencies.sort()
    # Peak memory of loading and classifying, read before the accuracy check below imports the evaluation stack.
    peak_rss_mb = peak_rss_mb_now()
    neighbours = neighbour_dependence(clf, texts[:NEIGHBOUR_SAMPLE], alone)
    from training.evaluation import evaluate_classifier

    sets = eval_sets if eval_sets is not None else _eval_sets(shared)
    quality = {name: evaluate_classifier(clf, t, g, progress=False)["macro_f1"] for name, (t, g) in sets.items()}
    return {
        "load_seconds": load_seconds,
        "throughput": throughput,
        "latency_ms_p50": latencies[len(latencies) // 2],
        "latency_ms_p95": latencies[int(len(latencies) * 0.95)],
        "peak_rss_mb": peak_rss_mb,
        "macro_f1": quality,
        "neighbours": neighbours,
        "sentences": len(texts),
    }


def neighbour_dependence(clf, texts: list[str], alone: list) -> dict:
    """How far a sentence's probabilities move between being classified alone and inside batches of 32 (in input
    order, and shuffled): the largest absolute change of any probability, and the number of changed labels."""
    import numpy as np

    alone = np.asarray(alone)
    order = np.random.default_rng(0).permutation(len(texts))
    in_order = clf.predict_proba(texts, batch_size=32, progress=False)
    shuffled = np.empty_like(in_order)
    shuffled[order] = clf.predict_proba([texts[i] for i in order], batch_size=32, progress=False)
    deltas = [np.abs(batched - alone) for batched in (in_order, shuffled)]
    flips = sum(int((batched.argmax(1) != alone.argmax(1)).sum()) for batched in (in_order, shuffled))
    return {
        "sentences": len(texts),
        "max_abs_change": float(max(d.max() for d in deltas)) if len(texts) else 0.0,
        "label_flips": flips,
    }


def ensure_exports(ckpt: Path) -> None:
    """Export fp32 and dynamic int8 if missing, and the static int8 model (calibrated on the checkpoint's training
    file, else on the seed training split) if missing."""
    from model.onnx_backend import STATIC_INT8_FILE, calibration_texts, export_onnx, export_static_int8

    if not (ckpt / "onnx" / "model.int8.onnx").is_file():
        print(f"[export] {ckpt}/onnx (fp32 + int8)")
        export_onnx(ckpt)
    if not (ckpt / "onnx" / STATIC_INT8_FILE).is_file():
        texts = calibration_texts(ckpt)
        if not texts:
            from training.corpus import read_jsonl

            texts = [r["text"] for r in read_jsonl(ROOT / "seeds" / "train.jsonl")][::13][:512]
        print(f"[export] {ckpt}/onnx/{STATIC_INT8_FILE} (calibrated on {len(texts)} training sentences)")
        export_static_int8(ckpt, texts)


def render_markdown(results: dict, *, stamp: dict, repeats: int, ckpt_name: str, train: dict) -> list[str]:
    """The lines of speed.md from the workers' results (as read back from JSON: batch sizes are strings)."""
    from model.provenance import stamp_markdown

    per_epoch = train["runtime_seconds"] / train["epochs"] if train.get("epochs") else None
    base = results[next(iter(BACKENDS))]
    fp32 = results["torch fp32, length-sorted"]
    sets = list(base["macro_f1"])
    lines = [
        "# Speed and memory",
        "",
        *stamp_markdown(stamp),
        "",
        "Produced by `python scripts/benchmark_speed.py` (CPU above); "
        f"{base['sentences']} seed-corpus sentences (test split first, then dev), throughput is the median of {repeats} runs; "
        "latency is one sentence per call over 300 calls; peak memory is the peak resident set of a fresh process that "
        "loaded the model and ran the speed measurements (before the accuracy check). Ratios are against the eager "
        "baseline of the same run.",
        "",
        "| backend | "
        + " | ".join(f"batch {b} (/s)" for b in BATCH_SIZES)
        + " | × eager @32 | p50 ms | p95 ms | peak MB | load s |",
        "|---|" + "---:|" * (len(BATCH_SIZES) + 5),
    ]
    for name, r in results.items():
        tp = r["throughput"]
        lines.append(
            f"| {name} | "
            + " | ".join(f"{tp[str(b)]:.0f}" for b in BATCH_SIZES)
            + f" | {tp['32'] / base['throughput']['32']:.2f} | {r['latency_ms_p50']:.1f} | "
            f"{r['latency_ms_p95']:.1f} | {r['peak_rss_mb']:.0f} | {r['load_seconds']:.1f} |"
        )
    lines += [
        "",
        "Macro-F1 of each backend against torch fp32 (a default path must stay within 0.005 on every set; the int8 paths that do not are opt-in):",
        "",
        "| backend | " + " | ".join(sets) + " |",
        "|---|" + "---:|" * len(sets),
    ]
    for name, r in results.items():
        cells = []
        for s in sets:
            delta = r["macro_f1"][s] - fp32["macro_f1"][s]
            cells.append(f"{r['macro_f1'][s]:.4f} ({delta:+.4f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    sample = base["neighbours"]["sentences"]
    lines += [
        "",
        f"Does a sentence's answer depend on the other sentences of the call? The first {sample} sentences, each "
        "classified alone and inside batches of 32 (input order, and shuffled): the largest change of any "
        "probability, and how many labels changed (of "
        f"{2 * sample}). A classifier must give 0 flips; the batched dynamic int8 path is the one that does not "
        "(its activation scales are computed over the whole batch) and is no longer the default.",
        "",
        "| backend | largest probability change | label flips |",
        "|---|---:|---:|",
    ]
    for name, r in results.items():
        n = r["neighbours"]
        lines.append(f"| {name} | {n['max_abs_change']:.2e} | {n['label_flips']} |")
    if per_epoch:
        lines += [
            "",
            f"Training (from `{ckpt_name}/metrics.json`, measured when it was trained): "
            f"{train['runtime_seconds']:.0f} s for {train['epochs']:g} epochs on {train['examples']} sentences "
            f"= **{per_epoch:.0f} s per epoch** on {train.get('device', 'cpu')} with {train.get('torch_threads')} threads.",
        ]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "default"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sentences", type=int, default=1000,
                        help="seed-corpus sentences timed per batch size (test split first, then dev)")
    parser.add_argument("--shared", default=str(ROOT.parent / "shared" / "benchmarks"))
    parser.add_argument("--out", default=str(ROOT / "benchmarks"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        texts = _texts()[: args.sentences]
        print(json.dumps(worker(args.checkpoint, BACKENDS[args.worker], args.repeats, Path(args.shared), texts=texts)))
        return 0

    from model.provenance import run_stamp

    ckpt = Path(args.checkpoint)
    stamp = run_stamp({ckpt.name: ckpt}, where=ROOT)
    ensure_exports(ckpt)
    cores = os.cpu_count()
    print(f"[machine] {platform.processor() or platform.machine()}, {cores} cores, Python {platform.python_version()}")
    results = {}
    for name in BACKENDS:
        print(f"[run] {name} ...", flush=True)
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                name,
                "--checkpoint",
                str(ckpt),
                "--repeats",
                str(args.repeats),
                "--sentences",
                str(args.sentences),
                "--shared",
                args.shared,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        r = results[name]
        print(
            f"      batch 32: {r['throughput']['32']:.0f}/s, p50 {r['latency_ms_p50']:.1f} ms, "
            f"peak {r['peak_rss_mb']:.0f} MB, macro-F1 {r['macro_f1']}, neighbours {r['neighbours']}"
        )

    metrics = json.loads((ckpt / "metrics.json").read_text()) if (ckpt / "metrics.json").is_file() else {}
    train = metrics.get("train", {})
    per_epoch = train["runtime_seconds"] / train["epochs"] if train.get("epochs") else None
    base = results[next(iter(BACKENDS))]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "cores": cores,
        "machine": platform.machine(),
        "repeats": args.repeats,
        "sentences": base["sentences"],
        "training_seconds_per_epoch": per_epoch,
        "training": train,
    }
    report = {"stamp": stamp, "meta": meta, "results": results}
    (out / "speed.json").write_text(json.dumps(report, indent=2), encoding="utf-8")

    lines = render_markdown(results, stamp=stamp, repeats=args.repeats, ckpt_name=ckpt.name, train=train)
    (out / "speed.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

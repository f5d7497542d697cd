"""Speed and memory table for the inference backends, with accuracy parity, on this machine.

    python scripts/benchmark_speed.py [--checkpoint checkpoints/default] [--repeats 5]

Each backend runs in its own subprocess (so peak memory and load time are its own): PyTorch fp32 in input
order (the eager baseline), PyTorch fp32 with length-sorted batches (the default torch path), ONNX Runtime fp32
and ONNX Runtime int8 (both sorted). Reports throughput at batch 1/8/32/128 (median of repeats), single-sentence
latency p50/p95, peak resident memory, load time, and macro-F1 on the seed test split and on
../shared/benchmarks (when present), with ratios against the eager baseline of the same run. Training time per
epoch comes from the checkpoint's metrics.json (measured when it was trained). Writes benchmarks/speed.md/json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

BACKENDS = {
    "torch fp32, input order (eager baseline)": ["inference.backend=torch", "inference.sort_by_length=false"],
    "torch fp32, length-sorted": ["inference.backend=torch", "inference.sort_by_length=true"],
    "onnxruntime fp32, length-sorted": ["inference.backend=onnx", "inference.onnx_file=model.onnx"],
    "onnxruntime int8, length-sorted": ["inference.backend=onnx", "inference.onnx_file=model.int8.onnx"],
}
BATCH_SIZES = (1, 8, 32, 128)


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


def worker(checkpoint: str, overrides: list[str], repeats: int, shared: Path) -> dict:
    """Measure one backend (runs in a subprocess)."""
    start = time.perf_counter()
    from model import EventClassifier

    clf = EventClassifier.from_pretrained(checkpoint, overrides=overrides)
    load_seconds = time.perf_counter() - start
    texts = _texts()
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
    latencies = []
    for text in texts[:300]:
        t0 = time.perf_counter()
        clf.predict_proba([text], progress=False)
        latencies.append((time.perf_counter() - t0) * 1000)
    latencies.sort()
    # Peak memory of loading and classifying, read before the accuracy check below imports the evaluation stack.
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    from training.evaluation import evaluate_classifier

    quality = {
        name: evaluate_classifier(clf, t, g, progress=False)["macro_f1"] for name, (t, g) in _eval_sets(shared).items()
    }
    return {
        "load_seconds": load_seconds,
        "throughput": throughput,
        "latency_ms_p50": latencies[len(latencies) // 2],
        "latency_ms_p95": latencies[int(len(latencies) * 0.95)],
        "peak_rss_mb": peak_rss_mb,
        "macro_f1": quality,
        "sentences": len(texts),
    }


def cpu_description() -> str:
    """CPU model and the vector extensions that decide int8 speed (AVX-512 VNNI makes int8 matmuls much faster)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("", platform.machine()):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    wanted = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8") if f in flags]
    return f"{model}; {', '.join(wanted) or 'no AVX2/AVX-512 flags found'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "default"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--shared", default=str(ROOT.parent / "shared" / "benchmarks"))
    parser.add_argument("--out", default=str(ROOT / "benchmarks"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.checkpoint, BACKENDS[args.worker], args.repeats, Path(args.shared))))
        return 0

    ckpt = Path(args.checkpoint)
    if not (ckpt / "onnx" / "model.int8.onnx").is_file():
        from model.onnx_backend import export_onnx

        print(f"[export] {ckpt}/onnx (fp32 + int8)")
        export_onnx(ckpt)
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
            f"peak {r['peak_rss_mb']:.0f} MB, macro-F1 {r['macro_f1']}"
        )

    metrics = json.loads((ckpt / "metrics.json").read_text()) if (ckpt / "metrics.json").is_file() else {}
    train = metrics.get("train", {})
    per_epoch = train["runtime_seconds"] / train["epochs"] if train.get("epochs") else None
    base = results[next(iter(BACKENDS))]
    fp32 = results["torch fp32, length-sorted"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "cores": cores,
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu": cpu_description(),
        "repeats": args.repeats,
        "sentences": base["sentences"],
        "training_seconds_per_epoch": per_epoch,
        "training": train,
    }
    (out / "speed.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2), encoding="utf-8")

    sets = list(base["macro_f1"])
    lines = [
        "# Speed and memory",
        "",
        f"Produced by `python scripts/benchmark_speed.py` on {cores} CPU cores ({cpu_description()}); "
        f"{base['sentences']} seed-corpus sentences (test + dev splits), throughput is the median of {args.repeats} runs; "
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
        "Macro-F1 of each backend (the fast paths must stay within 0.005 of torch fp32):",
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
    if per_epoch:
        lines += [
            "",
            f"Training (from `{ckpt.name}/metrics.json`, measured when it was trained): "
            f"{train['runtime_seconds']:.0f} s for {train['epochs']:g} epochs on {train['examples']} sentences "
            f"= **{per_epoch:.0f} s per epoch** on {train.get('device', 'cpu')} with {train.get('torch_threads')} threads.",
        ]
    (out / "speed.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

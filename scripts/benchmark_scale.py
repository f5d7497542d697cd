"""Batch inference at scale: the Ray Data path against plain predict() on the same rows, on this machine.

    python scripts/benchmark_scale.py [--checkpoint checkpoints/default] [--rows 20000]

Writes --rows news sentences (the seed test and dev splits, repeated) as JSONL files, then measures on the same
rows: plain ``predict()`` (PyTorch fp32 and ONNX Runtime int8, all cores), and ``predict_many`` on a local Ray
cluster (one single-threaded actor per core, both backends). Reports rows/s, the Ray path's overhead against
plain predict, peak resident memory per Ray worker (sampled every 0.2 s), the per-core rate, a projection for N
machines x cores (a projection, not a measurement), and the time to classify 1 million sentences on this
machine with the fastest path. Writes benchmarks/scale.md and benchmarks/scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout: data, benchmarks and docs are read from it

BACKENDS = {
    "torch fp32": ["inference.backend=torch"],
    "onnxruntime int8": ["inference.backend=onnx", "inference.onnx_file=model.int8.onnx"],
}


def _write_rows(folder: Path, n: int, files: int = 8) -> list[str]:
    from training.corpus import read_jsonl

    pool = [r["text"] for split in ("test", "dev") for r in read_jsonl(ROOT / "seeds" / f"{split}.jsonl")]
    texts = [pool[i % len(pool)] for i in range(n)]
    folder.mkdir(parents=True)
    handles = [open(folder / f"part{k:02d}.jsonl", "w", encoding="utf-8") for k in range(files)]
    for i, text in enumerate(texts):
        handles[i % files].write(json.dumps({"id": i, "text": text}) + "\n")
    for h in handles:
        h.close()
    return texts


class WorkerMemory:
    """Samples the resident memory of Ray's model actors (processes named ``ray::MapWorker...``)."""

    def __init__(self) -> None:
        import psutil

        self.psutil, self.peak, self._stop = psutil, 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for proc in self.psutil.process_iter(["name", "cmdline"]):
                try:
                    title = " ".join(proc.info["cmdline"] or []) or proc.info["name"] or ""
                    if title.startswith("ray::MapWorker"):
                        self.peak = max(self.peak, proc.memory_info().rss)
                except (self.psutil.NoSuchProcess, self.psutil.AccessDenied):
                    continue
            self._stop.wait(0.2)

    def __enter__(self) -> WorkerMemory:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join()


def plain(checkpoint: str, overrides: list[str], texts: list[str]) -> dict:
    from model import EventClassifier

    clf = EventClassifier.from_pretrained(checkpoint, overrides=overrides)
    clf.predict_proba(texts[:64], progress=False)  # warm-up
    t0 = time.perf_counter()
    labels = [p.label for p in clf.predict(texts, progress=False)]
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows_per_second": len(texts) / seconds, "labels": labels}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="checkpoints/default")
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--out", default="benchmarks")
    args = parser.parse_args()

    import pandas as pd
    import ray

    from model.onnx_backend import export_onnx
    from model.provenance import run_stamp, stamp_markdown
    from model.scale import init_ray, predict_many

    checkpoint = str(Path(args.checkpoint).resolve())
    stamp = run_stamp({Path(args.checkpoint).name: args.checkpoint}, where=ROOT)
    if not (Path(checkpoint) / "onnx" / "model.int8.onnx").is_file():
        export_onnx(checkpoint)
    cores = os.cpu_count() or 1
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "rows"
        texts = _write_rows(src, args.rows)
        for name, overrides in BACKENDS.items():
            print(f"[plain predict] {name} ...", flush=True)
            results[f"predict(), {name}"] = plain(checkpoint, overrides, texts)
        for name, overrides in BACKENDS.items():
            print(f"[ray] {name} ...", flush=True)
            t0 = time.perf_counter()
            init_ray()
            started = time.perf_counter() - t0
            try:
                with WorkerMemory() as memory:
                    summary = predict_many(
                        src, Path(tmp) / f"out-{len(results)}", checkpoint=checkpoint, overrides=overrides
                    )
                out = pd.read_parquet(summary["output"]).sort_values("id")
            finally:
                ray.shutdown()
            reference = results[f"predict(), {name}"]["labels"]
            results[f"Ray Data, {name}"] = {
                "seconds": summary["seconds"],
                "rows_per_second": summary["rows_per_second"],
                "cluster_start_seconds": started,
                "actors": summary["actors"],
                "peak_worker_rss_mb": memory.peak / 2**20,
                "rows_out": summary["rows"],
                "same_labels_as_predict": float((out["label"].to_numpy() == pd.Series(reference).to_numpy()).mean()),
            }
    for r in results.values():
        r.pop("labels", None)

    fastest = max(results, key=lambda k: results[k]["rows_per_second"])
    rate = results[fastest]["rows_per_second"]
    lines = [
        "# Batch inference at scale",
        "",
        *stamp_markdown(stamp),
        "",
        f"`python scripts/benchmark_scale.py --rows {args.rows}` on {platform.machine()}, {cores} CPU cores, "
        f"Python {platform.python_version()}; checkpoint `{Path(args.checkpoint)}`; {args.rows:,} news sentences "
        "(the seed test and dev splits, repeated) in 8 JSONL files. One run each; Ray uses one single-threaded "
        "actor per core; plain `predict()` uses all cores in one process. Ray times are for the job (read, "
        "classify, write Parquet), without starting the cluster (given separately).",
        "",
        "| path | rows/s | vs plain predict() (same backend) | job s | cluster start s | actors | peak RSS per worker | same labels as predict() |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        backend = name.split(", ", 1)[1]
        base = results[f"predict(), {backend}"]["rows_per_second"]
        ray_cols = (
            f"{r['cluster_start_seconds']:.1f} | {r['actors']} | {r['peak_worker_rss_mb']:.0f} MB | "
            f"{r['same_labels_as_predict']:.4f}"
            if "actors" in r
            else "– | – | – | –"
        )
        lines.append(
            f"| {name} | {r['rows_per_second']:.0f} | {r['rows_per_second'] / base:.2f}x | {r['seconds']:.1f} | {ray_cols} |"
        )
    per_core = {name: r["rows_per_second"] / cores for name, r in results.items() if name.startswith("Ray")}
    best_ray = max(per_core, key=per_core.get)
    lines += [
        "",
        f"**1 million sentences on this {cores}-core machine** with the fastest path measured here ({fastest}, "
        f"{rate:.0f} rows/s): about **{1e6 / rate / 60:.0f} minutes** ({1e6 / rate:.0f} s).",
        "",
        f"**Projection (not measured)** from the per-core rate of {best_ray} ({per_core[best_ray]:.0f} rows/s per "
        "core), assuming Ray scales linearly across machines (one actor per core, input and output on shared "
        "storage fast enough not to be the bottleneck):",
        "",
        "| machines x cores | rows/s | 1 million sentences | 100 million sentences |",
        "|---|---:|---:|---:|",
    ]
    for machines, per in ((1, 2), (1, 16), (4, 16), (16, 32)):
        r = per_core[best_ray] * machines * per
        lines.append(f"| {machines} x {per} | {r:,.0f} | {1e6 / r / 60:.1f} min | {1e8 / r / 3600:.1f} h |")
    text = "\n".join(lines) + "\n"
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    (out / "scale.md").write_text(text, encoding="utf-8")
    (out / "scale.json").write_text(
        json.dumps({"stamp": stamp, "cores": cores, "rows": args.rows, "results": results}, indent=2),
        encoding="utf-8",
    )
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

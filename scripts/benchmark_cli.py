"""`cec-predict --input` on a large CSV: rows/s and peak resident memory, PyTorch and ONNX Runtime, on this machine.

    python scripts/benchmark_cli.py [--checkpoint checkpoints/default] [--rows 100000] [--out benchmarks/cli.md]
                                    [--parity-out benchmarks/cli_parity.md]

Writes --rows sentences (the seed test and dev splits, repeated) as one CSV file, then runs the command line
as a user would, once per backend, in a fresh process each: ``cec-predict --input FILE --text-column text
--id-column id -o OUT.csv --quiet`` with ``inference.backend=torch`` and ``inference.backend=onnx`` (needs
``cec-export-onnx`` first; skipped otherwise). Reports wall time, rows/s, the peak resident memory of the
command (``ru_maxrss``) and, as the memory check, the same figure for a file a tenth the size: streaming keeps
the peak flat, so the two should be close. Also checks that every input row is in the output, with its line.
Writes a markdown table to --out (default: print only). ``--rows 0`` skips the timing.

Parity: on each real-news set of ../shared/benchmarks (when present), ``cec-predict --input SET --text-column
text`` with each backend gives the same labels as ``predict()`` in Python with the same settings (``EventClassifier
.from_pretrained(checkpoint, overrides=...)``); the table (labels equal, largest probability difference) goes to
--parity-out.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout: data, benchmarks and docs are read from it

BACKENDS = {
    "torch fp32": ["inference.backend=torch"],
    "onnxruntime fp32": ["inference.backend=onnx"],  # the default ONNX file
    "onnxruntime int8": ["inference.backend=onnx", "inference.onnx_file=model.int8.onnx"],
}

_CHILD = """
import resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.run(sys.argv[1:]).returncode
seconds = time.perf_counter() - t0
print(rc, seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _write_csv(path: Path, n: int) -> None:
    from training.corpus import read_jsonl

    pool = [r["text"] for split in ("test", "dev") for r in read_jsonl(ROOT / "seeds" / f"{split}.jsonl")]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text"])
        for i in range(n):
            writer.writerow([f"row-{i}", pool[i % len(pool)]])


def _run(checkpoint: str, source: Path, out: Path, overrides: list[str]) -> dict[str, float]:
    """Run cec-predict in a fresh process; return seconds and peak RSS (MB) of that process."""
    cmd = [sys.executable, str(ROOT / "scripts" / "predict.py"), "--checkpoint", checkpoint, "--input", str(source)]
    cmd += ["--text-column", "text", "--id-column", "id", "-o", str(out), "--quiet", *overrides]
    proc = subprocess.run([sys.executable, "-c", _CHILD, *cmd], capture_output=True, text=True)
    rc, seconds, maxrss = proc.stdout.split()
    if int(rc) != 0:
        raise RuntimeError(f"cec-predict failed ({rc}): {proc.stderr[-2000:]}")
    return {"seconds": float(seconds), "peak_rss_mb": int(maxrss) / 1024}


def _check_rows(out: Path, n: int) -> None:
    with open(out, encoding="utf-8", newline="") as fh:
        lines = [int(row["line"]) for row in csv.DictReader(fh)]
    if lines != list(range(2, n + 2)):
        raise RuntimeError(f"{out}: expected {n} rows with lines 2..{n + 1}, got {len(lines)}")


def _parity(checkpoint: str, shared: Path, tmp: Path, backends: dict[str, list[str]]) -> list[dict]:
    """Labels of ``cec-predict --input`` against ``predict()`` with the same overrides, per real-news set."""
    from model.classifier import EventClassifier
    from model.jsonl import read_jsonl

    rows = []
    for path in sorted(shared.glob("*.jsonl")):
        texts = [r["text"] for r in read_jsonl(path)]
        for name, overrides in backends.items():
            out = tmp / f"{path.stem}.{name.replace(' ', '_')}.jsonl"
            cmd = [sys.executable, str(ROOT / "scripts" / "predict.py"), "--checkpoint", checkpoint, "--input"]
            cmd += [str(path), "--text-column", "text", "-o", str(out), "--quiet", *overrides]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"cec-predict failed on {path}: {proc.stderr[-2000:]}")
            got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
            expected = EventClassifier.from_pretrained(checkpoint, overrides=overrides).predict(texts, progress=False)
            same = sum(g["label"] == e.label for g, e in zip(got, expected))
            diff = max(abs(g[f"prob_{k}"] - v) for g, e in zip(got, expected) for k, v in e.probabilities.items())
            row = {"set": path.name, "backend": name, "rows": len(texts), "output_rows": len(got),
                   "same_labels": same, "max_prob_diff": diff}  # fmt: skip
            print(json.dumps(row))
            rows.append(row)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="checkpoints/default")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--out", help="write the markdown table here (e.g. benchmarks/cli.md)")
    parser.add_argument("--parity-out", help="write the parity table here (e.g. benchmarks/cli_parity.md)")
    parser.add_argument("--shared", default=str(ROOT.parent / "shared" / "benchmarks"), help="real-news sets")
    args = parser.parse_args()

    from model.provenance import run_stamp

    stamp = run_stamp({Path(args.checkpoint).name: args.checkpoint}, where=ROOT)
    has_onnx = (Path(args.checkpoint) / "onnx" / "model.int8.onnx").is_file()
    backends = {k: v for k, v in BACKENDS.items() if has_onnx or "onnx" not in k}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.rows > 0:
            results = _timings(args, backends, Path(tmp))
        # After the timings: the parity check loads models in this process, and a child started from a large
        # process would inherit its peak (ru_maxrss survives exec on Linux).
        parity = _parity(args.checkpoint, Path(args.shared), Path(tmp), backends) if Path(args.shared).is_dir() else []
        if args.parity_out:
            _write_parity(args, stamp, parity)
    if args.rows > 0:
        _write_timings(args, stamp, results)
    return 0


def _timings(args: argparse.Namespace, backends: dict[str, list[str]], tmp: Path) -> list[dict]:
    """Time cec-predict --input on --rows rows and on a tenth of them, per backend."""
    big, small = tmp / "big.csv", tmp / "small.csv"
    _write_csv(big, args.rows)
    _write_csv(small, max(1, args.rows // 10))
    results = []
    for name, overrides in BACKENDS.items():
        if name not in backends:
            print(f"{name}: skipped (no ONNX export; run cec-export-onnx --checkpoint {args.checkpoint})")
            continue
        full = _run(args.checkpoint, big, tmp / "out.csv", overrides)
        _check_rows(tmp / "out.csv", args.rows)
        tenth = _run(args.checkpoint, small, tmp / "out-small.csv", overrides)
        row = {
            "backend": name,
            "rows": args.rows,
            "seconds": round(full["seconds"], 1),
            "rows_per_second": round(args.rows / full["seconds"], 1),
            "peak_rss_mb": round(full["peak_rss_mb"]),
            "peak_rss_mb_tenth": round(tenth["peak_rss_mb"]),
        }
        print(json.dumps(row))
        results.append(row)
    return results


def _write_timings(args: argparse.Namespace, stamp: dict, results: list[dict]) -> None:
    from model.provenance import stamp_markdown

    lines = [
        f"# `cec-predict --input` on {args.rows:,} CSV rows",
        "",
        *stamp_markdown(stamp),
        "",
        f"`python scripts/benchmark_cli.py --rows {args.rows}` on {platform.processor() or platform.machine()}, "
        f"{resource.getpagesize()} B pages, Python {platform.python_version()}; checkpoint `{args.checkpoint}`. "
        "Wall time includes loading the model; peak RSS is the whole command's.",
        "",
        "| backend | rows/s | seconds | peak RSS (MB) | peak RSS at a tenth of the rows (MB) |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['backend']} | {r['rows_per_second']} | {r['seconds']} | {r['peak_rss_mb']} | {r['peak_rss_mb_tenth']} |"
        for r in results
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")


def _write_parity(args: argparse.Namespace, stamp: dict, rows: list[dict]) -> None:
    from model.provenance import stamp_markdown

    lines = [
        "# `cec-predict --input` gives the labels of `predict()`",
        "",
        *stamp_markdown(stamp),
        "",
        f"`python scripts/benchmark_cli.py --parity-out {args.parity_out}`: each real-news set of "
        f"`{os.path.relpath(args.shared, ROOT)}/` classified by `cec-predict --input SET --text-column text` (a subprocess, "
        "as a user runs it) and by `EventClassifier.from_pretrained(checkpoint, overrides=...).predict(texts)` "
        "with the same overrides.",
        "",
        "| set | backend | input rows | output rows | same label | largest probability difference |",
        "|---|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['set']} | {r['backend']} | {r['rows']} | {r['output_rows']} | {r['same_labels']} / {r['rows']} | "
        f"{r['max_prob_diff']:.1e} |"
        for r in rows
    ]
    if not rows:
        lines.append(f"(no real-news sets found in {args.shared})")
    Path(args.parity_out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())

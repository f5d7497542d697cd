"""Two CPU processes under torchrun (gloo) train the same model as one process with the same effective batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from model import EventClassifier
from tests.conftest import ROOT, build_tiny_bert, toy_rows, write_jsonl

TOLERANCE = 0.05  # the two runs' logits may differ by at most 5 % of the spread of the trained logits


def _run(cmd: list[str]) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_two_process_training_matches_one_process(tmp_path: Path):
    # Every step sees the whole toy set (20 rows: one batch of 20, or 10 per process) and nothing is random
    # (no dropout), so the averaged gradients of the two processes equal the single process's gradient.
    tiny_base = build_tiny_bert(tmp_path / "base", dropout=0.0)
    rows = toy_rows()
    train, dev = write_jsonl(tmp_path / "train.jsonl", rows), write_jsonl(tmp_path / "dev.jsonl", rows[1::2])
    common = [
        f"model.base_model={tiny_base}",
        f"data.train_file={train}",
        f"data.dev_file={dev}",
        "data.test_file=null",
        "training.max_steps=20",
        "training.warmup_ratio=0.0",
        "training.calibrate=false",
        "training.device=cpu",
        "training.learning_rate=1e-2",
        "training.group_by_length=false",
        "training.eval_each_epoch=false",
        "model.max_length=64",
        "model.dropout=0.0",
    ]
    one, two = tmp_path / "one", tmp_path / "two"
    _run([sys.executable, "scripts/train.py", *common, "training.batch_size=20", f"training.output_dir={one}"])
    torchrun = Path(sys.executable).with_name("torchrun")
    _run(
        [
            str(torchrun),
            "--nproc_per_node",
            "2",
            "scripts/train.py",
            *common,
            "training.batch_size=10",
            f"training.output_dir={two}",
        ]
    )

    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".two")) == []  # no leftovers
    m1, m2 = (json.loads((d / "metrics.json").read_text()) for d in (one, two))
    assert m1["train"]["effective_batch_size"] == m2["train"]["effective_batch_size"] == 20
    assert m1["train"]["processes"] == 1 and m2["train"]["processes"] == 2
    # Same data, same effective batch, same seed: the two runs should end with (nearly) the same model. Adam turns
    # float rounding noise in near-zero gradients into full-size steps for some weights, so compare what matters:
    # the logits on the data, against how far training moved them.
    texts = [r["text"] for r in rows]
    l1 = EventClassifier.from_pretrained(one).predict_logits(texts)
    l2 = EventClassifier.from_pretrained(two).predict_logits(texts)
    assert abs(m1["train"]["loss"] - m2["train"]["loss"]) < 1e-3 * m1["train"]["loss"]  # same loss, not N times it
    moved = np.abs(l1 - l1.mean(axis=1, keepdims=True)).max()  # spread the trained head produces
    assert moved > 0.5
    assert np.abs(l1 - l2).max() < TOLERANCE * moved, (np.abs(l1 - l2).max(), moved)
    assert (l1.argmax(1) == l2.argmax(1)).all()
    # The dev metrics each run wrote (stated tolerance: 0.02 macro-F1; with identical labels they are equal).
    assert abs(m1["dev"]["macro_f1"] - m2["dev"]["macro_f1"]) <= 0.02
    assert abs(m1["dev"]["accuracy"] - m2["dev"]["accuracy"]) <= 0.02


def test_accelerate_on_cpu_runs_two_processes(tmp_path: Path):
    """The README's CPU recipe: `accelerate launch --multi_gpu --num_processes 2` on a machine without GPUs really
    starts two CPU processes (accelerate 1.16 has no --multi_cpu flag; without --multi_gpu it runs one process)."""
    tiny_base = build_tiny_bert(tmp_path / "base")
    rows = toy_rows()
    train, dev = write_jsonl(tmp_path / "train.jsonl", rows), write_jsonl(tmp_path / "dev.jsonl", rows[1::2])
    out = tmp_path / "run-cpu2"
    accelerate = Path(sys.executable).with_name("accelerate")
    _run(
        [
            str(accelerate),
            "launch",
            "--multi_gpu",
            "--num_processes",
            "2",
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "scripts/train.py",
            f"model.base_model={tiny_base}",
            "model.max_length=64",
            f"data.train_file={train}",
            f"data.dev_file={dev}",
            "data.test_file=null",
            "training.max_steps=2",
            "training.batch_size=4",
            "training.device=cpu",
            f"training.output_dir={out}",
        ]
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train"]["processes"] == 2
    assert metrics["train"]["effective_batch_size"] == 8

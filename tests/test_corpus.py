"""Validate the committed seed corpus: labels, fields, counts, duplicates, split leakage, reproducible splits."""

from __future__ import annotations

import collections
import json
import random
from pathlib import Path

import pytest

from model.labels import DEFAULT_LABELS
from tests.conftest import ROOT
from training.corpus import STYLES, build_corpus, jaccard, near_duplicate_pairs, read_jsonl, tokens

SEEDS = ROOT / "seeds"
SPLITS = ("train", "dev", "test")
EVENTS = [x for x in DEFAULT_LABELS if x != "none"]


@pytest.fixture(scope="module")
def corpus() -> list[dict]:
    return [row for split in SPLITS for row in read_jsonl(SEEDS / f"{split}.jsonl")]


def test_rows_are_well_formed(corpus):
    ids = [r["id"] for r in corpus]
    assert len(ids) == len(set(ids))
    for r in corpus:
        assert r["label"] in DEFAULT_LABELS, r
        assert r["text"].strip() == r["text"] and r["text"], r
        assert r["labels"][0] == r["label"] and set(r["labels"]) <= set(DEFAULT_LABELS), r
        assert ("none" in r["labels"]) == (r["label"] == "none"), r
        assert r["style"] in STYLES, r
        assert r["region"], r
        assert not r["hard_negative"] or r["label"] == "none", r


def test_minimum_counts(corpus):
    counts = collections.Counter(r["label"] for r in corpus)
    assert len(corpus) >= 3000
    for label in EVENTS:
        assert counts[label] >= 450, (label, counts[label])
    assert counts["none"] >= 1200
    assert sum(r["hard_negative"] for r in corpus) >= 600
    assert sum(len(r["labels"]) > 1 for r in corpus) >= 50  # two-event sentences for multi-label work


def test_diversity_of_regions_and_styles(corpus):
    regions = {r["region"].split("/")[0].split(" (")[0] for r in corpus}
    assert len(regions) >= 40
    styles = collections.Counter(r["style"] for r in corpus)
    assert len(styles) >= 10 and styles.most_common(1)[0][1] < 0.5 * len(corpus)


def test_no_exact_duplicates(corpus):
    normalised = collections.Counter(" ".join(sorted(tokens(r["text"]))) for r in corpus)
    assert [k for k, c in normalised.items() if c > 1] == []


def test_no_near_duplicates_across_splits(corpus):
    pairs = near_duplicate_pairs([r["text"] for r in corpus])
    leaks = [(corpus[i]["id"], corpus[j]["id"]) for i, j in pairs if corpus[i]["split"] != corpus[j]["split"]]
    assert leaks == []


def test_near_duplicate_search_is_exact():
    # The indexed search must find exactly the pairs a brute-force comparison finds.
    rng = random.Random(0)
    words = "army rebels town seized jets bombed crowds marched envoy arrived in the on monday city".split()
    texts = [" ".join(rng.choices(words, k=rng.randint(3, 9))) for _ in range(300)]
    sets = [tokens(t) for t in texts]
    brute = {(i, j) for i in range(len(texts)) for j in range(i + 1, len(texts)) if jaccard(sets[i], sets[j]) >= 0.8}
    assert set(near_duplicate_pairs(texts)) == brute


def test_splits_are_reproducible_from_the_parts(tmp_path: Path):
    # The committed files are what the builder makes from the parts (and the previous build's splits).
    for name in (*SPLITS, "starter"):
        (tmp_path / f"{name}.jsonl").write_text((SEEDS / f"{name}.jsonl").read_text())
    build_corpus(SEEDS / "parts", tmp_path)
    for name in (*SPLITS, "starter"):
        assert (tmp_path / f"{name}.jsonl").read_text() == (SEEDS / f"{name}.jsonl").read_text(), name


def test_adding_a_part_never_moves_earlier_rows(tmp_path: Path):
    parts, out = tmp_path / "parts", tmp_path / "out"
    parts.mkdir()
    rng = random.Random(0)
    words = [f"w{i}" for i in range(400)]

    def part(name: str, n: int) -> None:
        with open(parts / f"{name}.jsonl", "w") as fh:
            for i in range(n):
                label = DEFAULT_LABELS[i % len(DEFAULT_LABELS)]
                text = " ".join(rng.sample(words, 12)) + f" {name} {i}."
                fh.write(json.dumps({"text": text, "label": label}) + "\n")

    part("a", 300)
    build_corpus(parts, out, starter_per_label=5)
    first = {s: {r["text"] for r in read_jsonl(out / f"{s}.jsonl")} for s in (*SPLITS, "starter")}
    part("b", 200)
    summary = build_corpus(parts, out, starter_per_label=5)
    second = {s: {r["text"] for r in read_jsonl(out / f"{s}.jsonl")} for s in (*SPLITS, "starter")}
    assert summary["rows_keeping_previous_split"] == 300 and summary["rows"] == 500
    for s in (*SPLITS, "starter"):
        assert first[s] <= second[s], s
    assert any(" b " in t for t in second["test"])  # new rows fill the test and dev quotas
    reshuffled = build_corpus(parts, out, starter_per_label=5, keep_previous=False)
    assert reshuffled["rows_keeping_previous_split"] == 0


def test_split_field_matches_file():
    for split in SPLITS:
        assert {r["split"] for r in read_jsonl(SEEDS / f"{split}.jsonl")} == {split}
    train_ids = {r["id"] for r in read_jsonl(SEEDS / "train.jsonl")}
    assert {r["id"] for r in read_jsonl(SEEDS / "starter.jsonl")} <= train_ids


def test_sample_article_mixes_all_events():
    text = (SEEDS / "sample_article.txt").read_text(encoding="utf-8")
    assert text.count("\n\n") >= 8


BENCHMARKS = ROOT.parent / "shared" / "benchmarks"


@pytest.mark.skipif(not BENCHMARKS.is_dir(), reason="../shared/benchmarks is not beside this checkout")
def test_no_benchmark_sentence_in_the_corpus(corpus):
    bench = [json.loads(line)["text"] for f in BENCHMARKS.glob("*.jsonl") for line in f.open(encoding="utf-8")]
    texts = [r["text"] for r in corpus]
    pairs = near_duplicate_pairs(texts + bench)
    assert [(i, j) for i, j in pairs if i < len(texts) <= j] == []

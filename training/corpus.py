"""Build the seed corpus: merge the hand-written parts, remove duplicates, and make leak-free seeded splits.

``seeds/parts/*.jsonl`` hold the sentences as written (one file per region group). :func:`build_corpus` merges
them, drops exact duplicates and same-label near-duplicates (normalised-token Jaccard >= 0.8), keeps every group
of near-duplicates with different labels (minimal pairs) inside one split, and writes stratified
``train``/``dev``/``test`` files plus a small ``starter.jsonl`` sample of the training split.
"""

from __future__ import annotations

import collections
import json
import random
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from model.documents import normalize_text
from model.jsonl import read_jsonl
from model.labels import DEFAULT_LABELS

__all__ = [
    "STYLES",
    "build_corpus",
    "jaccard",
    "near_duplicate_pairs",
    "read_jsonl",
    "tokens",
]

STYLES = (
    "headline",
    "wire",
    "long",
    "passive",
    "quote",
    "attribution",
    "numbers",
    "liveblog",
    "report",
    "caption",
    "local",
    "analysis",
    "social",
    "translated",
    "sitrep",
    "brief",
    "note",
    "lede",
)
SPLIT_SHARES = {"train": 0.8, "dev": 0.1, "test": 0.1}
NEAR_DUPLICATE = 0.8
_TOKEN = re.compile(r"[a-z0-9']+")


def tokens(text: str) -> frozenset[str]:
    """Normalised token set used for near-duplicate detection."""
    return frozenset(_TOKEN.findall(text.lower()))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def near_duplicate_pairs(texts: list[str], threshold: float = NEAR_DUPLICATE) -> list[tuple[int, int]]:
    """All index pairs ``(i, j)``, ``i < j``, whose token-set Jaccard is at least ``threshold``.

    Uses a rare-token index: two sets with Jaccard >= 0.8 must share one of each other's rarest tokens.
    """
    sets = [tokens(t) for t in texts]
    freq = collections.Counter(tok for s in sets for tok in s)
    index: dict[str, list[int]] = collections.defaultdict(list)
    pairs = []
    for i, s in enumerate(sets):
        # A set B with J(A, B) >= t shares at least ceil(t * |A|) tokens with A, so it holds one of A's
        # (|A| - ceil(t*|A|) + 1) rarest tokens; indexing every token of B keeps the search exact.
        keep = len(s) - int(threshold * len(s)) + 1
        keys = sorted(s, key=lambda tok: (freq[tok], tok))[:keep]
        seen: set[int] = set()
        for key in keys:
            for j in index[key]:
                if j not in seen:
                    seen.add(j)
                    if jaccard(s, sets[j]) >= threshold:
                        pairs.append((j, i))
        for tok in s:
            index[tok].append(i)
    return pairs


def _validate(row: dict[str, Any], where: str) -> dict[str, Any]:
    text = row.get("text")
    label = row.get("label")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: empty or missing text")
    if label not in DEFAULT_LABELS:
        raise ValueError(f"{where}: unknown label {label!r}")
    labels = row.get("labels") or [label]
    if not isinstance(labels, list) or any(x not in DEFAULT_LABELS for x in labels):
        raise ValueError(f"{where}: bad labels field {labels!r}")
    if labels[0] != label:
        labels = [label] + [x for x in labels if x != label]
    if label == "none":
        labels = ["none"]
    else:
        labels = [x for x in dict.fromkeys(labels) if x != "none"]
    return {
        "text": normalize_text(text),
        "label": label,
        "labels": labels,
        "region": str(row.get("region") or "unspecified"),
        "style": str(row.get("style") or "wire"),
        "hard_negative": bool(row.get("hard_negative")) and label == "none",
    }


def _union_find(n: int, pairs: Iterable[tuple[int, int]]) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return [find(i) for i in range(n)]


def previous_splits(out_dir: str | Path) -> tuple[dict[str, str], set[str]]:
    """The split of every row of an earlier build in ``out_dir`` (by normalised text), and its starter rows."""
    out_dir = Path(out_dir)
    splits: dict[str, str] = {}
    for split in SPLIT_SHARES:
        path = out_dir / f"{split}.jsonl"
        if path.is_file():
            splits.update({normalize_text(r["text"]): split for r in read_jsonl(path)})
    path = out_dir / "starter.jsonl"
    starter = {normalize_text(r["text"]) for r in read_jsonl(path)} if path.is_file() else set()
    return splits, starter


def build_corpus(
    parts_dir: str | Path,
    out_dir: str | Path,
    *,
    seed: int = 20261124,
    starter_per_label: int = 80,
    keep_previous: bool = True,
) -> dict[str, Any]:
    """Merge ``parts_dir/*.jsonl`` into ``out_dir/{train,dev,test,starter}.jsonl``; return a summary.

    With ``keep_previous`` (the default), rows that an earlier build in ``out_dir`` already placed keep their
    split (and starter rows stay in the starter set), so adding parts never moves a test sentence into
    training and results on the old test split stay comparable; only new rows are drawn to fill the quotas.
    """
    parts_dir, out_dir = Path(parts_dir), Path(out_dir)
    before, before_starter = previous_splits(out_dir) if keep_previous else ({}, set())
    rows: list[dict[str, Any]] = []
    for path in sorted(parts_dir.glob("*.jsonl")):
        for n, raw in enumerate(read_jsonl(path), 1):
            row = _validate(raw, f"{path}:{n}")
            row["id"] = f"{path.stem}-{n:04d}"
            rows.append(row)
    summary: dict[str, Any] = {"rows_written_by_authors": len(rows)}

    # Exact duplicates (after normalisation) are dropped; same text with two labels is an annotation error.
    by_norm: dict[str, int] = {}
    kept: list[dict[str, Any]] = []
    conflicts = []
    for row in rows:
        key = " ".join(sorted(tokens(row["text"])))
        if key in by_norm:
            other = kept[by_norm[key]]
            if other["label"] != row["label"]:
                conflicts.append((other["id"], row["id"]))
            continue
        by_norm[key] = len(kept)
        kept.append(row)
    if conflicts:
        raise ValueError(f"the same text carries different labels: {conflicts[:10]}")
    summary["exact_duplicates_dropped"] = len(rows) - len(kept)

    # Near-duplicates with the same label are dropped (keep the first); minimal pairs stay together.
    pairs = near_duplicate_pairs([r["text"] for r in kept])
    drop = {j for i, j in pairs if kept[i]["label"] == kept[j]["label"]}
    summary["near_duplicates_dropped"] = len(drop)
    kept2 = [r for k, r in enumerate(kept) if k not in drop]
    remap = {old: new for new, old in enumerate(k for k in range(len(kept)) if k not in drop)}
    groups = _union_find(len(kept2), [(remap[i], remap[j]) for i, j in pairs if i in remap and j in remap])

    # Stratified, seeded split of whole groups, by the label of each group's first row.
    rng = random.Random(seed)
    members: dict[int, list[int]] = collections.defaultdict(list)
    for idx, g in enumerate(groups):
        members[g].append(idx)
    by_label: dict[str, list[int]] = collections.defaultdict(list)
    for g, idxs in members.items():
        by_label[kept2[idxs[0]]["label"]].append(g)
    kept_split = 0
    for label in sorted(by_label):
        gs = sorted(by_label[label])
        rng.shuffle(gs)
        total = sum(len(members[g]) for g in gs)
        quota = {"test": round(total * SPLIT_SHARES["test"]), "dev": round(total * SPLIT_SHARES["dev"])}
        filled = collections.Counter()
        fresh = []
        for g in gs:  # a group with a row placed by an earlier build stays where it was (test before dev)
            old = {before.get(kept2[idx]["text"]) for idx in members[g]} - {None}
            if not old:
                fresh.append(g)
                continue
            split = next(s for s in ("test", "dev", "train") if s in old)
            kept_split += len(members[g])
            filled[split] += len(members[g])
            for idx in members[g]:
                kept2[idx]["split"] = split
        for g in fresh:
            split = next((s for s in ("test", "dev") if filled[s] < quota[s]), "train")
            filled[split] += len(members[g])
            for idx in members[g]:
                kept2[idx]["split"] = split

    out_dir.mkdir(parents=True, exist_ok=True)
    fields = ("id", "text", "label", "labels", "region", "style", "hard_negative", "split")
    for split in SPLIT_SHARES:
        with open(out_dir / f"{split}.jsonl", "w", encoding="utf-8") as fh:
            for row in kept2:
                if row["split"] == split:
                    fh.write(json.dumps({k: row[k] for k in fields}, ensure_ascii=False) + "\n")
    train = [r for r in kept2 if r["split"] == "train"]
    starter = []
    for label in DEFAULT_LABELS:
        pool = sorted((r for r in train if r["label"] == label), key=lambda r: r["id"])
        sticky = [r for r in pool if r["text"] in before_starter][:starter_per_label]
        rest = [r for r in pool if r["text"] not in before_starter]
        starter += sticky + random.Random(seed + 1).sample(rest, min(starter_per_label - len(sticky), len(rest)))
    with open(out_dir / "starter.jsonl", "w", encoding="utf-8") as fh:
        for row in sorted(starter, key=lambda r: r["id"]):
            fh.write(json.dumps({k: row[k] for k in fields}, ensure_ascii=False) + "\n")
    summary["rows"] = len(kept2)
    summary["rows_keeping_previous_split"] = kept_split
    summary["splits"] = {s: collections.Counter(r["label"] for r in kept2 if r["split"] == s) for s in SPLIT_SHARES}
    summary["starter"] = len(starter)
    return summary


STATS_START, STATS_END = "<!-- stats:start -->", "<!-- stats:end -->"


def corpus_stats_markdown(seeds_dir: str | Path) -> str:
    """Tables of the corpus by label and split, region, style and hard negatives (for the dataset card)."""
    seeds_dir = Path(seeds_dir)
    rows = [r for split in SPLIT_SHARES for r in read_jsonl(seeds_dir / f"{split}.jsonl")]
    labels = list(DEFAULT_LABELS)
    lines = [
        f"{len(rows)} sentences; {sum(r['hard_negative'] for r in rows)} hard negatives; "
        f"{sum(len(r['labels']) > 1 for r in rows)} sentences with two events.",
        "",
        "| label | " + " | ".join(SPLIT_SHARES) + " | total | of which multi-event |",
        "|---|" + "---:|" * (len(SPLIT_SHARES) + 2),
    ]
    for label in labels:
        per = collections.Counter(r["split"] for r in rows if r["label"] == label)
        multi = sum(len(r["labels"]) > 1 for r in rows if r["label"] == label)
        lines.append(
            f"| {label} | " + " | ".join(str(per[s]) for s in SPLIT_SHARES) + f" | {sum(per.values())} | {multi} |"
        )
    hard = collections.Counter()
    for r in rows:
        if r["hard_negative"]:
            hard["hard negative"] += 1
    by_region = collections.Counter(r["region"].split("/")[0].split(" (")[0].strip() for r in rows)
    lines += ["", f"**Regions** ({len(by_region)} countries or conflicts, by the first name of the region tag):", ""]
    lines.append(", ".join(f"{name} {n}" for name, n in sorted(by_region.items(), key=lambda kv: (-kv[1], kv[0]))))
    by_style = collections.Counter(r["style"] for r in rows)
    lines += [
        "",
        "**Styles:**",
        "",
        "| style | rows | " + " | ".join(labels) + " |",
        "|---|---:|" + "---:|" * len(labels),
    ]
    for style, n in by_style.most_common():
        per = collections.Counter(r["label"] for r in rows if r["style"] == style)
        lines.append(f"| {style} | {n} | " + " | ".join(str(per[x]) for x in labels) + " |")
    return "\n".join(lines)


def update_card(seeds_dir: str | Path) -> None:
    """Rewrite the generated part of ``seeds/README.md`` between the stats markers."""
    card = Path(seeds_dir) / "README.md"
    text = card.read_text(encoding="utf-8")
    start, end = text.index(STATS_START) + len(STATS_START), text.index(STATS_END)
    card.write_text(text[:start] + "\n" + corpus_stats_markdown(seeds_dir) + "\n" + text[end:], encoding="utf-8")

"""Sort the errors of one or more checkpoints on the real-news sets into kinds, and write docs/error_analysis.md.

    python scripts/error_analysis.py --model before=/path/to/old --model after=checkpoints/default

Each model's errors on each labelled set in ../shared/benchmarks (evaluation only) are counted by kind: a
false event (gold ``none``) is split by what in the sentence misled the model (a photo caption, a trip that was
not made, talk without travel, a missile with no aircraft, a planned protest, a captured person, background …);
a missed event (predicted ``none``) by the shape of the sentence (headline, note, long sentence). The kinds are
assigned by the regular expressions below, first match wins: they sort errors for reading, they are not a
classifier. Only counts are written: no benchmark sentence is copied into the project.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from model import EventClassifier
from model.provenance import run_stamp, stamp_markdown
from training.calibration import confidence_ece
from training.corpus import read_jsonl
from training.evaluation import compute_metrics

ROOT = Path(__file__).resolve().parents[1]  # the checkout: data, benchmarks and docs are read from it

EVENTS = ("territorial_gain", "airstrike", "rally", "diplomatic_visit")
_I = re.IGNORECASE
_CAPTION = re.compile(r"^\s*FILE\b|\bAP Photo\b|\bphoto\b|\bpictured\b|\bGetty\b|\(Reuters|\bAFP/|"
                      r"(?:Jan|Feb|March|April|May|June|July|Aug|Sept?|Oct|Nov|Dec)[a-z]*\.? \d{1,2}, \d{4}\.?\s*$")
_NOT_YET = re.compile(r"\b(?:will|would|plans?|planned|to visit|to travel|is due|are due|expected|heading|"
                      r"set to|scheduled|upcoming|next (?:week|month)|postpone\w*|cancel\w*|invit\w*)\b", _I)
_TALK = re.compile(r"\b(?:said|says|told|tells|call(?:ed|s)?|spoke|speaks?|statement|talks|meeting|met|meets|"
                   r"press conference|summit|interview|address\w*|remarks)\b", _I)
_MISSILE = re.compile(r"\b(?:missiles?|rockets?|shell\w*|artillery|mortars?)\b", _I)
_AIRCRAFT = re.compile(r"\b(?:jets?|planes?|aircraft|warplanes?|drones?|helicopters?|air ?strikes?|air raids?|"
                       r"air (?:base|force|campaign|power|defen[cs]es?))\b", _I)
_HYPOTHETICAL = re.compile(r"\b(?:threat\w*|would|could|will|may|might|plans?|authori[sz]\w*|consider\w*|debat\w*|"
                           r"warn\w*|vow\w*|call(?:ed|s)? for|urg\w*|aim\w*|to hold|next|deni\w*|if)\b", _I)
_LABOUR = re.compile(r"\bstrik(?:e|es|ers|ing)\b|\bwalk-?out\b", _I)
_BACKGROUND = re.compile(r"\b(?:since|annex\w*|last year|earlier|in (?:19|20)\d\d|-held|organi[sz]ed)\b", _I)
_PEOPLE = re.compile(r"\b(?:captur\w*|seiz\w*|arrest\w*|took)\b[^.]{0,60}\b(?:soldiers?|fighters?|members?|"
                     r"leaders?|commanders?|people|prisoners?|hostages?|weapons?|power|vehicles?|journalists?)\b|"
                     r"\b(?:was|were|been) (?:captured|seized)\b", _I)
_NOTE = re.compile(r"^\s*On \d{1,2} \w+|^\s*On \w+ \d{1,2}")


def kind_of(text: str, gold: str, pred: str) -> str:
    """The kind of one error (``gold != pred``)."""
    if gold == "none":
        if pred == "diplomatic_visit":
            for name, rx in (("caption or photo line", _CAPTION), ("trip not (yet) made", _NOT_YET),
                             ("talk, call or statement without travel", _TALK)):
                if rx.search(text):
                    return f"false visit: {name}"
            return "false visit: other"
        if pred == "airstrike":
            if _MISSILE.search(text) and not _AIRCRAFT.search(text):
                return "false airstrike: missile, rocket or shelling, no aircraft"
            if _HYPOTHETICAL.search(text):
                return "false airstrike: threatened, planned, denied or debated"
            if _AIRCRAFT.search(text):
                return "false airstrike: aircraft or air words as background"
            return "false airstrike: other"
        if pred == "rally":
            if _LABOUR.search(text):
                return "false rally: labour strike"
            if _HYPOTHETICAL.search(text):
                return "false rally: planned, called or threatened"
            if _BACKGROUND.search(text):
                return "false rally: past protests as background"
            return "false rally: other gathering"
        if pred == "territorial_gain":
            if _PEOPLE.search(text):
                return "false gain: capture of people, weapons or power"
            if _BACKGROUND.search(text):
                return "false gain: annexation or capture as background"
            return "false gain: other"
    if pred == "none":
        words = len(text.split())
        shape = ("headline or caption" if not text.rstrip().endswith((".", '"', "'", "”", "?", "!"))
                 else "note (On <date>, ...)" if _NOTE.search(text)
                 else "long (> 35 words)" if words > 35 else "sentence")
        return f"missed {gold}: {shape}"
    return f"wrong event: {gold} -> {pred}"


def evaluate_sets(clf: EventClassifier, sets: dict[str, tuple[list[str], list[str]]]) -> dict[str, dict]:
    out = {}
    for name, (texts, gold) in sets.items():
        preds = clf.predict(texts, progress=False)
        labels = [p.label for p in preds]
        scores = np.array([p.score for p in preds])
        metrics = compute_metrics(labels, gold, clf.labels)
        wrong = [i for i in range(len(gold)) if labels[i] != gold[i]]
        out[name] = {
            "macro_f1": metrics["macro_f1"],
            "per_class_f1": {k: v["f1"] for k, v in metrics["per_class"].items()},
            "errors": len(wrong),
            "errors_at_0.9": int(sum(scores[i] >= 0.9 for i in wrong)),
            "ece": confidence_ece(scores, [labels[i] == gold[i] for i in range(len(gold))]),
            "kinds": dict(Counter(kind_of(texts[i], gold[i], labels[i]) for i in wrong)),
        }
    return out


def markdown(
    results: dict[str, dict[str, dict]], sets: dict[str, tuple[list[str], list[str]]], notes: str = "",
    stamp: dict | None = None,
) -> str:
    models = list(results)
    lines = [
        "# Error analysis on real news",
        "",
        *([*stamp_markdown(stamp), ""] if stamp else []),
        "Made by `python scripts/error_analysis.py " + " ".join(f"--model {m}=…" for m in models) + "` (counts "
        "from its last run). The errors of each model on the real-news sets of `../shared/benchmarks/` (evaluation "
        "only; no sentence of them is copied here) are sorted into kinds by the regular expressions of "
        "`scripts/error_analysis.py`, first match wins. A false event is a gold `none` sentence given an event; a "
        "missed event is an event sentence given `none`, split by the shape of the sentence.",
        "",
    ]
    if notes:
        lines += [notes.strip(), ""]
    for set_name, (texts, gold) in sets.items():
        lines += [f"## {set_name} ({len(texts)} rows: " + ", ".join(
            f"{k} {v}" for k, v in Counter(gold).most_common()) + ")", ""]
        lines += ["| | " + " | ".join(models) + " |", "|---|" + "---:|" * len(models)]
        r = {m: results[m][set_name] for m in models}
        lines.append("| macro-F1 | " + " | ".join(f"{r[m]['macro_f1']:.3f}" for m in models) + " |")
        lines.append("| expected calibration error | " + " | ".join(f"{r[m]['ece']:.3f}" for m in models) + " |")
        lines.append("| **errors** | " + " | ".join(f"**{r[m]['errors']}**" for m in models) + " |")
        lines.append("| of which with probability ≥ 0.9 | " + " | ".join(
            str(r[m]["errors_at_0.9"]) for m in models) + " |")
        kinds = sorted({k for m in models for k in r[m]["kinds"]},
                       key=lambda k: (-max(r[m]["kinds"].get(k, 0) for m in models), k))
        for kind in kinds:
            lines.append(f"| {kind} | " + " | ".join(str(r[m]["kinds"].get(kind, 0)) for m in models) + " |")
        lines.append("")
    return "\n".join(lines)


def load_sets(shared: Path) -> dict[str, tuple[list[str], list[str]]]:
    sets = {}
    for path in sorted(shared.glob("*.jsonl")):
        rows = read_jsonl(path)
        sets[path.name] = ([r["text"] for r in rows], [r["label"] for r in rows])
    return sets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", default=[], metavar="NAME=DIR",
                        help="checkpoint to analyse (repeatable; default: default=checkpoints/default)")
    parser.add_argument("--shared", default=str(ROOT.parent / "shared" / "benchmarks"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "error_analysis.md"))
    parser.add_argument("--notes", default=str(ROOT / "docs" / "error_analysis_notes.md"),
                        help="markdown placed after the introduction (what each column is, what was learnt)")
    args = parser.parse_args()
    shared = Path(args.shared)
    if not shared.is_dir():
        print(f"error: {shared} not found: the real-news sets are needed", file=sys.stderr)
        return 2
    sets = load_sets(shared)
    results = {}
    checkpoints = {}
    for spec in args.model or ["default=checkpoints/default"]:
        name, _, path = spec.partition("=")
        checkpoints[name] = path
        results[name] = evaluate_sets(EventClassifier.from_pretrained(path), sets)
        for set_name, r in results[name].items():
            print(f"{name:20s} {set_name:20s} macro-F1 {r['macro_f1']:.3f} errors {r['errors']} "
                  f"(≥0.9: {r['errors_at_0.9']}) ECE {r['ece']:.3f}")
    out = Path(args.out)
    notes = Path(args.notes).read_text(encoding="utf-8") if Path(args.notes).is_file() else ""
    stamp = run_stamp(checkpoints, where=ROOT)
    out.write_text(markdown(results, sets, notes, stamp) + "\n", encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps({"stamp": stamp, **results}, indent=2), encoding="utf-8")
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

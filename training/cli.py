"""Command-line entry points for training, evaluation, model soups and the demo (thin wrappers over the package).

Every command parses its arguments before importing PyTorch, so ``--help`` and ``--version`` return at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from model.config import Config

__all__ = ["average_main", "demo_main", "evaluate_main", "train_main"]


from model.cli import add_version_option  # noqa: E402  (training/__init__ first checks that 'model' is ours)

_OVERRIDE_HELP = "config overrides as section.key=value, e.g. training.epochs=5 data.train_file=my.csv"
_CONFIG_HELP = (
    "a YAML config file, or the name of a shipped config (default, multilabel); without it the built-in "
    "defaults, which are the default model's recipe (the same as --config default)"
)


def _fail(prog: str, exc: BaseException) -> int:
    print(f"{prog}: error: {exc}", file=sys.stderr)
    return 2


def train_main(argv: Sequence[str] | None = None) -> int:
    """``cec-train --config default training.epochs=5`` (a shipped config's name, or a YAML file)"""
    parser = argparse.ArgumentParser(prog="cec-train", description="Fine-tune the event classifier.")
    parser.add_argument("--config", default=None, help=_CONFIG_HELP)
    add_version_option(parser)
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run from its last saved state")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="let training replace an existing training.output_dir that is not a checkpoint (deletes its contents)",
    )
    parser.add_argument("overrides", nargs="*", help=_OVERRIDE_HELP)
    args = parser.parse_args(argv)

    from model.config import ConfigError, load_config
    from training.data import DataError
    from training.trainer import train

    flags = (["training.resume=true"] if args.resume else []) + (
        ["training.overwrite_output_dir=true"] if args.overwrite else []
    )
    try:
        config = load_config(args.config, args.overrides + flags)
        result = train(config)
    except (ConfigError, DataError, FileNotFoundError) as exc:
        return _fail("cec-train", exc)
    for split in ("dev", "test"):
        if split in result.metrics:
            print(
                f"{split}: macro-F1 {result.metrics[split]['macro_f1']:.3f}  "
                f"accuracy {result.metrics[split]['accuracy']:.3f}  "
                f"(report: {result.checkpoint / 'evaluation' / split / 'report.md'})"
            )
            if result.metrics[split].get("warning"):
                print(f"  warning: {result.metrics[split]['warning']}")
    return 0


_REPORT_FILES = {"metrics.json", "confusion_matrix.png", "reliability.png", "report.md", "errors.csv"}


def evaluate_main(argv: Sequence[str] | None = None) -> int:
    """``cec-evaluate --checkpoint DIR --data FILE [--out DIR]``"""
    from model.cli import add_common_options, exit_error, load_classifier

    parser = argparse.ArgumentParser(prog="cec-evaluate", description="Evaluate a checkpoint on a labelled file.")
    parser.add_argument("--data", required=True, help="CSV or JSONL file with text and label columns")
    parser.add_argument(
        "--out",
        default=None,
        help="folder for metrics.json, report.md, errors.csv and the plots (default: a new folder "
        "runs/evaluate-<data>-<time>/; never the checkpoint unless you name it)",
    )
    parser.add_argument("--no-save", action="store_true", help="only print the report, write no files")
    parser.add_argument(
        "--bootstrap", type=int, default=1000, metavar="N", help="resamples for the macro-F1 interval (0: none)"
    )
    add_common_options(parser, formats=None)
    parser.add_argument("overrides", nargs="*", help="e.g. data.text_column=body inference.batch_size=64")
    args = parser.parse_intermixed_args(argv)
    prog = "cec-evaluate"
    if args.no_save and args.out:
        exit_error(prog, "--no-save and --out exclude each other")

    from model.config import ConfigError
    from training.data import DataError, load_labelled_file
    from training.evaluation import evaluate_classifier, markdown_report

    classifier = load_classifier(prog, args, [o for o in args.overrides if o.startswith("inference.")])
    try:
        data_config = classifier.config.update([o for o in args.overrides if not o.startswith("inference.")])
        dataset, report = load_labelled_file(args.data, data_config)
        out = None if args.no_save else _report_folder(args.out or _new_run_folder(args.data))  # before classifying
    except (ConfigError, DataError, OSError) as exc:
        return _fail(prog, exc)
    if not args.quiet:
        print(f"[data] {report.summary()}")
    gold = [classifier.labels[i] for i in dataset["label"]]
    title = Path(args.data).name
    result = evaluate_classifier(
        classifier,
        dataset["text"],
        gold,
        out_dir=out,
        title=title,
        progress=False if args.quiet else None,
        bootstrap=args.bootstrap,
        errors_file=True,
        codes=args.codes,
    )
    print(markdown_report(result, classifier.labels, title=title))
    if out is not None:
        print(f"written: {out}/ (metrics.json, report.md, errors.csv, confusion_matrix.png, reliability.png)")
    return 0 if result["num_examples"] else 1


def _new_run_folder(data: str) -> Path:
    """``runs/evaluate-<data stem>-<YYYYmmdd-HHMMSS>`` in the working directory, never an existing folder."""
    import time

    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"evaluate-{Path(data).stem}-{stamp}"
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


def _report_folder(path: str) -> Path:
    """A folder the evaluation report can be written to: new, empty, or holding only an earlier report."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out}: is a file, not a folder")
    if out.is_dir():
        others = sorted(p.name for p in out.iterdir() if p.name not in _REPORT_FILES)
        if others:
            raise FileExistsError(
                f"--out {out}: holds other files ({', '.join(others[:5])}); choose a new or empty folder for the report"
            )
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise PermissionError(f"--out {out}: cannot write the report there ({exc.strerror or exc})") from None
    return out


def demo_main(argv: Sequence[str] | None = None) -> int:
    """Train the default model if needed, evaluate it on the seed test split, classify the sample article."""
    parser = argparse.ArgumentParser(prog="cec-demo", description=demo_main.__doc__)
    parser.add_argument(
        "--config", default="default", help="a YAML config file or a shipped config's name (default: default)"
    )
    parser.add_argument("--article", default=None, help="an article to classify (default: the shipped sample article)")
    add_version_option(parser)
    parser.add_argument("overrides", nargs="*", help=_OVERRIDE_HELP)
    args = parser.parse_args(argv)

    from model.cli import format_table
    from model.config import ConfigError, load_config
    from model.inference import extract_events, load
    from model.resources import SAMPLE_ARTICLE, shipped_file

    try:
        config = load_config(args.config, args.overrides)
    except ConfigError as exc:
        return _fail("cec-demo", exc)
    checkpoint = _demo_checkpoint(config, args)
    if checkpoint is None:
        return 1
    classifier = load(checkpoint)
    if config.data.test_file and Path(config.data.test_file).is_file():
        rc = evaluate_main(["--checkpoint", str(checkpoint), "--data", config.data.test_file])
        if rc != 0:
            return rc
    article = shipped_file("samples", SAMPLE_ARTICLE) if args.article is None else Path(args.article)
    print(f"\n[demo] {args.article or 'the sample article'}, sentence by sentence:\n")
    print(format_table(extract_events(article.read_text(encoding="utf-8"), classifier)))
    return 0


def _demo_checkpoint(config: Config, args: argparse.Namespace) -> Path | None:
    """The demo's model: ``$EVENT_CLASSIFIER_MODEL`` or the config's ``training.output_dir``, trained there first
    (from the config's training data) if it does not exist yet; ``None`` if it cannot be had."""
    from model.inference import DEFAULT_CHECKPOINT_ENV, NO_MODEL_HINT

    env = os.environ.get(DEFAULT_CHECKPOINT_ENV)
    checkpoint = Path(env or config.training.output_dir)
    if (checkpoint / "model.safetensors").is_file():
        print(f"[demo] using the trained model in {checkpoint}")
        return checkpoint
    if env or not Path(config.data.train_file).is_file():
        where = (
            f"${DEFAULT_CHECKPOINT_ENV}={env}"
            if env
            else f"{checkpoint}, and no training data at {config.data.train_file}"
        )
        print(f"cec-demo: error: no trained model in {where}: {NO_MODEL_HINT}", file=sys.stderr)
        return None
    print(
        f"[demo] no trained model at {checkpoint}: training the default model (one-off: about 23 min on 2 CPU "
        "cores, less on more cores or a GPU)"
    )
    return checkpoint if train_main(["--config", args.config, *args.overrides]) == 0 else None


def average_main(argv: Sequence[str] | None = None) -> int:
    """``cec-average A B ... -o OUT [--dev FILE]``: average the weights of checkpoints of one base model."""
    parser = argparse.ArgumentParser(
        prog="cec-average",
        description="Average the weights of several fine-tuned checkpoints of one base model (a model soup).",
    )
    parser.add_argument("checkpoints", nargs="+", help="two or more checkpoint directories")
    parser.add_argument("-o", "--output", required=True, help="where to write the averaged checkpoint")
    parser.add_argument("--dev", help="labelled file to fit the temperature on (e.g. seeds/dev.jsonl)")
    parser.add_argument("--weights", type=float, nargs="+", help="one weight per checkpoint (default: equal)")
    add_version_option(parser)
    args = parser.parse_args(argv)

    import json

    from training.soup import average_checkpoints

    try:
        out = average_checkpoints(args.checkpoints, args.output, dev_file=args.dev, weights=args.weights)
    except (ValueError, OSError) as exc:
        print(f"cec-average: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"checkpoint": str(out)}))
    return 0

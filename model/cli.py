"""Command-line prediction: ``cec-predict`` / ``python scripts/predict.py``.

cec-predict "Jets struck the town on Sunday." "Protesters marched on parliament."
cec-predict --article seeds/sample_article.txt
cat sentences.txt | cec-predict --format jsonl
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import textwrap
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["format_table", "main"]


def format_table(rows: Sequence[dict[str, Any]], *, width: int = 88) -> str:
    """A plain-text table: sentence (wrapped), label, confidence."""
    header = f"{'#':>3}  {'sentence':<{width}}  {'label':<16}  {'conf':>5}"
    lines = [header, "-" * len(header)]
    for i, row in enumerate(rows, 1):
        wrapped = textwrap.wrap(row["sentence"], width) or [""]
        lines.append(f"{i:>3}  {wrapped[0]:<{width}}  {row['label']:<16}  {row['score']:>5.2f}")
        lines += [f"{'':>3}  {part}" for part in wrapped[1:]]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cec-predict", description="Classify news sentences or articles.")
    parser.add_argument("texts", nargs="*", help="sentences to classify (default: one per line on stdin)")
    parser.add_argument(
        "--checkpoint", help="checkpoint directory (default: $EVENT_CLASSIFIER_MODEL or checkpoints/default)"
    )
    parser.add_argument(
        "--article",
        action="append",
        default=[],
        metavar="FILE",
        help="classify a whole article file sentence by sentence (repeatable)",
    )
    parser.add_argument("--format", choices=("table", "jsonl", "csv"), default="table")
    parser.add_argument("--drop-none", action="store_true", help="only print sentences with an event")
    args = parser.parse_args(argv)

    from model.classifier import CheckpointError
    from model.inference import extract_events, load

    try:
        classifier = load(args.checkpoint)
    except (CheckpointError, OSError) as exc:
        parser.exit(2, f"cec-predict: {exc}\n")
    rows: list[dict[str, Any]] = []
    if args.article:
        for path in args.article:
            try:
                text = open(path, encoding="utf-8").read()
            except (OSError, UnicodeDecodeError) as exc:
                parser.exit(2, f"cec-predict: cannot read {path}: {exc}\n")
            rows += [{"document": path, **r} for r in extract_events(text, classifier, keep_none=not args.drop_none)]
    else:
        if args.texts:
            texts = list(args.texts)
        else:  # bytes, so that invalid UTF-8 is reported (and replaced) instead of crashing the decoder
            from model.inference import decode_text

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                stdin = decode_text(sys.stdin.buffer.read(), "standard input")
            for warning in caught:
                print(f"cec-predict: warning: {warning.message}", file=sys.stderr)
            texts = [line.strip() for line in stdin.splitlines() if line.strip()]
        if not texts:
            parser.exit(2, "cec-predict: nothing to classify (give sentences, --article FILE, or lines on stdin)\n")
        for text, pred in zip(texts, classifier.predict(texts)):
            if args.drop_none and pred.label == classifier.config.model.none_label:
                continue
            rows.append({"sentence": text, **pred.to_dict()})
    if args.format == "table":
        print(format_table(rows))
    elif args.format == "jsonl":
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    else:
        fields = [k for k in rows[0] if k not in ("probabilities", "codes")] if rows else ["sentence", "label"]
        write_csv(rows, fields, classifier.labels, sys.stdout)
    return 0


def write_csv(rows: Iterable[dict[str, Any]], fields: list[str], labels: list[str], out: Any) -> None:
    """Write prediction rows as CSV: ``fields``, ``labels`` joined by ``;``, then one ``p_<label>`` column each."""
    writer = csv.DictWriter(out, fieldnames=fields + [f"p_{x}" for x in labels])
    writer.writeheader()
    for row in rows:
        flat = {k: row[k] for k in fields}
        if "labels" in flat:
            flat["labels"] = ";".join(flat["labels"])
        flat.update({f"p_{k}": round(v, 5) for k, v in row["probabilities"].items()})
        writer.writerow(flat)



def export_main(argv: Sequence[str] | None = None) -> int:
    """``cec-export-onnx --checkpoint DIR``: write DIR/onnx/model.onnx (fp32), model.int8.onnx (dynamic int8) and
    model.int8-static.onnx (static int8, calibrated on sentences of the training file)."""
    parser = argparse.ArgumentParser(prog="cec-export-onnx", description=export_main.__doc__)
    parser.add_argument("--checkpoint", default="checkpoints/default")
    parser.add_argument("--no-quantize", action="store_true", help="only the fp32 export")
    parser.add_argument("--no-optimize", action="store_true", help="skip ONNX Runtime's BERT graph fusion")
    parser.add_argument(
        "--calibration",
        metavar="FILE",
        help="text file (one sentence per line) to calibrate the static int8 model on "
        "(default: sentences of the checkpoint's training file)",
    )
    args = parser.parse_args(argv)

    from model.classifier import CheckpointError, EventClassifier
    from model.onnx_backend import calibration_texts, export_onnx

    try:
        EventClassifier.from_pretrained(args.checkpoint)  # validates the checkpoint before exporting
        if args.calibration:
            with open(args.calibration, encoding="utf-8") as fh:
                texts = [line.strip() for line in fh if line.strip()]
        else:
            texts = calibration_texts(args.checkpoint)
    except (CheckpointError, OSError, UnicodeDecodeError) as exc:
        parser.exit(2, f"cec-export-onnx: {exc}\n")
    if not texts and not args.no_quantize:
        print("cec-export-onnx: no calibration sentences (training file not found): static int8 skipped", file=sys.stderr)
    path = export_onnx(
        args.checkpoint, quantize=not args.no_quantize, optimize=not args.no_optimize, calibration=texts or None
    )
    print(f"written: {path} ({path.stat().st_size / 1e6:.1f} MB); use it with inference.backend=onnx")
    static = path.parent / "model.int8-static.onnx"
    if texts and static.is_file():
        print(f"written: {static} ({static.stat().st_size / 1e6:.1f} MB, calibrated on {len(texts)} sentences)")
    return 0


def extract_main(argv: Sequence[str] | None = None) -> int:
    """``cec-extract SOURCE``: events of every sentence of a file, a folder of .txt articles, or stdin (``-``)."""
    parser = argparse.ArgumentParser(prog="cec-extract", description=extract_main.__doc__)
    parser.add_argument("source", help="an article file, a folder of articles (searched recursively), or - for stdin")
    parser.add_argument(
        "--checkpoint", help="checkpoint directory (default: $EVENT_CLASSIFIER_MODEL or checkpoints/default)"
    )
    parser.add_argument("--pattern", default="*.txt", help="file pattern inside a folder (default: *.txt)")
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("--output", "-o", help="output file (default: standard output)")
    parser.add_argument("--drop-none", action="store_true", help="only sentences that report an event")
    parser.add_argument("--codes", action="store_true", help="add ACLED/CAMEO/PLOVER codes (JSONL only)")
    args = parser.parse_args(argv)

    from model.classifier import CheckpointError
    from model.inference import iter_documents, load, stream_events

    try:
        classifier = load(args.checkpoint)
    except (CheckpointError, OSError) as exc:
        parser.exit(2, f"cec-extract: {exc}\n")
    skipped: list[str] = []

    def report_skip(path: str, reason: str) -> None:
        skipped.append(path)
        print(f"cec-extract: skipped {path}: {reason}", file=sys.stderr)

    try:
        out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
    except OSError as exc:
        parser.exit(2, f"cec-extract: cannot write {args.output}: {exc.strerror or exc}\n")
    rows = stream_events(
        iter_documents(args.source, pattern=args.pattern, on_skip=report_skip),
        classifier,
        keep_none=not args.drop_none,
        with_codes=args.codes and args.format == "jsonl",
        progress=out is not sys.stdout or not sys.stdout.isatty(),
    )
    try:
        if args.format == "jsonl":
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            fields = ["document", "sentence_index", "start", "end", "sentence", "label", "score", "labels"]
            write_csv(rows, fields, classifier.labels, out)
    except (FileNotFoundError, ValueError) as exc:
        parser.exit(2, f"cec-extract: {exc}\n")
    finally:
        if out is not sys.stdout:
            out.close()
    if skipped:
        print(f"cec-extract: {len(skipped)} file(s) skipped (listed above); every other file was classified", file=sys.stderr)
        return 1
    return 0


def predict_many_main(argv: Sequence[str] | None = None) -> int:
    """``cec-predict-many SOURCE OUTPUT``: classify a folder of JSONL/CSV/Parquet rows or .txt articles on Ray
    Data and write Parquet (needs the ``ray`` extra: ``pip install .[ray]``)."""
    parser = argparse.ArgumentParser(prog="cec-predict-many", description=predict_many_main.__doc__)
    parser.add_argument("source", help="a file or a folder of .jsonl/.csv/.parquet files, or of .txt articles")
    parser.add_argument("output", help="a new (or empty) folder for the Parquet output")
    parser.add_argument("--checkpoint", help="checkpoint directory (default: $EVENT_CLASSIFIER_MODEL or checkpoints/default)")
    parser.add_argument("--text-column", help="text column of tabular input (default: the checkpoint's data.text_column)")
    parser.add_argument("--id-column", default="id", help="id column of tabular input, kept in the output (default: id)")
    parser.add_argument("--address", help="connect to an existing Ray cluster ('auto' or ray://host:10001); default: start one here")
    parser.add_argument("--actors", type=int, help="number of model actors (default: cluster CPUs / threads per actor)")
    parser.add_argument("--threads-per-actor", type=int, default=1, help="CPU threads (and Ray CPUs) per actor")
    parser.add_argument("--batch-size", type=int, default=256, help="rows per Ray batch sent to an actor")
    parser.add_argument("--prefix", default="", help="prefix of the prediction columns, e.g. pred_ (default: none)")
    parser.add_argument("overrides", nargs="*", help="inference settings, e.g. inference.backend=onnx")
    args = parser.parse_intermixed_args(argv)  # overrides may come before or after the options

    from model.classifier import CheckpointError, EventClassifier
    from model.config import ConfigError
    from model.inference import default_checkpoint

    try:
        import ray  # noqa: F401
    except ImportError:
        parser.exit(2, "cec-predict-many: Ray is not installed; install the extra: pip install '.[ray]'\n")
    try:
        checkpoint = args.checkpoint or str(default_checkpoint())
        classifier = EventClassifier.from_pretrained(checkpoint, overrides=args.overrides)
    except (CheckpointError, ConfigError, OSError) as exc:
        parser.exit(2, f"cec-predict-many: {exc}\n")
    from model.scale import predict_many

    try:
        summary = predict_many(
            args.source,
            args.output,
            checkpoint=checkpoint,
            text_column=args.text_column or classifier.config.data.text_column,
            id_column=args.id_column,
            overrides=args.overrides,
            address=args.address,
            actors=args.actors,
            threads_per_actor=args.threads_per_actor,
            batch_size=args.batch_size,
            prefix=args.prefix,
        )
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        parser.exit(2, f"cec-predict-many: {exc}\n")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

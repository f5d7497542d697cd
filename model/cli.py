"""Command-line prediction: ``cec-predict``, ``cec-extract``, ``cec-predict-many`` (and ``cec-export-onnx``).

cec-predict "Jets struck the town on Sunday." "Protesters marched on parliament."
cec-predict --article seeds/sample_article.txt
cec-predict --input news.csv --text-column body --id-column doc_id -o predictions.csv inference.backend=onnx
cat sentences.txt | cec-predict --format csv

Every prediction command takes ``--checkpoint``, ``inference.*`` overrides (``section.key=value``, the parser of
:mod:`model.config`), ``--codes``, ``--min-confidence``, ``--quiet`` and ``--version``, and writes the one output
schema of :mod:`model.output` (JSON Lines, CSV, Parquet or a table).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from model.output import ARTICLE_COLUMNS, FORMATS, format_table

__all__ = [
    "add_common_options",
    "add_version_option",
    "exit_error",
    "extract_main",
    "format_table",
    "load_classifier",
    "main",
    "package_version",
    "predict_many_main",
]

_OVERRIDE = re.compile(r"^[A-Za-z_]\w*\.[A-Za-z_]\w*=")
_CHECKPOINT_HELP = (
    "checkpoint directory (default: $EVENT_CLASSIFIER_MODEL, else checkpoints/default in the working directory)"
)
_TEXT_CONTEXT = {"line": "int", "sentence": "string"}


# ------------------------------------------------------------------ shared by every command
def package_version() -> str:
    """The installed version of the distribution (read from its metadata: no heavy import)."""
    from importlib.metadata import PackageNotFoundError, version

    from model.resources import PROJECT

    try:
        return version(PROJECT)
    except PackageNotFoundError:
        return "unknown (not installed)"


def add_version_option(parser: argparse.ArgumentParser) -> None:
    """``--version``: print ``<prog> <package version>`` and exit (every ``cec-*`` command has it)."""
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")


def add_common_options(parser: argparse.ArgumentParser, *, formats: Sequence[str] | None = FORMATS) -> None:
    """The options every prediction command takes."""
    parser.add_argument("--checkpoint", help=_CHECKPOINT_HELP)
    parser.add_argument("--codes", action="store_true", help="add ACLED/CAMEO/PLOVER code columns (every format)")
    parser.add_argument(
        "--min-confidence",
        type=float,
        metavar="P",
        help="label a sentence 'uncertain' when its top probability is below P (inference.min_confidence)",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars, no loading or summary messages")
    add_version_option(parser)
    if formats:
        parser.add_argument(
            "--format", choices=formats, help="output format (default: from the -o extension, else jsonl or table)"
        )
        parser.add_argument("--output", "-o", metavar="FILE", help="output file (default: standard output)")


def _overrides(args: argparse.Namespace, overrides: Sequence[str]) -> list[str]:
    extra = [] if args.min_confidence is None else [f"inference.min_confidence={args.min_confidence}"]
    return [*overrides, *extra]


def _one_line(exc: BaseException) -> str:
    from model.documents import normalize_text

    return normalize_text(str(exc))


def load_classifier(prog: str, args: argparse.Namespace, overrides: Sequence[str]) -> Any:
    """Load ``--checkpoint`` with the inference overrides, or exit 2 with a one-line error."""
    _silence_loading(args.quiet)
    from model.classifier import CheckpointError, EventClassifier
    from model.config import ConfigError
    from model.inference import default_checkpoint

    try:
        checkpoint = args.checkpoint or default_checkpoint()
        return EventClassifier.from_pretrained(checkpoint, overrides=_overrides(args, overrides))
    except (CheckpointError, ConfigError, OSError) as exc:
        exit_error(prog, exc)


def exit_error(prog: str, message: Any, code: int = 2) -> None:
    print(f"{prog}: error: {_one_line(message) if isinstance(message, BaseException) else message}", file=sys.stderr)
    raise SystemExit(code)


def _silence_loading(quiet: bool) -> None:
    """No "Loading weights" bar from transformers (ever: it is noise here); with ``quiet`` also no info logs."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover
        return
    hf_logging.disable_progress_bar()
    if quiet:
        hf_logging.set_verbosity_error()


def _open_writer(prog: str, args: argparse.Namespace, columns: dict[str, str], default: str, text_column: str) -> Any:
    from model.output import open_writer, output_format

    try:
        return open_writer(
            columns, output_format(args.format, args.output, default), args.output, text_column=text_column
        )
    except OSError as exc:
        exit_error(prog, f"cannot write {args.output}: {exc.strerror or exc}")
    except ValueError as exc:
        exit_error(prog, exc)


def _columns(context: dict[str, str], classifier: Any, codes: bool) -> dict[str, str]:
    from model.output import prediction_schema

    return {**context, **prediction_schema(classifier.labels, codes=codes)}


def _classify(
    prog: str,
    classifier: Any,
    items: Iterable[tuple[dict[str, Any], Any, str | None]],
    *,
    codes: bool,
    drop_none: bool,
    chunk: int,
    bar: Any = None,
) -> Iterator[dict[str, Any]]:
    """Classify ``(context, text, error)`` items in chunks of ``chunk``; yield context + prediction columns.
    An item with ``error`` set (or a text that cannot be classified) gives an error row; none is dropped, except
    rows labelled none with ``drop_none``."""
    from tqdm.auto import tqdm

    from model.output import ERROR_COLUMN, prediction_columns

    none = classifier.config.model.none_label
    iterator = iter(items)
    truncated = 0
    while batch := list(islice(iterator, chunk)):
        texts = [text if error is None else None for _, text, error in batch]
        with warnings.catch_warnings(record=True) as caught:  # one summary line at the end, not one per chunk
            warnings.simplefilter("always")
            cols = prediction_columns(classifier, texts, codes=codes)
        for warning in caught:
            match = re.match(r"(\d+) of \d+ texts exceed", str(warning.message))
            if match:
                truncated += int(match.group(1))
            else:
                tqdm.write(f"{prog}: warning: {warning.message}", file=sys.stderr)
        for i, (context, _, error) in enumerate(batch):
            row = {**context, **{name: values[i] for name, values in cols.items()}}
            if error is not None:
                row[ERROR_COLUMN] = error
            if drop_none and row["label"] == none:
                continue
            yield row
        if bar is not None:
            bar.update(len(batch))
    if truncated:
        tqdm.write(
            f"{prog}: warning: {truncated} text(s) longer than model.max_length={classifier.config.model.max_length} "
            "tokens were truncated; split articles into sentences (--article, cec-extract)",
            file=sys.stderr,
        )


def _flat_event(row: dict[str, Any], codes: bool) -> dict[str, Any]:
    """A row of :func:`model.inference.stream_events` in the flat output schema."""
    from model.output import CODE_COLUMNS, ERROR_COLUMN, flat_codes

    flat = {k: v for k, v in row.items() if k not in ("probabilities", "codes")}
    flat |= {f"prob_{name}": p for name, p in row["probabilities"].items()}
    flat.setdefault(ERROR_COLUMN, None)
    if flat[ERROR_COLUMN] is not None:
        flat["labels"] = None  # as for every other row that could not be classified
    if codes:
        flat |= flat_codes(row.get("codes")) if flat[ERROR_COLUMN] is None else dict.fromkeys(CODE_COLUMNS)
    return flat


def _write_all(prog: str, writer: Any, rows: Iterable[dict[str, Any]]) -> int:
    """Write every row (flushing as it goes, so that rows already classified survive a crash); return the count."""
    from model.output import ERROR_COLUMN

    errors = 0
    try:
        for row in rows:
            writer.write(row)
            errors += row.get(ERROR_COLUMN) is not None
    except BrokenPipeError:  # `cec-predict ... | head`: the reader has gone, stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
    except (FileNotFoundError, ValueError) as exc:
        exit_error(prog, exc)
    finally:
        try:
            writer.close()
        except BrokenPipeError:
            pass
    return errors


def _split_texts(items: Sequence[str]) -> tuple[list[str], list[str]]:
    """Positional arguments: ``section.key=value`` ones are config overrides, the others sentences."""
    overrides = [x for x in items if _OVERRIDE.match(x)]
    return [x for x in items if not _OVERRIDE.match(x)], overrides


# ------------------------------------------------------------------ cec-predict
def main(argv: Sequence[str] | None = None) -> int:
    """``cec-predict``: classify sentences (arguments, one per line on stdin, or a column of a CSV/JSONL file) or
    articles (``--article``)."""
    parser = argparse.ArgumentParser(
        prog="cec-predict",
        description="Classify news sentences or articles.",
        epilog="Inference settings go among the arguments as section.key=value, e.g. inference.backend=onnx "
        "inference.batch_size=64.",
    )
    parser.add_argument(
        "texts",
        nargs="*",
        help="sentences to classify (default: one per line on stdin) and inference overrides (inference.key=value)",
    )
    add_common_options(parser)
    parser.add_argument(
        "--article",
        action="append",
        default=[],
        metavar="FILE",
        help="classify a whole article file sentence by sentence (repeatable)",
    )
    parser.add_argument("--input", "-i", metavar="FILE", help="a .csv or .jsonl file: classify one column of every row")
    parser.add_argument("--text-column", help="text column of --input (default: the checkpoint's data.text_column)")
    parser.add_argument("--id-column", help="a column of --input to copy into the output (e.g. doc_id)")
    parser.add_argument("--drop-none", action="store_true", help="only print sentences with an event")
    parser.add_argument(
        "--chunk-rows", type=int, default=1024, metavar="N", help="rows read and classified at a time (default: 1024)"
    )
    args = parser.parse_intermixed_args(argv)
    texts, overrides = _split_texts(args.texts)
    prog = "cec-predict"
    if args.input and (texts or args.article):
        exit_error(prog, "--input cannot be combined with sentences or --article")
    if args.article and texts:
        exit_error(prog, "--article cannot be combined with sentences")
    if args.chunk_rows < 1:
        exit_error(prog, "--chunk-rows must be at least 1")
    classifier = load_classifier(prog, args, overrides)
    if args.input:
        return _predict_file(prog, args, classifier)
    if args.article:
        return _predict_articles(prog, args, classifier)
    if texts:
        items = [({"line": i, "sentence": t}, t, None) for i, t in enumerate(texts, 1)]
        default = "table"
    else:
        lines = _stdin_lines(prog)
        first = next(lines, None)
        if first is None:
            exit_error(prog, "nothing to classify (give sentences, --article FILE, --input FILE, or lines on stdin)")
        items, default = _chain_first(first, lines), "jsonl"
    writer = _open_writer(prog, args, _columns(_TEXT_CONTEXT, classifier, args.codes), default, "sentence")
    rows = _classify(prog, classifier, items, codes=args.codes, drop_none=args.drop_none, chunk=args.chunk_rows)
    _write_all(prog, writer, rows)
    return 0


def _stdin_lines(prog: str) -> Iterator[tuple[dict[str, Any], str, None]]:
    """One item per line of standard input, read as bytes so that invalid UTF-8 is reported (and replaced with
    U+FFFD) instead of crashing the decoder. Blank lines are kept (their row gets ``error: empty text``), so
    output row *n* is input line *n*."""
    bad: list[int] = []
    number = 0
    for number, raw in enumerate(sys.stdin.buffer, 1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(number)
            line = raw.decode("utf-8", errors="replace")
        text = line.rstrip("\r\n").strip()
        yield {"line": number, "sentence": text}, text, None
    if bad:
        shown = ", ".join(map(str, bad[:8])) + (f" and {len(bad) - 8} more" if len(bad) > 8 else "")
        print(
            f"{prog}: warning: standard input: not valid UTF-8 at line(s) {shown}; the undecodable bytes were "
            "replaced with U+FFFD",
            file=sys.stderr,
        )


def _predict_articles(prog: str, args: argparse.Namespace, classifier: Any) -> int:
    from model.inference import iter_documents, stream_events

    failed: list[str] = []

    def report(path: str, reason: str) -> None:
        failed.append(path)
        print(f"{prog}: error: {path}: {reason}", file=sys.stderr)

    def documents() -> Iterator[tuple[str, Any]]:
        for path in args.article:
            try:
                yield from iter_documents(path, on_skip=report, errors="row")
            except FileNotFoundError as exc:
                from model.inference import DocumentError

                report(path, "no such file")
                yield path, DocumentError(f"cannot be read: {exc}")

    writer = _open_writer(prog, args, _columns(ARTICLE_COLUMNS, classifier, args.codes), "table", "sentence")
    rows = stream_events(
        documents(), classifier, keep_none=not args.drop_none, with_codes=args.codes, progress=not args.quiet
    )
    _write_all(prog, writer, (_flat_event(r, args.codes) for r in rows))
    return 1 if failed else 0


def _predict_file(prog: str, args: argparse.Namespace, classifier: Any) -> int:
    """``--input FILE``: stream the rows of a CSV or JSONL file through the classifier in chunks."""
    from tqdm.auto import tqdm

    from model.output import prediction_schema

    path = Path(args.input)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".json", ".ndjson"):
        exit_error(prog, f"--input {path}: unsupported extension {suffix!r}; use .csv or .jsonl")
    if not path.is_file():
        exit_error(prog, f"--input {path}: {'is a folder, not a file' if path.is_dir() else 'no such file'}")
    text_column = args.text_column or classifier.config.data.text_column
    context = {"line": "int"}
    if args.id_column:
        context[args.id_column] = "string"
    context[text_column] = "string"
    columns = _columns(context, classifier, args.codes)
    if len(context) < 2 + bool(args.id_column) or set(context) & set(prediction_schema(classifier.labels, codes=True)):
        exit_error(
            prog,
            f"--text-column {text_column!r} and --id-column {args.id_column!r} must differ from each other, from "
            "'line' and from the prediction column names",
        )
    try:
        reader = _read_csv if suffix == ".csv" else _read_jsonl
        items = reader(path, text_column, args.id_column)
        first = next(items, None)  # reads the header: a missing column fails here, before the output is opened
    except ValueError as exc:
        exit_error(prog, exc)
    except OSError as exc:
        exit_error(prog, f"--input {path}: cannot be read ({exc.strerror or exc})")
    writer = _open_writer(prog, args, columns, "jsonl", text_column)
    total = _count_lines(path) - (suffix == ".csv")
    with tqdm(total=total, desc="classifying", unit="row", disable=args.quiet, file=sys.stderr) as bar:
        stream = [] if first is None else _chain_first(first, items)
        rows = _classify(
            prog, classifier, stream, codes=args.codes, drop_none=args.drop_none, chunk=args.chunk_rows, bar=bar
        )
        errors = _write_all(prog, writer, rows)
        if bar.total != bar.n:  # the line count was an estimate (blank lines, quoted line breaks)
            bar.total = bar.n
            bar.refresh()
    if not args.quiet:
        where = args.output or "standard output"
        print(f"{prog}: {writer.rows} row(s) written to {where}, {errors} with an error", file=sys.stderr)
    return 0


def _chain_first(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def _count_lines(path: Path) -> int:
    """Lines of a file (for the progress bar's total), read in blocks: memory stays flat."""
    count, last = 0, b"\n"
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def _clean(value: Any) -> Any:
    """Bytes that were not UTF-8 (kept as surrogates) as U+FFFD, so every writer can encode the value."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value


def _read_csv(path: Path, text_column: str, id_column: str | None) -> Iterator[tuple[dict[str, Any], Any, str | None]]:
    """``(context, text, error)`` per CSV record; ``line`` is the record's first line (quoted fields may span
    several). Bytes that are not UTF-8 make that row's error, not the file's."""
    import csv

    csv.field_size_limit(1 << 24)
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"--input {path}: the file is empty (a CSV file needs a header row)")
        header = [_clean(h).strip() for h in header]
        wanted = [c for c in (id_column, text_column) if c]
        missing = [c for c in wanted if c not in header]
        if missing:
            raise ValueError(
                f"--input {path}: column(s) {missing} not found (columns: {header}); set --text-column/--id-column"
            )
        index = {c: header.index(c) for c in wanted}
        while True:
            line = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield {"line": line}, None, f"unreadable CSV record ({exc})"
                if reader.line_num < line:
                    return
                continue
            if not record:  # a blank line is not a record
                continue
            context: dict[str, Any] = {"line": line}
            values = {c: record[i] if i < len(record) else None for c, i in index.items()}
            if id_column:
                context[id_column] = _clean(values[id_column])
            text = values[text_column]
            context[text_column] = _clean(text)
            error = None if text is not None else f"the record has no {text_column!r} field"
            yield context, text, error


def _read_jsonl(
    path: Path, text_column: str, id_column: str | None
) -> Iterator[tuple[dict[str, Any], Any, str | None]]:
    """``(context, text, error)`` per non-blank JSONL line; a line that is not UTF-8, not JSON or not an object
    gives an error row with its line number, and reading goes on."""
    from model.jsonl import iter_jsonl

    for line in iter_jsonl(path):
        context: dict[str, Any] = {"line": line.number}
        if line.problem is not None:
            yield context, None, line.problem.short()
            continue
        value = line.value
        if id_column:
            context[id_column] = value.get(id_column)
        text = value.get(text_column)
        context[text_column] = text if isinstance(text, str) else None
        error = None if text_column in value else f"no {text_column!r} field"
        yield context, text, error


def export_main(argv: Sequence[str] | None = None) -> int:
    """``cec-export-onnx --checkpoint DIR``: write DIR/onnx/model.onnx (fp32), model.int8.onnx (dynamic int8) and
    model.int8-static.onnx (static int8, calibrated on sentences of the training file)."""
    parser = argparse.ArgumentParser(prog="cec-export-onnx", description=export_main.__doc__)
    parser.add_argument("--checkpoint", help=_CHECKPOINT_HELP)
    add_version_option(parser)
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
    from model.inference import default_checkpoint
    from model.onnx_backend import calibration_texts, export_onnx

    try:
        args.checkpoint = args.checkpoint or str(default_checkpoint())
        EventClassifier.from_pretrained(args.checkpoint)  # validates the checkpoint before exporting
        if args.calibration:
            with open(args.calibration, encoding="utf-8") as fh:
                texts = [line.strip() for line in fh if line.strip()]
        else:
            texts = calibration_texts(args.checkpoint)
    except (CheckpointError, OSError, UnicodeDecodeError) as exc:
        parser.exit(2, f"cec-export-onnx: {exc}\n")
    if not texts and not args.no_quantize:
        print(
            "cec-export-onnx: no calibration sentences (training file not found): static int8 skipped", file=sys.stderr
        )
    path = export_onnx(
        args.checkpoint, quantize=not args.no_quantize, optimize=not args.no_optimize, calibration=texts or None
    )
    print(f"written: {path} ({path.stat().st_size / 1e6:.1f} MB); use it with inference.backend=onnx")
    static = path.parent / "model.int8-static.onnx"
    if texts and static.is_file():
        print(f"written: {static} ({static.stat().st_size / 1e6:.1f} MB, calibrated on {len(texts)} sentences)")
    return 0


def extract_main(argv: Sequence[str] | None = None) -> int:
    """``cec-extract SOURCE``: events of every sentence of a file, a folder of .txt articles, or stdin (``-``).
    A file that cannot be read is reported on stderr and as a row with ``error`` set; the run goes on and the
    exit status is 1."""
    parser = argparse.ArgumentParser(prog="cec-extract", description=extract_main.__doc__)
    parser.add_argument("source", help="an article file, a folder of articles (searched recursively), or - for stdin")
    parser.add_argument("overrides", nargs="*", help="inference settings, e.g. inference.backend=onnx")
    add_common_options(parser)
    parser.add_argument("--pattern", default="*.txt", help="file pattern inside a folder (default: *.txt)")
    parser.add_argument("--drop-none", action="store_true", help="only sentences that report an event")
    args = parser.parse_intermixed_args(argv)
    prog = "cec-extract"
    bad = [x for x in args.overrides if not _OVERRIDE.match(x)]
    if bad:
        exit_error(
            prog, f"unexpected argument {bad[0]!r}: give one SOURCE, then inference overrides as section.key=value"
        )
    classifier = load_classifier(prog, args, args.overrides)

    from model.inference import iter_documents, stream_events

    failed: list[str] = []

    def report(path: str, reason: str) -> None:
        failed.append(path)
        print(f"{prog}: error: {path}: {reason}; written as an error row, the run goes on", file=sys.stderr)

    documents = iter_documents(args.source, pattern=args.pattern, on_skip=report, errors="row")
    writer = _open_writer(prog, args, _columns(ARTICLE_COLUMNS, classifier, args.codes), "jsonl", "sentence")
    rows = stream_events(
        documents,
        classifier,
        keep_none=not args.drop_none,
        with_codes=args.codes,
        progress=not args.quiet and (args.output is not None or not sys.stdout.isatty()),
    )
    _write_all(prog, writer, (_flat_event(row, args.codes) for row in rows))
    if failed:
        print(
            f"{prog}: {len(failed)} file(s) could not be read (listed above, and as rows with 'error' set); every "
            "other file was classified",
            file=sys.stderr,
        )
        return 1
    return 0


def predict_many_main(argv: Sequence[str] | None = None) -> int:
    """``cec-predict-many SOURCE OUTPUT``: classify a folder of JSONL/CSV/Parquet rows or .txt articles on Ray
    Data and write Parquet, JSON Lines or CSV files (needs the ``ray`` extra: ``pip install
    conflict-event-classifier[ray]``)."""
    parser = argparse.ArgumentParser(prog="cec-predict-many", description=predict_many_main.__doc__)
    parser.add_argument("source", help="a file or a folder of .jsonl/.csv/.parquet files, or of .txt articles")
    parser.add_argument("output", help="a new (or empty) folder for the output files")
    add_common_options(parser, formats=None)
    parser.add_argument(
        "--format",
        choices=("parquet", "jsonl", "csv"),
        default="parquet",
        help="format of the output files, with the columns of cec-predict (default: parquet)",
    )
    parser.add_argument(
        "--text-column", help="text column of tabular input (default: the checkpoint's data.text_column)"
    )
    parser.add_argument(
        "--id-column", default="id", help="id column of tabular input, kept in the output (default: id)"
    )
    parser.add_argument(
        "--address", help="connect to an existing Ray cluster ('auto' or ray://host:10001); default: start one here"
    )
    parser.add_argument("--actors", type=int, help="number of model actors (default: cluster CPUs / threads per actor)")
    parser.add_argument("--threads-per-actor", type=int, default=1, help="CPU threads (and Ray CPUs) per actor")
    parser.add_argument("--batch-size", type=int, default=256, help="rows per Ray batch sent to an actor")
    parser.add_argument("--prefix", default="", help="prefix of the prediction columns, e.g. pred_ (default: none)")
    parser.add_argument("overrides", nargs="*", help="inference settings, e.g. inference.backend=onnx")
    args = parser.parse_intermixed_args(argv)  # overrides may come before or after the options
    prog = "cec-predict-many"
    bad = [x for x in args.overrides if not _OVERRIDE.match(x)]
    if bad:
        exit_error(prog, f"unexpected argument {bad[0]!r}: give SOURCE and OUTPUT, then overrides as section.key=value")

    try:
        import ray  # noqa: F401
    except ImportError:
        exit_error(prog, "Ray is not installed; install the extra: pip install 'conflict-event-classifier[ray]'")
    classifier = load_classifier(prog, args, args.overrides)
    from model.inference import default_checkpoint
    from model.scale import predict_many

    try:
        summary = predict_many(
            args.source,
            args.output,
            checkpoint=args.checkpoint or str(default_checkpoint()),
            text_column=args.text_column or classifier.config.data.text_column,
            id_column=args.id_column,
            overrides=_overrides(args, args.overrides),
            address=args.address,
            actors=args.actors,
            threads_per_actor=args.threads_per_actor,
            batch_size=args.batch_size,
            prefix=args.prefix,
            codes=args.codes,
            progress=not args.quiet,
            output_format=args.format,
        )
    except ConnectionError as exc:
        where = f"--address {args.address}" if args.address else "the local Ray cluster"
        hint = (
            "start one with `ray start --head`, or leave out --address to start a local one"
            if args.address
            else "check that Ray can start here"
        )
        exit_error(prog, f"no Ray cluster could be reached at {where}: {hint} ({_one_line(exc)[:200]})")
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        exit_error(prog, exc)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

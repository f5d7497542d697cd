"""The one output schema of every prediction writer (command line, Ray, ``datasets``) and the row writers.

>>> list(prediction_schema(["rally", "none"]))
['label', 'score', 'labels', 'prob_rally', 'prob_none', 'error']
>>> list(prediction_schema(["rally", "none"], codes=True))[-3:]
['acled', 'cameo', 'plover']

A prediction row is flat: ``label``, ``score``, ``labels`` (a list), one ``prob_<label>`` column per label,
``error`` (why a row could not be classified, else empty) and, with codes, ``acled``, ``cameo`` and ``plover``
(lists of strings such as ``"Battles: Government regains territory"``, ``"192"``, ``"COERCE: confiscate"``).
JSON Lines and Parquet keep lists as lists; CSV joins them with ``;``. Every writer writes the full header (or
schema) even when no row is written.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from model.documents import Sentence

__all__ = [
    "ARTICLE_COLUMNS",
    "CODE_COLUMNS",
    "ERROR_COLUMN",
    "FORMATS",
    "LIST_SEPARATOR",
    "RowWriter",
    "arrow_types",
    "article_row",
    "error_row",
    "flat_codes",
    "format_table",
    "open_writer",
    "output_format",
    "prediction_columns",
    "prediction_row",
    "prediction_schema",
    "sentence_row",
    "text_error",
]

ERROR_COLUMN = "error"
LIST_SEPARATOR = ";"  # how CSV writes list columns (labels, codes), in every writer
CODE_COLUMNS = ("acled", "cameo", "plover")
# The columns that place a sentence in its article, in output order (before the prediction columns).
ARTICLE_COLUMNS = {"document": "string", "sentence_index": "int", "start": "int", "end": "int", "sentence": "string"}
FORMATS = ("table", "jsonl", "csv", "parquet")
_SUFFIXES = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}


def prediction_schema(labels: Sequence[str], prefix: str = "", *, codes: bool = False) -> dict[str, str]:
    """Name and kind (``string``, ``float``, ``int`` or ``strings``) of every prediction column, in output order:
    the one definition the command-line writers, the Ray output, the ``datasets`` features and the column-clash
    checks are derived from."""
    kinds = {"label": "string", "score": "float", "labels": "strings"}
    kinds |= {f"prob_{name}": "float" for name in labels}
    kinds[ERROR_COLUMN] = "string"
    if codes:
        kinds |= {name: "strings" for name in CODE_COLUMNS}
    return {prefix + name: kind for name, kind in kinds.items()}


def sentence_row(sentence: Sentence | None, **fields: Any) -> dict[str, Any]:
    """The row of one sentence of an article: ``sentence``, ``start`` and ``end`` (offsets into the article, from
    a :class:`~model.documents.Sentence`; all ``None`` for ``None``), then ``fields`` (prediction or error)."""
    if sentence is None:
        return {"sentence": None, "start": None, "end": None, **fields}
    return {"sentence": sentence.text, "start": sentence.start, "end": sentence.end, **fields}


def article_row(document: str, index: int | None, sentence: Sentence | None, **fields: Any) -> dict[str, Any]:
    """:func:`sentence_row` with the ``document`` and ``sentence_index`` in front: the one builder of the
    per-sentence rows of articles (``extract_events``, ``stream_events``, ``cec-extract``, the Ray path)."""
    return {"document": document, "sentence_index": index, **sentence_row(sentence, **fields)}


def text_error(text: Any) -> str | None:
    """Why ``text`` cannot be classified (``missing text``, ``empty text``, ...), or ``None`` if it can."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return "missing text"
    if not isinstance(text, str):
        return f"text is {type(text).__name__}, not a string"
    if not text.strip():
        return "empty text"
    if any("\udc80" <= ch <= "\udcff" for ch in text):  # bytes kept by errors="surrogateescape"
        return "not valid UTF-8"
    return None


def flat_codes(codes: dict[str, Any] | None) -> dict[str, list[str]]:
    """``Prediction.codes`` (label -> scheme -> entries) as three flat lists of strings."""
    out: dict[str, list[str]] = {name: [] for name in CODE_COLUMNS}
    for entry in (codes or {}).values():
        out["acled"] += [f"{x['event_type']}: {x['sub_event_type']}" for x in entry.get("acled", [])]
        out["cameo"] += [str(x["code"]) for x in entry.get("cameo", [])]
        out["plover"] += [f"{x['event_type']}: {x['mode']}" for x in entry.get("plover", [])]
    return out


def prediction_row(prediction: Any, *, codes: bool = False, prefix: str = "") -> dict[str, Any]:
    """The flat prediction columns of one :class:`~model.classifier.Prediction` (``error`` empty)."""
    row: dict[str, Any] = {"label": prediction.label, "score": prediction.score, "labels": list(prediction.labels)}
    row |= {f"prob_{name}": p for name, p in prediction.probabilities.items()}
    row[ERROR_COLUMN] = None
    if codes:
        row |= flat_codes(prediction.codes)
    return {prefix + k: v for k, v in row.items()}


def error_row(labels: Sequence[str], message: str, *, codes: bool = False, prefix: str = "") -> dict[str, Any]:
    """Empty prediction columns with ``error`` set to ``message``."""
    row: dict[str, Any] = dict.fromkeys(prediction_schema(labels, prefix, codes=codes))
    row[prefix + ERROR_COLUMN] = message
    return row


def prediction_columns(
    classifier: Any, texts: Sequence[Any], *, prefix: str = "", codes: bool = False
) -> dict[str, list[Any]]:
    """Classify ``texts`` and return plain columns: ``label``, ``score``, ``labels`` (list), one
    ``prob_<label>`` column per label, ``error`` and, with ``codes``, ``acled``/``cameo``/``plover`` (the columns
    of :func:`model.output.prediction_schema`).

    Texts that are not non-empty strings are not sent to the model: their row gets ``error`` set and ``None``
    predictions, so one bad row never fails a batch.
    """
    n = len(texts)
    errors: list[str | None] = [text_error(text) for text in texts]
    good = [i for i, error in enumerate(errors) if error is None]
    cols: dict[str, list[Any]] = {
        name: [None] * n for name in prediction_schema(classifier.labels, prefix, codes=codes)
    }
    if good:
        predictions = classifier.predict([texts[i] for i in good], progress=False, with_codes=codes)
        for i, prediction in zip(good, predictions):
            for name, value in prediction_row(prediction, codes=codes, prefix=prefix).items():
                cols[name][i] = value
    cols[f"{prefix}{ERROR_COLUMN}"] = errors
    return cols


# ------------------------------------------------------------------ writers
def arrow_types() -> dict[str, Any]:
    """The Arrow type of each column kind of :func:`prediction_schema` (needs ``pyarrow``: the ``ray`` extra)."""
    import pyarrow as pa

    return {"string": pa.string(), "float": pa.float64(), "int": pa.int64(), "strings": pa.list_(pa.string())}


class RowWriter:
    """Writes rows of a fixed set of columns; :meth:`close` completes the file (header even with no rows)."""

    def __init__(self, columns: dict[str, str], out: IO[str] | None) -> None:
        self.columns = columns
        self.out = out
        self.rows = 0

    def write(self, row: dict[str, Any]) -> None:
        self.rows += 1
        self._write({name: row.get(name) for name in self.columns})

    def _write(self, row: dict[str, Any]) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def flush(self) -> None:
        if self.out is not None:
            self.out.flush()

    def close(self) -> None:
        if self.out is not None and self.out not in (sys.stdout, sys.stderr):
            self.out.close()
        elif self.out is not None:
            self.out.flush()


class _JsonlWriter(RowWriter):
    def _write(self, row: dict[str, Any]) -> None:
        self.out.write(json.dumps(row, ensure_ascii=False) + "\n")


class _CsvWriter(RowWriter):
    def __init__(self, columns: dict[str, str], out: IO[str]) -> None:
        super().__init__(columns, out)
        self._csv = csv.writer(out)
        self._csv.writerow(list(columns))

    def _write(self, row: dict[str, Any]) -> None:
        self._csv.writerow([_csv_value(row[name], self.columns[name]) for name in self.columns])


def _csv_value(value: Any, kind: str) -> Any:
    if value is None:
        return ""
    if kind == "strings":
        return LIST_SEPARATOR.join(map(str, value))
    if kind == "float":
        return round(value, 6)
    return value


def format_table(rows: Sequence[dict[str, Any]], *, width: int = 88) -> str:
    """The rows (with ``sentence``, ``label`` and ``score``) as the plain-text table of ``--format table``."""
    buffer = io.StringIO()
    writer = _TableWriter({}, buffer, "sentence", width)
    for row in rows:
        writer.write(row)
    return buffer.getvalue().removesuffix("\n")


class _TableWriter(RowWriter):
    """A plain-text table for the terminal: number, text (wrapped), label, confidence."""

    def __init__(self, columns: dict[str, str], out: IO[str], text_column: str, width: int = 88) -> None:
        super().__init__(columns, out)
        self.text_column = text_column
        self.width = width
        header = f"{'#':>3}  {'sentence':<{width}}  {'label':<16}  {'conf':>5}"
        out.write(header + "\n" + "-" * len(header) + "\n")

    def write(self, row: dict[str, Any]) -> None:
        self.rows += 1
        text = row.get(self.text_column)
        wrapped = textwrap.wrap(text if isinstance(text, str) else "", self.width) or [""]
        if row.get(ERROR_COLUMN):
            label, conf = "error", ""
            wrapped += [f"({row[ERROR_COLUMN]})"]
        else:
            label, conf = row["label"], f"{row['score']:>5.2f}"
        self.out.write(f"{self.rows:>3}  {wrapped[0]:<{self.width}}  {label:<16}  {conf:>5}\n")
        for part in wrapped[1:]:
            self.out.write(f"{'':>3}  {part}\n")


class _ParquetWriter(RowWriter):
    """Buffers rows and writes them as Parquet row groups (needs ``pyarrow``: the ``ray`` extra)."""

    def __init__(self, columns: dict[str, str], path: str, batch_rows: int = 4096) -> None:
        super().__init__(columns, None)
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = arrow_types()
        self._pa = pa
        self._schema = pa.schema([(name, types[kind]) for name, kind in columns.items()])
        self._writer = pq.ParquetWriter(path, self._schema)
        self._buffer: list[dict[str, Any]] = []
        self._batch_rows = batch_rows

    def _write(self, row: dict[str, Any]) -> None:
        for name, kind in self.columns.items():  # e.g. numeric ids of a JSONL file in a string column
            if kind == "string" and row[name] is not None and not isinstance(row[name], str):
                row[name] = str(row[name])
        self._buffer.append(row)
        if len(self._buffer) >= self._batch_rows:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            self._writer.write_table(self._pa.Table.from_pylist(self._buffer, schema=self._schema))
            self._buffer.clear()

    def close(self) -> None:
        self.flush()
        self._writer.close()


def output_format(fmt: str | None, path: str | None, default: str) -> str:
    """The format asked for, else the one the output file's extension names, else ``default``."""
    if fmt:
        return fmt
    if path:
        return _SUFFIXES.get(Path(path).suffix.lower(), default if default != "table" else "jsonl")
    return default


def open_writer(
    columns: dict[str, str], fmt: str, path: str | None = None, *, text_column: str = "sentence"
) -> RowWriter:
    """A writer of ``fmt`` (``table``, ``jsonl``, ``csv`` or ``parquet``) to ``path`` (default: standard output).

    Raises ``ValueError`` for Parquet to standard output or without ``pyarrow``; ``OSError`` if ``path`` cannot be
    written. The header (CSV, table) is written at once, so a run that writes no row still gives every column.
    """
    if fmt == "parquet":
        if not path:
            raise ValueError("Parquet output needs a file: -o FILE.parquet")
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ValueError(
                "Parquet output needs pyarrow: pip install 'conflict-event-classifier[ray]' (or pyarrow)"
            ) from None
        return _ParquetWriter(columns, path)
    out = open(path, "w", encoding="utf-8", newline="") if path else sys.stdout
    if fmt == "csv":
        return _CsvWriter(columns, out)
    if fmt == "table":
        return _TableWriter(columns, out, text_column)
    if fmt == "jsonl":
        return _JsonlWriter(columns, out)
    raise ValueError(f"unknown output format {fmt!r}; use one of {FORMATS}")

"""Batch inference at scale: Ray Data over folders of files, and prediction columns for Hugging Face datasets.

Ray is an optional extra (``pip install .[ray]``); this module imports it only inside :func:`predict_many`.

>>> predict_many("archive/", "predictions/", checkpoint="checkpoints/default")  # doctest: +SKIP
{'rows': 1000000, 'errors': 12, ...}

Each Ray actor loads the checkpoint once (PyTorch or ONNX backend, as its ``inference`` config says) and
classifies whole batches; Ray restarts an actor that dies and retries its batch, so every input row appears
exactly once in the output (Parquet, JSON Lines or CSV: the columns of :func:`model.output.prediction_schema`
in every format, lists joined with ``;`` in CSV). A row whose text cannot be classified (missing, empty, not a
string, an unreadable article) gets a message in the ``error`` column and empty prediction columns; the job goes
on.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from model.output import (
    ARTICLE_COLUMNS,
    ERROR_COLUMN,
    LIST_SEPARATOR,
    arrow_types,
    article_row,
    prediction_columns,
    prediction_schema,
)

__all__ = [
    "BatchPredictor",
    "ERROR_COLUMN",
    "add_predictions",
    "article_sentences",
    "check_input_files",
    "init_ray",
    "input_files",
    "predict_many",
    "prediction_columns",
    "prediction_schema",
]

TABULAR_FORMATS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
OUTPUT_FORMATS = ("parquet", "jsonl", "csv")
ARTICLE_SUFFIXES = (".txt",)


# ------------------------------------------------------------------ prediction columns (shared by every path)
def add_predictions(
    dataset: Any,
    model: Any = None,
    *,
    text_column: str = "text",
    batch_size: int = 256,
    prefix: str = "",
    codes: bool = False,
    **map_kwargs: Any,
) -> Any:
    """Add prediction columns to a Hugging Face ``datasets.Dataset`` with ``Dataset.map(batched=True)``.

    >>> ds = datasets.load_dataset("json", data_files="news.jsonl")["train"]  # doctest: +SKIP
    >>> ds = add_predictions(ds, "checkpoints/default")                          # doctest: +SKIP
    >>> ds[0]["label"], ds[0]["prob_airstrike"]                                  # doctest: +SKIP

    Columns are those of :func:`prediction_columns` (``prefix`` avoids clashing with an existing ``label``
    column; ``codes=True`` adds the ACLED/CAMEO/PLOVER columns). ``map_kwargs`` go to ``Dataset.map`` (e.g. ``desc``); the model is loaded once, in this process.
    """
    from model.inference import load

    if text_column not in dataset.column_names:
        raise KeyError(f"text column {text_column!r} not in the dataset (columns: {dataset.column_names})")
    classifier = load(model)
    schema = prediction_schema(classifier.labels, prefix, codes=codes)
    clashes = [c for c in schema if c in dataset.column_names]
    if clashes:
        raise ValueError(f"the dataset already has columns {clashes}; pass prefix='pred_' to keep both")
    import datasets

    string = datasets.Value("string")
    hf_types = {"string": string, "float": datasets.Value("float64"), "strings": datasets.Sequence(string)}
    features = dataset.features.copy()
    for name, kind in schema.items():
        features[name] = hf_types[kind]
    map_kwargs.setdefault("desc", "classifying")
    map_kwargs.setdefault("features", features)
    return dataset.map(
        lambda batch: prediction_columns(classifier, batch[text_column], prefix=prefix, codes=codes),
        batched=True,
        batch_size=batch_size,
        **map_kwargs,
    )


# ------------------------------------------------------------------ Ray actor
class BatchPredictor:
    """A Ray Data actor: loads the checkpoint once, then classifies pandas batches.

    ``overrides`` are inference settings (``["inference.backend=onnx"]``); ``num_threads`` caps the intra-op
    threads of this actor so that several actors share a machine without oversubscription.
    """

    def __init__(
        self,
        checkpoint: str,
        text_column: str = "text",
        overrides: Sequence[str] = (),
        num_threads: int = 1,
        prefix: str = "",
        codes: bool = False,
    ) -> None:
        from model.classifier import EventClassifier

        overrides = [*overrides, f"inference.num_threads={num_threads}", "inference.progress_min_items=1000000000"]
        self.classifier = EventClassifier.from_pretrained(checkpoint, overrides=overrides)
        self.text_column = text_column
        self.prefix = prefix
        self.codes = codes

    def __call__(self, batch: pd.DataFrame) -> pa.Table:
        texts = batch[self.text_column].tolist() if self.text_column in batch else [None] * len(batch)
        cols = prediction_columns(self.classifier, texts, prefix=self.prefix, codes=self.codes)
        error = self.prefix + ERROR_COLUMN
        if ERROR_COLUMN in batch:  # an earlier stage (reading an article) already failed this row: keep its message
            cols[error] = [old if isinstance(old, str) else new for old, new in zip(batch[ERROR_COLUMN], cols[error])]
        table = pa.Table.from_pandas(batch.drop(columns=[c for c in cols if c in batch]), preserve_index=False)
        # Explicit types: a batch whose values are all missing must still write the same Parquet schema.
        types = arrow_types()
        for name, kind in prediction_schema(self.classifier.labels, self.prefix, codes=self.codes).items():
            table = table.append_column(name, pa.array(cols[name], type=types[kind]))
        for name, kind in ARTICLE_COLUMNS.items():
            if name in table.column_names:
                table = table.set_column(table.column_names.index(name), name, table[name].cast(types[kind]))
        return table


# ------------------------------------------------------------------ inputs
def input_files(source: str | os.PathLike[str]) -> tuple[str, list[str]]:
    """The files of ``source`` (a file or a folder, searched recursively) and their kind: ``json``, ``csv``,
    ``parquet`` or ``articles`` (``*.txt``, one article per file). A folder must hold one kind only."""
    path = Path(source)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
    else:
        raise FileNotFoundError(f"{path}: no such file or folder")
    kinds: dict[str, list[str]] = {}
    for f in files:
        suffix = f.suffix.lower()
        kind = TABULAR_FORMATS.get(suffix) or ("articles" if suffix in ARTICLE_SUFFIXES else None)
        if kind is None:
            continue
        kinds.setdefault(kind, []).append(str(f.resolve()))
    if not kinds:
        raise ValueError(f"{path}: no .jsonl, .csv, .parquet or .txt files found")
    if len(kinds) > 1:
        summary = ", ".join(f"{len(v)} {k}" for k, v in sorted(kinds.items()))
        raise ValueError(f"{path}: mixes input kinds ({summary}); put one kind of file per folder")
    (kind, paths), = kinds.items()
    return kind, paths


def check_input_files(kind: str, paths: Sequence[str]) -> None:
    """Check tabular input before Ray reads it, so a broken file is reported by name and line (Ray's own error is
    a long trace without either): every JSONL line must be a JSON object in UTF-8; every Parquet file must have a
    readable footer. CSV files are left to the reader. Raises ``ValueError``."""
    if kind == "json":
        from model.jsonl import iter_objects

        for path in paths:
            for _ in iter_objects(path):  # raises at the first line that is not a JSON object
                pass
    elif kind == "parquet":
        import pyarrow.parquet as pq

        for path in paths:
            try:
                pq.ParquetFile(path).close()
            except (OSError, pa.ArrowException) as exc:
                raise ValueError(f"{path}: not a readable Parquet file ({exc})") from None


def article_sentences(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Split one article file (a row of ``read_binary_files(include_paths=True)``) into sentence rows:
    ``document``, ``sentence_index``, ``start``, ``end``, ``sentence`` and ``error``. An unreadable or empty
    article gives one row with ``error`` set, so no document disappears from the output."""
    from model.documents import split_sentences

    document = str(row["path"])
    try:
        text = bytes(row["bytes"]).decode("utf-8")
    except UnicodeDecodeError as exc:
        return [article_row(document, -1, None, error=f"not valid UTF-8 ({exc.reason} at byte {exc.start})")]
    sentences = split_sentences(text)
    if not sentences:
        return [article_row(document, -1, None, error="empty document")]
    return [article_row(document, i, s, error=None) for i, s in enumerate(sentences)]


# ------------------------------------------------------------------ the job
def init_ray(address: str | None = None, *, num_cpus: int | None = None, **kwargs: Any) -> None:
    """Start a local Ray cluster (``address=None``) or connect to one (``"auto"``, ``"ray://host:10001"``).

    A local cluster gets one logical CPU more than the machine's cores (``num_cpus``, default all): the model
    actors take one slot per core and the light read/write tasks use the extra slot. Workers get this project
    on their ``PYTHONPATH``, so a checkout that is not pip-installed works too.
    """
    import ray

    if address is None:
        kwargs["num_cpus"] = (num_cpus or os.cpu_count() or 1) + 1

    project_root = str(Path(__file__).resolve().parents[1])
    pythonpath = os.pathsep.join(p for p in (project_root, os.environ.get("PYTHONPATH", "")) if p)
    ray.init(
        address=address,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": pythonpath, "TOKENIZERS_PARALLELISM": "false"}},
        **kwargs,
    )


def predict_many(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    checkpoint: str | os.PathLike[str],
    text_column: str = "text",
    id_column: str = "id",
    overrides: Sequence[str] = (),
    address: str | None = None,
    actors: int | None = None,
    threads_per_actor: int = 1,
    batch_size: int = 256,
    predictor: type = BatchPredictor,
    max_rows_per_file: int | None = None,
    prefix: str = "",
    codes: bool = False,
    progress: bool = True,
    output_format: str = "parquet",
) -> dict[str, Any]:
    """Classify every row (or every sentence of every article) under ``source`` with Ray Data and write
    files of ``output_format`` (``parquet``, ``jsonl`` or ``csv``) into the empty or new folder ``output``.

    Tabular input (JSONL, CSV, Parquet) must have ``id_column`` and ``text_column``; the output keeps every
    input column and adds the prediction columns (named with ``prefix``; an input column of the same name is an
    error, never overwritten; ``codes=True`` adds the ACLED/CAMEO/PLOVER columns). Article input (``*.txt``) gives one row per sentence with the
    document path, sentence index and character offsets. Ray starts a local cluster unless ``address`` names
    an existing one (``"auto"`` or ``"ray://host:10001"``); ``progress=False`` silences its progress bars and
    logs. Returns a summary (rows, errors, seconds, rows/s).
    """
    import ray

    from model.classifier import EventClassifier

    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f"output format {output_format!r}: choose one of {', '.join(OUTPUT_FORMATS)}")
    checkpoint = str(Path(checkpoint).resolve())
    labels = EventClassifier.from_pretrained(checkpoint, overrides=list(overrides)).labels  # fail fast, before Ray
    kind, paths = input_files(source)
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out}: is a file, not a folder; give a new folder for the output files")
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out}: output folder is not empty; choose a new folder")
    check_input_files(kind, paths)

    started_here = not ray.is_initialized()
    if started_here:
        init_ray(address, **({} if progress else {"logging_level": logging.ERROR}))
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = progress
        # One logical CPU stays free for the light listing, reading and writing tasks that feed the actors:
        # if the actors held every CPU slot, those tasks could never be scheduled and the pipeline would stall.
        cpus = int(ray.cluster_resources().get("CPU", 1))
        n_actors = actors or max(1, (cpus - 1) // threads_per_actor)
        t0 = time.perf_counter()
        if kind == "articles":
            ds = ray.data.read_binary_files(paths, include_paths=True).flat_map(article_sentences)
            column = "sentence"
        else:
            reader = {"json": ray.data.read_json, "csv": ray.data.read_csv, "parquet": ray.data.read_parquet}[kind]
            ds = reader(paths)
            schema = ds.schema().names
            missing = [c for c in (id_column, text_column) if c not in schema]
            if missing:
                raise ValueError(
                    f"{source}: column(s) {missing} not found (columns: {schema}); set --id-column/--text-column"
                )
            clashes = [c for c in schema if c in prediction_schema(labels, prefix, codes=codes)]
            if clashes:
                raise ValueError(
                    f"{source}: input columns {clashes} would be overwritten by predictions; pass a prefix "
                    "(--prefix pred_)"
                )
            column = text_column
        ds = ds.map_batches(
            predictor,
            fn_constructor_kwargs={
                "checkpoint": checkpoint,
                "text_column": column,
                "overrides": list(overrides),
                "num_threads": threads_per_actor,
                "prefix": prefix,
                "codes": codes,
            },
            batch_format="pandas",
            batch_size=batch_size,
            compute=ray.data.ActorPoolStrategy(size=n_actors),
            num_cpus=threads_per_actor,
        )
        _write(ds, out, output_format, max_rows_per_file)
        seconds = time.perf_counter() - t0
    finally:
        if started_here:
            ray.shutdown()
    rows, errors = _count_rows(out, output_format, prefix + ERROR_COLUMN)
    return {
        "input_kind": kind,
        "files": len(paths),
        "output_format": output_format,
        "rows": rows,
        "errors": errors,
        "actors": n_actors,
        "threads_per_actor": threads_per_actor,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds, 1) if seconds else float("nan"),
        "output": str(out),
    }


# ------------------------------------------------------------------ outputs
def _filename_provider(suffix: str) -> Any:
    """Ray's default file names with our suffix (``.jsonl`` rather than Ray's ``.json``)."""
    from ray.data.datasource import FilenameProvider

    class Names(FilenameProvider):
        def get_filename_for_task(self, write_uuid: str, task_index: int) -> str:
            return f"{write_uuid}_{task_index:06}.{suffix}"

        def get_filename_for_block(self, block: Any, write_uuid: str, task_index: int, block_index: int) -> str:
            return f"{write_uuid}_{task_index:06}_{block_index:06}.{suffix}"

    return Names()


def flatten_lists(table: pa.Table) -> pa.Table:
    """List columns (``labels``, the code columns, list-valued input columns) as ``;``-joined strings: the CSV
    form of every writer (:mod:`model.output`)."""
    import pyarrow.compute as pc

    for i, field in enumerate(table.schema):
        if pa.types.is_list(field.type) or pa.types.is_large_list(field.type):
            column = pc.binary_join(pc.cast(table[field.name], pa.list_(pa.string())), LIST_SEPARATOR)
            table = table.set_column(i, field.name, column)
    return table


def _write(ds: Any, out: Path, output_format: str, max_rows_per_file: int | None) -> None:
    if output_format == "parquet":
        ds.write_parquet(str(out), max_rows_per_file=max_rows_per_file)
    elif output_format == "jsonl":
        ds.write_json(str(out), filename_provider=_filename_provider("jsonl"), force_ascii=False)
    else:
        ds = ds.map_batches(flatten_lists, batch_format="pyarrow")
        ds.write_csv(str(out), filename_provider=_filename_provider("csv"))


def _count_rows(out: Path, output_format: str, error_column: str) -> tuple[int, int]:
    """Rows written under ``out`` and how many of them carry an error (read back from the files)."""
    if output_format == "parquet":
        table = pd.read_parquet(out, columns=[error_column])
        return len(table), int(table[error_column].notna().sum())
    rows = errors = 0
    for path in sorted(out.glob(f"*.{output_format}")):
        if output_format == "csv":
            column = pd.read_csv(path, usecols=[error_column], dtype=str, keep_default_na=False)[error_column]
            rows, errors = rows + len(column), errors + int((column != "").sum())
        else:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        rows += 1
                        errors += json.loads(line).get(error_column) is not None
    return rows, errors

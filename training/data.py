"""Load and validate labelled data (CSV or JSONL) with Hugging Face ``datasets``.

Every problem is reported before training starts, with the file, the row numbers and what is wrong. Rows are
never dropped silently: filtered rows are counted in a :class:`DataReport` and a warning, and ``data.strict``
turns any filtering into an error.

>>> ds, report = load_labelled_file("seeds/train.jsonl", load_config())  # doctest: +SKIP
>>> ds.column_names
['text', 'label', 'row']
"""

from __future__ import annotations

import collections
import csv
import io
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from model.config import Config
from model.documents import normalize_text
from model.jsonl import parse_line
from model.offline import enable_offline_mode

enable_offline_mode()

import datasets  # noqa: E402

__all__ = ["DataError", "DataReport", "load_labelled_file", "load_splits"]

_FORMATS = {".csv": "csv", ".jsonl": "json", ".json": "json"}
_MAX_LISTED = 8
_DELIMITER_NAMES = {";": "semicolon", "\t": "tab", "|": "pipe"}


class DataError(ValueError):
    """The training data is unusable; the message names the file, the rows and the problem."""


@dataclass
class DataReport:
    """What happened to the rows of one file."""

    path: str
    rows_read: int = 0
    rows_kept: int = 0
    dropped: dict[str, list[int]] = field(default_factory=dict)
    label_counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{self.path}: {self.rows_kept}/{self.rows_read} rows kept"]
        for reason, rows in self.dropped.items():
            parts.append(f"{len(rows)} dropped ({reason}: rows {_row_list(rows)})")
        return "; ".join(parts)


def _row_list(rows: list[int]) -> str:
    shown = ", ".join(map(str, rows[:_MAX_LISTED]))
    return shown + (f", … ({len(rows) - _MAX_LISTED} more)" if len(rows) > _MAX_LISTED else "")


def _read(path: Path) -> tuple[datasets.Dataset, list[int]]:
    """Read a file into a Dataset; return it and, for each of its rows, the row number users see (JSONL: the line
    number; CSV: the record number counting the header as row 1; blank lines are skipped but counted)."""
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a data file; give a .csv or .jsonl file")
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"{path}: unsupported extension '{path.suffix}'; use .csv or .jsonl")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}: not valid UTF-8 (line {line}, byte {exc.start}); re-save the file as UTF-8") from None
    del raw
    text = text.removeprefix("\ufeff")  # a byte-order mark (Excel writes one) is not part of the first column name
    kwargs: dict = {}
    if fmt == "csv":  # read every column as text: labels such as "1" or "NA" must not become numbers or NaN
        rows = csv.reader(io.StringIO(text, newline=""))
        header = next(rows, [])
        if len(set(header)) != len(header):
            raise DataError(f"{path}: duplicate column names in the header {header}")
        numbers, record = [], 1
        try:
            for row in rows:
                record += 1
                if row:  # an empty line is no record for the CSV reader, but users count it
                    numbers.append(record)
        except csv.Error as exc:
            raise DataError(f"{path}: could not be parsed as CSV: row {record + 1}: {exc}") from None
        if not numbers:
            raise DataError(f"{path}: has a header ({', '.join(header)}) but no data rows")
        kwargs = {
            "keep_default_na": False,
            "encoding": "utf-8-sig",
            "features": datasets.Features({name: datasets.Value("string") for name in header}),
        }
    else:
        numbers = _check_json_lines(path, text)
    del text
    try:
        ds = datasets.load_dataset(fmt, data_files=str(path), split="train", **kwargs)
    except Exception as exc:  # datasets wraps parser errors in several types
        cause = exc.__cause__ or exc
        raise DataError(f"{path}: could not be parsed as {path.suffix[1:].upper()}: {cause}") from None
    if len(numbers) != len(ds):  # the parsers disagree on what a row is: fall back to counting rows
        numbers = [i + (2 if fmt == "csv" else 1) for i in range(len(ds))]
    return ds, numbers


def _check_json_lines(path: Path, text: str) -> list[int]:
    """Every non-blank line must be one JSON object; errors give the 1-based line number. Returns the line
    number of each object."""
    numbers = []
    for number, line in enumerate(text.split("\n"), 1):  # not splitlines(): U+2028 may stand inside a JSON string
        if not line.strip():
            continue
        problem = parse_line(line, number).problem
        if problem is not None and problem.column is not None:  # JSON syntax
            raise DataError(
                f"{path}: could not be parsed as JSONL: {problem.place()}: {problem.detail}; "
                "each line must be one JSON object"
            )
        if problem is not None:  # JSON, but not an object
            raise DataError(
                f"{path}: could not be parsed as JSONL: {problem.place()} is {problem.reason}; "
                'each line must be one JSON object such as {"text": ..., "label": ...}'
            )
        numbers.append(number)
    if not numbers:
        raise DataError(f"{path}: has no JSON lines (only blank lines)")
    return numbers


def load_labelled_file(
    path: str | Path, config: Config, *, require_labels: bool = True
) -> tuple[datasets.Dataset, DataReport]:
    """Load one labelled file into a Dataset with columns ``text``, ``label`` (label id) and ``row``.

    Errors (raise :class:`DataError`): missing file, bad extension, empty file, non-UTF-8 bytes, missing
    columns, labels outside ``model.labels``, non-text labels, duplicate texts with conflicting labels.
    Filtered (reported; an error in strict mode): empty texts, exact duplicate rows.
    """
    path = Path(path)
    ds, numbers = _read(path)
    text_col, label_col = config.data.text_column, config.data.label_column
    missing = [c for c in (text_col, label_col) if c not in ds.column_names]
    if missing:
        hint = "set data.text_column / data.label_column to use other names"
        if len(ds.column_names) == 1:
            delimiter = next((d for d in (";", "\t", "|") if d in ds.column_names[0]), None)
            if delimiter:
                hint = (
                    f"the header looks {_DELIMITER_NAMES[delimiter]}-separated; columns must be separated by "
                    "commas (re-save the file as comma-separated CSV, or as JSONL)"
                )
        raise DataError(f"{path}: missing column(s) {missing}; found {ds.column_names} ({hint})")
    if len(ds) == 0:
        raise DataError(f"{path}: no rows")
    texts = ds[text_col]
    raw_labels = ds[label_col]
    allowed = config.label2id
    report = DataReport(path=str(path), rows_read=len(ds))

    bad_labels: dict[str, list[int]] = collections.defaultdict(list)
    for i, label in enumerate(raw_labels):
        if not isinstance(label, str):
            bad_labels[f"{label!r} (not a label name)"].append(numbers[i])
        elif label.strip() not in allowed:
            hint = " (not a label name)" if label.strip().lstrip("-").isdigit() else ""
            bad_labels[repr(label) + hint].append(numbers[i])
    if bad_labels:
        details = "; ".join(f"{lab} at rows {_row_list(rows)}" for lab, rows in bad_labels.items())
        raise DataError(f"{path}: unknown labels {details}. Allowed labels: {list(allowed)}")
    non_text = [numbers[i] for i, t in enumerate(texts) if t is not None and not isinstance(t, str)]
    if non_text:
        raise DataError(f"{path}: column '{text_col}' holds non-text values at rows {_row_list(non_text)}")

    first_seen: dict[str, tuple[int, str]] = {}
    conflicts: list[str] = []
    keep: list[int] = []
    empty: list[int] = []
    duplicate: list[int] = []
    for i, (text, label) in enumerate(zip(texts, raw_labels)):
        label = label.strip()
        if text is None or not text.strip():
            empty.append(numbers[i])
            continue
        key = normalize_text(text, lowercase=True)
        if key in first_seen:
            row, other = first_seen[key]
            if other != label:
                conflicts.append(f"rows {row} and {numbers[i]} ({other!r} vs {label!r})")
            else:
                duplicate.append(numbers[i])
            continue
        first_seen[key] = (numbers[i], label)
        keep.append(i)
    if conflicts:
        raise DataError(
            f"{path}: the same text has conflicting labels at {'; '.join(conflicts[:_MAX_LISTED])}"
            + (f" and {len(conflicts) - _MAX_LISTED} more" if len(conflicts) > _MAX_LISTED else "")
        )
    for reason, rows in (("empty text", empty), ("exact duplicate of an earlier row", duplicate)):
        if rows:
            report.dropped[reason] = rows
    if report.dropped:
        if config.data.strict:
            raise DataError(f"data.strict is on and rows would be dropped: {report.summary()}")
        warnings.warn(report.summary(), stacklevel=2)
    if not keep and require_labels:
        raise DataError(f"{path}: no usable rows left ({report.summary()})")

    label_ids = [allowed[raw_labels[i].strip()] for i in keep]
    label_sets = _label_sets(ds, keep, label_ids, config, path, numbers)
    out = datasets.Dataset.from_dict(
        {
            "text": [texts[i] for i in keep],
            "label": label_ids,
            "label_set": label_sets,
            "row": [numbers[i] for i in keep],
        },
        features=datasets.Features(
            {
                "text": datasets.Value("string"),
                "label": datasets.ClassLabel(names=list(config.model.labels)),
                "label_set": datasets.Sequence(datasets.Value("int64")),
                "row": datasets.Value("int64"),
            }
        ),
    )
    report.rows_kept = len(out)
    counts = collections.Counter(out["label"])
    report.label_counts = {name: counts.get(i, 0) for i, name in enumerate(config.model.labels)}
    return out, report


def _label_sets(
    ds: datasets.Dataset, keep: list[int], label_ids: list[int], config: Config, path: Path, numbers: list[int]
) -> list[list[int]]:
    """Every label of each kept row (main label first), from ``data.labels_column`` when the file has it.

    A list (JSONL) or names joined by ``;`` (CSV) are accepted; the none label never mixes with event labels."""
    column = config.data.labels_column
    allowed = config.label2id
    none = allowed[config.model.none_label]
    if column not in ds.column_names:
        return [[i] for i in label_ids]
    values = ds[column]
    out, bad = [], []
    for i, main in zip(keep, label_ids):
        raw = values[i]
        names = raw if isinstance(raw, list) else [x for x in (raw or "").split(";")]
        names = [str(x).strip() for x in names if str(x).strip()]
        unknown = [x for x in names if x not in allowed]
        if unknown:
            bad.append(f"row {numbers[i]}: {unknown}")
            continue
        ids = [main] + [allowed[x] for x in names if allowed[x] != main]
        if main != none:
            ids = [x for x in ids if x != none]
        else:
            ids = [none]
        out.append(list(dict.fromkeys(ids)))
    if bad:
        raise DataError(f"{path}: unknown labels in column '{column}': {'; '.join(bad[:_MAX_LISTED])}")
    return out


def load_splits(config: Config) -> tuple[datasets.DatasetDict, list[DataReport]]:
    """Load ``train`` and ``dev`` (and ``test`` if configured). Without a dev file, a stratified, seeded
    ``data.dev_fraction`` of the training file becomes the dev split."""
    train, train_report = load_labelled_file(config.data.train_file, config)
    reports = [train_report]
    if not config.data.dev_file and len(train) - math.ceil(len(train) * config.data.dev_fraction) < 1:
        raise DataError(
            f"{config.data.train_file}: only {len(train)} usable row(s), too few to hold out a dev split "
            f"(data.dev_fraction={config.data.dev_fraction}); add rows or give a data.dev_file"
        )
    _check_label_coverage(train, config, f"{config.data.train_file}")
    splits = {"train": train}
    if config.data.dev_file:
        splits["dev"], report = load_labelled_file(config.data.dev_file, config)
        reports.append(report)
    else:
        try:
            parts = train.train_test_split(
                test_size=config.data.dev_fraction, seed=config.training.seed, stratify_by_column="label"
            )
        except ValueError:  # a label too rare to stratify
            try:
                parts = train.train_test_split(test_size=config.data.dev_fraction, seed=config.training.seed)
            except ValueError as exc:
                raise DataError(f"{config.data.train_file}: could not hold out a dev split: {exc}") from None
        splits["train"], splits["dev"] = parts["train"], parts["test"]
        _check_label_coverage(
            splits["train"],
            config,
            f"{config.data.train_file} after holding out {config.data.dev_fraction:.0%} for dev "
            "(give a data.dev_file or more rows)",
        )
    dev_labels = _labels_present(splits["dev"], config)
    if len(dev_labels) < 2:
        warnings.warn(
            f"the dev split has only the label(s) {dev_labels}: its macro-F1 is the F1 of that one label, not a "
            "measure of the classifier, and model selection by it is unreliable; use a dev file with every label",
            stacklevel=2,
        )
    if config.data.test_file:
        splits["test"], report = load_labelled_file(config.data.test_file, config)
        reports.append(report)
    _check_overlap(splits)
    return datasets.DatasetDict(splits), reports


def _labels_present(ds: datasets.Dataset, config: Config) -> list[str]:
    """Labels that occur in ``ds``: main labels (single-label) or any label of a row's set (multi-label)."""
    ids = (
        {i for row in ds["label_set"] for i in row} if config.model.problem_type == "multi_label" else set(ds["label"])
    )
    return [name for i, name in enumerate(config.model.labels) if i in ids]


def _check_label_coverage(ds: datasets.Dataset, config: Config, where: str) -> None:
    """Refuse training data in which a configured label has no rows: the classifier could never predict it, and
    with a single label it would predict that label for everything while dev metrics looked perfect."""
    present = _labels_present(ds, config)
    missing = [name for name in config.model.labels if name not in present]
    if len(present) < 2:
        raise DataError(
            f"{where}: every training row has the label {present}; a classifier needs examples of at least two "
            f"labels (model.labels is {config.model.labels})"
        )
    if missing:
        raise DataError(
            f"{where}: no training rows for label(s) {missing} of model.labels; the model could never predict "
            "them. Add rows for them, or remove them from model.labels"
        )


def _check_overlap(splits: dict[str, datasets.Dataset]) -> None:
    """Warn when the same text appears in training and evaluation splits (metrics would be inflated)."""
    train = {normalize_text(t, lowercase=True) for t in splits["train"]["text"]}
    for name in ("dev", "test"):
        if name in splits:
            shared = sum(normalize_text(t, lowercase=True) in train for t in splits[name]["text"])
            if shared:
                warnings.warn(f"{shared} texts of the {name} split also occur in train", stacklevel=3)

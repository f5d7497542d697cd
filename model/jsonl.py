"""The one JSON Lines reader: each non-blank line one JSON object in UTF-8, problems reported by line and column.

>>> parse_line(b'{"text": "Jets struck."}', 1).value
{'text': 'Jets struck.'}
>>> parse_line(b"not json", 4).problem.short()
'not valid JSON (Expecting value, column 1)'
>>> parse_line(b"not json", 4).problem.located("a.jsonl")
'a.jsonl: line 4, column 1: not valid JSON (Expecting value)'

A line that is not UTF-8, not JSON or not an object gives a :class:`LineProblem` rather than an exception, so each
caller decides: the command line writes an error row and goes on (:meth:`LineProblem.short`), the Ray job and
the training data loader stop with the file, line and column (:meth:`LineProblem.located`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["JsonlLine", "LineProblem", "iter_jsonl", "iter_objects", "parse_line", "read_jsonl"]

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class LineProblem:
    """Why one line is not a JSON object: ``reason`` (``not valid JSON``), ``detail`` (the parser's message) and,
    for JSON syntax errors, the 1-based ``column``."""

    line: int
    reason: str
    detail: str = ""
    column: int | None = None

    def short(self) -> str:
        """The problem without its place, for a row that already carries its line number:
        ``not valid JSON (Expecting value, column 1)``."""
        inner = ", ".join(x for x in (self.detail, "" if self.column is None else f"column {self.column}") if x)
        return f"{self.reason} ({inner})" if inner else self.reason

    def place(self) -> str:
        """``line 3`` or ``line 3, column 26``."""
        return f"line {self.line}" + ("" if self.column is None else f", column {self.column}")

    def located(self, path: str | os.PathLike[str] | None = None) -> str:
        """The problem with its file (if given), line and column: ``a.jsonl: line 3, column 26: not valid JSON
        (Expecting value)``."""
        where = self.place() if path is None else f"{path}: {self.place()}"
        return f"{where}: {self.reason}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class JsonlLine:
    """One non-blank line: its 1-based number and either the object (``value``) or the ``problem``."""

    number: int
    value: dict[str, Any] | None
    problem: LineProblem | None = None


def parse_line(raw: bytes | str, number: int) -> JsonlLine:
    """Parse line ``number`` (bytes are decoded as UTF-8; a byte-order mark opening line 1 is dropped)."""
    if isinstance(raw, bytes):
        try:
            raw = (raw.removeprefix(_BOM) if number == 1 else raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            return JsonlLine(number, None, LineProblem(number, "not valid UTF-8", f"{exc.reason} at byte {exc.start}"))
    try:
        value = json.loads(raw.removeprefix("\ufeff") if number == 1 else raw)
    except json.JSONDecodeError as exc:
        return JsonlLine(number, None, LineProblem(number, "not valid JSON", exc.msg, exc.colno))
    if not isinstance(value, dict):
        return JsonlLine(number, None, LineProblem(number, f"a JSON {type(value).__name__}, not an object"))
    return JsonlLine(number, value)


def iter_jsonl(path: str | os.PathLike[str]) -> Iterator[JsonlLine]:
    """Every non-blank line of ``path``, read as bytes one line at a time (memory stays flat); blank lines are
    skipped but counted, so ``number`` is the line an editor shows."""
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            if raw.strip():
                yield parse_line(raw, number)


def iter_objects(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Every object of ``path``, one at a time; raises ``ValueError`` naming the file, line and column of the first
    bad line."""
    for line in iter_jsonl(path):
        if line.problem is not None:
            raise ValueError(f"{line.problem.located(path)}; each line must be one JSON object in UTF-8")
        yield line.value


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every object of ``path`` as a list (see :func:`iter_objects`)."""
    return list(iter_objects(path))

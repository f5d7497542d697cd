"""The one JSON Lines reader: the row message of cec-predict and the located message of the Ray job and loaders."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.jsonl import iter_jsonl, parse_line, read_jsonl


def test_problems_give_a_short_and_a_located_message():
    problem = parse_line(b'{"id": 2, "text": "Crowds', 3).problem
    assert problem.short() == "not valid JSON (Unterminated string starting at, column 19)"
    assert problem.located("a.jsonl") == "a.jsonl: line 3, column 19: not valid JSON (Unterminated string starting at)"
    assert problem.located() == "line 3, column 19: not valid JSON (Unterminated string starting at)"
    utf8 = parse_line(b'{"text": "Caf\xe9"}', 7).problem
    assert utf8.short() == "not valid UTF-8 (invalid continuation byte at byte 13)"
    assert utf8.located("b.jsonl") == "b.jsonl: line 7: not valid UTF-8 (invalid continuation byte at byte 13)"
    assert parse_line("[1, 2]", 1).problem.short() == "a JSON list, not an object"
    assert parse_line('{"a": 1}', 5).value == {"a": 1}


def test_byte_order_mark_only_on_the_first_line(tmp_path: Path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n\n\xef\xbb\xbf{"a": 2}\n{"a": 3}')
    lines = list(iter_jsonl(path))
    assert [line.number for line in lines] == [1, 3, 4]  # blank lines skipped but counted
    assert lines[0].value == {"a": 1} and lines[1].problem is not None and lines[2].value == {"a": 3}
    with pytest.raises(ValueError, match=r"bom.jsonl: line 3, column 1: not valid JSON .*one JSON object in UTF-8"):
        read_jsonl(path)


def test_read_jsonl_returns_every_object(tmp_path: Path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "A."}\n\n{"text": "B."}\r\n', encoding="utf-8")
    assert read_jsonl(path) == [{"text": "A."}, {"text": "B."}]

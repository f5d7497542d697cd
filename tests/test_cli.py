"""The prediction commands (``cec-predict``, ``cec-extract``, ``cec-evaluate``, ``cec-predict-many``) through
``main(argv)``: common options, overrides, one output schema, streaming files, and one-line errors."""

from __future__ import annotations

import csv
import io
import json
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from model import EventClassifier
from model.cli import extract_main, predict_many_main
from model.cli import main as predict_main
from model.output import CODE_COLUMNS, prediction_schema
from training.cli import evaluate_main

COMMANDS = {
    "cec-predict": predict_main,
    "cec-extract": extract_main,
    "cec-evaluate": evaluate_main,
    "cec-predict-many": predict_many_main,
}


def _run(main: Callable[[Sequence[str]], int], argv: list[str]) -> int:
    """The exit status of a command, whether it returns it or exits with it."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


@pytest.fixture(scope="module")
def clf(trained_tiny: Path) -> EventClassifier:
    return EventClassifier.from_pretrained(trained_tiny)


def _schema(clf: EventClassifier, context: list[str], *, codes: bool = False) -> list[str]:
    return context + list(prediction_schema(clf.labels, codes=codes))


# ------------------------------------------------------------------ options every command shares
@pytest.mark.parametrize("name", COMMANDS)
def test_every_prediction_command_has_the_common_options(name: str, capsys: pytest.CaptureFixture[str]):
    assert _run(COMMANDS[name], ["--version"]) == 0
    assert capsys.readouterr().out.startswith(f"{name} ")
    assert _run(COMMANDS[name], ["--help"]) == 0
    usage = capsys.readouterr().out
    for option in ("--checkpoint", "--codes", "--min-confidence", "--quiet", "--version"):
        assert option in usage, (name, option)


@pytest.mark.parametrize(
    ("name", "argv"),
    [
        ("cec-predict", ["Jets struck."]),
        ("cec-extract", ["{article}"]),
        ("cec-evaluate", ["--data", "{data}"]),
        ("cec-predict-many", ["{article}", "{out}"]),
    ],
)
def test_bad_override_and_missing_checkpoint_are_one_line_errors(
    name: str, argv: list[str], trained_tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    article = tmp_path / "a.txt"
    article.write_text("Jets struck the town.", encoding="utf-8")
    data = tmp_path / "gold.jsonl"
    data.write_text('{"text": "Jets struck.", "label": "airstrike"}\n', encoding="utf-8")
    argv = [a.format(article=article, data=data, out=tmp_path / "out") for a in argv]
    main = COMMANDS[name]

    assert _run(main, [*argv, "--checkpoint", str(trained_tiny), "inference.batchsize=4"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown key 'inference.batchsize'" in err and "batch_size" in err

    assert _run(main, [*argv, "--checkpoint", str(tmp_path / "no-such-checkpoint")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "checkpoint directory not found" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_overrides_are_settings_not_sentences(trained_tiny: Path, capsys: pytest.CaptureFixture[str]):
    argv = ["--checkpoint", str(trained_tiny), "--format", "jsonl", "Jets struck.", "inference.batch_size=1"]
    assert predict_main([*argv, "Crowds marched."]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["sentence"] for r in rows] == ["Jets struck.", "Crowds marched."]
    assert [r["line"] for r in rows] == [1, 2]

    assert predict_main([*argv, "--min-confidence", "0.99"]) == 0
    assert json.loads(capsys.readouterr().out)["label"] == "uncertain"
    assert predict_main([*argv, "inference.min_confidence=0.99"]) == 0
    assert json.loads(capsys.readouterr().out)["label"] == "uncertain"
    assert _run(predict_main, [*argv, "training.epochs=3"]) == 2
    assert "only inference settings" in capsys.readouterr().err


# ------------------------------------------------------------------ one schema, codes in every format
@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_one_schema_with_codes_in_every_format(fmt: str, trained_tiny: Path, clf: EventClassifier, tmp_path: Path):
    out = tmp_path / f"rows.{fmt}"
    argv = ["--checkpoint", str(trained_tiny), "-o", str(out), "--codes", "-q"]
    assert predict_main([*argv, "Jets struck the town.", "", "Crowds marched."]) == 0
    rows = _read(out)
    assert list(rows[0]) == _schema(clf, ["line", "sentence"], codes=True)
    expected = clf.predict(["Jets struck the town.", "Crowds marched."], with_codes=True)
    for row, prediction in zip([rows[0], rows[2]], expected):
        assert row["label"] == prediction.label and row["error"] in (None, "")
        assert row["prob_airstrike"] == pytest.approx(prediction.probabilities["airstrike"], abs=1e-5)
        cameo = [c["code"] for codes in prediction.codes.values() for c in codes["cameo"]]
        assert list(row["cameo"]) == cameo and all(row[c] is not None for c in CODE_COLUMNS)
    assert rows[1]["error"] == "empty text" and rows[1]["label"] in (None, "")


def _read(path: Path) -> list[dict]:
    """Rows of a JSONL, CSV or Parquet output, with CSV lists split on ';'."""
    if path.suffix == ".jsonl":
        return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        for name in ("labels", *CODE_COLUMNS):
            if row.get(name):
                row[name] = row[name].split(";")
        for name in row:
            if name.startswith("prob_") and row[name]:
                row[name] = float(row[name])
    return rows


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_header_is_complete_when_no_row_is_written(fmt: str, trained_tiny: Path, clf: EventClassifier, tmp_path: Path):
    source = tmp_path / "empty.csv"
    source.write_text("id,text\n", encoding="utf-8")
    out = tmp_path / f"rows.{fmt}"
    argv = ["--checkpoint", str(trained_tiny), "--input", str(source), "--id-column", "id", "-o", str(out), "-q"]
    assert predict_main([*argv, "--codes"]) == 0
    expected = _schema(clf, ["line", "id", "text"], codes=True)
    if fmt == "csv":
        assert out.read_text(encoding="utf-8").splitlines() == [",".join(expected)]
    else:
        import pyarrow.parquet as pq

        table = pq.read_table(out)
        assert table.num_rows == 0 and table.column_names == expected

    folder = tmp_path / "articles"  # cec-extract --drop-none with nothing left: every column is still there
    folder.mkdir()
    (folder / "a.txt").write_text("Jets struck the town.", encoding="utf-8")
    csv_out = tmp_path / "events.csv"
    assert extract_main([str(folder), "--checkpoint", str(trained_tiny), "-o", str(csv_out), "-q",
                         "--drop-none", "--min-confidence", "0.999"]) == 0  # fmt: skip
    rows = _read(csv_out)
    assert [r["label"] for r in rows] == ["uncertain"]  # abstentions are not 'none': kept
    header = csv_out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == _schema(clf, ["document", "sentence_index", "start", "end", "sentence"])


# ------------------------------------------------------------------ stdin and --input files
def test_stdin_keeps_one_output_row_per_input_line(
    trained_tiny: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    _stdin(monkeypatch, b"Jets struck the town.\n\n   \nCrowds marched.\r\nCaf\xe9 bombed.\n")
    assert predict_main(["--checkpoint", str(trained_tiny), "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["line"], r["sentence"], r["error"]) for r in rows] == [
        ("1", "Jets struck the town.", ""),
        ("2", "", "empty text"),
        ("3", "", "empty text"),
        ("4", "Crowds marched.", ""),
        ("5", "Caf\ufffd bombed.", ""),
    ]
    assert "standard input: not valid UTF-8 at line(s) 5" in err

    _stdin(monkeypatch, b"")
    assert _run(predict_main, ["--checkpoint", str(trained_tiny)]) == 2
    assert "nothing to classify" in capsys.readouterr().err


def test_input_csv_keeps_every_row_with_its_line_number(
    trained_tiny: Path, clf: EventClassifier, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    source = tmp_path / "news.csv"
    source.write_bytes(
        b"doc_id,body,extra\n"
        b"a1,Jets struck the town.,x\n"
        b'a2,"",x\n'
        b'a3,"Crowds marched\nthrough the capital.",x\n'
        b"a4,Caf\xe9 bombed.,x\n"
        b"a5\n"
        b"a6,The envoy arrived in Rome.,x\n"
    )
    out = tmp_path / "predictions.jsonl"
    argv = ["--checkpoint", str(trained_tiny), "--input", str(source), "--text-column", "body"]
    assert predict_main([*argv, "--id-column", "doc_id", "-o", str(out), "inference.batch_size=2"]) == 0
    err = capsys.readouterr().err
    assert "classifying" in err and "6 row(s) written" in err and "3 with an error" in err  # progress and summary
    assert "Loading weights" not in err
    rows = _read(out)
    assert list(rows[0]) == _schema(clf, ["line", "doc_id", "body"])
    assert [(r["line"], r["doc_id"], r["error"]) for r in rows] == [
        (2, "a1", None),
        (3, "a2", "empty text"),
        (4, "a3", None),
        (6, "a4", "not valid UTF-8"),
        (7, "a5", "the record has no 'body' field"),
        (8, "a6", None),
    ]
    good = clf.predict(["Jets struck the town.", "Crowds marched\nthrough the capital.", "The envoy arrived in Rome."])
    for row, prediction in zip([rows[0], rows[2], rows[5]], good):
        assert row["label"] == prediction.label
        assert row["prob_rally"] == pytest.approx(prediction.probabilities["rally"], abs=1e-5)

    assert predict_main([*argv, "--quiet", "--format", "csv"]) == 0  # stdout, no progress bar or summary
    out, err = capsys.readouterr()
    assert err == "" and len(list(csv.DictReader(io.StringIO(out)))) == 6

    assert _run(predict_main, [*argv[:-1], "text"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "column(s) ['text'] not found (columns: ['doc_id', 'body', 'extra'])" in err


def test_input_jsonl_bad_lines_become_error_rows(trained_tiny: Path, tmp_path: Path, capsys):
    source = tmp_path / "news.jsonl"
    source.write_bytes(
        b'{"id": 1, "text": "Jets struck the town."}\n'
        b"\n"
        b'{"id": 2}\n'
        b"not json\n"
        b'{"id": 3, "text": 42}\n'
        b'["a list"]\n'
        b'{"id": 4, "text": "Caf\xe9"}\n'
        b'{"id": 5, "text": "Crowds marched."}'
    )
    out = tmp_path / "predictions.csv"
    assert predict_main(["--checkpoint", str(trained_tiny), "--input", str(source), "--id-column", "id",
                         "-o", str(out), "-q"]) == 0  # fmt: skip
    rows = _read(out)
    assert [(r["line"], r["id"], r["error"]) for r in rows] == [
        ("1", "1", ""),
        ("3", "2", "no 'text' field"),
        ("4", "", "not valid JSON (Expecting value, column 1)"),
        ("5", "3", "text is int, not a string"),
        ("6", "", "a JSON list, not an object"),
        ("7", "", "not valid UTF-8 (invalid continuation byte at byte 22)"),
        ("8", "5", ""),
    ]


def test_input_is_read_and_classified_in_chunks(trained_tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    source = tmp_path / "many.csv"
    n = 2500
    with open(source, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text"])
        writer.writerows([i, f"Sentence number {i} about a march."] for i in range(n))
    calls: list[int] = []
    original = EventClassifier.predict

    def spy(self, texts, **kwargs):
        calls.append(len(texts))
        return original(self, texts, **kwargs)

    monkeypatch.setattr(EventClassifier, "predict", spy)
    out = tmp_path / "out.jsonl"
    argv = ["--checkpoint", str(trained_tiny), "--input", str(source), "-o", str(out), "-q", "--chunk-rows", "1000"]
    assert predict_main(argv) == 0
    assert calls == [1000, 1000, 500]  # never the whole file at once
    rows = _read(out)
    assert len(rows) == n and [r["line"] for r in rows] == list(range(2, n + 2))


# ------------------------------------------------------------------ folders with a bad file
def test_extract_folder_with_a_bad_file_writes_every_other_row_with_codes(
    trained_tiny: Path, clf: EventClassifier, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text("Jets struck the town. Crowds marched.", encoding="utf-8")
    (folder / "b.txt").write_bytes("Caf\xe9 bombed.".encode("latin-1"))
    (folder / "c.txt").write_text("The envoy arrived in Rome.", encoding="utf-8")
    out = tmp_path / "events.csv"
    assert extract_main([str(folder), "--checkpoint", str(trained_tiny), "-o", str(out), "--codes", "-q"]) == 1
    rows = _read(out)
    assert [(Path(r["document"]).name, r["sentence_index"]) for r in rows] == [
        ("a.txt", "0"),
        ("a.txt", "1"),
        ("b.txt", ""),
        ("c.txt", "0"),
    ]
    assert rows[2]["error"].startswith("not valid UTF-8") and rows[2]["label"] == ""
    assert list(rows[0]) == _schema(clf, ["document", "sentence_index", "start", "end", "sentence"], codes=True)
    assert rows[0]["cameo"] and rows[3]["plover"]  # codes are no longer dropped from CSV
    err = capsys.readouterr().err
    assert "b.txt: not valid UTF-8" in err and "1 file(s) could not be read" in err


def test_predict_article_that_cannot_be_read_is_an_error_row(trained_tiny: Path, tmp_path: Path, capsys):
    good = tmp_path / "good.txt"
    good.write_text("Jets struck the town.", encoding="utf-8")
    argv = ["--checkpoint", str(trained_tiny), "--format", "jsonl", "-q"]
    assert predict_main([*argv, "--article", str(tmp_path / "missing.txt"), "--article", str(good)]) == 1
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["error"] is None for r in rows] == [False, True]


# ------------------------------------------------------------------ Ray without a cluster
def test_predict_many_without_a_cluster_is_a_one_line_error(
    trained_tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    pytest.importorskip("ray")
    import model.scale

    def no_cluster(*args, **kwargs):
        raise ConnectionError("Could not find any running Ray instance. Please specify the one to connect to by\n...")

    monkeypatch.setattr(model.scale, "predict_many", no_cluster)
    (tmp_path / "a.txt").write_text("Jets struck.", encoding="utf-8")
    argv = [str(tmp_path / "a.txt"), str(tmp_path / "out"), "--checkpoint", str(trained_tiny), "--address", "auto"]
    assert _run(predict_many_main, argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no Ray cluster could be reached at --address auto" in err
    assert "ray start --head" in err and "Traceback" not in err


def test_common_options_reach_ray(trained_tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    pytest.importorskip("ray")
    import model.scale

    seen = {}
    monkeypatch.setattr(model.scale, "predict_many", lambda *a, **k: seen.update(k) or {"rows": 0})
    (tmp_path / "a.txt").write_text("Jets struck.", encoding="utf-8")
    argv = [str(tmp_path / "a.txt"), str(tmp_path / "out"), "--checkpoint", str(trained_tiny), "inference.batch_size=8"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert predict_many_main([*argv, "--codes", "--min-confidence", "0.5", "--quiet"]) == 0
    assert seen["codes"] is True and seen["progress"] is False and seen["output_format"] == "parquet"
    assert seen["overrides"] == ["inference.batch_size=8", "inference.min_confidence=0.5"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert predict_many_main([*argv, "--format", "csv", "--quiet"]) == 0
    assert seen["output_format"] == "csv"
    capsys.readouterr()


# ------------------------------------------------------------------ cec-evaluate reports
def test_evaluate_report_has_errors_file_interval_and_bin_counts(
    trained_tiny: Path, clf: EventClassifier, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    from tests.conftest import toy_rows, write_jsonl

    rows = toy_rows()
    data = write_jsonl(tmp_path / "gold.jsonl", rows)
    out = tmp_path / "report"
    argv = ["--checkpoint", str(trained_tiny), "--data", str(data), "--out", str(out), "--bootstrap", "20"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert evaluate_main([*argv, "--codes", "--min-confidence", "0.3", "--quiet"]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    low, high = metrics["macro_f1_ci95"]
    assert low <= metrics["macro_f1"] <= high and "95 % bootstrap interval" in printed
    assert sum(b["count"] for b in metrics["reliability_bins"]) == len(rows)
    assert metrics["abstention"]["min_confidence"] == 0.3 and 0 <= metrics["abstention"]["coverage"] <= 1

    with open(out / "errors.csv", encoding="utf-8", newline="") as fh:
        errors = list(csv.DictReader(fh))
    assert len(errors) == metrics["num_errors"] == len(rows) - round(metrics["accuracy"] * len(rows))
    assert list(errors[0]) == ["row", "text", "gold", *prediction_schema(clf.labels, codes=True)]
    scores = [float(e["score"]) for e in errors]
    assert scores == sorted(scores, reverse=True)  # most confident mistakes first
    for e in errors:
        assert e["label"] != e["gold"] and rows[int(e["row"])]["text"] == e["text"]
    assert "misclassified texts" in (out / "report.md").read_text()

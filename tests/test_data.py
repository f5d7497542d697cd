from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from model.config import load_config
from tests.conftest import toy_rows, write_jsonl
from training.data import DataError, load_labelled_file, load_splits

CFG = load_config(None)


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def test_jsonl_and_csv_load_the_same(tmp_path: Path):
    jsonl = write_jsonl(tmp_path / "a.jsonl", toy_rows())
    csv_text = "text,label\n" + "".join(f'"{r["text"]}",{r["label"]}\n' for r in toy_rows())
    csv = write(tmp_path / "a.csv", csv_text)
    a, report = load_labelled_file(jsonl, CFG)
    b, _ = load_labelled_file(csv, CFG)
    assert a["text"] == b["text"] and a["label"] == b["label"]
    assert report.rows_read == report.rows_kept == len(toy_rows())
    assert a.features["label"].names == CFG.model.labels
    assert a["row"][:2] == [1, 2] and b["row"][:2] == [2, 3]  # JSONL line numbers; CSV rows after the header


def test_custom_column_names(tmp_path: Path):
    path = write(tmp_path / "c.csv", "body,event\nJets struck the town.,airstrike\n")
    cfg = load_config(None, ["data.text_column=body", "data.label_column=event"])
    ds, _ = load_labelled_file(path, cfg)
    assert ds["text"] == ["Jets struck the town."] and ds["label"] == [1]


BAD_FILES = [
    ("missing.csv", None, "file not found"),
    ("data.txt", "text,label\n", "unsupported extension"),
    ("empty.csv", "", "file is empty"),
    ("nocol.csv", "sentence,label\nA b c.,none\n", r"missing column\(s\) \['text'\]"),
    (
        "labels.csv",
        "text,label\nA.,none\nB.,airstrikes\nC.,Rally\n",
        r"unknown labels 'airstrikes' at rows 3; 'Rally' at rows 4",
    ),
    ("numbers.jsonl", '{"text": "A.", "label": 3}\n', "not a label name"),
    (
        "conflict.csv",
        "text,label\nJets struck.,airstrike\nJets  struck.,none\n",
        "conflicting labels at rows 2 and 3",
    ),
    ("latin1.csv", "text,label\nCaf\xe9 bombed.,none\n".encode("latin-1"), "not valid UTF-8 .line 2"),
    ("broken.jsonl", '{"text": "A.", "label": "none"}\n{"text": \n', "could not be parsed as JSONL: line 2,"),
    ("late.jsonl", '{"text": "A.", "label": "none"}\n\n{"text": "B.", "label": "none"}\n{"text": \n', "line 4,"),
    ("array.jsonl", '{"text": "A.", "label": "none"}\n[1, 2]\n', "line 2 is a JSON list, not an object"),
    ("blank.jsonl", "\n  \n", "has no JSON lines"),
    (
        "blank_lines.jsonl",
        '{"text": "A.", "label": "none"}\n\n{"text": "B.", "label": "nonee"}\n',
        "unknown labels 'nonee' at rows 3",  # the line number, blank line counted
    ),
    ("header_only.csv", "text,label\n", r"has a header \(text, label\) but no data rows"),
    ("semicolon.csv", "text;label\nA.;none\n", "looks semicolon-separated; columns must be separated by commas"),
    ("tabs.csv", "text\tlabel\nA.\tnone\n", "looks tab-separated"),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES, ids=[case[0] for case in BAD_FILES])
def test_bad_files_name_file_rows_and_problem(tmp_path: Path, name: str, content, message: str):
    path = tmp_path / name
    if content is not None:
        write(path, content)
    with pytest.raises(DataError, match=message) as info:
        load_labelled_file(path, CFG)
    assert str(path) in str(info.value)


def test_filtered_rows_are_counted_and_reported(tmp_path: Path):
    path = write(
        tmp_path / "f.csv",
        "text,label\nJets struck.,airstrike\n,none\n   ,none\nJets struck.,airstrike\nA rally.,rally\n",
    )
    with pytest.warns(UserWarning, match="2 dropped .empty text: rows 3, 4.; 1 dropped .exact duplicate"):
        ds, report = load_labelled_file(path, CFG)
    assert report.rows_read == 5 and report.rows_kept == len(ds) == 2
    assert report.dropped == {"empty text": [3, 4], "exact duplicate of an earlier row": [5]}


def test_strict_mode_turns_filtering_into_an_error(tmp_path: Path):
    path = write(tmp_path / "f.csv", "text,label\nJets struck.,airstrike\n,none\n")
    with pytest.raises(DataError, match="data.strict"):
        load_labelled_file(path, load_config(None, ["data.strict=true"]))


def test_clean_file_gives_no_warning(tmp_path: Path):
    path = write_jsonl(tmp_path / "ok.jsonl", toy_rows())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_labelled_file(path, CFG)


def test_dev_split_is_carved_out_when_no_dev_file(tmp_path: Path):
    rows = [
        {"text": f"Sentence number {i} about {label}.", "label": label} for label in CFG.model.labels for i in range(20)
    ]
    path = write_jsonl(tmp_path / "t.jsonl", rows)
    cfg = load_config(
        None, {"data.train_file": str(path), "data.dev_file": None, "data.test_file": None, "data.dev_fraction": 0.2}
    )
    a, _ = load_splits(cfg)
    b, _ = load_splits(cfg)
    assert len(a["dev"]) == 20 and len(a["train"]) == 80
    assert sorted(a["dev"]["label"]) == sorted([i for i in range(5) for _ in range(4)])  # stratified
    assert a["dev"]["text"] == b["dev"]["text"]  # seeded
    assert not set(a["dev"]["text"]) & set(a["train"]["text"])


def test_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path):
    bom = "\ufeff"
    csv = write(tmp_path / "excel.csv", bom + "text,label\nJets struck.,airstrike\nA rally.,rally\n")
    jsonl = write(tmp_path / "bom.jsonl", bom + '{"text": "Jets struck.", "label": "airstrike"}\n')
    ds, _ = load_labelled_file(csv, CFG)
    assert ds["text"] == ["Jets struck.", "A rally."] and ds["row"] == [2, 3]
    assert load_labelled_file(jsonl, CFG)[0]["text"] == ["Jets struck."]


def test_a_folder_is_not_a_data_file(tmp_path: Path):
    (tmp_path / "train.jsonl").mkdir()
    with pytest.raises(DataError, match="train.jsonl: is a folder, not a data file"):
        load_labelled_file(tmp_path / "train.jsonl", CFG)


def _splits_config(path: Path, **extra):
    return load_config(None, {"data.train_file": str(path), "data.dev_file": None, "data.test_file": None, **extra})


def test_training_data_must_cover_every_label(tmp_path: Path):
    one_class = write_jsonl(
        tmp_path / "one.jsonl", [{"text": f"Jets struck town {i}.", "label": "airstrike"} for i in range(30)]
    )
    with pytest.raises(DataError, match=r"every training row has the label \['airstrike'\]; .*at least two labels"):
        load_splits(_splits_config(one_class))
    no_visits = write_jsonl(tmp_path / "nv.jsonl", [r for r in toy_rows() if r["label"] != "diplomatic_visit"])
    with pytest.raises(DataError, match=r"no training rows for label\(s\) \['diplomatic_visit'\]"):
        load_splits(_splits_config(no_visits, **{"data.dev_file": str(no_visits)}))


def test_too_few_rows_to_hold_out_a_dev_split(tmp_path: Path):
    one_row = write_jsonl(tmp_path / "one.jsonl", [{"text": "Jets struck.", "label": "airstrike"}])
    cfg = _splits_config(one_row, **{"model.labels": ["airstrike", "none"]})
    with pytest.raises(DataError, match="only 1 usable row.s., too few to hold out a dev split"):
        load_splits(cfg)
    rare = write_jsonl(  # 'rally' has a single row: holding out a dev split may take it from training
        tmp_path / "rare.jsonl",
        [{"text": f"Jets struck town {i}.", "label": "airstrike"} for i in range(9)]
        + [{"text": "A rally.", "label": "rally"}],
    )
    cfg = _splits_config(rare, **{"model.labels": ["airstrike", "rally", "none"]})
    with pytest.raises(DataError, match="no training rows for label"):
        load_splits(cfg)

"""Batch inference at scale: prediction columns, the Hugging Face datasets helper, and the Ray Data job
(a real local 2-CPU Ray cluster; one actor is killed mid-run and nothing is lost or doubled)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import ray

from model import EventClassifier, split_sentences
from model.scale import (
    BatchPredictor,
    add_predictions,
    article_sentences,
    init_ray,
    input_files,
    predict_many,
    prediction_columns,
)
from tests.conftest import TOY

SENTENCES = [t for texts in TOY.values() for t in texts]
CRASH_ID = "row-01234"


class CrashOncePredictor(BatchPredictor):
    """Kills its own worker process the first time it meets ``CRASH_ID`` (a marker file records that it did)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.marker = Path(os.environ["CEC_TEST_CRASH_MARKER"])

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        if "id" in batch and CRASH_ID in set(batch["id"]) and not self.marker.exists():
            self.marker.write_text(str(os.getpid()))
            os._exit(1)  # a hard crash: no exception, no cleanup, the actor process is gone
        return super().__call__(batch)


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory):
    marker = tmp_path_factory.mktemp("crash") / "crashed"
    os.environ["CEC_TEST_CRASH_MARKER"] = str(marker)
    init_ray(num_cpus=2)
    yield marker
    ray.shutdown()


@pytest.fixture(scope="module")
def classifier(trained_tiny: Path) -> EventClassifier:
    return EventClassifier.from_pretrained(trained_tiny)


def _rows(n: int) -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        a, b = rng.choice(len(SENTENCES), size=2, replace=False)
        text = SENTENCES[a] if i % 3 else f"{SENTENCES[a]} {SENTENCES[b]}"
        rows.append({"id": f"row-{i:05d}", "text": text, "source": f"feed{i % 7}"})
    return rows


def _assert_same_predictions(classifier: EventClassifier, out: pd.DataFrame, texts: list[str]) -> None:
    """The output's probabilities equal ``predict()``'s on the same texts; labels too, except exact near-ties."""
    expected = classifier.predict(texts)
    probs = np.array([[p.probabilities[name] for name in classifier.labels] for p in expected])
    got = out[[f"prob_{name}" for name in classifier.labels]].to_numpy(dtype=float)
    # Batches are padded differently, so probabilities differ in the last float bits (measured: 1.5e-8 at most).
    np.testing.assert_allclose(got, probs, atol=1e-6)
    top2 = np.sort(probs, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 1e-6  # the tiny model is barely trained: its margins are small
    assert clear.mean() > 0.9
    assert list(out["label"][clear]) == [p.label for p, c in zip(expected, clear) if c]


# ------------------------------------------------------------------ without Ray
def test_prediction_columns_flag_bad_rows_and_keep_order(classifier: EventClassifier):
    texts = ["Jets struck the town on Sunday.", "", None, 42, "   ", float("nan"), "Crowds marched in the capital."]
    cols = prediction_columns(classifier, texts)
    assert cols["error"] == [None, "empty text", "missing text", "text is int, not a string", "empty text",
                             "missing text", None]
    for name, values in cols.items():
        assert len(values) == len(texts), name
    good = classifier.predict([texts[0], texts[-1]])
    assert [cols["label"][0], cols["label"][-1]] == [p.label for p in good]
    assert cols["labels"][0] == list(good[0].labels)
    assert cols["prob_airstrike"][0] == pytest.approx(good[0].probabilities["airstrike"], abs=1e-6)
    assert all(cols["label"][i] is None for i in range(1, 6))


def test_add_predictions_to_a_hugging_face_dataset(classifier: EventClassifier):
    import datasets

    ds = datasets.Dataset.from_dict({"text": SENTENCES + [""], "label": ["x"] * (len(SENTENCES) + 1)})
    with pytest.raises(ValueError, match="already has columns"):
        add_predictions(ds, classifier)
    with pytest.raises(KeyError, match="body"):
        add_predictions(ds, classifier, text_column="body")
    out = add_predictions(ds, classifier, prefix="pred_", batch_size=7)
    assert len(out) == len(ds) and out["label"] == ds["label"]
    assert out["pred_label"][:-1] == [p.label for p in classifier.predict(SENTENCES)]
    assert out["pred_error"][-1] == "empty text" and out["pred_label"][-1] is None


def test_input_files_kinds_and_errors(tmp_path: Path):
    (tmp_path / "a.jsonl").write_text("{}\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.jsonl").write_text("{}\n")
    (tmp_path / "notes.md").write_text("ignored")
    kind, files = input_files(tmp_path)
    assert kind == "json" and [Path(f).name for f in files] == ["a.jsonl", "b.jsonl"]
    (tmp_path / "c.csv").write_text("id,text\n")
    with pytest.raises(ValueError, match="mixes input kinds"):
        input_files(tmp_path)
    with pytest.raises(FileNotFoundError):
        input_files(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no .jsonl"):
        input_files(empty)


def test_article_sentences_offsets_and_bad_documents():
    text = "Jets struck the town on Sunday. Crowds marched in the capital on Monday."
    rows = article_sentences({"path": "a.txt", "bytes": text.encode()})
    assert [r["sentence_index"] for r in rows] == [0, 1]
    assert all(text[r["start"] : r["end"]] == r["sentence"] for r in rows)
    assert [r["sentence"] for r in rows] == [s.text for s in split_sentences(text)]
    (bad,) = article_sentences({"path": "b.txt", "bytes": b"caf\xe9 \xff"})
    assert bad["error"].startswith("not valid UTF-8") and bad["sentence"] is None
    (empty,) = article_sentences({"path": "c.txt", "bytes": b"  \n "})
    assert empty["error"] == "empty document"


# ------------------------------------------------------------------ on a local Ray cluster
def test_ray_job_survives_a_worker_crash_and_loses_nothing(
    ray_cluster: Path, trained_tiny: Path, classifier: EventClassifier, tmp_path: Path
):
    rows = _rows(3000)
    bad = {7: "", 1500: "   ", 2999: None}
    for i, text in bad.items():
        rows[i]["text"] = text
    src = tmp_path / "in"
    src.mkdir()
    for part in range(3):  # three input files
        with open(src / f"part{part}.jsonl", "w", encoding="utf-8") as f:
            for row in rows[part::3]:
                f.write(json.dumps(row) + "\n")

    summary = predict_many(
        src, tmp_path / "out", checkpoint=trained_tiny, predictor=CrashOncePredictor, batch_size=200, actors=2
    )
    assert ray_cluster.exists(), "the fault was not injected: no actor met the crash row"
    out = pd.read_parquet(tmp_path / "out").sort_values("id").reset_index(drop=True)
    assert summary["rows"] == len(rows) and summary["errors"] == len(bad)
    assert list(out["id"]) == [r["id"] for r in rows]  # every row exactly once, none doubled
    assert list(out["source"]) == [r["source"] for r in rows]  # input columns kept
    errors = out["error"].notna()
    assert sorted(out.index[errors]) == sorted(bad)
    good = out[~errors]
    _assert_same_predictions(classifier, good, list(good["text"]))


def test_ray_job_reads_csv_and_parquet_and_checks_columns(ray_cluster: Path, trained_tiny: Path, tmp_path: Path):
    frame = pd.DataFrame(_rows(120)).rename(columns={"id": "doc_id", "text": "body"})
    (tmp_path / "csv").mkdir()
    frame.to_csv(tmp_path / "csv" / "rows.csv", index=False)
    (tmp_path / "pq").mkdir()
    frame.to_parquet(tmp_path / "pq" / "rows.parquet")
    with pytest.raises(ValueError, match=r"column\(s\) \['id', 'text'\] not found"):
        predict_many(tmp_path / "csv", tmp_path / "o0", checkpoint=trained_tiny)
    for kind in ("csv", "pq"):
        predict_many(
            tmp_path / kind, tmp_path / f"out_{kind}", checkpoint=trained_tiny, id_column="doc_id", text_column="body"
        )
        out = pd.read_parquet(tmp_path / f"out_{kind}").sort_values("doc_id")
        assert list(out["doc_id"]) == list(frame["doc_id"]) and out["error"].isna().all()
    with pytest.raises(FileExistsError):
        predict_many(tmp_path / "pq", tmp_path / "out_pq", checkpoint=trained_tiny, id_column="doc_id")
    # A gold `label` column is never overwritten: it is an error unless the predictions get a prefix.
    (tmp_path / "gold").mkdir()
    frame.assign(label="none").to_parquet(tmp_path / "gold" / "rows.parquet")
    kwargs = {"checkpoint": trained_tiny, "id_column": "doc_id", "text_column": "body"}
    with pytest.raises(ValueError, match=r"\['label'\] would be overwritten"):
        predict_many(tmp_path / "gold", tmp_path / "out_gold", **kwargs)
    predict_many(tmp_path / "gold", tmp_path / "out_gold", prefix="pred_", **kwargs)
    out = pd.read_parquet(tmp_path / "out_gold")
    assert (out["label"] == "none").all() and out["pred_label"].notna().all() and out["pred_error"].isna().all()


def test_ray_job_on_article_files(ray_cluster: Path, trained_tiny: Path, classifier: EventClassifier, tmp_path: Path):
    src = tmp_path / "articles"
    src.mkdir()
    texts = {
        f"a{i}.txt": " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(1 + i % 4)) for i in range(25)
    }
    for name, text in texts.items():
        (src / name).write_text(text, encoding="utf-8")
    (src / "broken.txt").write_bytes(b"\xff\xfe not text")
    (src / "blank.txt").write_text("\n\n")
    predict_many(src, tmp_path / "out", checkpoint=trained_tiny)
    out = pd.read_parquet(tmp_path / "out")
    out["name"] = out["document"].map(lambda p: Path(p).name)
    assert set(out["name"]) == set(texts) | {"broken.txt", "blank.txt"}
    for name, text in texts.items():
        doc = out[out["name"] == name].sort_values("sentence_index")
        assert list(doc["sentence"]) == [s.text for s in split_sentences(text)]
        assert all(text[s:e] == t for s, e, t in zip(doc["start"], doc["end"], doc["sentence"]))
    errors = dict(zip(out["name"][out["error"].notna()], out["error"][out["error"].notna()]))
    assert errors == {"broken.txt": errors["broken.txt"], "blank.txt": "empty document"}
    assert errors["broken.txt"].startswith("not valid UTF-8")
    good = out[out["error"].isna()]
    _assert_same_predictions(classifier, good, list(good["sentence"]))


def test_predict_many_cli_reports_bad_arguments_without_starting_ray(
    trained_tiny: Path, tmp_path: Path, capsys, monkeypatch
):
    import model.scale
    from model.cli import predict_many_main

    def no_ray(*args, **kwargs):
        raise AssertionError("Ray was started although the arguments were bad")

    monkeypatch.setattr(model.scale, "init_ray", no_ray)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)  # so a call that got that far would start Ray

    src = tmp_path / "in"
    src.mkdir()
    (src / "rows.jsonl").write_text('{"id": 1, "text": "Jets struck the town."}\n')
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "old.parquet").write_text("x")
    a_file = tmp_path / "predictions.parquet"
    a_file.write_text("not a folder")
    malformed = tmp_path / "malformed"
    malformed.mkdir()
    (malformed / "a.jsonl").write_text('{"id": 1, "text": "Jets struck."}\n\n{"id": 2, "text": "Crowds\n')
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    pd.DataFrame({"id": [1], "text": ["Jets struck."]}).to_parquet(corrupt / "a.parquet")
    (corrupt / "b.parquet").write_bytes(b"PAR1 this is not really parquet")
    cases = [
        ([str(src), str(a_file), "--checkpoint", str(trained_tiny)], "is a file, not a folder"),
        ([str(malformed), str(tmp_path / "o"), "--checkpoint", str(trained_tiny)], "a.jsonl: line 3, column 26: not valid JSON"),
        ([str(corrupt), str(tmp_path / "o"), "--checkpoint", str(trained_tiny)], "b.parquet: not a readable Parquet"),
        ([str(src), str(tmp_path / "o"), "--checkpoint", str(tmp_path / "nope")], "checkpoint directory not found"),
        ([str(tmp_path / "missing"), str(tmp_path / "o"), "--checkpoint", str(trained_tiny)], "no such file"),
        ([str(src), str(busy), "--checkpoint", str(trained_tiny)], "not empty"),
        ([str(src), str(tmp_path / "o"), "--checkpoint", str(trained_tiny), "training.epochs=2"], "only inference"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            predict_many_main(argv)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_ray_job_writes_jsonl_and_csv_like_cec_predict(
    fmt: str, ray_cluster: Path, trained_tiny: Path, classifier: EventClassifier, tmp_path: Path
):
    from model.cli import main as predict_main
    from model.output import prediction_schema
    from tests.test_cli import _read

    rows = _rows(60)
    rows[5]["text"] = ""
    src = tmp_path / "in"
    src.mkdir()
    with open(src / "rows.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(row) + "\n" for row in rows)
    summary = predict_many(src, tmp_path / "out", checkpoint=trained_tiny, codes=True, output_format=fmt)
    assert summary["rows"] == len(rows) and summary["errors"] == 1 and summary["output_format"] == fmt
    files = sorted((tmp_path / "out").iterdir())
    assert files and all(p.suffix == f".{fmt}" for p in files)
    got = {r["id"]: r for p in files for r in _read(p)}
    assert sorted(got) == [r["id"] for r in rows]  # every row exactly once

    # The same columns, in the same order and with the same values, as cec-predict --input in that format.
    reference = tmp_path / f"reference.{fmt}"
    argv = ["--checkpoint", str(trained_tiny), "--input", str(src / "rows.jsonl"), "--id-column", "id", "--codes"]
    assert predict_main([*argv, "-o", str(reference), "-q"]) == 0
    expected = {r["id"]: r for r in _read(reference)}
    schema = prediction_schema(classifier.labels, codes=True)
    assert list(next(iter(got.values())))[-len(schema) :] == list(schema)
    for key, row in expected.items():
        for name in schema:
            if schema[name] == "float" and row[name] not in (None, ""):
                assert float(got[key][name]) == pytest.approx(float(row[name]), abs=1e-5), (key, name)
            else:
                assert (got[key][name] or None) == (row[name] or None), (key, name)
    assert got["row-00005"]["error"] == "empty text"

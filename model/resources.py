"""Files shipped with the package: the YAML configs and the demo article.

>>> sorted(config_names())
['default', 'multilabel']

In a built wheel they are package data (``model/configs/*.yaml``, ``model/samples/sample_article.txt``), mapped
from the checkout's top-level ``configs/`` and ``seeds/`` folders by ``pyproject.toml``; in a source checkout
(run from the tree or installed editable) they are read from those folders. Nothing here imports PyTorch.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["PROJECT", "SAMPLE_ARTICLE", "config_names", "shipped_config", "shipped_file"]

PROJECT = "conflict-event-classifier"
"""The distribution name; also the marker that tells this project's ``model`` package from any other."""
SAMPLE_ARTICLE = "sample_article.txt"

# package-data folder inside ``model`` -> folder of the source checkout it is built from
_FOLDERS = {"configs": "configs", "samples": "seeds"}


def _folder(kind: str) -> Traversable:
    """The shipped folder ``kind``: package data when installed from a wheel, else the checkout's folder."""
    installed = files("model").joinpath(kind)
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[1] / _FOLDERS[kind]


def shipped_file(kind: str, name: str) -> Traversable:
    """The shipped file ``name`` of ``kind`` (``configs`` or ``samples``); raises FileNotFoundError if absent."""
    path = _folder(kind).joinpath(name)
    if not path.is_file():
        raise FileNotFoundError(f"{name} is not among the {kind} shipped with {PROJECT}")
    return path


def config_names() -> list[str]:
    """Names of the shipped configs (``default``, ``multilabel``), usable as ``--config NAME``."""
    folder = _folder("configs")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def shipped_config(name: str) -> Traversable | None:
    """The shipped config called ``name`` (``default`` or ``default.yaml``), or ``None`` if there is none."""
    if "/" in name or "\\" in name:
        return None
    stem = name.removesuffix(".yaml")
    return _folder("configs").joinpath(f"{stem}.yaml") if stem in config_names() else None

"""The packages' public names are imported on first use: ``import model`` / ``import training`` load no PyTorch."""

from __future__ import annotations

import subprocess
import sys

import pytest

import model
import training
from tests.conftest import ROOT


@pytest.mark.parametrize("package", [model, training], ids=lambda p: p.__name__)
def test_every_public_name_resolves(package):
    assert package.__all__ and len(set(package.__all__)) == len(package.__all__)
    for name in package.__all__:
        assert getattr(package, name) is not None, name
        assert name in vars(package)  # cached after the first access
    with pytest.raises(AttributeError, match=f"module '{package.__name__}' has no attribute 'nope'"):
        package.nope  # noqa: B018


def test_importing_the_packages_loads_no_torch():
    code = "import sys, model, training, model.documents, training.corpus; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"

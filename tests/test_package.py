"""The package as users get it: every ``cec-*`` command answers ``--help`` and ``--version`` without loading
PyTorch, the default checkpoint is looked up only where the README says, a shadowing ``model`` is named, and a
built wheel works from a fresh virtual environment outside the checkout (the README's Python example included)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import ROOT

HEAVY = ("torch", "transformers", "datasets", "evaluate", "onnxruntime", "ray")


def _entry_points() -> dict[str, str]:
    """``[project.scripts]`` of pyproject.toml: command name -> ``module:function``."""
    block = (ROOT / "pyproject.toml").read_text(encoding="utf-8").split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    return dict(re.findall(r'^([\w-]+) = "([\w.]+:\w+)"', block, re.M))


_PROBE = """
import json, sys
from importlib import import_module
module, _, func = sys.argv[1].partition(":")
main = getattr(import_module(module), func)
codes = {}
for flag in ("--help", "--version"):
    try:
        codes[flag] = main([flag])
    except SystemExit as exc:
        codes[flag] = exc.code
print("PROBE " + json.dumps({"codes": codes, "loaded": [m for m in sys.argv[2:] if m in sys.modules]}))
"""


def test_every_command_is_probed():
    assert set(_entry_points()) == {
        "cec-train",
        "cec-evaluate",
        "cec-demo",
        "cec-average",
        "cec-predict",
        "cec-export-onnx",
        "cec-extract",
        "cec-predict-many",
    }


@pytest.mark.parametrize("name", sorted(_entry_points()))
def test_help_and_version_return_without_importing_torch(name: str):
    target = _entry_points()[name]
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, target, *HEAVY], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert "PROBE " in proc.stdout, proc.stderr[-2000:]
    result = json.loads(proc.stdout.rsplit("PROBE ", 1)[1])
    assert result == {"codes": {"--help": 0, "--version": 0}, "loaded": []}
    assert f"usage: {name}" in proc.stdout
    assert re.search(rf"^{name} \d+\.\d+\S*$", proc.stdout, re.M), proc.stdout[-500:]  # --version: name version


def test_default_checkpoint_is_the_env_var_or_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from model.classifier import CheckpointError
    from model.inference import default_checkpoint

    monkeypatch.delenv("EVENT_CLASSIFIER_MODEL", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError) as error:
        default_checkpoint()
    message = str(error.value)
    assert str(tmp_path / "checkpoints" / "default") in message
    assert "$EVENT_CLASSIFIER_MODEL" in message and "cec-train --config default" in message
    assert "make" not in message  # never assumes a checkout

    (tmp_path / "checkpoints" / "default").mkdir(parents=True)
    (tmp_path / "checkpoints" / "default" / "config.json").write_text("{}")
    assert default_checkpoint() == tmp_path / "checkpoints" / "default"
    monkeypatch.setenv("EVENT_CLASSIFIER_MODEL", str(tmp_path / "elsewhere"))
    assert default_checkpoint() == tmp_path / "elsewhere"


def test_no_script_shadows_an_installed_module():
    """``python scripts/x.py`` puts scripts/ first on sys.path: a script named like a library would replace it
    (scripts/evaluate.py once hid the `evaluate` library)."""
    import importlib.util

    clashes = [p.name for p in sorted((ROOT / "scripts").glob("*.py")) if importlib.util.find_spec(p.stem)]
    assert clashes == []
    assert not [p.name for p in (ROOT / "scripts").glob("*.py") if "sys.path" in p.read_text(encoding="utf-8")]


def test_a_shadowing_model_package_is_named(tmp_path: Path):
    (tmp_path / "model.py").write_text("WEIGHTS = 'someone else'\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", "import training.cli"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert (
        f"the 'model' package imported from {tmp_path / 'model.py'} is not conflict-event-classifier's" in proc.stderr
    )


# ------------------------------------------------------------------ the wheel, outside the checkout
def _run(cmd: list[str | Path], **kwargs) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kwargs)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


def _build_wheel(tmp_path: Path) -> Path:
    """Build the wheel from a copy of the files it is made of (the build writes into its source tree)."""
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("model", "training", "configs"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "seeds/sample_article.txt"):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, src / name)
    dist = tmp_path / "dist"
    pip = [sys.executable, "-m", "pip"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-cache-dir", "-q", "-w", dist, src])
    (wheel,) = dist.glob("conflict_event_classifier-*.whl")
    return wheel


def _fresh_venv(tmp_path: Path, wheel: Path) -> Path:
    """A new venv holding only the wheel; the dependencies come from this interpreter's site-packages through a
    ``.pth`` path line (its own ``.pth`` files, such as the editable install of the checkout, are not run)."""
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_dependencies.pth").write_text("".join(f"{d}\n" for d in sorted(deps)))
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q", wheel])
    return venv


_IN_VENV = """
import json, sys
import model, training
from model import CheckpointError, Config, load_config, predict
try:
    predict(["Jets struck the town on Sunday."])
    missing = None
except CheckpointError as exc:
    missing = str(exc)
print("RESULT " + json.dumps({
    "files": [model.__file__, training.__file__],
    "finders": [type(f).__name__ if not isinstance(f, type) else f.__name__ for f in sys.meta_path],
    "default_is_builtin": load_config("default") == Config(),
    "multilabel": load_config("multilabel").model.problem_type,
    "missing": missing,
    "label": predict(["Jets struck the town on Sunday."], model=sys.argv[1])[0].label,
}))
"""


def test_wheel_works_outside_the_checkout(tmp_path: Path, trained_tiny: Path):
    venv = _fresh_venv(tmp_path, _build_wheel(tmp_path))
    python, bin_dir = venv / "bin" / "python", venv / "bin"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "EVENT_CLASSIFIER_MODEL")}
    run = dict(cwd=elsewhere, env=env)

    result = json.loads(_run([python, "-c", _IN_VENV, trained_tiny], **run).stdout.rsplit("RESULT ", 1)[1])
    assert all(Path(f).is_relative_to(venv) for f in result["files"]), result["files"]
    assert not [f for f in result["finders"] if "Editable" in f], result["finders"]
    assert result["default_is_builtin"] and result["multilabel"] == "multi_label"  # configs are package data
    assert "$EVENT_CLASSIFIER_MODEL" in result["missing"] and "make" not in result["missing"]
    assert result["label"] in ("territorial_gain", "airstrike", "rally", "diplomatic_visit", "none")

    for command in ("cec-predict", "cec-train"):
        assert f"usage: {command}" in _run([bin_dir / command, "--help"], **run).stdout
    assert _run([bin_dir / "cec-predict", "--version"], **run).stdout.startswith("cec-predict ")

    demo = subprocess.run([bin_dir / "cec-demo"], capture_output=True, text=True, timeout=600, **run)
    assert demo.returncode == 1 and "Traceback" not in demo.stderr
    assert "cec-demo: error: no trained model in checkpoints/default, and no training data at" in demo.stderr

    (elsewhere / "checkpoints").mkdir()
    (elsewhere / "checkpoints" / "default").symlink_to(trained_tiny)  # found in the working directory
    out = _run([bin_dir / "cec-predict", "--format", "jsonl", "-q", "Jets struck the town."], **run).stdout
    assert json.loads(out)["label"] == result["label"]
    demo = _run([bin_dir / "cec-demo"], **run).stdout  # shipped config and sample article, no training data here
    assert "[demo] using the trained model in checkpoints/default" in demo and "sentence by sentence" in demo

    # The README's Python example, as written, in the fresh venv (its paths relative to the working directory).
    (elsewhere / "seeds").mkdir()
    shutil.copy(ROOT / "seeds" / "sample_article.txt", elsewhere / "seeds" / "sample_article.txt")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = re.search(r"^```python\n(.*?)^```", readme, flags=re.DOTALL | re.MULTILINE).group(1)
    assert "from model import predict" in example
    checks = "\nassert len(clf.predict_proba(texts)) == 2 and isinstance(events, list)\nprint('EXAMPLE OK')\n"
    assert "EXAMPLE OK" in _run([python, "-c", example + checks], **run).stdout

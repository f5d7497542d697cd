"""The README's code runs as written: every ```python block is executed, and every command of the ```bash blocks
that belongs to this package is run (the prediction and evaluation commands, on a tiny checkpoint) or, for the
commands that train, export or need Ray, checked: ``--help`` works, every flag the README gives is one the command
knows, and the config overrides given to training resolve. A README example that drifts from the code fails here.

Commands run from a temporary working directory holding ``seeds`` (the project's) and ``checkpoints/default``
(the tiny checkpoint, also ``$EVENT_CLASSIFIER_MODEL``), so the README's relative paths work as they would for a
user in the checkout.
"""

from __future__ import annotations

import importlib
import io
import json
import re
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")

# Commands run on the tiny checkpoint (module:function of the entry point); the others get --help and a flag check.
RUN = {"model.cli:main", "model.cli:extract_main", "training.cli:evaluate_main"}
TRAIN = "training.cli:train_main"
# Added to a command before running it: bootstrap resamples make no difference to whether it runs, only to its time.
SPEED_ARGS = {"training.cli:evaluate_main": ["--bootstrap", "10"]}
NEWS_ROWS = ["Jets struck the town on Sunday.", "Thousands marched on parliament.", "The envoy flew into Kabul."]


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.DOTALL | re.MULTILINE)


def _entry_points() -> dict[str, str]:
    """``[project.scripts]`` of pyproject.toml: command name -> ``module:function``."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    return dict(re.findall(r'^([\w-]+)\s*=\s*"([\w.]+:\w+)"', section, flags=re.MULTILINE))


def _script_target(script: str) -> str:
    """The ``module:function`` that ``scripts/NAME.py`` calls (``from module import function`` ... ``function()``)."""
    source = (ROOT / script).read_text(encoding="utf-8")
    called = re.findall(r"sys\.exit\((\w+)\(", source)
    assert called, f"{script}: no sys.exit(main()) call found"
    module = re.search(rf"^from ([\w.]+) import [^\n]*\b{called[-1]}\b", source, flags=re.MULTILINE)
    assert module, f"{script}: where {called[-1]} comes from is not found"
    return f"{module.group(1)}:{called[-1]}"


@dataclass
class Command:
    line: str
    target: str
    args: list[str]  # without the [optional] parts and the > FILE redirection
    flags: list[str]  # every --flag and -f the README gives it, optional ones too
    stdin: list[str]  # the shell stage that feeds it: ["cat", FILE] or ["head", "-n", "5", FILE], else []


def _commands() -> list[Command]:
    """Every command of the bash blocks that runs one of this package's programs (``make``, ``pip`` and the like
    are left out); line continuations joined, comments, ``> FILE`` redirections and ``[optional]`` parts dropped."""
    entry_points = _entry_points()
    found = []
    for block in _blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            tokens = shlex.split(line, comments=True)
            stages: list[list[str]] = [[]]
            for token in tokens:
                if token == "|":
                    stages.append([])
                else:
                    stages[-1].append(token)
            command = _command(line.strip(), stages, entry_points)
            if command is not None:
                found.append(command)
    return found


def _command(line: str, stages: list[list[str]], entry_points: dict[str, str]) -> Command | None:
    last = stages[-1]
    for i, token in enumerate(last):
        name = Path(token).name
        if name.startswith("cec-"):
            assert name in entry_points, f"README runs {name}, which is not a command of this package: {line}"
            target = entry_points[name]
        elif token.startswith("scripts/") and token.endswith(".py"):
            target = _script_target(token)
        else:
            continue
        rest = last[i + 1 :]
        flags = [a.strip("[]").split("=", 1)[0] for a in rest if a.strip("[").startswith("-") and a != "-"]
        return Command(line, target, _clean_args(rest), flags, stages[0] if len(stages) > 1 else [])
    return None


def _clean_args(args: list[str]) -> list[str]:
    out, optional = [], False
    skip_next = False
    for arg in args:
        if skip_next:
            skip_next = False
            continue
        if arg == ">":
            skip_next = True
            continue
        if arg.startswith("["):
            optional = True
        if not optional:
            out.append(arg)
        if arg.endswith("]"):
            optional = False
    return out


COMMANDS = _commands()


def _function(target: str) -> Callable[..., int]:
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def _stdin(stage: list[str]) -> bytes:
    if not stage:
        return b""
    data = Path(stage[-1]).read_bytes()
    if stage[0] == "head":
        lines = int(stage[stage.index("-n") + 1])
        return b"".join(data.splitlines(keepends=True)[:lines])
    assert stage[0] == "cat", f"unexpected stage feeding a command: {stage}"
    return data


def _call(function: Callable[..., int], argv: list[str]) -> int:
    try:
        return function(argv) or 0
    except SystemExit as exc:
        return 0 if exc.code is None else exc.code


@pytest.fixture()
def user_dir(trained_tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory as a user's checkout looks to the README: seeds/, checkpoints/default, news.jsonl."""
    (tmp_path / "seeds").symlink_to(ROOT / "seeds", target_is_directory=True)
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "default").symlink_to(trained_tiny, target_is_directory=True)
    (tmp_path / "news.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in NEWS_ROWS), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVENT_CLASSIFIER_MODEL", str(trained_tiny))
    return tmp_path


def test_the_readme_has_code_to_check():
    assert len(_blocks("python")) >= 2
    targets = {c.target for c in COMMANDS}
    assert RUN <= targets and TRAIN in targets, targets


@pytest.mark.parametrize("number", range(len(_blocks("python"))), ids=lambda n: f"python-block-{n + 1}")
def test_python_block_runs(number: int, user_dir: Path):
    source = _blocks("python")[number]
    exec(compile(source, f"README.md python block {number + 1}", "exec"), {"__name__": "__readme__"})


@pytest.mark.parametrize("command", COMMANDS, ids=[c.line[:70] for c in COMMANDS])
def test_shell_command(command: Command, user_dir: Path, capsys: pytest.CaptureFixture, monkeypatch):
    function = _function(command.target)
    assert _call(function, ["--help"]) == 0, f"--help failed: {command.line}"
    help_text = capsys.readouterr().out
    for flag in command.flags:
        assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", help_text), f"{flag} unknown: {command.line}"
    if command.target == TRAIN:
        _check_training_config(command.args)
    if command.target in RUN:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(_stdin(command.stdin)), encoding="utf-8"))
        code = _call(function, [*command.args, *SPEED_ARGS.get(command.target, [])])
        assert code == 0, f"exit status {code}: {command.line}\n{capsys.readouterr().err[-2000:]}"


def _check_training_config(args: list[str]) -> None:
    """The config file and the ``section.key=value`` overrides of a training command resolve to a Config."""
    from model.config import load_config

    config = args[args.index("--config") + 1] if "--config" in args else None
    overrides = [a for a in args if re.match(r"^[A-Za-z_]\w*\.[A-Za-z_]\w*=", a)]
    load_config(ROOT / config if config else None, overrides)

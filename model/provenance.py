"""What a benchmark measured: the checkpoint (path and weight hash), the code (git commit), the date and the CPU.

>>> stamp = run_stamp({"default": "checkpoints/default"})  # doctest: +SKIP
>>> print("\\n".join(stamp_markdown(stamp)))                 # doctest: +SKIP
Measured 2026-12-08T09:12:03+00:00 at commit `b32da1d3c0de+dirty` on AMD EPYC 7B13 (avx2; no avx512f, ...)
- checkpoint `default`: `checkpoints/default`, model.safetensors sha256 `3f2a...`

Every ``scripts/benchmark_*.py`` and ``scripts/error_analysis.py`` puts this stamp at the top of its markdown and
JSON output, so a table can always be traced to the weights and the code it came from. Nothing here needs git or
Linux: what cannot be found is reported as ``None``.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import subprocess
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["SPEED_FLAGS", "cpu_info", "file_sha256", "git_commit", "peak_rss_mb", "run_stamp", "stamp_markdown"]

WEIGHTS_FILE = "model.safetensors"
# The CPU extensions that decide inference speed (AVX-512 VNNI and AMX make int8 matrix products much faster).
SPEED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16")
_HASH_CHARS = 12


def file_sha256(path: str | os.PathLike[str], *, chars: int = _HASH_CHARS) -> str:
    """The first ``chars`` hex digits of the SHA-256 of a file, read in blocks (memory stays flat)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()[:chars]


def git_commit(where: str | os.PathLike[str] | None = None) -> str | None:
    """The commit checked out in the git working tree holding ``where`` (default: this package's folder), with
    ``+dirty`` when tracked files have uncommitted changes; ``None`` outside a git tree or without git."""
    folder = Path(where) if where is not None else Path(__file__).resolve().parent
    folder = folder if folder.is_dir() else folder.parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    changes = git("status", "--porcelain", "--untracked-files=no")
    return commit[:_HASH_CHARS] + ("+dirty" if changes else "")


def cpu_info(cpuinfo: str | None = None) -> dict[str, Any]:
    """The CPU model and which of :data:`SPEED_FLAGS` it has, from ``/proc/cpuinfo`` (or the text given);
    ``flags`` is ``None`` where the flags cannot be read (not Linux)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            cpuinfo = ""
    model, flags = None, None
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and model is None:
            model = value.strip()
        elif key.strip() == "flags" and flags is None:
            flags = set(value.split())
    return {
        "model": model or platform.processor() or platform.machine() or None,
        "cores": os.cpu_count(),
        "flags": None if flags is None else {flag: flag in flags for flag in SPEED_FLAGS},
    }


def peak_rss_mb(status: str | None = None) -> float:
    """Peak resident memory of this process in MB: ``VmHWM`` of ``/proc/self/status`` where Linux has it, else
    ``ru_maxrss``. (On Linux ``ru_maxrss`` survives ``exec``: a subprocess started by a large parent reports the
    parent's peak as its own, which once gave every backend of benchmark_speed.py the same figure.)"""
    if status is None:
        try:
            status = Path("/proc/self/status").read_text(encoding="ascii")
        except OSError:
            status = ""
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, flags=re.M)
    if match:
        return int(match.group(1)) / 1024
    import resource

    scale = 1 if sys.platform != "darwin" else 1024  # kB on Linux, bytes on macOS
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / scale


def run_stamp(
    checkpoints: Mapping[str, str | os.PathLike[str]], *, where: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """The stamp of a benchmark run: ``checkpoints`` (name -> path, with the first 12 hex digits of the SHA-256
    of each ``model.safetensors``, ``None`` if it has none), the git ``commit`` of ``where``, the UTC ``date``
    and the ``cpu`` (:func:`cpu_info`)."""
    rows = []
    for name, path in checkpoints.items():
        weights = Path(path) / WEIGHTS_FILE
        rows.append(
            {"name": name, "path": str(path), "weights_sha256": file_sha256(weights) if weights.is_file() else None}
        )
    return {
        "checkpoints": rows,
        "commit": git_commit(where),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu_info(),
    }


def stamp_markdown(stamp: Mapping[str, Any]) -> list[str]:
    """The stamp as markdown lines (a sentence, then one bullet per checkpoint), for the top of a report."""
    cpu = stamp["cpu"]
    flags = cpu.get("flags")
    if flags is None:
        flag_text = "CPU flags unknown"
    else:
        present = [f for f, has in flags.items() if has]
        absent = [f for f, has in flags.items() if not has]
        flag_text = "; ".join(x for x in (", ".join(present), "no " + ", ".join(absent) if absent else "") if x)
    lines = [
        f"Measured {stamp['date']} at commit `{stamp['commit'] or 'unknown (not a git checkout)'}` on "
        f"{cpu.get('model') or 'an unknown CPU'}, {cpu.get('cores')} cores ({flag_text}).",
        "",
    ]
    for row in stamp["checkpoints"]:
        digest = f"`{row['weights_sha256']}`" if row["weights_sha256"] else "none (no model.safetensors)"
        lines.append(f"- checkpoint `{row['name']}`: `{row['path']}`, model.safetensors sha256 {digest}")
    return lines

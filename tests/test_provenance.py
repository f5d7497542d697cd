"""The stamp every benchmark writes: checkpoint weight hash, git commit (+dirty), date and CPU flags."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from model.provenance import SPEED_FLAGS, cpu_info, file_sha256, git_commit, run_stamp, stamp_markdown

CPUINFO = """processor\t: 0
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse2 avx avx2 fma avx512f
processor\t: 1
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse2 avx avx2 fma avx512f
"""


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_stamp_of_a_tiny_checkpoint(trained_tiny: Path):
    stamp = run_stamp({"tiny": trained_tiny})
    weights = (trained_tiny / "model.safetensors").read_bytes()
    (row,) = stamp["checkpoints"]
    assert row == {"name": "tiny", "path": str(trained_tiny), "weights_sha256": hashlib.sha256(weights).hexdigest()[:12]}
    assert stamp["date"][:2] == "20" and stamp["date"].endswith("+00:00")
    assert set(stamp["cpu"]) == {"model", "cores", "flags"}
    text = "\n".join(stamp_markdown(stamp))
    assert row["weights_sha256"] in text and str(trained_tiny) in text and stamp["date"] in text


def test_a_folder_without_weights_is_said(tmp_path: Path):
    (row,) = run_stamp({"empty": tmp_path})["checkpoints"]
    assert row["weights_sha256"] is None
    stamp = run_stamp({"empty": tmp_path})
    assert "none (no model.safetensors)" in "\n".join(stamp_markdown(stamp))


def test_file_sha256_reads_in_blocks(tmp_path: Path):
    data = bytes(range(256)) * 9000  # more than one 1 MiB block
    (tmp_path / "w").write_bytes(data)
    assert file_sha256(tmp_path / "w") == hashlib.sha256(data).hexdigest()[:12]
    assert file_sha256(tmp_path / "w", chars=64) == hashlib.sha256(data).hexdigest()


def test_git_commit_clean_dirty_and_outside(tmp_path: Path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "a.py").write_text("x = 1\n")
    _git(repo, "add", "a.py")
    _git(repo, "commit", "-q", "-m", "first")
    head = _git(repo, "rev-parse", "HEAD")
    assert git_commit(repo) == head[:12]
    (repo / "untracked.txt").write_text("not part of the code")
    assert git_commit(repo / "a.py") == head[:12]  # a file names its folder; untracked files are not changes
    (repo / "a.py").write_text("x = 2\n")
    assert git_commit(repo) == head[:12] + "+dirty"
    outside = tmp_path / "plain"
    outside.mkdir()
    assert git_commit(outside) is None


@pytest.mark.parametrize(
    ("cpuinfo", "model", "present"),
    [(CPUINFO, "AMD EPYC 7B13", {"avx2", "avx512f"}), ("", None, None)],
)
def test_cpu_info_flags(cpuinfo: str, model: str | None, present: set[str] | None):
    info = cpu_info(cpuinfo)
    if model is not None:
        assert info["model"] == model
    if present is None:
        assert info["flags"] is None
    else:
        assert info["flags"] == {flag: flag in present for flag in SPEED_FLAGS}
        stamp = {"checkpoints": [], "commit": "abc", "date": "2026-12-08T00:00:00+00:00", "cpu": info}
        line = stamp_markdown(stamp)[0]
        assert "avx2, avx512f; no avx512_vnni" in line and "amx_int8" in line and "`abc`" in line


def test_peak_rss_is_this_process_s_own():
    from model.provenance import peak_rss_mb

    assert peak_rss_mb("Name:\tpython\nVmHWM:\t  204800 kB\nVmRSS:\t1024 kB\n") == 200.0
    assert peak_rss_mb() > 1  # this process, read from /proc or getrusage

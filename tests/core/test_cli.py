"""The CLI refuses bad input with status 2 and one line, before any computation."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boundbook.core.cli import main
from boundbook.core.params import DEVICES, MODES


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(list(argv))
    except SystemExit as exc:  # argparse's exits
        rc = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return rc, out, err


def tree_digest(root) -> str:
    h = hashlib.sha256()
    for p in sorted((root / "notebooks").glob("*.ipynb")) + sorted(
            (root / "ledger").rglob("*.json")):
        h.update(p.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("argv, name", [
    (["run", "no_such_chapter"], "chapter"),
    (["run", "--mode", "fast"], "--mode"),
    (["run", "--device", "tpu"], "--device"),
    (["run", "--seed", "-1"], "--seed"),
    (["run", "--seed", "1.5"], "--seed"),
    (["run", "--seed", "abc"], "--seed"),
    (["mutate", "no_such_chapter"], "chapter"),
    (["build", "--device", "gpu"], "--device"),
])
def test_bad_input_one_line_status_2(capsys, argv, name):
    rc, out, err = run_cli(capsys, *argv)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and name.lstrip("-") in lines[0] and "allowed" in lines[0], err
    assert "Traceback" not in err and out == ""


def test_cuda_without_gpu(capsys, monkeypatch):
    monkeypatch.setenv("BOUNDBOOK_HIDE_CUDA", "1")
    rc, _, err = run_cli(capsys, "run", "ghosts_of_softmax", "--device", "cuda")
    assert rc == 2 and err.count("\n") == 1 and "device 'cuda'" in err and "no CUDA" in err


def test_memory_guard(capsys, monkeypatch):
    monkeypatch.setenv("BOUNDBOOK_MEMORY_LIMIT_GIB", "0.25")
    rc, _, err = run_cli(capsys, "run", "ghosts_of_softmax", "--mode", "full",
                         "--device", "cpu")
    assert rc == 2 and "GiB" in err and err.count("\n") == 1


def test_out_must_be_a_directory(capsys, tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    rc, _, err = run_cli(capsys, "run", "--out", str(f))
    assert rc == 2 and "--out" in err


@pytest.mark.parametrize("cmd", ["", "list", "run", "ledger", "mutate", "build"])
def test_help_everywhere(capsys, cmd):
    rc, out, _ = run_cli(capsys, *([cmd] if cmd else []), "--help")
    assert rc == 0 and "usage: boundbook" in out


def test_list(capsys):
    rc, out, _ = run_cli(capsys, "list")
    assert rc == 0 and "ghosts_of_softmax" in out and "gos-binary-radius" in out


_bad_mode = st.text(min_size=0, max_size=12).filter(lambda s: s not in MODES)
_bad_device = st.text(min_size=0, max_size=12).filter(lambda s: s not in DEVICES)
_bad_seed = st.one_of(st.integers(max_value=-1), st.integers(min_value=2**32),
                      st.floats(allow_nan=True).map(str), st.text(max_size=8)
                      .filter(lambda s: not s.strip().lstrip("+").isdigit()))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(["mode", "device", "seed"]), mode=_bad_mode, device=_bad_device,
       seed=_bad_seed)
def test_random_invalid_parameters_refused_cleanly(capsys, root, which, mode, device, seed):
    before = tree_digest(root)
    value = {"mode": mode, "device": device, "seed": str(seed)}[which]
    rc, out, err = run_cli(capsys, "run", "ghosts_of_softmax", f"--{which}={value}")
    assert rc == 2, (which, value, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 1
    assert tree_digest(root) == before


def test_console_entry_point_subprocess():
    env = {**os.environ, "BOUNDBOOK_HIDE_CUDA": "1"}
    proc = subprocess.run([sys.executable, "-m", "boundbook.core.cli", "run", "--device", "cuda"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1

"""`boundbook new`: a draft chapter that runs end to end, ignored by the book until listed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _copy(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(ROOT / "_toc.yml", root / "_toc.yml")
    for name in ("lib", "book", "ledger"):
        shutil.copytree(ROOT / name, root / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (root / "notebooks").mkdir()
    (root / "tests" / "chapters").mkdir(parents=True)
    env = {**os.environ, "BOUNDBOOK_ROOT": str(root),
           "PYTHONPATH": str(root / "lib") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("BOUNDBOOK_RECORDS", None)
    return root, env


def _cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "boundbook.core.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args,word", [
    (["gd_quadratic", "T", "2103.00065"], "SLUG"),       # exists already
    (["Not-a-slug", "T", "2103.00065"], "SLUG"),
    (["class", "T", "2103.00065"], "SLUG"),              # a Python keyword
    (["fresh_one", "T", "2103.65"], "ARXIV_ID"),
    (["fresh_one", "T", "arXiv:2103.00065"], "ARXIV_ID"),
    (["fresh_one", "T", "2103.00065x2"], "ARXIV_ID"),
])
def test_bad_new_arguments_exit_2_with_one_line(args, word, tmp_path):
    root, env = _copy(tmp_path)
    proc = _cli(env, "new", *args)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and word in proc.stderr
    assert not (root / "lib" / "boundbook" / "chapters" / args[0] / "claims.py").exists() \
        or args[0] == "gd_quadratic"


@pytest.mark.slow
def test_new_chapter_is_a_runnable_draft_ignored_by_the_book(tmp_path):
    root, env = _copy(tmp_path)
    proc = _cli(env, "new", "toy_draft", "A toy chapter", "2401.00001v2")
    assert proc.returncode == 0, proc.stderr
    pkg = root / "lib" / "boundbook" / "chapters" / "toy_draft"
    for name in ("claims.py", "protocol.py", "experiment.py", "derivation.py", "figures.py",
                 "NOTES.md", "__init__.py"):
        assert (pkg / name).exists(), name
    assert (root / "notebooks" / "toy_draft.ipynb").exists()
    assert (root / "tests" / "chapters" / "test_toy_draft.py").exists()
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", str(pkg),
                           str(root / "tests" / "chapters")], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout

    listed = _cli(env, "list")
    assert listed.returncode == 0 and "toy_draft" not in listed.stdout
    run = _cli(env, "run", "toy_draft", "--no-progress", timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "1 claims (1 holds)" in run.stdout
    assert not (root / "ledger" / "records" / "toy_draft").exists()
    drafts = root / "_build" / "runs" / "drafts" / "records" / "toy_draft"
    assert json.loads((drafts / "toy-example.json").read_text())["verdict"] == "holds"
    ledger = _cli(env, "ledger", "--json")
    assert ledger.returncode == 0 and "toy-example" not in ledger.stdout

"""Sweeps on Dask: a 2-worker LocalCluster on 127.0.0.1 runs one quick chapter over three seeds
into three run folders and prints the combined ledger; a rerun skips what is complete; a task
whose worker is killed mid-run is reported with its parameters while the other runs finish."""

from __future__ import annotations

import json
import os
import sys

import pytest

from boundbook.core.chapter import get
from boundbook.core.cli import main
from boundbook.core.sweep import Task, parse_grid, parse_seeds, run_sweep, tasks

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_seed_ranges_and_grids():
    assert parse_seeds("0-3,7") == [0, 1, 2, 3, 7] and parse_seeds("5") == [5]
    from boundbook.chapters.gd_quadratic import protocol

    grid = parse_grid(["steps=100,200", "betas=0.5,0.9;0.3"], protocol.settings("quick", 0))
    assert grid == {"steps": ["100", "200"], "betas": ["0.5,0.9", "0.3"]}
    ts = tasks(get("gd_quadratic"), "quick", "cpu", [0, 1], grid)
    assert len(ts) == 8 and len({t.tag for t in ts}) == 8


def test_two_worker_sweep_of_three_seeds(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BOUNDBOOK_RUNS", str(tmp_path))
    monkeypatch.delenv("BOUNDBOOK_RECORDS", raising=False)
    from test_reruns import committed_digest

    before = committed_digest()
    argv = ["sweep", "gfs_sharpness", "--seeds", "0-2", "--workers", "2", "--device", "cpu",
            "--no-progress"]
    rc = main(argv)
    out, err = capsys.readouterr()
    assert rc == 0, err
    folders = sorted((tmp_path / "gfs_sharpness").iterdir())
    assert [f.name for f in folders] == ["quick-seed0", "quick-seed1", "quick-seed2"]
    for f in folders:
        assert (f / "gfs_sharpness.done.json").exists()
        recs = list((f / "records" / "gfs_sharpness").glob("*.json"))
        assert len(recs) == len(get("gfs_sharpness").claims)
    assert "3 runs" in out and "3 ran, 0 already complete" in out
    rc = main(argv)  # the same sweep again: everything is complete
    out, _ = capsys.readouterr()
    assert rc == 0 and "0 ran, 3 already complete (skipped)" in out
    assert committed_digest() == before  # seed 0 with default settings too: a run folder


def _dies_on_seed_1(slug, mode, device, seed, overrides, timeout):
    if seed == 1:
        os._exit(1)  # the worker process dies mid-task
    return {"folder": "", "seconds": 0.0, "verdicts": {"c": "holds"}, "seed": seed}


def test_a_killed_worker_is_reported_and_the_other_runs_survive(tmp_path, monkeypatch):
    import cloudpickle

    monkeypatch.setenv("BOUNDBOOK_RUNS", str(tmp_path))
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ts = [Task(s, {}, f"quick-seed{s}") for s in range(3)]
    res = run_sweep(get("gfs_sharpness"), ts, "quick", "cpu", workers=2, retries=0,
                    progress=False, task_fn=_dies_on_seed_1)
    assert sorted(r["seed"] for _, r in res.done) == [0, 2]
    assert [t.seed for t, _ in res.failed] == [1]
    assert "KilledWorker" in res.failed[0][1] or "died" in res.failed[0][1]
    json.dumps([t.seed for t, _ in res.failed])

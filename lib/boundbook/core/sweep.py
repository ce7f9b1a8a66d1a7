"""Sweeps on Dask: one chapter over a grid of seeds and settings, each run in its own folder.

``boundbook sweep CHAPTER --seeds 0-31 [-p key=v1,v2 ...] [--workers N | --scheduler ADDRESS]``
builds the grid of (seed, overrides) tasks, validates every one before anything runs, and
executes them on Dask ``distributed``: by default a ``LocalCluster`` bound to 127.0.0.1 with N
single-threaded worker processes; with ``--scheduler`` an existing cluster (for example one
started by ``dask-jobqueue``'s ``SLURMCluster``; see the README). Each task executes the chapter
with papermill through :func:`boundbook.core.runner.execute` into its own run folder,
``_build/runs/<chapter>/<mode>-seed<N>[-<hash>]/``, never the committed ledger.

A task that fails (the chapter raised, timed out, or its worker died more often than
``retries`` allows) is reported with its parameters and traceback; the other tasks go on. A
rerun of the same sweep skips the tasks whose run folder is complete (``<chapter>.done.json``).
The sweep ends with the combined ledger over its runs (:mod:`boundbook.core.runs`).
"""

from __future__ import annotations

import itertools
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from boundbook.core import paths
from boundbook.core.params import ParameterError, check_seed


@dataclass(frozen=True)
class Task:
    seed: int
    overrides: Mapping[str, Any]
    tag: str
    """The run folder's name (``<mode>-seed<N>[-<hash>]``)."""


@dataclass
class SweepResult:
    chapter: str
    done: list[tuple[Task, dict[str, Any]]] = field(default_factory=list)
    skipped: list[Task] = field(default_factory=list)
    failed: list[tuple[Task, str]] = field(default_factory=list)
    """(task, the traceback or reason, as text)."""

    def folders(self) -> list[Path]:
        tasks = [t for t, _ in self.done] + self.skipped
        return [paths.run_folder(self.chapter, t.tag) for t in tasks]


def parse_seeds(text: str) -> list[int]:
    """``0-31``, ``0,3,7`` or ``0-3,10``: a sorted list of distinct seeds."""
    seeds: set[int] = set()
    try:
        for part in text.split(","):
            lo, _, hi = part.strip().partition("-")
            a = int(lo)
            b = int(hi) if hi else a
            if b < a:
                raise ValueError
            seeds.update(range(a, b + 1))
        if not seeds:
            raise ValueError
        for s in seeds:
            check_seed(s)
    except (ValueError, ParameterError):
        raise ParameterError("--seeds", text, "a range or list of seeds in [0, 2**32), "
                             "e.g. 0-31 or 0,3,7") from None
    return sorted(seeds)


def parse_grid(params: Sequence[str], defaults: Any) -> dict[str, list[str]]:
    """``key=v1,v2`` -> ``{key: [v1, v2]}``: the alternatives a sweep crosses. For a setting
    whose value is a list, alternatives are separated by ``;`` (each a comma-separated list)."""
    grid: dict[str, list[str]] = {}
    for item in params:
        key, eq, values = item.partition("=")
        if not eq or not key:
            raise ParameterError("-p", item, "key=value1,value2 (see `boundbook list --params`)")
        is_list = isinstance(getattr(defaults, key, None), tuple)
        grid[key] = [v.strip() for v in values.split(";" if is_list else ",")]
    return grid


def tasks(chapter: Any, mode: str, device: str, seeds: Sequence[int],
          grid: Mapping[str, Sequence[Any]], fixed: Mapping[str, Any] | None = None
          ) -> list[Task]:
    """The validated grid of tasks (raises :class:`ParameterError` before anything runs)."""
    keys = list(grid)
    out = []
    for seed in seeds:
        for values in itertools.product(*(grid[k] for k in keys)):
            overrides = {**(fixed or {}), **dict(zip(keys, values, strict=True))}
            run = chapter.start(mode, device, seed, overrides)
            out.append(Task(seed, dict(run.overrides), run.tag))
    return out


def run_task(slug: str, mode: str, device: str, seed: int, overrides: Mapping[str, Any],
             timeout: float | None) -> dict[str, Any]:
    """One task, on a worker: execute the chapter into its run folder."""
    from boundbook.core.chapter import get
    from boundbook.core.runner import execute

    chapter = get(slug)
    run = chapter.start(mode, device, seed, overrides)
    # always the run folder, even for (quick, seed 0, defaults): a sweep never publishes into
    # the committed notebook and ledger
    res = execute(chapter, run, out=paths.run_folder(slug, run.tag), timeout=timeout)
    return {"folder": str(res.notebook.parent), "seconds": round(res.seconds, 2),
            "verdicts": res.verdicts}


def is_complete(slug: str, tag: str) -> bool:
    from boundbook.core.runner import done_marker

    folder = paths.run_folder(slug, tag)
    return done_marker(folder / f"{slug}.ipynb").exists()


def run_sweep(chapter: Any, task_list: Sequence[Task], mode: str, device: str, *,
              workers: int = 2, scheduler: str | None = None, timeout: float | None = None,
              retries: int = 1, progress: bool = True,
              task_fn: Callable[..., dict[str, Any]] = run_task) -> SweepResult:
    """Run the tasks on Dask (see the module docstring). ``retries``: how many times a task
    whose worker died is started again before it is reported as failed."""
    import dask
    from distributed import Client, LocalCluster, as_completed
    from tqdm import tqdm

    result = SweepResult(chapter.slug)
    todo = []
    for t in task_list:
        (result.skipped if is_complete(chapter.slug, t.tag) else todo).append(t)
    if not todo:
        return result
    with dask.config.set({"distributed.scheduler.allowed-failures": retries,
                          "distributed.admin.tick.limit": "1h"}):
        if scheduler:
            cluster = None
            client = Client(scheduler, timeout="30s")
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", scheduler_port=0,
                                   dashboard_address=None, silence_logs=40)
            client = Client(cluster)
        try:
            futures = {client.submit(task_fn, chapter.slug, mode, device, t.seed,
                                     dict(t.overrides), timeout, pure=False,
                                     key=f"{chapter.slug}-{t.tag}"): t for t in todo}
            bar = tqdm(total=len(futures), desc=f"sweep {chapter.slug}", unit="run",
                       disable=not progress, file=sys.stderr)
            for fut in as_completed(futures):
                t = futures[fut]
                try:
                    result.done.append((t, fut.result()))
                except Exception as err:  # the chapter failed, or its worker died
                    text = "".join(traceback.format_exception(err)).strip()
                    result.failed.append((t, text))
                bar.update(1)
                bar.set_postfix(failed=len(result.failed))
            bar.close()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    return result


def describe_failure(chapter: str, task: Task, text: str) -> str:
    """A failed task, with its parameters, for the sweep's report."""
    ov = ", ".join(f"{k}={v}" for k, v in task.overrides.items()) or "default settings"
    return f"FAILED {chapter} seed {task.seed} ({ov}):\n" + "\n".join(
        "    " + line for line in text.splitlines())

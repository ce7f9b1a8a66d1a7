"""A sweep on Dask against the same runs one after another, as a ratio from one run.

Eight seeds of one quick chapter (default ``gfs_sharpness``, about 12 s a run on two cores):
first executed one after another through the runner (the baseline), then as one
``boundbook sweep`` on a ``LocalCluster`` of ``--workers`` single-threaded processes on
127.0.0.1. Both write to a temporary runs root (``BOUNDBOOK_RUNS``); nothing committed changes.
Prints both wall times, the ratio serial / sweep, and the per-run mean, and writes a JSON line
to ``--json`` if given.

On two cores the ceiling is 2x: every run is CPU-bound, so two workers can at best halve the
time; kernel start-up (about 1-2 s a run, in both arms), the cluster's start (a few seconds,
sweep only) and a serial run's own use of both cores (torch's intra-op threads) lower it.
Run: ``make bench-sweep`` (``benchmarks/bench_sweep.py --results benchmarks/results.json``, then
``benchmarks/report.py``); about three minutes, apart from ``make bench``'s ten.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chapter", default="gfs_sharpness")
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--results", type=Path, default=None,
                    help="merge the ratio into this results.json (group 'sweeps')")
    args = ap.parse_args()
    os.environ.pop("BOUNDBOOK_RECORDS", None)
    from boundbook.core.chapter import get
    from boundbook.core.runner import execute
    from boundbook.core.sweep import run_sweep, tasks

    chapter = get(args.chapter)
    seeds = list(range(1, args.seeds + 1))  # not seed 0: no confusion with the committed run
    with tempfile.TemporaryDirectory() as serial_root, \
            tempfile.TemporaryDirectory() as sweep_root:
        os.environ["BOUNDBOOK_RUNS"] = serial_root
        t0 = time.perf_counter()
        for s in seeds:
            execute(chapter, chapter.start("quick", "cpu", s))
        serial = time.perf_counter() - t0
        os.environ["BOUNDBOOK_RUNS"] = sweep_root
        ts = tasks(chapter, "quick", "cpu", seeds, {})
        t0 = time.perf_counter()
        res = run_sweep(chapter, ts, "quick", "cpu", workers=args.workers, progress=False)
        sweep = time.perf_counter() - t0
        if res.failed:
            print(f"{len(res.failed)} sweep tasks failed", file=sys.stderr)
            return 1
    out = {"benchmark": "sweep_vs_serial", "chapter": args.chapter, "runs": len(seeds),
           "workers": args.workers, "cpus": os.cpu_count(), "serial_s": round(serial, 1),
           "sweep_s": round(sweep, 1), "ratio_serial_over_sweep": round(serial / sweep, 2)}
    print(f"{args.chapter}: {len(seeds)} quick runs one after another {serial:.1f} s "
          f"({serial / len(seeds):.1f} s a run); as a sweep on {args.workers} workers "
          f"{sweep:.1f} s: {serial / sweep:.2f}x faster ({os.cpu_count()} CPUs)")
    if args.json:
        args.json.write_text(json.dumps(out) + "\n")
    if args.results:
        merge(args.results, out)
    return 0


def merge(results: Path, out: dict) -> None:
    """Add (or replace) the sweep's record in ``results.json``, in its record format."""
    res = json.loads(results.read_text())
    r = out["ratio_serial_over_sweep"]
    name = f"{out['chapter']}: {out['runs']} runs one after another / a sweep on " \
           f"{out['workers']} workers"
    record = {"name": name, "group": "sweeps",
              "meaning": "serial wall time / Dask LocalCluster sweep wall time (one run each; "
                         f"ceiling {out['cpus']}x on {out['cpus']} cores)",
              "ratio": {"median": r, "min": r, "max": r, "q1": r, "q3": r},
              "ratios": [r], "repeats": 1, "config": out}
    res["records"] = [x for x in res["records"] if x.get("group") != "sweeps"] + [record]
    results.write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())

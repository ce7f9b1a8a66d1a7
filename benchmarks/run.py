"""Run every ratio benchmark and write ``benchmarks/results.json`` (``make bench``).

Each entry of ``records`` is one ratio measured within this run: its median, spread (min, max
and quartiles over the repeats), the number of repeats, what it means and its configuration
(and, where the issue set one, the goal and whether it was met). ``hessian`` holds the
spectrum comparison's details (truths, accuracy-time frontiers, memory, profile).
``benchmarks/report.py`` turns the file into ``book/performance.md``.

Run: ``.venv/bin/python benchmarks/run.py [--quick] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_bookkeeping  # noqa: E402
import bench_directional  # noqa: E402
import bench_hessian  # noqa: E402
import bench_stable_steps  # noqa: E402


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=HERE.parent,
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=HERE.parent,
                               capture_output=True, text=True, check=True).stdout.strip()
        return out + (" (dirty tree)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smoke test (small models, few repeats)")
    ap.add_argument("--out", default=str(HERE / "results.json"))
    args = ap.parse_args()

    def log(msg: str) -> None:
        print(msg, flush=True)

    t0 = time.perf_counter()
    sections = {}
    records: list[dict] = []
    log("== top eigenvalue, HVP cost, memory (bench_hessian.py)")
    s = time.perf_counter()
    hess = bench_hessian.run(log, quick=args.quick)
    records += hess["records"]
    sections["bench_hessian"] = time.perf_counter() - s
    for name, fn in (("bench_stable_steps", lambda: bench_stable_steps.run(3 if args.quick else 7,
                                                                          log=log)),
                     ("bench_directional", lambda: bench_directional.run(3 if args.quick else 10,
                                                                        log=log)),
                     ("bench_bookkeeping", lambda: bench_bookkeeping.run(3 if args.quick else 5,
                                                                        log=log))):
        log(f"== {name}.py")
        s = time.perf_counter()
        records += fn()
        sections[name] = time.perf_counter() - s
    wall = time.perf_counter() - t0
    result = {
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": args.quick,
        "wall_seconds": wall,
        "section_seconds": sections,
        "machine": {"cpu": _cpu(), "cores": os.cpu_count(), "torch_threads":
                    torch.get_num_threads(), "python": platform.python_version(),
                    "torch": torch.__version__, "pyhessian": _version("pyhessian"),
                    "curvlinops": _version("curvlinops-for-pytorch"),
                    "scipy": _version("scipy"), "load_average_at_end": os.getloadavg()},
        "commit": _commit(),
        "records": records,
        "hessian": hess["hessian"],
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    log(f"== wrote {args.out} ({len(records)} ratios) in {wall:.0f} s")


if __name__ == "__main__":
    main()

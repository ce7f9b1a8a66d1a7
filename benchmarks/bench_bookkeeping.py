"""How instant the book's bookkeeping is: ``boundbook list`` and ``boundbook mutate`` (every
chapter, every claim's mutations re-decided from the committed records), each as a fresh
process, against the baseline of a process that only starts Python and imports ``boundbook``.

Reports the ratio of each command's wall time to the baseline's (paired repeats), the time
spent inside ``mutate`` once the interpreter is up (in-process, the part the architecture
controls) as a ratio to the same baseline, and which heavy modules each command imported
(there must be none). Run: ``.venv/bin/python benchmarks/bench_bookkeeping.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import time
from contextlib import redirect_stdout

from timing import ratio_record

HEAVY = ("torch", "sympy", "matplotlib", "scipy", "papermill")
PROBE = ("import sys\nfrom boundbook.core.cli import main\nrc = main(sys.argv[1:])\n"
         "print('HEAVY=' + ','.join(m for m in {heavy!r} if m in sys.modules), "
         "file=sys.stderr)\nsys.exit(rc)")


def _once(args: list[str]) -> tuple[float, str, int]:
    """(seconds, heavy modules imported, exit status): ``mutate`` exits 1 while a mutation
    survives without a written exemption, which is the ledger's business, not the timing's."""
    t0 = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    dt = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{args[-1]} failed: {proc.stderr[-500:]}")
    heavy = [x for x in proc.stderr.splitlines() if x.startswith("HEAVY=")]
    return dt, heavy[-1][6:] if heavy else "", proc.returncode


def run(repeats: int = 5, log=print) -> list[dict]:
    py = sys.executable
    probe = PROBE.format(heavy=HEAVY)
    cmds = {"baseline": [py, "-c", "import boundbook"],
            "list": [py, "-c", probe, "list"], "mutate": [py, "-c", probe, "mutate"]}
    for args in cmds.values():  # the first run warms the file cache
        _once(args)
    times: dict[str, list[float]] = {k: [] for k in cmds}
    heavy: dict[str, str] = {}
    status: dict[str, int] = {}
    for _ in range(repeats):  # interleaved: a burst of load hits all three alike
        for name, args in cmds.items():
            dt, heavy[name], status[name] = _once(args)
            times[name].append(dt)

    from boundbook.core.cli import main as cli

    inproc = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        with redirect_stdout(io.StringIO()) as out:
            cli(["mutate"])
        inproc.append(time.perf_counter() - t0)
    last = out.getvalue().strip().splitlines()[-1]
    base = times["baseline"]
    recs = []
    for name in ("list", "mutate"):
        recs.append(ratio_record(
            f"boundbook {name} / python -c 'import boundbook'", times[name], base,
            group="bookkeeping", meaning="command time / baseline process time (fresh processes)",
            config={"command": f"boundbook {name}"},
            extra={"heavy_modules_imported": heavy[name] or None, "exit_status": status[name],
                   "seconds_median": statistics.median(times[name]),
                   "baseline_seconds_median": statistics.median(base)}))
    recs.append(ratio_record(
        "boundbook mutate in process / python -c 'import boundbook'", inproc, base,
        group="bookkeeping", meaning="in-process mutate time / baseline process time",
        config={"command": "boundbook mutate (interpreter up)"}, extra={"summary": last}))
    for r in recs:
        log(f"{r['name']:<60} {r['ratio']['median']:6.2f}  "
            f"[{r['ratio']['min']:.2f}, {r['ratio']['max']:.2f}]  "
            f"heavy: {r.get('extra', {}).get('heavy_modules_imported') or '-'}")
    log(f"mutate: {last}")
    return recs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    run(args.repeats)


if __name__ == "__main__":
    main()

"""How instant the book's bookkeeping is: ``boundbook list`` and ``boundbook mutate`` (every
chapter, every claim's mutations re-decided from the committed records), each as a fresh
process, against the baseline of a process that only starts Python and imports ``boundbook``.

Prints the median wall time of each over ``--repeats`` runs, the ratio to the baseline, and the
time spent inside ``mutate`` once the interpreter is up (in-process, the part the architecture
controls). Also prints which heavy modules each command imported (there must be none).
Run: ``.venv/bin/python benchmarks/bench_bookkeeping.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import time
from contextlib import redirect_stdout

HEAVY = ("torch", "sympy", "matplotlib", "scipy", "papermill")
PROBE = ("import sys\nfrom boundbook.core.cli import main\nrc = main(sys.argv[1:])\n"
         "print('HEAVY=' + ','.join(m for m in {heavy!r} if m in sys.modules), "
         "file=sys.stderr)\nsys.exit(rc)")


def wall(args: list[str], repeats: int) -> tuple[float, float, float, str]:
    """(median, min, max) seconds of a fresh process, and the heavy modules it imported."""
    times, heavy = [], ""
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        proc = subprocess.run(args, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - t0)
        heavy = [x for x in proc.stderr.splitlines() if x.startswith("HEAVY=")]
        heavy = heavy[-1][6:] if heavy else ""
    times = times[1:]  # the first run warms the file cache
    return statistics.median(times), min(times), max(times), heavy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    py = sys.executable
    base = wall([py, "-c", "import boundbook"], args.repeats)
    probe = PROBE.format(heavy=HEAVY)
    rows = [("python -c 'import boundbook' (baseline)", base)]
    for cmd in (["list"], ["mutate"]):
        rows.append((f"boundbook {' '.join(cmd)}", wall([py, "-c", probe, *cmd], args.repeats)))
    print(f"{'command':<42} {'median s':>9} {'min':>7} {'max':>7} {'/ baseline':>11}  heavy")
    for name, (med, lo, hi, heavy) in rows:
        print(f"{name:<42} {med:9.3f} {lo:7.3f} {hi:7.3f} {med / base[0]:11.2f}  "
              f"{heavy or '-'}")

    from boundbook.core.cli import main as cli

    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        with redirect_stdout(io.StringIO()) as out:
            cli(["mutate"])
        times.append(time.perf_counter() - t0)
    last = out.getvalue().strip().splitlines()[-1]
    print(f"mutate in process (interpreter up, records cached by the OS): "
          f"median {statistics.median(times):.3f} s over {args.repeats}; {last}")


if __name__ == "__main__":
    main()

"""The top Hessian eigenvalue, ours against PyHessian and curvlinops + ARPACK, at equal true error.

Problems: scikit-learn's digits (1437 training images), one-hot targets, ``torch.nn.MSELoss``,
tanh MLPs in float32 at their seeded initialisation (``boundbook.problems.models.mlp``):
64-128-10 (9,610 parameters), 64-512-512-10 (301,066) and 64-960-960-10 (994,570).

Truth: a long Lanczos run on a float64 copy of the model (relative error estimate ~1e-12).
A method's *true error* is ``|lambda - truth| / truth``. Each method is timed at the cheapest
setting of its own knobs that reaches a true error of 1e-3 and of 1e-5, from one fixed start
vector per method (seed 0; the product counts depend on it):

- ours: :func:`boundbook.numeric.hessian.hessian_spectrum` (default: reverse-mode HVPs), the
  loosest ``tol`` on a grid that meets the target from that start;
- PyHessian (``pyhessian.hessian(...).eigenvalues``, power iteration on reverse-mode HVPs with
  its relative-change stopping test): the *oracle* ``tol``. One run to below 1e-5 records the
  Rayleigh quotient and the time of every product; replaying PyHessian's stopping rule on that
  record gives, for each target, the earliest product at which some ``tol`` stops it with the
  target met, and the run's time at that product is the time of a run with that ``tol`` (its
  prefix, same arithmetic). The most favourable setting PyHessian could have had;
- curvlinops (``HessianLinearOperator``, forward-over-reverse products, no determinism check)
  + ``scipy.sparse.linalg.eigsh(which="LA")``: ARPACK's ``ncv`` (6, 10, 14, 20) and ``tol`` on
  a grid, the setting that meets the target with the fewest products (chosen on seed 0).

Repeat ``r`` starts ours and PyHessian from seed ``r`` (power iteration's cost depends on the
start far more than Lanczos's: 27 to 381 products for 1e-3 on the 301k model over eight
starts), curvlinops from seed 0. Each repeat runs every method back to back and gives one
ratio per baseline (its time over ours). Also: the cost of one HVP in gradients for both
modes, the peak memory of a chunked sharpness on a ~1M-parameter model with a 10,000-sample
batch (a fresh process per configuration: the process's peak and the rise during the call,
from ``/proc/self/status``), and a ``torch.profiler`` summary of one run of each method on the
301k model (where the time goes).

Run: ``.venv/bin/python benchmarks/bench_hessian.py [--quick] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from timing import paired_times, ratio_record, spread
from torch.func import functional_call

from boundbook.numeric.hessian import auto_mode_choice, hessian_spectrum, hvp_operator
from boundbook.problems.data import load_digits_split
from boundbook.problems.models import mlp

HERE = Path(__file__).resolve().parent
# PyHessian builds its graph with backward(create_graph=True); we reset .grad after each run
warnings.filterwarnings("ignore", message="Using backward\\(\\) with create_graph=True")
TARGETS = (1e-3, 1e-5)
OUR_GRID = [[{"tol": t} for t in (3e-1, 2e-1, 1.5e-1, 1e-1, 7e-2, 5e-2, 3e-2, 2e-2, 1e-2, 3e-3,
                                    1e-3, 1e-4, 1e-5, 1e-6)]]
# ARPACK's two knobs: the Lanczos basis size ncv (scipy's default for k=1 is 20) and tol
ARPACK_GRID = [[{"ncv": n, "tol": t} for t in (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)]
               for n in (6, 10, 14, 20)]
METHODS = ("ours", "pyhessian", "curvlinops")
MODELS = {  # name -> (sizes, repeats, targets, torch threads). The 9k model's products take
    # about a millisecond: on one thread, as the book runs its small experiments
    # (numeric/threads.py), since a second one only spins on a busy two-core machine.
    "mlp_9k": ([64, 128, 10], 10, TARGETS, 1),
    "mlp_301k": ([64, 512, 512, 10], 5, TARGETS, None),
    "mlp_1m": ([64, 960, 960, 10], 2, TARGETS, None),
}
PYHESSIAN_MAX_SECONDS = 90.0  # one recorded PyHessian run; past it, "did not reach"
GOALS = {  # (model, baseline, target) -> minimum speed-up
    ("mlp_301k", "pyhessian", 1e-3): 10.0,
    ("mlp_301k", "curvlinops", 1e-3): 5.0,
    ("mlp_301k", "pyhessian", 1e-5): 20.0,
}


class Problem:
    """A digits MLP under MSE: the module, its data, and our functional loss."""

    def __init__(self, sizes: list[int], dtype: torch.dtype = torch.float32):
        split = load_digits_split(dtype=dtype)
        self.x = split.x_train
        self.y = torch.nn.functional.one_hot(split.y_train, 10).to(dtype)
        self.net = mlp(sizes, activation="tanh", seed=0, dtype=dtype)
        self.criterion = torch.nn.MSELoss()
        self.params = {k: v.detach() for k, v in self.net.named_parameters()}
        self.dim = sum(p.numel() for p in self.params.values())

    def loss(self, p):
        return self.criterion(functional_call(self.net, p, (self.x,)), self.y)


# ------------------------------------------------------------------ the three methods

def run_ours(prob: Problem, tol: float, seed: int = 0) -> tuple[float, int]:
    """Our top eigenvalue and the products used (default mode: reverse)."""
    spec = hessian_spectrum(prob.loss, prob.params, tol=tol, max_iter=400, seed=seed)
    return spec.eigenvalues[0], spec.n_matvec


class _Done(Exception):
    pass


def pyhessian_trajectory(prob: Problem, truth: float, seed: int, stop_error: float,
                         max_products: int = 3000, max_seconds: float = 300.0
                         ) -> tuple[list[float], list[float]]:
    """One PyHessian power iteration, recorded: (seconds since the start at each product,
    the Rayleigh quotient PyHessian computes at that product). Stops once its own stopping
    rule could have returned an error below ``stop_error`` (see :func:`pyhessian_oracle`)."""
    ph = importlib.import_module("pyhessian.hessian")  # the module (the package exports a class)
    original = ph.hessian_vector_product
    stamps: list[float] = []
    quotients: list[float] = []
    t0 = time.perf_counter()

    def recorded(grads, params, v):
        hv = original(grads, params, v)
        quotients.append(ph.group_product(hv, v).cpu().item())  # PyHessian's tmp_eigenvalue
        stamps.append(time.perf_counter() - t0)
        if (pyhessian_oracle(quotients, truth, stop_error) is not None
                or len(stamps) >= max_products or stamps[-1] > max_seconds):
            raise _Done
        return hv

    ph.hessian_vector_product = recorded
    try:
        torch.manual_seed(seed)  # PyHessian draws its start from the global generator
        t0 = time.perf_counter()
        h = ph.hessian(prob.net, prob.criterion, data=(prob.x, prob.y), cuda=False)
        h.eigenvalues(maxIter=max_products + 1, tol=0.0)
    except _Done:
        pass
    finally:
        ph.hessian_vector_product = original
        for p in prob.net.parameters():
            p.grad = None
    return stamps, quotients


def pyhessian_oracle(quotients: list[float], truth: float, target: float
                     ) -> tuple[int, float, float] | None:
    """PyHessian stops at product ``i`` (1-based, ``i >= 2``) when ``|r_{i-1} - r_i| /
    (|r_{i-1}| + 1e-6) < tol`` and returns ``r_{i-1}``. The earliest ``i`` whose return meets
    ``target`` and that some ``tol`` reaches (``c_i`` below every earlier change): ``(i, the
    returned value, that tol)``, or ``None``."""
    best_before = math.inf
    for i in range(2, len(quotients) + 1):
        prev, cur = quotients[i - 2], quotients[i - 1]
        c = abs(prev - cur) / (abs(prev) + 1e-6)
        if c < best_before and abs(prev - truth) <= target * abs(truth):
            tol = math.sqrt(c * best_before) if math.isfinite(best_before) else 2 * c
            return i, prev, max(tol, c * (1 + 1e-9))
        best_before = min(best_before, c)
    return None


def run_curvlinops(prob: Problem, tol: float, ncv: int = 20, seed: int = 0
                   ) -> tuple[float, int]:
    from curvlinops import HessianLinearOperator
    from scipy.sparse.linalg import LinearOperator, eigsh

    op = HessianLinearOperator(prob.net, prob.criterion, list(prob.net.parameters()),
                               [(prob.x, prob.y)], check_deterministic=False,
                               num_data=prob.x.shape[0]).to_scipy()
    count = [0]

    def matvec(v):
        count[0] += 1
        return op @ v

    a = LinearOperator(op.shape, matvec=matvec, dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(op.shape[0])
    w = eigsh(a, k=1, which="LA", tol=tol, v0=v0, ncv=ncv, return_eigenvectors=False)
    return float(w[0]), count[0]


# ------------------------------------------------------------------ truth, frontier, timing

def reference(sizes: list[int]) -> tuple[float, float, int, float]:
    """(truth, its estimated relative error, products, seconds): Lanczos in float64."""
    prob = Problem(sizes, torch.float64)
    t0 = time.perf_counter()
    spec = hessian_spectrum(prob.loss, prob.params, tol=1e-11, max_iter=200, seed=12345)
    assert spec.converged, "the float64 reference did not converge"
    return spec.eigenvalues[0], spec.errors[0], spec.n_matvec, time.perf_counter() - t0


def rel(x: float, truth: float) -> float:
    return abs(x - truth) / abs(truth)


def walk(prob: Problem, fn, line: list[dict], truth: float, targets, seed: int = 0
         ) -> tuple[list[dict], dict[float, dict]]:
    """Run ``fn`` at each setting of ``line`` (loose to tight) until the smallest target is met
    with a margin: every point (a real, timed run) and, per target, the first that meets it."""
    points, first = [], {}
    for knob in line:
        t0 = time.perf_counter()
        lam, n = fn(prob, seed=seed, **knob)
        point = {**knob, "seconds": time.perf_counter() - t0, "error": rel(lam, truth),
                 "products": n}
        points.append(point)
        for target in targets:
            if point["error"] <= target and target not in first:
                first[target] = point
        if point["error"] <= min(targets) * 0.5:
            break
    return points, first


def compare_model(name: str, sizes: list[int], repeats: int, targets: tuple[float, ...],
                  log) -> tuple[list[dict], dict]:
    """Repeat ``r`` starts ours and PyHessian from seed ``r``, each at its best setting for that
    start (our loosest ``tol`` on the grid that meets the target; PyHessian's oracle ``tol``),
    and times curvlinops at the (``ncv``, ``tol``) chosen on seed 0 (a grid per start would cost
    minutes); the three run back to back, so each repeat's ratios share one load period."""
    prob = Problem(sizes)
    truth, truth_err, truth_n, truth_s = reference(sizes)
    log(f"[{name}] {prob.dim} parameters, truth {truth:.10g} (float64 Lanczos, "
        f"{truth_n} products, est. error {truth_err:.1e}, {truth_s:.1f} s)")
    frontier: dict[str, list[dict]] = {}

    # curvlinops: its (ncv, tol) grid on seed 0; per target, the fewest products that meet it
    run_curvlinops(prob, **ARPACK_GRID[0][0])  # warm-up
    frontier["curvlinops"] = []
    for line in ARPACK_GRID:
        frontier["curvlinops"] += walk(prob, run_curvlinops, line, truth, targets)[0]
    chosen = {}
    for target in targets:
        ok = [p for p in frontier["curvlinops"] if p["error"] <= target]
        if ok:
            best = min(ok, key=lambda p: (p["products"], p["seconds"]))
            chosen[target] = {"ncv": best["ncv"], "tol": best["tol"]}
    log("  curvlinops (seed 0): " + ", ".join(
        f"ncv {p['ncv']}/tol {p['tol']:g}: {p['error']:.1e} in {p['products']}"
        for p in frontier["curvlinops"]))
    run_ours(prob, **OUR_GRID[0][0])  # warm-up
    pyhessian_trajectory(prob, truth, seed=0, stop_error=0.0, max_products=3)  # slow first run

    times: dict[str, list[float]] = {}
    products: dict[str, list[int]] = {}
    errors: dict[str, list[float]] = {}
    knobs: dict[str, list] = {}

    def keep(key, seconds, n, err, knob):
        times.setdefault(key, []).append(seconds)
        products.setdefault(key, []).append(n)
        errors.setdefault(key, []).append(err)
        knobs.setdefault(key, []).append(knob)

    for r in range(repeats):
        points, first = walk(prob, run_ours, OUR_GRID[0], truth, targets, seed=r)
        if r == 0:
            frontier["ours"] = points
        for target, p in first.items():
            keep(f"ours@{target:g}", p["seconds"], p["products"], p["error"], {"tol": p["tol"]})
        stamps, quotients = pyhessian_trajectory(prob, truth, seed=r, stop_error=min(targets),
                                                 max_seconds=PYHESSIAN_MAX_SECONDS)
        if r == 0:
            frontier["pyhessian"] = [{"seconds": t, "error": rel(q, truth), "products": i + 1}
                                     for i, (t, q) in enumerate(zip(stamps, quotients,
                                                                    strict=True))]
        for target in targets:
            hit = pyhessian_oracle(quotients, truth, target)
            if hit is not None:
                i, lam, tol = hit
                keep(f"pyhessian@{target:g}", stamps[i - 1], i, rel(lam, truth), {"tol": tol})
        for target, knob in chosen.items():
            t0 = time.perf_counter()
            lam, n = run_curvlinops(prob, **knob)
            keep(f"curvlinops@{target:g}", time.perf_counter() - t0, n, rel(lam, truth), knob)
    at_word = {}
    for target in targets:
        lam, n = run_ours(prob, target)
        at_word[str(target)] = {"error": rel(lam, truth), "products": n}

    records = []
    for target in targets:
        ours = f"ours@{target:g}"
        for base in ("pyhessian", "curvlinops"):
            key = f"{base}@{target:g}"
            config = {"model": name, "sizes": sizes, "parameters": prob.dim, "dtype": "float32",
                      "samples": int(prob.x.shape[0]), "target_error": target, "truth": truth,
                      "starts": "seed r in repeat r" if base == "pyhessian" else
                      "ours: seed r in repeat r; curvlinops: seed 0"}
            n = min(len(times.get(key, [])), len(times.get(ours, [])))
            if n < repeats:
                records.append({"name": f"{name}: {base} / ours at true error {target:g}",
                                "group": "top eigenvalue", "meaning": f"{base} time / our time",
                                "ratio": None, "repeats": 0, "config": config,
                                "extra": {"note": f"{base} or ours did not reach {target:g} "
                                                  f"in every repeat"}})
                log(f"  {records[-1]['name']}: not reached")
                continue
            per_product = [(times[key][i] / products[key][i]) / (times[ours][i] / products[ours][i])
                           for i in range(n)]
            extra = {"products": {"ours": products[ours], base: products[key]},
                     "errors": {"ours": errors[ours], base: errors[key]},
                     "settings": {"ours": knobs[ours], base: knobs[key]},
                     "product_ratio": spread([a / b for a, b in zip(products[key],
                                                                   products[ours], strict=True)]),
                     "time_per_product_ratio": spread(per_product),
                     "seconds_median": {"ours": statistics.median(times[ours]),
                                        base: statistics.median(times[key])}}
            goal = GOALS.get((name, base, target))
            records.append(ratio_record(
                f"{name}: {base} / ours at true error {target:g}", times[key], times[ours],
                group="top eigenvalue", meaning=f"{base} time / our time (same true error)",
                config=config, goal=None if goal is None else {"op": ">=", "value": goal},
                extra=extra))
            rr = records[-1]
            log(f"  {rr['name']}: {rr['ratio']['median']:.2f}x [{rr['ratio']['min']:.2f}, "
                f"{rr['ratio']['max']:.2f}]; products {products[key]} vs {products[ours]}")
    meta = {"truth": truth, "truth_error_estimate": truth_err, "truth_products": truth_n,
            "parameters": prob.dim, "frontier": frontier, "ours_at_its_word": at_word,
            "curvlinops_settings": {f"{t:g}": k for t, k in chosen.items()}}
    return records, meta


# ------------------------------------------------------------------ HVP cost in gradients

def hvp_costs(log, repeats: int = 7) -> list[dict]:
    out = []
    for name, (sizes, *_) in MODELS.items():
        prob = Problem(sizes)
        v = torch.randn(prob.dim, generator=torch.Generator().manual_seed(0))

        def gradient(prob=prob):
            leaves = {k: p.detach().requires_grad_() for k, p in prob.params.items()}
            return torch.autograd.grad(prob.loss(leaves), list(leaves.values()))

        rev, _, _ = hvp_operator(prob.loss, prob.params, "reverse")
        fwd, _, _ = hvp_operator(prob.loss, prob.params, "forward")
        reps = repeats if prob.dim < 500_000 else 3
        t = paired_times({"grad": gradient, "reverse": lambda rev=rev, v=v: rev(v),
                          "forward": lambda fwd=fwd, v=v: fwd(v),
                          "build": lambda prob=prob: hvp_operator(prob.loss, prob.params,
                                                                  "reverse")}, reps)
        choice = auto_mode_choice(prob.loss, prob.params)
        for mode in ("reverse", "forward"):
            config = {"model": name, "parameters": prob.dim, "samples": int(prob.x.shape[0]),
                      "mode": mode, "auto_mode_choice": choice}
            extra = {"graph_build_in_gradients": spread(
                [b / g for b, g in zip(t["build"], t["grad"], strict=True)])} \
                if mode == "reverse" else None
            out.append(ratio_record(f"{name}: one {mode} HVP / one gradient", t[mode], t["grad"],
                                    group="hvp cost", meaning="HVP time / gradient time",
                                    config=config, goal={"op": "<=", "value": 2.0},
                                    extra=extra))
            log(f"[{name}] {mode} HVP = {out[-1]['ratio']['median']:.2f} gradients "
                f"[{out[-1]['ratio']['min']:.2f}, {out[-1]['ratio']['max']:.2f}] "
                f"(auto picks {choice})")
    return out


# ------------------------------------------------------------------ memory

MEMORY_CASES = [("reverse", None), ("reverse", 2000), ("forward", 2000)]


def _rss(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak since the last reset) of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> bool:
    """Reset this process's peak RSS (``VmHWM``; Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def memory_child(mode: str, chunk: int | None) -> dict:
    """In a fresh process: a ~1M-parameter MLP, a 10,000-sample batch, three Lanczos steps
    (the peak comes with the first product; the basis adds ``dim`` floats a step)."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(10_000, 64, generator=gen)
    y = torch.nn.functional.one_hot(torch.randint(0, 10, (10_000,), generator=gen), 10).float()
    net = mlp([64, 960, 960, 10], activation="tanh", seed=0)
    params = {k: v.detach() for k, v in net.named_parameters()}
    crit = torch.nn.MSELoss()

    def batch_loss(p, xb, yb):
        return crit(functional_call(net, p, (xb,)), yb)

    t0 = time.perf_counter()
    before = _rss("VmRSS")
    reset = _reset_peak()
    spec = hessian_spectrum(batch_loss, params, tol=1e-3, max_iter=3, mode=mode,
                            data=(x, y), chunk_size=chunk)
    peak_call = _rss("VmHWM") if reset else float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    dim = sum(p.numel() for p in params.values())
    return {"mode": mode, "chunk_size": chunk, "parameters": dim, "samples": 10_000,
            "peak_rss_mib": peak, "rss_before_mib": before, "peak_during_call_mib": peak_call,
            "increase_mib": peak_call - before,
            "products": spec.n_matvec, "seconds": time.perf_counter() - t0,
            "basis_mib_per_100_steps": 100 * dim * 8 / 2**20}  # float64 basis


def memory(log) -> list[dict]:
    out = []
    for mode, chunk in MEMORY_CASES:
        proc = subprocess.run([sys.executable, __file__, "--memory-child", mode, str(chunk)],
                              capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONPATH": str(HERE)})
        rec = json.loads(proc.stdout.strip().splitlines()[-1])
        out.append(rec)
        log(f"[memory] {mode}, chunk {chunk}: process peak {rec['peak_rss_mib']:.0f} MiB, "
            f"+{rec['increase_mib']:.0f} MiB during the call over the loaded model and data, "
            f"{rec['products']} products in {rec['seconds']:.1f} s")
    return out


# ------------------------------------------------------------------ profile

def profile(log, our_tol: float, py_products: int) -> dict:
    """Where the time goes on the 301k model: one run of ours and one PyHessian power
    iteration with the same number of products as its oracle run at 1e-3."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    prob = Problem(MODELS["mlp_301k"][0])
    out = {}
    ph = importlib.import_module("pyhessian.hessian")

    for name, fn in (("ours", lambda: run_ours(prob, our_tol)),
                     ("pyhessian", lambda: ph.hessian(prob.net, prob.criterion,
                                                      data=(prob.x, prob.y), cuda=False)
                      .eigenvalues(maxIter=py_products, tol=0.0))):
        fn()
        for p in prob.net.parameters():
            p.grad = None  # PyHessian's backward accumulates into .grad
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            fn()
        for p in prob.net.parameters():
            p.grad = None
        events = prof.key_averages()
        total = sum(e.self_cpu_time_total for e in events)
        top = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:6]
        out[name] = {"total_ms": total / 1000,
                     "top_ops": [{"op": e.key, "share": e.self_cpu_time_total / total,
                                  "calls": e.count} for e in top]}
        log(f"[profile] {name}: " + ", ".join(f"{t['op']} {100 * t['share']:.0f}%"
                                              for t in out[name]["top_ops"]))
    return out


# ------------------------------------------------------------------ driver

def run(log=print, quick: bool = False) -> dict:
    """All of this file's measurements: ``{"records": [...], "hessian": {...}}``."""
    records: list[dict] = []
    meta: dict = {"models": {}}
    models = {"mlp_9k": MODELS["mlp_9k"]} if quick else MODELS
    for name, (sizes, repeats, targets, threads) in models.items():
        before = torch.get_num_threads()
        torch.set_num_threads(threads or before)
        try:
            recs, m = compare_model(name, sizes, 3 if quick else repeats, targets, log)
        finally:
            torch.set_num_threads(before)
        for r in recs:
            r["config"]["torch_threads"] = threads or before
        records += recs
        meta["models"][name] = m
    records += hvp_costs(log)
    meta["memory"] = memory(log)
    peak = max(r["peak_rss_mib"] for r in meta["memory"] if r["chunk_size"])
    meta["memory_goal"] = {"limit_gib": 8.0, "peak_gib_chunked": peak / 1024,
                           "met": peak / 1024 <= 8.0}
    if not quick:
        py = [r for r in records if r["name"] == "mlp_301k: pyhessian / ours at true error 0.001"]
        ex = py[0].get("extra") if py else None
        n_py = ex["products"]["pyhessian"][0] if ex else 100
        tol = ex["settings"]["ours"][0]["tol"] if ex else 0.1
        meta["profile"] = profile(log, tol, n_py)
    return {"records": records, "hessian": meta}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the 9k model only (a smoke test)")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    ap.add_argument("--memory-child", nargs=2, metavar=("MODE", "CHUNK"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        mode, chunk = args.memory_child
        print(json.dumps(memory_child(mode, None if chunk == "None" else int(chunk))))
        return
    res = run(quick=args.quick)
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()

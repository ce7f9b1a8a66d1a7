"""Shared timers and result records for the ratio benchmarks (run as scripts or through
``benchmarks/run.py``: this folder is on ``sys.path``).

A benchmark reports *ratios measured within one run* (baseline time over our time, or a cost in
units of another operation), each with its spread over paired repeats, never an absolute time
alone: ratios transfer across machines, seconds do not.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

import torch


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def times(fn: Callable[[], object], repeats: int, device: str = "cpu",
          warmup: bool = True) -> list[float]:
    """Wall times of ``repeats`` calls of ``fn`` (after one warm-up call; CUDA-synchronised)."""
    if warmup:
        fn()
    out = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        out.append(time.perf_counter() - t0)
    return out


def timed(fn: Callable[[], object], repeats: int, device: str) -> float:
    """Median wall time of ``fn`` over ``repeats`` calls after one warm-up (CUDA-synchronised)."""
    return statistics.median(times(fn, repeats, device))


def paired_times(fns: dict[str, Callable[[], object]], repeats: int, device: str = "cpu",
                 warmup: bool = True) -> dict[str, list[float]]:
    """Interleaved timings: each repeat times every function once, in turn, so a burst of load
    from other processes hits all of them alike (the ratios of one repeat stay comparable)."""
    if warmup:
        for fn in fns.values():
            fn()
    out: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            out[name].append(time.perf_counter() - t0)
    return out


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, min, max and the quartiles of ``values``."""
    v = sorted(values)
    q = statistics.quantiles(v, n=4, method="inclusive") if len(v) > 1 else [v[0]] * 3
    return {"median": statistics.median(v), "min": v[0], "max": v[-1], "q1": q[0], "q3": q[2]}


def ratio_record(name: str, numer: Sequence[float], denom: Sequence[float], *, group: str,
                 meaning: str, config: dict, goal: dict | None = None,
                 extra: dict | None = None) -> dict:
    """One entry of ``results.json``: the per-repeat ratios ``numer[i] / denom[i]`` with their
    spread. ``meaning`` says what the ratio is (e.g. "PyHessian time / our time");
    ``goal`` is ``{"op": ">=" or "<=", "value": x}`` and gets ``met``."""
    ratios = [a / b for a, b in zip(numer, denom, strict=True)]
    rec = {"name": name, "group": group, "meaning": meaning, "ratio": spread(ratios),
           "ratios": ratios, "repeats": len(ratios), "config": config}
    if goal is not None:
        med = rec["ratio"]["median"]
        met = med >= goal["value"] if goal["op"] == ">=" else med <= goal["value"]
        rec["goal"] = {**goal, "met": bool(met)}
    if extra:
        rec["extra"] = extra
    return rec

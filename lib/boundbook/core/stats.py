"""Confidence intervals for Monte-Carlo measurements (the verdicts use them).

- :func:`wilson_interval`: for a proportion p measured on n independent samples (an accuracy
  on a test set), the Wilson score interval
  ``(p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``.
- :func:`clopper_pearson`: the exact binomial interval for ``k`` successes in ``n`` independent
  runs (the seed is the unit): the ``p`` at which ``P(X >= k) = alpha/2`` and
  ``P(X <= k) = alpha/2``, found by bisection on the binomial tail (no scipy at import time).
- :func:`bootstrap_interval`: the percentile bootstrap of a statistic over resampled groups,
  with its own fixed generator (so a check stays a pure function of its measurements).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

Z95 = 1.959963984540054
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 20260313  # fixed: the interval is a deterministic function of the data


def wilson_interval(p: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``p`` observed on ``n`` samples."""
    if n <= 0:
        return (0.0, 1.0)
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return ((centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n))


def bootstrap_interval(groups: Sequence[Sequence[int]],
                       statistic: Callable[[list[int]], float],
                       level: float = 0.95, resamples: int = BOOTSTRAP_RESAMPLES
                       ) -> tuple[float, float]:
    """Percentile interval of ``statistic(indices)`` when each group of indices is resampled
    with replacement (e.g. the seeds within each temperature)."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    values = []
    for _ in range(resamples):
        idx = [int(g[i]) for g in groups for i in rng.integers(0, len(g), size=len(g))]
        v = statistic(idx)
        if math.isfinite(v):
            values.append(v)
    if not values:
        return (math.nan, math.nan)
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return (float(lo), float(hi))


def _binom_tail_le(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 1.0 if k >= n else 0.0
    lp, lq = math.log(p), math.log1p(-p)
    terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp
             + (n - i) * lq for i in range(k + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(x - top) for x in terms))


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval for a binomial proportion, ``k`` of ``n``."""
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"clopper_pearson needs 0 <= k <= n, n > 0 (got k={k}, n={n})")
    alpha = 1.0 - level

    def solve(f: Callable[[float], float]) -> float:  # f increasing in p, root in (0, 1)
        lo, hi = 0.0, 1.0
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            if f(mid) < 0:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    lower = 0.0 if k == 0 else solve(lambda p: (1 - _binom_tail_le(k - 1, n, p)) - alpha / 2)
    upper = 1.0 if k == n else solve(lambda p: alpha / 2 - _binom_tail_le(k, n, p))
    return (lower, upper)

"""Real SGD runs around an interpolating minimum, against the mean-square operator's prediction.

Linearisation is exact for the chapter's regression
(:mod:`boundbook.chapters.sgd_linear_stability.operators`), so these runs test the mean-square
operator and the batch sampling, not a Taylor expansion. :func:`mean_square_runs` starts every
run from the minimum perturbed on the unit sphere of the row space; ``torch.func.grad`` of the
sum of every run's batch loss gives all runs' own gradients in one reverse pass (the runs, over
seeds and step sizes, never interact).

The runs come in ``seeds`` groups, each drawn from its own generator (its starts and its
batches): the seed is the unit of resampling of the 95% interval
(:func:`boundbook.core.stats.bootstrap_interval` over the seeds' means).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import grad

from boundbook.chapters.sgd_linear_stability.operators import (
    DTYPE,
    Instance,
    mean_square_operator,
)
from boundbook.core.stats import bootstrap_interval
from boundbook.numeric.threads import single_thread

__all__ = ["MonteCarlo", "mean_square_runs"]


@dataclass(frozen=True)
class MonteCarlo:
    """Mean-square distance to the minimum over ``runs`` SGD runs per step size.

    ``ratio[f][k]``: sample mean of :math:`\\|\\theta_t - \\theta^*\\|^2` at ``steps[k]``
    (:math:`\\|\\delta_0\\| = 1`), for step size ``factors[f] * eta_star``; ``lo``/``hi``: its
    95% percentile-bootstrap interval with the seed as the unit (``seeds`` generators of
    ``runs // seeds`` runs each; ``seed_means[f]``: each seed's mean at the last step);
    ``median``: the median run; ``shrunk``: the fraction of runs closer to the minimum than at
    the start; ``exact``: the operator's prediction
    :math:`\\langle I, \\mathcal Q^t(I/r)\\rangle` for the same start distribution."""

    instance: str
    sampling: str
    batch: int
    eta_star: float
    factors: tuple[float, ...]
    steps: list[int]
    ratio: list[list[float]]
    lo: list[list[float]]
    hi: list[list[float]]
    median: list[list[float]]
    shrunk: list[list[float]]
    exact: list[list[float]]
    runs: int
    seeds: int
    seed_means: list[list[float]]

    def final(self, f: int) -> dict[str, float | list[float]]:
        return {"factor": self.factors[f], "eta": self.factors[f] * self.eta_star,
                "mean": self.ratio[f][-1], "lo": self.lo[f][-1], "hi": self.hi[f][-1],
                "median": self.median[f][-1], "shrunk": self.shrunk[f][-1],
                "exact": self.exact[f][-1], "seed_means": self.seed_means[f]}


def _batch_weights(gen: torch.Generator, rows: int, n: int, batch: int,
                   sampling: str) -> torch.Tensor:
    """How many times each example enters each run's batch (rows x n)."""
    if sampling == "with":
        idx = torch.randint(0, n, (rows, batch), generator=gen)
        w = torch.zeros(rows, n, dtype=DTYPE)
        return w.scatter_add_(1, idx, torch.ones(rows, batch, dtype=DTYPE))
    if sampling == "without":
        idx = torch.rand(rows, n, generator=gen, dtype=DTYPE).argsort(1)[:, :batch]
        return torch.zeros(rows, n, dtype=DTYPE).scatter_(1, idx, 1.0)
    if sampling == "bernoulli":
        return (torch.rand(rows, n, generator=gen, dtype=DTYPE) < batch / n).to(DTYPE)
    raise ValueError(f"unknown sampling {sampling!r}")


def _seed_intervals(seed_means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95% percentile-bootstrap interval of the mean over seeds, for every (factor, step):
    ``seed_means`` is factors x steps x seeds (each seed's mean over its runs; equal run
    counts, so the mean of the seeds' means is the mean over all runs)."""
    F, K, S = seed_means.shape
    lo, hi = np.empty((F, K)), np.empty((F, K))
    for f in range(F):
        for k in range(K):
            row = seed_means[f, k]
            lo[f, k], hi[f, k] = bootstrap_interval([range(S)],
                                                    lambda idx, row=row: float(row[idx].mean()))
    return lo, hi


def seed_generators(seed: int, seeds: int) -> list[torch.Generator]:
    """One generator per seed, from ``numpy.random.SeedSequence([seed, s])``: independent
    streams for the seeds ``s = 0 .. seeds - 1`` of the run set ``seed``."""
    return [torch.Generator().manual_seed(int(np.random.SeedSequence([seed, s])
                                              .generate_state(1)[0])) for s in range(seeds)]


def mean_square_runs(inst: Instance, batch: int, eta_star: float, factors: Sequence[float],
                     steps: int, runs: int, seed: int, record_every: int = 10,
                     sampling: str = "with", seeds: int = 32) -> MonteCarlo:
    """Run SGD on the instance's regression from :math:`\\theta^* + \\delta_0`, ``runs`` runs
    per step size ``factor * eta_star`` (all batched together), :math:`\\delta_0` uniform on
    the unit sphere of the row space, and record the mean-square distance. The runs come from
    ``seeds`` independent generators (``runs // seeds`` runs per step size each), the unit of
    the interval."""
    if runs % seeds:
        raise ValueError(f"runs ({runs}) must be a multiple of seeds ({seeds})")
    with single_thread():
        return _mean_square_runs(inst, batch, eta_star, factors, steps, runs, seed,
                                 record_every, sampling, seeds)


def _mean_square_runs(inst: Instance, batch: int, eta_star: float, factors: Sequence[float],
                      steps: int, runs: int, seed: int, record_every: int,
                      sampling: str, seeds: int) -> MonteCarlo:
    G, n = inst.G, inst.n
    theta_true = torch.randn(inst.d, generator=torch.Generator().manual_seed(seed),
                             dtype=DTYPE)
    y = G @ theta_true
    theta_star = torch.linalg.pinv(G) @ y  # an interpolating minimum
    op = mean_square_operator(G, sampling, batch)
    F, per = len(factors), runs // seeds
    gens = seed_generators(seed, seeds)
    # rows: seed-major, then factor, then run within the seed
    z = torch.cat([torch.randn(F * per, op.rank, generator=g, dtype=DTYPE) for g in gens])
    delta0 = (z / z.norm(dim=1, keepdim=True)) @ op.basis
    theta = theta_star + delta0
    etas = (torch.tensor(factors, dtype=DTYPE) * eta_star).repeat_interleave(per).repeat(seeds)

    def batch_loss(th: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Sum over runs of each run's batch loss (1/B) sum_i w_i l_i: runs do not interact,
        so one reverse pass gives every run's own SGD gradient (10x faster here than vmap)."""
        return 0.5 * (w * (th @ G.T - y) ** 2).sum() / batch

    step_grad = grad(batch_loss)
    recorded, dist = [0], [torch.ones(F * runs, dtype=DTYPE)]
    for t in range(1, steps + 1):
        w = torch.cat([_batch_weights(g, F * per, n, batch, sampling) for g in gens])
        theta = theta - etas[:, None] * step_grad(theta, w)
        if t % record_every == 0 or t == steps:
            recorded.append(t)
            dist.append(((theta - theta_star) ** 2).sum(1))
    # F x K x seeds x runs-per-seed
    by_seed = torch.stack(dist).reshape(len(recorded), seeds, F, per).permute(2, 0, 1, 3)
    d2 = by_seed.reshape(F, len(recorded), runs)  # F x K x runs
    seed_means = by_seed.mean(-1).numpy()
    lo, hi = _seed_intervals(seed_means)
    # exact prediction from the operator, same start distribution (Sigma_0 = I/r)
    v0 = op.svec.T @ (torch.eye(op.rank, dtype=DTYPE) / op.rank).reshape(-1)
    ident = op.svec.T @ torch.eye(op.rank, dtype=DTYPE).reshape(-1)
    exact = []
    for f in factors:
        Q, v, row, last = op.matrix(f * eta_star), v0.clone(), [], 0
        for t in recorded:
            v = torch.linalg.matrix_power(Q, t - last) @ v
            last = t
            row.append(float(ident @ v))
        exact.append(row)
    return MonteCarlo(inst.name, sampling, batch, float(eta_star), tuple(float(f) for f in factors),
                      recorded, d2.mean(-1).tolist(), lo.tolist(), hi.tolist(),
                      d2.median(-1).values.tolist(), (d2 < 1).to(DTYPE).mean(-1).tolist(),
                      exact, runs, seeds, seed_means[:, -1, :].tolist())

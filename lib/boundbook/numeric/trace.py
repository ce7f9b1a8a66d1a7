"""Hutchinson's estimator of the Hessian trace, with its standard error.

For a random vector :math:`v` with :math:`\\mathbb{E}[vv^\\top] = I`,
:math:`\\mathbb{E}[v^\\top H v] = \\operatorname{tr} H`. With Rademacher entries
(:math:`\\pm 1`, equally likely) the variance of one probe is :math:`2\\sum_{i \\ne j} H_{ij}^2`,
the smallest of all such distributions (a diagonal :math:`H` is estimated exactly). The estimate
is the mean of :math:`n` probes :math:`v_i^\\top H v_i` (one Hessian-vector product each) and its
standard error is their sample standard deviation over :math:`\\sqrt n`; an interval of
:math:`\\pm 1.96` standard errors covers the trace about 95% of the time once :math:`n` is a few
tens. The probes are drawn on the parameters' device from a generator seeded with ``seed``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from boundbook.numeric.hessian import Data, LossFn, Params, hvp_operator

__all__ = ["TraceEstimate", "hutchinson_trace", "operator_trace", "rademacher"]


@dataclass(frozen=True)
class TraceEstimate:
    """A Monte-Carlo trace: ``estimate`` (the probes' mean), ``stderr`` (their standard
    deviation over ``sqrt(n_probes)``; ``nan`` for one probe), ``n_probes`` (= products used)
    and the probe values ``samples``."""

    estimate: float
    stderr: float
    n_probes: int
    samples: list[float]

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        """``estimate -+ z stderr`` (95% for the default ``z``)."""
        return self.estimate - z * self.stderr, self.estimate + z * self.stderr


def rademacher(dim: int, *, generator: torch.Generator, dtype: torch.dtype,
               device: torch.device | str) -> torch.Tensor:
    """A vector of independent +-1 entries (drawn on ``device`` with ``generator``)."""
    bits = torch.randint(0, 2, (dim,), generator=generator, dtype=dtype, device=device)
    return bits.mul_(2).sub_(1)


def _summary(samples: list[float]) -> tuple[float, float]:
    n = len(samples)
    mean = math.fsum(samples) / n
    if n < 2:
        return mean, float("nan")
    var = math.fsum((s - mean) ** 2 for s in samples) / (n - 1)
    return mean, math.sqrt(var / n)


def operator_trace(matvec: Callable[[torch.Tensor], torch.Tensor], dim: int,
                   n_probes: int = 100, *, tol: float | None = None, min_probes: int = 10,
                   seed: int = 0, dtype: torch.dtype = torch.float64,
                   device: torch.device | str = "cpu") -> TraceEstimate:
    """Hutchinson's trace of the symmetric operator ``matvec`` (Rademacher probes).

    Draws up to ``n_probes`` probes; with ``tol``, stops once at least ``min_probes`` were
    drawn and the standard error is below ``tol`` times the estimate's magnitude.
    """
    if n_probes < 1:
        raise ValueError(f"n_probes must be positive, got {n_probes}")
    gen = torch.Generator(device=device).manual_seed(int(seed))
    samples: list[float] = []
    for i in range(n_probes):
        v = rademacher(dim, generator=gen, dtype=dtype, device=device)
        samples.append(float(torch.dot(v.double(), matvec(v).double())))
        if tol is not None and i + 1 >= max(min_probes, 2):
            est, se = _summary(samples)
            if se <= tol * abs(est):
                break
    est, se = _summary(samples)
    return TraceEstimate(est, se, len(samples), samples)


def hutchinson_trace(loss_fn: LossFn, params: Params, n_probes: int = 100, *,
                     tol: float | None = None, min_probes: int = 10, seed: int = 0,
                     mode: str = "reverse", data: Data = None,
                     chunk_size: int | None = None) -> TraceEstimate:
    """:math:`\\operatorname{tr} \\nabla^2 L(\\theta)` by Hutchinson's estimator, one HVP per
    probe (``mode``, ``data`` and ``chunk_size`` as in
    :func:`boundbook.numeric.hessian.hvp_operator`; ``tol`` and ``min_probes`` as in
    :func:`operator_trace`)."""
    matvec, dim, theta = hvp_operator(loss_fn, params, mode, data=data, chunk_size=chunk_size)
    return operator_trace(matvec, dim, n_probes, tol=tol, min_probes=min_probes, seed=seed,
                          dtype=theta.dtype, device=theta.device)

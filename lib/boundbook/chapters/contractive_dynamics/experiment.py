"""The experiments of the chapter "Neural contractive dynamical systems" (torch, float64,
CPU; plain dataclasses out).

For each family of :mod:`.fields` and each instance seed:

- **points** (uniform in the box :math:`[-L, L]^2`): the log norm :math:`\\mu_2` of the
  parametrised :math:`\\hat J` and of the *true* Jacobian :math:`\\partial f/\\partial x`
  (autograd, :func:`boundbook.numeric.contraction.update_jacobians`), their relative
  difference, and the equilibrium ratio :math:`x^\\top f(x)/\\|x\\|^2`;
- **trajectories** (RK4, step ``dt``, horizon ``T``): pairs started at a uniform point
  :math:`x` and :math:`x + r u` (:math:`u` a uniform unit vector). Per pair, the worst
  average contraction rate :math:`c = \\min_{t} -\\log(\\|\\delta(t)\\|/\\|\\delta(0)\\|)/t`:
  the pair obeys :math:`\\|\\delta(t)\\| \\le e^{-\\epsilon t}\\|\\delta(0)\\|` for all
  :math:`t \\le T` iff :math:`c \\ge \\epsilon`. The same statistic of :math:`\\|x(t)\\|`
  measures contraction towards the equilibrium. (A fitted slope, as
  :func:`boundbook.numeric.contraction.empirical_contraction_rate` gives, would average a
  transient expansion away; the certificate bounds every time, so the statistic is the
  worst one.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from boundbook.chapters.contractive_dynamics.fields import DTYPE, FAMILIES, Field, draw
from boundbook.numeric.contraction import log_norm, update_jacobians
from boundbook.numeric.threads import single_thread


def rk4(field: Field, dt: float):
    """The RK4 step map of :math:`\\dot x = f(x)` (for one point or a batch)."""

    def step(x: torch.Tensor) -> torch.Tensor:
        k1 = field.f(x)
        k2 = field.f(x + 0.5 * dt * k1)
        k3 = field.f(x + 0.5 * dt * k2)
        k4 = field.f(x + dt * k3)
        return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)

    return step


def worst_rate(dist: torch.Tensor, dt: float) -> torch.Tensor:
    """Per column, :math:`\\min_{t>0} -\\log(d_t/d_0)/t` of distances ``dist`` (steps, B)."""
    t = dt * torch.arange(1, dist.shape[0], dtype=DTYPE)[:, None]
    rates = -torch.log(dist[1:] / dist[:1]) / t
    return rates.min(0).values


@dataclass(frozen=True)
class FamilyResult:
    """One family over its instance seeds (arrays over all instances concatenated; ``inst``
    gives each row's instance)."""

    family: str
    seeds: list[int]
    lognorm_jhat: np.ndarray  # per point
    lognorm_true: np.ndarray  # per point
    jac_gap: np.ndarray  # per point: max|J_true - Jhat| / max|Jhat|
    eq_ratio: np.ndarray  # per point: x.f(x)/|x|^2
    pair_rate: np.ndarray  # per pair: worst average contraction rate
    eq_rate: np.ndarray  # per trajectory (both members of each pair): towards x0
    pair_sep: np.ndarray  # per pair: max_t |delta(t)|/|delta(0)|
    worst_curve: np.ndarray  # the pair of smallest worst rate: |delta(t)|/|delta(0)| over t
    times: np.ndarray


@dataclass(frozen=True)
class Result:
    eps: float
    box: float
    dt: float
    steps: int
    radius: float
    families: dict[str, FamilyResult]


@single_thread()
def run(seeds: Sequence[int], eps: float, box: float, points: int, pairs: int, radius: float,
        dt: float, steps: int, seed: int) -> Result:
    """Every family on every instance seed; starts drawn from ``seed`` (declared in
    :func:`boundbook.chapters.contractive_dynamics.protocol.settings`)."""
    out = {}
    for fam in FAMILIES:
        acc: dict[str, list[np.ndarray]] = {k: [] for k in (
            "ln_hat", "ln_true", "gap", "eq", "pair", "eqr", "sep")}
        worst = (np.inf, None)
        for s in seeds:
            field = draw(fam, s, eps)
            g = torch.Generator().manual_seed(int(seed) * 1000 + int(s))
            X = (2 * torch.rand(points, 2, generator=g, dtype=DTYPE) - 1) * box
            Jh, Jt = field.jhat(X), update_jacobians(field.f, X)
            acc["ln_hat"].append(log_norm(Jh).numpy())
            acc["ln_true"].append(log_norm(Jt).numpy())
            acc["gap"].append(((Jt - Jh).abs().amax((1, 2)) / Jh.abs().amax((1, 2))).numpy())
            acc["eq"].append(((X * field.f(X)).sum(1) / (X * X).sum(1)).numpy())
            x0 = (2 * torch.rand(pairs, 2, generator=g, dtype=DTYPE) - 1) * box
            ang = 2 * np.pi * torch.rand(pairs, generator=g, dtype=DTYPE)
            y0 = x0 + radius * torch.stack([torch.cos(ang), torch.sin(ang)], 1)
            step = rk4(field, dt)
            zs = [torch.cat([x0, y0])]  # both members of every pair in one batch
            for _ in range(steps):
                zs.append(step(zs[-1]))
            zt = torch.stack(zs)  # (steps+1, 2 pairs, 2)
            xt, yt = zt[:, :pairs], zt[:, pairs:]
            dist = torch.linalg.vector_norm(xt - yt, dim=-1)
            pr = worst_rate(dist, dt)
            acc["pair"].append(pr.numpy())
            acc["sep"].append((dist / dist[:1]).amax(0).numpy())
            eqd = torch.cat([torch.linalg.vector_norm(xt, dim=-1),
                             torch.linalg.vector_norm(yt, dim=-1)], 1)
            acc["eqr"].append(worst_rate(eqd, dt).numpy())
            i = int(torch.argmin(pr))
            if float(pr[i]) < worst[0]:
                worst = (float(pr[i]), (dist[:, i] / dist[0, i]).numpy())
        cat = {k: np.concatenate(v) for k, v in acc.items()}
        out[fam] = FamilyResult(fam, list(seeds), cat["ln_hat"], cat["ln_true"], cat["gap"],
                                cat["eq"], cat["pair"], cat["eqr"], cat["sep"],
                                worst[1], dt * np.arange(steps + 1))
    return Result(eps, box, dt, steps, radius, out)

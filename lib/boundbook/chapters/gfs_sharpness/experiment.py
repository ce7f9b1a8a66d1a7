"""Experiments of the chapter "GD decreases the sharpness of the gradient-flow solution".

Scalar networks :math:`f(w) = \\prod_i w_i`, loss :math:`\\tfrac12(\\prod_i w_i - 1)^2`, full
gradient descent with a constant step :math:`\\eta`, float64 throughout. All starting points
of one depth run as one batch: :func:`gd_steps` is the batched form of the single-vector step
:func:`gd_step` (``torch.func.vmap(gd_step)`` gives the same numbers, tested; written directly
because a vmapped call costs about ten times more per step at this size), and the Hessians at
the end points are ``vmap(hessian(loss))``. A run whose residual leaves
``[-RESIDUAL_BLOWUP, RESIDUAL_BLOWUP]`` (or stops being finite) is *diverged* from that step on
and frozen (divergence is data, never NaN in a record).

**GFS sharpness** (:func:`gfs_sharpness`): gradient flow keeps every balance
:math:`w_i^2 - w_k^2` (:mod:`boundbook.chapters.gfs_sharpness.derivation`), so the squared
weights of the gradient-flow solution are :math:`x_i = u + \\beta_i`, :math:`\\beta_i = w_i^2 -
\\min_k w_k^2`, with :math:`u` the root of :math:`\\sum_i \\log(u + \\beta_i) = 0` on
:math:`[0, 1]` (the left side increases in :math:`u`, is :math:`-\\infty` at 0 and
:math:`\\ge 0` at 1); we bisect (``BISECT`` halvings, then
``NEWTON`` Newton steps, float64) and return
:math:`\\sum_i 1/x_i`. No ODE is integrated.

**Initial points** (:func:`initial_weights`): depth :math:`D`, a target GFS sharpness
:math:`S_0` and an initial residual :math:`r_0`: balances :math:`\\beta = s\\,(D-1, \\dots, 1,
0)/(D-1)` with :math:`s` found by bisection so that the GFS sharpness is :math:`S_0`, then
:math:`w_i = \\sqrt{u_0 + \\beta_i}` with :math:`\\prod_i w_i = 1 + r_0` (all weights positive).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.func import hessian, vmap

from boundbook.chapters.gfs_sharpness.claims import INCREASE_TOL
from boundbook.chapters.gfs_sharpness.protocol import GFSSettings
from boundbook.numeric.divergence import BLOWUP
from boundbook.numeric.threads import single_thread
from boundbook.symbolic.quadratic import gd_edge

DTYPE = torch.float64
BISECT = 30
NEWTON = 4
RESIDUAL_BLOWUP = BLOWUP
"""A run diverges at the first step whose residual :math:`|r| = |\\prod_i w_i - 1|` exceeds
this (the book's blow-up level, 1e6) or whose weights stop being finite.

This is deliberately *not* the book's loss-ratio rule (:func:`boundbook.numeric.divergence.
diverged`, loss above 1e6 times the initial loss): the level here is absolute, on the
residual, because the starts lie at very different distances from the minimum manifold and the
initial loss is no scale for divergence. The edge runs start at :math:`|r_0| = 0.01` (loss
:math:`5\\cdot 10^{-5}`; 0.001 in full mode), where the ratio rule would stop a run at
:math:`|r| = 10` (1 in full mode), and a start on the manifold (:math:`r_0 = 0`) at any step
off it; the breakdown runs start as far out as :math:`|r_0| = 8`, where it would wait for
:math:`|r| = 8000`. The product's target is 1 whatever the start, so :math:`|r| > 10^6` means
the same for every run. (Quick mode, applied to the recorded trajectories: the ratio rule
flags a different divergence step than this one in 30 of the 128 runs.)"""
FACTOR_BOUNDS = (0.9, 1.0, 1.1, 1.25, 1.5, 2.0)
"""Scopes for the monotonicity check: steps whose pair factors all lie in [-b, b]."""


# --- the GFS and the starting points -------------------------------------------------------

def _bisect_increasing(fn, lo: torch.Tensor, hi: torch.Tensor, iters: int
                       ) -> torch.Tensor:
    """Root of an increasing function, elementwise, by bisection on [lo, hi]."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        pos = fn(mid) > 0
        hi = torch.where(pos, mid, hi)
        lo = torch.where(pos, lo, mid)
    return 0.5 * (lo + hi)


def gfs_point(w: torch.Tensor) -> torch.Tensor:
    """Squared weights of the gradient-flow solution of each ``w[..., :]`` (see module doc):
    ``BISECT`` halvings of [0, 1], then ``NEWTON`` Newton steps on
    :math:`g(u) = \\sum_i \\log(u + \\beta_i)` (whose derivative at the root is the GFS sharpness
    itself), kept inside the bisection bracket."""
    w2 = w.to(DTYPE) ** 2
    beta = w2 - w2.min(dim=-1, keepdim=True).values
    zero = torch.zeros(w2.shape[:-1], dtype=DTYPE, device=w.device)

    def logprod(u: torch.Tensor) -> torch.Tensor:
        return torch.log(u[..., None] + beta).sum(-1)

    lo, hi = zero, torch.ones_like(zero)
    for _ in range(BISECT):
        mid = 0.5 * (lo + hi)
        pos = logprod(mid) > 0
        hi = torch.where(pos, mid, hi)
        lo = torch.where(pos, lo, mid)
    u = 0.5 * (lo + hi)
    for _ in range(NEWTON):
        x = u[..., None] + beta
        step = torch.log(x).sum(-1) / (1.0 / x).sum(-1)
        u = torch.clamp(u - step, lo, hi)
    return u[..., None] + beta


def gfs_sharpness(w: torch.Tensor) -> torch.Tensor:
    """GFS sharpness :math:`\\sum_i 1/x_i` of every weight vector ``w[..., :]``."""
    return (1.0 / gfs_point(w)).sum(-1)


@single_thread()
def initial_weights(depth: int, sharpness0: Sequence[float], residual0: Sequence[float]
                    ) -> torch.Tensor:
    """Positive starting weights ``[len(sharpness0), depth]`` with the given GFS sharpness and
    initial residual (pairs taken elementwise)."""
    s0 = torch.as_tensor(sharpness0, dtype=DTYPE)
    p0 = 1.0 + torch.as_tensor(residual0, dtype=DTYPE)
    if depth < 2 or bool((s0 < depth).any()) or bool((p0 <= 0).any()):
        raise ValueError("need depth >= 2, GFS sharpness >= depth (its minimum), 1 + r0 > 0")
    pattern = torch.arange(depth - 1, -1, -1, dtype=DTYPE) / (depth - 1)

    def sharp_of_scale(s: torch.Tensor) -> torch.Tensor:
        w = torch.sqrt(s[:, None] * pattern + 1.0)  # any point with these balances
        return gfs_sharpness(w) - s0

    scale = _bisect_increasing(sharp_of_scale, torch.zeros_like(s0), torch.full_like(s0, 1e3),
                               iters=100)
    beta = scale[:, None] * pattern

    def logprod(u: torch.Tensor) -> torch.Tensor:
        return torch.log(u[:, None] + beta).sum(-1) - 2 * torch.log(p0)

    hi = torch.maximum(p0 ** (2.0 / depth), torch.ones_like(p0))
    u = _bisect_increasing(logprod, torch.zeros_like(s0), hi, iters=200)
    return torch.sqrt(u[:, None] + beta)


# --- gradient descent ----------------------------------------------------------------------

def loss(w: torch.Tensor) -> torch.Tensor:
    return 0.5 * (torch.prod(w) - 1.0) ** 2


def gd_step(w: torch.Tensor, eta: torch.Tensor) -> torch.Tensor:
    """One GD step for one weight vector, :math:`w_i - \\eta\\, r \\prod_{j \\ne i} w_j` (the
    gradient of :func:`loss` written out; the tests compare it with ``torch.func.grad``)."""
    return gd_steps(w[None], eta.reshape(1))[0]


def gd_steps(w: torch.Tensor, eta: torch.Tensor) -> torch.Tensor:
    """The same step for a batch ``w`` ``[runs, depth]`` (products of the other weights from
    prefix and suffix products, so a zero weight is handled exactly). It is the batched form
    of :func:`gd_step` (``torch.func.vmap(gd_step)`` gives the same numbers, tested), written
    directly because a vmapped call costs ten times more per step at this size."""
    ones = torch.ones_like(w[:, :1])
    prefix = torch.cumprod(torch.cat([ones, w[:, :-1]], dim=1), dim=1)
    suffix = torch.flip(torch.cumprod(torch.cat([ones, torch.flip(w[:, 1:], [1])], dim=1),
                                      dim=1), [1])
    others = prefix * suffix
    r = w.prod(dim=1, keepdim=True) - 1.0
    return w - eta[:, None] * r * others


@dataclass(frozen=True)
class Runs:
    """GD trajectories of a batch of starts of one depth: ``w`` ``[steps + 1, runs, depth]``
    (frozen after divergence), ``sharp`` ``[steps + 1, runs]`` the GFS sharpness along them,
    ``eta`` ``[runs]``, ``diverged_at`` (-1 if never), ``group`` (``"main"``, ``"edge"`` or
    ``"breakdown"``) and the starting GFS sharpness and residual."""

    w: np.ndarray
    sharp: np.ndarray
    eta: np.ndarray
    diverged_at: np.ndarray
    depth: int
    group: np.ndarray
    sharpness0: np.ndarray
    residual0: np.ndarray

    @property
    def steps(self) -> int:
        return self.w.shape[0] - 1

    def select(self, group: str) -> Runs:
        """The runs of one group."""
        idx = np.flatnonzero(self.group == group)
        return Runs(self.w[:, idx], self.sharp[:, idx], self.eta[idx], self.diverged_at[idx],
                    self.depth, self.group[idx], self.sharpness0[idx], self.residual0[idx])


@single_thread()
def run_gd(w0: torch.Tensor, eta: float | Sequence[float], steps: int,
           group: Sequence[str] | None = None) -> Runs:
    """GD from every row of ``w0`` (one depth, one batch). Divergence is found after the loop
    (first step with a non-finite weight or :math:`|r| >` ``RESIDUAL_BLOWUP``) and the
    trajectory is frozen from there on, so no inf/NaN leaves this function."""
    w = w0.to(DTYPE).clone()
    n = w.shape[0]
    etas = torch.as_tensor(np.broadcast_to(np.asarray(eta, dtype=np.float64), (n,)).copy(),
                           dtype=DTYPE)
    out = torch.empty((steps + 1, n, w.shape[1]), dtype=DTYPE)
    out[0] = w
    for t in range(1, steps + 1):
        w = gd_steps(w, etas)
        out[t] = w
    r = out.prod(dim=-1) - 1.0
    bad = ~torch.isfinite(out).all(dim=-1) | ~(r.abs() <= RESIDUAL_BLOWUP)
    hit = bad.any(dim=0)
    at = torch.where(hit, bad.to(torch.int64).argmax(dim=0), torch.full((n,), -1))
    last = torch.where(hit, at - 1, torch.full((n,), steps))
    frozen = torch.arange(steps + 1)[:, None] > last[None, :]
    out = torch.where(frozen[..., None], out[last, torch.arange(n)][None], out)
    w0d = w0.to(DTYPE)
    labels = np.asarray(group if group is not None else ["main"] * n)
    return Runs(out.numpy(), gfs_sharpness(out).numpy(), etas.numpy(), at.numpy(),
                int(w0.shape[1]), labels, gfs_sharpness(w0d).numpy(),
                (w0d.prod(dim=1) - 1.0).numpy())


@single_thread()
def simulate(cfg: GFSSettings) -> list[Runs]:
    """All runs of the chapter, one batch per depth: the main grid (every GFS sharpness x
    initial residual), the edge runs (GFS sharpness just above 2/eta, residual small) and the
    breakdown runs (initial eta |r_0| on a grid, far from the minimum manifold)."""
    edge = gd_edge(cfg.eta)
    starts = ([(s, r, "main") for s in cfg.sharpness0 for r in cfg.residual0]
              + [(m * edge, r, "edge") for m in cfg.edge_multiples for r in cfg.edge_residual0]
              + [(s, t / cfg.eta, "breakdown") for s in cfg.breakdown_sharpness0
                 for t in cfg.breakdown_eta_r0])
    out = []
    for d in cfg.depths:
        w0 = initial_weights(d, [x[0] for x in starts], [x[1] for x in starts])
        out.append(run_gd(w0, cfg.eta, cfg.steps, [x[2] for x in starts]))
    return out


# --- per-step analyses ---------------------------------------------------------------------

@dataclass(frozen=True)
class StepTable:
    """Per step of every live run: GFS sharpness before/after, the pair factors of the step
    (min and max over pairs), the identity's worst error, residual and :math:`\\eta |r|`."""

    sharp_before: np.ndarray
    sharp_after: np.ndarray
    factor_min: np.ndarray
    factor_max: np.ndarray
    identity_error: np.ndarray
    saddle: np.ndarray
    eta_r: np.ndarray
    depth: np.ndarray
    run: np.ndarray
    step: np.ndarray

    @property
    def rel_increase(self) -> np.ndarray:
        return (self.sharp_after - self.sharp_before) / self.sharp_before


@single_thread()
def step_table(runs: Runs, identity_coef: float = 1.0) -> StepTable:
    """Analyse every step ``t -> t + 1`` taken before divergence.

    ``identity_error``: :math:`\\max_{i<k} |b^+_{ik} - b_{ik}(1 - c\\,q_{ik})| / s_{ik}` with
    :math:`q_{ik} = \\eta^2 r^2 \\pi^2/(w_i^2 w_k^2)`, :math:`c` = ``identity_coef`` and
    :math:`s_{ik} = w_i^2 + w_k^2 + (w_i^+)^2 + (w_k^+)^2` (the size of the squared weights).
    """
    w = torch.from_numpy(runs.w)
    live = np.arange(runs.steps)[:, None] < _last_step(runs)[None, :]
    before, after = w[:-1], w[1:]
    p = torch.prod(before, dim=-1)
    r = p - 1.0
    eta = torch.from_numpy(runs.eta)[None, :]
    pairs = list(itertools.combinations(range(runs.depth), 2))
    i_idx = torch.tensor([a for a, _ in pairs])
    k_idx = torch.tensor([b for _, b in pairs])
    w2, w2n = before**2, after**2
    q = (eta * r * p)[..., None] ** 2 / (w2[..., i_idx] * w2[..., k_idx])
    fac = 1.0 - q
    b = w2[..., i_idx] - w2[..., k_idx]
    bn = w2n[..., i_idx] - w2n[..., k_idx]
    scale = w2[..., i_idx] + w2[..., k_idx] + w2n[..., i_idx] + w2n[..., k_idx]
    err = ((bn - b * (1.0 - identity_coef * q)).abs() / scale).amax(-1)
    sharp = runs.sharp
    # the GFS formula assumes the flow reaches pi = 1; it ends at a saddle instead when pi < 0
    # and the two smallest |w_i| are equal (both would have to cross zero at once)
    small = torch.sort(w2n, dim=-1).values[..., :2]
    saddle = (torch.prod(after, dim=-1) < 0) & \
        ((small[..., 1] - small[..., 0]) <= 1e-12 * small[..., 1])
    tt, rr = np.nonzero(live)
    return StepTable(
        sharp_before=sharp[:-1][tt, rr], sharp_after=sharp[1:][tt, rr],
        factor_min=fac.amin(-1).numpy()[tt, rr], factor_max=fac.amax(-1).numpy()[tt, rr],
        identity_error=err.numpy()[tt, rr], saddle=saddle.numpy()[tt, rr],
        eta_r=(eta * r.abs()).numpy()[tt, rr],
        depth=np.full(tt.shape, runs.depth), run=rr, step=tt)


def concat_tables(tables: Sequence[StepTable]) -> StepTable:
    return StepTable(*(np.concatenate([getattr(t, f) for t in tables])
                       for f in StepTable.__dataclass_fields__))


@single_thread()
def final_hessian_sharpness(runs: Runs) -> np.ndarray:
    """Top eigenvalue of the loss Hessian (``torch.func.hessian``, vmapped) at each run's last
    iterate: the sharpness of the point GD stopped at, measured without the GFS formula."""
    last = torch.from_numpy(runs.w[-1])
    H = vmap(hessian(loss))(last)
    return torch.linalg.eigvalsh(H)[:, -1].numpy()


# --- summaries for the claims ---------------------------------------------------------------

def monotone_summary(table: StepTable, bounds: Sequence[float] = FACTOR_BOUNDS
                     ) -> dict[str, Any]:
    """Largest relative GFS-sharpness increase over the steps whose pair factors all lie in
    [-b, b], for each scope b; and over the steps outside [-1, 1]."""
    inc = table.rel_increase
    finite = np.isfinite(inc) & ~table.saddle
    out: dict[str, Any] = {"max_increase": {}, "steps": {}, "increasing_steps": {},
                           "saddle_steps": int(table.saddle.sum()),
                           "nonfinite_steps": int((~np.isfinite(inc)).sum())}
    for b in bounds:
        sel = finite & (table.factor_min >= -b) & (table.factor_max <= b)
        out["max_increase"][str(b)] = float(inc[sel].max()) if sel.any() else -math.inf
        out["steps"][str(b)] = int(sel.sum())
        out["increasing_steps"][str(b)] = int((inc[sel] > INCREASE_TOL.value).sum())
    outside = finite & ((table.factor_min < -1.0) | (table.factor_max > 1.0))
    out["outside"] = {"max_increase": float(inc[outside].max()) if outside.any() else -math.inf,
                      "steps": int(outside.sum()),
                      "increasing_steps": int((inc[outside] > INCREASE_TOL.value).sum())}
    return out


def run_monotonicity(runs: Sequence[Runs]) -> dict[str, Any]:
    """The monotonicity claim's measurements, per run of every group: its start (depth, GFS
    sharpness, residual, :math:`\\eta|r_0|`), whether it diverged, and the largest relative
    change :math:`(S_{t+1} - S_t)/S_t` of the GFS sharpness over its steps (``max_change``,
    positive: a rise), the number of steps that rose by more than ``INCREASE_TOL`` and the
    first of them. Steps ending at a saddle (outside the GFS formula's domain) or non-finite
    are excluded and counted."""
    out, saddles, nonfinite = [], 0, 0
    for rs in runs:
        table = step_table(rs)
        inc = table.rel_increase
        keep = np.isfinite(inc) & ~table.saddle
        saddles += int(table.saddle.sum())
        nonfinite += int((~np.isfinite(inc)).sum())
        for j in range(rs.w.shape[1]):
            sel = keep & (table.run == j)
            ch = inc[sel]
            rising = table.step[sel][ch > INCREASE_TOL.value]
            out.append({"group": str(rs.group[j]), "depth": rs.depth,
                        "sharpness0": round(float(rs.sharpness0[j]), 6),
                        "residual0": round(float(rs.residual0[j]), 6),
                        "eta_r0": float(rs.eta[j] * abs(rs.residual0[j])),
                        "diverged": bool(rs.diverged_at[j] >= 0),
                        "steps": int(sel.sum()),
                        "max_change": float(ch.max()) if ch.size else -math.inf,
                        "rising_steps": int(rising.size),
                        "first_rise": int(rising[0]) if rising.size else -1})
    return {"runs": out, "saddle_steps": saddles, "nonfinite_steps": nonfinite}


def _last_step(runs: Runs) -> np.ndarray:
    """Number of real steps of each run (a diverged run's blow-up step is not one)."""
    return np.where(runs.diverged_at < 0, runs.steps, runs.diverged_at - 1)


def identity_rows(runs: Sequence[Runs], max_rows: int = 500, seed: int = 0
                  ) -> list[list[float]]:
    """A deterministic sample of (b, b+, q, scale) rows for the pair (0, 1) of every real
    step, for the identity claim's record (a mutated coefficient is re-decided from it)."""
    rows = []
    for rs in runs:
        w = rs.w
        live = np.arange(rs.steps)[:, None] < _last_step(rs)[None, :]
        a, b = w[:-1], w[1:]
        p = np.prod(a, axis=-1)
        q = (rs.eta[None, :] * (p - 1.0) * p) ** 2 / (a[..., 0] ** 2 * a[..., 1] ** 2)
        block = np.stack([a[..., 0] ** 2 - a[..., 1] ** 2, b[..., 0] ** 2 - b[..., 1] ** 2, q,
                          a[..., 0] ** 2 + a[..., 1] ** 2 + b[..., 0] ** 2 + b[..., 1] ** 2],
                         axis=-1)
        rows.append(block[live])
    allrows = np.concatenate(rows)
    rng = np.random.default_rng(seed)
    if len(allrows) > max_rows:
        allrows = allrows[np.sort(rng.choice(len(allrows), size=max_rows, replace=False))]
    return [[float(x) for x in row] for row in allrows]


def edge_summary(runs: Sequence[Runs], eta: float, converged_tol: float = 1e-8
                 ) -> dict[str, Any]:
    """Final state of the runs started just above the edge (group ``"edge"``): converged
    (final :math:`|r| \\le` ``converged_tol``)?, the Hessian sharpness at the last iterate, and
    the initial GFS sharpness."""
    conv, final, s0, depth = [], [], [], []
    for rs in (x.select("edge") for x in runs):
        r_end = np.prod(rs.w[-1], axis=1) - 1.0
        conv += [bool(abs(x) <= converged_tol and d < 0) for x, d in zip(r_end, rs.diverged_at,
                                                                         strict=True)]
        final += [float(x) for x in final_hessian_sharpness(rs)]
        s0 += [round(float(x), 6) for x in rs.sharpness0]
        depth += [rs.depth] * len(r_end)
    return {"converged": conv, "final_sharpness": final, "sharpness0": s0, "depth": depth,
            "eta": eta, "edge": gd_edge(eta), "converged_tol": converged_tol}


def outcome_table(runs: Sequence[Runs], group: str = "main") -> list[dict[str, Any]]:
    """Per run of a group: depth, initial GFS sharpness and residual, diverged?, monotone
    along the whole run?, largest eta|r|, final Hessian sharpness (``inf`` if diverged)."""
    rows = []
    for rs in (x.select(group) for x in runs):
        path = rs.sharp
        final = final_hessian_sharpness(rs)
        for j in range(path.shape[1]):
            end = int(_last_step(rs)[j])
            seg = path[: end + 1, j]
            inc = np.diff(seg) / seg[:-1]
            p = np.prod(rs.w[: end + 1, j], axis=1)
            rows.append({"depth": rs.depth, "sharpness0": round(float(rs.sharpness0[j]), 6),
                         "residual0": round(float(rs.residual0[j]), 6),
                         "diverged": bool(rs.diverged_at[j] >= 0),
                         "monotone": bool((inc <= INCREASE_TOL.value).all()),
                         "max_eta_r": float(np.max(np.abs(p - 1.0)) * rs.eta[j]),
                         "final_r": float(p[-1] - 1.0),
                         "final_sharpness": float(final[j]) if rs.diverged_at[j] < 0
                         else math.inf})
    return rows

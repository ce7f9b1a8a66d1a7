"""Experiments of the chapter "Muon's stable step" (matrix least squares, float64).

**Model.** :math:`L(W) = \\tfrac12\\|XW - Y\\|_F^2` with :math:`X \\in \\mathbb{R}^{N\\times n}`,
:math:`W \\in \\mathbb{R}^{n\\times m}`, curvature :math:`A = X^\\top X`, gradient
:math:`G = X^\\top(XW - Y)`. *Muon* here is the orthogonalised step without momentum,
:math:`W^+ = W - \\eta\\,UV^\\top` with :math:`UV^\\top` the **exact polar factor** of
:math:`G` from a float64 SVD (singular values below ``RANK_TOL`` times the largest are
dropped, so a rank-:math:`r` gradient gives a rank-:math:`r` step), except in the spectrum
sweep, whose tested threshold is that of the practical update :math:`O = \\mathrm{NS}_5(G)`
(Keller Jordan's 5-step quintic Newton–Schulz, :func:`newton_schulz`); the exact polar factor
is kept there as a by-construction illustration.

**Instances.** *Controlled* instances prescribe the gradient: :math:`A = Q\\,\\mathrm{diag}
(\\lambda)\\,Q^\\top` (``Q`` Haar-random), :math:`X = P\\,\\mathrm{diag}(\\sqrt\\lambda)\\,Q^\\top`
(``P`` with orthonormal columns), :math:`Y = XW^*`, and :math:`W = W^* + A^{-1}U\\Sigma V^\\top`,
so that :math:`G = U\\Sigma V^\\top` with the singular values :math:`\\Sigma` and rank we choose
(``U``, ``V`` Haar-random). *Isotropic* instances have :math:`A = \\lambda_{\\max} I` (the
equality case of the descent bound). *Generic* instances draw ``X``, ``W``, ``Y`` Gaussian
(full-rank gradient, inconsistent data).

**What is measured** (no formula of the bound enters a measurement):

- the *one-step descent threshold* :math:`\\eta_1 = \\sup\\{\\eta : L(W - \\eta D) < L(W)\\}`
  of a direction :math:`D`, by bracketing and bisection on the actual loss (``BISECT`` halvings);
  by the exact expansion it equals :math:`2\\langle G, D\\rangle/\\|XD\\|_F^2` for any
  :math:`D` (a test checks this for :math:`D = \\mathrm{NS}_5(G)`);
- GD's *iterated* threshold: the smallest :math:`\\eta` at which the loss after ``gd_steps``
  GD steps exceeds the initial loss (the shared sweep harness's ``grew`` criterion), bracketed
  per instance by rounds of vmapped sweeps (:func:`gd_thresholds`), starting from the
  formula-free bracket :math:`[2/\\|A\\|_F, 2\\sqrt n/\\|A\\|_F]`;
- iterated Muon and GD at multiples of GD's critical step: GD's divergence (the harness's
  :math:`10^6` blow-up) and Muon's largest excess loss.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from boundbook.chapters.muon_stable_step.derivation import descent_step_bound, muon_ceiling
from boundbook.chapters.muon_stable_step.protocol import MuonSettings
from boundbook.numeric.divergence import BLOWUP
from boundbook.numeric.sweep import step_size_sweep
from boundbook.numeric.threads import single_thread
from boundbook.symbolic.quadratic import critical_step

DTYPE = torch.float64
RANK_TOL = 1e-10
BISECT = 80


# --- instances -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Problems:
    """A batch of least-squares problems and current points (all ``[batch, ...]``)."""

    X: torch.Tensor
    Y: torch.Tensor
    W: torch.Tensor
    kind: tuple[str, ...]

    @property
    def A(self) -> torch.Tensor:
        return self.X.mT @ self.X

    def grad(self, W: torch.Tensor | None = None) -> torch.Tensor:
        W = self.W if W is None else W
        return self.X.mT @ (self.X @ W - self.Y)

    def loss(self, W: torch.Tensor | None = None) -> torch.Tensor:
        W = self.W if W is None else W
        return 0.5 * ((self.X @ W - self.Y) ** 2).sum(dim=(-2, -1))

    def min_loss(self) -> torch.Tensor:
        W = torch.linalg.lstsq(self.X, self.Y).solution
        return self.loss(W)

    def curvature_range(self) -> tuple[torch.Tensor, torch.Tensor]:
        ev = torch.linalg.eigvalsh(self.A)
        return ev[:, -1], ev[:, 0]


def _haar(gen: torch.Generator, rows: int, cols: int) -> torch.Tensor:
    q, r = torch.linalg.qr(torch.randn(rows, cols, generator=gen, dtype=DTYPE))
    return q * torch.sign(torch.diagonal(r))[None, :]


def controlled(cfg: MuonSettings, spectra: Sequence[Sequence[float]], isotropic: bool,
               seed: int) -> Problems:
    """One problem per gradient spectrum (its length is the rank). Anisotropic curvature:
    eigenvalues log-uniform in [lambda_min, lambda_max] with lambda_max pinned."""
    gen = torch.Generator().manual_seed(seed)
    n, m, N = cfg.n, cfg.m, cfg.samples
    Xs, Ys, Ws = [], [], []
    for sigma in spectra:
        r = len(sigma)
        if isotropic:
            lam = torch.full((n,), cfg.lambda_max, dtype=DTYPE)
        else:
            u = torch.rand(n, generator=gen, dtype=DTYPE)
            lam = torch.exp(math.log(cfg.lambda_min) + u * math.log(cfg.lambda_max
                                                                     / cfg.lambda_min))
            lam[0] = cfg.lambda_max
        Q, P = _haar(gen, n, n), _haar(gen, N, n)
        X = P @ torch.diag(torch.sqrt(lam)) @ Q.mT
        A_inv = Q @ torch.diag(1.0 / lam) @ Q.mT
        U, V = _haar(gen, n, r), _haar(gen, m, r)
        G = U @ torch.diag(torch.as_tensor(sigma, dtype=DTYPE)) @ V.mT
        W_star = torch.randn(n, m, generator=gen, dtype=DTYPE)
        Xs.append(X)
        Ys.append(X @ W_star)
        Ws.append(W_star + A_inv @ G)
    kind = "isotropic" if isotropic else "anisotropic"
    return Problems(torch.stack(Xs), torch.stack(Ys), torch.stack(Ws), (kind,) * len(spectra))


def generic(cfg: MuonSettings, count: int, seed: int) -> Problems:
    """Gaussian ``X``, ``W``, ``Y``: full-rank gradients, inconsistent data."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(count, cfg.samples, cfg.n, generator=gen, dtype=DTYPE) / math.sqrt(
        cfg.samples)
    W = torch.randn(count, cfg.n, cfg.m, generator=gen, dtype=DTYPE)
    Y = torch.randn(count, cfg.samples, cfg.m, generator=gen, dtype=DTYPE)
    return Problems(X, Y, W, ("generic",) * count)


def random_spectra(cfg: MuonSettings, count: int, seed: int) -> list[list[float]]:
    """Random ranks in 1..min(n, m) and singular values log-uniform over three decades."""
    rng = np.random.default_rng(seed)
    p = min(cfg.n, cfg.m)
    out = []
    for _ in range(count):
        r = int(rng.integers(1, p + 1))
        out.append(sorted((10 ** rng.uniform(-2, 1, size=r)).tolist(), reverse=True))
    return out


@single_thread()
def descent_problems(cfg: MuonSettings) -> tuple[Problems, Problems, Problems]:
    """The one-step descent test's problems: generic (``descent_instances``), controlled with
    random spectra and anisotropic curvature (as many), and the equality case
    :math:`X^\\top X = \\lambda_{\\max} I` (a third as many)."""
    n, seed = cfg.descent_instances, cfg.seed
    return (generic(cfg, n, seed),
            controlled(cfg, random_spectra(cfg, n, seed + 1), isotropic=False, seed=seed + 2),
            controlled(cfg, random_spectra(cfg, n // 3, seed + 3), isotropic=True,
                       seed=seed + 4))


def scaling_spectra(cfg: MuonSettings, seed: int) -> tuple[list[list[float]], list[str]]:
    """Spectra of fixed rank, flat to spiky, with the top singular value varied independently:
    'spike' (sigma_1, s, ..., s) and 'geometric' (sigma_1 rho^{(i-1)/(r-1)}), s, rho log-spaced
    in [1e-3, 1], sigma_1 log-uniform in [0.1, 10]."""
    rng = np.random.default_rng(seed + 7)
    r, k = cfg.scaling_rank, cfg.scaling_points
    spectra, family = [], []
    for fam in ("spike", "geometric"):
        for x in np.logspace(-3, 0, k):
            s1 = float(10 ** rng.uniform(-1, 1))
            if fam == "spike":
                sig = [s1] + [s1 * float(x)] * (r - 1)
            else:
                sig = [s1 * float(x) ** (i / (r - 1)) for i in range(r)]
            spectra.append(sig)
            family.append(fam)
    return spectra, family


# --- directions and thresholds --------------------------------------------------------------

def polar(G: torch.Tensor, rank_tol: float = RANK_TOL) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact polar factor :math:`UV^\\top` of each ``G`` (SVD, small singular values dropped)
    and the singular values."""
    U, S, Vh = torch.linalg.svd(G, full_matrices=False)
    keep = (S > rank_tol * S[..., :1]).to(G.dtype)
    return (U * keep[..., None, :]) @ Vh, S


def newton_schulz(G: torch.Tensor, steps: int = 5) -> torch.Tensor:
    """The quintic Newton–Schulz iteration used by Muon's reference implementation
    (coefficients 3.4445, -4.7750, 2.0315, input scaled by its Frobenius norm), in float64:
    an approximate polar factor whose singular values lie roughly in [0.7, 1.2]."""
    a, b, c = 3.4445, -4.7750, 2.0315
    X = G / (G.norm(dim=(-2, -1), keepdim=True) + 1e-7)
    tall = X.shape[-2] > X.shape[-1]
    if tall:
        X = X.mT
    for _ in range(steps):
        M = X @ X.mT
        X = a * X + (b * M + c * M @ M) @ X
    return X.mT if tall else X


def descent_threshold(problems: Problems, D: torch.Tensor, iters: int = BISECT) -> np.ndarray:
    """:math:`\\sup\\{\\eta : L(W - \\eta D) < L(W)\\}` per problem, by doubling then bisection on
    the actual loss (batched over problems)."""
    L0 = problems.loss()

    def worse(step: torch.Tensor) -> torch.Tensor:
        return problems.loss(problems.W - step[:, None, None] * D) >= L0

    hi = torch.full_like(L0, 1e-8)
    for _ in range(200):
        bad = worse(hi)
        if bool(bad.all()):
            break
        hi = torch.where(bad, hi, 2 * hi)
    lo = torch.zeros_like(hi)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        bad = worse(mid)
        hi = torch.where(bad, mid, hi)
        lo = torch.where(bad, lo, mid)
    return (0.5 * (lo + hi)).numpy()


@dataclass(frozen=True)
class DescentTable:
    """Per problem: kind, rank, min(n, m), nuclear norm, sigma_1, lambda_max and lambda_mean of
    A, measured one-step thresholds of Muon (exact polar factor and Newton–Schulz) and GD."""

    kind: tuple[str, ...]
    rank: np.ndarray
    p: int
    nuclear: np.ndarray
    sigma1: np.ndarray
    lambda_max: np.ndarray
    lambda_mean: np.ndarray
    muon: np.ndarray
    muon_ns: np.ndarray
    gd: np.ndarray

    def bound(self) -> np.ndarray:
        """The sufficient step :math:`2\\bar\\sigma/\\lambda_{\\max}` of each problem."""
        return np.array([descent_step_bound(float(nu), float(rr), float(lm))
                         for nu, rr, lm in zip(self.nuclear, self.rank, self.lambda_max,
                                               strict=True)])


@single_thread()
def descent_table(problems: Problems) -> DescentTable:
    """Measure every column of :class:`DescentTable` on a batch of problems."""
    G = problems.grad()
    P, S = polar(G)
    rank = (S > RANK_TOL * S[..., :1]).sum(-1)
    ev = torch.linalg.eigvalsh(problems.A)
    return DescentTable(
        kind=problems.kind, rank=rank.numpy(), p=min(G.shape[-2:]),
        nuclear=S.sum(-1).numpy(), sigma1=S[..., 0].numpy(), lambda_max=ev[:, -1].numpy(),
        lambda_mean=ev.mean(-1).numpy(), muon=descent_threshold(problems, P),
        muon_ns=descent_threshold(problems, newton_schulz(G)),
        gd=descent_threshold(problems, G))


def concat_descent(tables: Sequence[DescentTable]) -> DescentTable:
    """One table from several (the problems in order)."""
    kinds: tuple[str, ...] = sum((t.kind for t in tables), ())
    arrays = {f: np.concatenate([getattr(t, f) for t in tables])
              for f in ("rank", "nuclear", "sigma1", "lambda_max", "lambda_mean", "muon",
                        "muon_ns", "gd")}
    return DescentTable(kind=kinds, p=tables[0].p, **arrays)


@single_thread()
def overshoot(problems: Problems, descent: DescentTable, factor: float = 1.1) -> np.ndarray:
    """Loss change of one exact-polar Muon step of ``factor`` times the sufficient step, per
    problem of the equality case (``problems``: the isotropic batch, whose rows are the
    ``"isotropic"`` rows of ``descent``); positive: the loss rose."""
    P, _ = polar(problems.grad())
    bound = descent.bound()[np.array(descent.kind) == "isotropic"]
    step = torch.as_tensor(factor * bound)[:, None, None]
    return (problems.loss(problems.W - step * P) - problems.loss()).numpy()


@dataclass(frozen=True)
class GDThresholds:
    """GD's iterated threshold per problem: the bracket [last stable, first grew] after the
    rounds, and its midpoint."""

    last_stable: np.ndarray
    first_grew: np.ndarray

    @property
    def estimate(self) -> np.ndarray:
        return 0.5 * (self.last_stable + self.first_grew)


def gd_thresholds(problems: Problems, steps: int, rounds: int, grid: int) -> GDThresholds:
    """Rounds of one vmapped sweep each (:func:`boundbook.numeric.sweep.step_size_sweep`):
    every problem carries, frozen in its state, its curvature and its own bracket
    ``[lo, lo + width]``; the sweep's grid ``u`` in (0, 1] maps to :math:`\\eta = lo + u\\,width`.
    GD runs on the excess loss :math:`\\tfrac12\\mathrm{tr}(E^\\top A E)`,
    :math:`E = W - W_{\\mathrm{ls}}` (same iterates as on :math:`L`)."""
    A = problems.A
    W_ls = torch.linalg.lstsq(problems.X, problems.Y).solution
    E = (problems.W - W_ls).reshape(len(A), -1)
    n, m = problems.W.shape[-2:]
    fro = torch.linalg.matrix_norm(A)
    lo, hi = 2.0 / fro, 2.0 * math.sqrt(n) / fro
    u = torch.linspace(0.0, 1.0, grid + 1, dtype=DTYPE)[1:]
    size_e, size_a = n * m, n * n

    def unpack(state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                             torch.Tensor]:
        e = state[:size_e].reshape(n, m)
        a = state[size_e:size_e + size_a].reshape(n, n)
        return e, a, state[-2], state[-1]

    def loss(state: torch.Tensor) -> torch.Tensor:
        e, a, _, _ = unpack(state)
        return 0.5 * (e * (a @ e)).sum()

    def step(state: torch.Tensor, uu: torch.Tensor) -> torch.Tensor:
        e, a, b_lo, b_w = unpack(state)
        e_new = e - (b_lo + uu * b_w) * (a @ e)
        return torch.cat([e_new.reshape(-1), state[size_e:]])

    for _ in range(rounds):
        states = torch.cat([E, A.reshape(len(A), -1), lo[:, None], (hi - lo)[:, None]], dim=1)
        res = step_size_sweep(step, loss, states, u, steps, blowup=BLOWUP, record_every=steps)
        flags = res.grew | res.diverged
        new_lo, new_hi = lo.clone(), hi.clone()
        for i in range(len(A)):
            hit = np.flatnonzero(flags[i])
            if hit.size == 0:  # nothing grew inside the bracket: keep its top as stable
                new_lo[i] = hi[i]
                new_hi[i] = hi[i] * 2
                continue
            j = int(hit[0])
            width = hi[i] - lo[i]
            new_hi[i] = lo[i] + float(u[j]) * width
            new_lo[i] = lo[i] + (float(u[j - 1]) * width if j > 0 else 0.0)
        lo, hi = new_lo, new_hi
    return GDThresholds(lo.numpy(), hi.numpy())


@dataclass(frozen=True)
class ScalingResult:
    """The spectrum sweep: per problem its family, curvature kind, sigma_bar, sigma_1, Muon's
    one-step threshold with the Newton–Schulz update (``muon``, the tested quantity) and with
    the exact polar factor (``muon_polar``, linear in ||G||_* by construction), and GD's
    iterated threshold."""

    family: tuple[str, ...]
    kind: tuple[str, ...]
    sigma_bar: np.ndarray
    sigma1: np.ndarray
    muon: np.ndarray
    muon_polar: np.ndarray
    gd: np.ndarray
    gd_width: np.ndarray

    @property
    def ratio(self) -> np.ndarray:
        """:math:`\\eta^*_{\\mathrm{Muon}}/(\\sigma_1\\eta^*_{\\mathrm{GD}})`: the spectral length
        of Muon's largest descending step over that of GD's largest stable step."""
        return self.muon / (self.sigma1 * self.gd)


@single_thread()
def scaling_experiment(cfg: MuonSettings) -> ScalingResult:
    """The spectrum sweep (:func:`scaling_spectra`), anisotropic and isotropic curvature in one
    batch: Muon's one-step thresholds and GD's iterated threshold per problem."""
    spectra, family = scaling_spectra(cfg, cfg.seed)
    probs = [controlled(cfg, spectra, isotropic=iso, seed=cfg.seed + 100 + iso)
             for iso in (False, True)]
    batch = Problems(torch.cat([p.X for p in probs]), torch.cat([p.Y for p in probs]),
                     torch.cat([p.W for p in probs]), probs[0].kind + probs[1].kind)
    P, S = polar(batch.grad())
    keep = S > RANK_TOL * S[..., :1]
    sigma_bar = (S * keep).sum(-1) / keep.sum(-1)
    gd = gd_thresholds(batch, cfg.gd_steps, cfg.gd_rounds, cfg.gd_grid)
    return ScalingResult(tuple(family) * 2, batch.kind, sigma_bar.numpy(), S[..., 0].numpy(),
                         descent_threshold(batch, newton_schulz(batch.grad())),
                         descent_threshold(batch, P), gd.estimate,
                         gd.first_grew - gd.last_stable)


# --- iterated Muon vs GD ---------------------------------------------------------------------

@dataclass(frozen=True)
class BoundedResult:
    """Iterated GD and Muon at multiples of GD's critical step 2/lambda_max, per (multiple,
    problem): GD diverged? (and when), largest excess-loss ratio of each method over the
    initial excess loss, our ceiling term B(eta) over the initial excess loss, Muon's ratio to
    the ceiling max(Delta_0, B(eta)), loss curves."""

    multiples: tuple[float, ...]
    gd_diverged: np.ndarray
    gd_diverged_at: np.ndarray
    gd_max_ratio: np.ndarray
    muon_max_ratio: np.ndarray
    muon_ceiling_ratio: np.ndarray
    ceiling_over_d0: np.ndarray
    gd_curves: np.ndarray
    muon_curves: np.ndarray
    blowup: float


@single_thread()
def bounded_experiment(cfg: MuonSettings) -> BoundedResult:
    """GD through the shared sweep harness (the book's divergence rule,
    :mod:`boundbook.numeric.divergence`: excess loss non-finite or above ``BLOWUP`` = 1e6 times
    the initial one), Muon by its own loop; both from the same generic problems."""
    probs = generic(cfg, cfg.bounded_instances, cfg.seed + 300)
    lmax, lmin = probs.curvature_range()
    L_star = probs.min_loss()
    W_ls = torch.linalg.lstsq(probs.X, probs.Y).solution
    p = min(cfg.n, cfg.m)
    mults = cfg.bounded_multiples
    gd_div, gd_at, gd_max, gd_curves = [], [], [], []
    mu_max, mu_ceil, mu_curves, b_over_d0 = [], [], [], []
    n, m = probs.W.shape[-2:]
    for i in range(len(probs.X)):
        A = probs.A[i]
        E0 = (probs.W[i] - W_ls[i]).reshape(-1)

        def excess(e: torch.Tensor, A: torch.Tensor = A) -> torch.Tensor:
            E = e.reshape(n, m)
            return 0.5 * (E * (A @ E)).sum()

        def gd(e: torch.Tensor, eta: torch.Tensor, A: torch.Tensor = A) -> torch.Tensor:
            E = e.reshape(n, m)
            return (E - eta * (A @ E)).reshape(-1)

        etas = [mu * critical_step(float(lmax[i])) for mu in mults]
        res = step_size_sweep(gd, excess, E0, etas, cfg.bounded_steps, blowup=BLOWUP)
        gd_div.append(res.diverged[0])
        gd_at.append(res.diverged_at[0])
        gd_max.append(res.losses[:, 0, :].max(axis=0) / res.initial_loss[0])
        gd_curves.append(res.losses[:, 0, :] / res.initial_loss[0])
        curves = muon_run(probs, i, etas, cfg.bounded_steps) - float(L_star[i])
        d0 = float(probs.loss()[i] - L_star[i])
        mu_curves.append(curves / d0)
        mu_max.append(curves.max(axis=0) / d0)
        ceil = np.array([muon_ceiling(e, p, float(lmax[i]), float(lmin[i])) for e in etas])
        b_over_d0.append(ceil / d0)
        mu_ceil.append(curves.max(axis=0) / np.maximum(d0, ceil))
    return BoundedResult(tuple(mults), np.array(gd_div).T, np.array(gd_at).T,
                         np.array(gd_max).T, np.array(mu_max).T, np.array(mu_ceil).T,
                         np.array(b_over_d0).T,
                         np.array(gd_curves).transpose(2, 0, 1),
                         np.array(mu_curves).transpose(2, 0, 1), res.blowup)


def muon_run(probs: Problems, i: int, etas: Sequence[float], steps: int) -> np.ndarray:
    """Loss curves ``[steps + 1, len(etas)]`` of iterated Muon (exact polar factor) on problem
    ``i``, one batch over the step sizes."""
    k = len(etas)
    X = probs.X[i].expand(k, -1, -1)
    Y = probs.Y[i].expand(k, -1, -1)
    W = probs.W[i].expand(k, -1, -1).clone()
    one = Problems(X, Y, W, ("generic",) * k)
    eta = torch.as_tensor(etas, dtype=DTYPE)[:, None, None]
    out = [one.loss(W)]
    for _ in range(steps):
        P, _ = polar(one.grad(W))
        W = W - eta * P
        out.append(one.loss(W))
    return torch.stack(out).numpy()

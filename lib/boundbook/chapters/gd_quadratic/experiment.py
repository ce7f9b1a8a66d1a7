"""Experiments of the chapter "Gradient descent on a quadratic" (and the sweep harness's
calibration).

Every measurement here is a vmapped step-size sweep (:func:`boundbook.numeric.sweep.
step_size_sweep`) of gradient descent, heavy ball or Nesterov momentum on quadratics
:math:`L(x) = \\tfrac12 x^\\top A x` with *known* spectra,
:math:`A = Q\\,\\mathrm{diag}(\\lambda)\\,Q^\\top` with :math:`Q` a Haar-random orthogonal matrix
from a seeded generator, in float64.

**Divergence** (the harness's definition, used unchanged): a run diverges when within ``steps``
steps its loss exceeds ``blowup`` (:math:`10^6`) times its initial loss or stops being finite.
The *measured threshold* of a quadratic is the midpoint of the bracket [largest stable step,
smallest divergent step] after ``rounds`` sweeps of ``n`` step sizes, each sweep inside the
previous bracket (as :func:`boundbook.numeric.sweep.divergence_threshold` does). The first
bracket comes from the Frobenius norm alone: :math:`\\|A\\|_F/\\sqrt d \\le \\lambda_{\\max}
\\le \\|A\\|_F`, so :math:`2/\\lambda_{\\max}` lies in :math:`[2/\\|A\\|_F, 2\\sqrt d/\\|A\\|_F]`,
whatever the bound under test says.

**Packing.** To sweep several quadratics (or several momentum settings) in one vmapped batch,
each run carries, frozen in its state, which quadratic it is on (a one-hot vector), its
method and its own affine step-size map :math:`\\eta = \\eta_{lo} + u\\,w` of the shared grid
:math:`u \\in [0, 1]`; only :math:`x` and the momentum buffer are updated (:class:`Pack`). The
update uses the quadratic's gradient :math:`A x` in closed form, which halves the cost of a
step against autodiff; the tests check that it reproduces the library's
:func:`boundbook.numeric.sweep.gd_step` and ``heavy_ball_step`` (``torch.func.grad``) to
rounding.

Small batched problems run single-threaded (:func:`single_thread`): on a shared two-core
machine, thread hand-offs cost more than these tiny matrix products.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from boundbook.chapters.gd_quadratic.derivation import (
    contraction_rate,
    finite_horizon_offset,
    nesterov_edge,
    optimal_rate,
    optimal_step,
)
from boundbook.numeric.sweep import SweepResult, step_size_sweep
from boundbook.numeric.threads import single_thread
from boundbook.symbolic.quadratic import critical_step, heavy_ball_edge

DTYPE = torch.float64
SHAPES = ("uniform", "log-uniform", "spiked", "clustered-top")
CONTROL = (0.98, 1.02)
"""Step sizes of the control runs, as multiples of the derived critical step."""


# ----------------------------------------------------------------------------- quadratics

@dataclass(frozen=True)
class Quadratic:
    """:math:`\\tfrac12 x^\\top A x` with ``A = Q diag(eigenvalues) Q^T`` (float64)."""

    label: str
    shape: str
    eigenvalues: np.ndarray  # descending
    A: np.ndarray
    x0: np.ndarray
    seed: int

    @property
    def dim(self) -> int:
        return int(self.eigenvalues.size)

    @property
    def lam_max(self) -> float:
        return float(self.eigenvalues[0])

    @property
    def lam_min(self) -> float:
        return float(self.eigenvalues[-1])

    @property
    def kappa(self) -> float:
        """Condition number (rounded to 12 digits: the nominal value, not its float echo)."""
        return float(f"{self.lam_max / self.lam_min:.12g}")

    def top_share(self) -> float:
        """The top eigendirection's share of the initial loss (for the finite-horizon offset)."""
        w, V = np.linalg.eigh(self.A)
        c = V.T @ self.x0
        return float(w[-1] * c[-1] ** 2 / (c @ (w * c)))


def spectrum(shape: str, dim: int, kappa: float, lam_max: float) -> np.ndarray:
    """Eigenvalues (descending) of a given shape with the given extremes.

    ``uniform``: evenly spaced; ``log-uniform``: geometrically spaced; ``spiked``: one outlier
    at ``lam_max`` over a bulk evenly spaced in ``[lam_min, lam_max/5]``; ``clustered-top``:
    two top eigenvalues 1% apart over a geometric bulk.
    """
    lo = lam_max / kappa
    if shape == "uniform":
        lam = np.linspace(lo, lam_max, dim)
    elif shape == "log-uniform":
        lam = np.geomspace(lo, lam_max, dim)
    elif shape == "spiked":
        lam = np.append(np.linspace(lo, lam_max / 5, dim - 1), lam_max)
    elif shape == "clustered-top":
        lam = np.append(np.geomspace(lo, 0.99 * lam_max, dim - 1), lam_max)
    else:
        raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")
    return np.sort(lam)[::-1].copy()


def haar_orthogonal(dim: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-distributed orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


def random_quadratic(shape: str, dim: int, kappa: float, lam_max: float, seed: int,
                     label: str = "") -> Quadratic:
    """:math:`A = Q\\,\\mathrm{diag}(\\lambda)\\,Q^\\top` with a seeded Haar :math:`Q` and a
    standard Gaussian start :math:`x_0`."""
    rng = np.random.default_rng(seed)
    lam = spectrum(shape, dim, kappa, lam_max)
    Q = haar_orthogonal(dim, rng)
    A = (Q * lam) @ Q.T
    A = 0.5 * (A + A.T)
    x0 = rng.standard_normal(dim)
    return Quadratic(label or f"{shape}, d={dim}, κ={kappa:g}", shape, lam, A, x0, seed)


def quadratic_suite(specs: Sequence[tuple[str, int, float]], seed: int) -> list[Quadratic]:
    """One quadratic per ``(shape, dim, kappa)``; :math:`\\lambda_{\\max}` log-uniform in
    [0.5, 50] from the seed (so the critical steps span two decades)."""
    rng = np.random.default_rng([seed, 2103])
    out = []
    for i, (shape, dim, kappa) in enumerate(specs):
        lam_max = float(np.exp(rng.uniform(math.log(0.5), math.log(50.0))))
        out.append(random_quadratic(shape, dim, kappa, lam_max, seed=seed * 1000 + i))
    return out


# ----------------------------------------------------------------------------- packed sweeps

METHODS = ("gd", "heavy_ball", "nesterov")


@dataclass(frozen=True)
class Setting:
    """One family of runs: a method with momentum ``beta`` on quadratic number ``quad``."""

    quad: int
    method: str
    beta: float = 0.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")


@dataclass(frozen=True)
class Pack:
    """Quadratics and momentum methods in one vmapped batch.

    State ``[x (D) | v (D) | one-hot (q) | beta | nesterov | eta_lo | eta_width]``; the update
    is PyTorch's ``SGD(momentum=beta, nesterov=...)`` on the selected quadratic:
    :math:`g = A_q x`, :math:`v^+ = \\beta v + g`, :math:`x^+ = x - \\eta d` with
    :math:`d = v^+` (heavy ball; gradient descent when :math:`\\beta = 0`) or
    :math:`d = g + \\beta v^+` (Nesterov), and :math:`\\eta = \\eta_{lo} + u\\,\\eta_{width}`
    for the sweep's grid value :math:`u`. Everything after ``v`` is frozen.
    """

    A: torch.Tensor  # [q, D, D], zero-padded
    X0: torch.Tensor  # [q, D]

    @property
    def q(self) -> int:
        return int(self.A.shape[0])

    @property
    def D(self) -> int:
        return int(self.A.shape[1])

    @classmethod
    def of(cls, quads: Sequence[Quadratic]) -> Pack:
        D = max(q.dim for q in quads)
        A = torch.zeros(len(quads), D, D, dtype=DTYPE)
        X0 = torch.zeros(len(quads), D, dtype=DTYPE)
        for i, q in enumerate(quads):
            A[i, : q.dim, : q.dim] = torch.as_tensor(q.A, dtype=DTYPE)
            X0[i, : q.dim] = torch.as_tensor(q.x0, dtype=DTYPE)
        return cls(A, X0)

    def _parts(self, s: torch.Tensor) -> tuple[torch.Tensor, ...]:
        D, q = self.D, self.q
        return s[:D], s[D: 2 * D], s[2 * D: 2 * D + q], s[2 * D + q:]

    def loss(self, s: torch.Tensor) -> torch.Tensor:
        """:math:`\\tfrac12 x^\\top A_q x` (the minimiser is 0, :math:`L^* = 0`)."""
        x, _, onehot, _ = self._parts(s)
        return 0.5 * (onehot @ (self.A @ x)) @ x

    def step(self, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        x, v, onehot, rest = self._parts(s)
        beta, nesterov, lo, width = rest[0], rest[1], rest[2], rest[3]
        g = onehot @ (self.A @ x)  # the gradient of 1/2 x^T A_q x
        v = beta * v + g
        direction = v + nesterov * (g + beta * v - v)
        return torch.cat([x - (lo + u * width) * direction, v, s[2 * self.D:]])

    def starts(self, settings: Sequence[Setting], lo: Sequence[float], width: Sequence[float],
               x0: torch.Tensor | None = None) -> torch.Tensor:
        """Packed starts; ``x0`` ``[k, D]`` overrides the quadratics' own starting points."""
        eye = torch.eye(self.q, dtype=DTYPE)
        xs = [self.X0[st.quad] for st in settings] if x0 is None else list(x0)
        rows = [torch.cat([x, torch.zeros(self.D, dtype=DTYPE), eye[st.quad],
                           torch.tensor([st.beta, float(st.method == "nesterov"), a, w],
                                        dtype=DTYPE)])
                for st, x, a, w in zip(settings, xs, lo, width, strict=True)]
        return torch.stack(rows)


@dataclass(frozen=True)
class Brackets:
    """Per setting, the divergence bracket ``last_stable < eta_c <= first_diverged``.

    ``found`` is False when no bracket was established (nothing diverged in the range, or a
    later round's lowest step already diverged). ``grid_etas`` / ``grid_diverged``: the first
    round's step sizes and outcomes (for figures); ``runs``: total runs swept.
    """

    last_stable: np.ndarray
    first_diverged: np.ndarray
    found: np.ndarray
    grid_etas: np.ndarray
    grid_diverged: np.ndarray
    rounds: int
    runs: int

    @property
    def estimate(self) -> np.ndarray:
        return np.where(self.found, 0.5 * (self.last_stable + self.first_diverged), np.nan)


def bracket_thresholds(pack: Pack, settings: Sequence[Setting], lo: np.ndarray,
                       hi: np.ndarray, *, n: int, rounds: int, steps: int, first_steps: int,
                       blowup: float) -> Brackets:
    """Bracket the smallest divergent step of every setting, all settings in one vmapped
    sweep per round, each round inside the previous bracket (``n`` steps sizes per setting).

    The first round runs only ``first_steps`` steps, to place the bracket: a run that
    diverges within them diverges within ``steps``, but one that survives them may not, so
    the next round starts two grid points below the last survivor. Later rounds run the full
    ``steps``; if the lowest step of such a round diverges, the setting has no bracket.
    """
    lo, hi = np.asarray(lo, float).copy(), np.asarray(hi, float).copy()
    k = lo.size
    last, first, found = lo.copy(), hi.copy(), np.zeros(k, bool)
    active = np.ones(k, bool)
    u = np.linspace(0.0, 1.0, n)
    grid_e = grid_d = None
    runs = 0
    for r in range(rounds):
        horizon = first_steps if r == 0 else steps
        res = step_size_sweep(pack.step, pack.loss, pack.starts(settings, lo, hi - lo), u,
                              horizon, blowup=blowup, record_every=horizon)
        runs += res.diverged.size
        etas = lo[:, None] + u[None, :] * (hi - lo)[:, None]
        if r == 0:
            grid_e, grid_d = etas, res.diverged.copy()
        for i in np.flatnonzero(active):
            hit = np.flatnonzero(res.diverged[i])
            j = int(hit[0]) if hit.size else -1
            if j <= 0:  # nothing diverged, or the bracket's low end already did
                found[i], active[i] = False, False
                continue
            found[i] = True
            first[i] = etas[i, j]
            back = 2 if (r == 0 and first_steps < steps) else 1
            last[i] = etas[i, max(j - back, 0)]
            lo[i], hi[i] = last[i], first[i]
        if not active.any():
            break
    if rounds == 1 and first_steps < steps:
        raise ValueError("one round with a shorter first horizon brackets nothing")
    return Brackets(last, first, found, grid_e, grid_d, rounds, runs)


# ----------------------------------------------------------------------------- experiments

@dataclass(frozen=True)
class CriticalStepResult:
    """Measured divergence thresholds of GD on each quadratic."""

    labels: list[str]
    lam_max: np.ndarray
    predicted: np.ndarray  # critical_step(lam_max) = 2/lam_max
    brackets: Brackets
    top_share: np.ndarray
    horizon_offset: np.ndarray  # finite-horizon offset r_T the sweep itself predicts
    steps: int
    blowup: float

    @property
    def measured(self) -> np.ndarray:
        return self.brackets.estimate

    @property
    def ratio(self) -> np.ndarray:
        """Measured threshold times lam_max (2 if the textbook bound is exact)."""
        return self.measured * self.lam_max


def critical_steps(quads: Sequence[Quadratic], *, n: int = 64, rounds: int = 2,
                   steps: int = 1000, first_steps: int = 250,
                   blowup: float = 1e6) -> CriticalStepResult:
    """Measured divergence threshold of GD on every quadratic (one packed sweep per round);
    the first bracket comes from the Frobenius norm only (module docstring)."""
    pack = Pack.of(quads)
    fro = np.array([np.linalg.norm(q.A) for q in quads])
    dims = np.array([q.dim for q in quads], float)
    settings = [Setting(i, "gd") for i in range(len(quads))]
    with single_thread():
        br = bracket_thresholds(pack, settings, 0.9 * 2 / fro, 1.1 * 2 * np.sqrt(dims) / fro,
                                n=n, rounds=rounds, steps=steps, first_steps=first_steps,
                                blowup=blowup)
    share = np.array([q.top_share() for q in quads])
    return CriticalStepResult(
        labels=[q.label for q in quads], lam_max=np.array([q.lam_max for q in quads]),
        predicted=np.array([critical_step(q.lam_max) for q in quads]), brackets=br,
        top_share=share,
        horizon_offset=np.array([finite_horizon_offset(blowup, s, steps) for s in share]),
        steps=steps, blowup=blowup)


@dataclass(frozen=True)
class RateResult:
    """GD's contraction in the energy norm
    :math:`e_t = \\|x_t - x^*\\|_A = \\sqrt{2(L(x_t) - L^*)}`.

    *The grid* (each quadratic's own start): ``etas[q, j]`` :math:`= \\tfrac{j+1}{n/2}\\,\\eta^*`
    (column ``star_index`` is :math:`\\eta^*` itself), ``asymptotic[q, j]`` the factor
    :math:`(e_T/e_{T/2})^{2/T}` measured over the second half of the run (nan where the run
    diverged), ``worst_case[q, j]`` :math:`\\rho(\\eta) = \\max_i |1-\\eta\\lambda_i|`,
    ``bound_excess[q, j]`` :math:`\\max_t \\ln\\big(e_t / (\\rho(\\eta)^t e_0)\\big)` (the
    bound holds where it is :math:`\\le 0`).

    *The optimal step* (``starts`` further Gaussian starts per quadratic, at :math:`\\eta^*`):
    ``star_rates[q, k]`` the factor of each start over the second half, ``rate_at_star`` the
    slowest of them (the worst case over starts that the theorem is about),
    ``log_energy_star[q, m]`` the largest :math:`\\ln(e_t/e_0)` over the starts at
    :math:`t = m\\cdot` ``every``.
    """

    labels: list[str]
    kappa: np.ndarray
    eta_star: np.ndarray
    rho_star: np.ndarray
    etas: np.ndarray
    asymptotic: np.ndarray
    worst_case: np.ndarray
    bound_excess: np.ndarray
    star_rates: np.ndarray
    log_energy_star: np.ndarray
    every: int
    star_index: int
    steps: int

    @property
    def rate_at_star(self) -> np.ndarray:
        return self.star_rates.max(axis=1)


def _energy_logs(res: SweepResult, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ln(e_t/e_0) ``[t, run, eta]``, the recorded steps, and the factor over ``[T/2, T]``."""
    t = res.recorded_steps.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_e = 0.5 * np.log(res.losses / res.losses[0])
        mid = int(np.searchsorted(res.recorded_steps, steps // 2))
        factor = np.exp((log_e[-1] - log_e[mid]) / (t[-1] - t[mid]))
    return log_e, t, np.where(res.diverged, np.nan, factor)


def contraction_rates(quads: Sequence[Quadratic], *, n: int = 64, steps: int = 400,
                      starts: int = 16, every: int = 5, seed: int = 0,
                      blowup: float = 1e6) -> RateResult:
    """GD from each quadratic's start at ``n`` step sizes up to twice the optimal one, and
    from ``starts`` more Gaussian starts at the optimal step itself, the loss recorded at
    every step (the minimiser is 0 and :math:`L^* = 0`)."""
    pack = Pack.of(quads)
    star = np.array([optimal_step(q.lam_min, q.lam_max) for q in quads])
    half_n = n // 2
    lo = star / half_n
    own = [Setting(i, "gd") for i in range(len(quads))]
    many = [Setting(i, "gd") for i in range(len(quads)) for _ in range(starts)]
    rng = np.random.default_rng([seed, 77])
    x0 = torch.zeros(len(many), pack.D, dtype=DTYPE)
    for r, st in enumerate(many):
        x0[r, : quads[st.quad].dim] = torch.as_tensor(rng.standard_normal(quads[st.quad].dim))
    with single_thread():
        res = step_size_sweep(pack.step, pack.loss, pack.starts(own, lo, (n - 1) * lo),
                              np.linspace(0.0, 1.0, n), steps, blowup=blowup, record_every=1)
        res_star = step_size_sweep(pack.step, pack.loss,
                                   pack.starts(many, star.repeat(starts), [0.0] * len(many),
                                               x0), [0.0], steps, blowup=blowup,
                                   record_every=1)
    etas = lo[:, None] * np.arange(1, n + 1)[None, :]
    log_e, t, asym = _energy_logs(res, steps)
    worst = np.array([[contraction_rate(e, q.eigenvalues) for e in row]
                      for q, row in zip(quads, etas, strict=True)])
    excess = np.max(log_e - t[:, None, None] * np.log(worst)[None], axis=0)
    excess = np.where(res.diverged, np.nan, excess)
    log_s, _, fac = _energy_logs(res_star, steps)
    if not np.isfinite(log_s).all():
        raise FloatingPointError("the loss at the optimal step underflowed or diverged: "
                                 "shorten rate_steps")
    log_s = log_s[:, :, 0].reshape(len(t), len(quads), starts)
    kappa = np.array([q.kappa for q in quads])
    return RateResult([q.label for q in quads], kappa, star,
                      np.array([optimal_rate(k) for k in kappa]), etas, asym, worst, excess,
                      fac[:, 0].reshape(len(quads), starts),
                      log_s.max(axis=2)[::every].T.copy(), every, half_n - 1, steps)


def momentum_quadratic(seed: int, kappa: float = 10.0, lam_max: float = 4.0) -> Quadratic:
    """The rotated 2-D quadratic of the momentum experiments (eigenvalues ``lam_max`` and
    ``lam_max/kappa``)."""
    return random_quadratic("uniform", 2, kappa, lam_max, seed=seed * 1000 + 999,
                            label=f"2-D, κ={kappa:g}")


def derived_critical_step(method: str, beta: float, lam_max: float) -> float:
    """The derived critical step of a method: sympy's edge curvature is :math:`c/\\eta`, so
    :math:`\\eta_c = c/\\lambda_{\\max}` with :math:`c` the edge at unit step."""
    if method == "gd":
        return critical_step(lam_max)
    unit = heavy_ball_edge(1.0, beta) if method == "heavy_ball" else nesterov_edge(1.0, beta)
    return unit / lam_max


@dataclass(frozen=True)
class MomentumResult:
    """Measured edges of heavy ball and Nesterov momentum on one quadratic, per beta."""

    quadratic: Quadratic
    settings: list[Setting]
    brackets: Brackets
    derived: np.ndarray  # derived critical step per setting
    steps: int

    def edges(self, method: str) -> dict[str, Any]:
        """Per beta: measured and derived :math:`\\eta_c\\lambda_{\\max}`, the bracket."""
        lam = self.quadratic.lam_max
        idx = [i for i, st in enumerate(self.settings) if st.method == method]
        est = self.brackets.estimate
        return {"beta": [self.settings[i].beta for i in idx],
                "measured": [float(est[i] * lam) if self.brackets.found[i] else None
                             for i in idx],
                "derived": [float(self.derived[i] * lam) for i in idx],
                "bracket": [[float(self.brackets.last_stable[i] * lam),
                             float(self.brackets.first_diverged[i] * lam)] for i in idx],
                "found": [bool(self.brackets.found[i]) for i in idx]}


def momentum_edges(quad: Quadratic, betas: Sequence[float], *, n: int = 64, rounds: int = 2,
                   steps: int = 1000, first_steps: int = 250,
                   blowup: float = 1e6) -> MomentumResult:
    """Divergence thresholds of heavy ball and Nesterov momentum on ``quad``, every beta in
    one vmapped sweep per round. The first bracket, :math:`\\eta\\lambda_{\\max} \\in
    [0.5, 4.5]`, holds every edge of both methods for :math:`0 \\le \\beta < 1` without
    using either formula."""
    pack = Pack.of([quad])
    settings = [Setting(0, m, float(b)) for m in ("heavy_ball", "nesterov") for b in betas]
    k = len(settings)
    with single_thread():
        br = bracket_thresholds(pack, settings, np.full(k, 0.5 / quad.lam_max),
                                np.full(k, 4.5 / quad.lam_max), n=n, rounds=rounds,
                                steps=steps, first_steps=first_steps, blowup=blowup)
    derived = np.array([derived_critical_step(st.method, st.beta, quad.lam_max)
                        for st in settings])
    return MomentumResult(quad, settings, br, derived, steps)


@dataclass(frozen=True)
class ControlResult:
    """Runs at 0.98 and 1.02 times each setting's derived critical step.

    ``quads``: the quadratics (GD runs on each, momentum on the last); ``settings``;
    ``diverged`` / ``diverged_at`` ``[setting, factor]``; ``losses`` ``[step, setting,
    factor]`` at every step (frozen after divergence).
    """

    labels: list[str]
    settings: list[Setting]
    factors: tuple[float, ...]
    derived: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    losses: np.ndarray
    steps: int

    def rows(self, methods: Sequence[str]) -> list[int]:
        return [i for i, st in enumerate(self.settings) if st.method in methods]


def control_runs(quads: Sequence[Quadratic], momentum_quad: Quadratic,
                 betas: Sequence[float], *, steps: int = 1000,
                 blowup: float = 1e6) -> ControlResult:
    """The negative controls: every GD quadratic and every momentum setting at
    ``CONTROL`` = (0.98, 1.02) times its derived critical step, in one vmapped sweep, with
    the same horizon and blow-up as the threshold measurements."""
    allq = [*quads, momentum_quad]
    pack = Pack.of(allq)
    m = len(quads)
    settings = [Setting(i, "gd") for i in range(m)] + \
        [Setting(m, meth, float(b)) for meth in ("heavy_ball", "nesterov") for b in betas]
    derived = np.array([derived_critical_step(st.method, st.beta, allq[st.quad].lam_max)
                        for st in settings])
    f0, f1 = CONTROL
    with single_thread():
        res = step_size_sweep(pack.step, pack.loss,
                              pack.starts(settings, f0 * derived, (f1 - f0) * derived),
                              [0.0, 1.0], steps, blowup=blowup, record_every=1)
    labels = [allq[st.quad].label if st.method == "gd" else f"{st.method}, β={st.beta:g}"
              for st in settings]
    return ControlResult(labels, settings, CONTROL, derived, res.diverged, res.diverged_at,
                         res.losses, steps)


# ----------------------------------------------------------------------------- tables

def quadratic_table(quads: Sequence[Quadratic]) -> tuple[list[list[Any]], list[str]]:
    """Rows (label, d, kappa, lam_max, 2/lam_max, Frobenius bracket) and the header."""
    rows = []
    for q in quads:
        fro = float(np.linalg.norm(q.A))
        rows.append([q.label, q.dim, q.kappa, q.lam_max, critical_step(q.lam_max),
                     f"[{0.9 * 2 / fro:.3g}, {1.1 * 2 * math.sqrt(q.dim) / fro:.3g}]"])
    return rows, ["quadratic", "d", "κ", "λ_max", "2/λ_max", "first bracket (from ‖A‖_F)"]


def threshold_table(result: CriticalStepResult) -> tuple[list[list[Any]], list[str]]:
    """Per quadratic: bracket, measured threshold, 2/lam_max, offset and horizon offset (%)."""
    br = result.brackets
    rows = [[lab, br.last_stable[i], br.first_diverged[i], result.measured[i],
             result.predicted[i], f"{100 * (result.ratio[i] / 2 - 1):.2f}",
             f"{100 * result.horizon_offset[i]:.2f}"]
            for i, lab in enumerate(result.labels)]
    return rows, ["quadratic", "last stable η", "first divergent η", "measured η_c",
                  "2/λ_max", "offset (%)", "finite-horizon offset (%)"]


def control_table(control: ControlResult) -> tuple[list[list[Any]], list[str]]:
    """Per setting: the derived critical step and the outcome at each control factor."""
    def word(i: int, k: int) -> str:
        at = int(control.diverged_at[i, k])
        return f"diverged at step {at}" if at >= 0 else f"stable ({control.steps} steps)"

    rows = [[lab, control.derived[i], *[word(i, k) for k in range(len(control.factors))]]
            for i, lab in enumerate(control.labels)]
    return rows, ["setting", "derived η_c", *[f"η = {f:g} η_c" for f in control.factors]]


def rate_table(rates: RateResult) -> tuple[list[list[Any]], list[str]]:
    """Per quadratic: kappa, eta*, (kappa-1)/(kappa+1), the slowest and the fastest measured
    factor at eta* over the starts, and the largest excess of the bound over the grid."""
    rows = [[lab, rates.kappa[i], rates.eta_star[i], rates.rho_star[i], rates.rate_at_star[i],
             float(rates.star_rates[i].min()), float(np.nanmax(rates.bound_excess[i]))]
            for i, lab in enumerate(rates.labels)]
    n = rates.star_rates.shape[1]
    return rows, ["quadratic", "κ", "η*", "(κ−1)/(κ+1)", f"at η*: slowest of {n} starts",
                  "fastest", "max_t ln(e_t / (ρ(η)^t e_0)) over the grid"]


def momentum_table(result: MomentumResult) -> tuple[list[list[Any]], list[str]]:
    """Per (method, beta): the measured and the derived edge eta_c lam_max."""
    rows = []
    for method in ("heavy_ball", "nesterov"):
        e = result.edges(method)
        for b, meas, der, (lo, hi) in zip(e["beta"], e["measured"], e["derived"],
                                          e["bracket"], strict=True):
            off = "no bracket" if meas is None else f"{100 * (meas / der - 1):.2f}"
            rows.append([method, b, f"[{lo:.5g}, {hi:.5g}]", meas, der, off])
    return rows, ["method", "β", "bracket (η λ_max)", "measured η_c λ_max", "derived",
                  "offset (%)"]


# ----------------------------------------------------------------------------- settings

@dataclass(frozen=True)
class GDQSettings:
    """What one run of the chapter computes (see :func:`settings`)."""

    mode: str
    seed: int
    specs: tuple[tuple[str, int, float], ...]
    n: int
    rounds: int
    steps: int
    first_steps: int
    blowup: float
    rate_steps: int
    rate_starts: int
    betas: tuple[float, ...]


def settings(mode: str, seed: int) -> GDQSettings:
    """Quick: four quadratics (one spectrum shape each, d = 10 to 50), two momentum values,
    1000-step horizons. Full: twelve quadratics (every shape at kappa = 10, 100, 1000, random
    dimensions in 10..50), 4000-step horizons, three bracketing rounds, six momentum values."""
    if mode == "quick":
        specs = (("uniform", 10, 10.0), ("log-uniform", 20, 100.0), ("spiked", 35, 50.0),
                 ("clustered-top", 50, 1000.0))
        return GDQSettings(mode, seed, specs, n=64, rounds=2, steps=1000, first_steps=250,
                           blowup=1e6, rate_steps=400, rate_starts=16, betas=(0.5, 0.9))
    rng = np.random.default_rng([seed, 7])
    specs = tuple((shape, int(rng.integers(10, 51)), float(k))
                  for shape in SHAPES for k in (10.0, 100.0, 1000.0))
    return GDQSettings(mode, seed, specs, n=64, rounds=3, steps=4000, first_steps=1000,
                       blowup=1e6, rate_steps=1000, rate_starts=32,
                       betas=(0.0, 0.25, 0.5, 0.75, 0.9, 0.99))


# ----------------------------------------------------------------------------- ledger glue

def _control(control: ControlResult, methods: Sequence[str]) -> dict[str, Any]:
    rows = control.rows(methods)
    return {"control_factors": list(control.factors),
            "control_diverged": [[bool(x) for x in control.diverged[i]] for i in rows],
            "control_diverged_at": [[int(x) for x in control.diverged_at[i]] for i in rows]}


def measurements(*, critical: CriticalStepResult, rates: RateResult,
                 momentum: MomentumResult, control: ControlResult, gd_matches: bool,
                 rate_matches: bool, heavy_ball_matches: bool,
                 nesterov_matches: bool) -> dict[str, dict[str, Any]]:
    """The measurement dictionary of every claim, keyed by claim id (plain JSON types)."""
    return {
        "gdq-critical-step": {
            "labels": critical.labels, "lam_max": critical.lam_max.tolist(),
            "threshold": [float(x) if f else None
                          for x, f in zip(critical.measured, critical.brackets.found,
                                          strict=True)],
            "bracket": np.stack([critical.brackets.last_stable,
                                 critical.brackets.first_diverged], 1).tolist(),
            "found": critical.brackets.found.tolist(),
            "steps": critical.steps, "blowup": critical.blowup,
            "sympy_matches": bool(gd_matches), **_control(control, ["gd"])},
        "gdq-sweep-offset": {
            "labels": critical.labels, "lam_max": critical.lam_max.tolist(),
            "bracket": np.stack([critical.brackets.last_stable,
                                 critical.brackets.first_diverged], 1).tolist(),
            "found": critical.brackets.found.tolist(),
            "top_share": critical.top_share.tolist(),
            "steps": critical.steps, "blowup": critical.blowup},
        "gdq-optimal-rate": {
            "labels": rates.labels, "kappa": rates.kappa.tolist(),
            "rate_at_star": rates.rate_at_star.tolist(), "starts": rates.star_rates.shape[1],
            "log_energy_star": rates.log_energy_star.tolist(), "every": rates.every,
            "grid_bound_excess": float(np.nanmax(rates.bound_excess)),
            "steps": rates.steps, "sympy_matches": bool(rate_matches)},
        "gdq-heavy-ball-edge": {**momentum.edges("heavy_ball"), "steps": momentum.steps,
                                "sympy_matches": bool(heavy_ball_matches),
                                **_control(control, ["heavy_ball"])},
        "gdq-nesterov-edge": {**momentum.edges("nesterov"), "steps": momentum.steps,
                              "sympy_matches": bool(nesterov_matches),
                              **_control(control, ["nesterov"])},
    }


def findings(evaluations: Sequence[Any], critical: CriticalStepResult, rates: RateResult,
             momentum: MomentumResult, control: ControlResult) -> dict[str, Any]:
    """Numbers the closing prose quotes (quote-free text for MyST-NB ``glue``)."""
    from boundbook.core.display import plain

    out: dict[str, Any] = {}
    for ev in evaluations:
        key = ev.claim.id.replace("-", "_")
        out[f"{key}_verdict"] = plain(ev.verdict.value)
        out[f"{key}_measured"] = plain(ev.main.measured, ev.claim.digits)
    off = 100 * (critical.ratio / 2 - 1)
    out["gdq_n_quadratics"] = plain(len(critical.labels))
    out["gdq_runs"] = plain(int(critical.brackets.runs))
    out["gdq_offset_range"] = plain(f"{np.nanmin(off):.2f}–{np.nanmax(off):.2f}%")
    hz = 100 * critical.horizon_offset
    out["gdq_horizon_range"] = plain(f"{hz.min():.2f}–{hz.max():.2f}%")
    out["gdq_steps"] = plain(critical.steps)
    gd = control.rows(["gd"])
    up = control.factors.index(max(control.factors))
    out["gdq_control_diverged"] = plain(
        f"{int(control.diverged[gd, up].sum())} of {len(gd)}")
    at = control.diverged_at[gd, up]
    out["gdq_control_latest_step"] = plain(int(at.max()) if (at >= 0).all() else "never")
    out["gdq_rate_excess"] = plain(float(np.nanmax(rates.bound_excess)), 2)
    out["gdq_kappa_max"] = plain(float(np.max(rates.kappa)))
    i = int(np.argmax(rates.kappa))
    below = rates.asymptotic[i, : rates.star_index]
    out["gdq_window_faster"] = plain(int(np.sum(below < rates.asymptotic[i, rates.star_index])))
    out["gdq_window_best"] = plain(float(np.nanmin(rates.asymptotic[i])), 5)
    hb, ne = momentum.edges("heavy_ball"), momentum.edges("nesterov")
    out["gdq_beta_max"] = plain(max(hb["beta"]))
    out["gdq_hb_edge_at_max"] = plain(hb["measured"][-1], 5)
    out["gdq_nesterov_edge_at_max"] = plain(ne["measured"][-1], 5)
    return out

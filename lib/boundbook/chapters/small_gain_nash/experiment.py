"""The experiments of the chapter "Small-Gain Nash" (torch float64; plain dataclasses out).

Every measurement goes through :mod:`boundbook.numeric.contraction`: the true margin of the
pseudo-gradient in the weighted metric is minus the log norm of :math:`-H` there
(:func:`~boundbook.numeric.contraction.log_norm`), the Euler map's Jacobian comes from
:func:`~boundbook.numeric.contraction.update_jacobians`, pair rates from
:func:`~boundbook.numeric.contraction.empirical_contraction_rate` and the largest contracting
step from :func:`~boundbook.numeric.contraction.contraction_threshold`. The certificate's closed
forms (margin, band, step bound) are the plain ones of :mod:`.claims`, tested against the sympy
derivation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from boundbook.chapters.small_gain_nash.claims import (
    euler_factor_bound,
    sgn_margin,
    timescale_band,
)
from boundbook.chapters.small_gain_nash.games import Game
from boundbook.core.stats import bootstrap_interval
from boundbook.numeric.contraction import (
    contraction_threshold,
    empirical_contraction_rate,
    gd_contraction_factor,
    log_norm,
    update_jacobians,
)

DT = torch.float64


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(a, dtype=DT)


def true_margin(g: Game, ratios: Sequence[float]) -> np.ndarray:
    """:math:`\\alpha_{\\rm true}(w) = -\\mu_w(-H)`, the strong-monotonicity margin of
    :math:`F = Hx` in :math:`\\|x\\|_w^2 = \\|x_1\\|^2 + r\\|x_2\\|^2`, for each ``r``
    (batched)."""
    r = np.asarray(ratios, dtype=float)
    w = _t(np.stack([np.ones_like(r), r], 1))
    J = (-_t(g.H)).expand(r.size, *g.H.shape)
    return (-log_norm(J, weights=w, blocks=g.blocks)).numpy()


def _scale(g: Game, r: float) -> torch.Tensor:
    return torch.sqrt(_t(np.r_[np.ones(g.d), np.full(g.d, r)]))


def weighted_opnorm(g: Game, A: torch.Tensor, r: float) -> torch.Tensor:
    """:math:`\\|A\\|` as an operator on :math:`\\|\\cdot\\|_w`: :math:`\\|WAW^{-1}\\|_2`
    (``A``: ``(..., n, n)``, batched)."""
    s = _scale(g, r)
    return torch.linalg.matrix_norm(s[:, None] * A / s[None, :], ord=2)


def lipschitz(g: Game, r: float) -> float:
    """:math:`\\beta(w) = \\|W H W^{-1}\\|_2`, the Lipschitz constant of F in the metric."""
    return float(weighted_opnorm(g, _t(g.H), r))


def balanced_ratio(g: Game) -> float:
    """The paper's balanced weights :math:`w_1/w_2 = L_{21}/L_{12}`, i.e. ``r = L12/L21``."""
    return g.L12 / g.L21


# ----------------------------------------------------------------------------- certificate

@dataclass(frozen=True)
class CertificateResult:
    """Per in-band instance (game, weight ratio r = w2/w1): the certificate's constants and
    the measured true margin; per game the Euclidean margin, the out-of-band margins and the
    flow's worst-case log-contraction :math:`\\log\\|e^{-Ht}\\|_w` on a time grid."""

    games: list[Game]
    game: np.ndarray
    ratio: np.ndarray
    alpha_true: np.ndarray
    euclid: np.ndarray
    out_ratio: np.ndarray
    out_game: np.ndarray
    out_alpha_true: np.ndarray
    times: np.ndarray
    flow_log_norm: np.ndarray


def certificate(games: Sequence[Game], n_weights: int, times: np.ndarray,
                outside: float) -> CertificateResult:
    """``n_weights`` ratios log-spaced strictly inside each game's certified band; two just
    outside it (``r_-/outside``, ``r_+ * outside``); the flow on ``times``."""
    gi, ratio, at, flow, oi, orr, oat, euc = [], [], [], [], [], [], [], []
    for i, g in enumerate(games):
        lo, hi = timescale_band(g.mu1, g.mu2, g.L12, g.L21)
        rs = np.exp(np.linspace(math.log(lo), math.log(hi), n_weights + 2)[1:-1])
        gi += [i] * rs.size
        ratio += rs.tolist()
        at += true_margin(g, rs).tolist()
        E = torch.linalg.matrix_exp(-_t(times)[:, None, None] * _t(g.H))
        flow += [torch.log(weighted_opnorm(g, E, r)).tolist() for r in rs]
        out = np.array([lo / outside, hi * outside])
        oi += [i, i]
        orr += out.tolist()
        oat += true_margin(g, out).tolist()
        euc.append(float(-log_norm(-_t(g.H))))
    return CertificateResult(list(games), np.array(gi), np.array(ratio), np.array(at),
                             np.array(euc), np.array(orr), np.array(oi), np.array(oat),
                             np.asarray(times, dtype=float), np.array(flow))


# ----------------------------------------------------------------------------- band edges

@dataclass(frozen=True)
class BandResult:
    """Per game: the measured edges of the set of ratios where the true margin is positive
    (``nan`` when it is empty on the scan), the closed-form certified edges, and the scan."""

    labels: list[str]
    equality: list[bool]
    measured: np.ndarray
    certified: np.ndarray
    scan_ratio: np.ndarray
    scan_alpha: np.ndarray
    max_alpha: np.ndarray


def _refine(g: Game, brackets: list[tuple[float, float]], rounds: int, k: int
            ) -> list[float]:
    """The sign change of the true margin inside each bracket of ratios: ``rounds`` rounds of
    ``k`` log-spaced evaluations (all brackets batched), each narrowing a bracket ``k - 1``
    times."""
    br = [(math.log(lo), math.log(hi)) for lo, hi in brackets]
    for _ in range(rounds):
        grids = [np.linspace(a, b, k) for a, b in br]
        vals = true_margin(g, np.exp(np.concatenate(grids))).reshape(len(br), k)
        new = []
        for grid, v in zip(grids, vals, strict=True):
            j = int(np.flatnonzero(np.diff(np.sign(v)) != 0)[0])
            new.append((grid[j], grid[j + 1]))
        br = new
    return [math.exp(0.5 * (a + b)) for a, b in br]


def band_edges(games: Sequence[Game], scan: np.ndarray, rounds: int) -> BandResult:
    """Scan the true margin over ``scan`` (ratios, independent of the closed form), then
    refine each sign change (:func:`_refine`, ``rounds`` rounds of 16 points)."""
    meas, cert, alphas, mx = [], [], [], []
    for g in games:
        al = true_margin(g, scan)
        alphas.append(al)
        mx.append(float(al.max()))
        pos = np.flatnonzero(al > 0)
        if pos.size == 0 or pos[0] == 0 or pos[-1] == scan.size - 1:
            meas.append((math.nan, math.nan))
        else:
            meas.append(tuple(_refine(g, [(scan[pos[0] - 1], scan[pos[0]]),
                                          (scan[pos[-1]], scan[pos[-1] + 1])], rounds, 16)))
        cert.append(timescale_band(g.mu1, g.mu2, g.L12, g.L21))
    return BandResult([g.label for g in games], [g.equality for g in games], np.array(meas),
                      np.array(cert), np.asarray(scan), np.array(alphas), np.array(mx))


# ----------------------------------------------------------------------------- Euler rates

def euler_step(H: torch.Tensor, h: float):
    def step(x: torch.Tensor) -> torch.Tensor:
        return x - h * torch.mv(H, x)
    return step


def _packed_step(n: int):
    """Euler on a packed state ``(x, h, vec H)`` of size ``n + 1 + n^2``: the step size and
    the matrix ride along as coordinates that are equal in both trajectories of a pair, so
    they add nothing to the pair's distance, and games of different sizes (zero-padded to
    ``n``) and step sizes all run in one batch."""

    def step(s: torch.Tensor) -> torch.Tensor:
        x = s[:n]
        return torch.cat([x - s[n] * torch.mv(s[n + 1:].reshape(n, n), x), s[n:]])
    return step


def _pack(x: torch.Tensor, h: float, M: torch.Tensor, n: int) -> torch.Tensor:
    """Rows ``(x_i zero-padded to n, h, vec(M zero-padded to n x n))``."""
    b, m = x.shape
    P = torch.zeros(n, n, dtype=DT)
    P[:m, :m] = M
    return torch.cat([torch.nn.functional.pad(x, (0, n - m)),
                      torch.full((b, 1), float(h), dtype=DT), P.reshape(1, -1).expand(b, -1)],
                     1)


def _median_ci(rates: np.ndarray) -> tuple[float, tuple[float, float]]:
    """The median of the pairs' rates and its 95% bootstrap interval (pairs the unit)."""
    idx = list(range(rates.size))
    return (float(np.median(rates)),
            bootstrap_interval([idx], lambda ii: float(np.median(rates[ii]))))


@dataclass(frozen=True)
class EulerResult:
    """Per (game, multiplier c): the step ``h = c h_SGN`` at the balanced weights, the
    certificate's constants, the exact weighted-norm factor of the Euler map (the worst case
    over pairs), its spectral radius, and the pairs' fitted rates and worst one-step ratios
    in the same norm (largest over pairs; median with its 95% interval over pairs)."""

    labels: list[str]
    game: np.ndarray
    mult: np.ndarray
    h: np.ndarray
    alpha_star: np.ndarray
    beta: np.ndarray
    factor: np.ndarray
    radius: np.ndarray
    pair_rate_max: np.ndarray
    pair_worst_step: np.ndarray
    pair_median: np.ndarray
    pair_interval: np.ndarray


def euler_rates(games: Sequence[Game], mults: Sequence[float], pairs: int, steps: int,
                seed: int, h_ref: Sequence[float] | None = None) -> EulerResult:
    """Euler ``x+ = x - h F(x)`` at ``h = c h_SGN`` (or ``c h_ref[i]`` when given, for games
    without a certificate) in the coordinates ``z = W x`` (balanced weights), where the
    Euclidean norm is the weighted one; every (game, step, pair) in one batch."""
    gen = torch.Generator().manual_seed(seed)
    n = 2 * max(g.d for g in games)
    meta, X, Y = [], [], []
    for i, g in enumerate(games):
        r = balanced_ratio(g)
        s = _scale(g, r)
        Hz = s[:, None] * _t(g.H) / s[None, :]  # W H W^-1
        alpha = sgn_margin(g.mu1, g.mu2, g.L12, g.L21, 1.0, r)
        beta = lipschitz(g, r)
        base = (2 * alpha / beta**2) if h_ref is None else h_ref[i]
        x0 = torch.randn(pairs, 2 * g.d, generator=gen, dtype=DT)
        y0 = torch.randn(pairs, 2 * g.d, generator=gen, dtype=DT)
        for c in mults:
            meta.append((i, c, c * base, alpha, beta, 2 * g.d))
            X.append(_pack(x0, c * base, Hz, n))
            Y.append(_pack(y0, c * base, Hz, n))
    step = _packed_step(n)
    J = update_jacobians(step, torch.stack([x[0] for x in X]))
    est = empirical_contraction_rate(step, torch.cat(X), torch.cat(Y), steps)
    rows: dict[str, list] = {k: [] for k in ("factor", "radius", "rmax", "worst", "med", "ci")}
    for j, (*_, m) in enumerate(meta):
        Jg = J[j, :m, :m]
        rates = est.rates[j * pairs:(j + 1) * pairs]
        med, ci = _median_ci(rates)
        rows["factor"].append(float(torch.linalg.matrix_norm(Jg, 2)))
        rows["radius"].append(float(torch.linalg.eigvals(Jg).abs().max()))
        rows["rmax"].append(float(np.max(rates)))
        rows["worst"].append(float(np.max(est.worst_step[j * pairs:(j + 1) * pairs])))
        rows["med"].append(med)
        rows["ci"].append(ci)
    col = list(zip(*meta, strict=True))
    return EulerResult([g.label for g in games], np.array(col[0]), np.array(col[1]),
                       np.array(col[2]), np.array(col[3]), np.array(col[4]),
                       np.array(rows["factor"]), np.array(rows["radius"]),
                       np.array(rows["rmax"]), np.array(rows["worst"]), np.array(rows["med"]),
                       np.array(rows["ci"]))


def certified_factor(res: EulerResult) -> np.ndarray:
    """:math:`q^*(h) = \\sqrt{1 - 2h\\alpha^* + h^2\\beta^2}` for each row of ``res``."""
    return np.array([euler_factor_bound(h, a, b) for h, a, b in
                     zip(res.h, res.alpha_star, res.beta, strict=True)])


def example_symmetric_factor(res: EulerResult, i: int) -> np.ndarray:
    """For a game whose weighted matrix is symmetric at the balanced weights (the scalar and
    clean games), the Euler factor is GD's on a quadratic with spectrum
    :math:`[\\alpha^*, \\beta]`: :func:`~boundbook.numeric.contraction.gd_contraction_factor`."""
    rows = res.game == i
    return np.asarray(gd_contraction_factor(res.alpha_star[rows], res.beta[rows], res.h[rows]))


# ----------------------------------------------------------------------------- step bound

@dataclass(frozen=True)
class StepResult:
    """Per game: the certified Euler bound's constants at the balanced weights, the largest
    contracting step measured by a two-round sweep, its closed form
    :math:`\\min_i 2\\,\\mathrm{Re}\\lambda_i/|\\lambda_i|^2`, and the pair rates just above it."""

    labels: list[str]
    alpha_star: np.ndarray
    beta: np.ndarray
    h_sgn: np.ndarray
    measured: np.ndarray
    bracket: np.ndarray
    closed: np.ndarray
    above: float
    above_median: np.ndarray
    above_interval: np.ndarray


def step_thresholds(games: Sequence[Game], pairs: int, steps: int, n: int, seed: int,
                    above: float) -> StepResult:
    """First sweep: ``n`` steps log-spaced over ``[0.05/beta, 4/beta]`` (beta: the metric's
    Lipschitz constant, not the bound under test); second: ``n`` steps between the last
    contracting one and the first that is not."""
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, list] = {k: [] for k in ("a", "b", "hs", "m", "br", "cl")}
    size = 2 * max(g.d for g in games)
    X, Y = [], []
    for g in games:
        r = balanced_ratio(g)
        alpha = sgn_margin(g.mu1, g.mu2, g.L12, g.L21, 1.0, r)
        beta = lipschitz(g, r)
        H = _t(g.H)
        x0 = torch.randn(pairs, 2 * g.d, generator=gen, dtype=DT)
        y0 = torch.randn(pairs, 2 * g.d, generator=gen, dtype=DT)

        def step_of_eta(x: torch.Tensor, eta: torch.Tensor, H: torch.Tensor = H
                        ) -> torch.Tensor:
            return x - eta * torch.mv(H, x)

        coarse = np.geomspace(0.05 / beta, 4.0 / beta, n)
        first = contraction_threshold(step_of_eta, x0, y0, coarse, steps)
        j = int(np.searchsorted(coarse, first))
        fine = np.linspace(coarse[max(j - 1, 0)], first, n)
        found = contraction_threshold(step_of_eta, x0, y0, fine, steps)
        k = int(np.searchsorted(fine, found))
        ev = np.linalg.eigvals(g.H)
        closed = float(np.min(2 * ev.real / np.abs(ev) ** 2))
        X.append(_pack(x0, above * closed, H, size))
        Y.append(_pack(y0, above * closed, H, size))
        for key, v in (("a", alpha), ("b", beta), ("hs", 2 * alpha / beta**2), ("m", found),
                       ("br", (fine[max(k - 1, 0)], found)), ("cl", closed)):
            out[key].append(v)
    est = empirical_contraction_rate(_packed_step(size), torch.cat(X), torch.cat(Y), steps)
    out["med"], out["ci"] = zip(*(_median_ci(est.rates[j * pairs:(j + 1) * pairs])
                                  for j in range(len(games))), strict=True)
    return StepResult([g.label for g in games], np.array(out["a"]), np.array(out["b"]),
                      np.array(out["hs"]), np.array(out["m"]), np.array(out["br"]),
                      np.array(out["cl"]), above, np.array(out["med"]), np.array(out["ci"]))


# ----------------------------------------------------------------------------- suite & tables

def game_suite(cfg) -> tuple[list[Game], list[Game]]:
    """The certificate's games and the past-bound games of a run's settings."""
    from boundbook.chapters.small_gain_nash import games
    return (games.suite(cfg.lams, cfg.d, cfg.n_random, cfg.seed),
            games.past_bound_games(cfg.d, cfg.seed, cfg.excess))


def scan_grid(cfg) -> np.ndarray:
    lo, hi, n = cfg.scan
    return np.geomspace(lo, hi, n)


def past_euler(gs: Sequence[Game], past: Sequence[Game], euler: EulerResult, cfg,
               example: str) -> EulerResult:
    """Euler on the past-bound games at ``c x`` the example's certified step."""
    ex = [g.label for g in gs].index(example)
    h = float(euler.h[(euler.game == ex) & np.isclose(euler.mult, 1.0)][0])
    return euler_rates(past, cfg.past_mults, cfg.pairs, cfg.past_steps, cfg.seed,
                       h_ref=[h] * len(past))


def band_table(band: BandResult) -> tuple[list[list], list[str]]:
    rows = [[lab, c[0], m[0], c[1], m[1]] for lab, c, m in
            zip(band.labels, band.certified, band.measured, strict=True)]
    return rows, ["game", "certified r−", "measured r−", "certified r+", "measured r+"]


def step_table(steps: StepResult) -> tuple[list[list], list[str]]:
    rows = [[lab, a, b, hs, m, cl, m / hs] for lab, a, b, hs, m, cl in
            zip(steps.labels, steps.alpha_star, steps.beta, steps.h_sgn, steps.measured,
                steps.closed, strict=True)]
    return rows, ["game", "α*", "β", "h_SGN", "measured h", "2Reλ/|λ|²", "measured/h_SGN"]


def control_table(pe: EulerResult) -> tuple[list[list], list[str]]:
    rows = [[pe.labels[g], c, h, r, med, f"[{ci[0]:.6f}, {ci[1]:.6f}]"] for g, c, h, r, med, ci
            in zip(pe.game, pe.mult, pe.h, pe.radius, pe.pair_median, pe.pair_interval,
                   strict=True)]
    return rows, ["game past the bound", "c", "h", "spectral radius", "median pair rate",
                  "95% interval"]

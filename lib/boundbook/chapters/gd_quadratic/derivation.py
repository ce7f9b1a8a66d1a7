"""Derivations specific to the chapter "Gradient descent on a quadratic" (sympy, exact).

The shared edges (gradient descent, heavy ball) live in :mod:`boundbook.symbolic.quadratic`;
this module adds what only this chapter needs:

- :func:`nesterov_derivation`: Nesterov momentum in the form of
  ``torch.optim.SGD(momentum=beta, nesterov=True)`` (:math:`v^+ = \\beta v + g`,
  :math:`\\theta^+ = \\theta - \\eta (g + \\beta v^+)`), the update that Cohen et al.'s code runs.
  Its characteristic polynomial on :math:`\\tfrac12 a\\theta^2` is
  :math:`z^2 - (1+\\beta)(1-\\eta a) z + \\beta(1-\\eta a)`; a root reaches :math:`z = -1` at
  :math:`a = (2+2\\beta)/(\\eta(1+2\\beta))`. The value attributed to the paper is compared with
  it exactly. :func:`nesterov_lookahead_polynomial` checks that Sutskever's look-ahead form
  (:math:`v^+ = \\beta v - \\eta\\nabla L(\\theta + \\beta v)`, :math:`\\theta^+ = \\theta + v^+`)
  has the same polynomial, so the edge does not depend on which of the two forms is meant.
- :func:`optimal_rate_derivation`: the per-step contraction of gradient descent on a quadratic
  with spectrum in :math:`[\\lambda_{\\min}, \\lambda_{\\max}]` is
  :math:`\\rho(\\eta) = \\max(|1-\\eta\\lambda_{\\min}|, |1-\\eta\\lambda_{\\max}|)`,
  minimised where the two extremes balance: :math:`\\eta^* = 2/(\\lambda_{\\min}+\\lambda_{\\max})`,
  :math:`\\rho^* = (\\kappa-1)/(\\kappa+1)`, :math:`\\kappa = \\lambda_{\\max}/\\lambda_{\\min}`.
- :func:`finite_horizon_offset`: the threshold a finite sweep *measures*. A run is called
  divergent when its loss exceeds ``blowup`` times the initial loss within ``steps`` steps; at
  :math:`\\eta = (1+r)\\,2/\\lambda_{\\max}` the top component grows like :math:`(1+2r)^{2t}`, so
  the measured threshold sits above :math:`2/\\lambda_{\\max}` by
  :math:`r_T = ((B/s)^{1/(2T)} - 1)/2`, with :math:`s` the top direction's share of the initial
  loss. The chapter uses it to say how much of the measured offset is the harness's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp

from boundbook.symbolic.quadratic import (
    EdgeDerivation,
    a,
    beta,
    edge_at_minus_one,
    eta,
    gd_derivation,
    jury_conditions,
    linear_map,
    m,
    momentum_derivation,
    theta,
    z,
)

__all__ = [
    "OptimalRate",
    "contraction_rate",
    "finite_horizon_derivation",
    "finite_horizon_markdown",
    "finite_horizon_offset",
    "gd_markdown",
    "momentum_markdown",
    "nesterov_derivation",
    "nesterov_edge",
    "nesterov_lookahead_polynomial",
    "optimal_rate",
    "optimal_rate_derivation",
    "optimal_rate_markdown",
    "optimal_step",
    "symbolic_flags",
]

lam_min, lam_max, kappa = sp.symbols("lambda_min lambda_max kappa", positive=True)
r_off, blow, share, horizon, power = sp.symbols("r B s T p", positive=True)

NESTEROV_AS_ATTRIBUTED = (2 + 2 * beta) / (eta * (1 + 2 * beta))
"""The Nesterov edge as attributed to Cohen et al. 2021 (from memory, not seen in the text)."""


@cache
def nesterov_derivation() -> EdgeDerivation:
    """Nesterov momentum (PyTorch's ``nesterov=True``) on :math:`\\tfrac12 a\\theta^2`."""
    g = sp.diff(a * theta**2 / 2, theta)
    v_new = beta * m + g
    M = linear_map([theta - eta * (g + beta * v_new), v_new], [theta, m])
    poly = sp.expand((z * sp.eye(2) - M).det())
    edge = edge_at_minus_one(poly, a)
    return EdgeDerivation("Nesterov momentum", M, poly, a, edge, jury_conditions(poly, a),
                          NESTEROV_AS_ATTRIBUTED,
                          sp.simplify(edge - NESTEROV_AS_ATTRIBUTED) == 0)


@cache
def nesterov_lookahead_polynomial() -> tuple[sp.Expr, bool]:
    """Sutskever's look-ahead form: its characteristic polynomial, and whether it equals the
    PyTorch form's (exact sympy comparison)."""
    v = sp.Symbol("v", real=True)
    grad = sp.Lambda(theta, a * theta)
    v_new = beta * v - eta * grad(theta + beta * v)
    M = linear_map([theta + v_new, v_new], [theta, v])
    poly = sp.expand((z * sp.eye(2) - M).det())
    return poly, sp.simplify(poly - nesterov_derivation().polynomial) == 0


@dataclass(frozen=True)
class OptimalRate:
    """The best constant step of gradient descent on a quadratic and its contraction factor.

    ``branches``: the two extreme multipliers :math:`1-\\eta\\lambda_{\\min}` and
    :math:`1-\\eta\\lambda_{\\max}` (from :func:`gd_derivation`'s multiplier), ``eta_star``: the
    step where their magnitudes balance, ``rho_star``: the factor there, in
    :math:`\\kappa`; ``slopes``: :math:`d\\rho/d\\eta` on each side of :math:`\\eta^*` (negative
    then positive, so :math:`\\eta^*` is the minimum); ``paper``: :math:`(\\kappa-1)/(\\kappa+1)`;
    ``matches``: exact comparison.
    """

    branches: tuple[sp.Expr, sp.Expr]
    eta_star: sp.Expr
    rho_star: sp.Expr
    slopes: tuple[sp.Expr, sp.Expr]
    paper: sp.Expr
    matches: bool


@cache
def optimal_rate_derivation() -> OptimalRate:
    """:math:`\\eta^* = 2/(\\lambda_{\\min}+\\lambda_{\\max})`,
    :math:`\\rho^* = (\\kappa-1)/(\\kappa+1)`."""
    d = gd_derivation()
    mult = d.update[0, 0]  # 1 - eta*lambda
    lo, hi = mult.subs(d.curvature, lam_min), mult.subs(d.curvature, lam_max)
    eta_star = sp.solve(sp.Eq(lo, -hi), eta)[0]
    rho = sp.simplify((lo.subs(eta, eta_star)).subs(lam_max, kappa * lam_min))
    paper = (kappa - 1) / (kappa + 1)
    slopes = (sp.diff(lo, eta), sp.diff(-hi, eta))  # rho = lo left of eta*, -hi right of it
    return OptimalRate((lo, hi), sp.simplify(eta_star), rho, slopes, paper,
                       sp.simplify(rho - paper) == 0)


@cache
def _numeric(name: str):
    if name == "nesterov":
        return sp.lambdify((eta, beta), nesterov_derivation().edge, "math")
    if name == "step":
        return sp.lambdify((lam_min, lam_max), optimal_rate_derivation().eta_star, "math")
    if name == "rate":
        return sp.lambdify((kappa,), optimal_rate_derivation().rho_star, "math")
    if name == "multiplier":
        d = gd_derivation()
        return sp.lambdify((eta, d.curvature), d.update[0, 0], "numpy")
    if name == "offset":
        return sp.lambdify((blow, share, horizon, power), finite_horizon_derivation()[1], "math")
    raise KeyError(name)


@cache
def finite_horizon_derivation() -> tuple[sp.Eq, sp.Expr]:
    """The crossing condition and its solution :math:`r_T`.

    At :math:`\\eta = (1+r)\\,2/\\lambda_{\\max}` the top multiplier is :math:`-(1+2r)`; the loss
    is quadratic in the amplitude (:math:`p = 2`), so a start whose top direction holds a share
    :math:`s` of the initial loss reaches ``B`` times it at step ``T`` when
    :math:`s\\,(1+2r)^{pT} = B` (the other directions decay). Solved in logarithms (the real
    root).
    """
    d = gd_derivation()
    top = d.update[0, 0].subs({d.curvature: 2 * (1 + r_off) / eta})  # -(1 + 2r)
    eq = sp.Eq(sp.log(share) + power * horizon * sp.log(sp.Abs(sp.expand(top))), sp.log(blow))
    sol = sp.solve(eq, r_off)
    if len(sol) != 1:
        raise ArithmeticError(f"expected one real offset, got {sol}")
    return eq, sp.simplify(sol[0])


def nesterov_edge(eta: float, beta: float) -> float:
    """Largest curvature Nesterov momentum (PyTorch form) tolerates at step ``eta``."""
    return float(_numeric("nesterov")(eta, beta))


def optimal_step(lmin: float, lmax: float) -> float:
    """:math:`\\eta^* = 2/(\\lambda_{\\min}+\\lambda_{\\max})`."""
    return float(_numeric("step")(lmin, lmax))


def optimal_rate(kappa: float) -> float:
    """:math:`\\rho^* = (\\kappa-1)/(\\kappa+1)`."""
    return float(_numeric("rate")(kappa))


def contraction_rate(step: float, eigenvalues: np.ndarray) -> float:
    """:math:`\\max_i |1 - \\eta\\lambda_i|` from gradient descent's multiplier."""
    return float(np.max(np.abs(_numeric("multiplier")(step, np.asarray(eigenvalues)))))


def finite_horizon_offset(blowup: float, top_share: float, steps: int,
                          loss_power: float = 2.0) -> float:
    """Relative offset :math:`r_T` of the threshold a ``steps``-step sweep measures above
    :math:`2/\\lambda_{\\max}` (``top_share``: the top direction's share of the initial loss;
    ``loss_power``: 2, the loss being quadratic in the amplitude)."""
    return float(_numeric("offset")(blowup, top_share, steps, loss_power))


# ------------------------------------------------------------------- the chapter's display

def _math(*exprs: str) -> list[str]:
    return [f"$${e}$$" for e in exprs]


def gd_markdown() -> str:
    """Gradient descent's multiplier, stability condition and edge (:func:`gd_derivation`), as
    Markdown with display math."""
    gd = gd_derivation()
    return "\n\n".join([
        *_math(r"\theta^+ = \left(" + sp.latex(gd.update[0, 0]) + r"\right)\theta",
               r"\text{stable iff } " + sp.latex(gd.stable),
               r"\text{edge: } \lambda = " + sp.latex(gd.edge)
               + r"\iff \eta_c = 2/\lambda_{\max}"),
        f"derived edge == 2/eta (exact): {gd.matches}"])


def optimal_rate_markdown() -> str:
    """The best constant step and its factor (:func:`optimal_rate_derivation`)."""
    opt = optimal_rate_derivation()
    return "\n\n".join([
        *_math(r"1-\eta\lambda_{\min} = -(1-\eta\lambda_{\max}) \iff \eta^* = "
               + sp.latex(opt.eta_star),
               r"\rho^* = " + sp.latex(opt.rho_star) + r",\quad \frac{d\rho}{d\eta} = "
               + sp.latex(opt.slopes[0]) + r"\ (\eta < \eta^*),\ " + sp.latex(opt.slopes[1])
               + r"\ (\eta > \eta^*)"),
        f"`rho* == (kappa-1)/(kappa+1)` (exact): {opt.matches}"])


def momentum_markdown() -> str:
    """Heavy ball and Nesterov momentum: characteristic polynomial, edge at :math:`z = -1`,
    Jury's conditions, the comparison with the attributed values, and Sutskever's look-ahead
    form (:func:`nesterov_lookahead_polynomial`)."""
    parts = []
    for d in (momentum_derivation("heavy_ball"), nesterov_derivation()):
        parts += _math(r"\text{" + d.name + r"}:\ p(z) = " + sp.latex(sp.collect(d.polynomial, z))
                       + r",\quad p(-1) = 0 \iff a = " + sp.latex(d.edge),
                       r"\text{Jury: stable iff } " + sp.latex(d.stable))
        parts.append(f"{d.name}: edge == `{d.paper}` (exact): {d.matches}")
    _, same = nesterov_lookahead_polynomial()
    parts.append(f"Sutskever's look-ahead form has the same polynomial: {same}")
    return "\n\n".join(parts)


def finite_horizon_markdown() -> str:
    """The crossing condition of a finite sweep and its offset :math:`r_T`
    (:func:`finite_horizon_derivation`)."""
    crossing, r_T = finite_horizon_derivation()
    return _math(sp.latex(crossing) + r"\iff r = " + sp.latex(r_T))[0]


def symbolic_flags() -> dict[str, bool]:
    """The exact (sympy) comparisons the checks require: each derived edge or rate equals the
    claimed formula."""
    return {"gd": gd_derivation().matches, "rate": optimal_rate_derivation().matches,
            "heavy_ball": momentum_derivation("heavy_ball").matches,
            "nesterov": nesterov_derivation().matches}

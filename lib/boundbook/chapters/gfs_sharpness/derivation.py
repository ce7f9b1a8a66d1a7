"""Scalar networks :math:`f(w) = \\prod_i w_i` with the squared loss: exact algebra (sympy).

Model (Kreisler, Nacson, Soudry, Carmon, arXiv 2305.13064): depth :math:`D`, weights
:math:`w \\in \\mathbb{R}^D`, product :math:`\\pi = \\prod_i w_i`, loss
:math:`L = \\tfrac12(\\pi - 1)^2`, residual :math:`r = \\pi - 1`. Gradient descent with step
:math:`\\eta` is :math:`w_i^+ = w_i - \\eta\\, r\\, \\pi / w_i`.

Everything below is DERIVED here (our algebra, not transcribed from the paper, whose theorem
statements we could not read):

- **Pair identity.** For every pair :math:`i \\ne k`,
  :math:`(w_i^+)^2 - (w_k^+)^2 = (w_i^2 - w_k^2)\\,(1 - \\eta^2 r^2 \\pi^2 / (w_i^2 w_k^2))`;
  for :math:`D = 2` the factor is :math:`1 - \\eta^2 r^2`.
- **Gradient flow conserves the balances** :math:`b_{ik} = w_i^2 - w_k^2`
  (:math:`\\tfrac{d}{dt} w_i^2 = -2 r \\pi` is the same for every :math:`i`).
- **GFS sharpness.** At a global minimum (:math:`\\pi = 1`) the Hessian is
  :math:`\\nabla\\pi\\nabla\\pi^\\top`, whose only non-zero eigenvalue is
  :math:`\\|\\nabla\\pi\\|^2 = \\sum_i 1/w_i^2`. The gradient-flow solution keeps the balances,
  so its squared weights are :math:`x_i = u + \\beta_i` with :math:`\\beta_i = w_i^2 - \\min_k
  w_k^2` and :math:`u \\ge 0` the root of :math:`\\prod_i (u + \\beta_i) = 1` (one scalar
  root-find); for :math:`D = 2` this gives :math:`\\sqrt{c^2 + 4}`, :math:`c = w_1^2 - w_2^2`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import sympy as sp

__all__ = [
    "PairIdentity",
    "GFSDerivation",
    "pair_identity",
    "gfs_depth2",
    "hessian_at_minimum",
    "identity_markdown",
    "gfs_markdown",
]

eta = sp.Symbol("eta", positive=True)


@dataclass(frozen=True)
class PairIdentity:
    """The one-step balance identity for depth ``depth``.

    ``lhs``: :math:`(w_i^+)^2 - (w_k^+)^2` for the pair (0, 1) with GD written out;
    ``rhs``: the claimed factorised form; ``matches``: ``simplify(lhs - rhs) == 0`` for *every*
    pair; ``factor``: the multiplier of the pair (0, 1) (for depth 2, :math:`1 - \\eta^2 r^2`);
    ``generic``: the same identity with :math:`\\pi` a free symbol (any depth).
    """

    depth: int
    weights: tuple[sp.Symbol, ...]
    lhs: sp.Expr
    rhs: sp.Expr
    factor: sp.Expr
    matches: bool
    generic_matches: bool


@cache
def pair_identity(depth: int) -> PairIdentity:
    """Verify the pair identity exactly for a network of depth ``depth`` (2 to 5 is quick)."""
    if depth < 2:
        raise ValueError("depth must be at least 2")
    w = sp.symbols(f"w1:{depth + 1}", nonzero=True, real=True)
    prod = sp.Mul(*w)
    r = prod - 1
    step = [wi - eta * r * prod / wi for wi in w]

    def identity(i: int, k: int) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
        lhs = step[i] ** 2 - step[k] ** 2
        fac = 1 - eta**2 * r**2 * prod**2 / (w[i] ** 2 * w[k] ** 2)
        return lhs, (w[i] ** 2 - w[k] ** 2) * fac, fac

    ok = all(sp.simplify(sp.expand(lhs - rhs)) == 0
             for lhs, rhs, _ in (identity(i, k)
                                 for i, k in itertools.combinations(range(depth), 2)))
    lhs, rhs, fac = identity(0, 1)
    # any depth: pi as a free symbol, the step only uses pi / w_i
    p, rr, a, b = sp.symbols("pi r a b", nonzero=True, real=True)
    gl = (a - eta * rr * p / a) ** 2 - (b - eta * rr * p / b) ** 2
    gr = (a**2 - b**2) * (1 - eta**2 * rr**2 * p**2 / (a**2 * b**2))
    generic = sp.simplify(gl - gr) == 0
    return PairIdentity(depth, tuple(w), lhs, rhs, sp.simplify(fac), bool(ok), bool(generic))


@dataclass(frozen=True)
class GFSDerivation:
    """Depth 2: conservation of :math:`c` under gradient flow and the GFS sharpness.

    ``flow_dc``: :math:`\\tfrac{d}{dt}(w_1^2 - w_2^2)` under gradient flow (simplifies to 0);
    ``solution``: :math:`w_1^2 + w_2^2` at the point of :math:`w_1 w_2 = 1` with balance
    :math:`c`; ``paper``: :math:`\\sqrt{c^2 + 4}`; ``matches``; ``gd_factor``: the one-step
    multiplier of :math:`c` under GD, :math:`1 - \\eta^2 r^2`; ``decrease_region``: where
    :math:`|1 - \\eta^2 r^2| < 1` (as a condition on :math:`\\eta |r|`).
    """

    flow_dc: sp.Expr
    solution: sp.Expr
    paper: sp.Expr
    matches: bool
    gd_factor: sp.Expr
    decrease_region: sp.Basic


@cache
def gfs_depth2() -> GFSDerivation:
    w1, w2 = sp.symbols("w1 w2", positive=True)
    c = sp.Symbol("c", real=True)
    r = w1 * w2 - 1
    L = r**2 / 2
    flow_dc = sp.simplify(2 * w1 * (-sp.diff(L, w1)) - 2 * w2 * (-sp.diff(L, w2)))
    # on the minimum w1 w2 = 1: w1^2 - 1/w1^2 = c, solve for x = w1^2 > 0
    x = sp.Symbol("x", positive=True)
    roots = sp.solve(sp.Eq(x - 1 / x, c), x)
    x_pos = [s for s in roots if s.subs(c, 1).is_positive][0]
    solution = sp.simplify(x_pos + 1 / x_pos)
    paper = sp.sqrt(c**2 + 4)
    matches = sp.simplify(solution - paper) == 0
    rr = sp.Symbol("r", real=True)
    fac = 1 - eta**2 * rr**2
    t = sp.Symbol("t", positive=True)  # t = eta |r|
    region = sp.solve_univariate_inequality(sp.Abs(1 - t**2) < 1, t, relational=True)
    return GFSDerivation(flow_dc, solution, paper, bool(matches), fac, region)


@cache
def hessian_at_minimum(depth: int) -> tuple[sp.Matrix, sp.Expr, bool]:
    """Hessian of :math:`\\tfrac12(\\prod w - 1)^2` on the minimum manifold (last weight
    eliminated by :math:`\\pi = 1`): returns the Hessian, the claimed top eigenvalue
    :math:`\\sum_i 1/w_i^2`, and whether ``H v = lambda v`` for :math:`v = \\nabla\\pi` and
    ``H`` has rank one (both exact)."""
    w = sp.symbols(f"w1:{depth + 1}", positive=True)
    L = (sp.Mul(*w) - 1) ** 2 / 2
    H = sp.hessian(L, w)
    last = 1 / sp.Mul(*w[:-1])
    on_min = H.subs(w[-1], last).applyfunc(sp.simplify)
    grad_pi = sp.Matrix([sp.Mul(*w) / wi for wi in w]).subs(w[-1], last).applyfunc(sp.simplify)
    lam = sp.simplify(sum(1 / wi**2 for wi in w).subs(w[-1], last))
    eig = (on_min * grad_pi - lam * grad_pi).applyfunc(sp.simplify) == sp.zeros(depth, 1)
    rank_one = on_min.rank(simplify=True) == 1
    return on_min, lam, bool(eig and rank_one)


def identity_markdown(ids: Mapping[int, PairIdentity]) -> str:
    """The chapter's display of :func:`pair_identity` per depth (Markdown with math)."""
    lines = [r"$$D = 2:\ (w_1^+)^2 - (w_2^+)^2 = (w_1^2 - w_2^2)\left("
             + sp.latex(ids[2].factor) + r"\right)$$"]
    lines += [f"depth {d}: identity exact for every pair: {p.matches}; any depth ($\\pi$ "
              f"free): {p.generic_matches}" for d, p in ids.items()]
    return "\n\n".join(lines)


def gfs_markdown(g: GFSDerivation, hess: Mapping[int, tuple[sp.Matrix, sp.Expr, bool]]) -> str:
    """The chapter's display of :func:`gfs_depth2` and :func:`hessian_at_minimum` per depth."""
    return "\n\n".join([
        r"$$\tfrac{d}{dt}(w_1^2 - w_2^2)\big|_{\text{flow}} = " + sp.latex(g.flow_dc) + "$$",
        r"$$w_1^2 + w_2^2\big|_{\mathrm{GFS}} = " + sp.latex(g.solution) + "$$",
        f"equals $\\sqrt{{c^2 + 4}}$: {g.matches}; $|1 - \\eta^2 r^2| < 1 \\iff "
        f"{sp.latex(g.decrease_region)}$ ($t = \\eta |r|$)",
        "Hessian on $\\pi = 1$ is rank one with eigenvalue $\\sum_i 1/w_i^2$: "
        + ", ".join(f"depth {d}: {h[2]}" for d, h in hess.items())])

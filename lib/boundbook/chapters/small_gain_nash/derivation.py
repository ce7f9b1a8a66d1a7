"""The sympy derivations of the chapter "Small-Gain Nash" (exact; no floats).

For two players with scalar bounds, rescaling by :math:`W = \\mathrm{diag}(\\sqrt{w})` turns the
weighted symmetric part of :math:`H` into :math:`S(r) = \\begin{pmatrix}\\mu_1 & -s\\\\ -s &
\\mu_2\\end{pmatrix}` with :math:`s = (L_{12} + rL_{21})/(2\\sqrt r)`, :math:`r = w_2/w_1`
(the worst case of the coupling blocks). Derived here:

- the margin: :math:`\\tfrac12\\lambda_{\\min}(D_w^{-1/2}C(w)D_w^{-1/2}) = \\lambda_{\\min}(S(r))`
  (the normalised, factor-2 form of the author's code), while :math:`\\lambda_{\\min}(M_w)` is
  not (counterexample: the paper's example);
- the band: :math:`\\det S(r) = 0` solved for :math:`r` gives the code's
  :math:`r_\\pm = (2P - Q \\pm 2\\sqrt{P(P-Q)})/L_{21}^2`; empty iff :math:`P \\le Q`; geometric
  centre :math:`L_{12}/L_{21}`, where :math:`s` is smallest and the margin largest;
- Euler: :math:`q^*(h)^2 = 1 - 2h\\alpha + h^2\\beta^2 < 1` iff :math:`h < 2\\alpha/\\beta^2`;
- the paper's example (:math:`\\mu_i = 1`, :math:`a = 10`, :math:`b = 1/20`, :math:`r = 200`):
  :math:`\\alpha^* = 1 - 1/\\sqrt2`, :math:`\\beta = 1 + 1/\\sqrt2`, :math:`h_{\\rm SGN} =
  2\\alpha^*/\\beta^2`, :math:`h_{\\rm true} = 2/(1 + 1/\\sqrt2) = 4 - 2\\sqrt2`, and the
  conservatism :math:`h_{\\rm true}/h_{\\rm SGN} = 3 + 2\\sqrt2`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

mu1, mu2, L12, L21, r, w1, w2, h, alpha, beta = sp.symbols(
    "mu1 mu2 L12 L21 r w1 w2 h alpha beta", positive=True)


def _zero(e: sp.Expr) -> bool:
    return sp.simplify(e) == 0


def lam_min(M: sp.Matrix) -> sp.Expr:
    """The smaller eigenvalue of a symmetric 2x2 matrix, in closed form."""
    p, q, s = M[0, 0], M[0, 1], M[1, 1]
    return (p + s) / 2 - sp.sqrt((p - s) ** 2 / 4 + q**2)


@dataclass(frozen=True)
class SGNDerivation:
    """The exact facts of the chapter (see the module docstring); ``*_matches`` compare each
    derived form with the printed (code's) one."""

    margin: sp.Expr
    band: tuple[sp.Expr, sp.Expr]
    printed_band: tuple[sp.Expr, sp.Expr]
    discriminant: sp.Expr
    centre: sp.Expr
    best_margin: sp.Expr
    euler_step: sp.Expr
    example: dict[str, sp.Expr]
    margin_matches: bool
    unnormalised_differs: bool
    band_matches: bool
    centre_matches: bool
    empty_iff_small_gain: bool
    euler_matches: bool
    example_matches: bool

    @property
    def all_match(self) -> bool:
        return (self.margin_matches and self.unnormalised_differs and self.band_matches
                and self.centre_matches and self.empty_iff_small_gain and self.euler_matches
                and self.example_matches)


@cache
def sgn_derivation() -> SGNDerivation:
    """Derive the margin, the band, the step bound and the example's numbers exactly."""
    s = (L12 + r * L21) / (2 * sp.sqrt(r))
    S = sp.Matrix([[mu1, -s], [-s, mu2]])  # the weighted symmetric part's worst case
    C = sp.Matrix([[2 * w1 * mu1, -(w1 * L12 + w2 * L21)], [-(w1 * L12 + w2 * L21),
                                                                2 * w2 * mu2]])
    Dm = sp.diag(1 / sp.sqrt(w1), 1 / sp.sqrt(w2))
    margin = sp.Rational(1, 2) * lam_min(Dm * C * Dm)
    margin_matches = _zero(margin.subs({w1: 1, w2: r}) - lam_min(S))
    # lambda_min(M_w) (M_w = C/2, unnormalised) differs on the paper's example
    ex = {mu1: 1, mu2: 1, L12: 10, L21: sp.Rational(1, 20)}
    unnorm = (lam_min(C / 2)).subs({**ex, w1: 1, w2: 200})
    unnormalised_differs = not _zero(unnorm - lam_min(S).subs({**ex, r: 200}))
    # the band: det S(r) = 0, i.e. 4 r mu1 mu2 = (L12 + r L21)^2 (a quadratic in r)
    poly = sp.expand(4 * r * mu1 * mu2 - (L12 + r * L21) ** 2)
    roots = sp.solve(poly, r)
    P, Q = mu1 * mu2, L12 * L21
    printed = ((2 * P - Q - 2 * sp.sqrt(P * (P - Q))) / L21**2,
               (2 * P - Q + 2 * sp.sqrt(P * (P - Q))) / L21**2)
    band_matches = (len(roots) == 2 and any(_zero(roots[0] - p) for p in printed)
                    and any(_zero(roots[1] - p) for p in printed))
    disc = sp.factor(sp.discriminant(poly, r))
    empty = _zero(disc - 16 * P * (P - Q))  # real roots iff P >= Q; S(r) PD needs disc > 0
    centre = sp.sqrt(sp.expand(printed[0] * printed[1]))
    (stationary,) = sp.solve(sp.diff(s, r), r)
    centre_matches = _zero(centre - L12 / L21) and _zero(stationary - L12 / L21)
    best = sp.simplify(lam_min(S).subs(r, L12 / L21))
    # Euler: 1 - 2 h alpha + h^2 beta^2 = 1 at h = 2 alpha / beta^2
    q2 = 1 - 2 * h * alpha + h**2 * beta**2
    step = [x for x in sp.solve(sp.Eq(q2, 1), h) if x != 0][0]
    euler_matches = _zero(step - 2 * alpha / beta**2)
    # the paper's example
    a_ex = sp.nsimplify(lam_min(S).subs({**ex, r: 200}))
    Hw = sp.Matrix([[1, 10 / sp.sqrt(200)], [sp.sqrt(200) / 20, 1]])  # W H W^-1 at r = 200
    b_ex = max(Hw.eigenvals(), key=lambda e: float(e))
    h_sgn = sp.simplify(2 * a_ex / b_ex**2)
    H = sp.Matrix([[1, 10], [sp.Rational(1, 20), 1]])
    lam_max = max(H.eigenvals(), key=lambda e: float(e))
    h_true = sp.simplify(2 / lam_max)
    ratio = sp.radsimp(sp.simplify(h_true / h_sgn))
    example = {"alpha_star": a_ex, "beta": b_ex, "h_sgn": h_sgn, "h_true": h_true,
               "ratio": ratio, "unnormalised": sp.nsimplify(unnorm)}
    example_matches = (_zero(a_ex - (1 - 1 / sp.sqrt(2))) and _zero(b_ex - (1 + 1 / sp.sqrt(2)))
                       and _zero(h_true - (4 - 2 * sp.sqrt(2)))
                       and _zero(ratio - (3 + 2 * sp.sqrt(2))) and Hw.is_symmetric())
    return SGNDerivation(margin, tuple(roots), printed, disc, centre, best, step, example,
                         margin_matches, unnormalised_differs, band_matches, centre_matches,
                         empty, euler_matches, example_matches)


def markdown() -> str:
    """The derivation's results as Markdown (for the notebook)."""
    d = sgn_derivation()
    e = d.example
    rows = [
        ("margin ½λ_min(D^-½ C D^-½) = λ_min(S(r))", d.margin_matches),
        ("λ_min(M_w) ≠ it (paper's example: "
         f"${sp.latex(e['unnormalised'])}$ vs ${sp.latex(e['alpha_star'])}$)",
         d.unnormalised_differs),
        ("det S(r) = 0 ⇔ r = r±, the code's closed form", d.band_matches),
        ("discriminant 16P(P−Q): band empty iff μ1μ2 ≤ L12L21", d.empty_iff_small_gain),
        ("geometric centre √(r−r+) = argmax margin = L12/L21", d.centre_matches),
        ("q*(h) < 1 iff h < 2α/β²", d.euler_matches),
        ("example: α* = 1−1/√2, β = 1+1/√2, h_true = 4−2√2, ratio 3+2√2", d.example_matches),
    ]
    lines = ["| derived fact | exact |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in rows]
    lines.append("")
    lines.append(f"Band edges: $r_\\pm = {sp.latex(d.printed_band[1])}$ (with $\\mp$); best "
                 f"margin at the centre: ${sp.latex(d.best_margin)}$. Example: "
                 f"$h_{{\\rm SGN}} = {sp.latex(e['h_sgn'])} \\approx {float(e['h_sgn']):.4f}$, "
                 f"$h_{{\\rm true}} = {sp.latex(e['h_true'])} \\approx "
                 f"{float(e['h_true']):.4f}$, ratio ${sp.latex(e['ratio'])} \\approx "
                 f"{float(e['ratio']):.4f}$.")
    return "\n".join(lines)

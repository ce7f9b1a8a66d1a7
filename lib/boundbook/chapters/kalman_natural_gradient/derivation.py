"""The sympy derivations of the chapter "One natural-gradient step is a Kalman update" (exact; no
floats).

Objective: :math:`J(q) = E_q[\\ell] + \\mathrm{KL}(q\\,\\|\\,N(m_0, \\Sigma_0))`,
:math:`\\ell(x) = \\tfrac12 (y - Hx)^\\top R^{-1}(y - Hx)`. Natural-gradient descent with step
:math:`\\beta` in the natural parameters :math:`(\\Sigma^{-1}m, -\\tfrac12\\Sigma^{-1})` gives
:math:`\\Sigma_{k+1}^{-1} = (1-\\beta)\\Sigma_k^{-1} + \\beta(\\Sigma_0^{-1} + H^\\top R^{-1}H)` and
:math:`m_{k+1} = m_k - \\beta\\Sigma_{k+1}(H^\\top R^{-1}(Hm_k - y) + \\Sigma_0^{-1}(m_k - m_0))`
(the toolkit's :func:`boundbook.numeric.tracking.natural_gradient_step`, written again here in
sympy for small symbolic dimensions). Derived:

- :func:`kalman_identity`: one step from the prior at :math:`\\beta = 1` equals the Kalman update
  :math:`K = \\Sigma_0H^\\top(H\\Sigma_0H^\\top + R)^{-1}`, :math:`m^+ = m_0 + K(y - Hm_0)`,
  :math:`\\Sigma^+ = (I - KH)\\Sigma_0` exactly (every entry simplifies to 0), for
  :math:`(d, k) = (2, 1)` with a general symmetric :math:`\\Sigma_0` and for :math:`(2, 2)` with a
  diagonal :math:`R`; for a symbolic :math:`\\beta` the covariance difference vanishes only at
  :math:`\\beta = 1`;
- :func:`contraction_identity`: in the natural parameters every step contracts the distance to
  the posterior exactly by :math:`1 - \\beta`, from any iterate (scalar case, symbolic);
- :func:`quartic_moments`: for the nonlinear (squared-range) measurement, the Gaussian
  expectations the nonlinear experiment uses, and Bonnet's and Price's identities, so that the
  exact NANO map's fixed points are the stationary points of :math:`J`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp


def _natural_step(m: sp.Matrix, P: sp.Matrix, H: sp.Matrix, R: sp.Matrix, y: sp.Matrix,
                  beta: sp.Expr, m0: sp.Matrix, P0: sp.Matrix) -> tuple[sp.Matrix, sp.Matrix]:
    G = H.T * R.inv() * H
    Lam = (1 - beta) * P.inv() + beta * (P0.inv() + G)
    P1 = Lam.inv()
    g = H.T * R.inv() * (H * m - y) + P0.inv() * (m - m0)
    return m - beta * P1 * g, P1


def _kalman(m: sp.Matrix, P: sp.Matrix, H: sp.Matrix, R: sp.Matrix, y: sp.Matrix
            ) -> tuple[sp.Matrix, sp.Matrix]:
    K = P * H.T * (H * P * H.T + R).inv()
    return m + K * (y - H * m), (sp.eye(P.shape[0]) - K * H) * P


def _zero(M: sp.Matrix) -> bool:
    return all(sp.simplify(sp.factor(sp.together(e))) == 0 for e in M)


@dataclass(frozen=True)
class KalmanIdentity:
    """``mean_matches`` / ``cov_matches``: the unit natural step minus the Kalman update is the
    zero matrix, per dimension case (``cases``); ``beta_roots``: the steps at which the
    covariance difference vanishes for a symbolic step (must be ``[1]``);
    ``euclidean_differs``: the unit Euclidean step does not give the Kalman covariance."""

    cases: tuple[tuple[int, int], ...]
    mean_matches: tuple[bool, ...]
    cov_matches: tuple[bool, ...]
    beta_roots: tuple[sp.Expr, ...]
    euclidean_differs: bool

    @property
    def matches(self) -> bool:
        return (all(self.mean_matches) and all(self.cov_matches)
                and list(self.beta_roots) == [1] and self.euclidean_differs)


def _case(d: int, k: int, diag_R: bool):
    p = sp.symbols(f"p1:{d + 1}(1:{d + 1})")
    P0 = sp.Matrix(d, d, lambda i, j: p[min(i, j) * d + max(i, j)])  # symmetric
    H = sp.Matrix(k, d, sp.symbols(f"h1:{k + 1}(1:{d + 1})"))
    if diag_R:
        R = sp.diag(*sp.symbols(f"r1:{k + 1}", positive=True))
    else:
        R = sp.Matrix([[sp.Symbol("r", positive=True)]])
    y = sp.Matrix(sp.symbols(f"y1:{k + 1}"))
    m0 = sp.Matrix(sp.symbols(f"m1:{d + 1}"))
    return m0, P0, H, R, y


@cache
def kalman_identity() -> KalmanIdentity:
    cases = ((2, 1, False), (2, 2, True))
    mm, cm = [], []
    for d, k, diag in cases:
        m0, P0, H, R, y = _case(d, k, diag)
        nm, nP = _natural_step(m0, P0, H, R, y, sp.Integer(1), m0, P0)
        km, kP = _kalman(m0, P0, H, R, y)
        mm.append(_zero(nm - km))
        cm.append(_zero(nP - kP))
    # symbolic step, (2, 1): the covariance difference vanishes only at beta = 1
    beta = sp.Symbol("beta", positive=True)
    m0, P0, H, R, y = _case(2, 1, False)
    _, nP = _natural_step(m0, P0, H, R, y, beta, m0, P0)
    _, kP = _kalman(m0, P0, H, R, y)
    num = sp.numer(sp.together(sp.factor(nP[0, 0] - kP[0, 0])))
    roots = tuple(sorted(sp.solve(num, beta)))
    # the Euclidean unit step: Sigma - (G + Sigma0^-1 - Sigma^-1)/2 at Sigma = Sigma0
    G = H.T * R.inv() * H
    eP = P0 - G / 2
    eu = not _zero(eP - kP)
    return KalmanIdentity(cases=tuple((d, k) for d, k, _ in cases), mean_matches=tuple(mm),
                          cov_matches=tuple(cm), beta_roots=roots, euclidean_differs=eu)


@dataclass(frozen=True)
class ContractionIdentity:
    """Scalar case, from any iterate :math:`(m_k, \\sigma_k^2)`: the natural parameters'
    distances to the posterior's after one step, divided by the distances before, are both
    exactly :math:`1 - \\beta` (``precision_ratio``, ``shift_ratio``)."""

    precision_ratio: sp.Expr
    shift_ratio: sp.Expr

    @property
    def matches(self) -> bool:
        beta = sp.Symbol("beta", positive=True)
        return (sp.simplify(self.precision_ratio - (1 - beta)) == 0
                and sp.simplify(self.shift_ratio - (1 - beta)) == 0)


@cache
def contraction_identity() -> ContractionIdentity:
    beta = sp.Symbol("beta", positive=True)
    mk, m0, h, y = sp.symbols("m_k m_0 h y", real=True)
    pk, p0, r = sp.symbols("p_k p_0 r", positive=True)
    M = sp.Matrix
    nm, nP = _natural_step(M([mk]), M([[pk]]), M([[h]]), M([[r]]), M([y]), beta, M([m0]),
                           M([[p0]]))
    km, kP = _kalman(M([m0]), M([[p0]]), M([[h]]), M([[r]]), M([y]))
    lam_star, eta_star = 1 / kP[0, 0], km[0] / kP[0, 0]
    lam1, eta1 = 1 / nP[0, 0], nm[0] / nP[0, 0]
    prec = sp.simplify((lam1 - lam_star) / (1 / pk - lam_star))
    shift = sp.simplify((eta1 - eta_star) / (mk / pk - eta_star))
    return ContractionIdentity(precision_ratio=prec, shift_ratio=shift)


@dataclass(frozen=True)
class QuarticMoments:
    """The squared-range measurement :math:`\\ell(x) = (y - \\|x\\|^2)^2/(2R)`, :math:`x \\in
    \\mathbb R^2`, under :math:`q = N(m, \\Sigma)`, :math:`\\Sigma = LL^\\top` (symbolic):

    - ``closed_forms``: :math:`E_q[\\ell]`, :math:`E_q[\\nabla\\ell]`, :math:`E_q[\\nabla^2\\ell]`
      computed from :math:`x = m + Lz` by expanding in :math:`z` and replacing each monomial by
      its standard-normal moment, minus the closed forms of
      :mod:`boundbook.chapters.kalman_natural_gradient.nonlinear`: zero;
    - ``bonnet``: :math:`\\partial E_q[\\ell]/\\partial m - E_q[\\nabla\\ell] = 0`;
    - ``price``: :math:`\\partial E_q[\\ell]/\\partial\\Sigma - \\tfrac12E_q[\\nabla^2\\ell] = 0`
      (entrywise, the off-diagonal entry counted once per side);
    - ``kl``: :math:`\\partial\\mathrm{KL}/\\partial\\Sigma = \\tfrac12(\\Sigma_0^{-1} -
      \\Sigma^{-1})` and :math:`\\partial\\mathrm{KL}/\\partial m = \\Sigma_0^{-1}(m - m_0)`.

    Together: the fixed points of the unit NANO step with the exact expected Hessian
    (:math:`\\Sigma^{-1} = \\Sigma_0^{-1} + E_q[\\nabla^2\\ell]`, :math:`E_q[\\nabla\\ell] +
    \\Sigma_0^{-1}(m - m_0) = 0`) are exactly the stationary points of :math:`J`. The
    Gauss-Newton term differs from :math:`E_q[\\nabla^2\\ell]` by ``gn_gap`` =
    :math:`(2s/R)I`, :math:`s = \\|m\\|^2 + \\operatorname{tr}\\Sigma - y`: its fixed points are
    stationary points of :math:`J` only where :math:`s = 0`."""

    closed_forms: tuple[bool, bool, bool]
    bonnet: bool
    price: bool
    kl: bool
    gn_gap: sp.Expr

    @property
    def matches(self) -> bool:
        return all(self.closed_forms) and self.bonnet and self.price and self.kl


def _gauss_expect(expr: sp.Expr, z: tuple[sp.Symbol, ...]) -> sp.Expr:
    """:math:`E[expr]` for independent standard normals ``z`` (expr polynomial in z)."""
    poly = sp.Poly(sp.expand(expr), *z)
    out = sp.Integer(0)
    for powers, coeff in poly.terms():
        mom = sp.Integer(1)
        for k in powers:
            mom *= 0 if k % 2 else sp.factorial2(k - 1)
        out += coeff * mom
    return sp.expand(out)


@cache
def quartic_moments() -> QuarticMoments:
    m1, m2, y, l21, m01, m02 = sp.symbols("m1 m2 y l21 m01 m02", real=True)
    l11, l22, R = sp.symbols("l11 l22 R", positive=True)
    z = sp.symbols("z1 z2", real=True)
    m = sp.Matrix([m1, m2])
    L = sp.Matrix([[l11, 0], [l21, l22]])
    P = L * L.T
    x = m + L * sp.Matrix(z)
    xs = sp.symbols("x1 x2", real=True)
    X = sp.Matrix(xs)
    ell = (y - (X.T * X)[0]) ** 2 / (2 * R)
    gl = sp.Matrix([sp.diff(ell, v) for v in xs])
    hl = sp.hessian(ell, xs)
    sub = dict(zip(xs, x, strict=True))
    E = lambda e: _gauss_expect(e.subs(sub), z)  # noqa: E731
    s = (m.T * m)[0] + P.trace() - y
    El_cf = (s**2 + 2 * (P * P).trace() + 4 * (m.T * P * m)[0]) / (2 * R)
    g_cf = (2 / R) * (s * m + 2 * P * m)
    gn = (4 / R) * (P + m * m.T)
    h_cf = gn + (2 * s / R) * sp.eye(2)
    El = E(ell)
    ok = (sp.simplify(El - El_cf) == 0,
          all(sp.simplify(E(gl[i]) - g_cf[i]) == 0 for i in range(2)),
          all(sp.simplify(E(hl[i, j]) - h_cf[i, j]) == 0 for i in range(2) for j in range(2)))
    # Bonnet and Price on the closed form written in the entries of a symmetric Sigma
    p11, p12, p22 = sp.symbols("p11 p12 p22", real=True)
    Ps = sp.Matrix([[p11, p12], [p12, p22]])
    ss = (m.T * m)[0] + Ps.trace() - y
    f = (ss**2 + 2 * (Ps * Ps).trace() + 4 * (m.T * Ps * m)[0]) / (2 * R)
    gs = (2 / R) * (ss * m + 2 * Ps * m)
    hs = (4 / R) * (Ps + m * m.T) + (2 * ss / R) * sp.eye(2)
    bonnet = all(sp.simplify(sp.diff(f, v) - gs[i]) == 0 for i, v in enumerate((m1, m2)))
    price = (sp.simplify(sp.diff(f, p11) - hs[0, 0] / 2) == 0
             and sp.simplify(sp.diff(f, p22) - hs[1, 1] / 2) == 0
             and sp.simplify(sp.diff(f, p12) - hs[0, 1]) == 0)
    # KL(N(m, Sigma) || N(m0, Sigma0)) with a diagonal prior (enough for the derivative form)
    a0, b0 = sp.symbols("a0 b0", positive=True)
    P0 = sp.diag(a0, b0)
    d = m - sp.Matrix([m01, m02])
    kl = ((P0.inv() * Ps).trace() + (d.T * P0.inv() * d)[0] - 2 + sp.log(P0.det())
          - sp.log(Ps.det())) / 2
    want = (P0.inv() - Ps.inv()) / 2
    kl_ok = (sp.simplify(sp.diff(kl, p11) - want[0, 0]) == 0
             and sp.simplify(sp.diff(kl, p22) - want[1, 1]) == 0
             and sp.simplify(sp.diff(kl, p12) - 2 * want[0, 1]) == 0
             and all(sp.simplify(sp.diff(kl, v) - (P0.inv() * d)[i]) == 0
                     for i, v in enumerate((m1, m2))))
    gap = sp.simplify((hs - ((4 / R) * (Ps + m * m.T)))[0, 0])
    return QuarticMoments(closed_forms=ok, bonnet=bonnet, price=price, kl=kl_ok, gn_gap=gap)


@dataclass(frozen=True)
class Derived:
    kalman: KalmanIdentity
    contraction: ContractionIdentity
    quartic: QuarticMoments

    @property
    def matches(self) -> bool:
        return self.kalman.matches and self.contraction.matches and self.quartic.matches

    def table(self) -> list[tuple[str, str]]:
        k, c = self.kalman, self.contraction
        rows = [(f"unit step - Kalman, mean, (d, k) = {dk}", "0" if mm else "nonzero")
                for dk, mm in zip(k.cases, k.mean_matches, strict=True)]
        rows += [(f"unit step - Kalman, covariance, (d, k) = {dk}", "0" if cm else "nonzero")
                 for dk, cm in zip(k.cases, k.cov_matches, strict=True)]
        rows += [("steps beta where the covariances agree", ", ".join(map(str, k.beta_roots))),
                 ("Euclidean unit step - Kalman covariance", "nonzero" if k.euclidean_differs
                  else "0"),
                 ("precision distance ratio per step", f"${sp.latex(c.precision_ratio)}$"),
                 ("shift distance ratio per step", f"${sp.latex(c.shift_ratio)}$")]
        q = self.quartic
        rows += [("squared range: E[l], E[grad l], E[hess l] - closed forms",
                  ", ".join("0" if ok else "nonzero" for ok in q.closed_forms)),
                 ("Bonnet: dE[l]/dm - E[grad l]", "0" if q.bonnet else "nonzero"),
                 ("Price: dE[l]/dSigma - E[hess l]/2", "0" if q.price else "nonzero"),
                 ("KL derivatives in (m, Sigma)", "as stated" if q.kl else "differ"),
                 ("E[hess l] - Gauss-Newton term (diagonal entry)", f"${sp.latex(q.gn_gap)}$")]
        return rows


def derive() -> Derived:
    return Derived(kalman=kalman_identity(), contraction=contraction_identity(),
                   quartic=quartic_moments())

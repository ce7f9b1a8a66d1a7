"""Symbolic derivation of the softmax "ghost" radius (Sao, arXiv 2603.13552).

Along a step direction the linearised cross-entropy loss is
``l(t) = log F(t) - z_y - a_y t`` with partition function ``F(t) = sum_k exp(z_k + a_k t)``.
The term ``-z_y - a_y t`` is entire, so the Taylor radius of ``l`` at ``t = 0`` is the
distance from 0 to the nearest complex zero of ``F`` (a logarithmic branch point of
``log F``). For two classes, after dividing by one exponential,
``F(t) ∝ 1 + exp(delta + Delta t)`` with ``delta`` the logit gap and ``Delta = |a_1 - a_2|``;
its zeros are ``t_m = (-delta + i pi (2m + 1)) / Delta`` for integer ``m``, and the nearest
ones (``m = 0`` and ``m = -1``) give the binary radius of Thm 4.3 (Eq. 10)::

    rho* = sqrt(delta**2 + pi**2) / Delta.

Its minimum over ``delta`` is ``pi / Delta`` at ``delta = 0``, which is the multiclass lower
bound ``rho* >= pi / Delta_a`` of Thm 4.6 (Eq. 12) made tight. Everything here is derived
with sympy rather than typed in; ``delta**2 + pi**2/Delta``, the form a plain-text rendering
of the abstract shows after losing the square root, is kept only to show that it differs.
:func:`kl_remainder_derivation` derives the KL identity and the sharp constants of the paper's
App. 4.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

__all__ = [
    "BinaryRadiusDerivation",
    "DeltaMinimum",
    "MulticlassHalfPlaneCheck",
    "binary_radius_derivation",
    "binary_radius_markdown",
    "half_plane_markdown",
    "KLRemainderDerivation",
    "hessian_radius_mismatch",
    "kl_remainder_derivation",
    "kl_remainder_markdown",
    "minimum_over_delta",
    "multiclass_half_plane_check",
    "same_expression",
]

delta = sp.Symbol("delta", real=True)
Delta = sp.Symbol("Delta", positive=True)
t = sp.Symbol("t")  # complex
m = sp.Symbol("m", integer=True)


@dataclass(frozen=True)
class BinaryRadiusDerivation:
    """Result of :func:`binary_radius_derivation` (all fields are sympy objects).

    Attributes
    ----------
    function : binary CE along the line up to an entire part, ``log(1 + exp(delta + Delta t))``.
    principal_singularity : the solution sympy's ``solve`` returns for ``1 + exp(...) = 0``.
    singularities : the full family ``t_m`` as an expression in the integer symbol ``m``.
    singularity_set : sympy's ``solveset`` answer over the complex numbers (cross-check).
    substitution_check : ``exp(delta + Delta t_m)`` simplified for symbolic ``m`` (is ``-1``).
    modulus_squared : ``|t_m|**2`` as a polynomial in ``m``.
    minimisers : the integers ``m`` attaining the minimum of ``modulus_squared``.
    radius : ``sqrt(min_m |t_m|**2)``.
    printed_body : Eq. (10) of the paper body, ``sqrt(delta**2 + pi**2)/Delta``.
    printed_abstract : ``delta**2 + pi**2/Delta``, what a plain-text rendering of the abstract
        shows after losing the square root (not the paper's form: the arXiv abstract and
        Thm 4.3 print ``printed_body``); kept to show the two differ.
    """

    function: sp.Expr
    principal_singularity: sp.Expr
    singularities: sp.Expr
    singularity_set: sp.Set
    substitution_check: sp.Expr
    modulus_squared: sp.Expr
    minimisers: tuple[int, ...]
    radius: sp.Expr
    printed_body: sp.Expr
    printed_abstract: sp.Expr


@dataclass(frozen=True)
class DeltaMinimum:
    """Minimum of the binary radius over the logit gap ``delta``.

    Attributes
    ----------
    argmin : the critical point in ``delta`` (0).
    minimum : the radius there (``pi/Delta``).
    second_derivative : d²radius/ddelta² at the critical point (positive: a minimum).
    """

    argmin: sp.Expr
    minimum: sp.Expr
    second_derivative: sp.Expr


@dataclass(frozen=True)
class MulticlassHalfPlaneCheck:
    """Ingredients of the half-plane argument behind Thm 4.6 (``rho* >= pi/Delta_a``).

    Attributes
    ----------
    condition : the hypothesis ``|Im t| * Delta_a < pi``.
    rotated_real_part : ``Re(exp(-i phi) F(u + i y))`` for three ordered slopes, with ``phi``
        the bisector of the phase arc; a sum of ``w_k exp(a_k u) cos((a_k - abar) y)``.
    phase_offsets : the offsets ``(a_k - abar) y`` of each phase from the bisector.
    offsets_within_half_arc : whether ``|a_k - abar| <= Delta_a / 2`` holds for each ``k``
        (checked symbolically under the ordering ``a_1 <= a_2 <= a_3``).
    example_min_real_part : minimum of the rotated real part of a numeric example over a grid
        of the strip ``|y| < pi/Delta_a`` (positive, so ``F`` has no zero there).
    tight_example_value : ``F(i pi/Delta)`` for two equal weights with slope gap ``Delta``
        (exactly 0: the strict inequality cannot be relaxed).
    """

    condition: sp.Rel
    rotated_real_part: sp.Expr
    phase_offsets: tuple[sp.Expr, ...]
    offsets_within_half_arc: tuple[bool, ...]
    example_min_real_part: float
    tight_example_value: sp.Expr


def same_expression(a: sp.Expr, b: sp.Expr) -> bool:
    """Return whether ``sympy.simplify(a - b) == 0``.

    Parameters
    ----------
    a, b : sympy expressions.

    Returns
    -------
    bool
    """
    return bool(sp.simplify(sp.sympify(a) - sp.sympify(b)) == 0)


@lru_cache(maxsize=1)
def binary_radius_derivation() -> BinaryRadiusDerivation:
    """Derive the binary Taylor radius (Thm 4.3, Eq. 10) with sympy.

    Solves ``1 + exp(delta + Delta t) = 0`` for the principal zero, extends it by the period
    ``2 pi i / Delta`` of the exponential, checks the family by substitution for symbolic
    integer ``m``, and minimises ``|t_m|**2`` over the integers.

    Returns
    -------
    BinaryRadiusDerivation
    """
    function = sp.log(1 + sp.exp(delta + Delta * t))
    equation = 1 + sp.exp(delta + Delta * t)
    solutions = sp.solve(equation, t)
    if len(solutions) != 1:
        raise RuntimeError(f"expected one principal solution from sympy, got {solutions}")
    principal = sp.simplify(solutions[0])
    family = sp.simplify(principal + 2 * sp.pi * sp.I * m / Delta)
    check = sp.simplify(sp.exp(delta + Delta * family))
    if check != -1:
        raise RuntimeError(f"substitution check failed: exp(...) = {check}")
    singularity_set = sp.solveset(equation, t, sp.S.Complexes)

    re_part, im_part = family.as_real_imag()
    modulus_squared = sp.expand(sp.simplify(re_part**2 + im_part**2))
    # |t_m|**2 is a convex quadratic in m: minimise over the reals, then over the two
    # neighbouring integers.
    poly = sp.Poly(modulus_squared, m)
    if poly.degree() != 2 or not sp.ask(sp.Q.positive(poly.LC())):
        raise RuntimeError("|t_m|^2 is not a convex quadratic in m")
    mu = sp.Symbol("mu", real=True)  # continuous relaxation of m
    (m_real,) = sp.solve(sp.diff(modulus_squared.subs(m, mu), mu), mu)
    candidates = sorted({int(sp.floor(m_real)), int(sp.ceiling(m_real))})
    values = {c: sp.simplify(modulus_squared.subs(m, c)) for c in candidates}
    smallest = min(values.values(), key=lambda v: float(v.subs({delta: 1, Delta: 1})))
    minimisers = tuple(c for c, v in values.items() if same_expression(v, smallest))
    radius = sp.simplify(sp.sqrt(sp.factor(smallest)))

    return BinaryRadiusDerivation(
        function=function,
        principal_singularity=principal,
        singularities=family,
        singularity_set=singularity_set,
        substitution_check=check,
        modulus_squared=modulus_squared,
        minimisers=minimisers,
        radius=radius,
        printed_body=sp.sqrt(delta**2 + sp.pi**2) / Delta,
        printed_abstract=delta**2 + sp.pi**2 / Delta,
    )


def minimum_over_delta(radius: sp.Expr | None = None) -> DeltaMinimum:
    """Minimise the binary radius over the logit gap ``delta``.

    Parameters
    ----------
    radius : expression in ``delta`` and ``Delta``; defaults to the derived binary radius.

    Returns
    -------
    DeltaMinimum
        ``argmin = 0`` and ``minimum = pi/Delta``.
    """
    if radius is None:
        radius = binary_radius_derivation().radius
    critical = sp.solve(sp.diff(radius, delta), delta)
    if len(critical) != 1:
        raise RuntimeError(f"expected a single critical point in delta, got {critical}")
    (argmin,) = critical
    second = sp.simplify(sp.diff(radius, delta, 2).subs(delta, argmin))
    return DeltaMinimum(
        argmin=argmin,
        minimum=sp.simplify(radius.subs(delta, argmin)),
        second_derivative=second,
    )


def hessian_radius_mismatch(delta_value: float) -> tuple[float, float]:
    """Ratio of the Hessian step scale to the Taylor radius for the logistic loss.

    For ``f(x) = log(1 + exp(-x))`` at margin ``delta``, ``f'' = sigma(1 - sigma)`` and the
    radius of ``f`` at ``delta`` is ``sqrt(delta**2 + pi**2)``. The paper's text uses
    ``2/f''`` (">4000x" at ``delta = 10``) while its Fig. 13 uses ``1/f''`` (22,000 vs 10).

    Parameters
    ----------
    delta_value : the margin ``delta``.

    Returns
    -------
    tuple of float
        ``((2/f''(delta)) / sqrt(delta**2 + pi**2), (1/f''(delta)) / sqrt(delta**2 + pi**2))``.
    """
    x = sp.Symbol("x", real=True)
    f = sp.log(1 + sp.exp(-x))
    f2 = sp.diff(f, x, 2)
    sigma = 1 / (1 + sp.exp(-x))
    if not same_expression(f2, sigma * (1 - sigma)):
        raise RuntimeError("f'' of the logistic loss is not sigma(1 - sigma)")
    radius = sp.sqrt(x**2 + sp.pi**2)
    at = {x: sp.nsimplify(delta_value)}
    ratio_two = sp.N((2 / f2 / radius).subs(at), 30)
    ratio_one = sp.N((1 / f2 / radius).subs(at), 30)
    return float(ratio_two), float(ratio_one)


def multiclass_half_plane_check() -> MulticlassHalfPlaneCheck:
    """State and spot-check the half-plane argument of Thm 4.6.

    With ``t = u + i y`` the ``k``-th term of ``F`` has phase ``a_k y``. If
    ``|y| Delta_a < pi`` all phases lie in an arc of length ``< pi``; rotating by its bisector
    ``phi = (a_max + a_min) y / 2`` makes every term have positive real part, hence
    ``F(t) != 0``, so every zero has ``|t| >= |Im t| >= pi / Delta_a``.

    Returns
    -------
    MulticlassHalfPlaneCheck
    """
    u, y = sp.symbols("u y", real=True)
    a = sp.symbols("a1:4", real=True)
    w = sp.symbols("w1:4", positive=True)
    spread = sp.Symbol("Delta_a", positive=True)
    condition = sp.Abs(y) * spread < sp.pi

    big_f = sum(wk * sp.exp(ak * (u + sp.I * y)) for wk, ak in zip(w, a, strict=True))
    abar = (a[0] + a[2]) / 2  # bisector for the ordering a1 <= a2 <= a3
    rotated = sp.simplify(sp.re(sp.expand_complex(sp.exp(-sp.I * abar * y) * big_f)))
    offsets = tuple(sp.simplify((ak - abar) * y) for ak in a)

    # |a_k - abar| <= (a3 - a1)/2 under a1 <= a2 <= a3: parametrise a2 = a1 + s (a3 - a1).
    s, g = sp.symbols("s g", nonnegative=True)
    ordered = {a[1]: a[0] + s * g, a[2]: a[0] + g}
    within = []
    for ak in a:
        half_gap_minus_offset_sq = sp.expand(((a[2] - a[0]) / 2) ** 2 - (ak - abar) ** 2).subs(
            ordered
        )
        # the difference is g**2 * s * (1 - s) (or 0), non-negative for s in [0, 1]
        diff = sp.factor(sp.expand(half_gap_minus_offset_sq))
        if diff == 0:
            within.append(True)
            continue
        nonneg = sp.solve_univariate_inequality(diff.subs(g, 1) >= 0, s, relational=False)
        within.append(bool(sp.Interval(0, 1).is_subset(nonneg)))

    example = {a[0]: -1, a[1]: sp.Rational(1, 2), a[2]: 2, w[0]: 1, w[1]: 2, w[2]: 3}
    spread_value = 3  # a3 - a1
    numeric_rot = sp.lambdify((u, y), rotated.subs(example), "mpmath")
    ymax = sp.pi / spread_value
    grid_y = [float(ymax) * (k / 20) * 0.999 for k in range(-20, 21)]
    grid_u = [-3 + 0.5 * j for j in range(13)]
    example_min = min(float(numeric_rot(uu, yy)) for uu in grid_u for yy in grid_y)

    tight_value = sp.simplify((1 + sp.exp(Delta * t)).subs(t, sp.I * sp.pi / Delta))

    return MulticlassHalfPlaneCheck(
        condition=condition,
        rotated_real_part=rotated,
        phase_offsets=offsets,
        offsets_within_half_arc=tuple(within),
        example_min_real_part=example_min,
        tight_example_value=tight_value,
    )


def binary_radius_markdown(d: BinaryRadiusDerivation) -> str:
    """The steps of :func:`binary_radius_derivation` as display math (MyST Markdown): the
    zeros :math:`t_m`, the substitution check, :math:`|t_m|^2` and its minimisers, the radius."""
    lines = [
        r"t_m = " + sp.latex(d.singularities),
        r"e^{\delta + \Delta t_m} = " + sp.latex(d.substitution_check),
        r"|t_m|^2 = " + sp.latex(d.modulus_squared)
        + r",\quad \text{minimal at } m \in " + sp.latex(set(d.minimisers)),
        r"\rho^* = \min_m |t_m| = " + sp.latex(d.radius),
    ]
    return "\n\n".join(f"$$\n{line}\n$$" for line in lines)


def half_plane_markdown(hp: MulticlassHalfPlaneCheck, mo: DeltaMinimum) -> str:
    """The half-plane argument of :func:`multiclass_half_plane_check` and the minimum of the
    binary radius over ``delta`` (:func:`minimum_over_delta`) as MyST Markdown."""
    offsets = ",\\ ".join(sp.latex(o) for o in hp.phase_offsets)
    return "\n\n".join([
        "$$\n\\text{hypothesis: } " + sp.latex(hp.condition) + "\n$$",
        "$$\n\\text{phase offsets from the bisector: } " + offsets + "\n$$",
        f"Each offset within $\\Delta_a/2$: {hp.offsets_within_half_arc}; "
        f"$F(i\\pi/\\Delta)$ in the tight case $= {sp.latex(hp.tight_example_value)}$.",
        "$$\n\\min_\\delta \\rho^* = " + sp.latex(mo.minimum)
        + r"\ \text{at}\ \delta = " + sp.latex(mo.argmin) + "\n$$",
    ])


@dataclass(frozen=True)
class KLRemainderDerivation:
    """The KL appendix of the paper (App. 4, Eqs. 25-29), derived with sympy.

    ``K(tau) = log sum_i exp(z_i + tau a_i)``; ``p(tau)`` the softmax of ``z + tau a``.

    Attributes
    ----------
    score_identity : ``K'(tau) - sum_i p_i(tau) a_i`` for three classes, simplified (0).
    forward_form : ``KL(p(tau) || p(0))`` as derived, ``tau K'(tau) - K(tau) + K(0)``.
    printed_form : Eq. (26) as printed, ``K(tau) - K(0) - tau K'(0)`` (the *reverse* KL).
    printed_minus_forward_series : the leading (tau^3) term of printed minus forward form for the
        two-point law (not 0: ``-kappa3 tau^3/6``).
    forward_series : the Bernoulli series of ``KL_fwd - tau^2/2 Var`` in ``tau`` (to tau^5).
    reverse_series : the same for ``KL(p(0) || p(tau))``.
    kappa3 : third cumulant of the two-point law on {0, 1} with ``P(1) = p``.
    p_star : the maximiser ``(3 - sqrt 3)/6`` of ``kappa3`` on (0, 1/2) (Lemma App. 4.1).
    third_moment_max : ``kappa3(p_star) = 1/(6 sqrt 3)``.
    forward_constant : the tau^3 coefficient of ``forward_series`` at ``p_star``, 1/(18 sqrt 3).
    reverse_constant : the same for the reverse KL, 1/(36 sqrt 3) (what Eqs. 26-28 prove).
    printed_constant : Eq. (29)'s ``1/(18 sqrt 3)``.
    """

    score_identity: sp.Expr
    forward_form: sp.Expr
    printed_form: sp.Expr
    printed_minus_forward_series: sp.Expr
    forward_series: sp.Expr
    reverse_series: sp.Expr
    kappa3: sp.Expr
    p_star: sp.Expr
    third_moment_max: sp.Expr
    forward_constant: sp.Expr
    reverse_constant: sp.Expr
    printed_constant: sp.Expr


@lru_cache(maxsize=1)
def kl_remainder_derivation() -> KLRemainderDerivation:
    """Derive the KL identity and the sharp constants of the paper's App. 4 with sympy.

    1. For three classes, ``K'(tau) = sum_i p_i(tau) a_i``; with ``log p_i(tau) = z_i +
       tau a_i - K(tau)`` this gives ``KL(p(tau)||p(0)) = tau K'(tau) - K(tau) + K(0)``, and
       ``KL(p(0)||p(tau)) = K(tau) - K(0) - tau K'(0)`` (the form Eq. 26 prints).
    2. For the two-point law on {0, 1} (``K(tau) = log(1 - p + p e^tau)``) the series of
       ``KL - tau^2/2 Var`` starts at ``kappa3 tau^3 / 3`` (forward) and ``kappa3 tau^3 / 6``
       (reverse); ``kappa3 = p(1-p)(1-2p)`` is maximal at ``p* = (3 - sqrt 3)/6`` with value
       ``1/(6 sqrt 3)`` (Lemma App. 4.1), so the sharp small-step constants are
       ``1/(18 sqrt 3)`` (forward) and ``1/(36 sqrt 3)`` (reverse).

    Returns
    -------
    KLRemainderDerivation
    """
    tau = sp.Symbol("tau", real=True)
    z = sp.symbols("z1:4", real=True)
    a = sp.symbols("a1:4", real=True)
    big_k = sp.log(sum(sp.exp(zi + tau * ai) for zi, ai in zip(z, a, strict=True)))
    probs = [sp.exp(zi + tau * ai - big_k) for zi, ai in zip(z, a, strict=True)]
    score = sp.simplify(sp.diff(big_k, tau) - sum(p * ai for p, ai in zip(probs, a, strict=True)))

    k_sym = sp.Function("K")
    forward_form = tau * sp.Derivative(k_sym(tau), tau) - k_sym(tau) + k_sym(0)
    printed_form = k_sym(tau) - k_sym(0) - tau * sp.Subs(sp.Derivative(k_sym(tau), tau), tau, 0)

    p = sp.Symbol("p", positive=True)
    kb = sp.log(1 - p + p * sp.exp(tau))
    kb1 = sp.diff(kb, tau)
    var0 = p * (1 - p)
    order = 6
    fwd = sp.series(tau * kb1 - kb - tau**2 / 2 * var0, tau, 0, order).removeO()
    rev = sp.series(kb - tau * kb1.subs(tau, 0) - tau**2 / 2 * var0, tau, 0, order).removeO()
    printed_minus = sp.series(kb - tau * kb1.subs(tau, 0) - (tau * kb1 - kb), tau, 0,
                              order).removeO()
    fwd, rev = sp.expand(fwd), sp.expand(rev)

    kappa3 = sp.factor(p * (1 - p) * (1 - 2 * p))
    critical = [c for c in sp.solve(sp.diff(kappa3, p), p)
                if c.is_real and 0 < c < sp.Rational(1, 2)]
    if len(critical) != 1:
        raise RuntimeError(f"expected one maximiser of kappa3 on (0, 1/2), got {critical}")
    (p_star,) = critical
    m3 = sp.simplify(kappa3.subs(p, p_star))
    c_fwd = sp.nsimplify(sp.simplify(fwd.coeff(tau, 3).subs(p, p_star)))
    c_rev = sp.nsimplify(sp.simplify(rev.coeff(tau, 3).subs(p, p_star)))
    if not same_expression(fwd.coeff(tau, 3), kappa3 / 3):
        raise RuntimeError("forward KL: tau^3 coefficient is not kappa3/3")
    if not same_expression(rev.coeff(tau, 3), kappa3 / 6):
        raise RuntimeError("reverse KL: tau^3 coefficient is not kappa3/6")
    return KLRemainderDerivation(
        score_identity=score, forward_form=forward_form, printed_form=printed_form,
        printed_minus_forward_series=sp.factor(sp.expand(printed_minus).coeff(tau, 3)) * tau**3,
        forward_series=fwd, reverse_series=rev, kappa3=kappa3, p_star=sp.simplify(p_star),
        third_moment_max=m3, forward_constant=sp.simplify(c_fwd),
        reverse_constant=sp.simplify(c_rev), printed_constant=1 / (18 * sp.sqrt(3)),
    )


def kl_remainder_markdown(d: KLRemainderDerivation) -> str:
    """The steps of :func:`kl_remainder_derivation` as display math (MyST Markdown)."""
    lines = [
        r"K'(\tau) - \textstyle\sum_i p_i(\tau) a_i = " + sp.latex(d.score_identity)
        + r"\quad\Rightarrow\quad \mathrm{KL}(p(\tau)\|p(0)) = " + sp.latex(d.forward_form),
        r"\text{Eq. (26) prints } " + sp.latex(d.printed_form)
        + r" = \mathrm{KL}(p(0)\|p(\tau));\ \text{printed} - \text{derived} = "
        + sp.latex(d.printed_minus_forward_series) + r" + \dots\ \text{(two-point law)}",
        r"\mathrm{KL}_{\rightarrow} - \tfrac{\tau^2}{2}\mathrm{Var} = "
        + sp.latex(d.forward_series) + r" + O(\tau^6)",
        r"\kappa_3 = " + sp.latex(d.kappa3) + r",\quad p^* = " + sp.latex(d.p_star)
        + r",\quad \kappa_3(p^*) = " + sp.latex(d.third_moment_max),
        r"C_{\rightarrow} = \kappa_3(p^*)/3 = " + sp.latex(d.forward_constant)
        + r"\ (\text{Eq. 29 prints } " + sp.latex(d.printed_constant) + r"),\quad "
        r"C_{\leftarrow} = \kappa_3(p^*)/6 = " + sp.latex(d.reverse_constant),
    ]
    return "\n\n".join(f"$$\n{line}\n$$" for line in lines)

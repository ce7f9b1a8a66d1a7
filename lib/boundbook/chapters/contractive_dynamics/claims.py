"""Claims of the chapter "Neural contractive dynamical systems" (Beik-Mohammadi, Hauberg,
Arvanitidis, Figueroa, Neumann and Rozo, arXiv:2401.09352v1, ICLR 2024) and their checks.

NCDS parametrises the Jacobian, :math:`\\hat J(x) = -(J_\\theta(x)^\\top J_\\theta(x) +
\\epsilon I)`, and recovers the vector field by integrating it along the segment from the
equilibrium. The abstract says the architecture "ensures contraction, and hence, global
stability". The chapter separates what the construction guarantees from what it does not:

- ``ncds-symmetric-part`` (``bound``, derived): the parametrised field is uniformly negative
  definite, :math:`\\mu_2(\\hat J) \\le -\\epsilon`;
- ``ncds-equilibrium`` (``bound``, derived; Monte Carlo): the integrated field contracts
  towards its equilibrium at rate :math:`\\epsilon`;
- ``ncds-true-jacobian`` (``identity``, derived): the true Jacobian of the integrated field
  equals :math:`\\hat J` when :math:`\\hat J` is a Hessian, and not otherwise;
- ``ncds-pairwise`` (``bound``, paper; Monte Carlo): every pair of trajectories contracts at
  rate :math:`\\epsilon`. As printed (for the NCDS field) it fails; the corrected statement
  (integrable :math:`\\hat J`) holds: an ``erratum``.

Monte-Carlo decisions: the share of trajectories (pairs) that break the rate, with its exact
95% Clopper-Pearson interval (the trajectory pair is the unit); the statement holds when the
interval lies below the bar :data:`BAR` (1%), fails when it lies above, and is undecided when it
straddles. Checks read plain numbers from the measurement dictionary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boundbook.core.chapter import Chapter
from boundbook.core.claims import Claim, Mutation, Outcome, Source, Tolerance, relative_slack

PAPER = "2401.09352"
VERSION = "v1"
BIB = "beikmohammadi2024ncds"
BAR = 0.01

LOGNORM_ATOL = Tolerance(1e-9, "eigvalsh of a float64 2x2 symmetric matrix of entries <= ~10: "
                         "rounding ~1e-15; the bound is attained where J_theta is singular")
SHARE_BAR = Tolerance(BAR, "a universal statement tested on random starts: it holds when the "
                      "95% interval of the share of starts that break the rate lies below 1% "
                      "(0 of 400 gives [0, 0.92%]); a break is a worst average rate below "
                      "c - 1e-3 (RK4 error < 1e-5)")
GAP_RTOL = Tolerance(1e-8, "32-point Gauss-Legendre on a smooth integrand, autograd through the "
                     "quadrature: ~1e-13 observed on the Hessian fields")


def _source(where: str) -> Source:
    return Source(PAPER, where, version=VERSION, bibkey=BIB)


def _share(k: int, n: int, ci: list[float]) -> tuple[bool, bool, str]:
    """(ok, undecided, text) for 'k of n starts break the rate' against the bar."""
    lo, hi = ci
    ok, undecided = hi <= BAR, lo <= BAR < hi
    return ok, undecided, f"{k} of {n} break it, 95% CI [{100 * lo:.2f}%, {100 * hi:.2f}%]"


# ----------------------------------------------------------------------------- symmetric part

def check_symmetric(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """max over sampled points of mu_2(Jhat) <= -factor * eps on the ``k['field']`` field."""
    bound = -k["factor"] * m["eps"]
    meas = float(m["max_lognorm_jhat"][k["field"]])
    ok = meas <= bound + LOGNORM_ATOL.value and bool(m["sympy_symmetric"])
    return Outcome(ok, bound, meas, slack=relative_slack(bound, meas),
                   note=f"max mu_2(Jhat) on the {k['field']} fields: {meas:.10f} "
                        f"(bound {bound:g}); sympy v^T Jhat v = -|Av|^2 - eps|v|^2: "
                        f"{m['sympy_symmetric']}")


def control_symmetric(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same check on the sign-flipped field: must fail."""
    return check_symmetric(m, {**k, "field": "flipped"})


# ----------------------------------------------------------------------------- equilibrium

def check_equilibrium(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """x.f(x) <= -c|x|^2 at every sampled point and |x(t)| <= e^{-ct}|x(0)| on all but a
    share < BAR of trajectories (c = factor * eps)."""
    fam, f = k["field"], str(float(k["factor"]))
    c = float(k["factor"]) * m["eps"]
    ratio = float(m["eq_ratio_max"][fam])
    cnt, ci = int(m["eq_violations"][fam][f]), m["eq_interval"][fam][f]
    ok_s, und, txt = _share(cnt, m["trajectories"], ci)
    ok = ok_s and ratio <= -c + LOGNORM_ATOL.value and bool(m["sympy_equilibrium"])
    return Outcome(ok, -c, ratio, interval=(ci[0], ci[1]), undecided=und,
                   slack=relative_slack(-c, ratio),
                   note=f"{fam} fields: max x.f(x)/|x|^2 = {ratio:.4f} (bound {-c:g}); "
                        f"rate {c:g} towards the equilibrium: {txt}")


def control_equilibrium(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same check on the sign-flipped field: must fail."""
    return check_equilibrium(m, {**k, "field": "flipped"})


# ----------------------------------------------------------------------------- pairwise

def check_pairwise(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """|x(t) - y(t)| <= e^{-ct}|x(0) - y(0)| on all but a share < BAR of pairs (c = factor *
    eps), on the ``k['field']`` fields."""
    fam, f = k["field"], str(float(k["factor"]))
    c = float(k["factor"]) * m["eps"]
    cnt, ci = int(m["pair_violations"][fam][f]), m["pair_interval"][fam][f]
    ok, und, txt = _share(cnt, m["pairs"], ci)
    worst = float(m["pair_rate_min"][fam])
    return Outcome(ok, c, worst, interval=(ci[0], ci[1]), undecided=und,
                   slack=relative_slack(c, worst, upper=False),
                   note=f"{fam} fields, pairs 0.05 apart: worst average rate {worst:.4f} "
                        f"(claimed >= {c:g}); {txt}; max mu_2 of the true Jacobian "
                        f"{m['max_lognorm_true'][fam]:.4f}; largest separation "
                        f"{m['max_separation'][fam]:.3g}x")


def control_pairwise(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same check on the sign-flipped field: must fail."""
    return check_pairwise(m, {**k, "field": "flipped"})


# ----------------------------------------------------------------------------- true Jacobian

def check_true_jacobian(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The autograd Jacobian of the integrated field equals Jhat (relative GAP_RTOL) on the
    ``k['field']`` fields; sympy: equal for a Hessian, unequal in the counterexample."""
    gap = float(m["jac_gap_max"][k["field"]])
    ok = gap <= GAP_RTOL.value and bool(m["sympy_integrable"]) and bool(
        m["sympy_counterexample"])
    return Outcome(ok, 0.0, gap, note=f"max |df/dx - Jhat| / max|Jhat| on the {k['field']} "
                   f"fields: {gap:.1g}; sympy: Hessian case exact {m['sympy_integrable']}, "
                   f"counterexample eigenvalue 2/3 - eps {m['sympy_counterexample']}")


def control_true_jacobian(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same identity on the (non-integrable) NCDS fields: must fail."""
    return check_true_jacobian(m, {**k, "field": "ncds"})


CLAIMS = (
    Claim(
        id="ncds-symmetric-part",
        title="the parametrised Jacobian is uniformly negative definite",
        statement=r"mu_2(Jhat(x)) = lambda_max(sym Jhat(x)) <= -eps for every x",
        source=_source("construction as recorded in our reading notes (location not found in v1; "
                       "abstract and Sec. 1 opening read)"),
        family="contraction", kind="bound", provenance="derived",
        constants={"field": "ncds", "factor": 1.0},
        check=check_symmetric, control=control_symmetric,
        control_label="the sign-flipped field +J_theta^T J_theta - eps I",
        tolerance=LOGNORM_ATOL,
        mutations=(Mutation("factor", 1.1, "eps -> 1.1 eps"),),
        heading="Negative definiteness by construction (derived)",
        text=r"""For any network Jacobian $J_\theta(x)$ and $\epsilon > 0$ the matrix field
$\hat J(x) = -(J_\theta(x)^\top J_\theta(x) + \epsilon I)$ is symmetric with
$v^\top\hat J(x)v = -\|J_\theta(x)v\|^2 - \epsilon\|v\|^2$, so its log norm is
$\mu_2(\hat J(x)) \le -\epsilon$ everywhere, with equality wherever $J_\theta(x)$ is
singular.""",
        prf="proposition",
        paper_reports="abstract: the architecture ensures contraction (the construction's "
                      "equation not located in v1)",
    ),
    Claim(
        id="ncds-equilibrium",
        builds_on=("ncds-symmetric-part",),
        title="the integrated field contracts towards its equilibrium at rate eps",
        statement=r"x^T f(x) <= -eps |x|^2 and |x(t)| <= e^{-eps t}|x(0)|",
        source=_source("abstract only: the architecture 'ensures contraction, and hence, global "
                       "stability'; the rate eps is the construction's, and the proof of the "
                       "rate is the book's ('equilibrium contracting' in the ELCD terminology, "
                       "arXiv:2402.08090)"),
        family="contraction", kind="bound", provenance="paper", monte_carlo=True,
        constants={"field": "ncds", "factor": 1.0},
        check=check_equilibrium, control=control_equilibrium,
        control_label="the sign-flipped field +J_theta^T J_theta - eps I",
        tolerance=SHARE_BAR,
        mutations=(Mutation("factor", 2.0, "eps -> 2 eps"),),
        heading="Global stability of the equilibrium (abstract; rate derived here)",
        text=r"""With $f(x) = \int_0^1 \hat J(x_0 + t(x - x_0))(x - x_0)\,dt$ and
$f(x_0) = 0$: $(x - x_0)^\top f(x) = \int_0^1 (x-x_0)^\top\hat J(\cdot)(x-x_0)\,dt \le
-\epsilon\|x - x_0\|^2$, so every trajectory satisfies
$\|x(t) - x_0\| \le e^{-\epsilon t}\|x(0) - x_0\|$ (any quadrature with positive weights keeps
this).""",
        prf="proposition",
        paper_reports="abstract: 'ensures contraction, and hence, global stability' (no "
                      "rate stated in what we read)",
    ),
    Claim(
        id="ncds-true-jacobian",
        title="the integrated field's Jacobian is Jhat only when Jhat is a Hessian",
        statement=r"df/dx = Jhat iff Jhat is integrable",
        source=_source("not in the paper as read: the book's derivation (the correction #16 "
                       "in our reading notes)"),
        family="contraction", kind="identity", provenance="derived",
        constants={"field": "hessian"},
        check=check_true_jacobian, control=control_true_jacobian,
        control_label="the same identity on the non-integrable NCDS fields",
        tolerance=GAP_RTOL,
        digits=1,  # a float64 round-off residual (~1e-13): only its order is reproducible
        mutations=(Mutation("field", "flipped", "Hessian -> flipped NCDS field"),),
        heading="The true Jacobian of the integrated field (derived)",
        text=r"""The true Jacobian of $f(x) = \int_0^1\hat J(tx)\,x\,dt$ is
$\partial f/\partial x = \int_0^1\hat J(tx)\,dt + \int_0^1 t\,(\partial_x\hat J(tx))[x]\,dt$.
It equals $\hat J(x)$ when $\hat J = -\nabla^2\phi$ (then $f = -\nabla\phi + \nabla\phi(0)$),
and not otherwise: for $J_\theta = \nabla(x_1x_2)^\top$,
$f(x) = -\tfrac23x_1x_2(x_2, x_1) - \epsilon x$, whose Jacobian at $(1, 1)$ has the eigenvalue
$\tfrac23 - \epsilon > 0$ while $\hat J(1, 1)$ has $-\epsilon$ and $-2 - \epsilon$.""",
        prf="proposition",
        paper_reports="not in the paper as read",
    ),
    Claim(
        id="ncds-pairwise",
        builds_on=("ncds-symmetric-part",),
        title="every pair of trajectories contracts at rate eps",
        statement=r"|x(t) - y(t)| <= e^{-eps t}|x(0) - y(0)| for all pairs",
        source=_source("abstract: 'our neural architecture ensures contraction, and hence, "
                       "global stability' (the contraction theorem not located in v1)"),
        family="contraction", kind="bound", provenance="paper", monte_carlo=True,
        constants={"field": "hessian", "factor": 1.0},
        printed={"field": "ncds"},
        printed_statement=r"every pair of trajectories of the integrated NCDS field contracts "
                          r"at rate eps",
        check=check_pairwise, control=control_pairwise,
        control_label="the sign-flipped field +J_theta^T J_theta - eps I",
        tolerance=SHARE_BAR,
        mutations=(Mutation("factor", 2.0, "eps -> 2 eps"),),
        heading="Contraction of all trajectory pairs (Beik-Mohammadi et al., abstract; "
                "corrected)",
        text=r"""*As printed* (abstract): the NCDS architecture ensures contraction, i.e. every
pair of trajectories of $\dot x = f(x)$ satisfies
$\|x(t) - y(t)\| \le e^{-\epsilon t}\|x(0) - y(0)\|$. *Corrected*: this holds when $\hat J$ is
integrable (a Hessian, $\hat J = -\nabla^2\phi$ with $\phi$ $\epsilon$-strongly convex, so that
$\partial f/\partial x = \hat J$); for the integrated NCDS field in general only the
equilibrium contracts ({prf:ref}`ncds-equilibrium`), because its true Jacobian is not $\hat J$
({prf:ref}`ncds-true-jacobian`).""",
        paper_reports="abstract: 'ensures contraction, and hence, global stability'; the "
                      "counterexample in our reading notes: a true-Jacobian eigenvalue of "
                      "+135 and a pair separating 10x",
    ),
)

CHAPTER = Chapter(slug="contractive_dynamics", title="Neural contractive dynamical systems",
                  paper=PAPER, claims=CLAIMS, cpu_only="small 2-D fields, float64")

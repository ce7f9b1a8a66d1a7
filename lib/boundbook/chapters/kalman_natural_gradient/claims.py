"""Claims of the chapter "One natural-gradient step is a Kalman update" (arXiv:2605.02306v1)
and their checks.

Liu, Cao, ..., Li (arXiv:2605.02306v1, a tutorial on the NANO filter) state in their abstract
that "a single natural-gradient step exactly recovers the Kalman measurement update in the
linear-Gaussian case". Only the abstract and the opening of the introduction were readable; the
section or proposition that states it was not found, so the parameterisation and the step-size
convention are the book's, stated here:

- objective: :math:`J(q) = E_q[\\ell] + \\mathrm{KL}(q\\,\\|\\,N(m_0, \\Sigma_0))` over Gaussians
  :math:`q = N(m, \\Sigma)`, :math:`\\ell(x) = \\tfrac12 (y - Hx)^\\top R^{-1}(y - Hx)`;
- natural-gradient descent with step :math:`\\beta` in the natural parameters
  :math:`(\\Sigma^{-1}m, -\\tfrac12\\Sigma^{-1})` (the Fisher metric of the Gaussian family):
  :math:`\\Sigma_{k+1}^{-1} = (1-\\beta)\\Sigma_k^{-1} + \\beta(\\Sigma_0^{-1} + H^\\top R^{-1}H)`,
  :math:`m_{k+1} = m_k - \\beta\\Sigma_{k+1}(H^\\top R^{-1}(Hm_k - y) + \\Sigma_0^{-1}(m_k - m_0))`.
  For :math:`\\beta \\ne 1` the companion code uses another form,
  :math:`\\Sigma_{k+1}^{-1} = \\Sigma_0^{-1} + \\beta H^\\top R^{-1}H`
  (our reading notes' correction #10);
  the two coincide on the first step from the prior and differ afterwards.

Kinds: the Kalman identity and the contraction are ``identity`` claims; the first is credited
to the paper (abstract), the exact contraction by :math:`1 - \\beta` is the book's derivation.

The nonlinear case (module :mod:`boundbook.chapters.kalman_natural_gradient.nonlinear`, a
squared-range measurement whose Gaussian expectations are exact) carries two more paper claims,
both read in abstracts only: positive definiteness of the covariance along the iterations (the
tutorial's abstract; checked on the Gauss-Newton form of arXiv:2604.10053, the original form of
arXiv:2410.15832 being the control), a ``bound`` on the smallest eigenvalue, and local
convergence to the optimal Gaussian approximation (the abstract of arXiv:2410.15832), a
``phenomenon`` decided by the spectral radius of the NANO map's Jacobian at each local
minimiser of :math:`J`, with an exact binomial interval over the random instances.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from boundbook.core.chapter import Chapter
from boundbook.core.claims import Claim, Mutation, Outcome, Source, Tolerance
from boundbook.core.stats import clopper_pearson

PAPER = "2605.02306"
VERSION = "v1"

IDENTITY_TOL = Tolerance(1e-12, "float64: the natural step goes through two matrix inversions "
                         "and the Kalman update through one solve; on moderately conditioned "
                         "instances (Sigma_0, R >= 0.1 I, d <= 8) they agree to ~1e-14 "
                         "relative; a step 1% off 1 already moves the update by > 1e-5")
PD_TOL = Tolerance(0.0, "positive definiteness is strict: one non-positive eigenvalue of one "
                   "iterate refutes it; eigenvalues of 2x2 float64 matrices are exact to ~1e-15")
LOCAL_TOL = Tolerance(0.0, "a spectral radius above 1 at one minimiser refutes local "
                      "convergence there; the Jacobian is exact (autograd on closed forms), so "
                      "no tolerance is applied to the radius")
RATE_TOL = Tolerance(1e-6, "the distance ratio is a difference of natural parameters of size "
                     "~10 down to |1-beta|^k >= 2e-4 of its start: float64 gives ~1e-9")


# --------------------------------------------------------------------------- the identity
def _identity_outcome(m: Mapping[str, Any], which: str, step: float) -> Outcome:
    if which == "natural":
        steps = [float(x) for x in m["steps"]]
        j = min(range(len(steps)), key=lambda i: abs(steps[i] - step))
        found = abs(steps[j] - step) < 1e-12
        diff = float(m["natural_max"][j]) if found else math.inf
        label = f"natural step {step:g}" + ("" if found else " (not measured)")
    else:
        diff = float(m[f"{which}_max"])
        label = {"euclidean": "Euclidean gradient step 1",
                 "mean_cov": "natural step 1 in (m, Sigma) coordinates"}[which]
    ok = diff <= IDENTITY_TOL.value and bool(m["sympy_matches"])
    return Outcome(ok, 0.0, diff, slack=diff,
                   note=f"{label}: largest relative difference from the Kalman update over "
                        f"{m['n']} random instances (mean and covariance, entrywise, relative "
                        f"to max(1, |entries|))")


def check_identity(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """One natural step of size k['step'] (1) from the prior equals the Kalman update to 1e-12
    on every instance, and the sympy identity holds."""
    return _identity_outcome(m, "natural", float(k["step"]))


def control_identity(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Steps 0.5 and 2, the Euclidean gradient step and the unit natural step in (m, Sigma)
    coordinates, on the same instances: passes if any of them also gives the Kalman update
    (then the check could not tell the natural unit step apart). Must fail."""
    outs = [_identity_outcome(m, "natural", 0.5), _identity_outcome(m, "natural", 2.0),
            _identity_outcome(m, "euclidean", 1.0), _identity_outcome(m, "mean_cov", 1.0)]
    closest = min(outs, key=lambda o: o.measured)
    return Outcome(any(o.ok for o in outs), 0.0, closest.measured, slack=closest.measured,
                   note="closest alternative: " + closest.note + "; all: "
                        + ", ".join(f"{o.measured:.3g}" for o in outs)
                        + " (step 0.5, step 2, Euclidean, (m, Sigma))")


# --------------------------------------------------------------------------- contraction
def _rate_outcome(m: Mapping[str, Any], form: str, one: float) -> Outcome:
    worst, where = 0.0, ""
    for beta, rows in zip(m["betas"], m[f"ratios_{form}"], strict=True):
        for row in rows:
            for k, r in enumerate(row, start=1):
                pred = abs(one - float(beta)) ** k
                err = abs(float(r) / pred - 1) if pred > 0 else math.inf
                if err > worst:
                    worst, where = err, f"beta = {beta:g}, k = {k}"
    ok = worst <= RATE_TOL.value and bool(m["sympy_matches"])
    return Outcome(ok, 0.0, worst, slack=worst,
                   note=f"{form} form: largest |ratio_k / |{one:g} - beta|^k - 1| over "
                        f"{m['n']} instances, k = 1..{m['iterations']} ({where}); ratio_k = "
                        "natural-parameter distance to the posterior after k steps / before")


def check_rate(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    return _rate_outcome(m, "natural", float(k["one"]))


def control_rate(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same statement for the companion code's step-size form: must fail."""
    return _rate_outcome(m, "nano_code", float(k["one"]))


# ---------------------------------------------------- nonlinear: positive definiteness
def _pd_outcome(m: Mapping[str, Any], form: str) -> Outcome:
    n, lost = int(m["n"]), int(m[f"lost_{form}"])
    low = float(m[f"min_eig_{form}"])
    lo, hi = clopper_pearson(n - lost, n)
    ok = lost == 0 and low > 0 and bool(m["sympy_matches"])
    return Outcome(ok, 0.0, low, interval=(lo, hi), slack=low,
                   note=f"{form} Hessian: {n - lost} of {n} instances keep a positive definite "
                        f"precision over {m['iterations']} unit steps from the prior (95% CP "
                        f"[{lo:.3f}, {hi:.3f}]); smallest eigenvalue of the precision relative "
                        f"to the prior's: {low:.3g} (must be > 0; one loss refutes, so the "
                        "decision does not wait on the interval)")


def check_pd(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """Every iterate's precision stays positive definite on every instance, with the form
    ``k['form']`` of the expected Hessian (Gauss-Newton, the positive-definite form)."""
    return _pd_outcome(m, str(k["form"]))


def control_pd(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The same check with the exact expected Hessian (the original NANO update), on the same
    instances: must fail."""
    other = "exact" if k["form"] != "exact" else "gauss-newton"
    return _pd_outcome(m, other)


# ------------------------------------------------------- nonlinear: local convergence
def _local_outcome(m: Mapping[str, Any], step: float) -> Outcome:
    steps = [float(x) for x in m["steps"]]
    j = min(range(len(steps)), key=lambda i: abs(steps[i] - step))
    found = abs(steps[j] - step) < 1e-12
    radii = [float(r) for r in m["radius"][j]] if found else []
    n = len(radii)
    good = sum(r < 1 for r in radii)
    lo, hi = clopper_pearson(good, n) if n else (0.0, 1.0)
    ok = found and n > 0 and good == n and bool(m["sympy_matches"])
    worst = max(radii) if radii else math.inf
    return Outcome(ok, 1.0, good / n if n else 0.0, interval=(lo, hi),
                   undecided=found and n == 0,
                   note=f"step {step:g}" + ("" if found else " (not measured)")
                        + f": the exact NANO map contracts near q* (spectral radius of its "
                          f"Jacobian < 1) at {good} of {n} local minima of J (95% CP "
                          f"[{lo:.3f}, {hi:.3f}]); largest radius {worst:.3g}; simulated from "
                          f"starts {m['perturbation']:g} away, {m['converged'][0]} of "
                          f"{m['contracting'][0]} contracting instances reach 1e-6 within "
                          f"{m['iterations']} unit steps and {m['converged'][1]} of the others")


def check_local(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """At every strict local minimum :math:`q^\\star` of :math:`J` found, the NANO map with
    step ``k['step']`` (1, the default) has a Jacobian of spectral radius below 1 (local
    convergence); above 1 the fixed point is unstable and nearby iterates leave it."""
    return _local_outcome(m, float(k["step"]))


def control_local(m: Mapping[str, Any], k: Mapping[str, Any]) -> Outcome:
    """The Gauss-Newton form from the same starts must not end at :math:`q^\\star` (its fixed
    points are not the stationary points of :math:`J`): fails if it does on every
    instance."""
    n, near = int(m["gn_n"]), int(m["gn_reach"])
    lo, hi = clopper_pearson(near, n)
    return Outcome(n > 0 and near == n, 1.0, near / n if n else 0.0, interval=(lo, hi),
                   note=f"Gauss-Newton form: {near} of {n} runs end within 1e-6 of q* (95% CP "
                        f"[{lo:.3f}, {hi:.3f}]); median final distance {m['gn_median']:.3g} "
                        "of the start's")


# ----------------------------------------------------------------------------- claims
NONLINEAR = (r"$x \in \mathbb R^2$, prior mean at range $U(1, 3)$ from a sensor at the "
             r"origin, prior standard deviations log-uniform on $[0.3, 1]$ along a random "
             r"frame, one squared-range measurement $y = \|x\|^2 + v$, $v \sim N(0, 0.1)$ "
             r"drawn from the model; $\ell(x) = (y - \|x\|^2)^2/(2R)$ is a quartic, so every "
             r"expectation under a Gaussian is exact in closed form (sympy)")

CLAIMS = (
    Claim(
        id="kng-kalman-step",
        title="One unit natural-gradient step from the prior is the Kalman measurement update",
        statement=r"\Sigma_1 = (\Sigma_0^{-1} + H^\top R^{-1} H)^{-1} = (I - KH)\Sigma_0,\ "
                  r"m_1 = m_0 - \Sigma_1 H^\top R^{-1}(Hm_0 - y) = m_0 + K(y - Hm_0)",
        heading="A natural-gradient step is a Kalman update (Liu et al. 2026, abstract)",
        prf="theorem",
        text=r"""
Let $q = N(m, \Sigma)$ minimise $J(q) = E_q[\tfrac12 (y - Hx)^\top R^{-1}(y - Hx)] +
\mathrm{KL}(q \,\|\, N(m_0, \Sigma_0))$ by natural-gradient descent with step $\beta$ in the
natural parameters $(\Sigma^{-1}m, -\tfrac12\Sigma^{-1})$, starting from the prior. One step
with $\beta = 1$ gives

$$\Sigma_1 = (\Sigma_0^{-1} + H^\top R^{-1}H)^{-1},\qquad
m_1 = m_0 - \Sigma_1 H^\top R^{-1}(Hm_0 - y),$$

which is the Kalman measurement update: with $K = \Sigma_0 H^\top(H\Sigma_0H^\top + R)^{-1}$,
$m_1 = m_0 + K(y - Hm_0)$ and $\Sigma_1 = (I - KH)\Sigma_0$. Steps $\beta \ne 1$, the Euclidean
gradient and a unit natural step taken in the coordinates $(m, \Sigma)$ do not give it.""",
        source=Source(PAPER, "Abstract (v1): 'a single natural-gradient step exactly recovers "
                      "the Kalman measurement update in the linear-Gaussian case'; the section "
                      "or proposition stating it: location not found in v1 (only the abstract "
                      "and the opening of the introduction were readable); parameterisation "
                      "and objective stated by the book", version=VERSION,
                      bibkey="liu2026nano"),
        family="tracking",
        kind="identity",
        provenance="paper",
        constants={"step": 1.0},
        check=check_identity, control=control_identity,
        control_label="steps 0.5 and 2, Euclidean gradient, natural step in (m, Sigma)",
        tolerance=IDENTITY_TOL,
        mutations=(Mutation("step", 1.1, "step 1 -> 1.1"), Mutation("step", 0.9, "1 -> 0.9")),
        digits=3,
        paper_reports="a single natural-gradient step exactly recovers the Kalman measurement "
                      "update in the linear-Gaussian case (abstract; parameterisation and "
                      "step-size convention not read)",
    ),
    Claim(
        id="kng-step-contraction",
        builds_on=("kng-kalman-step",),
        title="With step beta the natural parameters approach the posterior by exactly 1 - beta "
              "per step",
        statement=r"\lambda_{k} - \lambda^\star = (1 - \beta)^k (\lambda_0 - \lambda^\star),\ "
                  r"\lambda = (\Sigma^{-1}m, -\tfrac12\Sigma^{-1})",
        heading="Step sizes other than 1 (derived)",
        prf="proposition",
        text=r"""
In the linear-Gaussian case $E_q[\ell]$ is linear in the expectation parameters
$(m, \Sigma + mm^\top)$, so its gradient there is constant and the natural-gradient step in the
natural parameters is an exact relaxation: $\lambda_{k+1} - \lambda^\star =
(1 - \beta)(\lambda_k - \lambda^\star)$, where $\lambda^\star$ is the Kalman posterior's. The
iteration reaches the posterior in one step at $\beta = 1$, converges at rate $|1 - \beta|$
for $0 < \beta < 2$, and oscillates at $\beta = 2$. The companion code's form
$\Sigma_{k+1}^{-1} = \Sigma_0^{-1} + \beta H^\top R^{-1}H$ is not this relaxation: for
$\beta \ne 1$ its covariance stays at $(\Sigma_0^{-1} + \beta H^\top R^{-1}H)^{-1}$.""",
        source=Source(PAPER, "not a statement of the paper: the book's derivation for "
                      "step sizes other than 1 (our reading notes' correction #10: state the "
                      "form used)",
                      version=VERSION, bibkey="liu2026nano"),
        family="tracking",
        kind="identity",
        provenance="derived",
        constants={"one": 1.0},
        check=check_rate, control=control_rate,
        control_label="the companion code's step-size form",
        tolerance=RATE_TOL,
        mutations=(Mutation("one", 1.05, "1 - beta -> 1.05 - beta"),),
        digits=3,
        paper_reports="not stated in what we read (the abstract speaks of a single unit step)",
    ),
    Claim(
        id="kng-positive-definite",
        title="The NANO iterations keep the covariance positive definite",
        statement=r"\Sigma_k \succ 0\ \forall k:\ \Sigma_{k+1}^{-1} = \Sigma_0^{-1} + "
                  r"E_{q_k}[\nabla h^\top R^{-1}\nabla h] \succeq \Sigma_0^{-1}",
        heading="NANO preserves positive definiteness (Liu et al. 2026, abstract; "
                "Gauss-Newton form)",
        prf="theorem",
        text=r"""
"The resulting Natural Gradient Gaussian Approximation (NANO) filter iteratively refines the
posterior mean and covariance while respecting the intrinsic geometry of the Gaussian family
and preserving the positive definiteness of the covariance matrix." Which expected Hessian the
tutorial's update uses was not read. The original NANO update (arXiv:2410.15832,
{cite}`cao2024nano`) sets the precision to $\Sigma_0^{-1} + E_{q_k}[\nabla^2\ell]$, and
$E_q[\nabla^2\ell]$ can be indefinite; the same group's arXiv:2604.10053
({cite}`zhang2026nanopd`) replaces it by the Gauss-Newton term $E_q[\nabla h^\top R^{-1}\nabla
h] \succeq 0$. We check the statement on that positive-definite form: on nonlinear instances
(""" + NONLINEAR + r"""), thirty unit NANO steps from the prior keep the precision positive
definite on every instance (smallest eigenvalue of $\Sigma_0^{1/2}\Sigma_k^{-1}\Sigma_0^{1/2}$
above 0). The control runs the original form on the same instances.""",
        source=Source(PAPER, "abstract (v1): 'iteratively refines the posterior mean and "
                      "covariance while ... preserving the positive definiteness of the "
                      "covariance matrix'; the update form behind it: location not found in v1 "
                      "(checked on the Gauss-Newton form of arXiv:2604.10053, abstract read)",
                      version=VERSION, bibkey="liu2026nano"),
        family="tracking",
        kind="bound",
        provenance="paper",
        monte_carlo=True,
        constants={"form": "gauss-newton"},
        check=check_pd, control=control_pd,
        control_label="the exact expected Hessian (the original NANO update), same instances",
        tolerance=PD_TOL,
        mutations=(Mutation("form", "exact", "the exact expected Hessian in the check"),),
        digits=3,
        paper_reports="the NANO filter preserves the positive definiteness of the covariance "
                      "(abstract; the form of its update not read); arXiv:2604.10053 (abstract) "
                      "reports that the original update can lose it",
    ),
    Claim(
        id="kng-local-convergence",
        builds_on=("kng-step-contraction",),
        title="NANO converges locally to the optimal Gaussian approximation",
        statement=r"\rho\big(D\Phi_1(q^\star)\big) < 1 \text{ at every strict local "
                  r"minimiser } q^\star \text{ of } J",
        heading="Local convergence of NANO (Cao et al. 2024, abstract)",
        prf="theorem",
        text=r"""
"We prove that NANO filter locally converges to the optimal Gaussian approximation at each time
step" (arXiv:2410.15832, {cite}`cao2024nano`, the NANO paper the tutorial builds on). The NANO
iteration with the exact expected Hessian and the default unit step,
$\Phi_1: \Sigma^{-1} \mapsto \Sigma_0^{-1} + E_q[\nabla^2\ell]$,
$m \mapsto m - \Sigma_{+}(E_q[\nabla\ell] + \Sigma_0^{-1}(m - m_0))$, has as fixed points exactly
the stationary points of $J(q) = E_q[\ell] + \mathrm{KL}(q \,\|\, N(m_0, \Sigma_0))$ (Bonnet's
and Price's identities, sympy). It converges to a minimiser $q^\star$ from every nearby start
iff the spectral radius of its Jacobian there is below 1; above 1 the fixed point is unstable.
Checked on nonlinear instances (""" + NONLINEAR + r"""): at each strict local minimiser of $J$
found (gradient of $J$ below $10^{-8}$, Hessian positive definite), the spectral radius at
step 1 must be below 1; iterations from starts 10% away corroborate. The theorem's hypotheses
(a step size, a neighbourhood) were not read.""",
        source=Source("2410.15832", "abstract (v4): 'We prove that NANO filter locally "
                      "converges to the optimal Gaussian approximation at each time step'; the "
                      "theorem and its hypotheses (step size): location not found (abstract "
                      "only); unit step = the companion code's default", version="v4",
                      bibkey="cao2024nano"),
        family="tracking",
        kind="phenomenon",
        provenance="paper",
        monte_carlo=True,
        constants={"step": 1.0},
        check=check_local, control=control_local,
        control_label="the Gauss-Newton form from the same starts (its fixed points are not "
                      "J's stationary points)",
        tolerance=LOCAL_TOL,
        mutations=(Mutation("step", 0.5, "step 1 -> 0.5"),),
        digits=3,
        paper_reports="NANO locally converges to the optimal Gaussian approximation (proved; "
                      "abstract of arXiv:2410.15832; hypotheses not read)",
    ),
)

CHAPTER = Chapter(slug="kalman_natural_gradient",
                  title="One natural-gradient step is a Kalman update", paper=PAPER,
                  claims=CLAIMS, memory_gib={"quick": 0.5, "full": 1.0},
                  cpu_only="small float64 matrices, where a GPU gives nothing")

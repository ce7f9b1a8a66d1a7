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

Kinds: both claims are ``identity``. The Kalman identity is credited to the paper (abstract);
the exact contraction by :math:`1 - \\beta` is the book's derivation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from boundbook.core.chapter import Chapter
from boundbook.core.claims import Claim, Mutation, Outcome, Source, Tolerance

PAPER = "2605.02306"
VERSION = "v1"

IDENTITY_TOL = Tolerance(1e-12, "float64: the natural step goes through two matrix inversions "
                         "and the Kalman update through one solve; on moderately conditioned "
                         "instances (Sigma_0, R >= 0.1 I, d <= 8) they agree to ~1e-14 "
                         "relative; a step 1% off 1 already moves the update by > 1e-5")
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


# ----------------------------------------------------------------------------- claims
CLAIMS = (
    Claim(
        id="kng-kalman-step",
        title="One unit natural-gradient step from the prior is the Kalman measurement update",
        statement=r"\Sigma_1 = (\Sigma_0^{-1} + H^\top R^{-1} H)^{-1} = (I - KH)\Sigma_0,\ "
                  r"m_1 = m_0 - \Sigma_1 H^\top R^{-1}(Hm_0 - y) = m_0 + K(y - Hm_0)",
        heading="A natural-gradient step is a Kalman update (Liu et al. 2026, abstract)",
        prf="theorem",
        text=r"""
Let $q = N(m, \Sigma)$ minimise $J(q) = E_q[\tfrac12 (y - Hx)^\top R^{-1}(y - Hx)]
+ \mathrm{KL}(q \,\|\, N(m_0, \Sigma_0))$ by natural-gradient descent with step $\beta$ in the
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
)

CHAPTER = Chapter(slug="kalman_natural_gradient",
                  title="One natural-gradient step is a Kalman update", paper=PAPER,
                  claims=CLAIMS, memory_gib={"quick": 0.5, "full": 1.0},
                  cpu_only="small float64 matrices, where a GPU gives nothing")

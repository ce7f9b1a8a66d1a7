"""The off-policy evaluation problems of the chapter (numpy; exact rational data).

An MDP's policy evaluation with linear features: states ``s = 1..n``, features
:math:`\\Phi \\in \\mathbb Z^{n\\times d}`, the target policy's transition matrix :math:`P`
(rows of rationals summing to one), an off-policy state distribution :math:`D =
\\mathrm{diag}(\\mu)` that is *not* the stationary distribution of :math:`P`, rewards :math:`R`
and a discount :math:`\\gamma`. Every entry is a small rational number, so that the sympy
derivation (:mod:`.derivation`) works exactly on the same numbers as the float64 simulation.

:func:`rescue_instance` draws candidates from a seeded generator and returns the *first* one
that meets a rule fixed before any run (a deadly-triad instance with a convergent fitted
limit, each by a margin so that it is measurable):

- the TD Jacobian :math:`\\gamma B - M` has an eigenvalue with real part :math:`\\ge 0.05`
  (expected semi-gradient TD diverges for every step size), and
- the fitted-evaluation map has spectral radius :math:`\\rho(\\gamma M^{-1}B) \\le 0.95`,

where :math:`M = \\Phi^\\top D\\Phi`, :math:`B = \\Phi^\\top D P\\Phi`. The rule does not look at
:math:`A_k` or at the target-update period: which periods converge is what the chapter
measures. :func:`classic_instance` is the two-state "w, 2w" example.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

__all__ = ["TD_MARGIN", "FQE_MARGIN", "Instance", "classic_instance", "rescue_instance"]

TD_MARGIN = 0.05
FQE_MARGIN = 0.95
GAMMA = Fraction(99, 100)


@dataclass(frozen=True)
class Instance:
    """One policy-evaluation problem with exact rational data (``Fraction`` entries)."""

    label: str
    phi: tuple[tuple[int, ...], ...]
    P: tuple[tuple[Fraction, ...], ...]
    mu: tuple[Fraction, ...]
    R: tuple[Fraction, ...]
    gamma: Fraction
    trial: int = 0

    def arrays(self, gamma: float | None = None) -> dict[str, np.ndarray]:
        """float64 ``Phi, P, D, R, M, B`` and ``gamma`` (overridable)."""
        phi = np.array(self.phi, float)
        P = np.array([[float(x) for x in row] for row in self.P])
        D = np.diag([float(x) for x in self.mu])
        return {"Phi": phi, "P": P, "D": D, "R": np.array([float(x) for x in self.R]),
                "M": phi.T @ D @ phi, "B": phi.T @ D @ P @ phi,
                "gamma": float(self.gamma if gamma is None else gamma)}

    @property
    def step(self) -> Fraction:
        """The inner loop's step size used throughout: :math:`\\alpha = 1/\\mathrm{tr}\\,M`
        (rational, below :math:`1/\\lambda_{\\max}(M)`), fixed before the run."""
        phi = [[Fraction(v) for v in row] for row in self.phi]
        d = len(phi[0])
        tr = sum(self.mu[s] * phi[s][j] ** 2 for s in range(len(phi)) for j in range(d))
        return 1 / tr


def _fractions(counts: np.ndarray) -> tuple[Fraction, ...]:
    total = int(counts.sum())
    return tuple(Fraction(int(c), total) for c in counts)


def rescue_instance(seed: int = 0, n: int = 3, d: int = 2, trials: int = 20000) -> Instance:
    """The first seeded candidate meeting the module's rule (integer features in [-2, 2],
    transition and sampling weights from integer counts, rewards in [-2, 2])."""
    rng = np.random.default_rng([seed, 2302])
    g = float(GAMMA)
    for t in range(trials):
        phi = rng.integers(-2, 3, (n, d))
        counts = rng.integers(0, 4, (n, n))
        mu_c = rng.integers(1, 5, n)
        R = rng.integers(-2, 3, n)
        if np.linalg.matrix_rank(phi) < d or (counts.sum(1) == 0).any():
            continue
        P = counts / counts.sum(1, keepdims=True)
        D = np.diag(mu_c / mu_c.sum())
        M, B = phi.T @ D @ phi, phi.T @ D @ P @ phi
        td = np.linalg.eigvals(g * B - M).real.max()
        fqe = np.abs(np.linalg.eigvals(np.linalg.solve(M, g * B))).max()
        if td >= TD_MARGIN and fqe <= FQE_MARGIN:
            return Instance(f"3 states, 2 features (seed {seed}, draw {t})",
                            tuple(tuple(int(v) for v in r) for r in phi),
                            tuple(_fractions(r) for r in counts), _fractions(mu_c),
                            tuple(Fraction(int(r)) for r in R), GAMMA, t)
    raise RuntimeError(f"no instance met the rule in {trials} draws (seed {seed})")


def classic_instance(gamma: Fraction = GAMMA) -> Instance:
    """Tsitsiklis and Van Roy's two states with values ``w`` and ``2w`` (one feature,
    :math:`\\phi = (1, 2)`), every transition into the second state, sampled uniformly."""
    half = Fraction(1, 2)
    return Instance("w, 2w (one feature)", ((1,), (2,)), ((Fraction(0), Fraction(1)),
                    (Fraction(0), Fraction(1))), (half, half), (Fraction(0), Fraction(0)),
                    gamma)

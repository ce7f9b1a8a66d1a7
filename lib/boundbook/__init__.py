"""boundbook: check the derived bounds of gradient-descent theory papers.

Public entry points (imported lazily, so the CLI starts without loading torch):

- ``taylor_radius(a, dim=-1)``: pi / (max_k a_k - min_k a_k), the multiclass radius bound;
- ``binary_taylor_radius(delta, Delta)``: sqrt(delta^2 + pi^2) / |Delta|, the exact binary radius;
- ``directional_logit_derivatives(model, x, v)``: a = J_z v for a batch, from one JVP;
- ``sharpness(loss_fn, params)``: the largest Hessian eigenvalue (Lanczos on HVPs), with
  ``hessian_spectrum`` for the top k and the HVP count;
- ``hutchinson_trace(loss_fn, params)``: the Hessian's trace (Rademacher probes) with its
  standard error; ``spectral_density(loss_fn, params)``: its spectral density by stochastic
  Lanczos quadrature;
- ``critical_step(sharpness)``: 2 / lambda_max, GD's stable-step limit on a quadratic (derived
  in ``boundbook.symbolic.quadratic``, with the SAM and momentum edges);
- ``step_size_sweep``: a vmapped sweep over step sizes with divergence recorded as data;
- ``log_norm(J, weights)``, ``gd_contraction_factor(mu, L, eta)``,
  ``empirical_contraction_rate``: the contraction toolkit (matrix measures in weighted
  metrics, the sympy-derived GD factor, measured rates with intervals over pairs);
- ``kalman_update``, ``natural_gradient_step``: one natural-gradient step with unit step on a
  Gaussian's natural parameters is the Kalman measurement update (linear-Gaussian case);
- ``Claim``, ``Verdict``, ``decide``, ``report``: the claim framework.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "taylor_radius": "boundbook.numeric.radius",
    "binary_taylor_radius": "boundbook.numeric.radius",
    "batch_taylor_radius": "boundbook.numeric.radius",
    "exact_radius": "boundbook.numeric.radius",
    "directional_logit_derivatives": "boundbook.numeric.directional",
    "logits_and_directional_derivatives": "boundbook.numeric.directional",
    "sharpness": "boundbook.numeric.hessian",
    "hessian_spectrum": "boundbook.numeric.hessian",
    "preconditioned_sharpness": "boundbook.numeric.hessian",
    "hutchinson_trace": "boundbook.numeric.trace",
    "spectral_density": "boundbook.numeric.density",
    "critical_step": "boundbook.symbolic.quadratic",
    "sam_edge": "boundbook.symbolic.quadratic",
    "ema_momentum_edge": "boundbook.symbolic.quadratic",
    "step_size_sweep": "boundbook.numeric.sweep",
    "log_norm": "boundbook.numeric.contraction",
    "gd_contraction_factor": "boundbook.numeric.contraction",
    "empirical_contraction_rate": "boundbook.numeric.contraction",
    "kalman_update": "boundbook.numeric.tracking",
    "natural_gradient_step": "boundbook.numeric.tracking",
    "divergence_threshold": "boundbook.numeric.sweep",
    "Claim": "boundbook.core.claims",
    "Verdict": "boundbook.core.claims",
    "decide": "boundbook.core.claims",
    "report": "boundbook.core.ledger",
    "ParameterError": "boundbook.core.params",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'boundbook' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)

r"""The KL remainder of the paper's App. 4, measured in high precision (mpmath, 40 digits).

A softmax path :math:`p_i(\tau) \propto e^{z_i + \tau a_i}`, log-partition
:math:`K(\tau) = \log\sum_i e^{z_i + \tau a_i}`, spread :math:`\Delta_a = \max a - \min a`.
:func:`kl_remainder_measurements` evaluates, with no formula for the answer:

* the forward divergence :math:`\mathrm{KL}(p(\tau)\|p(0)) = \sum_i p_i(\tau)\log(p_i(\tau)/
  p_i(0))` from its definition, next to the derived form :math:`\tau K'(\tau) - K(\tau) + K(0)`
  and the form Eq. (26) prints, :math:`K(\tau) - K(0) - \tau K'(0)`, on random instances;
* the remainder ratio :math:`|\mathrm{KL} - \tfrac{\tau^2}{2}\mathrm{Var}_{p(0)}(a)| /
  (|\tau|\Delta_a)^3` for both directions of the divergence, on random instances (2-8 classes,
  logits :math:`N(0, 2^2)`, slopes :math:`U(-1, 1)`, :math:`|\tau|\Delta_a` log-uniform on
  :math:`[10^{-2}, 10]`, either sign), on a grid of two-point laws, and on the constructed
  extremal case (the two-point law at :math:`p^* = (3-\sqrt3)/6`, :math:`\tau\Delta_a =
  10^{-3}`).
"""

from __future__ import annotations

from typing import Any

import mpmath as mp
import numpy as np

__all__ = ["kl_remainder_measurements"]

DIGITS = 40
P_STAR = (3 - 3**0.5) / 6


def _path(z: list[Any], a: list[Any], tau: Any) -> dict[str, Any]:
    """K, K', the distributions at 0 and tau and both KLs, in mpmath."""
    def log_partition(t: Any) -> Any:
        return mp.log(mp.fsum(mp.exp(zi + t * ai) for zi, ai in zip(z, a, strict=True)))

    k0, kt = log_partition(0), log_partition(tau)
    p0 = [mp.exp(zi - k0) for zi in z]
    pt = [mp.exp(zi + tau * ai - kt) for zi, ai in zip(z, a, strict=True)]
    mean0 = mp.fsum(p * ai for p, ai in zip(p0, a, strict=True))
    mean_t = mp.fsum(p * ai for p, ai in zip(pt, a, strict=True))
    var0 = mp.fsum(p * (ai - mean0) ** 2 for p, ai in zip(p0, a, strict=True))
    fwd = mp.fsum(q * mp.log(q / p) for q, p in zip(pt, p0, strict=True))
    rev = mp.fsum(p * mp.log(p / q) for q, p in zip(pt, p0, strict=True))
    return {"k0": k0, "kt": kt, "dk0": mean0, "dkt": mean_t, "var0": var0, "fwd": fwd,
            "rev": rev}


def _ratio(kl: Any, var0: Any, tau: Any, spread: Any) -> float:
    return float(abs(kl - tau**2 / 2 * var0) / (abs(tau) * spread) ** 3)


def _bernoulli(p: float, t: float) -> dict[str, Any]:
    """The two-point law on {0, 1} with P(1) = p (logits log(1-p), log p; slopes 0, 1)."""
    pm = mp.mpf(p)
    return _path([mp.log(1 - pm), mp.log(pm)], [mp.mpf(0), mp.mpf(1)], mp.mpf(t))


def kl_remainder_measurements(n_instances: int, seed: int,
                              n_p: int = 49, n_tau: int = 30) -> dict[str, Any]:
    """Remainder ratios and identity values of the KL appendix (see the module docstring).

    Returns a dict: ``kl``, ``derived_rhs``, ``printed_rhs`` (forward KL and the two forms,
    per random instance); ``ratios`` ``{"forward": [...], "reverse": [...]}`` on the random
    instances; ``bernoulli_max`` ``{"forward", "reverse"}`` (max over the grid of ``n_p``
    values of p times ``2 n_tau`` signed values of ``tau Delta`` in [1e-3, 30]) and its
    argmax; ``equality`` ``{"forward", "reverse"}`` at ``p*``, ``tau Delta = 1e-3``.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {"kl": [], "derived_rhs": [], "printed_rhs": [],
                           "ratios": {"forward": [], "reverse": []}}
    with mp.workdps(DIGITS):
        for _ in range(n_instances):
            k = int(rng.integers(2, 9))
            z = [mp.mpf(float(x)) for x in rng.normal(0.0, 2.0, size=k)]
            a = [mp.mpf(float(x)) for x in rng.uniform(-1.0, 1.0, size=k)]
            spread = max(a) - min(a)
            t = float(10 ** rng.uniform(-2, 1)) * (1 if rng.random() < 0.5 else -1)
            tau = mp.mpf(t) / spread
            s = _path(z, a, tau)
            out["kl"].append(float(s["fwd"]))
            out["derived_rhs"].append(float(tau * s["dkt"] - s["kt"] + s["k0"]))
            out["printed_rhs"].append(float(s["kt"] - s["k0"] - tau * s["dk0"]))
            out["ratios"]["forward"].append(_ratio(s["fwd"], s["var0"], tau, spread))
            out["ratios"]["reverse"].append(_ratio(s["rev"], s["var0"], tau, spread))
        grid_p = np.linspace(0.02, 0.98, n_p)
        mags = np.geomspace(1e-3, 30.0, n_tau)
        grid_t = np.concatenate([-mags[::-1], mags])
        best = {"forward": (0.0, 0.0, 0.0), "reverse": (0.0, 0.0, 0.0)}
        for p in grid_p:
            for t in grid_t:
                s = _bernoulli(float(p), float(t))
                for key, kl in (("forward", s["fwd"]), ("reverse", s["rev"])):
                    r = _ratio(kl, s["var0"], mp.mpf(float(t)), 1)
                    if r > best[key][0]:
                        best[key] = (r, float(p), float(t))
        s = _bernoulli(P_STAR, 1e-3)
        out["equality"] = {key: _ratio(s[name], s["var0"], mp.mpf(1e-3), 1)
                           for key, name in (("forward", "fwd"), ("reverse", "rev"))}
    out["bernoulli_max"] = {key: best[key][0] for key in best}
    out["bernoulli_argmax"] = {key: [best[key][1], best[key][2]] for key in best}
    return out

"""Protocol of the chapter gd_quadratic: settings per mode, the measurement contract, the
measurement dictionary each claim reads, and the numbers the closing prose quotes."""

from __future__ import annotations

READS: dict[str, tuple[str, ...]] = {
    "gdq-critical-step": ("blowup", "bracket", "control_diverged", "control_diverged_at",
        "control_factors", "found", "labels", "lam_max", "steps", "sympy_matches", "threshold"),
    "gdq-heavy-ball-edge": ("beta", "bracket", "control_diverged", "control_diverged_at",
        "control_factors", "derived", "found", "measured", "steps", "sympy_matches"),
    "gdq-nesterov-edge": ("beta", "bracket", "control_diverged", "control_diverged_at",
        "control_factors", "derived", "found", "measured", "steps", "sympy_matches"),
    "gdq-optimal-rate": ("every", "grid_bound_excess", "kappa", "labels", "log_energy_star",
        "rate_at_star", "starts", "steps", "sympy_matches"),
    "gdq-sweep-offset": ("blowup", "bracket", "found", "labels", "lam_max", "steps", "top_share",),
}
"""The measurement contract: claim id -> the keys of its measurement dictionary that its
check and control read (:func:`boundbook.core.ledger.report` refuses any other)."""

"""Protocol of the chapter muon_stable_step: settings per mode, the measurement contract, the
measurement dictionary each claim reads, and the numbers the closing prose quotes."""

from __future__ import annotations

READS: dict[str, tuple[str, ...]] = {
    "muon-bounded": ("blowup", "ceiling_over_d0", "gd_diverged", "gd_diverged_at", "gd_max_ratio",
        "multiples", "muon_ceiling_ratio", "muon_max_ratio"),
    "muon-descent-step": ("kind", "lambda_max", "lambda_mean", "nuclear", "p", "rank", "sympy",
        "threshold"),
    "muon-spectrum-scaling": ("family", "gd", "gd_bracket_width", "kind", "muon", "muon_polar",
        "sigma1", "sigma_bar"),
}
"""The measurement contract: claim id -> the keys of its measurement dictionary that its
check and control read (:func:`boundbook.core.ledger.report` refuses any other)."""

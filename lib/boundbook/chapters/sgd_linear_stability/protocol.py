"""Protocol of the chapter sgd_linear_stability: settings per mode, the measurement contract, the
measurement dictionary each claim reads, and the numbers the closing prose quotes."""

from __future__ import annotations

READS: dict[str, tuple[str, ...]] = {
    "sgd-bernoulli-limits": ("fixed_size_coherent", "rows", "sympy_operator",
        "sympy_orthogonal_linear"),
    "sgd-exact-threshold": ("non_decreasing_in_B", "rows",),
    "sgd-monte-carlo": ("configs",),
    "sgd-trace-bound": ("rows", "sympy_edge_is_2B_over_trH", "sympy_orthogonal_identity",),
}
"""The measurement contract: claim id -> the keys of its measurement dictionary that its
check and control read (:func:`boundbook.core.ledger.report` refuses any other)."""

"""Protocol of the chapter gfs_sharpness: settings per mode, the measurement contract, the
measurement dictionary each claim reads, and the numbers the closing prose quotes."""

from __future__ import annotations

READS: dict[str, tuple[str, ...]] = {
    "gfs-converges-to-edge": ("converged", "converged_tol", "depth", "edge", "eta",
        "final_sharpness", "sharpness0"),
    "gfs-identity": ("gfs_formula", "hessian_formula", "max_error_all_steps", "rows", "sympy",
        "sympy_generic"),
    "gfs-monotone": ("increasing_steps", "max_increase", "nonfinite_steps", "outside",
        "saddle_steps", "steps"),
}
"""The measurement contract: claim id -> the keys of its measurement dictionary that its
check and control read (:func:`boundbook.core.ledger.report` refuses any other)."""

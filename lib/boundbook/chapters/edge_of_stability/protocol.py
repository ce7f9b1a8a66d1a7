"""Protocol of the chapter edge_of_stability: settings per mode, the measurement contract, the
measurement dictionary each claim reads, and the numbers the closing prose quotes."""

from __future__ import annotations

READS: dict[str, tuple[str, ...]] = {
    "eos-nonmonotone-descent": ("control", "runs",),
    "eos-plateau": ("control", "runs",),
    "eos-progressive-sharpening": ("control", "runs",),
    "eos-self-stabilisation": ("control", "quadratic", "runs",),
    "eos-sorm-sharpening": ("linear", "model",),
}
"""The measurement contract: claim id -> the keys of its measurement dictionary that its
check and control read (:func:`boundbook.core.ledger.report` refuses any other)."""

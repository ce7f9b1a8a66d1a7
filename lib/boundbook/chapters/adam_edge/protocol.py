"""Protocol of the chapter adam_edge: settings per mode, the measurement contract, the
measurement dictionary each claim reads, and the numbers the closing prose quotes."""

from __future__ import annotations

READS: dict[str, tuple[str, ...]] = {
    "adam-frozen-edge": ("cases", "steps",),
    "adam-preconditioned-plateau": ("beta1", "runs",),
    "adam-raw-sharpness-rises": ("beta1", "runs",),
}
"""The measurement contract: claim id -> the keys of its measurement dictionary that its
check and control read (:func:`boundbook.core.ledger.report` refuses any other)."""

"""Protocol of the chapter sam_edge: settings per mode, the measurement contract, the
measurement dictionary each claim reads, and the numbers the closing prose quotes."""

from __future__ import annotations

READS: dict[str, tuple[str, ...]] = {
    "sam-normalised-edge": ("runs",),
    "sam-quadratic-edge": ("cases", "rounds", "steps",),
    "sam-self-stabilisation-large-radius": ("fraction", "runs",),
    "sam-self-stabilisation": ("fraction", "runs",),
}
"""The measurement contract: claim id -> the keys of its measurement dictionary that its
check and control read (:func:`boundbook.core.ledger.report` refuses any other)."""

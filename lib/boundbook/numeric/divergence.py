"""The book's one divergence policy.

A run *diverges* at the first step whose loss is not finite or exceeds ``BLOWUP`` times its
initial loss:

.. math:: \\text{diverged}_t \\iff \\neg\\,\\mathrm{isfinite}(L_t)\\ \\lor\\ L_t > B\\,|L_0|,
          \\qquad B = 10^6 .

Every experiment that reports "diverged at step k" uses :func:`diverged` (or passes ``BLOWUP``
to the sweep harness, :mod:`boundbook.numeric.sweep`), so a chapter's divergence means the
same as every other chapter's. The derived bias this level adds to a finite sweep's threshold
is the gd_quadratic chapter's ``gdq-sweep-offset`` claim.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["BLOWUP", "blowup_level", "diverged"]

BLOWUP = 1e6
"""Loss multiple over the initial loss at which a run counts as divergent."""


def blowup_level(loss0: Any, blowup: float = BLOWUP) -> Any:
    """``blowup * |loss0|`` (a tensor or an array, as given)."""
    if isinstance(loss0, torch.Tensor):
        return blowup * loss0.abs()
    return blowup * np.abs(loss0)


def diverged(loss: Any, loss0: Any, blowup: float = BLOWUP) -> Any:
    """Elementwise: ``loss`` is non-finite or above ``blowup * |loss0|`` (tensor or array)."""
    if isinstance(loss, torch.Tensor):
        return ~torch.isfinite(loss) | (loss > blowup_level(loss0, blowup))
    loss = np.asarray(loss)
    return ~np.isfinite(loss) | (loss > blowup_level(loss0, blowup))

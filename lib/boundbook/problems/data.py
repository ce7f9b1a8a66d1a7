"""Small data sets used by the book's CPU experiments.

Currently only scikit-learn's *digits* (1797 grey-scale 8x8 images, 10 classes), which
ships inside scikit-learn, so nothing is downloaded.  Pixels are scaled to ``[0, 1]`` by
dividing by 16 (the maximal grey level), and the split is stratified by class with
``sklearn.model_selection.train_test_split(..., stratify=y, random_state=seed)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Split", "load_digits_split"]


@dataclass(frozen=True)
class Split:
    """A train/test split held as tensors.

    ``x_*`` are ``[n, d]`` feature matrices, ``y_*`` are ``[n]`` int64 class labels.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_classes(self) -> int:
        return int(torch.cat([self.y_train, self.y_test]).max().item()) + 1

    def to(self, device: torch.device | str) -> Split:
        """Return a copy of the split with all tensors moved to ``device``."""
        return Split(
            self.x_train.to(device),
            self.y_train.to(device),
            self.x_test.to(device),
            self.y_test.to(device),
        )


def load_digits_split(
    seed: int = 0,
    test_fraction: float = 0.2,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> Split:
    """Load scikit-learn's digits as a stratified train/test :class:`Split`.

    Features are ``x = pixels / 16`` in ``[0, 1]`` (64 features); labels are 0..9.
    The split is ``train_test_split(x, y, test_size=test_fraction, stratify=y,
    random_state=seed)``, so it is deterministic for a given ``seed``.  With the default
    ``test_fraction=0.2`` this gives 1437 training and 360 test samples.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = np.asarray(digits.data, dtype=np.float64) / 16.0
    y = np.asarray(digits.target, dtype=np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_fraction, stratify=y, random_state=seed
    )
    return Split(
        x_train=torch.as_tensor(x_tr, dtype=dtype, device=device),
        y_train=torch.as_tensor(y_tr, dtype=torch.int64, device=device),
        x_test=torch.as_tensor(x_te, dtype=dtype, device=device),
        y_test=torch.as_tensor(y_te, dtype=torch.int64, device=device),
    )

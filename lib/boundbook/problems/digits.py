r"""The digits regression problem: a tanh MLP fitted to one-hot labels with the squared loss.

Cohen et al.'s convention (arXiv 2103.00065, and the authors' code), used by the edge-of-stability
and Adam edge chapters:

.. math:: L(\theta) = \frac1n \sum_{x} \tfrac12 \|f_\theta(x) - e_{y(x)}\|^2,

half the squared error *summed* over the 10 outputs and *averaged* over the first ``n_train``
examples of the stratified digits training split
(:func:`boundbook.problems.data.load_digits_split`).
The network is :func:`boundbook.problems.models.mlp` with tanh activations; the split and the
initialisation are both drawn from ``seed``.

The loss is offered on a parameter dict (:meth:`DigitsRegression.loss_of`) and on one flat
vector (:meth:`DigitsRegression.loss`, the concatenation in dict order,
:mod:`boundbook.numeric.flat`). The forward pass is written out with the same operations as
the ``nn.Sequential`` it mirrors (``F.linear``, ``torch.tanh``), so it equals
``functional_call(model, params, x)`` bit for bit, at a fraction of its cost for a small
network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F  # noqa: N812

from boundbook.numeric.flat import flat_to_params, params_to_flat
from boundbook.problems.data import load_digits_split
from boundbook.problems.models import mlp

__all__ = ["DigitsRegression", "digits_regression"]


@dataclass(frozen=True)
class DigitsRegression:
    """The problem: inputs ``x [n, 64]``, one-hot targets ``y [n, 10]``, the initial
    parameters ``params`` (detached, in the model's order) and the names of its linear layers
    ``layers`` (``"0"``, ``"2"``, ...: weight ``<name>.weight``, bias ``<name>.bias``)."""

    x: Tensor
    y: Tensor
    params: dict[str, Tensor]
    layers: tuple[str, ...]

    @property
    def n_train(self) -> int:
        return int(self.x.shape[0])

    @property
    def theta0(self) -> Tensor:
        """The initial parameters as one flat vector (a fresh copy)."""
        return params_to_flat(self.params).clone()

    @property
    def dim(self) -> int:
        return sum(int(p.numel()) for p in self.params.values())

    def forward(self, params: Mapping[str, Tensor]) -> Tensor:
        """``f_theta(x)``: linear layers with tanh between them (none after the last)."""
        h = self.x
        for i, name in enumerate(self.layers):
            h = F.linear(h, params[f"{name}.weight"], params[f"{name}.bias"])
            if i < len(self.layers) - 1:
                h = torch.tanh(h)
        return h

    def loss_of(self, params: Mapping[str, Tensor]) -> Tensor:
        """The loss at a parameter dict."""
        return 0.5 * ((self.forward(params) - self.y) ** 2).sum(dim=1).mean()

    def loss(self, theta: Tensor) -> Tensor:
        """The loss at a flat parameter vector (``torch.func``-transformable)."""
        return self.loss_of(flat_to_params(theta, self.params))


def digits_regression(n_train: int, hidden: Sequence[int], seed: int,
                      dtype: torch.dtype = torch.float64,
                      device: torch.device | str = "cpu") -> DigitsRegression:
    """Tanh MLP ``64 -> hidden... -> 10`` (PyTorch's default initialisation drawn from
    ``seed``) on the first ``n_train`` examples of the digits training split drawn with the
    same ``seed``."""
    split = load_digits_split(seed=seed, dtype=dtype, device=device)
    x = split.x_train[:n_train]
    y = F.one_hot(split.y_train[:n_train], 10).to(dtype)
    model = mlp([x.shape[1], *hidden, 10], activation="tanh", seed=seed, dtype=dtype,
                device=device)
    params = {k: p.detach() for k, p in model.named_parameters()}
    layers = tuple(k[: -len(".weight")] for k in params if k.endswith(".weight"))
    return DigitsRegression(x, y, params, layers)

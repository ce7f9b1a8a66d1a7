"""Training and evaluation of the chapter's digit classifiers, and the pieces every experiment
shares: seeded random streams, the mini-batch order, the tempered cross-entropy, accuracy, the
normalised gradient direction and the batch radius :math:`\\rho_a` from one JVP.

All randomness comes from explicitly seeded ``torch.Generator`` objects (created on the CPU,
results moved to ``device``), so results are bit-for-bit reproducible on the CPU for a seed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from boundbook.core.ledger import to_jsonable
from boundbook.numeric.directional import logits_and_directional_derivatives
from boundbook.numeric.flat import flat_to_params, params_to_flat
from boundbook.numeric.radius import batch_taylor_radius
from boundbook.problems.data import Split
from boundbook.problems.models import mlp

__all__ = ["batch_schedule", "evaluate", "train_classifier"]

Tensor = torch.Tensor

# Tags that derive independent seeds for independent random streams from one user seed.
TAG_BATCHES = 1
TAG_DIRECTIONS = 2
TAG_EVAL_SUBSET = 3


def derived_seed(seed: int, tag: int) -> int:
    """An independent 63-bit seed for stream ``tag`` of user seed ``seed`` (SeedSequence)."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(tag)]).generate_state(2)
    return int((int(state[0]) << 31) ^ int(state[1])) & 0x7FFF_FFFF_FFFF_FFFF


class JsonResult:
    """Mixin of the experiments' result dataclasses: :meth:`to_dict`."""

    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON types (:func:`boundbook.core.ledger.to_jsonable`: lists, floats, ints,
        bools, strings; non-finite floats become the strings "inf"/"nan")."""
        return to_jsonable(self)


def batch_schedule(n: int, batch_size: int | None, steps: int, seed: int) -> Tensor | None:
    """Mini-batch indices ``[steps, batch_size]`` (CPU int64), or ``None`` for full batch.

    Epochs are independent random permutations of ``range(n)`` drawn from
    ``torch.Generator().manual_seed(derived(seed))``; each epoch is cut into
    ``n // batch_size`` full batches (the incomplete remainder is dropped).
    """
    if batch_size is None or batch_size >= n:
        return None
    gen = torch.Generator(device="cpu").manual_seed(derived_seed(seed, TAG_BATCHES))
    per_epoch = n // batch_size
    n_epochs = -(-steps // per_epoch)
    perms = [torch.randperm(n, generator=gen)[: per_epoch * batch_size] for _ in range(n_epochs)]
    return torch.cat(perms).view(-1, batch_size)[:steps]


def mean_ce(z: Tensor, y: Tensor, temperature: float = 1.0) -> Tensor:
    """Mean cross-entropy of the tempered logits ``z / temperature``."""
    return F.cross_entropy(z / temperature if temperature != 1.0 else z, y)


def accuracy(z: Tensor, y: Tensor) -> float:
    """Accuracy; rows with any non-finite logit count as wrong."""
    ok = (z.argmax(dim=1) == y) & torch.isfinite(z).all(dim=1)
    return float(ok.to(torch.float64).mean().item())


def layer_sizes(split: Split, hidden: Sequence[int]) -> list[int]:
    """``[n_features, *hidden, n_classes]`` of ``split``."""
    return [split.n_features, *[int(h) for h in hidden], split.n_classes]


def unit_gradient_direction(
    model: nn.Module, params: dict[str, Tensor], x: Tensor, y: Tensor, temperature: float
) -> dict[str, Tensor]:
    """Normalised negative full-batch gradient ``-g/||g||`` of ``CE(z/T, y)``, keyed by name."""

    def loss_fn(p: dict[str, Tensor]) -> Tensor:
        return mean_ce(functional_call(model, p, (x,)), y, temperature)

    grads = torch.func.grad(loss_fn)(params)
    g = params_to_flat(grads)
    return flat_to_params(-g / torch.linalg.vector_norm(g), params)


def spread_radius(model: nn.Module, x: Tensor, v: Mapping[str, Tensor]) -> tuple[float, Tensor]:
    """``(rho_a, a)`` from ONE JVP over the sample matrix ``x`` along unit direction ``v``."""
    _, a = logits_and_directional_derivatives(model, x, v)
    return float(batch_taylor_radius(a)), a


def train_classifier(
    split: Split,
    hidden: Sequence[int] = (128,),
    activation: str = "gelu",
    steps: int = 300,
    lr: float = 3e-3,
    batch_size: int | None = None,
    seed: int = 0,
    temperature: float = 1.0,
    device: torch.device | str = "cpu",
    layernorm: bool = False,
) -> nn.Module:
    """Train ``mlp([64, *hidden, 10])`` on ``split`` with ``torch.optim.Adam`` and return it.

    Loss: mean ``CE(z / temperature, y)``.  ``batch_size=None`` is full-batch gradient
    descent; otherwise mini-batches follow :func:`batch_schedule` (seeded by ``seed``).  The
    initialisation is :func:`boundbook.problems.models.mlp` with ``seed``.  Returned in eval mode.
    """
    split = split.to(device)
    model = mlp(layer_sizes(split, hidden), activation, layernorm=layernorm, seed=seed,
                dtype=split.x_train.dtype, device=device)
    train_loop(model, split, steps, lr, batch_size, seed, temperature)
    return model.eval()


def train_loop(
    model: nn.Module,
    split: Split,
    steps: int,
    lr: float,
    batch_size: int | None,
    seed: int,
    temperature: float = 1.0,
    weight_decay: float | None = None,
    callback: Callable[[int, nn.Module], bool] | None = None,
) -> int:
    r"""Train ``model`` in place on mean ``CE(z/T, y)``; return the number of steps taken.

    ``torch.optim.Adam(lr)`` if ``weight_decay`` is ``None``, else ``torch.optim.AdamW(lr,
    weight_decay)`` (decoupled decay :math:`\theta \leftarrow \theta(1 - \eta\lambda)` before
    the Adam update).  Mini-batches follow :func:`batch_schedule` (``None`` = full batch).
    After update ``k`` (1-based), ``callback(k, model)`` may return ``True`` to stop early.
    """
    model.train()
    params = list(model.parameters())
    opt = (torch.optim.Adam(params, lr=lr) if weight_decay is None
           else torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay))
    batches = batch_schedule(len(split.y_train), batch_size, steps, seed)
    x, y = split.x_train, split.y_train
    for k in range(steps):
        if batches is None:
            xb, yb = x, y
        else:
            idx = batches[k].to(x.device)
            xb, yb = x[idx], y[idx]
        opt.zero_grad(set_to_none=True)
        mean_ce(model(xb), yb, temperature).backward()
        opt.step()
        if callback is not None and callback(k + 1, model):
            return k + 1
    return steps


def evaluate(model: nn.Module, split: Split, temperature: float = 1.0) -> dict[str, float]:
    """Train/test mean cross-entropy (of ``z/T``) and accuracy of ``model`` on ``split``."""
    with torch.no_grad():
        z_tr, z_te = model(split.x_train), model(split.x_test)
        return {
            "train_loss": float(mean_ce(z_tr, split.y_train, temperature)),
            "test_loss": float(mean_ce(z_te, split.y_test, temperature)),
            "train_accuracy": accuracy(z_tr, split.y_train),
            "test_accuracy": accuracy(z_te, split.y_test),
        }

"""Thread control for small batched experiments.

Most stable-step experiments are many tiny batched operations (a 64-wide sweep over a
50-dimensional quadratic, a 136 x 136 eigenproblem). For those, torch's second intra-op thread
only adds synchronisation: on the two-core machines this book targets one thread was never
slower, and on a busy machine two OpenMP threads spin-waiting against other processes made a
batched ``eigvalsh`` about 400x and a vmapped sweep about 20x slower (measured while writing
Part I). Results do not depend on the thread count.
"""

from __future__ import annotations

import contextlib

import torch

__all__ = ["single_thread"]


class single_thread(contextlib.ContextDecorator):  # noqa: N801 (used like a function)
    """Run torch on one intra-op thread inside the block (restored afterwards).

    Use as ``with single_thread(): ...`` or as the decorator ``@single_thread()``.
    """

    def __enter__(self) -> single_thread:
        self._before = torch.get_num_threads()
        torch.set_num_threads(1)
        return self

    def __exit__(self, *exc: object) -> None:
        torch.set_num_threads(self._before)

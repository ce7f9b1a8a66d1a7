"""The chapter registry: one module per paper, each defining ``CHAPTER``.

A :class:`Chapter` ties a notebook (``notebooks/<slug>.ipynb``) to its claims. Chapter modules
hold only claim definitions and their pure check functions (no torch import), so listing the
book and re-deciding verdicts from cached records is instant.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from boundbook import paths
from boundbook.claims import Claim
from boundbook.params import ParameterError, RunParams, check_memory, validate

CHAPTER_MODULES: tuple[str, ...] = ("ghosts_of_softmax",)
"""Chapters in book order (their notebooks appear in _toc.yml in the same order)."""


@dataclass(frozen=True)
class Chapter:
    slug: str
    title: str
    paper: str
    claims: tuple[Claim, ...]
    memory_gib: Mapping[str, float] = field(default_factory=lambda: {"quick": 1.0, "full": 4.0})

    @property
    def notebook(self) -> Path:
        return paths.notebooks() / f"{self.slug}.ipynb"

    def claim(self, claim_id: str) -> Claim:
        for c in self.claims:
            if c.id == claim_id:
                return c
        raise KeyError(f"chapter {self.slug} has no claim {claim_id!r}")

    def start(self, mode: object = "quick", device: object = "auto",
              seed: object = 0) -> RunParams:
        """Validate a run's parameters (and the memory guard) before any computation."""
        run = validate(mode, device, seed)
        check_memory(self.memory_gib.get(run.mode, 0.0), run.device, run.mode)
        return run


@cache
def registry() -> dict[str, Chapter]:
    out: dict[str, Chapter] = {}
    for name in CHAPTER_MODULES:
        chapter = importlib.import_module(f"boundbook.chapters.{name}").CHAPTER
        if chapter.slug != name:
            raise RuntimeError(f"chapter module {name} defines slug {chapter.slug!r}")
        out[name] = chapter
    ids = [c.id for ch in out.values() for c in ch.claims]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise RuntimeError(f"claim ids used twice: {sorted(dup)}")
    return out


def get(slug: object) -> Chapter:
    chapters = registry()
    if not isinstance(slug, str) or slug not in chapters:
        raise ParameterError("chapter", slug, ", ".join(chapters))
    return chapters[slug]

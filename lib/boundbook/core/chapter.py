"""The chapter registry: one package per paper, whose ``claims`` module defines ``CHAPTER``.

A :class:`Chapter` ties a notebook (``notebooks/<slug>.ipynb``) to its claims. Claim modules
hold only claim definitions and their pure check functions (stdlib, numpy and ``core`` at
import time), so listing the book and re-deciding verdicts from cached records is instant.
The book order is :data:`boundbook.chapters.BOOK`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from boundbook.chapters import BOOK
from boundbook.core import paths
from boundbook.core.claims import Claim
from boundbook.core.params import (
    MODES,
    ParameterError,
    RunParams,
    check_memory,
    coerce_overrides,
    validate,
)

CHAPTER_MODULES: tuple[str, ...] = BOOK
"""Chapters in book order (``boundbook.chapters.BOOK``; _toc.yml follows it)."""


@dataclass(frozen=True)
class Chapter:
    slug: str
    title: str
    paper: str
    claims: tuple[Claim, ...]
    memory_gib: Mapping[str, float] = field(default_factory=lambda: {"quick": 1.0, "full": 4.0})
    cpu_only: str = ""
    """Non-empty when the chapter always computes on the CPU: the reason, shown to the user."""
    timeout_s: Mapping[str, float] = field(
        default_factory=lambda: {"quick": 900.0, "full": 4 * 3600.0})
    """Execution limit of the whole chapter per mode (generous: about 15x the quick-mode time
    on two cores); ``boundbook run --timeout`` overrides it."""

    @property
    def notebook(self) -> Path:
        return paths.notebooks() / f"{self.slug}.ipynb"

    def claim(self, claim_id: str) -> Claim:
        for c in self.claims:
            if c.id == claim_id:
                return c
        raise KeyError(f"chapter {self.slug} has no claim {claim_id!r}")

    def settings_factory(self):
        """The chapter's ``protocol.settings(mode, seed)``, or None for a chapter without a
        protocol module (the tests' toy chapters)."""
        try:
            protocol = importlib.import_module(f"boundbook.chapters.{self.slug}.protocol")
        except ModuleNotFoundError:
            return None
        return getattr(protocol, "settings", None)

    def start(self, mode: object = "quick", device: object = "auto",
              seed: object = 0, overrides: object = None) -> RunParams:
        """Validate a run's parameters, the overrides of its settings and the memory guard,
        before any computation."""
        run = validate(mode, device, seed, overrides)
        if run.overrides:
            factory = self.settings_factory()
            base = factory(run.mode, run.seed) if factory else None
            others = [factory(m, run.seed) for m in MODES] if factory else []
            run = replace(run, overrides=coerce_overrides(base, run.overrides, others))
        if self.cpu_only and run.device != "cpu":
            print(f"note: {self.slug} computes on the CPU ({self.cpu_only}); "
                  f"device {run.device!r} is not used")
            run = replace(run, device="cpu")
        check_memory(self.memory_gib.get(run.mode, 0.0), run.device, run.mode)
        return run


@cache
def registry() -> dict[str, Chapter]:
    out: dict[str, Chapter] = {}
    for name in CHAPTER_MODULES:
        out[name] = _load(name)
    ids = [c.id for ch in out.values() for c in ch.claims]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise RuntimeError(f"claim ids used twice: {sorted(dup)}")
    for ch in out.values():
        for c in ch.claims:
            unknown = set(c.builds_on) - set(ids)
            if unknown or c.id in c.builds_on:
                raise RuntimeError(f"claim {c.id} builds on unknown claims {sorted(unknown)}"
                                   if unknown else f"claim {c.id} builds on itself")
    return out


def _load(name: str) -> Chapter:
    chapter = importlib.import_module(f"boundbook.chapters.{name}.claims").CHAPTER
    if chapter.slug != name:
        raise RuntimeError(f"chapter module {name} defines slug {chapter.slug!r}")
    return chapter


def _drafts() -> list[str]:
    """Chapter modules present in the package but not yet listed in the book (work in progress).

    They can be run by name (``boundbook run <slug>``) while they are written; the book, the
    ledger and the test-suite only see CHAPTER_MODULES.
    """
    here = Path(__file__).resolve().parents[1] / "chapters"
    return sorted(p.parent.name for p in here.glob("*/claims.py")
                  if p.parent.name not in CHAPTER_MODULES)


def get(slug: object) -> Chapter:
    """One chapter by slug, importing only its own module (a run never loads the others)."""
    if isinstance(slug, str) and (slug in CHAPTER_MODULES or slug in _drafts()):
        return _load(slug)
    raise ParameterError("chapter", slug, ", ".join(CHAPTER_MODULES))

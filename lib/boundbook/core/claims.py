"""Claims, checks, negative controls, mutations and the verdict they decide.

A *claim* is one statement of a paper (a bound, an identity, a reported behaviour) with its
source. It carries the bound's constants (``pi``, ``2``, a threshold ``r_safe``...) and two
pure functions of a measurement dictionary:

``check(measurements, constants) -> Outcome``
    does the measurement agree with the statement (with these constants)?
``control(measurements, constants) -> Outcome``
    the *negative control*: the same check just past the bound (a step 10% above the critical
    one, a radius ratio r > 1, a perturbed constant). It must come out ``ok=False``; if it
    passes too, the check has no power.

The verdict is decided here, by code, from those outcomes (never typed by hand):

- ``holds``: the check passes and the negative control fails;
- ``tight``: holds, and the measured threshold is within 10% of the bound;
- ``violated``: the check fails (the measurement contradicts the statement beyond tolerance);
- ``erratum``: the statement *as printed* fails, the derived (corrected) statement holds;
- ``inconclusive``: the negative control passes as well (the check cannot discriminate), or a
  Monte-Carlo measurement's confidence interval straddles the bound.

A *mutation* replaces one constant of the bound (``pi -> 1.1 pi``, ``2 -> 2.2``, a threshold
shifted) and re-decides the verdict from the same, cached measurements. A mutation is *caught*
when the verdict changes. A claim whose mutations are not all caught must say why
(``mutation_exempt``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

FAMILIES: tuple[str, ...] = ("taylor-radius", "stable-step", "contraction", "tracking",
                             "trust-region")

PRF_DIRECTIVES: tuple[str, ...] = ("theorem", "proposition", "lemma", "corollary",
                                   "conjecture", "observation", "property", "definition")

TIGHT_FRACTION = 0.10
"""A bound is *tight* when the measured threshold lies within 10% of it (DESIGN.md)."""


class Verdict(StrEnum):
    """The five verdicts of the book (see the module docstring)."""

    HOLDS = "holds"
    TIGHT = "tight"
    VIOLATED = "violated"
    ERRATUM = "erratum"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Source:
    """Where a statement comes from: arXiv id, version, and theorem/equation/section."""

    arxiv: str
    where: str
    version: str = "v1"
    bibkey: str = ""

    def __str__(self) -> str:
        if not self.arxiv[:1].isdigit():  # a book or other non-arXiv source: cite its key
            return f"{self.bibkey or self.arxiv}, {self.where}"
        return f"arXiv:{self.arxiv}{self.version}, {self.where}"


@dataclass(frozen=True)
class Tolerance:
    """A named tolerance with its one-line justification (shown in the ledger)."""

    value: float
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "why": self.why}


@dataclass(frozen=True)
class Outcome:
    """The result of one check: the bound's prediction, the measurement, and agreement.

    A Monte-Carlo measurement carries its confidence ``interval``; when that interval
    straddles the bound the check sets ``undecided`` and the verdict is ``inconclusive``.
    """

    ok: bool
    predicted: float
    measured: float
    tight: bool = False
    note: str = ""
    interval: tuple[float, float] | None = None
    undecided: bool = False

    def to_dict(self, digits: int) -> dict[str, Any]:
        return {"ok": bool(self.ok), "predicted": round_sig(self.predicted, digits),
                "measured": round_sig(self.measured, digits), "tight": bool(self.tight),
                "interval": None if self.interval is None
                else [round_sig(x, digits) for x in self.interval],
                "undecided": bool(self.undecided), "note": self.note}


Check = Callable[[Mapping[str, Any], Mapping[str, Any]], Outcome]


@dataclass(frozen=True)
class Mutation:
    """Replace one constant of the bound by ``value``; the verdict must change."""

    constant: str
    value: Any
    label: str = ""

    def apply(self, constants: Mapping[str, Any]) -> dict[str, Any]:
        if self.constant not in constants:
            raise KeyError(f"mutation of unknown constant {self.constant!r}; "
                           f"the claim's constants are {sorted(constants)}")
        return {**constants, self.constant: self.value}

    @property
    def name(self) -> str:
        return self.label or f"{self.constant} -> {self.value}"


@dataclass(frozen=True)
class Claim:
    """One checkable statement of a paper. See the module docstring."""

    id: str
    title: str
    statement: str
    source: Source
    family: str
    constants: Mapping[str, Any]
    check: Check
    control: Check
    control_label: str
    tolerance: Tolerance
    mutations: tuple[Mutation, ...] = ()
    printed: Mapping[str, Any] | None = None
    printed_statement: str = ""
    mutation_exempt: str = ""
    paper_reports: str = ""
    digits: int = 3
    tags: tuple[str, ...] = field(default=())
    heading: str = ""
    """The title of the claim's formal statement in its chapter (default: ``title``)."""
    text: str = ""
    """The statement in words and math (MyST), rendered as the chapter's ``prf`` block: written
    here once, the notebook shows it with :func:`boundbook.core.notebook.show_statements`."""
    prf: str = "theorem"
    """The sphinx-proof directive of that block: theorem, proposition, lemma, conjecture..."""

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"claim {self.id}: family {self.family!r} not in {FAMILIES}")
        for m in self.mutations:
            m.apply(self.constants)  # fails early on a misspelt constant
        if self.prf not in PRF_DIRECTIVES:
            raise ValueError(f"claim {self.id}: prf {self.prf!r} not in {PRF_DIRECTIVES}")
        if self.printed is not None:
            unknown = set(self.printed) - set(self.constants)
            if unknown:
                raise ValueError(f"claim {self.id}: printed overrides unknown constants {unknown}")


@dataclass(frozen=True)
class Evaluation:
    """A decided claim: verdict plus the outcomes it was decided from."""

    claim: Claim
    verdict: Verdict
    main: Outcome
    control: Outcome
    printed: Outcome | None

    @property
    def control_text(self) -> str:
        return "fails (as required)" if not self.control.ok else "passes: check has no power"


def decide(claim: Claim, measurements: Mapping[str, Any],
           constants: Mapping[str, Any] | None = None) -> Evaluation:
    """Decide a claim's verdict from its measurements (see the module docstring)."""
    consts = dict(claim.constants if constants is None else constants)
    main = claim.check(measurements, consts)
    control = claim.control(measurements, consts)
    printed = None
    if claim.printed is not None:
        printed = claim.check(measurements, {**consts, **claim.printed})
    if control.ok or main.undecided:
        verdict = Verdict.INCONCLUSIVE
    elif printed is not None and not printed.ok and main.ok:
        verdict = Verdict.ERRATUM
    elif main.ok:
        verdict = Verdict.TIGHT if main.tight else Verdict.HOLDS
    else:
        verdict = Verdict.VIOLATED
    return Evaluation(claim, verdict, main, control, printed)


@dataclass(frozen=True)
class MutationResult:
    mutation: Mutation
    verdict: Verdict
    caught: bool


def mutate(claim: Claim, measurements: Mapping[str, Any]) -> list[MutationResult]:
    """Re-decide the claim under each registered mutation of its constants."""
    base = decide(claim, measurements).verdict
    out = []
    for m in claim.mutations:
        v = decide(claim, measurements, m.apply(claim.constants)).verdict
        out.append(MutationResult(m, v, v != base))
    return out


def round_sig(x: float, digits: int) -> float | str:
    """Round to ``digits`` significant digits; non-finite values become strings (JSON-safe)."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return 0.0
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


def within(measured: float, predicted: float, rtol: float) -> bool:
    """|measured - predicted| <= rtol * |predicted| (both finite)."""
    return (math.isfinite(measured) and math.isfinite(predicted)
            and abs(measured - predicted) <= rtol * abs(predicted))


def is_tight(measured: float, bound: float) -> bool:
    """The measured threshold lies within TIGHT_FRACTION of the bound."""
    return within(measured, bound, TIGHT_FRACTION)


def band_outcome(ratios: list[float], band: float, note: str, tight: bool = True) -> Outcome:
    """Every measured/predicted ratio lies within ``1 +- band`` (a plateau at a predicted edge).

    ``measured`` is the ratio farthest from 1; ``tight`` (when asked for) as in
    :func:`is_tight`. Chapters format ``note`` themselves (it goes into the records).
    """
    worst = max(ratios, key=lambda x: abs(x - 1))
    ok = all(abs(x - 1) <= band for x in ratios)
    return Outcome(ok, 1.0, worst, tight=tight and ok and is_tight(worst, 1.0), note=note)

"""Claims, checks, negative controls, mutations and the verdict they decide.

A *claim* is one statement (a bound, an identity, a critical value, a reported behaviour)
with its source. It declares its **kind** and its **provenance**, carries the bound's constants
(``pi``, ``2``, a threshold ``r_safe``...) and two pure functions of a measurement dictionary:

``check(measurements, constants) -> Outcome``
    does the measurement agree with the statement (with these constants)?
``control(measurements, constants) -> Outcome``
    the *negative control*: the same check on the same system just past the bound (a step 5%
    above the critical one, a radius ratio r > 1, a perturbed constant). It must come out
    ``ok=False``; if it passes too, the check has no power.

Kinds (:data:`KINDS`):

- ``identity``: an exact equality (a derived form against the printed one, a closed form
  against a numeric value);
- ``bound``: a one-sided inequality; its check reports ``slack``, the smallest relative margin
  ``(bound - measured)/|bound|`` (or the mirror image for a lower bound) over instances *not*
  constructed to attain equality, and ``equality``, that margin on the constructed
  equality case when there is one;
- ``threshold``: a critical value where behaviour changes; its check reports ``slack``, the
  relative offset ``measured/predicted - 1`` of the measured critical value;
- ``phenomenon``: an empirical behaviour a paper reports, decided on a criterion fixed before
  the run, with a 95% interval over seeds (``interval``).

Provenance (:data:`PROVENANCES`): ``paper`` (a statement read in a paper, cited by theorem,
equation or section, or ``abstract only``), ``derived`` (the book's own derivation) or
``harness`` (a calibration of the book's measuring apparatus). Only ``paper`` claims are
credited to a paper; the ledger counts the others apart.

The verdict is decided here, by code, from those outcomes (never typed by hand), in this order:

- ``inconclusive``: the negative control passes as well (the check cannot discriminate), or
  the check's or the control's interval straddles its bar (``undecided``);
- ``erratum``: the statement *as printed in the paper* fails the check that the derived
  (corrected) statement passes;
- ``violated``: the check fails (the measurement contradicts the statement beyond tolerance);
- ``tight``: a ``bound`` that holds, and whose worst slack over instances not constructed to
  attain equality is at most :data:`TIGHT_SLACK` (measured, never implied by the tolerance:
  the pass criterion is slack >= -tolerance);
- ``holds``: the check passes and the negative control fails.

``tight`` exists only for bounds: for an identity, a threshold or a phenomenon, passing already
says everything, and the ledger shows the measured offset instead.

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

KINDS: tuple[str, ...] = ("identity", "bound", "threshold", "phenomenon")
PROVENANCES: tuple[str, ...] = ("paper", "derived", "harness")

TIGHT_SLACK = 0.10
"""A bound is *tight* when an instance not constructed to attain equality comes within 10%
of it (its worst measured slack is at most 0.10)."""



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

    ``slack``: for a ``bound``, the worst relative margin over instances not constructed to
    attain equality (``equality``: the margin of the constructed equality case, if any); for a
    ``threshold``, the relative offset of the measured critical value. A Monte-Carlo
    measurement carries its 95% ``interval`` (seed as the unit of resampling); when it
    straddles the bar the check sets ``undecided`` and the verdict is ``inconclusive``.
    """

    ok: bool
    predicted: float
    measured: float
    note: str = ""
    interval: tuple[float, float] | None = None
    undecided: bool = False
    slack: float | None = None
    equality: float | None = None

    def to_dict(self, digits: int) -> dict[str, Any]:
        def r(x: float | None) -> float | str | None:
            return None if x is None else round_sig(x, digits)

        return {"ok": bool(self.ok), "predicted": round_sig(self.predicted, digits),
                "measured": round_sig(self.measured, digits),
                "interval": None if self.interval is None
                else [round_sig(x, digits) for x in self.interval],
                "undecided": bool(self.undecided), "slack": r(self.slack),
                "equality": r(self.equality), "note": self.note}


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
    kind: str = ""
    """identity, bound, threshold or phenomenon (module docstring)."""
    provenance: str = "paper"
    """paper (read in the paper), derived (the book's own) or harness (a calibration)."""
    monte_carlo: bool = False
    """Measured on random draws: the check and the control must carry 95% intervals."""
    builds_on: tuple[str, ...] = ()
    """Ids of the claims this one rests on (its derivation or its experiment uses them): the
    edges of the ledger's dependency graph. Checked to exist by the registry."""

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"claim {self.id}: family {self.family!r} not in {FAMILIES}")
        for m in self.mutations:
            m.apply(self.constants)  # fails early on a misspelt constant
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id}: kind {self.kind!r} not in {KINDS}")
        if self.provenance not in PROVENANCES:
            raise ValueError(f"claim {self.id}: provenance {self.provenance!r} not in "
                             f"{PROVENANCES}")
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
    if control.ok or main.undecided or control.undecided:
        verdict = Verdict.INCONCLUSIVE
    elif printed is not None and not printed.ok and main.ok:
        verdict = Verdict.ERRATUM
    elif not main.ok:
        verdict = Verdict.VIOLATED
    elif claim.kind == "bound" and main.slack is not None and main.slack <= TIGHT_SLACK:
        verdict = Verdict.TIGHT
    else:
        verdict = Verdict.HOLDS
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


def band_outcome(ratios: list[float], band: float, note: str) -> Outcome:
    """Every measured/predicted ratio lies within ``1 +- band`` (a plateau at a predicted edge).

    ``measured`` is the ratio farthest from 1 and ``slack`` its offset from 1. Chapters format
    ``note`` themselves (it goes into the records).
    """
    worst = max(ratios, key=lambda x: abs(x - 1))
    ok = all(abs(x - 1) <= band for x in ratios)
    return Outcome(ok, 1.0, worst, note=note, slack=worst - 1.0)


def relative_slack(bound: float, measured: float, upper: bool = True) -> float:
    """The relative margin of a one-sided bound: ``(bound - measured)/|bound|`` for an upper
    bound, ``(measured - bound)/|bound|`` for a lower one (negative: violated)."""
    margin = bound - measured if upper else measured - bound
    return margin / abs(bound) if bound else (0.0 if margin == 0 else math.copysign(math.inf,
                                                                                      margin))

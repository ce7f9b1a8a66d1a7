"""The verdict logic: every verdict is reachable, and decided only from outcomes."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from boundbook.core.claims import (
    Claim,
    Mutation,
    Outcome,
    Source,
    Tolerance,
    Verdict,
    decide,
    mutate,
    relative_slack,
    round_sig,
)
from boundbook.core.stats import clopper_pearson


def threshold_claim(**kw) -> Claim:
    """A toy lower bound 'measured threshold >= c * bound' with a control at 1.1 c."""

    def check(m, k):
        bound = k["c"] * m["bound"]
        return Outcome(m["threshold"] >= bound, bound, m["threshold"],
                       slack=relative_slack(bound, m["threshold"], upper=False))

    def control(m, k):
        return check(m, {**k, "c": k["ctrl"] * k["c"]})

    base = dict(id="toy", title="toy", statement="x", source=Source("0000.00000", "Eq. 1"),
                family="stable-step", constants={"c": 1.0, "ctrl": 1.1}, check=check,
                control=control,
                control_label="1.1 c", tolerance=Tolerance(0.0, "exact"),
                mutations=(Mutation("c", 1.1),), kind="bound", text="toy")
    base.update(kw)
    return Claim(**base)


def test_tight_when_threshold_meets_bound_and_control_fails():
    ev = decide(threshold_claim(), {"bound": 2.0, "threshold": 2.05})
    assert ev.verdict is Verdict.TIGHT and not ev.control.ok
    assert ev.main.slack == pytest.approx(0.025)


@pytest.mark.parametrize("kind", ["identity", "threshold", "phenomenon"])
def test_tight_is_only_for_bounds(kind):
    """Passing an identity, a threshold or a phenomenon says all there is: never tight."""
    ev = decide(threshold_claim(kind=kind), {"bound": 2.0, "threshold": 2.05})
    assert ev.verdict is Verdict.HOLDS


def test_tight_is_measured_not_implied_by_passing():
    """The same bound passing with 20% slack holds, but is not tight (slack is measured)."""
    claim = threshold_claim(constants={"c": 1.0, "ctrl": 1.5})
    ev = decide(claim, {"bound": 2.0, "threshold": 2.4})
    assert ev.main.ok and ev.verdict is Verdict.HOLDS and ev.main.slack == pytest.approx(0.2)


def test_undecided_control_is_inconclusive():
    def control(m, k):
        return Outcome(False, 1.0, 0.9, interval=(0.8, 1.1), undecided=True)

    ev = decide(threshold_claim(control=control), {"bound": 2.0, "threshold": 2.05})
    assert ev.verdict is Verdict.INCONCLUSIVE


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (7, 40), (1, 2), (50, 100)])
def test_clopper_pearson_matches_beta_quantiles(k, n):
    from scipy.stats import beta

    lo, hi = clopper_pearson(k, n)
    assert lo == pytest.approx(beta.ppf(0.025, k, n - k + 1) if k else 0.0, abs=1e-9)
    assert hi == pytest.approx(beta.ppf(0.975, k + 1, n - k) if k < n else 1.0, abs=1e-9)


def test_holds_with_slack():
    claim = threshold_claim(constants={"c": 1.0, "ctrl": 2.0})
    assert decide(claim, {"bound": 2.0, "threshold": 3.0}).verdict is Verdict.HOLDS


def test_one_sided_bound_with_slack_has_no_power_at_1p1():
    """A lower bound met with 50% slack cannot be told from 1.1x the bound: inconclusive."""
    assert decide(threshold_claim(), {"bound": 2.0, "threshold": 3.0}).verdict \
        is Verdict.INCONCLUSIVE


def test_inconclusive_when_control_also_passes():
    assert decide(threshold_claim(), {"bound": 2.0, "threshold": 9.0}).verdict \
        is Verdict.INCONCLUSIVE


def test_violated():
    assert decide(threshold_claim(), {"bound": 2.0, "threshold": 1.5}).verdict \
        is Verdict.VIOLATED


def test_erratum_when_printed_form_fails_and_derived_holds():
    claim = threshold_claim(printed={"c": 0.5})

    def check(m, k):  # the printed constant overshoots: equality check against c * bound
        pred = k["c"] * m["bound"]
        return Outcome(abs(m["threshold"] - pred) <= 1e-9, pred, m["threshold"])

    def control(m, k):
        return check(m, {**k, "c": 1.1 * k["c"]})

    claim = threshold_claim(check=check, control=control, printed={"c": 0.5})
    assert decide(claim, {"bound": 2.0, "threshold": 2.0}).verdict is Verdict.ERRATUM


def test_mutation_caught_and_survived():
    claim = threshold_claim(mutations=(Mutation("c", 1.1), Mutation("c", 0.2)))
    res = mutate(claim, {"bound": 2.0, "threshold": 2.05})
    assert [r.caught for r in res] == [True, True]  # 2.2 > 2.05 violated; 0.2 -> inconclusive
    claim = threshold_claim(constants={"c": 1.0, "ctrl": 3.0},
                            mutations=(Mutation("c", 1.1), Mutation("c", 1.5)))
    res = mutate(claim, {"bound": 2.0, "threshold": 2.5})  # holds with 25% slack
    assert [r.caught for r in res] == [False, True]  # 1.1 hides in the slack, 1.5 does not


def test_claim_validation():
    with pytest.raises(ValueError, match="family"):
        threshold_claim(family="nonsense")
    with pytest.raises(ValueError, match="kind"):
        threshold_claim(kind="nonsense")
    with pytest.raises(ValueError, match="provenance"):
        threshold_claim(provenance="folklore")
    with pytest.raises(KeyError, match="unknown constant"):
        threshold_claim(mutations=(Mutation("d", 1.0),))


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)
       .filter(lambda x: x == 0 or abs(x) > 1e-200), st.integers(1, 8))
def test_round_sig(x, d):
    r = round_sig(x, d)
    assert r == 0 if x == 0 else math.isclose(r, x, rel_tol=10 ** (1 - d))


def test_round_sig_nonfinite():
    assert round_sig(math.inf, 3) == "inf" and round_sig(math.nan, 3) == "nan"

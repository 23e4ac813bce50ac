"""Trend-reversal check: fires on capability data that falls with compute, not on data that rises."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayes_scaling as bs
from bayes_scaling.datasets import make_example_capability_runs, make_example_pass_counts
from bayes_scaling.checks.trend_reversal import REVERSAL_PROB, TOP_COMPUTES

DEFAULTS = {"seed": 0, "progress": False}  # default draws: a test fit must pass the health checks too
PASS_COMPUTES = (1e17, 1e18, 1e19, 1e20, 1e21)

# the rising ladder's fit is the NUTS run of tests/test_two_step.py's module fit (the same runs,
# options and seed): whichever module comes first samples it, the other gets its draws (conftest.py)
pytestmark = pytest.mark.usefixtures("reused_fits")


def fit(data, law, **options):
    """Forecast and the TrendReversalWarnings it issued; a SamplerWarning still fails the test."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("error", bs.SamplerWarning)  # recorded, it would pass unseen
        fc = bs.forecast(data, target=1e22, law=law, **DEFAULTS, **options)
    return fc, [w for w in caught if issubclass(w.category, bs.TrendReversalWarning)]


def headline(fc, window):
    frame = fc.trend_reversal
    rows = frame[(frame["window"] == window) & (frame["quantity"] == fc.quantities[0])]
    if "bucket" in rows:
        rows = rows[rows["bucket"] == "all"]
    return rows.iloc[0]


def test_rising_accuracy_gives_no_warning():
    fc, caught = fit(make_example_capability_runs(seed=0), "two_step", items=2000, floor=0.25)
    assert not caught
    assert list(fc.trend_reversal["window"]) == ["fitted range", "largest runs"]
    assert headline(fc, "fitted range")["prob_falls"] < 0.05
    assert headline(fc, "largest runs")["prob_falls"] < 0.5
    assert headline(fc, "largest runs")["runs"] == TOP_COMPUTES


def test_accuracy_falling_at_the_top_warns():
    runs = make_example_capability_runs(seed=0, reverse_top=TOP_COMPUTES)
    fc, caught = fit(runs, "two_step", items=2000, floor=0.25)
    top = headline(fc, "largest runs")
    assert top["prob_falls"] >= REVERSAL_PROB
    assert top["slope_per_decade"] < 0
    assert len(caught) == 1 and "largest runs" in str(caught[0].message)
    assert headline(fc, "fitted range")["prob_falls"] < 0.05  # the ladder as a whole still rises
    assert any("falls with compute" in caveat for caveat in _caveats(fc))


@pytest.mark.slow  # a statistical check of the posterior, 40 s (the loss and accuracy cases stay in the default run): run with pytest -m slow
def test_pass_rates_falling_at_the_top_warn_per_bucket():
    counts, _ = make_example_pass_counts(seed=0, problems=30, computes=PASS_COMPUTES, n=400, buckets=2, exclude_hardest=2)
    # the three largest runs report their counts in reverse order: pass rates fall there
    top = sorted(PASS_COMPUTES)[-TOP_COMPUTES:]
    counts["compute"] = counts["compute"].replace(dict(zip(top, top[::-1])))
    counts["run"] = counts["compute"].map(lambda c: f"C={c:.0e}")
    fc, caught = fit(counts, "pass_rate", buckets=2, exclude_hardest=2)
    frame = fc.trend_reversal
    assert set(frame["bucket"]) == {"1", "2", "all"}
    assert headline(fc, "largest runs")["prob_falls"] >= REVERSAL_PROB
    assert len(caught) == 1
    rising = frame[frame["window"] == "fitted range"]
    assert np.all(rising["prob_falls"] < 0.5)  # over the whole ladder the rates still rise


def test_loss_law_has_no_trend_reversal_check(example_forecast):
    assert example_forecast.trend_reversal is None


def _caveats(fc):
    from bayes_scaling.output.report_sections import _caveats

    return _caveats(fc, float(fc.runs["compute"].max()))

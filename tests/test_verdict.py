"""The verdict: ready / caution / do-not-rely, with reasons, in the report and on the command line."""

from __future__ import annotations

import html
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import bayes_scaling as bs
from bayes_scaling import cli
from bayes_scaling.checks import fit_check
from bayes_scaling.checks import verdict
from bayes_scaling.datasets import make_example_runs
from bayes_scaling.checks.track_record import measured, track_record

# a forecast that repeats an earlier NUTS run (same data, seed and settings) gets its draws: conftest.py
pytestmark = pytest.mark.usefixtures("reused_fits")

FAR_TARGET = 3e39  # 10^20 × the example ladder's largest run (3e19)


def bent_ladder() -> pd.DataFrame:
    """The example ladder whose two largest runs came in 4% below the trend (a recipe change, say)."""
    runs = make_example_runs(seed=0)
    runs.loc[runs.index[-2:], "loss"] *= 0.96
    return runs


@pytest.fixture(scope="module")
def far(example):
    with pytest.warns(bs.ExtrapolationWarning, match="not trustworthy"):
        return bs.forecast(example, target=FAR_TARGET, seed=0, progress=False)


@pytest.fixture(scope="module")
def bent():
    return bs.forecast(bent_ladder(), target=1e21, seed=0, progress=False)


def test_levels_are_ordered_and_the_worst_finding_decides():
    findings = (verdict.Finding("a", "ready", "fine."), verdict.Finding("b", "caution", "hmm."))
    v = verdict.Verdict("caution", findings)
    assert verdict.LEVELS == ("ready", "caution", "do-not-rely")
    assert v.reasons == ["hmm."] and v.line() == "verdict: caution — hmm."


def test_far_beyond_the_measured_range_is_do_not_rely(far, tmp_path):
    v = far.verdict(self_backtest=False)
    assert far.ok  # the sampler is fine: it is the distance that makes this unusable
    assert v.level == "do-not-rely"
    extrapolation = next(f for f in v.findings if f.check == "extrapolation")
    assert extrapolation.level == "do-not-rely" and "1e+20×" in extrapolation.text
    text = far.report(tmp_path / "far.html", thresholds=[2.5], self_backtest=False).read_text()
    assert 'data-verdict="do-not-rely"' in text
    assert "Sampler: trustworthy" not in text
    assert "1e+20×" in text and "100,000,000,000,000,000,000" not in text
    # the track record it quotes is from a much nearer distance, and says so
    assert "Nothing was measured within 3× of this forecast's 1e+20×. At the nearest measured distance" in html.unescape(text)
    # the threshold's probabilities are printed as draws can tell them, never as a certainty (100% / 0%)
    row = re.search(r'<td class="num">3e\+39</td><td class="num">2\.5</td><td class="num">([^<]+)</td><td class="num">([^<]+)</td>', text)
    shown = [html.unescape(cell) for cell in row.groups()] if row else None
    assert shown and all(re.fullmatch(r"> 99\.9%|< 0\.1%|\d+\.\d%", cell) for cell in shown), shown


def test_the_command_line_prints_the_verdict_and_keeps_its_exit_status(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    make_example_runs(seed=0).to_csv(path, index=False)
    with pytest.warns(bs.ExtrapolationWarning):
        code = cli.main(["forecast", str(path), "--target", "3e39", "--seed", "0", "--no-progress", "--no-self-backtest",
                         "--threshold", "2.5", "--report", str(tmp_path / "r.html")])
    out = capsys.readouterr().out
    assert code == 0  # the sampler passed: the documented status
    assert re.search(r"^verdict: do-not-rely — ", out, re.M)
    assert 'data-verdict="do-not-rely"' in (tmp_path / "r.html").read_text()


def test_a_self_backtest_that_misses_is_caution(bent, tmp_path):
    v = bent.verdict()
    finding = next(f for f in v.findings if f.check == "self-backtest")
    assert finding.level == "caution" and "outside the refit's 90% interval" in finding.text
    table = v.self_backtest
    assert len(table) == 2 and not table["covered_90"].all()
    assert (table["pit"] < 0.05).any()  # they came in below the refit's forecast
    assert v.level in ("caution", "do-not-rely")
    text = bent.report(tmp_path / "bent.html").read_text()
    assert f'data-verdict="{v.level}"' in text and "Self-backtest on this ladder" in text


def test_an_on_trend_ladder_passes_its_self_backtest(example_forecast):
    v = example_forecast.verdict()
    finding = next(f for f in v.findings if f.check == "self-backtest")
    assert finding.level == "ready", finding.text
    assert v.self_backtest["covered_90"].all()
    assert next(f for f in v.findings if f.check == "sampler").level == "ready"
    assert example_forecast.verdict() is v  # made once per forecast


def test_ready_inside_the_measured_range(example):
    record = measured()
    loss = record[(record["law"] == "loss") & (record["method"] == "bayes") & (record["options"] == "{}")]
    if not len(loss):
        pytest.skip("no track record of the loss law shipped")
    # a distance with enough measured forecasts whose 90% coverage is not significantly below 90%
    def calibrated(r):
        rows = track_record("loss", {}, r).bayes
        return len(rows) >= verdict.MIN_FORECASTS and not verdict.too_narrow(int(rows["covered_90"].sum()), len(rows))

    ok = [r for r in np.geomspace(1.5, loss["ratio"].max(), 20) if calibrated(r)]
    if not ok:
        pytest.skip("the loss law's measured coverage is too low at every measured distance")
    fc = bs.forecast(example, target=float(example["compute"].max() * ok[0]), seed=0, progress=False)
    v = fc.verdict()
    assert v.level == "ready", v.findings
    extrapolation = next(f for f in v.findings if f.check == "extrapolation")
    assert extrapolation.level == "ready"
    if track_record("loss", {}, ok[0]).coverage_90 < 0.9:  # a reviewer is told why a lower coverage still passes
        assert "not significantly below 90%" in extrapolation.text


def test_a_failed_sampler_is_do_not_rely(example):
    with pytest.warns(bs.SamplerWarning):
        fc = bs.forecast(example, target=1e21, draws=30, tune=30, seed=0, progress=False)
    v = fc.verdict(self_backtest=False)
    assert v.level == "do-not-rely"
    assert any(f.check == "sampler" and f.level == "do-not-rely" and "r_hat" in f.text for f in v.findings)


def test_skipping_the_self_backtest_says_so(example_forecast):
    v = example_forecast.verdict(self_backtest=False)
    finding = next(f for f in v.findings if f.check == "self-backtest")
    assert finding.level == "caution" and "not run" in finding.text
    assert v.level != "ready"


def _stub(runs: pd.DataFrame):
    return SimpleNamespace(runs=runs, bucket_labels=None)


def test_measured_coverage_counts_against_calibration_only_when_significant():
    assert not verdict.too_narrow(8, 10)  # 80% of 10: consistent with calibrated 90% intervals
    assert verdict.too_narrow(18, 29) and verdict.too_narrow(11, 23)
    assert not verdict.too_narrow(29, 29)


def test_few_runs_are_caution():
    few = verdict._runs(_stub(pd.DataFrame({"run": list("abcd"), "compute": [1e17, 1e18, 1e19, 1e20]})))
    enough = verdict._runs(_stub(pd.DataFrame({"run": list("abcde"), "compute": [1e17, 1e18, 1e19, 1e20, 1e21]})))
    assert few.level == "caution" and "Only 4 runs" in few.text
    assert enough.level == "ready"


def test_curvature_flags_residuals_that_bend_and_not_noise():
    rng = np.random.default_rng(0)
    compute = np.geomspace(1e17, 1e20, 9)
    x = np.log10(compute) - np.log10(compute).mean()
    noise = pd.DataFrame({"compute": compute, "z": rng.standard_normal(9)})
    bending = noise.assign(z=noise["z"] * 0.3 + 2.0 * (x**2 - (x**2).mean()))
    assert not fit_check.curvature(noise)["bends"]
    bend = fit_check.curvature(bending)
    assert bend["bends"] and bend["coefficient"] > 0
    assert fit_check.curvature(noise.iloc[:4]) is None  # too few computes to test


def test_posterior_predictive_check_of_the_fitted_runs(example_forecast, bent):
    check = fit_check.posterior_predictive(example_forecast)
    assert list(check["compute"]) == list(example_forecast.runs["compute"])
    assert check["inside_90"].mean() >= 0.7  # a calibrated fit has about 90% inside
    assert np.all((check["pit"] > 0) & (check["pit"] < 1))
    assert check["residual_pct"].abs().max() < 3
    # the bent ladder's two largest runs sit below its fitted curve
    bent_check = fit_check.posterior_predictive(bent)
    assert (bent_check["residual_pct"].iloc[-2:] < 0).all()


def test_the_track_record_is_what_the_benchmark_measured():
    table = measured()
    loss = table[(table["law"] == "loss") & (table["method"] == "bayes")]
    assert len(loss) and loss["covered_90"].isin([True, False]).all()
    # the coverage it reports is recomputed from the rows, at the distance asked for
    record = track_record("loss", {}, float(loss["ratio"].median()))
    near = loss[(loss["ratio"] >= record.ratio / 3) & (loss["ratio"] <= record.ratio * 3)]
    assert record.coverage_90 == pytest.approx(near["covered_90"].mean())
    assert set(record.summary()["method"]) == {"bayes_scaling", "curve_fit + bootstrap"}
    assert "not yet measured" in track_record("pass_rate", {"buckets": 6}, 100.0).describe()
    assert track_record("loss", {"prior": "mine"}, 10.0).measured_range is None  # other options: not measured


def test_a_law_not_yet_measured_says_so_in_the_report(example_forecast, tmp_path, monkeypatch):
    from bayes_scaling.checks import track_record as module
    nothing = module.measured().iloc[:0]
    monkeypatch.setattr(module, "measured", lambda: nothing)
    v = verdict.assess(example_forecast, self_backtest=False)
    finding = next(f for f in v.findings if f.check == "extrapolation")
    assert finding.level == "caution" and "not yet measured" in finding.text


def test_the_self_backtest_refits_with_the_function_the_forecast_was_handed(example_forecast, tmp_path):
    """forecast() and load_forecast hand the Forecast its refit; one built by hand has none and says so."""
    assert example_forecast._refit is bs.forecast
    path = tmp_path / "fc.nc"
    example_forecast.save(path)
    assert bs.load_forecast(path)._refit is bs.forecast
    bare = bs.Forecast(example_forecast.idata)
    with pytest.raises(ValueError, match="self_backtest=False"):
        bare.verdict()
    assert bare.verdict(self_backtest=False).level in ("ready", "caution", "do-not-rely")

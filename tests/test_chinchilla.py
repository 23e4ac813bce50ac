"""The Chinchilla law: loading, targets, recovery, compute-optimal allocation, Epoch's refit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayes_scaling as bs
from bayes_scaling.laws import chinchilla
from tests.synthetic_ladders import CHINCHILLA_TRUTH, isoflop_ladder, true_mean

# a forecast that repeats an earlier NUTS run (same data, seed and settings) gets its draws: conftest.py;
# synthetic_fit is the run tests/test_cli.py's chinchilla forecast repeats, and in a whole session this module
# is the first to ask for example_forecast, whose run tests/test_extrapolation.py's plain_forecast repeats
pytestmark = pytest.mark.usefixtures("reused_fits")

TARGET = pd.DataFrame({"params": [1e10], "tokens": [2e11]})
# Epoch AI's refit (Besiroglu et al. 2024) on the digitised points, 95% CIs (../shared/data/README.md)
EPOCH = {"E": (1.769, 1.871), "A": (285.0, 744.0), "B": (1042.0, 5810.0), "alpha": (0.317, 0.373), "beta": (0.331, 0.415)}


@pytest.fixture(scope="module")
def synthetic_fit():
    runs = isoflop_ladder("chinchilla", seed=0)
    return runs, bs.forecast(runs, target=TARGET, law="chinchilla", seed=0, progress=False)


def test_recovers_the_true_law(synthetic_fit):
    runs, fc = synthetic_fit
    assert fc.ok, fc.diagnostics.problems()
    post = fc.idata.posterior
    for name in ("E", "alpha", "beta"):
        lower, upper = np.quantile(post[name].to_numpy(), [0.005, 0.995])
        assert lower < CHINCHILLA_TRUTH[name] < upper, (name, lower, upper)
    lower, upper = fc.interval(0.99, kind="mean")
    truth = true_mean("chinchilla", TARGET["params"][0], TARGET["tokens"][0])
    assert lower < truth < upper
    np.testing.assert_allclose(fc.targets, 6 * 1e10 * 2e11)


def test_compute_optimal_minimises_the_posterior_median_loss_on_the_isoflop_line(synthetic_fit):
    _, fc = synthetic_fit
    budget = 5.76e23
    frame = bs.compute_optimal(fc, [budget, 1e25])
    assert list(frame["quantity"].unique()) == ["params", "tokens", "tokens_per_param"]
    row = frame[(frame["budget"] == budget)].set_index("quantity")
    assert row.loc["params", "median"] * row.loc["tokens", "median"] * 6 == pytest.approx(budget, rel=0.05)
    # a brute-force search along C = 6ND under each of a few draws lands on the closed form
    post = fc.idata.posterior
    params = np.geomspace(1e9, 1e12, 20001)
    for draw in (0, 100, 400):
        p = {k: float(post[k].isel(chain=0, draw=draw)) for k in ("E", "A", "B", "alpha", "beta")}
        loss = p["A"] / params ** p["alpha"] + p["B"] / (budget / (6 * params)) ** p["beta"]
        best = params[np.argmin(loss)]
        g = (p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / (p["alpha"] + p["beta"]))
        assert best == pytest.approx(g * (budget / 6) ** (p["beta"] / (p["alpha"] + p["beta"])), rel=1e-3)
    with pytest.raises(ValueError, match="budget must be"):
        bs.compute_optimal(fc, -1)


def test_every_row_says_how_far_outside_the_fitted_sizes_it_lies(synthetic_fit):
    runs, fc = synthetic_fit
    frame = fc.to_frame()
    n, d = TARGET["params"].iloc[0], TARGET["tokens"].iloc[0]
    assert frame["extrapolation_distance"].iloc[0] == pytest.approx(6 * n * d / runs["compute"].max())
    for name, value in (("params", n), ("tokens", d)):
        expected = max(1.0, value / runs[name].max(), runs[name].min() / value)
        assert frame[f"{name}_outside"].iloc[0] == pytest.approx(expected)
    assert frame[["params_outside", "tokens_outside"]].iloc[0].min() > 1  # 1e10 and 2e11 lie past every fitted run


def test_compute_optimal_refuses_other_laws(example_forecast):
    with pytest.raises(ValueError, match="chinchilla law"):
        bs.compute_optimal(example_forecast, 1e23)


def test_load_derives_compute_and_names_bad_columns():
    runs = isoflop_ladder("chinchilla", seed=0).drop(columns="compute")
    loaded = chinchilla.load(runs)
    np.testing.assert_allclose(loaded["compute"], 6 * runs["params"] * runs["tokens"])
    with pytest.raises(bs.DataError, match=r"lacks \['tokens'\]"):
        chinchilla.load(runs.drop(columns="tokens"))
    bad = runs.copy()
    bad.loc[4, "params"] = -1.0
    with pytest.raises(bs.DataError, match="column 'params', row 4"):
        chinchilla.load(bad)



def test_load_reads_columns_as_load_runs_does():
    runs = isoflop_ladder("chinchilla", seed=0).drop(columns="compute")
    expected = chinchilla.load(runs)
    # a named index is a column again, and only the known names are stripped, as in load_runs
    spaced = runs.rename(columns={"loss": " loss ", "tokens": "tokens "}).set_index("params")
    pd.testing.assert_frame_equal(chinchilla.load(spaced), expected)
    with pytest.raises(bs.DataError, match="column 'loss' appears 2 times"):
        chinchilla.load(runs.assign(**{"loss ": runs["loss"]}))


def test_targets_must_be_params_and_tokens(synthetic_fit):
    runs, _ = synthetic_fit
    with pytest.raises(bs.DataError, match="DataFrame with columns params and tokens"):
        bs.forecast(runs, target=1e22, law="chinchilla")
    with pytest.raises(bs.DataError, match=r"lacks columns \['tokens'\]"):
        bs.forecast(runs, target=pd.DataFrame({"params": [1e10]}), law="chinchilla")


@pytest.mark.slow  # a statistical check of the posterior, 12 s: run with pytest -m slow
def test_epoch_refit_overlaps_the_posterior(shared_data):
    """Drop the 5 highest-loss points as Epoch did; every 95% interval overlaps Epoch's."""
    raw = pd.read_csv(shared_data / "chinchilla_epoch_svg_extracted.csv").nsmallest(240, "loss")
    runs = pd.DataFrame({"params": raw["Model Size"], "tokens": raw["Training FLOP"] / (6 * raw["Model Size"]), "loss": raw["loss"]})
    fc = bs.forecast(runs, target=TARGET, law="chinchilla", seed=0, progress=False)
    assert fc.ok, fc.diagnostics.problems()
    for name, (low, high) in EPOCH.items():
        lower, upper = np.quantile(fc.idata.posterior[name].to_numpy(), [0.025, 0.975])
        assert lower < high and low < upper, (name, (lower, upper), (low, high))


@pytest.mark.slow  # a statistical check of the posterior, 15 s: run with pytest -m slow
def test_student_t_likelihood_shrugs_off_outlying_runs():
    """Two runs 10% off the law: the Student-t fit still recovers the truth; the normal one is pulled."""
    runs = isoflop_ladder("chinchilla", seed=0)
    runs.loc[[2, 9], "loss"] *= 1.10
    fits = {
        likelihood: bs.forecast(runs, target=TARGET, law="chinchilla", likelihood=likelihood, seed=0, **{"draws": 500, "tune": 500, "progress": False})
        for likelihood in ("normal", "student_t")
    }
    assert fits["student_t"].settings["options"]["likelihood"] == "student_t"
    robust = fits["student_t"].idata.posterior
    for name in ("E", "alpha", "beta"):
        lower, upper = np.quantile(robust[name].to_numpy(), [0.005, 0.995])
        assert lower < CHINCHILLA_TRUTH[name] < upper, (name, lower, upper)
    # the outliers inflate the normal fit's noise far more than the Student-t scale
    sigma = {k: float(np.median(fc.idata.posterior["sigma"])) for k, fc in fits.items()}
    assert sigma["normal"] > 2 * sigma["student_t"], sigma
    with pytest.raises(ValueError, match="likelihood must be one of"):
        bs.forecast(runs, target=TARGET, law="chinchilla", likelihood="cauchy")


def test_report_states_the_chinchilla_formula_and_assumption(synthetic_fit, tmp_path):
    _, fc = synthetic_fit
    text = fc.report(tmp_path / "review.md", self_backtest=False).read_text()  # the refits are not the subject
    assert "Fitted the 'chinchilla' law (L(N, D) = E + A/N^α + B/D^β)" in text
    assert "The law assumes that the loss is an irreducible constant plus a power law in parameters" in text


def test_extrapolation_error_widens_the_far_forecast_and_keeps_loo(synthetic_fit):
    """Opt-in as in the loss law: a deviation in log compute, integrated out; the far interval widens
    around the truth, the sampler stays clean, and its closed-form LOO terms feed bs.compare."""
    from bayes_scaling.laws import extrapolation

    runs, plain = synthetic_fit
    fc = bs.forecast(runs, target=TARGET, law="chinchilla", seed=0, progress=False, extrapolation_error="auto")
    assert fc.ok, fc.diagnostics.problems()
    assert extrapolation.SCALE in fc.idata.posterior and extrapolation.SCALE not in plain.idata.posterior
    widths = [np.diff(f.interval(0.9, kind="mean")).item() for f in (plain, fc)]
    assert widths[1] > widths[0], widths
    lower, upper = fc.interval(0.99, kind="mean")
    assert lower < true_mean("chinchilla", TARGET["params"][0], TARGET["tokens"][0]) < upper
    assert fc.idata.log_likelihood["log_loss_obs"].shape[-1] == len(runs)  # one LOO term per run, not per rotated value
    table = bs.compare({"plain": plain, "extrapolation error": fc})
    assert set(table.index) == {"plain", "extrapolation error"}


def test_extrapolation_error_refuses_student_t_noise_before_sampling():
    runs = isoflop_ladder("chinchilla", seed=0)
    with pytest.raises(ValueError, match="needs likelihood='normal'"):
        bs.forecast(runs, target=TARGET, law="chinchilla", likelihood="student_t", extrapolation_error="auto", progress=False)

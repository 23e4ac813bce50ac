"""The two-step capability law: recovery of a known curve, outputs, options, bad input."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from pymc_extras.prior import Prior

import bayes_scaling as bs
from bayes_scaling.datasets import CAPABILITY_TRUTH, make_example_capability_runs, true_capability

ITEMS = 2000
TARGET = 1e22
DEFAULTS = {"seed": 0, "progress": False}  # default draws: a test fit must pass the health checks too

# the module's fit is the NUTS run tests/test_trend_reversal.py's rising ladder makes (the same runs,
# options and seed), and the CLI test's forecast repeats it: whichever comes first samples it (conftest.py)
pytestmark = pytest.mark.usefixtures("reused_fits")


def fit(table, **options):
    settings = {"items": ITEMS, "floor": CAPABILITY_TRUTH["floor"], **DEFAULTS, **options}
    return bs.forecast(table, target=TARGET, law="two_step", **settings)


@pytest.fixture(scope="module")
def runs():
    return make_example_capability_runs(seed=0, items=ITEMS)


@pytest.fixture(scope="module")
def fc(runs):
    return fit(runs)


def test_recovers_the_true_curves_within_the_posterior(fc, runs):
    """The true mean task loss and accuracy, inside the fitted range and at a 10× target,
    lie within the 99% interval of the mean curve; and the posterior is not vacuous."""
    truth = true_capability([TARGET])
    for quantity in ("task_loss", "accuracy"):
        lower, upper = fc.interval(0.99, kind="mean", quantity=quantity)
        assert lower < truth[quantity][0] < upper, (quantity, lower, upper, truth[quantity][0])
    lower, upper = fc.interval(0.9, kind="mean", quantity="accuracy")
    assert upper - lower < 0.2  # the data say something at 10× the largest run
    # the sigmoid itself: the fitted curve through the data's task losses matches the truth
    accuracy_ref = fc.idata.posterior["accuracy_ref"].to_numpy().ravel()
    loss_ref = fc.settings["options"]["task_loss_ref"]
    t = CAPABILITY_TRUTH
    true_ref = t["floor"] + (t["ceiling"] - t["floor"]) / (1 + np.exp(t["steepness"] * (loss_ref - t["loss_mid"])))
    assert np.quantile(accuracy_ref, 0.005) < true_ref < np.quantile(accuracy_ref, 0.995)


def test_sampler_is_healthy(fc):
    assert fc.diagnostics.divergences == 0
    assert fc.diagnostics.ok, fc.diagnostics  # the package's own thresholds: r_hat <= 1.01, ESS >= 400


def test_outputs_are_probabilities_and_predictive_is_wider(fc):
    assert fc.quantities == ["accuracy", "task_loss"]
    for kind in ("predictive", "mean"):
        draws = fc.draws(kind)
        assert ((draws >= 0) & (draws <= 1)).all()
        assert (fc.draws(kind, "task_loss") > 0).all()
    assert np.ptp(fc.interval(0.9)) > np.ptp(fc.interval(0.9, kind="mean"))
    frame = fc.to_frame(quantity="task_loss")
    assert list(frame.columns) == ["compute", "mean", "median", "lower_50", "upper_50", "lower_90", "upper_90", "extrapolation_distance"]
    assert fc.runs.columns[:4].tolist() == ["run", "compute", "accuracy", "task_loss"]


def test_step_one_uncertainty_flows_into_accuracy(fc):
    """Per draw, a new run's accuracy follows its task loss: lower loss, higher accuracy."""
    accuracy, task_loss = fc.draws("predictive", "accuracy")[:, 0], fc.draws("predictive", "task_loss")[:, 0]
    assert np.corrcoef(accuracy, task_loss)[0, 1] < -0.3


def test_the_task_loss_model_carries_the_extrapolation_error_when_asked(runs):
    """The option reaches step one's model (its scale, sampled) and stays out of it otherwise; the
    statistical check of what it does to the intervals is the slow test below."""
    from bayes_scaling.laws import extrapolation, get_law

    law = get_law("two_step")
    table = law.load(runs)
    options = {"items": ITEMS, "floor": CAPABILITY_TRUTH["floor"]}
    with_error = law.build_model(law.prepare(table, extrapolation_error="auto", **options), {})
    plain = law.build_model(law.prepare(table, **options), {})
    assert extrapolation.SCALE in with_error.named_vars and extrapolation.SCALE not in plain.named_vars
    assert law.tune_for(law.prepare(table, extrapolation_error="auto", **options).options) > law.tune_for(law.prepare(table, **options).options)


@pytest.mark.slow  # a statistical check of the posterior: one fit with 3,000 tuning steps, ~14 s (the model test above stays in the default run)
def test_the_task_loss_takes_the_extrapolation_error(fc, runs):
    """Step one is the loss law, so it takes its option: the mean task loss's interval widens around
    the truth, the accuracy's with it, the sampler stays clean, and the task loss's LOO terms are
    the closed-form ones per run beside the accuracy's."""
    from bayes_scaling.laws import extrapolation

    with_error = fit(runs, extrapolation_error="auto")
    assert with_error.ok, with_error.diagnostics.problems()
    assert extrapolation.SCALE in with_error.idata.posterior and extrapolation.SCALE not in fc.idata.posterior
    truth = true_capability([TARGET])
    for quantity in ("task_loss", "accuracy"):
        plain, wider = (np.ptp(f.interval(0.9, kind="mean", quantity=quantity)) for f in (fc, with_error))
        assert wider > plain, (quantity, plain, wider)
        lower, upper = with_error.interval(0.99, kind="mean", quantity=quantity)
        assert lower < truth[quantity][0] < upper
    terms = with_error.idata.log_likelihood
    assert set(terms.data_vars) == {"log_task_loss_obs", "accuracy_obs"}
    assert terms["log_task_loss_obs"].shape[-1] == terms["accuracy_obs"].shape[-1] == len(runs)


def test_save_and_load_answer_the_same(fc, tmp_path):
    loaded = bs.load_forecast(fc.save(tmp_path / "fc.nc"))
    pd.testing.assert_frame_equal(loaded.to_frame(), fc.to_frame())
    pd.testing.assert_frame_equal(loaded.trend_reversal, fc.trend_reversal)


def test_prior_override_is_used_and_checked(runs, prior_draws):
    tight = Prior("Beta", alpha=50.0, beta=2.0)
    fc = fit(runs, prior={"headroom": tight})
    assert fc.settings["priors"]["headroom"] == repr(tight)
    # the draws are the prior's: the override reached the model (Beta(50, 2) has mean 0.962, sd 0.026)
    headroom = fc.idata.posterior["headroom"].to_numpy()
    assert abs(headroom.mean() - 50 / 52) < 0.005
    with pytest.raises(ValueError, match="headroom.*outside"):
        fit(runs, prior={"headroom": Prior("Normal", mu=0.5, sigma=1)})


def test_without_items_a_beta_likelihood_is_used(runs):
    fc = fit(runs, items=None)
    assert fc.settings["options"]["items"] is None
    lower, upper = fc.interval(0.99, kind="mean")
    assert lower < true_capability([TARGET])["accuracy"][0] < upper


@pytest.mark.parametrize(
    "change, options, error, match",
    [
        ({"accuracy": 71.5}, {}, bs.DataError, r"column 'accuracy', row 2 \(run 'model2'\).*71.5.*\[0, 1\]"),
        ({"task_loss": -1.0}, {}, bs.DataError, r"column 'task_loss', row 2.*must be > 0"),
        ({"accuracy": 0.12345}, {}, bs.DataError, r"column 'accuracy', row 2.*not a whole number of items"),
        ({"accuracy": 0.0}, {"items": None}, bs.DataError, r"row 2.*exactly 0 or 1.*items="),
        ({}, {"floor": 1.0}, ValueError, r"floor .* must lie in \[0, 1\)"),
        ({}, {"items": 2.5}, ValueError, r"items .* positive integer"),
        ({}, {"items": "many"}, ValueError, r"items .* positive integer.*many"),
        ({}, {"floor": "chance"}, ValueError, r"floor .* must lie in"),
    ],
)
def test_bad_input_is_named(runs, change, options, error, match):
    table = runs.copy()
    for column, value in change.items():
        table.loc[2, column] = value
    with pytest.raises(error, match=match):
        fit(table, **options)


def test_missing_column_is_named(runs):
    with pytest.raises(bs.DataError, match="missing required column 'task_loss'"):
        fit(runs.drop(columns="task_loss"))


def test_report_names_the_law_and_the_trend_check(fc, tmp_path):
    text = fc.report(tmp_path / "review.md", self_backtest=False).read_text(encoding="utf-8")
    assert "two_step" in text and "sigmoid" in text
    assert "Trend-reversal check: no sign that the fitted runs fall with compute" in text


def test_cli_fits_the_two_step_law(runs, tmp_path, capsys):
    """The command fits the law it is named and refuses a bad floor. The module's runs, options and
    seed, so its NUTS run is the module fit's (reused_fits); what is printed, not the verdict, whose
    refit would be one more fit of a new shape."""
    from bayes_scaling import cli
    path = tmp_path / "accuracy.csv"
    runs.to_csv(path, index=False)
    args = ["forecast", str(path), "--law", "two_step", "--target", "1e22", "--items", str(ITEMS), "--floor", "0.25"]
    code = cli.main(args + ["--seed", "0", "--no-progress", "--no-self-backtest"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "two_step law fitted on 8 runs" in out and "accuracy" in out
    assert cli.main(args[:-2] + ["--floor", "1.5", "--no-progress"]) == 2
    assert capsys.readouterr().err.startswith("error: floor")


@pytest.mark.slow
def test_mean_curve_intervals_cover_the_truth_across_seeds():
    """Ten synthetic ladders, default sampler: the 90% interval of the mean accuracy at 10× the
    largest run holds the true value in at least 7 (P(≤ 6 of 10) = 1.3% at 90% coverage)."""
    truth = true_capability([TARGET])["accuracy"][0]
    covered = 0
    for seed in range(10):
        table = make_example_capability_runs(seed=seed, items=ITEMS)
        fc = fit(table, draws=1000, tune=1000, seed=seed)
        assert fc.diagnostics.divergences == 0
        lower, upper = fc.interval(0.9, kind="mean")
        covered += lower < truth < upper
    assert covered >= 7

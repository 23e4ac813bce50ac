"""bs.compare_recipes: recipes fitted jointly (curve shapes pooled) or apart, answers from draws paired by index."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayes_scaling as bs
from bayes_scaling.datasets import make_example_runs

# P(better) and the spread of a difference are estimated from draws whose effective sample size
# the default health check holds at >= 400: 3 standard errors of a share near 0.5 and of a
# standard deviation's ratio at that size.
MIN_ESS = 400
SHARE_TOLERANCE = 3 * np.sqrt(0.25 / MIN_ESS)
SPREAD_TOLERANCE = 3 / np.sqrt(2 * MIN_ESS)
pytestmark = pytest.mark.usefixtures("reused_fits")  # the command-line test repeats the fixture's fits


@pytest.fixture(scope="module")
def identical():
    """One ladder under two recipe names, fitted apart: neither recipe is better."""
    runs = make_example_runs(0)
    table = pd.concat([runs.assign(family="a"), runs.assign(family="b")], ignore_index=True)
    return bs.compare_recipes(table, target=[1e20], pooled=False, seed=3, progress=False)


@pytest.fixture(scope="module")
def identical_pooled():
    """The same two recipes fitted jointly (the loss law's default)."""
    runs = make_example_runs(0)
    table = pd.concat([runs.assign(family="a"), runs.assign(family="b")], ignore_index=True)
    return bs.compare_recipes(table, target=[1e20], seed=3, progress=False)


@pytest.fixture(scope="module")
def crossing():
    """A steeper recipe that starts worse and overtakes a flatter one at C = 3.0e18, inside the ladder."""
    compute = np.geomspace(1e17, 1e20, 9)
    x = compute / 1e17
    rng = np.random.default_rng(5)
    steep = (1.8 + 3 * x**-0.25) * np.exp(0.005 * rng.standard_normal(9))
    flat = (2.474 + 2 * x**-0.35) * np.exp(0.005 * rng.standard_normal(9))
    table = pd.concat(
        [pd.DataFrame({"compute": compute, "loss": flat, "family": "flat"}), pd.DataFrame({"compute": compute, "loss": steep, "family": "steep"})],
        ignore_index=True,
    )
    return bs.compare_recipes(table, target=[1e21], seed=3, progress=False)


def test_identical_ladders_are_a_coin_flip_with_independent_noise(identical):
    assert identical.ok and not identical.pooled and identical.joint is None
    assert identical.recipes == ["a", "b"]
    assert abs(identical.prob_better("a", "b").iloc[0] - 0.5) < SHARE_TOLERANCE
    # each recipe has its own seed: the difference of two new runs has sqrt(2) times one run's spread
    # (one seed for both would give identical draws and a difference of exactly zero)
    seeds = {fc.settings["seed"] for fc in identical.forecasts.values()}
    assert len(seeds) == 2
    spread = identical.difference("a", "b").std() / (np.sqrt(2) * identical.forecasts["a"].draws().std())
    assert abs(spread - 1) < SPREAD_TOLERANCE
    assert identical.prob_best().sum(axis=1).to_numpy() == pytest.approx(1.0)


def test_pooled_identical_ladders_are_a_coin_flip_with_each_recipe_its_own_run_noise(identical_pooled):
    cmp = identical_pooled
    assert cmp.ok and cmp.pooled and cmp.joint.ok
    assert abs(cmp.prob_better("a", "b").iloc[0] - 0.5) < SHARE_TOLERANCE
    # one joint posterior: every recipe's forecast records the one sampler's seed ...
    assert {fc.settings["seed"] for fc in cmp.forecasts.values()} == {3}
    assert cmp.forecasts["a"].settings["options"]["pooled_with"] == ["b"]
    # ... but a new run's noise is drawn apart for each: the standardised noises are uncorrelated
    # (one rng for both would make them identical, correlation 1). The noise draws are independent
    # given the posterior draw, so the standard error of the correlation is 1/sqrt(draws).
    noise = {}
    for name, fc in cmp.forecasts.items():
        sigma = fc.idata.posterior["sigma"].to_numpy().reshape(-1)
        noise[name] = np.log(fc.draws("predictive")[:, 0] / fc.draws("mean")[:, 0]) / sigma
    assert abs(np.corrcoef(noise["a"], noise["b"])[0, 1]) < 3 / np.sqrt(len(noise["a"]))
    grid, curves = cmp.difference_curves(kind="predictive", grid=[1e20])
    assert np.std(curves["b"]) > 0  # the grid's run noise is drawn apart too


def test_the_pooling_is_summarised_and_reported_only_where_there_was_one(identical_pooled, identical, tmp_path):
    from bayes_scaling.laws.pooled_loss import SPREAD_SCALES

    frame = identical_pooled.pooling()
    assert list(frame.index) == ["exponent_spread", "fraction_spread"]
    assert frame["prior_median"].to_dict() == SPREAD_SCALES
    draws = identical_pooled.population["exponent_spread"].reshape(-1)
    assert frame.loc["exponent_spread", "median"] == pytest.approx(np.median(draws))
    assert (frame["lower"] < frame["median"]).all() and (frame["median"] < frame["upper"]).all()
    assert identical.pooling() is None
    assert "How far the recipes' curves were pooled" in identical_pooled.report(tmp_path / "pooled.md").read_text()
    assert "How far the recipes' curves were pooled" not in identical.report(tmp_path / "apart.md").read_text()


def test_pooling_lends_a_short_ladder_the_shape_a_long_one_shows():
    """Two recipes with one curve shape: the one measured over a decade only gets a narrower
    interval at 300x its largest run when fitted jointly with the one measured over three, and both
    intervals hold the truth."""
    rng = np.random.default_rng(7)
    long_compute, short_compute = np.geomspace(1e17, 1e20, 9), np.geomspace(1e17, 1e18, 4)

    def law(compute, a):
        return 2.0 + a * (compute / 1e17) ** -0.3

    table = pd.concat([
        pd.DataFrame({"compute": long_compute, "loss": law(long_compute, 3.0) * np.exp(0.005 * rng.standard_normal(9)), "family": "long"}),
        pd.DataFrame({"compute": short_compute, "loss": law(short_compute, 3.3) * np.exp(0.005 * rng.standard_normal(4)), "family": "short"}),
    ], ignore_index=True)
    widths = {}
    for pooled in (True, False):
        cmp = bs.compare_recipes(table, target=[3e20], pooled=pooled, seed=0, progress=False)
        assert cmp.ok
        lower, upper = cmp.forecasts["short"].interval(0.9, kind="mean")
        assert lower < law(3e20, 3.3) < upper
        widths[pooled] = upper - lower
    # a 90% interval's width at ESS >= 400 has a Monte Carlo error of about 5% (its end points are
    # 5% quantiles, each known to ~0.1 sd): 0.8 lies 4 such errors below no narrowing at all (measured: 0.53)
    assert widths[True] < 0.8 * widths[False], widths


def test_pooling_is_chosen_for_the_loss_law_and_refused_where_the_joint_model_cannot_follow():
    from bayes_scaling.evaluation.recipes import _pooling
    from bayes_scaling.laws import get_law
    from pymc_extras.prior import Prior

    loss, pass_rate = get_law("loss"), get_law("pass_rate")
    assert _pooling(loss, None, {"draws": 500, "tune": None, "extrapolation_error": False})
    assert not _pooling(loss, None, {"prior": {"sigma": Prior("HalfNormal", sigma=0.01)}})  # the joint model has its own priors
    assert not _pooling(loss, None, {"extrapolation_error": "auto"})
    assert not _pooling(pass_rate, None, {})
    assert not _pooling(loss, False, {})
    runs = make_example_runs(0)
    table = pd.concat([runs.assign(family="a"), runs.assign(family="b")], ignore_index=True)
    with pytest.raises(ValueError, match="pooled=True: the joint model of the recipes does not take \\['extrapolation_error'\\]"):
        bs.compare_recipes(table, target=1e20, pooled=True, extrapolation_error="auto", seed=0)
    with pytest.raises(ValueError, match="pooled=True: only the 'loss' law has a joint model"):
        bs.compare_recipes(bs.example_pass_counts().assign(family="a"), target=1e22, law="pass_rate", pooled=True, seed=0)


def test_a_recipe_five_percent_lower_at_every_rung_is_called_better():
    runs = make_example_runs(0)
    lower = make_example_runs(1).assign(loss=lambda t: t["loss"] * 0.95)
    table = pd.concat([runs.assign(family="old"), lower.assign(family="new")], ignore_index=True)
    comparison = bs.compare_recipes(table, target=[1e20], seed=3, progress=False)
    assert comparison.ok
    assert comparison.prob_better("new", "old", kind="mean").iloc[0] > 0.95
    frame = comparison.to_frame(reference="old")
    assert list(frame["recipe"]) == ["new"]
    assert frame["upper"].iloc[0] < 0  # the 90% interval of new - old lies below zero
    # a margin larger than the gap itself is unlikely
    gap = float(-np.median(comparison.difference("new", "old", kind="mean")))
    assert comparison.prob_better("new", "old", by=2 * gap, kind="mean").iloc[0] < 0.5


def test_the_crossing_is_found_where_the_steeper_recipe_overtakes(crossing):
    assert crossing.ok
    found = crossing.crossings(reference="flat")
    assert len(found) == 1, found
    assert 3.0e18 / 1.5 < found["compute"].iloc[0] < 3.0e18 * 1.5
    assert bool(found["better_above"].iloc[0])
    assert crossing.prob_better("steep", "flat", kind="mean").iloc[0] > 0.95


def test_the_plot_draws_one_band_per_recipe_and_marks_the_crossing(crossing, tmp_path):
    path = tmp_path / "recipes.png"
    fig = crossing.plot(path, reference="flat")
    assert path.stat().st_size > 10_000
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")] == ["steep (median, 50% and 90% bands)"]
    markers = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert len(markers) == 1 and markers[0].get_xdata()[0] == pytest.approx(crossing.crossings("flat")["compute"].iloc[0])


def test_bad_tables_and_arguments_are_refused_by_name(identical):
    runs = make_example_runs(0)
    with pytest.raises(bs.DataError, match="no 'family' column"):
        bs.compare_recipes(runs, target=1e20, seed=0)
    with pytest.raises(bs.DataError, match="names one recipe"):
        bs.compare_recipes(runs.assign(family="a"), target=1e20, seed=0)
    short = pd.concat([runs.assign(family="a"), runs.head(2).assign(family="b")], ignore_index=True)
    with pytest.raises(bs.DataError, match="recipe 'b'.*2 rows"):
        bs.compare_recipes(short, target=1e20, seed=0)
    with pytest.raises(ValueError, match="recipe must be one of \\['a', 'b'\\], got 'c'"):
        identical.prob_better("a", "c")
    with pytest.raises(ValueError, match="by must be a finite margin"):
        identical.prob_better("a", "b", by=-0.1)
    with pytest.raises(ValueError, match="kind must be one of"):
        identical.prob_best(kind="median")


def test_run_names_may_repeat_across_recipes_but_not_within_one():
    runs = make_example_runs(0)
    table = bs.load_runs(pd.concat([runs.assign(family="a"), runs.assign(family="b")], ignore_index=True))
    assert len(table) == 2 * len(runs)
    twice = pd.concat([runs.assign(family="a"), runs.head(1).assign(family="a")], ignore_index=True)
    with pytest.raises(bs.DataError, match="duplicate run name 'rung0' in family 'a' \\(already used by row 0\\)"):
        bs.load_runs(twice)


def test_the_report_leads_with_p_best_and_shows_the_margin_asked_for(crossing, tmp_path):
    page = crossing.report(tmp_path / "recipes.html", reference="flat", by=0.05).read_text()
    best = crossing.prob_best()
    assert "<h2>P(each recipe is the best), one new run of each</h2>" in page
    assert page.index("P(each recipe is the best)") < page.index("Each recipe against flat")
    assert "P(better by ≥ 0.05)" in page and 'src="data:image/png;base64,' in page
    assert f"steep crosses flat at {crossing.crossings('flat')['compute'].iloc[0]:.3g} FLOPs and is the better one above it." in page
    for fc in crossing.forecasts.values():
        assert f"seed {fc.settings['seed']}, data sha256 {fc.settings['data_sha256']}" in page
    assert best["steep"].iloc[0] > 0.95  # the table's headline: the steeper recipe is best at 1e21
    markdown = crossing.report(tmp_path / "recipes.md")
    assert "![each recipe minus flat" in markdown.read_text() and (tmp_path / "recipes_differences.png").stat().st_size > 10_000
    with pytest.raises(ValueError, match="must end in .html or .md"):
        crossing.report(tmp_path / "recipes.pdf")


def test_the_command_line_prints_and_writes_what_the_api_answers(identical, tmp_path, capsys):
    from bayes_scaling.cli import main

    runs = make_example_runs(0)
    pd.concat([runs.assign(family="a"), runs.assign(family="b")], ignore_index=True).to_csv(tmp_path / "recipes.csv", index=False)
    out = tmp_path / "comparison.csv"
    status = main(["compare-recipes", str(tmp_path / "recipes.csv"), "--target", "1e20", "--seed", "3", "--by", "0.01", "--apart", "--no-progress", "--out", str(out)])
    assert status == 0
    table = pd.read_csv(out)
    assert list(table["recipe"]) == ["b"] and list(table["reference"]) == ["a"]
    assert table["prob_better"].iloc[0] == pytest.approx(identical.prob_better("b", "a").iloc[0])
    assert table["prob_better_by_0.01"].iloc[0] == pytest.approx(identical.prob_better("b", "a", by=0.01).iloc[0])
    assert "RecipeComparison of 2 recipes (loss law, fitted apart, seed 3; sampler ok)" in capsys.readouterr().out
    assert main(["compare-recipes", str(tmp_path / "recipes.csv"), "--target", "1e20", "--recipe", "optimiser"]) == 2
    assert "error: no 'optimiser' column naming each run's recipe" in capsys.readouterr().err


def test_forecasting_several_recipes_as_one_ladder_says_so():
    runs = make_example_runs(0)
    table = pd.concat([runs.assign(family="a"), runs.assign(family="b")], ignore_index=True)
    # the warning comes as the table is read, before anything is fitted: a bad target then stops the fit
    with pytest.warns(UserWarning, match="column 'family' names 2 recipes \\('a', 'b'\\); this forecast fits one curve"):
        with pytest.raises(bs.DataError):
            bs.forecast(table, target=-1.0, seed=0, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        with pytest.raises(bs.DataError):  # one recipe: no warning
            bs.forecast(runs.assign(family="a"), target=-1.0, seed=0, progress=False)

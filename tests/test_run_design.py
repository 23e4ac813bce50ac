"""bs.suggest_runs: the reweighting behind it, what it ranks, its plan within a budget, its errors."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import bayes_scaling as bs
from bayes_scaling.laws import run_noise
from bayes_scaling.planning import preposterior
from tests.synthetic_ladders import isoflop_ladder

pytestmark = pytest.mark.usefixtures("reused_fits")  # the ladders' fits are other modules' too

MIDDLE, LARGE = 1e18, 3e20  # a run inside the example ladder (3e16-3e19), and one 10x past it


@pytest.fixture(scope="module")
def example():
    return bs.forecast(bs.example_runs(), target=[1e21, 1e22], seed=0, progress=False)


CANDIDATES = [MIDDLE, 3e19, 1e20, LARGE]


@pytest.fixture(scope="module", params=["linear", "reweight"])
def suggestion(example, request):
    return bs.suggest_runs(example, budget=4e20, candidates=CANDIDATES, method=request.param)


def test_run_density_orders_draws_as_the_likelihood_does():
    """Only differences between draws matter: they must be those of the log-normal (or log-t) density."""
    rng = np.random.default_rng(0)
    sigma, mean, observed = rng.uniform(0.005, 0.05, 50), rng.uniform(2, 3, 50), np.array([2.4, 2.6])
    for nu, density in ((None, stats.norm), (3.0, stats.t(3))):
        got = run_noise.log_density({"sigma": sigma}, {}, mean, observed, nu=nu)
        want = density.logpdf((np.log(observed)[:, None] - np.log(mean)) / sigma) - np.log(sigma)
        assert got.shape == (2, 50)
        np.testing.assert_allclose(got - got[:, :1], want - want[:, :1], rtol=1e-10, atol=1e-10)
    assert run_noise.log_density({"sigma": sigma}, {"extrapolation_scale_prior": 0.5}, mean, observed) is None


def _conjugate(draws: int = 4000, worlds: int = 400):
    """θ ~ N(0, 1) and y ~ N(θ, 1): after y the posterior is N(y/2, 1/2) whatever y, so every world's
    90% interval of θ is 2·1.645·sqrt(1/2) wide."""
    rng = np.random.default_rng(1)
    theta = rng.standard_normal(draws)
    y = theta[rng.integers(draws, size=worlds)] + rng.standard_normal(worlds)
    return rng, theta, y, 2 * stats.norm.ppf(0.95) * np.sqrt(0.5)


def _quantile_width_se(effective: float) -> float:
    """Standard error of a 90% width of N(0, 1/2) estimated from ``effective`` draws: sqrt(p(1-p)/n)
    over the density at each end."""
    scale = np.sqrt(0.5)
    return np.sqrt(2 * 0.05 * 0.95 / effective) / stats.norm.pdf(stats.norm.ppf(0.95) * scale, scale=scale)


def test_reweighting_gives_the_conjugate_posterior_width():
    _, theta, y, exact = _conjugate()
    log_weights = -0.5 * (y[:, None] - theta) ** 2
    update = preposterior.Reweighting(theta, lambda j: log_weights, 0.9)
    step = update.add(update.start, 0)
    weights = preposterior.truncated_weights(log_weights)
    se = _quantile_width_se(float(np.median(1 / (weights**2).sum(axis=1))))
    assert abs(step.width - exact) < 3 * se
    assert preposterior.width_now(theta, 0.9) > exact + 10 * se  # before y: sqrt(2) times wider


def test_the_linear_update_gives_the_conjugate_posterior_width():
    """The same model seen by the linear update: T = 100 + θ (log T is linear in θ to 1%), Y = T + noise."""
    rng, theta, _, exact = _conjugate()
    update = preposterior.LinearUpdate(100 + theta, (100 + theta + rng.standard_normal(len(theta)))[:, None], 0.9)
    step = update.add(update.start, 0)
    # the width today from 4,000 draws, and the correlation's error (se of rho^2 ~ 2·rho·(1 - rho^2)/sqrt(S))
    se = np.hypot(_quantile_width_se(len(theta) / 2), exact * 0.5 / np.sqrt(len(theta)))
    assert abs(step.width - exact) < 3 * se and step.clear
    assert step.state == (0,) and np.isnan(step.gain_se)


def test_a_run_past_the_ladder_narrows_more_than_one_inside_it(example, suggestion):
    table = suggestion.candidates.set_index("compute")
    lower, upper = example.interval(0.9)  # at 1e21 and 1e22; the default target is the largest
    assert suggestion.width_now == pytest.approx(upper[1] - lower[1], rel=0.05)  # from 2,000 of the 4,000 draws
    margin = 3 * np.hypot(table.loc[LARGE, "shrinkage_se"], table.loc[MIDDLE, "shrinkage_se"]) if suggestion.method == "reweight" else 0.0
    assert table.loc[LARGE, "shrinkage"] > table.loc[MIDDLE, "shrinkage"] + margin
    assert table.loc[LARGE, "clear"] and table.loc[LARGE, "width_after"] < suggestion.width_now
    np.testing.assert_allclose(table["shrinkage"], suggestion.width_now - table["width_after"])
    np.testing.assert_allclose(table["shrinkage_per_eflop"], table["shrinkage"] / (table.index / 1e18))
    if suggestion.method == "reweight":
        assert (table["pareto_k"] < preposterior.UNRELIABLE_K).all()
        assert (table["clear"] == (table["shrinkage"] > 2 * table["shrinkage_se"])).all()
    else:
        assert table["pareto_k"].isna().all() and table["shrinkage_se"].isna().all()
    clear = suggestion.candidates["clear"].to_numpy()
    assert not (~clear[:-1] & clear[1:]).any()  # clear narrowings rank first


def test_the_two_updates_agree(example):
    """Two estimators of one quantity by different routes: the linear update (no simulation) and the
    reweighting (simulated outcomes) give each candidate's width within 5% of today's width."""
    linear, reweighted = (
        bs.suggest_runs(example, budget=4e20, candidates=CANDIDATES, method=method)
        for method in ("linear", "reweight")
    )
    a, b = (s.candidates.set_index("candidate").sort_index()["width_after"] for s in (linear, reweighted))
    assert (np.abs(a - b) < 0.05 * linear.width_now).all()
    assert b.iloc[-1] < 0.7 * linear.width_now  # not vacuous: the large run narrows by more than 30%


def test_the_plan_stays_within_budget_and_narrows_at_every_step(suggestion):
    plan = suggestion.plan
    assert len(plan) >= 1 and plan["spent"].iloc[-1] <= suggestion.budget
    np.testing.assert_allclose(plan["spent"], np.cumsum(plan["compute"]))
    assert (np.diff(np.r_[suggestion.width_now, plan["width_after"]]) < 0).all()
    if suggestion.method == "reweight":
        assert (plan["shrinkage"] > 2 * plan["shrinkage_se"]).all()
    assert plan["candidate"].is_unique and plan.attrs["rule"] in ("per_flop", "narrowing")
    assert f"{len(plan)} run(s)" in repr(suggestion)


def test_a_tight_budget_buys_only_what_it_can(example):
    tight = bs.suggest_runs(example, budget=2e19, candidates=[MIDDLE, LARGE])
    assert list(tight.plan["compute"]) in ([], [MIDDLE])
    assert tight.candidates.set_index("compute").loc[LARGE, "affordable"] == False  # noqa: E712


def test_the_same_forecast_gives_the_same_suggestions(example, suggestion):
    again = bs.suggest_runs(example, budget=4e20, candidates=CANDIDATES, method=suggestion.method)
    pd.testing.assert_frame_equal(again.candidates, suggestion.candidates)
    other = bs.suggest_runs(example, budget=4e20, candidates=CANDIDATES, method=suggestion.method, seed=1)
    assert not np.allclose(other.candidates.sort_values("compute")["width_after"], suggestion.candidates.sort_values("compute")["width_after"])


def test_default_candidates_span_the_ladder_to_the_budget(example):
    chosen = bs.suggest_runs(example, budget=1e20, target=1e21, kind="mean", simulations=50, max_draws=500)
    compute = np.sort(chosen.candidates["compute"])
    assert len(compute) == 12 and compute[0] == pytest.approx(example.runs["compute"].min()) and compute[-1] == pytest.approx(1e20)
    assert chosen.target == 1e21 and chosen.kind == "mean"


def test_chinchilla_candidates_are_params_and_tokens():
    runs = isoflop_ladder("chinchilla", seed=0)
    fc = bs.forecast(runs, target=pd.DataFrame({"params": [1e10], "tokens": [2e11]}), law="chinchilla", seed=0, progress=False)
    candidates = pd.DataFrame({"params": [1e8, 2e9], "tokens": [2e9, 4e10]})
    chosen = bs.suggest_runs(fc, budget=1e21, candidates=candidates, simulations=100, max_draws=1000)
    table = chosen.candidates.set_index("candidate").sort_index()
    np.testing.assert_allclose(table["compute"], 6 * candidates["params"] * candidates["tokens"])
    assert table.loc[1, "shrinkage"] > table.loc[0, "shrinkage"]  # 4 times the size and 20 times the tokens, near the target
    with pytest.raises(bs.DataError, match="candidates are a DataFrame with columns"):
        bs.suggest_runs(fc, budget=1e21)


def test_the_chart_numbers_the_plan(suggestion, tmp_path):
    fig = suggestion.plot(tmp_path / "design.png")
    numbers = [text.get_text() for text in fig.axes[0].texts]
    assert numbers == [str(i) for i in range(1, len(suggestion.plan) + 1)]
    assert (tmp_path / "design.png").stat().st_size > 0


@pytest.mark.parametrize(
    "change, error, message",
    [
        ({"budget": -1.0}, ValueError, "budget must be a finite number"),
        ({"budget": "lots"}, ValueError, "budget must be a number"),
        ({"prob": 1.5}, ValueError, "prob must be in"),
        ({"kind": "median"}, ValueError, "kind must be one of"),
        ({"target": 5e21}, ValueError, "not one of this forecast's targets"),
        ({"simulations": 5}, ValueError, "simulations must be"),
        ({"method": "refit"}, ValueError, "method must be one of"),
        ({"candidates": [1e19, -3.0]}, bs.DataError, r"^candidates\[1\]: value -3.0 must be > 0"),
    ],
)
def test_bad_requests_are_refused_by_name(example, change, error, message):
    with pytest.raises(error, match=message):
        bs.suggest_runs(example, **{"budget": 1e20, **change})


def test_laws_without_runs_losses_are_refused(example):
    with pytest.raises(ValueError, match="needs a Forecast .* got StackedForecast"):
        bs.suggest_runs(bs.stack({"a": example, "b": example}, weights={"a": 1.0, "b": 1.0}), budget=1e20)
    with pytest.raises(ValueError, match="'pass_rate'"):
        bs.suggest_runs(SimpleNamespace(law="pass_rate", settings={"options": {}}), budget=1e20)
    coupled = SimpleNamespace(law="loss", settings={"options": {**example.settings["options"], "extrapolation_scale_prior": 0.5}})
    with pytest.raises(ValueError, match="use method='linear'"):
        bs.suggest_runs(coupled, budget=1e20, method="reweight")


def test_with_the_extrapolation_error_runs_inside_the_ladder_narrow_less(example):
    """The law's deviation at the target is drawn with the candidates': runs inside the ladder measure
    the curve there, not how far the law is off at 1e22, so they remove a smaller share of the width."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.IdentifiabilityWarning)
        bent = bs.forecast(bs.example_runs(), target=[1e21, 1e22], seed=0, progress=False, extrapolation_error="auto")
    coupled = bs.suggest_runs(bent, budget=4e20, candidates=CANDIDATES).candidates.set_index("compute")
    plain = bs.suggest_runs(example, budget=4e20, candidates=CANDIDATES).candidates.set_index("compute")
    assert coupled.loc[MIDDLE, "shrinkage_share"] < plain.loc[MIDDLE, "shrinkage_share"]
    assert coupled["clear"].loc[LARGE] and coupled.loc[LARGE, "width_after"] < bent.interval(0.9)[1][1] - bent.interval(0.9)[0][1]


@pytest.mark.slow
def test_reweighting_agrees_with_refits(example):
    """The expected width after a run at 3e20 against refits with outcomes drawn from the predictive.
    Tolerance: 3 standard errors of the difference (the refits' spread over outcomes, and the
    reweighting's own)."""
    from bayes_scaling.laws import get_law

    law, runs = get_law("loss"), example.runs[["compute", "loss"]]
    chosen = bs.suggest_runs(example, budget=LARGE, candidates=[LARGE], target=1e22, method="reweight").candidates.iloc[0]
    rng = np.random.default_rng(7)
    posterior = {name: example.idata.posterior[name].to_numpy().reshape(-1) for name in ("loss_ref", "reducible_fraction", "b", "sigma")}
    widths = []
    for _ in range(16):
        index = rng.integers(len(posterior["sigma"]))  # one draw: every parameter from it
        draw = {name: values[[index]] for name, values in posterior.items()}
        outcome = law.predict(draw, example.idata.constant_data, example.settings["options"], np.array([LARGE]), rng)["loss"].item()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bs.ExtrapolationWarning)
            refit = bs.forecast(pd.concat([runs, pd.DataFrame({"compute": [LARGE], "loss": [outcome]})]), target=1e22,
                                seed=int(rng.integers(2**31)), progress=False)
        assert refit.ok
        lower, upper = refit.interval(0.9)
        widths.append(upper - lower)
    se = np.hypot(np.std(widths, ddof=1) / np.sqrt(len(widths)), chosen["shrinkage_se"])
    assert abs(np.mean(widths) - chosen["width_after"]) < 3 * se


def test_the_command_line_prints_and_writes_what_the_api_answers(example, tmp_path, capsys):
    from bayes_scaling.cli import main

    example.save(tmp_path / "fc.nc")
    out, chart = tmp_path / "candidates.csv", tmp_path / "design.png"
    argv = ["suggest-runs", str(tmp_path / "fc.nc"), "--budget", "4e20", "--max-runs", "2", "--out", str(out), "--plot", str(chart)]
    assert main(argv + [arg for c in CANDIDATES for arg in ("--candidate", f"{c:g}")]) == 0
    api = bs.suggest_runs(example, budget=4e20, candidates=CANDIDATES, max_runs=2)
    written = pd.read_csv(out)
    np.testing.assert_allclose(written["width_after"], api.candidates["width_after"])
    assert repr(api) in capsys.readouterr().out and chart.stat().st_size > 0
    assert len(api.plan) <= 2
    (tmp_path / "sizes.csv").write_text("params,tokens\n1e8,2e9\n")
    assert main(["suggest-runs", str(tmp_path / "fc.nc"), "--budget", "4e20", "--candidates", str(tmp_path / "sizes.csv")]) == 2
    assert "error: the 'loss' law's candidates are computes" in capsys.readouterr().err

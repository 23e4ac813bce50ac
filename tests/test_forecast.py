"""forecast() and Forecast: the public surface, reproducibility, priors, persistence."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from pymc_extras.prior import Prior

import bayes_scaling as bs
from bayes_scaling.inference import nuts
from bayes_scaling.datasets import EXAMPLE_TRUTH, make_example_runs, true_example_loss
from tests.conftest import TARGETS


def test_example_ladder_is_what_the_generator_makes(example):
    made = make_example_runs(seed=0)
    np.testing.assert_allclose(example["loss"], made["loss"])
    np.testing.assert_allclose(example["compute"], made["compute"])


def test_default_forecast_is_healthy_and_covers_the_truth(example_forecast):
    d = example_forecast.diagnostics
    assert example_forecast.ok, d.problems()
    assert d.divergences == 0 and d.r_hat <= 1.01 and d.ess_bulk >= 400
    lower, upper = example_forecast.interval(0.9, kind="mean")
    truth = true_example_loss(TARGETS)
    assert np.all((lower < truth) & (truth < upper)), (lower, truth, upper)
    # the exponent's 90% posterior interval holds the true b
    b = example_forecast.idata.posterior["b"].to_numpy().ravel()
    assert np.quantile(b, 0.05) < EXAMPLE_TRUTH["b"] < np.quantile(b, 0.95)


def test_to_frame_has_fixed_columns_in_order(example_forecast):
    frame = example_forecast.to_frame()
    assert list(frame.columns) == ["compute", "mean", "median", "lower_50", "upper_50", "lower_90", "upper_90", "extrapolation_distance"]
    np.testing.assert_allclose(frame["compute"], TARGETS)
    # how far past the ladder each row reaches: the example ladder's largest run is 3e19
    np.testing.assert_allclose(frame["extrapolation_distance"], np.asarray(TARGETS) / example_forecast.runs["compute"].max())
    ordered = frame[["lower_90", "lower_50", "median", "upper_50", "upper_90"]].to_numpy()
    assert np.all(np.diff(ordered, axis=1) > 0)


def test_interval_agrees_with_frame_and_mean_is_narrower(example_forecast):
    frame = example_forecast.to_frame()
    lower, upper = example_forecast.interval(0.5)
    np.testing.assert_allclose(lower, frame["lower_50"])
    np.testing.assert_allclose(upper, frame["upper_50"])
    mean_lower, mean_upper = example_forecast.interval(0.9, kind="mean")
    pred_lower, pred_upper = example_forecast.interval(0.9)
    assert np.all(mean_upper - mean_lower < pred_upper - pred_lower)


@pytest.fixture(scope="module")
def inside_target(example):
    """A forecast of one target inside the fitted range (1e18), seed 0, and the warnings it issued."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("error", bs.SamplerWarning)  # recorded, it would pass unseen
        fc = bs.forecast(example, target=1e18, seed=0, progress=False)
    return fc, caught


def test_one_target_gives_floats(inside_target):
    """A single target (here the module's one inside the data) gives floats, not arrays."""
    fc, _ = inside_target
    lower, upper = fc.interval()
    assert isinstance(lower, float) and isinstance(upper, float) and lower < upper
    assert isinstance(fc.prob_below(2.2), float)


def test_threshold_probabilities_match_the_interval(example_forecast):
    n = example_forecast.draws().shape[0]
    lower, upper = example_forecast.interval(0.9)
    np.testing.assert_allclose(example_forecast.prob_below(upper), 0.95, atol=2 / n)
    np.testing.assert_allclose(example_forecast.prob_above(lower), 0.95, atol=2 / n)
    below = example_forecast.prob_below(2.1)
    np.testing.assert_allclose(below + example_forecast.prob_above(2.1), 1.0)
    assert below[1] > below[0]  # more compute, lower loss


def test_same_seed_same_answer_other_seed_other_draws(example, example_forecast):
    again = bs.forecast(example, target=TARGETS, seed=0, progress=False)
    np.testing.assert_array_equal(again.draws(), example_forecast.draws())
    other = bs.forecast(example, target=TARGETS, seed=1, progress=False)
    assert not np.array_equal(other.draws(), example_forecast.draws())


def test_seed_none_is_drawn_and_recorded_so_the_forecast_can_be_repeated(example, example_forecast):
    fc = bs.forecast(example, target=TARGETS, progress=False)
    seed = fc.settings["seed"]
    assert seed != example_forecast.settings["seed"]  # drawn, not a fixed default (0)
    again = bs.forecast(example, target=TARGETS, seed=seed, progress=False)
    np.testing.assert_array_equal(again.draws(), fc.draws())


def test_same_shape_reuses_the_compiled_sampler(example, example_forecast):
    before = len(nuts._COMPILED)
    shifted = example.assign(loss=example["loss"] * 1.02, compute=example["compute"] * 3)
    fc = bs.forecast(shifted, target=TARGETS, seed=5, progress=False)
    assert len(nuts._COMPILED) == before
    assert fc.to_frame()["median"].iloc[0] > example_forecast.to_frame()["median"].iloc[0]


def test_settings_record_what_reproduces_the_fit(example_forecast):
    s = example_forecast.settings
    assert s["law"] == "loss" and s["seed"] == 0 and s["draws"] == 1000 and s["chains"] == 4
    assert len(s["data_sha256"]) == 64
    assert set(s["priors"]) == {"loss_ref", "local_exponent", "reducible_fraction", "sigma"}
    assert s["versions"]["pymc"].startswith("5.")


def test_save_and_load_give_identical_answers(example_forecast, tmp_path):
    path = example_forecast.save(tmp_path / "fc.nc")
    loaded = bs.load_forecast(path)
    pd.testing.assert_frame_equal(loaded.to_frame(), example_forecast.to_frame())
    np.testing.assert_array_equal(loaded.interval(0.9)[0], example_forecast.interval(0.9)[0])
    assert loaded.settings == example_forecast.settings
    assert list(loaded.runs["run"]) == list(example_forecast.runs["run"])
    assert loaded.diagnostics == example_forecast.diagnostics


def test_load_refuses_what_is_not_a_forecast(example_forecast, tmp_path):
    with pytest.raises(FileNotFoundError):
        bs.load_forecast(tmp_path / "missing.nc")
    foreign = tmp_path / "foreign.nc"
    example_forecast.idata.posterior.to_netcdf(foreign)
    with pytest.raises(ValueError, match="not a bayes_scaling forecast"):
        bs.load_forecast(foreign)


def test_plot_draws_a_fan_chart(example_forecast, tmp_path):
    import matplotlib.image

    path = tmp_path / "fan.png"
    example_forecast.plot(path=path)
    pixels = matplotlib.image.imread(path)[..., :3]
    bluish = pixels[..., 2] - pixels[..., 0] > 0.1  # the median curve and the bands
    assert bluish.mean() > 0.01


def test_bad_arguments_are_clear_errors(example_forecast, example):
    with pytest.raises(ValueError, match="kind"):
        example_forecast.interval(0.9, kind="posterior")
    with pytest.raises(ValueError, match="prob"):
        example_forecast.interval(1.5)
    with pytest.raises(ValueError, match="unknown law"):
        bs.forecast(example, target=1e21, law="chinchillaa")
    with pytest.raises(ValueError, match="seed"):
        bs.forecast(example, target=1e21, seed=-1)
    with pytest.raises(ValueError, match="draws"):
        bs.forecast(example, target=1e21, draws=0)


def test_bad_data_is_a_data_error_not_a_pymc_traceback(example):
    broken = example.copy()
    broken.loc[4, "loss"] = -3.0
    with pytest.raises(bs.DataError, match=r"loss.*row 4.*-3"):
        bs.forecast(broken, target=1e21)


def test_targets_inside_the_data_warn(inside_target):
    _, caught = inside_target
    assert any(issubclass(w.category, bs.ExtrapolationWarning) and "inside" in str(w.message) for w in caught), caught


def test_prior_override_on_b_is_honoured(example):
    tight = Prior("TruncatedNormal", mu=-0.3, sigma=0.005, upper=0)
    fc = bs.forecast(example, target=TARGETS, seed=0, progress=False, prior={"b": tight})
    b = fc.idata.posterior["b"].to_numpy()
    assert abs(b.mean() + 0.3) < 0.02  # the prior dominates the data here
    assert fc.settings["priors"]["b"].startswith('Prior("TruncatedNormal"')
    assert "local_exponent" in fc.idata.posterior


@pytest.mark.parametrize(
    ("prior", "message"),
    [
        ({"a": Prior("Normal")}, "derived"),
        ({"alpha": Prior("Normal")}, "priors can be set on"),
        ({"b": 0.2}, "must be a pymc_extras.prior.Prior"),
        ({"b": Prior("Normal", mu=-0.2, sigma=0.2)}, "outside"),
        ({"reducible_fraction": Prior("Normal", mu=0.5, sigma=0.3)}, "outside"),
        ({"b": Prior("TruncatedNormal", mu=-0.2, sigma=0.1, upper=0), "local_exponent": Prior("HalfNormal")}, "not both"),
        ([1, 2], "dict"),
    ],
)
def test_bad_priors_are_refused_with_the_reason(example, prior, message):
    with pytest.raises(ValueError, match=message):
        bs.forecast(example, target=1e21, prior=prior)


def test_failing_diagnostics_warn_and_say_what_to_do(example):
    with pytest.warns(bs.SamplerWarning, match="run more"):
        fc = bs.forecast(example, target=1e21, draws=30, tune=30, seed=0, progress=False)
    assert not fc.ok
    assert fc.diagnostics.problems()


def test_compiled_sampler_agrees_with_pm_sample(example, example_forecast):
    """Our cached NUTS runner and pm.sample(nuts_sampler="numpyro") sample one posterior."""
    import arviz as az

    from bayes_scaling.laws import loss

    model = loss.build_model(loss.prepare(example), {})
    settings = nuts.SamplerSettings(target_accept=loss.TARGET_ACCEPT, seed=11, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = nuts.sample_with_pymc(model, settings)
    names = ["loss_ref", "local_exponent", "reducible_fraction", "sigma", "c"]
    ours = az.summary(example_forecast.idata, var_names=names, round_to="none")
    theirs = az.summary(reference, var_names=names, round_to="none")
    tolerance = 4 * np.hypot(ours["mcse_mean"], theirs["mcse_mean"])
    assert np.all(np.abs(ours["mean"] - theirs["mean"]) < tolerance), (ours["mean"], theirs["mean"], tolerance)
    np.testing.assert_allclose(ours["sd"], theirs["sd"], rtol=0.15)


def test_every_law_is_consistent_with_itself():
    """What generic code relies on: each law's names agree with its own parameters, priors and prepare."""
    import inspect

    from bayes_scaling.laws import LAWS
    from bayes_scaling.laws.law import Law

    assert list(LAWS) == ["loss", "pass_rate", "two_step", "chinchilla", "broken_loss"]
    for name, law in LAWS.items():
        assert isinstance(law, Law) and law.name == name
        assert set(law.parameters) <= set(law.diagnosed), name
        assert set(law.prior_names) <= set(law.parameters) | set(law.derived), name
        assert set(law.prior_names) <= set(law.support), name  # every prior's support is checked
        defaulted = set(law.prior_names) - set(law.prior_alternatives)  # an alternative has no default prior
        assert defaulted <= set(law.default_priors), (name, defaulted - set(law.default_priors))
        taken = inspect.signature(law.prepare).parameters
        assert all(option.option in taken for option in law.cli_options), name  # each flag reaches prepare
        assert set(law.target_help) <= set(law.target_columns), name
        assert law.formula and law.assumption, name  # the report names both


def test_each_default_prior_is_the_prior_its_text_shows():
    """A report prints ``shown``; the model samples ``prior``: they are written side by side and must agree."""
    from pymc_extras.prior import Prior

    from bayes_scaling.laws import LAWS
    from bayes_scaling.laws.chinchilla import SPLIT_PRIOR

    checked = 0
    for name, law in LAWS.items():
        for parameter, default in law.default_priors.items():
            prior = default.prior
            if callable(prior):
                if "median observed loss" in default.shown:
                    continue  # built on the data's loss scale (a PyTensor node)
                prior = prior(None, SPLIT_PRIOR["apart"])  # chinchilla's split priors, runs apart
            if prior is None:
                # set by its option, or built into the model (the bent law's break, summed out over a grid)
                assert "extrapolation_error" in default.shown or "summed out" in default.shown, (name, parameter)
                continue
            text = default.shown.split(";")[0]  # "; one path: ..." notes another case
            assert eval(text, {"Prior": Prior, "log": np.log}) == prior, (name, parameter, text, prior)
            assert default.reason, (name, parameter)
            checked += 1
    assert checked >= 15


def test_generic_defaults_mean_the_law_has_none():
    from bayes_scaling import tables
    from bayes_scaling.laws import LAWS

    loss, pass_rate, two_step, chinchilla = (LAWS[n] for n in ("loss", "pass_rate", "two_step", "chinchilla"))
    assert loss.check_targets is tables.check_targets and chinchilla.check_targets is not tables.check_targets
    assert loss.run_performance is None and two_step.run_performance is not None
    assert loss.bucket_labels is None and pass_rate.bucket_labels is not None
    assert loss.jitter == 1.0 and pass_rate.jitter == 0.5
    assert chinchilla.log_likelihood is True and pass_rate.log_likelihood is False
    assert loss.target_columns == () and chinchilla.target_columns == ("params", "tokens")
    assert loss.structure({}) == (("extrapolation_error", False),) == two_step.structure({})
    assert dict(chinchilla.prior_alternatives) == {}
    assert loss.loo_log_likelihood is not None and pass_rate.loo_log_likelihood is None
    assert loss.per_problem_variables == () and "k_problem" in pass_rate.per_problem_variables
    assert loss.caveats({}) == [] and two_step.caveats({})
    assert loss.tune_for({"extrapolation_scale_prior": 0.0}) == 2000 < loss.tune_for({"extrapolation_scale_prior": 0.003})


def test_interval_frame_puts_the_given_columns_first(example_forecast):
    from bayes_scaling.intervals import interval_frame

    draws = example_forecast.draws()
    frame = interval_frame(draws, budget=example_forecast.targets)
    assert list(frame.columns) == ["budget", "mean", "median", "lower_50", "upper_50", "lower_90", "upper_90"]
    np.testing.assert_allclose(frame["upper_90"], np.quantile(draws, 0.95, axis=0))
    pd.testing.assert_frame_equal(frame.rename(columns={"budget": "compute"}), example_forecast.to_frame().drop(columns="extrapolation_distance"))

"""The loss law's extrapolation error: its Gaussian-process algebra, its LOO terms, its effect on
intervals, and the curvature warning it drives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayes_scaling as bs
from bayes_scaling.checks import curvature
from bayes_scaling.laws import extrapolation

# a forecast that repeats an earlier NUTS run (same data, seed and settings) gets its draws: conftest.py;
# here plain_forecast, the example ladder's default fit (example_forecast's run: the targets are not in the fit)
pytestmark = pytest.mark.usefixtures("reused_fits")


def _posterior(rng, draws=3, n=6):
    """A fake posterior of one chain: scale, sigma and the weights C⁻¹ r of random residuals."""
    x = np.sort(rng.uniform(-3, 3, n))
    s, sigma = rng.uniform(0.005, 0.03, draws), rng.uniform(0.002, 0.01, draws)
    residuals = rng.normal(0, 0.01, (draws, n))
    cov = [sigma[d] ** 2 * np.eye(n) + s[d] ** 2 * extrapolation.kernel(x[:, None], x[None, :]) for d in range(draws)]
    weights = np.stack([np.linalg.solve(cov[d], residuals[d]) for d in range(draws)])
    posterior = {extrapolation.SCALE: s[None], "sigma": sigma[None], extrapolation.WEIGHTS: weights[None]}
    return posterior, x, cov, residuals


def test_kernel_is_nil_at_c_ref_and_independent_across_sides():
    u = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    k = extrapolation.kernel(u[:, None], u[None, :])
    assert np.all(k[2] == 0) and np.all(k[:, 2] == 0)
    assert k[0, 4] == 0 and k[1, 3] == 0  # opposite sides
    assert np.allclose(np.diag(k), np.abs(u) ** 3 / 3)  # variance grows like |u|^3 / 3
    assert np.all(np.linalg.eigvalsh(k) > -1e-12)


def test_loo_terms_are_the_leave_one_out_conditionals():
    """The closed form (Bürkner et al. 2021) against conditioning the joint normal on the other runs."""
    posterior, x, cov, residuals = _posterior(np.random.default_rng(0))
    loo = extrapolation.loo_log_likelihood(posterior, x)[0]
    for d in range(len(cov)):
        for i in range(len(x)):
            rest = np.arange(len(x)) != i
            gain = np.linalg.solve(cov[d][np.ix_(rest, rest)], cov[d][rest, i])
            mean = gain @ residuals[d][rest]
            var = cov[d][i, i] - cov[d][i, rest] @ gain
            direct = -0.5 * np.log(2 * np.pi * var) - 0.5 * (residuals[d][i] - mean) ** 2 / var
            assert loo[d, i] == pytest.approx(direct, rel=1e-8)


@pytest.mark.parametrize("targets", [np.array([2.5, 4.0, 6.0]), np.linspace(-4, 8, 40)])  # joint, and per target
def test_conditional_deviation_has_the_gaussian_process_mean_and_variance(targets):
    posterior, x, cov, residuals = _posterior(np.random.default_rng(1), draws=1)
    s2 = posterior[extrapolation.SCALE][0, 0] ** 2
    cross = s2 * extrapolation.kernel(targets[:, None], x[None, :])
    mean = cross @ np.linalg.solve(cov[0], residuals[0])
    var = s2 * np.abs(targets) ** 3 / 3 - np.einsum("ij,ji->i", cross, np.linalg.solve(cov[0], cross.T))
    many = {k: np.repeat(v, 20000, axis=1) for k, v in posterior.items()}
    draws = extrapolation.conditional_deviation(many, x, targets, np.random.default_rng(2))[0]
    assert np.allclose(draws.mean(axis=0), mean, atol=4 * np.sqrt(var.max() / 20000) + 1e-12)
    assert np.allclose(draws.var(axis=0), var, rtol=0.05, atol=1e-10)


@pytest.mark.parametrize("scale", [0.0, 0.003, 0.05])
def test_the_rotated_likelihood_is_the_multivariate_normal(scale):
    """Rotated onto K's eigenvectors the log losses are independent normals: their density must be the
    joint normal's exactly (runs on both sides of C_ref, one at C_ref, two at one compute)."""
    import pymc as pm
    import pytensor.tensor as pt
    from pytensor.graph.replace import graph_replace
    from scipy import stats

    rng = np.random.default_rng(3)
    x = np.array([-3.1, -1.2, -1.2, 0.0, 0.7, 2.5, 4.0])
    log_loss, log_mean, sigma = rng.normal(0.9, 0.05, x.size), rng.normal(0.9, 0.05, x.size), 0.01
    with pm.Model() as model:
        extrapolation.observe(pm.Data("x", x), pm.math.constant(log_mean), sigma, pm.Data("y", log_loss), 1.0, "obs")
    logp = model.compile_logp(vars=[model["obs"]], mode="FAST_COMPILE")  # a numeric check: no C compile
    cov = sigma**2 * np.eye(x.size) + scale**2 * extrapolation.kernel(x[:, None], x[None, :])
    expected = stats.multivariate_normal(log_mean, cov).logpdf(log_loss)
    assert logp({extrapolation.SCALE + "_z": scale}) == pytest.approx(expected, rel=1e-10)
    given = graph_replace(model[extrapolation.WEIGHTS], {model[extrapolation.SCALE + "_z"]: pt.constant(scale, dtype="float64")})
    np.testing.assert_allclose(given.eval(mode="FAST_COMPILE"), np.linalg.solve(cov, log_loss - log_mean), rtol=1e-9)  # C⁻¹ r


@pytest.mark.parametrize("bad", ["yes", -0.01, np.inf, [0.01]])
def test_a_bad_option_names_itself(example, bad):  # before any sampling
    with pytest.raises(ValueError, match="extrapolation_error"):
        bs.forecast(example, target=1e21, extrapolation_error=bad, progress=False)


@pytest.fixture(scope="module")
def plain_forecast(example):
    return bs.forecast(example, target=[1e20, 1e22], seed=0, progress=False)


@pytest.fixture(scope="module")
def with_error(example):
    return bs.forecast(example, target=[1e20, 1e22], seed=0, progress=False, extrapolation_error="auto")


def test_it_is_opt_in_and_samples_cleanly(plain_forecast, with_error):
    assert extrapolation.SCALE not in plain_forecast.idata.posterior
    assert extrapolation.SCALE in with_error.parameters().index
    assert with_error.settings["options"]["extrapolation_scale_prior"] == extrapolation.DEFAULT_SCALE_PRIOR
    assert with_error.settings["tune"] == 3000 and plain_forecast.settings["tune"] == 2000
    assert with_error.ok, with_error.diagnostics
    # the LOO terms are one per run (the joint normal does not factorise; the closed form does)
    assert with_error.idata.log_likelihood["log_loss_obs"].shape[-1] == len(with_error.runs)


def test_intervals_widen_with_the_distance_beyond_the_data(plain_forecast, with_error):
    def width(f):
        lower, upper = f.interval(0.9, kind="mean")
        return (upper - lower) / np.median(f.draws(kind="mean"), axis=0)

    plain, wider = width(plain_forecast), width(with_error)
    assert np.all(wider > plain)
    assert wider[1] / plain[1] > wider[0] / plain[0]  # 3 e-folds past the data and then 7.6


def test_compare_reads_the_loo_terms(plain_forecast, with_error):
    table = bs.compare({"with": with_error, "plain": plain_forecast})
    assert set(table.index) == {"with", "plain"}
    assert np.isfinite(table["elpd_loo"]).all()


def _bent_ladder():
    """A ladder whose reducible loss steepens with compute (its exponent grows): a·C^b + c only
    ever flattens on a log-log plot, so no choice of a, b, c follows it."""
    compute = np.geomspace(1e16, 1e20, 12)
    x = np.log(compute / 1e16)
    loss = 2.0 + 3.0 * np.exp(-0.08 * x - 0.003 * x**2)
    rng = np.random.default_rng(0)
    return pd.DataFrame({"compute": compute, "loss": loss * np.exp(0.002 * rng.standard_normal(12))})


def test_a_bending_ladder_warns_and_the_report_says_so(tmp_path):
    with pytest.warns(bs.CurvatureWarning, match="bend"):
        fc = bs.forecast(_bent_ladder(), target=1e21, seed=0, progress=False, extrapolation_error="auto")
    assert fc.curvature["prob_above"] <= 1 - curvature.BEND_PROB  # both ends of the ladder sit below the law through its middle
    report = fc.report(tmp_path / "report.md", self_backtest=False).read_text()
    assert "bend away from one power law" in report


def test_an_exact_law_does_not_warn(plain_forecast, with_error):
    assert plain_forecast.curvature is None  # nothing to read it from
    assert curvature.describe(with_error.curvature) is None, with_error.curvature

"""The loss law's curve sampled in coordinates scaled by the noise (laws/whitened_curve.py).

The change of coordinates must leave the posterior exactly as it was: the whitened model's log
density is the plain one's at the mapped point plus the log-Jacobian of the map.
"""

from __future__ import annotations

import numpy as np
import pytest
from pymc_extras.prior import Prior

import bayes_scaling as bs
from bayes_scaling.datasets import CPU_LADDER_SMALL_SHARE, cpu_ladder_runs
from bayes_scaling.laws import loss, whitened_curve


def _models(runs, monkeypatch, priors):
    prepared = loss.prepare(runs)
    whitened = loss.build_model(prepared, priors)
    with monkeypatch.context() as patch:
        patch.setattr(whitened_curve, "applies", lambda priors: False)
        plain = loss.build_model(prepared, priors)
    return prepared.table, prepared.options, whitened, plain


def _precision_root(fit: dict, sigma: float) -> np.ndarray:
    a = fit["fit_information"] / sigma**2 + np.diag(fit["stand_in_precision"])
    return np.linalg.cholesky(a)


@pytest.mark.parametrize(
    ("rows", "priors"),
    [(4, {}), (None, {}), (6, {"b": Prior("TruncatedNormal", mu=-0.1, sigma=0.1, upper=0)})],
    ids=["four smallest runs (the funnel)", "whole ladder", "six runs, a prior on b (laws/exponent_prior.py)"],
)
def test_the_whitened_density_is_the_plain_one_plus_the_jacobian(rows, priors, monkeypatch):
    runs = bs.example_runs()
    runs = runs.nsmallest(rows, "compute").reset_index(drop=True) if rows else runs
    table, options, whitened, plain = _models(runs, monkeypatch, priors)
    x = np.log(table["compute"].to_numpy() / options["compute_ref"])
    loss_values = table["loss"].to_numpy()
    fit = whitened_curve.data_fit(x, np.log(loss_values), float(np.median(loss_values)))
    # Python-evaluated graphs: a numeric check of a few points needs no C compile (~10 s from a cold cache)
    whitened_logp, plain_logp = whitened.compile_logp(mode="FAST_COMPILE"), plain.compile_logp(mode="FAST_COMPILE")
    outputs = whitened.replace_rvs_by_values([whitened[name] for name in whitened_curve.CURVE])
    curve = whitened.compile_fn(outputs, inputs=whitened.value_vars, point_fn=True, mode="FAST_COMPILE")
    rng = np.random.default_rng(0)
    for _ in range(8):
        point = {whitened_curve.WHITENED: rng.normal(size=3), "sigma_log__": np.log(rng.uniform(0.002, 0.05))}
        loss_ref, fraction, local_exponent = curve(point)
        mapped = {
            "loss_ref_log__": np.log(loss_ref),
            "reducible_fraction_logodds__": np.log(fraction / (1 - fraction)),
            "local_exponent_log__": np.log(local_exponent),
            "sigma_log__": point["sigma_log__"],
        }
        log_jacobian = -np.log(np.diag(_precision_root(fit, np.exp(point["sigma_log__"])))).sum()
        assert whitened_logp(point) == pytest.approx(plain_logp(mapped) + log_jacobian, abs=1e-6)


def test_near_the_fit_the_whitened_coordinates_are_standard_at_any_noise():
    """The point of the map: the curve's spread in z does not shrink with sigma (no funnel)."""
    runs = bs.example_runs().nsmallest(4, "compute").reset_index(drop=True)
    fc = bs.forecast(runs, target=1e21, seed=0, progress=False)
    z = fc.idata.posterior[whitened_curve.WHITENED].values.reshape(-1, 3)
    sigma = fc.idata.posterior["sigma"].values.ravel()
    small, large = sigma < np.quantile(sigma, 0.25), sigma > np.quantile(sigma, 0.75)
    spread_small, spread_large = z[small].std(axis=0), z[large].std(axis=0)
    # in the plain coordinates the curve's spread follows sigma: here the quartiles of sigma
    # are a factor of several apart, and the spread in z stays within a factor of 2
    assert np.quantile(sigma, 0.75) / np.quantile(sigma, 0.25) > 2
    assert np.all(spread_small / spread_large > 0.5) and np.all(spread_small / spread_large < 2)
    assert fc.ok and fc.diagnostics.divergences == 0


def test_a_prior_on_a_curve_parameter_is_honoured_in_the_whitened_coordinates():
    tight = Prior("Beta", alpha=400.0, beta=400.0)  # sd 0.018 around 0.5
    fc = bs.forecast(bs.example_runs(), target=1e21, seed=0, progress=False, prior={"reducible_fraction": tight})
    assert whitened_curve.WHITENED in fc.idata.posterior  # the whitened path, not the plain one
    draws = fc.idata.posterior["reducible_fraction"].values
    assert abs(draws.mean() - 0.5) < 3 * 0.018
    assert draws.std() < 0.018 * 1.2  # the data can only narrow it further


def test_priors_with_no_density_in_the_curve_coordinates_sample_the_plain_ones():
    assert not whitened_curve.applies({"b": Prior("Uniform", lower=-0.4, upper=-0.01)})  # sampled in b itself
    assert whitened_curve.applies({"sigma": Prior("HalfNormal", sigma=0.02)})
    assert not whitened_curve.applies({"loss_ref": Prior("Normal", mu=Prior("Normal"), sigma=1)})


def _data_fit(runs):
    """(x, log loss, the data's own fit) as the loss law computes them for ``runs``."""
    table, _, options = loss.prepare(runs)
    x = np.log(table["compute"].to_numpy(dtype=float) / options["compute_ref"])
    log_loss = np.log(table["loss"].to_numpy(dtype=float))
    return table, x, log_loss, whitened_curve.data_fit(x, log_loss, float(np.median(table["loss"])))


def _pins(runs):
    _, x, log_loss, fit = _data_fit(runs)
    return whitened_curve.pins_the_curve(fit, x, log_loss)


def test_whitening_is_kept_for_ladders_that_pin_the_curve():
    """Noisy rungs that pin little of the curve (the CPU ladder's, 2.7-2.9% off it) keep the plain
    coordinates, where whitened they diverged; tight ladders, and three runs the curve fits exactly,
    are whitened."""
    cpu = cpu_ladder_runs()
    fitted = cpu[cpu["compute"] <= CPU_LADDER_SMALL_SHARE * cpu["compute"].max()][["compute", "loss"]].reset_index(drop=True)
    assert not _pins(fitted.nsmallest(4, "compute").reset_index(drop=True))
    assert not _pins(fitted)
    example = bs.example_runs()
    assert _pins(example)
    assert _pins(example.nsmallest(4, "compute").reset_index(drop=True))
    assert _pins(example.nsmallest(3, "compute").reset_index(drop=True))
    # the same noisy rungs with their scatter shrunk tenfold about their own fit are pinned
    table, x, log_loss, fit = _data_fit(fitted)
    smooth = whitened_curve.log_mean(fit["fit_centre"], x)
    tight = table[["compute"]].assign(loss=np.exp(smooth + (log_loss - smooth) / 10))
    assert _pins(tight)
    # and the law builds its model in the coordinates the rule picks
    scale = float(np.median(table["loss"]))
    assert whitened_curve.fit_where_it_pays({}, x, log_loss, scale) is None
    _, x, log_loss, _ = _data_fit(tight)
    assert whitened_curve.fit_where_it_pays({}, x, log_loss, scale) is not None
    assert whitened_curve.fit_where_it_pays({"b": Prior("Uniform", lower=-0.4, upper=-0.01)}, x, log_loss, scale) is None

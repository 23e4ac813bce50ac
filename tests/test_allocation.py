"""Compute-optimal allocation under cost models other than 6·N·D (issue 18, item 5).

Why attention moves the optimum, for the comments below. Under ``C = D·f(N)`` the optimum of
``A·N^-α + B·D^-β`` along ``D = C/f(N)`` solves ``α·A·N^-α = ε·β·B·D^-β``, with
``ε = d ln f / d ln N``. Kaplan's count at a fixed aspect ratio is ``f = 6N·(1 + ρ)`` with
``ρ = n_ctx/(12·d_model) ∝ N^(-1/3)``, so ``ε = (1 + 2ρ/3)/(1 + ρ) < 1``. Against the 6·N·D optimum
(N0, D0), in logs (``x = ln N*/N0``, ``y = ln D*/D0``, ``y = -x - ln(1+ρ)``):

    x = -ln(ε·(1+ρ)^β)/(α+β) ≈ -ρ·(β - 1/3)/(α+β)
    y ≈ -ρ·(α + 1/3)/(α+β) < 0,      y - x ≈ -ρ·(α - β + 2/3)/(α+β) < 0

Two effects: every token costs more (a smaller budget: N* and D* both shrink) and the overhead's
share falls as N grows (a bigger model is cheaper than it looks: N* grows). D* and the tokens per
parameter always fall; N* falls where β > 1/3 (Epoch's refit, 0.366) and rises where β < 1/3
(Hoffmann's Approach 3, 0.28, the synthetic truth here).
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import bayes_scaling as bs
from bayes_scaling.allocation import compute_optimal, optimal_log_params
from bayes_scaling.cost_models import CostModel, fit_cost, six_nd, transformer_cost
from tests.synthetic_ladders import isoflop_ladder

# the same NUTS run as tests/test_chinchilla.py's synthetic_fit: reused when both run in one session (conftest.py)
pytestmark = pytest.mark.usefixtures("reused_fits")

TARGET = pd.DataFrame({"params": [1e10], "tokens": [2e11]})
BUDGETS = [1e22, 1e24, 1e26]
QUANTILES = ["mean", "median", "lower_50", "upper_50", "lower_90", "upper_90"]


@pytest.fixture(scope="module")
def fc():
    return bs.forecast(isoflop_ladder("chinchilla", seed=0), target=TARGET, law="chinchilla", seed=0, progress=False)


def law_draws(fc):
    post = fc.idata.posterior
    alpha, beta, A, B = (post[name].to_numpy().ravel() for name in ("alpha", "beta", "A", "B"))
    return alpha, beta, A, B


def fixed_law(alpha, beta, A, B, runs=None):
    """A stand-in for a forecast whose every draw is one law (Epoch's or Hoffmann's point estimates)."""
    posterior = xr.Dataset({name: (("chain", "draw"), np.full((1, 2), value)) for name, value in
                            {"alpha": alpha, "beta": beta, "A": A, "B": B}.items()})
    return SimpleNamespace(law="chinchilla", idata=SimpleNamespace(posterior=posterior), runs=runs)


def median(frame, budget, quantity):
    return frame[(frame["budget"] == budget) & (frame["quantity"] == quantity)]["median"].item()


def test_numeric_optimum_with_six_nd_is_the_closed_form_per_draw(fc):
    closed = compute_optimal(fc, BUDGETS)
    start = time.perf_counter()
    numeric = compute_optimal(fc, BUDGETS, cost=six_nd())
    seconds = time.perf_counter() - start
    assert numeric.shape == closed.shape and list(numeric.columns) == list(closed.columns)
    np.testing.assert_allclose(numeric[QUANTILES].to_numpy(), closed[QUANTILES].to_numpy(), rtol=1e-6)
    assert closed.attrs["cost"] == "6·N·D (closed form)" and numeric.attrs["cost"] == "6·N·D"
    # per draw, not only the summaries
    alpha, beta, A, B = law_draws(fc)
    assert alpha.size == 4000
    for budget in BUDGETS:
        n_star = np.exp(optimal_log_params(six_nd(), budget, np.log(A), alpha, np.log(B), beta))
        closed_form = (alpha * A / (beta * B)) ** (1 / (alpha + beta)) * (budget / 6) ** (beta / (alpha + beta))
        np.testing.assert_allclose(n_star, closed_form, rtol=1e-6)
    assert seconds < 2.0, f"4,000 draws x 3 budgets took {seconds:.2f} s"  # ~0.2 s idle; shared cores are slow


def test_attention_optimum_satisfies_the_first_order_condition(fc):
    """At the numeric optimum α·A·N^-α = ε·β·B·D^-β, with ε = d ln f/d ln N (module docstring)."""
    alpha, beta, A, B = law_draws(fc)
    cost = transformer_cost(context_length=8192)
    budget = 1e24
    n = np.exp(optimal_log_params(cost, budget, np.log(A), alpha, np.log(B), beta))
    f = cost.flops_per_token(n)
    d = budget / f
    attention = f - 6 * n
    elasticity = (6 * n + 2 / 3 * attention) / f
    np.testing.assert_allclose(alpha * A * n**-alpha, elasticity * beta * B * d**-beta, rtol=1e-6)


def test_attention_cuts_tokens_and_tokens_per_param_and_moves_params_by_beta(fc):
    alpha, beta, A, B = law_draws(fc)
    budget = 1e24
    law = (np.log(A), alpha, np.log(B), beta)
    n0 = np.exp(optimal_log_params(six_nd(), budget, *law))
    d0 = budget / (6 * n0)
    for context in (2048, 8192):
        cost = transformer_cost(context_length=context)
        n = np.exp(optimal_log_params(cost, budget, *law))
        d = budget / cost.flops_per_token(n)
        assert np.all(d < d0) and np.all(d / n < d0 / n0)  # for every draw (module docstring)
        # N* moves against ln(ε·(1+ρ)^β), ≈ ρ·(β - 1/3): down where β > 1/3, up where β < 1/3
        rho = cost.flops_per_token(n) / (6 * n) - 1
        multiplier = np.log((1 + 2 * rho / 3) / (1 + rho)) + beta * np.log1p(rho)
        clear = np.abs(multiplier) > 1e-7
        assert clear.mean() > 0.9
        np.testing.assert_array_equal(np.sign(np.log(n / n0))[clear], -np.sign(multiplier)[clear])
        np.testing.assert_allclose(np.log(n / n0), -multiplier / (alpha + beta), atol=2e-6)  # x, exactly (to the search's precision)
    # and the size of the effect: ρ = n_ctx/(12·d_model) at the optimum, about 7% at context 8192 here
    assert 0.04 < np.median(rho) < 0.1


@pytest.mark.parametrize(("law", "params_move"), [
    ({"alpha": 0.348, "beta": 0.366, "A": 482.0, "B": 2085.0}, "down"),  # Epoch's refit: β > 1/3
    ({"alpha": 0.34, "beta": 0.28, "A": 406.4, "B": 410.7}, "up"),  # Hoffmann's Approach 3: β < 1/3
])
def test_long_context_moves_the_optimum_the_derived_way(law, params_move):
    fc = fixed_law(**law)
    base = compute_optimal(fc, 1e24)
    short, long = (compute_optimal(fc, 1e24, cost=transformer_cost(context)) for context in (2048, 8192))
    params = [median(frame, 1e24, "params") for frame in (base, short, long)]
    tokens = [median(frame, 1e24, "tokens") for frame in (base, short, long)]
    ratio = [median(frame, 1e24, "tokens_per_param") for frame in (base, short, long)]
    assert tokens[0] > tokens[1] > tokens[2] and ratio[0] > ratio[1] > ratio[2]
    assert (params[0] > params[1] > params[2]) if params_move == "down" else (params[0] < params[1] < params[2])
    # ρ ≈ 7% at 8192: D* falls by about ρ·(α + 1/3)/(α + β), a few percent, N* by well under 1%
    assert 0.02 < 1 - tokens[2] / tokens[0] < 0.1 and abs(params[2] / params[0] - 1) < 0.01


def test_a_given_shape_and_the_aspect_ratio_agree():
    ratio = 100.0
    shape = lambda n: (((ratio * n / 12) ** (1 / 3)) / ratio, (ratio * n / 12) ** (1 / 3))  # noqa: E731
    n = np.geomspace(1e6, 1e12, 7)
    np.testing.assert_allclose(transformer_cost(4096, shape=shape).flops_per_token(n),
                               transformer_cost(4096, aspect_ratio=ratio).flops_per_token(n), rtol=1e-12)
    # Kaplan's eq. 2.2 for GPT-3 175B (96 layers, d_model 12288) at context 2048: 6N + 6·96·2048·12288 per token
    gpt3 = transformer_cost(2048, shape=lambda n: (96, 12288))
    assert gpt3.flops_per_token(175e9) == pytest.approx(6 * 175e9 + 6 * 96 * 2048 * 12288)
    assert transformer_cost(2048).flops_per_token(175e9) == pytest.approx(gpt3.flops_per_token(175e9), rel=0.01)


def logged_runs(noise=0.0, context=2048, seed=0):
    """A ladder whose compute column was counted as transformer_cost(context) counts it."""
    rng = np.random.default_rng(seed)
    params = np.geomspace(1e7, 1e10, 12)
    tokens = 20 * params * np.exp(rng.normal(0, 0.5, params.size))
    compute = transformer_cost(context).flops(params, tokens) * np.exp(noise * rng.standard_normal(params.size))
    return pd.DataFrame({"params": params, "tokens": tokens, "compute": compute, "loss": 3.0})


def test_fit_cost_recovers_the_coefficients_that_made_the_compute():
    c2 = 6 * 2048 * (128 / 12) ** (2 / 3) / 128  # 6·n_ctx·n_layer·d_model = c2·N^(2/3) at d_model/n_layer = 128
    exact = fit_cost(logged_runs())
    assert exact.coefficients["params"] == pytest.approx(6.0, rel=1e-8)
    assert exact.coefficients["extra"] == pytest.approx(c2, rel=1e-6)
    assert np.max(np.abs(exact.fit["relative_residual"])) < 1e-10 and len(exact.fit) == 12
    noisy = fit_cost(logged_runs(noise=0.003))
    assert noisy.coefficients["params"] == pytest.approx(6.0, rel=0.01)
    assert noisy.coefficients["extra"] == pytest.approx(c2, rel=0.15)
    assert "fitted on 12 runs: relative residuals rms 0.2" in noisy.summary
    # a constant overhead per token instead (exponent 0): 8·N + 3e8
    runs = logged_runs().assign(compute=lambda t: t["tokens"] * (8 * t["params"] + 3e8))
    constant = fit_cost(runs, exponent=0)
    assert constant.coefficients["params"] == pytest.approx(8.0) and constant.coefficients["extra"] == pytest.approx(3e8)


def test_fitted_cost_from_the_forecast_runs_is_the_cost_that_made_them(fc):
    """cost="fitted" fits the forecast's own table: here one counted with attention at 2048."""
    alpha, beta, A, B = (float(np.median(v)) for v in law_draws(fc))
    stand_in = fixed_law(alpha, beta, A, B, runs=logged_runs())
    fitted = compute_optimal(stand_in, BUDGETS, cost="fitted")
    known = compute_optimal(stand_in, BUDGETS, cost=transformer_cost(2048))
    np.testing.assert_allclose(fitted[QUANTILES].to_numpy(), known[QUANTILES].to_numpy(), rtol=1e-6)
    assert fitted.attrs["cost"].startswith("fitted: 6·N + ")


def test_fit_cost_refuses_what_it_cannot_fit(fc):
    with pytest.raises(ValueError, match=r"compute is 6·N·D on every run \(largest relative deviation"):
        compute_optimal(fc, 1e24, cost="fitted")  # the synthetic ladder's compute is 6·N·D
    with pytest.raises(ValueError, match="3 or more distinct parameter counts.*got 2"):
        fit_cost(logged_runs().iloc[:2])
    with pytest.raises(bs.DataError, match=r"lacks \['compute'\]"):
        fit_cost(logged_runs().drop(columns="compute"))
    bad = logged_runs()
    bad.loc[3, "tokens"] = -5.0
    with pytest.raises(bs.DataError, match="column 'tokens', row 3: value -5.0"):
        fit_cost(bad)
    with pytest.raises(ValueError, match="exponent must lie in \\[0, 1\\), got 1.5"):
        fit_cost(logged_runs(), exponent=1.5)
    with pytest.warns(UserWarning, match="does not describe these runs well"):
        fit_cost(logged_runs(noise=0.2))


def test_bad_costs_and_budgets_are_named(fc):
    with pytest.raises(TypeError, match="cost must be a CostModel.*got 'kaplan'"):
        compute_optimal(fc, 1e24, cost="kaplan")
    with pytest.raises(TypeError, match="per_token must be a function"):
        CostModel("six", 6.0)
    with pytest.raises(ValueError, match=r"budget 3 FLOPs is too small for any model under cost model '6·N·D'"):
        compute_optimal(fc, 3.0, cost=six_nd())
    with pytest.raises(ValueError, match="gives nan FLOPs per token at 1 parameters"):
        compute_optimal(fc, 1e24, cost=CostModel("broken", lambda n: n * np.nan))
    with pytest.raises(ValueError, match="FLOPs per token fall from"):
        compute_optimal(fc, 1e24, cost=CostModel("shrinking", lambda n: 1e12 / n))
    with pytest.raises(ValueError, match="context_length must be a finite number > 0, got -2048"):
        transformer_cost(-2048)
    with pytest.raises(ValueError, match="aspect_ratio .* or shape, not both"):
        transformer_cost(2048, aspect_ratio=64, shape=lambda n: (10, 10))
    with pytest.raises(ValueError, match="shape gives n_layer = 0.0 at"):
        transformer_cost(2048, shape=lambda n: (0 * n, 1000)).flops_per_token([1e9])
    # a tiny budget: the loss keeps falling to the search's edge for some draws
    with pytest.raises(ValueError, match="budget 100 FLOPs under cost model .*edge of the search"):
        compute_optimal(fc, 100.0, cost=six_nd())

"""Parameter recovery: intervals 100× beyond a synthetic ladder hold their stated coverage.

50 synthetic ladders, each 8 compute-optimal points over 1,000× compute with 1% relative
seed noise, from a, b, c drawn per seed. The 90% predictive interval at 100× beyond the
largest point must cover a fresh noisy run there in >= 85% of seeds, and every fit must
pass the sampler's health checks with default settings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayes_scaling as bs

SEEDS = 50
NOISE = 0.01


def synthetic_ladder(seed: int):
    rng = np.random.default_rng(seed)
    b = rng.uniform(-0.35, -0.1)
    c = rng.uniform(1.5, 2.5)
    compute = np.geomspace(1e17, 1e20, 8)
    reducible_at_smallest = rng.uniform(1.0, 2.5)
    a = reducible_at_smallest / compute[0] ** b
    target = 100 * compute[-1]

    def mean(cc):
        return a * cc**b + c

    runs = pd.DataFrame({"compute": compute, "loss": mean(compute) * np.exp(NOISE * rng.standard_normal(8))})
    new_run = mean(target) * np.exp(NOISE * rng.standard_normal())
    return runs, target, mean(target), new_run


@pytest.mark.slow  # 50 fits: ~3 minutes on two cores
def test_predictive_intervals_cover_new_runs_at_100x():
    covered, mean_covered, unhealthy = [], [], []
    for seed in range(SEEDS):
        runs, target, true_mean, new_run = synthetic_ladder(seed)
        fc = bs.forecast(runs, target=target, seed=seed, progress=False)
        lower, upper = fc.interval(0.9)
        covered.append(lower <= new_run <= upper)
        mean_lower, mean_upper = fc.interval(0.9, kind="mean")
        mean_covered.append(mean_lower <= true_mean <= mean_upper)
        if not fc.ok:
            unhealthy.append((seed, fc.diagnostics))
    print(f"predictive coverage {np.mean(covered):.0%}, mean-curve coverage {np.mean(mean_covered):.0%}")
    assert not unhealthy, unhealthy
    assert np.mean(covered) >= 0.85
    assert np.mean(mean_covered) >= 0.85

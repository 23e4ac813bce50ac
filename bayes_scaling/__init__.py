"""Forecast what a large training run will achieve from a ladder of small models.

    import bayes_scaling as bs
    runs = bs.load_runs("runs.csv")
    fc = bs.forecast(runs, target=1e21)
    fc.interval(0.9), fc.prob_below(2.1), fc.to_frame(), fc.plot("fan.png")
    fc.report("review.html", thresholds=[2.1])
    bs.register(fc, "predictions.jsonl", name="big-run"); bs.score(...); bs.verify(...)
    bs.backtest(runs, holdout_fraction=0.25).summary(); bs.compare([fc1, fc2]); bs.stack([fc1, fc2])
"""

import warnings
from importlib import metadata

# Noise for our users: we sample on JAX (no C BLAS needed) and pin ArviZ's current API.
warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS", category=UserWarning)
warnings.filterwarnings("ignore", message=".*ArviZ is undergoing a major refactor", category=FutureWarning)

from bayes_scaling.backtest import BacktestResult, backtest
from bayes_scaling.compare import StackedForecast, compare, stack
from bayes_scaling.data import (
    DataError,
    ExtrapolationWarning,
    IdentifiabilityWarning,
    IncompleteRunsWarning,
    load_capability_runs,
    load_pass_counts,
    load_runs,
)
from bayes_scaling.datasets import example_pass_counts, example_runs
from bayes_scaling.forecast import Forecast, PointForecast, forecast, load_forecast
from bayes_scaling.laws.chinchilla import compute_optimal
from bayes_scaling.registry import RegistryError, register, score, verify
from bayes_scaling.sampling import SamplerWarning
from bayes_scaling.trend_reversal import TrendReversalWarning

try:
    __version__ = metadata.version("bayes_scaling")
except metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "BacktestResult",
    "StackedForecast",
    "backtest",
    "compare",
    "compute_optimal",
    "stack",
    "DataError",
    "ExtrapolationWarning",
    "Forecast",
    "IdentifiabilityWarning",
    "IncompleteRunsWarning",
    "PointForecast",
    "RegistryError",
    "SamplerWarning",
    "TrendReversalWarning",
    "example_pass_counts",
    "example_runs",
    "forecast",
    "load_forecast",
    "load_capability_runs",
    "load_pass_counts",
    "load_runs",
    "register",
    "score",
    "verify",
]

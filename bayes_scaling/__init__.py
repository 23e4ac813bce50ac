"""Forecast what a large training run will achieve from a ladder of small models.

    import bayes_scaling as bs
    runs = bs.load_runs("runs.csv")
    fc = bs.forecast(runs, target=1e21)
    fc.interval(0.9), fc.prob_below(2.1), fc.to_frame(), fc.plot("fan.png")
    fc.report("review.html", thresholds=[2.1])
    bs.register(fc, "predictions.jsonl", name="big-run"); bs.score(...); bs.verify(...)
    bs.backtest(runs, holdout_fraction=0.25).summary(); bs.compare([fc1, fc2]); bs.stack([fc1, fc2])
    bs.compare_recipes(runs, target=1e22)   # which recipe (the family column) wins there, and how surely
    bs.suggest_runs(fc, budget=3e20)         # which runs to add to narrow fc's interval most per FLOP
    bs.point_forecast(counts, target=1e21)   # GPT-4's point method, beside a law="pass_rate" forecast
"""

import importlib
import importlib.util
import sys
import types
from importlib import metadata

# The public names and the module each lives in. They are imported on first use, so that
# `bayes-scaling --help`, `verify` and `score` (and `import bayes_scaling`) load no PyMC or JAX.
_EXPORTS = {
    "BacktestResult": "evaluation.backtest",
    "backtest": "evaluation.backtest",
    "StackedForecast": "evaluation.compare",
    "compare": "evaluation.compare",
    "stack": "evaluation.compare",
    "RecipeComparison": "evaluation.recipe_comparison",
    "compare_recipes": "evaluation.recipes",
    "DataError": "tables",
    "ExtrapolationWarning": "tables",
    "IdentifiabilityWarning": "tables",
    "IncompleteRunsWarning": "tables",
    "load_capability_runs": "tables",
    "load_pass_counts": "tables",
    "load_runs": "tables",
    "example_pass_counts": "datasets",
    "example_runs": "datasets",
    "Forecast": "forecast_result",
    "PointForecast": "point_forecast",
    "point_forecast": "point_forecast",
    "forecast": "forecast",
    "load_forecast": "forecast_file",
    "compute_optimal": "allocation",
    "CostModel": "cost_models",
    "fit_cost": "cost_models",
    "six_nd": "cost_models",
    "transformer_cost": "cost_models",
    "RunSuggestions": "planning.suggestions",
    "suggest_runs": "planning.suggest",
    "RegistryError": "evaluation.registry_chain",
    "register": "evaluation.registry",
    "score": "evaluation.registry_scoring",
    "verify": "evaluation.registry_chain",
    "SamplerWarning": "inference.diagnostics",
    "TrendReversalWarning": "checks.trend_reversal",
    "CurvatureWarning": "checks.curvature",
}
# Functions named like the module that holds them: importing ``bayes_scaling.forecast`` sets the
# package's attribute ``forecast`` to that module, so these are looked up before the attributes.
_SHADOWED = frozenset(name for name, module in _EXPORTS.items() if name == module)


def _export(name: str):
    return getattr(importlib.import_module(f"bayes_scaling.{_EXPORTS[name]}"), name)


def __getattr__(name: str):
    if name in _EXPORTS:
        return _export(name)
    if not name.startswith("_") and importlib.util.find_spec(f"bayes_scaling.{name}") is not None:
        return importlib.import_module(f"bayes_scaling.{name}")  # a submodule, as an eager import had it: bs.datasets
    raise AttributeError(f"module 'bayes_scaling' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))


class _Package(types.ModuleType):
    """This package's module type: ``bs.forecast`` is the function even after its module was imported."""

    def __getattribute__(self, name: str):
        if name in _SHADOWED:
            return _export(name)
        return super().__getattribute__(name)


sys.modules[__name__].__class__ = _Package

try:
    __version__ = metadata.version("bayes_scaling")
except metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "BacktestResult",
    "StackedForecast",
    "RecipeComparison",
    "backtest",
    "compare",
    "compare_recipes",
    "compute_optimal",
    "CostModel",
    "fit_cost",
    "six_nd",
    "transformer_cost",
    "suggest_runs",
    "RunSuggestions",
    "stack",
    "DataError",
    "ExtrapolationWarning",
    "CurvatureWarning",
    "Forecast",
    "IdentifiabilityWarning",
    "IncompleteRunsWarning",
    "PointForecast",
    "point_forecast",
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

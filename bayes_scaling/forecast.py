"""``forecast()``: fit a law to a ladder and predict at the target compute; ``Forecast``.

A ``Forecast`` is a thin view over one ``arviz.InferenceData``: the posterior, the
posterior predictive at the targets, the data it was fitted on and the settings
(data hash, priors, versions, seed) in its attrs. Everything it reports is computed
from that object, so a forecast saved to netCDF and loaded back answers identically.
"""

from __future__ import annotations

import json
import platform
import warnings
from datetime import datetime, timezone
from functools import cached_property
from importlib import metadata
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from bayes_scaling import sampling
from bayes_scaling.data import check_targets, data_hash, load_runs
from bayes_scaling.laws import get_law, prior_descriptions, resolve_priors

KINDS = ("predictive", "mean")
_ATTR = "bayes_scaling"
_VERSIONED = ("bayes_scaling", "pymc", "pytensor", "arviz", "numpyro", "jax", "numpy", "pandas")


def forecast(
    data,
    target,
    law: str = "loss",
    prior: dict | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int | None = None,
    progress: bool = True,
    target_accept: float | None = None,
) -> Forecast:
    """Fit ``law`` to ``data`` with NUTS and forecast it at ``target`` compute (FLOPs).

    ``data`` is a path or DataFrame with columns ``compute`` and ``loss``; ``target`` a
    number or a sequence. ``prior`` overrides default priors by parameter name with
    pymc-extras ``Prior`` objects. ``seed=None`` draws a seed and records it, so every
    forecast can be reproduced. Warns (``SamplerWarning``) when diagnostics fail.
    """
    law_module = get_law(law)
    runs = load_runs(data)
    targets = check_targets(runs, target, stacklevel=3)  # point at the caller of forecast()
    overrides = resolve_priors(law_module, prior)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**31)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    settings = sampling.SamplerSettings(
        draws=draws,
        tune=tune,
        chains=chains,
        target_accept=law_module.TARGET_ACCEPT if target_accept is None else target_accept,
        seed=int(seed),
        progress=progress,
    )

    model = law_module.build_model(runs, overrides)
    structure = (law_module.NAME, tuple(sorted((k, repr(v)) for k, v in overrides.items())))
    idata = sampling.sample(model, settings, key=structure)

    rng = np.random.default_rng([settings.seed, 1])
    mean, predictive = law_module.predict(idata.posterior, runs, targets, rng)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(predictive))):
        raise FloatingPointError("the forecast has non-finite draws; check the data and the priors")
    quantity = law_module.QUANTITY
    dims = ("chain", "draw", "target")
    idata.add_groups(
        predictions=xr.Dataset({quantity: (dims, predictive), f"mean_{quantity}": (dims, mean)}),
        predictions_constant_data=xr.Dataset({"compute": ("target", targets)}),
        observed_data=xr.Dataset({quantity: ("row", runs[quantity].to_numpy())}),
        constant_data=xr.Dataset(
            {name: ("row", runs[name].to_numpy()) for name in runs.columns if name != quantity and _storable(runs[name])}
        ),
    )
    idata.attrs[_ATTR] = json.dumps(
        {
            "law": law_module.NAME,
            "quantity": quantity,
            "parameters": list(law_module.PARAMETERS + law_module.DERIVED),
            "priors": prior_descriptions(law_module, overrides),
            "data_sha256": data_hash(runs),
            "data_source": str(runs.attrs.get("source", "DataFrame")),
            "seed": settings.seed,
            "draws": settings.draws,
            "tune": settings.tune,
            "chains": settings.chains,
            "target_accept": settings.target_accept,
            "versions": _versions(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
    )
    result = Forecast(idata)
    sampling.warn_if_unhealthy(result.diagnostics)
    return result


def load_forecast(path) -> Forecast:
    """Read a forecast written by ``Forecast.save``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no forecast file at {path}")
    idata = az.from_netcdf(path)
    if _ATTR not in idata.attrs:
        raise ValueError(f"{path} is a netCDF file but not a bayes_scaling forecast (no {_ATTR!r} attribute)")
    return Forecast(idata)


class Forecast:
    """The posterior predictive of a law at one or more target computes."""

    def __init__(self, idata: az.InferenceData):
        self.idata = idata
        self.settings = json.loads(idata.attrs[_ATTR])

    # -- what was forecast -------------------------------------------------------------
    @property
    def law(self) -> str:
        return self.settings["law"]

    @property
    def targets(self) -> np.ndarray:
        return self.idata.predictions_constant_data["compute"].to_numpy()

    @cached_property
    def runs(self) -> pd.DataFrame:
        """The table the law was fitted on."""
        columns = {name: self.idata.constant_data[name].to_numpy() for name in self.idata.constant_data.data_vars}
        quantity = self.settings["quantity"]
        columns[quantity] = self.idata.observed_data[quantity].to_numpy()
        frame = pd.DataFrame(columns)
        first = [name for name in ("run", "compute", quantity) if name in frame]
        return frame[first + [name for name in frame.columns if name not in first]]

    @cached_property
    def diagnostics(self) -> sampling.Diagnostics:
        return sampling.diagnose(self.idata, var_names=list(self.settings["parameters"]))

    @property
    def ok(self) -> bool:
        return self.diagnostics.ok

    # -- the answers ---------------------------------------------------------------------
    def draws(self, kind: str = "predictive") -> np.ndarray:
        """Draws at the targets, shape (n_draws, n_targets): one new run, or the mean curve."""
        quantity = self.settings["quantity"]
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        name = quantity if kind == "predictive" else f"mean_{quantity}"
        values = self.idata.predictions[name].to_numpy()
        return values.reshape(-1, values.shape[-1])

    def interval(self, prob: float = 0.9, kind: str = "predictive"):
        """Equal-tailed credible interval ``(lower, upper)``: floats for one target, arrays for several.

        Equal-tailed (not HDI) so that ``P(below lower) = P(above upper) = (1 - prob)/2``,
        the same tails ``prob_below`` and ``prob_above`` speak of.
        """
        if not 0 < prob < 1:
            raise ValueError(f"prob must lie in (0, 1), got {prob!r}")
        lower, upper = np.quantile(self.draws(kind), [(1 - prob) / 2, (1 + prob) / 2], axis=0)
        return self._per_target(lower), self._per_target(upper)

    def prob_below(self, threshold: float, kind: str = "predictive"):
        """P(value < threshold) at each target."""
        return self._per_target((self.draws(kind) < threshold).mean(axis=0))

    def prob_above(self, threshold: float, kind: str = "predictive"):
        """P(value > threshold) at each target."""
        return self._per_target((self.draws(kind) > threshold).mean(axis=0))

    def to_frame(self, kind: str = "predictive") -> pd.DataFrame:
        """One row per target: compute, mean, median, lower_50, upper_50, lower_90, upper_90."""
        draws = self.draws(kind)
        q = np.quantile(draws, [0.5, 0.25, 0.75, 0.05, 0.95], axis=0)
        return pd.DataFrame(
            {
                "compute": self.targets,
                "mean": draws.mean(axis=0),
                "median": q[0],
                "lower_50": q[1],
                "upper_50": q[2],
                "lower_90": q[3],
                "upper_90": q[4],
            }
        )

    def parameters(self) -> pd.DataFrame:
        """Posterior summary of the law's parameters (``az.summary``)."""
        return az.summary(self.idata, var_names=list(self.settings["parameters"]))

    # -- output ----------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write everything (posterior, predictions, data, settings) to one netCDF file."""
        path = Path(path)
        self.idata.to_netcdf(str(path))
        return path

    def plot(self, path=None, ax=None, kind: str = "predictive"):
        """Fan chart: data, median curve and 50/90% bands out to the targets (log compute)."""
        from bayes_scaling.plotting import fan_chart

        return fan_chart(self, path=path, ax=ax, kind=kind)

    def report(self, path, thresholds=()) -> Path:
        """Write a risk-review report: self-contained HTML, or Markdown with PNGs beside it."""
        from bayes_scaling.report import write_report

        return write_report(self, path, thresholds=thresholds)

    def __repr__(self) -> str:
        frame = self.to_frame().to_string(index=False, float_format=lambda v: f"{v:.4g}")
        health = "ok" if self.ok else "FAILED: " + "; ".join(self.diagnostics.problems())
        return (
            f"Forecast(law={self.law!r}, {len(self.runs)} runs, seed={self.settings['seed']})\n"
            f"predictive intervals for one new run:\n{frame}\ndiagnostics: {health}"
        )

    def _per_target(self, values: np.ndarray):
        return float(values[0]) if values.shape[0] == 1 else values


def _storable(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_string_dtype(column)


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found

"""``forecast()``: fit a law to a ladder and predict at the target compute; ``Forecast``.

A ``Forecast`` is a thin view over one ``arviz.InferenceData``: the posterior, the
posterior predictive at the targets, the data it was fitted on and the settings
(data hash, priors, versions, seed) in its attrs. Everything it reports is computed
from that object, so a forecast saved to netCDF and loaded back answers identically.
"""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from functools import cached_property
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_scaling.quiet import quietly

with quietly():  # often the first import of ArviZ
    import arviz as az
import xarray as xr

from bayes_scaling.inference import sampling
from bayes_scaling.tables import validated_table_hash
from bayes_scaling.intervals import central_interval, interval_frame
from bayes_scaling.laws import get_law, prior_descriptions, resolve_priors
from bayes_scaling.checks.curvature import check as check_curvature
from bayes_scaling.checks.curvature import warn_if_bending
from bayes_scaling.checks.trend_reversal import check as check_trend_reversal
from bayes_scaling.checks.trend_reversal import warn_if_reversing

KINDS = ("predictive", "mean")
_DIMS = ("chain", "draw", "target", "bucket")
_ATTR = "bayes_scaling"
_VERSIONED = ("bayes_scaling", "pymc", "pytensor", "arviz", "numpyro", "jax", "numpy", "pandas")
# netCDF-3 files start with b"CDF" and a version byte; netCDF-4 files are HDF5.
_NETCDF_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05", b"\x89HDF\r\n\x1a\n")


def forecast(
    data,
    target,
    law: str = "loss",
    prior: dict | None = None,
    draws: int = 1000,
    tune: int | None = None,
    chains: int = 4,
    seed: int | None = None,
    progress: bool = True,
    target_accept: float | None = None,
    **law_options,
):
    """Fit ``law`` to ``data`` with NUTS and forecast it at ``target`` compute (FLOPs).

    ``law="loss"``: ``data`` has columns ``compute`` and ``loss``. ``law="pass_rate"``:
    per-problem pass counts (``compute, problem, n, correct``), with the options
    ``buckets=6``, ``exclude_hardest=15``, ``pass_at=(10,)``, ``soft_buckets="auto"``
    (problems near a bucket border may follow the neighbour's exponent), ``problem_k=False``
    and ``run_shifts="auto"`` (docs/pass-rate-law.md); GPT-4's point method is
    ``bs.point_forecast``. ``target`` is a number or a
    sequence. ``law="two_step"``: ``compute, task_loss, accuracy`` with the options
    ``floor`` (chance level) and ``items`` (task size). ``law="chinchilla"``: runs with
    ``params``, ``tokens``, ``loss``, and ``target`` a DataFrame with ``params`` and
    ``tokens``. ``prior`` overrides default
    priors by parameter name with pymc-extras ``Prior`` objects. ``seed=None`` draws a
    seed and records it, so every forecast can be reproduced. Warns (``SamplerWarning``)
    when diagnostics fail, (``TrendReversalWarning``) when a capability law's runs
    fall with compute, and (``CurvatureWarning``) when the runs bend away from the loss law.
    """
    if "method" in law_options:  # the point method was once forecast(method="point")
        raise ValueError("forecast() fits a posterior; GPT-4's point method is bs.point_forecast(counts, target)")
    law = get_law(law)
    table = law.load(data)
    # point at the caller of forecast(); a law whose targets are not compute checks its own
    targets = law.check_targets(table, target, stacklevel=3)
    try:
        prepared = law.prepare(table, **law_options)
    except TypeError as err:
        raise ValueError(f"law {law.name!r} does not take these options: {sorted(law_options)} ({err})") from None
    fit_table, per_problem, options = prepared
    overrides = resolve_priors(law, prior)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**31)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    settings = sampling.SamplerSettings(
        draws=draws,
        tune=law.tune_for(options) if tune is None else tune,
        chains=chains,
        target_accept=law.target_accept if target_accept is None else target_accept,
        seed=int(seed),
        progress=progress,
        dense_mass=law.dense_mass,
        jitter=law.jitter,
        log_likelihood=law.log_likelihood,  # pointwise per fitted row, for LOO
    )

    model = law.build_model(prepared, overrides)
    structure = (
        law.name,
        tuple(sorted((k, repr(v)) for k, v in overrides.items())),
        law.structure(options),  # e.g. the likelihood a law was asked for
    )
    idata = sampling.sample(model, settings, key=structure)
    if law.complete_posterior is not None:  # what the model integrated out, drawn per posterior draw
        law.complete_posterior(idata.posterior, prepared, np.random.default_rng([settings.seed, 2]))

    constant = xr.Dataset(
        {name: ("row", fit_table[name].to_numpy()) for name in fit_table.columns if name != law.observed and _storable(fit_table[name])}
    )
    for name, values in per_problem.items():
        constant[name] = ("benchmark_problem", np.asarray(values))
    if law.loo_log_likelihood is not None:  # rows that are not independent: their LOO terms in closed form
        pointwise = law.loo_log_likelihood(idata.posterior, constant, options)
        if pointwise is not None:  # replaces those variables' terms; the others' stay the sampler's
            if "log_likelihood" in idata.groups():
                kept = {name: values.to_numpy() for name, values in idata.log_likelihood.items() if name not in pointwise}
                pointwise = {**kept, **pointwise}
                del idata.log_likelihood
            idata.add_groups(log_likelihood=az.from_dict(log_likelihood=pointwise).log_likelihood)
    rng = np.random.default_rng([settings.seed, 1])
    predictions = law.predict(idata.posterior, constant, options, targets, rng)
    for name, values in predictions.items():
        if not np.all(np.isfinite(values)):
            raise FloatingPointError(f"the forecast of {name} has non-finite draws; check the data and the priors")
    idata.add_groups(
        predictions=xr.Dataset(
            {name: (_DIMS[: values.ndim], values) for name, values in predictions.items()},
            coords=None if law.bucket_labels is None else {"bucket": law.bucket_labels(options)},
        ),
        predictions_constant_data=xr.Dataset(_target_columns(targets)),
        observed_data=xr.Dataset({law.observed: ("row", fit_table[law.observed].to_numpy())}),
        constant_data=constant,
    )
    idata.attrs[_ATTR] = json.dumps(
        {
            "law": law.name,
            "quantities": law.quantities(options),
            "observed": law.observed,
            "options": options,
            "parameters": [name for name in law.diagnosed if name in idata.posterior],  # options may drop some
            "priors": {k: v for k, v in prior_descriptions(law, overrides).items() if k in idata.posterior},
            "data_sha256": validated_table_hash(table),  # the law's loader validated it
            "data_source": str(table.attrs.get("source", "DataFrame")),
            "data_file_sha256": table.attrs.get("file_sha256"),  # of the file's bytes; None for a DataFrame
            "data_note": table.attrs.get("note"),  # what the data are, where the caller said (the demo)
            "law_options": law_options,  # as given, so the self-backtest can refit the same model
            "prior_overrides": _prior_dicts(overrides),
            "seed": settings.seed,
            "draws": settings.draws,
            "tune": settings.tune,
            "chains": settings.chains,
            "target_accept": settings.target_accept,
            "versions": _versions(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
        default=_jsonable,
    )
    result = Forecast(idata)
    sampling.warn_if_unhealthy(result.diagnostics)
    warn_if_reversing(result)
    warn_if_bending(result)
    return result


def load_forecast(path) -> Forecast:
    """Read a forecast written by ``Forecast.save``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no forecast file at {path}")
    check_netcdf(path)
    with az.rc_context({"data.load": "eager"}):  # read it all and close the file: it can then be saved over
        idata = az.from_netcdf(path)
    if _ATTR not in idata.attrs:
        raise ValueError(f"{path} is a netCDF file but not a bayes_scaling forecast (no {_ATTR!r} attribute)")
    return Forecast(idata)


def check_netcdf(path: Path) -> None:
    """Refuse, by name, a file that is not netCDF (a CSV given where a forecast is expected)."""
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a directory, not a forecast file (what Forecast.save or forecast --save writes)")
    with open(path, "rb") as handle:
        start = handle.read(8)
    if not start.startswith(_NETCDF_MAGIC):
        raise ValueError(
            f"{str(path)!r} is not a netCDF file (it starts with {start!r}); a forecast file is what "
            "Forecast.save or `bayes-scaling forecast --save` writes"
        )


class Forecast:
    """The posterior predictive of a law at one or more target computes."""

    def __init__(self, idata: az.InferenceData):
        self.idata = idata
        self.settings = json.loads(idata.attrs[_ATTR])
        self._verdicts = {}  # self_backtest -> Verdict: the self-backtest refits, so it is made once

    # -- what was forecast -------------------------------------------------------------
    @property
    def law(self) -> str:
        return self.settings["law"]

    @property
    def targets(self) -> np.ndarray:
        return self.idata.predictions_constant_data["compute"].to_numpy()

    @property
    def quantities(self) -> list[str]:
        """What is forecast; the first is the default of ``interval``, ``prob_below``..."""
        return list(self.settings["quantities"])

    @property
    def bucket_labels(self) -> list[str] | None:
        predictions = self.idata.predictions
        return [str(b) for b in predictions["bucket"].to_numpy()] if "bucket" in predictions.dims else None

    @cached_property
    def runs(self) -> pd.DataFrame:
        """The table the law was fitted on (runs, or pass counts of the kept problems)."""
        constant = self.idata.constant_data
        columns = {name: constant[name].to_numpy() for name in constant.data_vars if constant[name].dims == ("row",)}
        observed = self.settings["observed"]
        columns[observed] = self.idata.observed_data[observed].to_numpy()
        frame = pd.DataFrame(columns)
        first = [name for name in ("run", "compute", "problem", observed) if name in frame]
        return frame[first + [name for name in frame.columns if name not in first]]

    @cached_property
    def buckets(self) -> pd.DataFrame | None:
        """Pass-rate law: each problem's difficulty score and bucket (0 = left out as too hard),
        and with soft buckets the prior and posterior probability that it follows a neighbouring
        bucket's exponent."""
        constant = self.idata.constant_data
        if "benchmark_problem" not in constant.dims:
            return None
        frame = pd.DataFrame(
            {name: constant[name].to_numpy() for name in constant.data_vars if constant[name].dims == ("benchmark_problem",)}
        ).rename(columns={"problem_name": "problem"})
        describe = get_law(self.law).describe_buckets  # e.g. soft buckets' membership
        return frame if describe is None else describe(frame, self.idata.posterior, constant)

    @property
    def provenance(self) -> dict:
        """Where the fitted data came from: ``source`` (a file path, or "DataFrame"), ``file_sha256``
        (of the file's bytes; None for a DataFrame), ``sha256`` (of the validated table, whatever its
        format) and ``note`` (what the data are, e.g. synthetic; None if nobody said)."""
        s = self.settings
        return {
            "source": s["data_source"],
            "file_sha256": s.get("data_file_sha256"),  # absent from forecasts saved before it existed
            "sha256": s["data_sha256"],
            "note": s.get("data_note"),
        }

    @cached_property
    def diagnostics(self) -> sampling.Diagnostics:
        return sampling.diagnose(self.idata, var_names=list(self.settings["parameters"]))

    @property
    def ok(self) -> bool:
        return self.diagnostics.ok

    @cached_property
    def curvature(self) -> dict | None:
        """Does the ladder bend away from the loss law? The extrapolation error's bend (``bayes_scaling.checks.curvature``)."""
        return check_curvature(self)

    @cached_property
    def trend_reversal(self) -> pd.DataFrame | None:
        """Capability laws: P(the fitted runs' performance falls with compute); docs/trend-reversal.md."""
        return check_trend_reversal(self)

    # -- the answers ---------------------------------------------------------------------
    def draws(self, kind: str = "predictive", quantity: str | None = None, bucket: str | None = None) -> np.ndarray:
        """Draws at the targets, shape (n_draws, n_targets).

        ``kind="predictive"``: one new run (with run-to-run noise, where the law has it);
        ``"mean"``: the mean curve. ``quantity`` defaults to the law's first (``loss``,
        ``pass_rate``); ``bucket`` to ``"all"`` for per-bucket laws.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        quantity = self.quantities[0] if quantity is None else quantity
        if quantity not in self.quantities:
            raise ValueError(f"quantity must be one of {self.quantities}, got {quantity!r}")
        name = f"mean_{quantity}" if kind == "mean" and f"mean_{quantity}" in self.idata.predictions else quantity
        values = self.idata.predictions[name]
        labels = self.bucket_labels
        if labels is None:
            if bucket is not None:
                raise ValueError(f"the {self.law!r} law has no buckets")
        else:
            bucket = "all" if bucket is None else str(bucket)
            if bucket not in labels:
                raise ValueError(f"bucket must be one of {labels}, got {bucket!r}")
            values = values.sel(bucket=bucket)
        values = values.to_numpy()
        return values.reshape(-1, values.shape[-1])

    def interval(self, prob: float = 0.9, kind: str = "predictive", quantity: str | None = None, bucket: str | None = None):
        """Equal-tailed credible interval ``(lower, upper)``: floats for one target, arrays for several.

        Equal-tailed (not HDI) so that ``P(below lower) = P(above upper) = (1 - prob)/2``,
        the same tails ``prob_below`` and ``prob_above`` speak of.
        """
        lower, upper = central_interval(self.draws(kind, quantity, bucket), prob)
        return self._per_target(lower), self._per_target(upper)

    def prob_below(self, threshold: float, kind: str = "predictive", quantity: str | None = None, bucket: str | None = None):
        """P(value < threshold) at each target."""
        return self._per_target((self.draws(kind, quantity, bucket) < threshold).mean(axis=0))

    def prob_above(self, threshold: float, kind: str = "predictive", quantity: str | None = None, bucket: str | None = None):
        """P(value > threshold) at each target."""
        return self._per_target((self.draws(kind, quantity, bucket) > threshold).mean(axis=0))

    def to_frame(self, kind: str = "predictive", quantity: str | None = None) -> pd.DataFrame:
        """One row per target (and bucket and quantity, for per-bucket laws).

        Columns: compute, mean, median, lower_50, upper_50, lower_90, upper_90, and for
        per-bucket laws also ``bucket`` (``"all"`` for all kept problems) and ``quantity``;
        ``quantity`` keeps only that one's rows (default: every quantity).
        """
        labels = self.bucket_labels
        if labels is None:
            return interval_frame(self.draws(kind, quantity), compute=self.targets)
        frames = [
            interval_frame(self.draws(kind, name, bucket), compute=self.targets).assign(bucket=bucket, quantity=name)
            for name in (self.quantities if quantity is None else [quantity])
            for bucket in labels
        ]
        return pd.concat(frames, ignore_index=True)

    def parameters(self, var_names=None, **summary) -> pd.DataFrame:
        """Posterior summary of the law's parameters (``az.summary``, given ``summary``'s options),
        without per-problem ones unless named."""
        per_problem = get_law(self.law).per_problem_variables  # one per problem: too many rows
        names = [n for n in self.settings["parameters"] if n not in per_problem] if var_names is None else var_names
        return az.summary(self.idata, var_names=list(names), **summary)

    def verdict(self, self_backtest: bool = True, progress: bool = False):
        """``ready``, ``caution`` or ``do-not-rely``, with its reasons (``bayes_scaling.checks.verdict``).

        ``self_backtest`` refits the law without the largest run or two and asks whether they
        fell inside its intervals: one more, shorter fit, made once per forecast and kept.
        """
        from bayes_scaling.checks.verdict import assess

        if self_backtest not in self._verdicts:
            self._verdicts[self_backtest] = assess(self, self_backtest=self_backtest, progress=progress, refit_with=forecast)
        return self._verdicts[self_backtest]

    # -- output ----------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write everything (posterior, predictions, data, settings) to one netCDF file."""
        path = Path(path)
        self.idata.to_netcdf(str(path))
        return path

    def plot(self, path=None, ax=None, kind: str = "predictive", thresholds=(), actual=None):
        """Fan chart: data, median curve and 50/90% bands out to the targets (log compute), and thresholds;
        ``actual`` (``compute`` and the quantity) adds runs measured after the forecast."""
        from bayes_scaling.output.plotting import fan_chart

        return fan_chart(self, path=path, ax=ax, kind=kind, thresholds=thresholds, actual=actual)

    def report(self, path, thresholds=(), self_backtest: bool = True) -> Path:
        """Write a risk-review report: self-contained HTML, or Markdown with PNGs beside it.

        It opens with the verdict; ``self_backtest=False`` skips the verdict's refit (and says so).
        """
        from bayes_scaling.output.report import SUFFIXES, write_report

        if Path(path).suffix.lower() not in SUFFIXES:  # before the verdict's refit
            raise ValueError(f"report path must end in .html or .md, got {Path(path).name!r}")
        return write_report(self, path, thresholds=thresholds, verdict=self.verdict(self_backtest))

    def __repr__(self) -> str:
        frame = self.to_frame(quantity=self.quantities[0])
        what = f"{self.quantities[0]} per bucket" if "bucket" in frame else "predictive intervals for one new run"
        table = frame.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        health = "ok" if self.ok else "FAILED: " + "; ".join(self.diagnostics.problems())
        fitted = f"{len(self.runs)} pass counts" if self.bucket_labels is not None else f"{len(self.runs)} runs"
        return (
            f"Forecast(law={self.law!r}, {fitted}, seed={self.settings['seed']})\n"
            f"{what}:\n{table}\ndiagnostics: {health}"
        )

    def _per_target(self, values: np.ndarray):
        return float(values[0]) if values.shape[0] == 1 else values


def _target_columns(targets) -> dict:
    """Targets as data variables: compute alone, or every column a law's targets have."""
    if isinstance(targets, pd.DataFrame):
        return {name: ("target", targets[name].to_numpy()) for name in targets.columns}
    return {"compute": ("target", targets)}


def _storable(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_string_dtype(column)


def _prior_dicts(overrides: dict) -> dict | None:
    """The user's priors as pymc-extras dicts (``Prior.from_dict`` reads them back); None if one has no dict form."""
    try:
        return {name: prior.to_dict() for name, prior in overrides.items()}
    except Exception:  # e.g. a parameter that is a PyTensor expression
        return None


def _jsonable(value):
    """numpy values in settings (a user's ``items=np.int64(...)``) as plain JSON."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found

"""``forecast()``: fit a law to a ladder with NUTS and predict at the target compute.

It runs a law's steps (load, check the targets, prepare, build the model, sample, predict) and
records everything needed to reproduce the fit (data hash, priors, options, seed, versions) in
the ``InferenceData`` it wraps in a ``Forecast`` (``forecast_result.py``).
"""

from __future__ import annotations

import json
import platform
import warnings
from datetime import datetime, timezone
from importlib import metadata

import numpy as np
import pandas as pd

from bayes_scaling.quiet import quietly

with quietly():  # often the first import of ArviZ
    import arviz as az
import xarray as xr

from bayes_scaling.forecast_result import _ATTR, Forecast
from bayes_scaling.inference import nuts
from bayes_scaling.inference.diagnostics import warn_if_unhealthy
from bayes_scaling.tables import validated_table_hash
from bayes_scaling.laws import get_law, prior_descriptions, resolve_priors
from bayes_scaling.checks.curvature import warn_if_bending
from bayes_scaling.checks.trend_reversal import warn_if_reversing

_DIMS = ("chain", "draw", "target", "bucket")
_VERSIONED = ("bayes_scaling", "pymc", "pytensor", "arviz", "numpyro", "jax", "numpy", "pandas")


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

    ``seed=None`` draws a seed and records it, so every forecast can be reproduced; the
    same seed gives identical draws. GPT-4's point method is ``bs.point_forecast``.

    Parameters
    ----------
    data : str, os.PathLike or pandas.DataFrame
        The law's table, or a file its loader reads. ``"loss"`` and ``"broken_loss"``:
        ``compute`` and ``loss`` (``load_runs``; the bent law needs 6 distinct computes). ``"pass_rate"``: per-problem pass counts ``compute, problem, n,
        correct`` (``load_pass_counts``). ``"two_step"``: ``compute, task_loss, accuracy``
        (``load_capability_runs``). ``"chinchilla"``: runs with ``params``, ``tokens``,
        ``loss``.
    target : float, sequence of float or pandas.DataFrame
        The compute to forecast at; for ``"chinchilla"`` a DataFrame with ``params`` and
        ``tokens``.
    law : {"loss", "pass_rate", "two_step", "chinchilla", "broken_loss"}, default "loss"
        The scaling law to fit.
    prior : dict, optional
        Overrides of the law's default priors, parameter name -> pymc-extras ``Prior``.
    draws : int, default 1000
        Posterior draws per chain.
    tune : int, optional
        Tuning steps per chain (default: the law's own, e.g. 2000 for ``"loss"``).
    chains : int, default 4
        Chains, run in parallel on JAX's host devices.
    seed : int, optional
        A non-negative integer; default a drawn one, recorded in ``settings["seed"]``.
    progress : bool, default True
        Show the sampler's progress (a bar on a terminal, a line per tenth otherwise).
    target_accept : float, optional
        NUTS's target acceptance rate, in (0, 1) (default: the law's own).
    **law_options
        The law's options. ``"loss"``: ``extrapolation_error``. ``"pass_rate"``:
        ``buckets=6``, ``exclude_hardest=15``, ``pass_at=(10,)``, ``soft_buckets="auto"``
        (problems near a bucket border may follow the neighbour's exponent),
        ``problem_k=False``, ``run_shifts="auto"``, ``cell_noise="auto"``
        (docs/pass-rate-law.md). ``"two_step"``: ``floor`` (chance level), ``items``
        (task size), ``extrapolation_error``. ``"chinchilla"``: ``likelihood``,
        ``extrapolation_error``.

    Returns
    -------
    Forecast
        The posterior predictive at the targets: ``interval``, ``prob_below``,
        ``to_frame``, ``plot``, ``verdict``, ``report``, ``save``...

    Raises
    ------
    DataError
        When the data (see the law's loader) or the targets are unusable.
    ValueError
        For an unknown law, an option the law does not take or a bad option value, a
        ``prior`` that is not a dict of ``Prior`` objects on the law's parameters (or puts
        mass outside a parameter's support), a ``seed`` that is not a non-negative integer,
        ``draws`` or ``chains`` < 1, ``tune`` < 0, or ``target_accept`` outside (0, 1).
    FloatingPointError
        When a forecast draw is not finite (check the data and the priors).

    Warns
    -----
    SamplerWarning
        When the sampler's diagnostics fail (r_hat, ESS, divergences).
    ExtrapolationWarning
        For a target inside, below or more than 10^6 × past the fitted compute.
    IdentifiabilityWarning
        When the data leave part of the law to its prior (``"chinchilla"``, ``"pass_rate"``).
    IncompleteRunsWarning
        When pass counts lack some runs' rows for problems other runs have.
    TrendReversalWarning
        When a capability law's fitted runs fall with compute.
    CurvatureWarning
        When the runs bend away from the loss law.
    UserWarning
        When the table's ``family`` column names several recipes: one curve is fitted through
        all of them (``bs.compare_recipes`` fits each on its own).

    See Also
    --------
    load_forecast, point_forecast, backtest, compare

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> fc = bs.forecast(bs.example_runs(), target=[1e21, 1e22], seed=0)
    >>> fc.interval(0.9)  # where one new run's loss lands, at each target
    >>> counts = bs.example_pass_counts()
    >>> fc = bs.forecast(counts, target=1e22, law="pass_rate", buckets=6, exclude_hardest=15, seed=0)
    >>> from pymc_extras.prior import Prior
    >>> fc = bs.forecast(bs.example_runs(), target=1e21, prior={"sigma": Prior("HalfNormal", sigma=0.01)}, seed=0)
    """
    if "method" in law_options:  # the point method was once forecast(method="point")
        raise ValueError("forecast() fits a posterior; GPT-4's point method is bs.point_forecast(counts, target)")
    law = get_law(law)
    table = law.load(data)
    _warn_if_several_recipes(table)
    # point at the caller of forecast(); a law whose targets are not compute checks its own
    targets = law.check_targets(table, target, stacklevel=3)
    try:
        prepared = law.prepare(table, **law_options)
    except TypeError as err:
        raise ValueError(f"law {law.name!r} does not take these options: {sorted(law_options)} ({err})") from None
    fit_table, per_problem, options = prepared
    overrides = resolve_priors(law, prior)
    seed = checked_seed(seed)
    settings = nuts.SamplerSettings(
        draws=draws,
        tune=law.tune_for(options) if tune is None else tune,
        chains=chains,
        target_accept=law.target_accept if target_accept is None else target_accept,
        seed=seed,
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
    idata = nuts.sample(model, settings, key=structure)
    if law.complete_posterior is not None:  # what the model integrated out, drawn per posterior draw
        law.complete_posterior(idata.posterior, prepared, np.random.default_rng([settings.seed, 2]))
    result = finish_forecast(
        idata, law, table, targets, prepared, settings, law_options,
        priors=prior_descriptions(law, overrides), prior_overrides=overrides, rng=np.random.default_rng([settings.seed, 1]),
    )
    warn_if_unhealthy(result.diagnostics)
    warn_if_reversing(result)
    warn_if_bending(result)
    return result


def finish_forecast(idata, law, table, targets, prepared, settings, law_options: dict, priors: dict,
                    prior_overrides: dict, rng: np.random.Generator) -> Forecast:
    """A sampled posterior as a ``Forecast``: the predictions at the targets, the fitted table,
    closed-form LOO terms where the law has them and every setting needed to reproduce it. It
    warns of nothing: the caller warns where the user's call is (``warn_if_unhealthy``...).

    ``forecast()`` calls it after sampling; ``compare_recipes`` calls it once per recipe with
    that recipe's slice of a joint posterior. ``priors``: each parameter's prior as the report
    prints it; ``rng`` draws the run noise of the predictions.
    """
    fit_table, per_problem, options = prepared
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
            "priors": {k: v for k, v in priors.items() if k in idata.posterior},
            "data_sha256": validated_table_hash(table),  # the law's loader validated it
            "data_source": str(table.attrs.get("source", "DataFrame")),
            "data_file_sha256": table.attrs.get("file_sha256"),  # of the file's bytes; None for a DataFrame
            "data_note": table.attrs.get("note"),  # what the data are, where the caller said (the demo)
            "law_options": law_options,  # as given, so the self-backtest can refit the same model
            "prior_overrides": _prior_dicts(prior_overrides),
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
    return Forecast(idata, refit=forecast)


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


def checked_seed(seed) -> int:
    """``seed`` as an int after checking it is a non-negative integer; ``None``: a drawn one."""
    if seed is None:
        return int(np.random.SeedSequence().entropy % 2**31)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _warn_if_several_recipes(table: pd.DataFrame) -> None:
    """One law through several recipes' runs is rarely what was meant: say so, and what fits each."""
    if "family" not in table.columns:
        return
    names = list(pd.unique(table["family"].astype(str)))
    if len(names) > 1:
        shown = ", ".join(repr(name) for name in names[:5]) + (", ..." if len(names) > 5 else "")
        warnings.warn(
            f"column 'family' names {len(names)} recipes ({shown}); this forecast fits one curve through all their runs. "
            "To compare them use bs.compare_recipes(runs, target); to forecast one, select its rows first",
            UserWarning,
            stacklevel=3,
        )

"""Scaling laws, one module each: a PyMC model, its mean function and its default priors.

Every law module has ``NAME``, ``OBSERVED`` (the observed column), ``PARAMETERS``
(sampled), ``DERIVED``, ``DIAGNOSED``, ``PRIOR_NAMES`` (what a prior may be set on),
``SUPPORT``, ``PRIOR_REASONS``, ``TARGET_ACCEPT``, ``DENSE_MASS``, and the steps of a fit:
``load(data)`` -> table; ``prepare(table, **options)`` -> (fitted table, per-problem
arrays, options); ``build_model(table, per_problem, options, priors)`` -> ``pm.Model``;
``predict(posterior, constant_data, options, compute, rng)`` -> {name: draws};
``quantities(options)`` -> output names, the default first.

Optional hooks, in ``OPTIONAL`` with their defaults; a module without one gets the
default set on it here, once, so every use reads a plain attribute:

- ``PRIOR_ALTERNATIVES`` ({}): a prior on key X replaces the default one on value Y;
- ``JITTER`` (1.0): the sampler's jitter of the initial point;
- ``LOG_LIKELIHOOD`` (True; False: no pointwise log-likelihood, so no LOO);
- ``check_targets(table, target, stacklevel)`` (``data.check_targets``, compute targets);
- ``TARGET_COLUMNS`` (()): columns besides compute a target has (the backtest hands them over);
- ``structure(options)`` (()): options that change the model's graph;
- ``bucket_labels(options)`` (None: no buckets); ``describe_buckets(frame, posterior, constant)``
  (None): the per-problem table of ``Forecast.buckets``;
- ``run_performance(posterior, constant, runs, options, rng)`` (None: not a capability law,
  no trend-reversal check);
- ``PER_PROBLEM`` (()): variables with one value per benchmark problem, left out of
  ``Forecast.parameters()`` (too many rows; they are still diagnosed);
- ``FORMULA`` and ``ASSUMPTION`` (None): the law as a formula and what it assumes, in words,
  for the report ("Fitted the 'loss' law (L(C) = a·C^b + c)", "The law assumes one power law...");
- ``TUNE`` (1000): default tuning steps per chain (a dense mass matrix may need more);
  ``tune_steps(options)`` (None: ``TUNE``) where the options change it;
- ``complete_posterior(posterior, per_problem, options, rng)`` (None): after sampling, draw in
  place what the model integrated out (the pass-rate law's never-solved problems);
- ``loo_log_likelihood(posterior, constant, options)`` (None): {observed name: (chain, draw, row)}
  leave-one-out log-densities that replace the sampler's pointwise terms, for likelihoods that do
  not factorise over rows (the loss law's extrapolation error); returning None keeps the sampler's.
"""

from __future__ import annotations

from types import MappingProxyType, ModuleType

from bayes_scaling.quiet import quietly

with quietly():  # the first import of PyMC (and ArviZ) when a law is imported first
    from pymc_extras.prior import Prior

from bayes_scaling.data import check_targets
from bayes_scaling.laws import chinchilla, loss, pass_rate, two_step


def _no_structure(options: dict) -> tuple:
    return ()


OPTIONAL = MappingProxyType(
    {
        "PRIOR_ALTERNATIVES": MappingProxyType({}),
        "JITTER": 1.0,
        "LOG_LIKELIHOOD": True,
        "check_targets": check_targets,
        "TARGET_COLUMNS": (),
        "structure": _no_structure,
        "bucket_labels": None,
        "describe_buckets": None,
        "run_performance": None,
        "PER_PROBLEM": (),
        "FORMULA": None,
        "ASSUMPTION": None,
        "complete_posterior": None,
        "loo_log_likelihood": None,
        "tune_steps": None,
        "TUNE": 1000,
    }
)


def _with_defaults(module: ModuleType) -> ModuleType:
    """Set every optional hook ``module`` lacks to its default (see the module docstring)."""
    for name, default in OPTIONAL.items():
        if not hasattr(module, name):
            setattr(module, name, default)
    return module


LAWS: dict[str, ModuleType] = {module.NAME: _with_defaults(module) for module in (loss, pass_rate, two_step, chinchilla)}

PRIOR_CHECK_DRAWS = 4000


def get_law(name: str) -> ModuleType:
    """The law module called ``name``; a ValueError lists the known ones."""
    try:
        return LAWS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown law {name!r}; choose one of {sorted(LAWS)}") from None


def resolve_priors(law: ModuleType, prior: dict | None) -> dict[str, Prior]:
    """Check user prior overrides: known names, ``Prior`` objects, mass inside the support.

    Returns only the overrides; the law fills in its defaults when it builds the model.
    """
    if prior is None:
        return {}
    if not isinstance(prior, dict):
        raise ValueError(f"prior must be a dict of parameter name -> Prior, got {type(prior).__name__}")
    checked = {}
    for name, value in prior.items():
        if name not in law.PRIOR_NAMES:
            derived = f" ({name!r} is derived from the others)" if name in law.DERIVED else ""
            raise ValueError(
                f"no prior can be set on {name!r} in the {law.NAME!r} law{derived}; "
                f"priors can be set on {list(law.PRIOR_NAMES)}"
            )
        if not isinstance(value, Prior):
            raise ValueError(
                f"prior for {name!r} must be a pymc_extras.prior.Prior, got {value!r}; "
                f'e.g. Prior("Normal", mu=0, sigma=1)'
            )
        _check_support(law, name, value)
        checked[name] = value
    for given, replaced in law.PRIOR_ALTERNATIVES.items():
        if given in checked and replaced in checked:
            raise ValueError(
                f"give a prior on {given!r} or on {replaced!r}, not both: the law derives one from the other"
            )
    return checked


def _check_support(law: ModuleType, name: str, value: Prior) -> None:
    """Draw from the prior and refuse it if any draw leaves the law's support."""
    lower, upper = law.SUPPORT[name]
    try:
        try:  # JAX compiles in milliseconds; a few distributions exist only in the C backend
            sampled = value.sample_prior(name=name, draws=PRIOR_CHECK_DRAWS, random_seed=0, compile_kwargs={"mode": "JAX"})
        except NotImplementedError:
            sampled = value.sample_prior(name=name, draws=PRIOR_CHECK_DRAWS, random_seed=0)
        draws = sampled[name].to_numpy()
    except Exception as err:  # a malformed Prior fails deep inside PyMC: say which one
        raise ValueError(f"prior for {name!r} cannot be sampled: {value!r}: {err}") from err
    outside = draws[~((draws > lower) & (draws < upper))]
    if outside.size:
        raise ValueError(
            f"prior for {name!r} puts mass outside ({lower}, {upper}): {value!r} drew "
            f"{outside.size} of {draws.size} values there, e.g. {float(outside.flat[0]):.4g}; "
            f"use a distribution bounded to that range (see docs/{law.NAME}-law.md)"
        )


def prior_descriptions(law: ModuleType, overrides: dict[str, Prior]) -> dict[str, str]:
    """The prior of every parameter as text, for reports and reproducibility."""
    described = {}
    for name in (*law.PRIOR_NAMES, *(n for n in law.PRIOR_REASONS if n not in law.PRIOR_NAMES)):
        if name in overrides:
            described[name] = repr(overrides[name])
        elif name in law.PRIOR_REASONS and not any(
            replaced == name and given in overrides for given, replaced in law.PRIOR_ALTERNATIVES.items()
        ):
            described[name] = law.PRIOR_REASONS[name][0]
    return described

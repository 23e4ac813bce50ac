"""Scaling laws, one module each (``pass_rate`` a package); each builds one ``Law`` (laws/law.py).

``LAWS`` maps a law's name to it, ``get_law`` looks one up, ``resolve_priors`` checks a user's
prior overrides against it and ``prior_descriptions`` writes its priors as text.
"""

from __future__ import annotations

from bayes_scaling.inference.jax_setup import configure_jax
from bayes_scaling.quiet import quietly

with quietly():  # the first import of PyMC (and ArviZ) when a law is imported first
    from pymc_extras.prior import Prior

from bayes_scaling.laws import broken_loss, chinchilla, loss, pass_rate, two_step
from bayes_scaling.laws.law import Law

LAWS: dict[str, Law] = {law.name: law for law in (loss.LAW, pass_rate.LAW, two_step.LAW, chinchilla.LAW, broken_loss.LAW)}

PRIOR_CHECK_DRAWS = 4000


def get_law(name: str) -> Law:
    """The law called ``name``; a ValueError lists the known ones."""
    try:
        return LAWS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown law {name!r}; choose one of {sorted(LAWS)}") from None


def resolve_priors(law: Law, prior: dict | None) -> dict[str, Prior]:
    """Check user prior overrides: known names, ``Prior`` objects, mass inside the support.

    Returns only the overrides; the law fills in its defaults when it builds the model.
    """
    if prior is None:
        return {}
    if not isinstance(prior, dict):
        raise ValueError(f"prior must be a dict of parameter name -> Prior, got {type(prior).__name__}")
    checked = {}
    for name, value in prior.items():
        if name not in law.prior_names:
            derived = f" ({name!r} is derived from the others)" if name in law.derived else ""
            raise ValueError(
                f"no prior can be set on {name!r} in the {law.name!r} law{derived}; "
                f"priors can be set on {list(law.prior_names)}"
            )
        if not isinstance(value, Prior):
            raise ValueError(
                f"prior for {name!r} must be a pymc_extras.prior.Prior, got {value!r}; "
                f'e.g. Prior("Normal", mu=0, sigma=1)'
            )
        _check_support(law, name, value)
        checked[name] = value
    for given, replaced in law.prior_alternatives.items():
        if given in checked and replaced in checked:
            raise ValueError(
                f"give a prior on {given!r} or on {replaced!r}, not both: the law derives one from the other"
            )
    return checked


def _check_support(law: Law, name: str, value: Prior) -> None:
    """Draw from the prior and refuse it if any draw leaves the law's support."""
    lower, upper = law.support[name]
    try:
        configure_jax()  # before JAX's first work in the process, so the chains still get their devices
        with quietly():
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
            f"use a distribution bounded to that range (see docs/{law.name.replace('_', '-')}-law.md)"
        )


def prior_descriptions(law: Law, overrides: dict[str, Prior]) -> dict[str, str]:
    """The prior of every parameter as text, for reports and reproducibility."""
    described = {}
    for name in (*law.prior_names, *(n for n in law.default_priors if n not in law.prior_names)):
        if name in overrides:
            described[name] = repr(overrides[name])
        elif name in law.default_priors and not any(
            replaced == name and given in overrides for given, replaced in law.prior_alternatives.items()
        ):
            described[name] = law.default_priors[name].shown
    return described

"""``Law``: what every scaling law supplies, so that generic code never asks a law's name.

A law is one frozen ``Law`` instance, built at the bottom of its own module (``loss.LAW``,
``pass_rate.LAW``...). ``forecast()`` runs its steps in order::

    table = law.load(data)                          # read and validate the law's table
    targets = law.check_targets(table, target)      # compute, or a DataFrame of target_columns
    prepared = law.prepare(table, **options)        # -> Prepared(table, per_problem, options)
    model = law.build_model(prepared, priors)       # a pm.Model with its data in pm.Data
    ... NUTS (bayes_scaling.inference.nuts) ...
    draws = law.predict(posterior, constant, options, targets, rng)   # {quantity: draws}

Everything else the report, the command line and the checks need is a field here with a
default that means "this law has none": caveats, command-line options, buckets, a
trend-reversal check, closed-form leave-one-out terms. This module imports neither PyMC nor
JAX, so the command line can read a law's options without them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from bayes_scaling.tables import check_targets as check_compute_targets


class Prepared(NamedTuple):
    """A law's table ready to fit: the rows, per-problem arrays (a capability law's; else empty)
    and the options with every default and measured setting filled in (stored in the forecast)."""

    table: pd.DataFrame
    per_problem: dict
    options: dict


@dataclass(frozen=True)
class CliOption:
    """One ``bayes-scaling forecast`` flag that becomes a keyword of ``law.prepare``."""

    option: str  # the keyword of prepare, e.g. "exclude_hardest"
    help: str
    type: Callable[[str], Any] | None = None  # raises argparse.ArgumentTypeError with its reason
    repeatable: bool = False  # given several times: a list
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.option.replace("_", "-")


def _no_caveats(options: dict) -> list[str]:
    return []


def _no_structure(options: dict) -> tuple:
    return ()


@dataclass(frozen=True)
class DefaultPrior:
    """One parameter's default prior, beside why it is the default (reports print both).

    ``prior`` is a pymc-extras ``Prior``; where the default depends on the data (the loss law's
    level sits at the median observed loss) a function of the model's data nodes that returns
    one; ``None`` where an option sets it (the extrapolation error's scale). ``shown`` is how
    reports and docs print it (``tests/test_forecast.py`` checks it is the same ``Prior``).
    """

    prior: Any
    shown: str
    reason: str


def build_default_priors(defaults: Mapping[str, DefaultPrior], *data) -> dict:
    """The ``Prior`` of every default in ``defaults`` that has one, data-dependent ones built from ``data``."""
    return {
        name: default.prior(*data) if callable(default.prior) else default.prior
        for name, default in defaults.items()
        if default.prior is not None
    }


@dataclass(frozen=True, kw_only=True)
class Law:
    """One scaling law: its PyMC model, mean function, priors and what it tells the outputs."""

    # -- what it is ------------------------------------------------------------------------
    name: str
    observed: str  # the observed column, e.g. "loss"
    formula: str  # the law as a formula, for the report ("L(C) = a·C^b + c")
    assumption: str  # what it assumes, in words ("one power law plus a constant")
    rising: bool = False  # the headline quantity rises with compute (pass rates, accuracy)

    # -- parameters and priors -----------------------------------------------------------------
    parameters: tuple[str, ...]  # sampled
    derived: tuple[str, ...]
    diagnosed: tuple[str, ...]  # r_hat and ESS are checked on these
    prior_names: tuple[str, ...]  # what a prior may be set on
    support: Mapping[str, tuple[float, float]]
    default_priors: Mapping[str, DefaultPrior]  # every default prior beside why it is the default
    prior_alternatives: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # a prior on key X replaces the default on Y
    per_problem_variables: tuple[str, ...] = ()  # one value per problem: left out of Forecast.parameters()

    # -- sampler settings ------------------------------------------------------------------------
    target_accept: float
    dense_mass: bool
    jitter: float = 1.0  # of the initial point
    tune: int = 1000
    tune_steps: Callable[[dict], int] | None = None  # where the options change ``tune``
    log_likelihood: bool = True  # False: no pointwise log-likelihood, so no LOO

    # -- the steps of a fit --------------------------------------------------------------------
    load: Callable[[Any], pd.DataFrame]
    prepare: Callable[..., Prepared]
    build_model: Callable[[Prepared, dict], Any]  # -> pm.Model
    predict: Callable[..., dict[str, np.ndarray]]  # (posterior, constant, options, targets, rng)
    quantities: Callable[[dict], list[str]]  # output names, the default first
    check_targets: Callable[..., Any] = check_compute_targets
    target_columns: tuple[str, ...] = ()  # besides compute, what a target has (chinchilla: params, tokens)
    target_help: Mapping[str, tuple[str, str]] = field(default_factory=lambda: MappingProxyType({}))  # column -> (metavar, help) on the command line
    structure: Callable[[dict], tuple] = _no_structure  # options that change the model's graph
    complete_posterior: Callable | None = None  # draw after sampling what the model integrated out
    loo_log_likelihood: Callable | None = None  # closed-form LOO terms where rows are not independent
    # (posterior, options, mean, observed) -> log p(observed | each draw) of one new run, up to a
    # constant (laws/run_noise.py); None where the law has none, or returns None where runs are coupled
    run_log_density: Callable | None = None

    # -- capability laws -----------------------------------------------------------------------
    bucket_labels: Callable[[dict], list[str]] | None = None  # None: no buckets
    describe_buckets: Callable | None = None  # the per-problem table of Forecast.buckets
    run_performance: Callable | None = None  # None: no trend-reversal check

    # -- what it tells the outputs ---------------------------------------------------------------
    caveats: Callable[[dict], list[str]] = _no_caveats  # the report's law-specific caveats, from the options
    settings_lines: Callable[[dict], list[str]] = _no_caveats  # what the command line prints of the options
    cli_options: tuple[CliOption, ...] = field(default=())

    def tune_for(self, options: dict) -> int:
        """Default tuning steps per chain for these options."""
        return self.tune if self.tune_steps is None else self.tune_steps(options)

    def targets_of(self, table: pd.DataFrame):
        """The targets that would forecast ``table``'s own rows: compute, or its target columns."""
        if self.target_columns:
            return table[["compute", *self.target_columns]]
        return table["compute"].to_numpy(dtype=float)

"""Shared fixtures: the example ladder and one default forecast reused across tests."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

import bayes_scaling as bs


def pytest_configure(config):
    """JAX set up as a user's script has it when its first JAX work is a forecast: collecting the
    tests imports modules that start JAX, which would otherwise leave one host device."""
    from bayes_scaling.inference import jax_setup
    jax_setup.configure_jax()

# ../shared/data beside the checkout; BAYES_SCALING_SHARED_DATA points elsewhere (e.g. from a git worktree)
SHARED_DATA = Path(os.environ.get("BAYES_SCALING_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
TARGETS = [1e21, 1e22]


@pytest.fixture(scope="session")
def example():
    return bs.example_runs()


@pytest.fixture(scope="session")
def example_forecast(example):
    """A default forecast (4 chains × 1000 draws after 1000 tuning steps), seed 0."""
    return bs.forecast(example, target=TARGETS, seed=0, progress=False)


@pytest.fixture(scope="session")
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"published scaling data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def prior_draws(monkeypatch):
    """For tests of plumbing only (hashes, options passed through, what a command prints):
    ``forecast`` gets draws of the prior instead of a NUTS run (compiled by JAX, a few seconds
    for the largest model, against 20-40 s for its fit). They are not a posterior: never assert
    a statistical property under this fixture, only what the prior implies (an override reaching
    the model). Diagnostics are computed from them as from any draws (independent draws pass)."""
    import arviz as az
    import numpy as np
    import pymc as pm

    from bayes_scaling.inference import nuts
    def from_prior(model, settings, key):
        total = settings.chains * settings.draws
        names = [var.name for var in model.free_RVs + model.deterministics]  # not the observed
        with model, warnings.catch_warnings():
            warnings.filterwarnings("ignore", "The effect of Potentials", UserWarning)  # they are the likelihood
            draws = pm.sample_prior_predictive(total, var_names=names, random_seed=settings.seed, compile_kwargs={"mode": "JAX"})
        prior = draws.prior
        posterior = {
            name: values.to_numpy().reshape(settings.chains, settings.draws, *values.shape[2:])
            for name, values in prior.data_vars.items()
        }
        shape = (settings.chains, settings.draws)
        stats = {"diverging": np.zeros(shape, bool), "tree_depth": np.ones(shape, int), "step_size": np.ones(shape)}
        return az.from_dict(posterior=posterior, sample_stats=stats)

    monkeypatch.setattr(nuts, "sample", from_prior)

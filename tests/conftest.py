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
    """A default forecast of the example ladder (4 chains × 1000 draws after the loss law's 2000 tuning steps), seed 0."""
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
    from bayes_scaling.quiet import quietly

    def from_prior(model, settings, key):
        total = settings.chains * settings.draws
        names = [var.name for var in model.free_RVs + model.deterministics]  # not the observed
        with model, quietly(), warnings.catch_warnings():  # quietly: PyTensor's note on RNG copies in JAX
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


_REUSED: dict = {}  # reused_fits: (model structure, seed, data values) -> the InferenceData NUTS returned


@pytest.fixture(scope="module")
def reused_fits():
    """For modules of plumbing tests (what a command prints, provenance, reports, registry records)
    whose forecasts repeat a NUTS run already made in this session: the same law, priors, options,
    data values, sampler settings and seed, e.g. the example ladder forecast at another target (the
    target is not part of the fit) or a CLI forecast of the same CSV. ``forecast`` then gets a copy
    of that run's draws instead of sampling them again; any other run samples as usual, once.

    The copy is what the repeated run would return: the same seed gives identical draws
    (tests/test_forecast.py::test_same_seed_same_answer_other_seed_other_draws), and the key holds
    everything the sampler reads (``nuts.sample``: the compiled sampler's structure key, the data
    values, the seed). So the draws, their diagnostics and a verdict's self-backtest are still those
    of a real NUTS run: statistical assertions hold as without it. Not for tests of the sampler itself
    (determinism, seeds, compile reuse), which must run it."""
    import copy
    import hashlib

    import numpy as np

    from bayes_scaling.inference import nuts

    sample = nuts.sample

    def reuse(model, settings, key):
        digest = hashlib.sha256()
        for var in nuts._data_nodes(model):
            value = np.asarray(var.get_value())
            content = repr(value.tolist()).encode() if value.dtype == object else value.tobytes()
            digest.update(f"{var.name} {value.dtype} {value.shape}".encode() + content)
        run = (nuts._structure_key(model, key, settings), settings.seed, digest.hexdigest())
        if run not in _REUSED:
            _REUSED[run] = sample(model, settings, key)
        return copy.deepcopy(_REUSED[run])  # forecast() adds groups to what it gets: the stored run stays as sampled

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nuts, "sample", reuse)
        yield

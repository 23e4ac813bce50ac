"""The compiled sampler: reuse across data sets, graph fingerprints, unrounded diagnostics."""

from __future__ import annotations

import arviz as az
import numpy as np
import pymc as pm
import pytest

from bayes_scaling.inference import jax_setup, nuts
from bayes_scaling.inference.diagnostics import diagnose
from bayes_scaling.datasets import make_example_capability_runs, make_example_pass_counts, make_example_runs
from bayes_scaling.laws import get_law

SHORT = nuts.SamplerSettings(draws=40, tune=40, chains=2, seed=3, progress=False, log_likelihood=False)


def _model(law_name: str, data, **options):
    law = get_law(law_name)
    return law.build_model(law.prepare(law.load(data), **options), {})


def _pass_counts(seed: int):
    """Two count tables of one shape: the second moves every count strictly inside (0, n − 1) up by
    one, so the same problems are solved and the same counts are informative (the model's shapes)."""
    counts, _ = make_example_pass_counts(0, problems=40, computes=(1e17, 1e18, 1e19, 1e20), n=50)
    inside = (counts["correct"] > 0) & (counts["correct"] < counts["n"] - 1)
    return counts.assign(correct=counts["correct"] + (inside & (seed == 1)))


CASES = {
    "loss": lambda seed: _model("loss", make_example_runs(seed)),
    "two_step": lambda seed: _model("two_step", make_example_capability_runs(seed), floor=0.25 * seed, items=2000),
    "pass_rate": lambda seed: _model("pass_rate", _pass_counts(seed), buckets=3, exclude_hardest=4, soft_buckets=False, run_shifts="non_centred"),
}


# the pass-rate (25 s) and two-step (~20 s from a cold cache) cases run with -m slow; the loss case covers
# the driver by default
@pytest.mark.parametrize("law", [pytest.param(law, marks=[] if law == "loss" else [pytest.mark.slow]) for law in sorted(CASES)])
def test_a_reused_sampler_samples_what_a_fresh_one_does(law):
    """A program compiled on one data set and reused for another of the same shape must start,
    tune and sample exactly as one compiled for the second (it once started from the first data
    set's initial point, and two_step baked its floor and reference loss in as constants)."""
    first, second = CASES[law](0), CASES[law](1)
    nuts._COMPILED.clear()
    fresh = nuts.sample(second, SHORT, key=("test", law)).posterior
    nuts._COMPILED.clear()
    nuts.sample(first, SHORT, key=("test", law))
    reused = nuts.sample(second, SHORT, key=("test", law)).posterior
    assert len(nuts._COMPILED) == 1  # the second forecast did reuse the program
    for name in fresh.data_vars:
        np.testing.assert_array_equal(reused[name].to_numpy(), fresh[name].to_numpy(), err_msg=name)


def _tiny(constant: float, observed: np.ndarray) -> pm.Model:
    with pm.Model() as model:
        y = pm.Data("y", observed)
        mu = pm.Normal("mu", constant, 1.0)
        pm.Normal("obs", mu, 1.0, observed=y)
    return model


def test_graph_fingerprint_sees_constants_not_data_values():
    base = nuts._graph_fingerprint(_tiny(0.0, np.zeros(3)))
    assert nuts._graph_fingerprint(_tiny(0.0, np.ones(3))) == base  # other data: reuse
    assert nuts._graph_fingerprint(_tiny(0.25, np.zeros(3))) != base  # another constant: compile again


def test_diagnostics_are_not_rounded():
    """ArviZ rounds its summary to 2 decimals by default: an r_hat of 1.014 read as 1.01 and passed."""
    rng = np.random.default_rng(0)
    draws = rng.standard_normal((4, 1000))
    draws[0] += 0.38  # one chain a little off: r_hat between 1.01 and 1.015
    idata = az.from_dict(posterior={"x": draws}, sample_stats={"diverging": np.zeros((4, 1000), dtype=bool)})
    exact = float(az.rhat(idata)["x"])
    assert 1.010 < exact < 1.015
    diagnostics = diagnose(idata, ["x"])
    assert diagnostics.r_hat == pytest.approx(exact, rel=1e-12) and not diagnostics.ok


def _badly_scaled() -> pm.Model:
    """Two independent normals 1,000× apart in scale: the step size and mass matrix have to adapt."""
    with pm.Model() as model:
        pm.Data("unused", np.zeros(1))
        pm.Normal("wide", 0.0, 1.0)
        pm.Normal("narrow", 0.0, 1e-3)
    return model


def test_warmup_statistics_are_kept_for_inspection():
    """Every warm-up iteration's tree size and step size, without the positions: how the adaptation went."""
    settings = nuts.SamplerSettings(draws=20, tune=60, chains=2, seed=1, progress=False, log_likelihood=False)
    idata = nuts.sample(_badly_scaled(), settings, key=("test", "warmup"))
    warmup = idata.warmup_sample_stats
    assert warmup.sizes == {"chain": 2, "draw": 60} and "z" not in warmup
    assert set(nuts._WARMUP_STATS) <= set(warmup.data_vars)
    # the step size adapts during warm-up and stays where it ended for the draws
    for chain in range(2):
        assert np.unique(warmup["step_size"][chain]).size > 10
        assert np.unique(idata.sample_stats["step_size"][chain]).size == 1


_COUNT = "--xla_force_host_platform_device_count="


@pytest.mark.parametrize(
    ("flags", "pymc_jax_imported", "user"),
    [
        ("", False, None),
        (f"{_COUNT}100", True, None),  # what importing pymc.sampling.jax alone leaves: PyMC's, not the user's
        (f"{_COUNT}100 {_COUNT}8", True, 8),  # the user's 8, PyMC's 100 put in front of it
        (f"{_COUNT}100 {_COUNT}100", True, 100),  # the user's own 100 is theirs
        (f"{_COUNT}100", False, 100),  # PyMC's JAX module not loaded: the 100 is the user's
        (f"--xla_cpu_use_thunk_runtime=true {_COUNT}2 {_COUNT}6", False, 6),  # XLA reads the last
    ],
)
def test_the_users_host_device_count_is_read_as_xla_reads_it(flags, pymc_jax_imported, user):
    assert jax_setup.user_host_devices(flags, pymc_jax_imported) == user


def test_chains_get_four_host_devices_even_after_pymc_asked_for_a_hundred():
    """Importing pymc.sampling.jax puts PyMC's 100 host devices in XLA_FLAGS; each idle one slows
    every log density. Set up before the first sample: a user's own count of at least four is kept
    (100 too: never lowered); none, or fewer, becomes four. One fresh process per case (XLA reads
    its flags once), started together: each spends its time importing PyMC."""
    import os
    import subprocess
    import sys

    code = "import pymc.sampling.jax; from bayes_scaling.inference import jax_setup; jax_setup.configure_jax(); import jax; print(len(jax.devices()))"
    cases = {"": 4, f"{_COUNT}2": 4, f"{_COUNT}100": 100}
    processes = {
        flags: subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "XLA_FLAGS": flags},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for flags in cases
    }
    for flags, process in processes.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, (flags, err)
        assert int(out.strip().splitlines()[-1]) == cases[flags], (flags, out)


def test_with_fewer_devices_than_chains_they_run_vectorised_and_compiled_once(monkeypatch):
    """The fallback where JAX started with one device (a notebook that ran JAX first): the chains run
    vectorised, compiled once as the parallel path is, so a later forecast of the same shape
    compiles nothing (uncompiled, a default fit took ~100 s here). The slow test below checks the
    same in a fresh process, end to end, with the posterior against the parallel path's."""
    import jax
    import jax.monitoring

    nuts._COMPILED.clear()
    one = jax.devices()[:1]
    monkeypatch.setattr(jax, "devices", lambda *args, **kwargs: one)
    with pytest.warns(UserWarning, match="only 1 JAX devices for 2 chains"):
        first = nuts.sample(CASES["loss"](0), SHORT, key=("test", "devices")).posterior
    compiles = []

    def listener(name, seconds, **_):
        if name.endswith("backend_compile_duration"):
            compiles.append(name)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        again = nuts.sample(CASES["loss"](1), SHORT, key=("test", "devices")).posterior
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
        nuts._COMPILED.clear()  # not a program for one device in the cache of the session's others
    assert compiles == []
    assert again["b"].shape == first["b"].shape == (SHORT.chains, SHORT.draws)


@pytest.mark.slow
def test_in_a_fresh_process_where_jax_started_first_the_one_device_path_is_compiled_once_with_the_same_posterior(example_forecast, tmp_path):
    """Where JAX started before the first forecast (one host device, say in a notebook), the chains
    run vectorised on that device: compiled once like the parallel path (a second forecast of the
    same shape compiles nothing; uncompiled, each fit took ~100 s here) and with the parallel
    path's posterior (its draws are not bitwise the same: a batched sum rounds otherwise, and NUTS
    trajectories amplify it)."""
    import os
    import subprocess
    import sys

    code = (
        "import jax, jax.monitoring, numpy as np, sys\n"
        "jax.numpy.zeros(1)  # JAX starts first: one host device\n"
        "import bayes_scaling as bs\n"
        "first = bs.forecast(bs.example_runs(), target=1e21, seed=0, progress=False)\n"
        "compiles = []\n"
        "jax.monitoring.register_event_duration_secs_listener(\n"
        "    lambda name, secs, **_: compiles.append(name) if name.endswith('backend_compile_duration') else None)\n"
        "bs.forecast(bs.example_runs(), target=1e22, seed=1, progress=False)\n"
        "np.save(sys.argv[1], first.idata.posterior['b'].values)\n"
        "print(len(jax.devices()), len(compiles))\n"
    )
    out = tmp_path / "b.npy"
    environment = {name: value for name, value in os.environ.items() if name != "XLA_FLAGS"}  # not this session's 4 devices
    done = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True, timeout=600, env=environment)
    assert done.returncode == 0, done.stderr
    assert "only 1 JAX devices for 4 chains" in done.stderr
    devices, compiles = map(int, done.stdout.split())
    assert devices == 1 and compiles == 0
    vectorised, parallel = az.convert_to_dataset({"b": np.load(out)}), example_forecast.idata.posterior[["b"]]
    for q in (0.05, 0.5, 0.95):
        error = np.hypot(float(az.mcse(vectorised, method="quantile", prob=q)["b"]), float(az.mcse(parallel, method="quantile", prob=q)["b"]))
        assert abs(float(vectorised["b"].quantile(q)) - float(parallel["b"].quantile(q))) < 4 * error, q

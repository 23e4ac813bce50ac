"""`bayes-scaling --help`, `verify` and `score` (and `import bayes_scaling`) load no PyMC or JAX;
progress bars stay out of files."""

from __future__ import annotations

import os
import subprocess
import sys

import bayes_scaling as bs


def test_a_forecast_logs_a_line_per_tenth_when_stderr_is_not_a_terminal(example, capsys):
    # progress is asked for, but stderr is captured: not a terminal, so lines and no bar
    bs.forecast(example, target=1e21, seed=0, progress=True)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("NUTS:")]
    assert "\r" not in "".join(lines)
    assert 9 <= len(lines) <= 11 and lines[-1].startswith("NUTS: 100% ")


def test_progress_off_in_the_environment_prints_nothing(example, capsys, monkeypatch):
    monkeypatch.setenv("BAYES_SCALING_PROGRESS", "off")
    bs.forecast(example, target=1e21, seed=0, progress=True)
    assert "NUTS" not in capsys.readouterr().err


def test_line_progress_prints_at_each_tenth_and_once_at_the_end():
    from io import StringIO

    from bayes_scaling.progress import LineProgress

    out = StringIO()
    bar = LineProgress(total=1000, initial=250, desc="d144-l5", unit="step", stream=out)
    for _ in range(750):
        bar.set_postfix_str("loss 3.1")
        bar.update()
    bar.close()
    lines = out.getvalue().splitlines()
    # resumed at 250, then 300, 400, ..., 1,000 crossed; close adds no second line at the end
    assert [line.split()[1] for line in lines] == ["30%", "40%", "50%", "60%", "70%", "80%", "90%", "100%"]
    assert lines[0].startswith("d144-l5:  30% (300/1,000 steps,") and lines[0].endswith("loss 3.1")


def test_the_package_api_is_the_same_whatever_was_imported_first():
    from bayes_scaling import backtest as backtest_function
    from bayes_scaling.evaluation.backtest import backtest
    from bayes_scaling.forecast import forecast
    from bayes_scaling.forecast_result import Forecast

    assert bs.forecast is forecast and bs.Forecast is Forecast and callable(bs.compare)
    assert bs.backtest is backtest is backtest_function
    assert set(bs.__all__) <= set(dir(bs))


def _imports_after(code: str) -> set[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


HEAVY = {"pymc", "jax", "pytensor", "numpyro", "arviz"}


def test_help_verify_and_score_import_no_pymc_or_jax(tmp_path, example_forecast):
    """Only the command being run is imported. (``forecast --help`` does load PyMC: its flags are the
    laws' own, read from each ``Law``, which lives beside its PyMC model.)"""
    registry = tmp_path / "p.jsonl"
    bs.register(example_forecast, registry, name="big")
    for argv in (["--help"], ["verify", str(registry)], ["score", str(registry), "--actual", "big@1e21=2.1"],
                 ["check-samples", "--help"], ["register", "--help"], ["easy-suite", "--help"]):
        code = "from bayes_scaling import cli\ntry:\n    assert cli.main(%r) == 0\nexcept SystemExit as stop:\n    assert stop.code == 0" % (argv,)
        loaded = _imports_after(code)
        assert not HEAVY & loaded, (argv, sorted(HEAVY & loaded))
    assert not HEAVY & _imports_after("import bayes_scaling")


def test_a_submodule_is_an_attribute_as_with_an_eager_import():
    loaded = _imports_after("import bayes_scaling as bs\nassert len(bs.datasets.example_pass_truth()) == 164")
    assert "bayes_scaling.datasets" in loaded and not HEAVY & loaded


def test_third_party_notices_are_kept_quiet_in_a_forecast(tmp_path):
    """ArviZ prints its notice once a day, keyed by a stamp in the user's cache: a fresh cache shows
    it. PyTensor warns once per process, when a model is compiled, where it finds no C BLAS; where a
    user's prior is drawn from on JAX, that it draws from a copy of the random generator, and PyMC
    logs the names it draws. That check is the forecast's first JAX work: JAX is set up before it
    (float64 draws, and the four host devices the chains run on)."""
    code = ("import warnings; warnings.simplefilter('default'); import bayes_scaling as bs, bayes_scaling.forecast, arviz\n"
            "from pymc_extras.prior import Prior\n"
            "prior = {'b': Prior('TruncatedNormal', mu=-0.3, sigma=0.005, upper=0), 'sigma': Prior('HalfNormal', sigma=0.05)}\n"
            "bs.forecast(bs.example_runs().head(6), target=1e21, seed=0, progress=False, prior=prior)\n"
            "import jax; print(len(jax.devices()))")
    # not this session's XLA_FLAGS: the forecast sets up JAX before its first JAX work, the prior's check
    environment = {**{k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}, "XDG_CACHE_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True)
    assert "ArviZ is undergoing" not in done.stderr
    assert "BLAS" not in done.stderr
    assert "RandomType" not in done.stderr
    assert "Sampling: [" not in done.stderr
    assert "truncated to dtype float32" not in done.stderr
    assert "SamplerWarning" not in done.stderr  # the prior is tight enough to sample cleanly on six runs
    assert done.stdout.split()[-1] == "4"  # four chains in parallel
    assert (tmp_path / "arviz").exists()  # the notice's stamp: ArviZ did reach the point where it warns


def test_importing_the_whole_api_changes_nothing_in_the_process():
    """XLA_FLAGS, JAX's configuration, the warning filters and matplotlib's backend are as the
    user left them after importing every module a forecast needs; JAX is set up when a forecast first runs it."""
    code = (
        "import os, warnings, jax, matplotlib, pymc, arviz, numpyro, scipy.stats, pandas  # their own filters\n"
        "matplotlib.use('pdf')\n"
        "os.environ['XLA_FLAGS'] = '--xla_cpu_use_thunk_runtime=true'\n"
        "def state():\n"
        "    return (os.environ['XLA_FLAGS'], jax.config.jax_enable_x64, jax.config.jax_compilation_cache_dir,\n"
        "            list(warnings.filters), matplotlib.get_backend())\n"
        "before = state()\n"
        "import bayes_scaling as bs\n"
        "for name in bs.__all__: getattr(bs, name)\n"
        "import bayes_scaling.inference.nuts, bayes_scaling.output.plotting, bayes_scaling.output.report, bayes_scaling.cli\n"
        "assert state() == before, (before, state())\n"
        "bayes_scaling.inference.jax_setup.configure_jax()\n"
        "after = state()\n"
        "assert after[0] == '--xla_cpu_use_thunk_runtime=true --xla_force_host_platform_device_count=4', after[0]\n"
        "assert after[1] is True and after[2].endswith('jax') and after[3:] == before[3:]\n"
    )
    env = {**os.environ, "BAYES_SCALING_CACHE": "/nonexistent-cache"}
    env.pop("XLA_FLAGS", None)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_chart_written_to_a_file_leaves_the_backend_alone(example_forecast, tmp_path):
    import matplotlib

    before = matplotlib.get_backend()
    figure = example_forecast.plot(path=tmp_path / "fan.png")
    assert (tmp_path / "fan.png").stat().st_size > 10_000
    assert matplotlib.get_backend() == before
    assert figure.canvas.manager is None  # not a pyplot figure: nothing for pyplot to keep alive


def test_jax_started_before_the_first_forecast_keeps_its_devices_and_no_disk_cache():
    """XLA reads its flags once: where JAX ran first, the package changes no flag, and keeps JAX's
    disk cache off (its keys do not tell device counts apart: a 4-device executable aborted a
    1-device process here)."""
    code = (
        "import os, jax; jax.numpy.ones(1)\n"
        "from bayes_scaling.inference import jax_setup\n"
        "jax_setup.configure_jax()\n"
        "assert 'XLA_FLAGS' not in os.environ and len(jax.devices()) == 1\n"
        "assert jax.config.jax_compilation_cache_dir is None and jax.config.jax_enable_x64\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "XLA_FLAGS"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]

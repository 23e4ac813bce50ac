"""The command line: tables on stdout, one-line errors, exit codes, examples in --help."""

from __future__ import annotations

import html
import re

import arviz as az
import numpy as np
import pytest

import bayes_scaling as bs
from bayes_scaling import cli
from bayes_scaling.datasets import make_example_runs

# a forecast that repeats an earlier NUTS run (same CSV, seed and settings) gets its draws: conftest.py
pytestmark = pytest.mark.usefixtures("reused_fits")


@pytest.fixture
def runs_csv(tmp_path):
    path = tmp_path / "runs.csv"
    make_example_runs(seed=0).to_csv(path, index=False)
    return path


def test_forecast_prints_the_interval_table_and_writes_files(runs_csv, tmp_path, capsys):
    """The command as documented, self-backtest included: the one test of the forecast command's default verdict."""
    png, nc = tmp_path / "fan.png", tmp_path / "fc.nc"
    code = cli.main(
        ["forecast", str(runs_csv), "--target", "1e21", "--target", "1e22", "--seed", "0",
         "--no-progress", "--threshold", "2.2", "--plot", str(png), "--save", str(nc), "--prob", "0.8"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "lower_90" in out and "upper_0.8" in out
    assert "P(loss < 2.2): C=1e+21:" in out
    assert "sampler: ok" in out
    assert re.search(r"^verdict: ", out, re.M) and "self-backtest was not run" not in out  # it ran by default
    assert png.stat().st_size > 10_000 and nc.stat().st_size > 10_000


def test_forecast_takes_the_extrapolation_error(runs_csv, tmp_path, capsys):
    from bayes_scaling.laws import extrapolation

    nc = tmp_path / "fc.nc"
    code = cli.main(["forecast", str(runs_csv), "--target", "1e22", "--seed", "0", "--no-progress", "--no-self-backtest",
                     "--extrapolation-error", "auto", "--save", str(nc)])
    assert code == 0 and "sampler: ok" in capsys.readouterr().out
    fc = bs.load_forecast(nc)
    assert extrapolation.SCALE in fc.idata.posterior
    assert fc.settings["options"]["extrapolation_scale_prior"] == extrapolation.DEFAULT_SCALE_PRIOR


@pytest.mark.parametrize("value", ["yes", "-0.1", "nan"])
def test_a_bad_extrapolation_error_is_refused_by_the_parser(runs_csv, capsys, value):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["forecast", str(runs_csv), "--target", "1e21", "--no-progress", "--extrapolation-error", value])
    assert exit_info.value.code == 2
    assert f"must be 'auto' or a prior scale >= 0, got {value!r}" in capsys.readouterr().err


def test_the_extrapolation_error_is_refused_for_a_law_without_it(runs_csv, capsys):
    assert cli.main(["forecast", str(runs_csv), "--law", "pass_rate", "--target", "1e21", "--no-progress",
                     "--extrapolation-error", "auto"]) == 2
    assert "--extrapolation-error is not an option of the pass_rate law" in capsys.readouterr().err


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("compute,loss\n1e17,3.0\n1e18,-2.5\n1e19,2.4\n")
    assert cli.main(["forecast", str(bad), "--target", "1e21", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: ") and "'loss'" in err and "row 1" in err and "-2.5" in err


def test_missing_file_is_exit_2(tmp_path, capsys):
    assert cli.main(["forecast", str(tmp_path / "nope.csv"), "--target", "1e21"]) == 2
    assert capsys.readouterr().err.startswith("error: ")


@pytest.mark.parametrize("command", ["forecast", "report", "register", "score", "verify", "demo"])
def test_help_shows_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"bayes-scaling {command}" in capsys.readouterr().out


def test_demo_forecasts_the_cpu_ladder_as_registered_and_scores_it(tmp_path, capsys):
    import json

    import pandas as pd

    from bayes_scaling.datasets import cpu_ladder_predictions_path

    assert cli.main(["demo", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "CPU ladder (measured" in out and "registered before the larger rungs were trained" in out
    # the verdict's refit without the largest rung samples as cleanly as the forecast does
    assert "sampler: ok" in out and "diagnostics failed" not in out
    for name in ("fan_chart.png", "intervals.csv", "forecast.nc", "report.html"):
        assert (tmp_path / name).stat().st_size > 0
    # the demo refits what was registered: same law, data, seed and settings. The sampler and
    # the libraries have changed since, so the medians agree up to Monte Carlo error: within 4
    # standard errors of a difference of two such medians
    registered = [json.loads(line) for line in cpu_ladder_predictions_path().read_text().splitlines()]
    registered = {r["target"]: r["median"] for r in registered if r["name"] == "loss"}
    refit = pd.read_csv(tmp_path / "intervals.csv")
    assert sorted(registered) == sorted(refit["compute"])
    saved = bs.load_forecast(tmp_path / "forecast.nc")
    error = az.mcse(saved.idata.predictions, var_names=["loss"], method="median")["loss"].to_numpy()
    assert np.all(error < 0.01 * refit["median"])  # a standard error small enough to mean something
    for compute, median, standard_error in zip(refit["compute"], refit["median"], error):
        assert abs(median - registered[compute]) < 4 * np.sqrt(2) * standard_error
    assert "measured" in (tmp_path / "report.html").read_text()


def test_register_verify_score_report_round_trip(runs_csv, tmp_path, capsys):
    nc, registry, review = tmp_path / "fc.nc", tmp_path / "predictions.jsonl", tmp_path / "review.html"
    # the forecast command's own self-backtest is the test above's; the report command's is checked here
    assert cli.main(["forecast", str(runs_csv), "--target", "1e21", "--seed", "0", "--no-progress", "--no-self-backtest",
                     "--save", str(nc)]) == 0
    assert cli.main(["report", str(nc), "--out", str(review), "--threshold", "2.1"]) == 0
    text = html.unescape(review.read_text())
    assert "Threshold probabilities" in text
    assert "Self-backtest: refitted without" in text  # the report command refits by default
    assert cli.main(["register", str(nc), "--name", "big-run", "--registry", str(registry)]) == 0
    assert cli.main(["verify", str(registry)]) == 0
    assert "ok: 1 records" in capsys.readouterr().out
    assert cli.main(["score", str(registry), "--actual", "big-run=2.17"]) == 0
    out = capsys.readouterr().out
    assert "inside 90% 100%" in out
    # tamper: change a digit of the registered median
    line = registry.read_text()
    registry.write_text(line.replace('"median": 2.1', '"median": 2.3', 1))
    assert cli.main(["verify", str(registry)]) == 1
    assert "edited" in capsys.readouterr().out
    assert cli.main(["score", str(registry), "--actual", "big-run=2.17"]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_score_needs_actuals_in_a_known_form(tmp_path, capsys):
    assert cli.main(["score", str(tmp_path / "p.jsonl"), "--actual", "oops"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err


def test_forecast_pass_rate_prints_buckets(tmp_path, capsys, prior_draws):
    from bayes_scaling.datasets import make_example_pass_counts

    # what the command passes on and prints; that this default fit samples cleanly is
    # tests/test_pass_rate.py's module fixture (the same counts and options)
    counts, _ = make_example_pass_counts(seed=0, problems=40, computes=(1e17, 1e18, 1e19, 1e20), n=100, buckets=3, exclude_hardest=4)
    path = tmp_path / "passcounts.csv"
    counts.to_csv(path, index=False)
    code = cli.main(["forecast", str(path), "--law", "pass_rate", "--target", "1e21", "--buckets", "3",
                     "--exclude-hardest", "4", "--threshold", "0.5", "--no-progress", "--seed", "0"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "pass_rate law fitted on" in out and "P(pass_rate > 0.5)" in out
    assert out.count(" all\n") == 1 and "bucket" in out
    assert "bucket borders: soft" in out and "expected share of problems in a neighbouring bucket" in out


def test_forecast_chinchilla_takes_params_tokens_pairs(tmp_path, capsys):
    from tests.synthetic_ladders import isoflop_ladder

    path = tmp_path / "chinchilla.csv"
    isoflop_ladder("chinchilla", seed=0).drop(columns="compute").to_csv(path, index=False)
    # the targets and what is printed, not the verdict: its refit would be one more fit of a new shape
    code = cli.main(["forecast", str(path), "--law", "chinchilla", "--target-params", "1e10", "--target-tokens", "2e11",
                     "--target-params", "3e10", "--target-tokens", "6e11", "--threshold", "2.0",
                     "--no-progress", "--no-self-backtest", "--seed", "0"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "chinchilla law fitted on 18 runs" in out and "lower_90" in out and "P(loss < 2):" in out
    header, first, second = out.splitlines()[3:6]  # after the fit, data and title lines
    assert header.split()[:3] == ["compute", "params", "tokens"]
    assert [float(v) for v in first.split()[:3]] == pytest.approx([1.2e22, 1e10, 2e11], rel=1e-3)
    assert [float(v) for v in second.split()[:3]] == pytest.approx([1.08e23, 3e10, 6e11], rel=1e-3)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--target-params", "1e10"], "1 --target-params and 0 --target-tokens"),
        (["--target-params", "1e10", "--target-tokens", "2e11", "--target-tokens", "3e11"], "1 --target-params and 2"),
        ([], "0 --target-params and 0 --target-tokens"),
        (["--target", "1e21"], "not --target"),
    ],
)
def test_forecast_chinchilla_targets_are_checked_before_the_fit(tmp_path, capsys, arguments, message):
    path = tmp_path / "chinchilla.csv"
    path.write_text("params,tokens,loss\n1e8,2e9,3.0\n")  # never fitted: the targets are refused first
    assert cli.main(["forecast", str(path), "--law", "chinchilla", "--no-progress", *arguments]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: ") and message in err


@pytest.mark.parametrize(
    "arguments, message",
    [([], "--target FLOPS"), (["--target", "1e21", "--target-params", "1e10", "--target-tokens", "2e11"], "--law chinchilla")],
)
def test_forecast_compute_laws_need_target_compute(runs_csv, capsys, arguments, message):
    assert cli.main(["forecast", str(runs_csv), "--no-progress", *arguments]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err

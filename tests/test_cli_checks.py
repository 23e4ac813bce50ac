"""The command line checks its inputs and outputs before sampling: one `error: ...` line, status 2,
in its own words (flags, not keyword arguments)."""

from __future__ import annotations

import json

import pytest

import bayes_scaling as bs
from bayes_scaling import cli
from bayes_scaling.inference import nuts
from bayes_scaling.datasets import make_example_runs

# a forecast that repeats an earlier NUTS run (same data, seed and settings) gets its draws: conftest.py
pytestmark = pytest.mark.usefixtures("reused_fits")


@pytest.fixture
def runs_csv(tmp_path):
    path = tmp_path / "runs.csv"
    make_example_runs(seed=0).to_csv(path, index=False)
    return path


@pytest.fixture
def no_sampling(monkeypatch):
    """Any sampling fails the test: the command must refuse before it."""

    def refuse(*args, **kwargs):
        raise AssertionError("sampled before checking the command line")

    monkeypatch.setattr(nuts, "sample", refuse)


@pytest.fixture(scope="module")
def saved(tmp_path_factory, example_forecast):
    return example_forecast.save(tmp_path_factory.mktemp("saved") / "fc.nc")


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err


@pytest.mark.parametrize(
    "flag, value, words",
    [
        ("--save", "nodir/fc.nc", "does not exist"),
        ("--plot", "nodir/fan.png", "does not exist"),
        ("--report", "nodir/review.html", "does not exist"),
        ("--report", "review.pdf", ".html"),
        ("--plot", "fan.xyz", ".png"),
    ],
)
def test_bad_output_paths_are_refused_before_sampling(runs_csv, tmp_path, capsys, no_sampling, flag, value, words):
    code = cli.main(["forecast", str(runs_csv), "--target", "1e21", "--no-progress", flag, str(tmp_path / value)])
    assert code == 2
    err = one_error_line(capsys)
    assert flag in err and words in err


def test_an_output_path_that_is_a_directory_is_refused(runs_csv, tmp_path, capsys, no_sampling):
    assert cli.main(["forecast", str(runs_csv), "--target", "1e21", "--save", str(tmp_path)]) == 2
    assert "is a directory" in one_error_line(capsys)


@pytest.mark.parametrize("command", ["report", "register"])
def test_a_csv_where_a_forecast_is_expected_is_one_line(runs_csv, tmp_path, capsys, no_sampling, command):
    extra = ["--out", str(tmp_path / "r.html")] if command == "report" else ["--name", "x", "--registry", str(tmp_path / "p.jsonl")]
    assert cli.main([command, str(runs_csv), *extra]) == 2
    assert "is not a netCDF file" in one_error_line(capsys)


def test_report_refuses_a_missing_output_folder_before_its_refit(saved, tmp_path, capsys, no_sampling):
    assert cli.main(["report", str(saved), "--out", str(tmp_path / "nodir" / "r.html")]) == 2
    assert "--out" in one_error_line(capsys)


def test_a_registry_that_is_not_json_lines_is_one_line(saved, runs_csv, tmp_path, capsys):
    assert cli.main(["register", str(saved), "--name", "x", "--registry", str(runs_csv)]) == 2
    err = one_error_line(capsys)
    assert "not a registry" in err or "JSON" in err
    assert cli.main(["verify", str(runs_csv)]) == 2  # a file that is not a registry is bad input, not a broken chain
    one_error_line(capsys)


def test_a_taken_name_needs_supersedes_and_the_chain_records_it(saved, tmp_path, capsys):
    registry = str(tmp_path / "p.jsonl")
    assert cli.main(["register", str(saved), "--name", "big", "--registry", registry]) == 0
    capsys.readouterr()
    assert cli.main(["register", str(saved), "--name", "big", "--registry", registry]) == 2
    err = one_error_line(capsys)
    assert "--supersedes" in err and "supersedes=True" not in err
    assert cli.main(["register", str(saved), "--name", "big", "--registry", registry, "--supersedes"]) == 0
    records = [json.loads(line) for line in open(registry)]
    assert records[-1]["supersedes"] == [records[0]["hash"], records[1]["hash"]]


def test_errors_name_the_flags_not_the_python_keywords(example, tmp_path, capsys):
    with pytest.warns(bs.SamplerWarning):
        unhealthy = bs.forecast(example, target=[1e21, 1e22], draws=30, tune=30, seed=0, progress=False)
    path = unhealthy.save(tmp_path / "bad.nc")
    registry = tmp_path / "p.jsonl"
    assert cli.main(["register", str(path), "--name", "big", "--registry", str(registry)]) == 2
    err = one_error_line(capsys)
    assert "--allow-unhealthy" in err and "allow_unhealthy=True" not in err
    assert cli.main(["register", str(path), "--name", "big", "--registry", str(registry), "--allow-unhealthy"]) == 0
    capsys.readouterr()
    assert cli.main(["score", str(registry), "--actual", "big=2.1"]) == 2  # two targets: which one?
    err = one_error_line(capsys)
    assert "big@" in err and "{(" not in err


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--draws", "0"], "--draws"),
        (["--chains", "two"], "--chains"),
        (["--target-accept", "1.5"], "--target-accept"),
        (["--buckets", "6"], "--buckets"),
        (["--target", "-5"], "--target"),
    ],
)
def test_bad_flag_values_are_one_line_naming_the_flag(runs_csv, capsys, no_sampling, argv, flag):
    base = ["forecast", str(runs_csv), "--no-progress"] + ([] if "--target" in argv else ["--target", "1e21"])
    with pytest.raises(SystemExit) as exit_info:
        code = cli.main(base + argv)
        raise SystemExit(code)
    assert exit_info.value.code == 2
    assert flag in one_error_line(capsys)

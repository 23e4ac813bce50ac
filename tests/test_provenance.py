"""Provenance: a forecast, its report and its registry records say which file it was fitted on."""

from __future__ import annotations

import hashlib
import json

import pytest

import bayes_scaling as bs
from bayes_scaling import cli
from bayes_scaling.datasets import make_example_runs

# a forecast that repeats an earlier NUTS run (same data, seed and settings) gets its draws: conftest.py
pytestmark = pytest.mark.usefixtures("reused_fits")


@pytest.fixture(scope="module")
def runs_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("provenance") / "runs.csv"
    make_example_runs(seed=0).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def from_file(runs_file):
    """The documented workflow: load the file, then forecast the loaded table."""
    return bs.forecast(bs.load_runs(runs_file), target=1e21, seed=0, progress=False)


def test_the_documented_workflow_records_the_file_and_its_sha256(from_file, runs_file):
    expected = hashlib.sha256(runs_file.read_bytes()).hexdigest()
    assert from_file.settings["data_source"] == str(runs_file)  # not "DataFrame"
    assert from_file.settings["data_file_sha256"] == expected
    assert from_file.provenance == {"source": str(runs_file), "file_sha256": expected,
                                    "sha256": from_file.settings["data_sha256"], "note": None}


def test_a_frame_built_in_memory_has_no_file_hash(example):
    frame = example.copy()
    frame.attrs = {}
    fc = bs.forecast(frame, target=1e21, seed=0, progress=False)
    assert fc.provenance["source"] == "DataFrame" and fc.provenance["file_sha256"] is None


def test_a_loaded_table_changed_afterwards_loses_its_file(runs_file):
    runs = bs.load_runs(runs_file)
    runs.loc[0, "loss"] *= 1.01
    fc = bs.forecast(runs, target=1e21, seed=0, progress=False)
    assert fc.provenance["file_sha256"] is None and "changed since it was loaded" in fc.provenance["source"]


def test_report_and_registry_show_the_provenance(from_file, runs_file, tmp_path):
    file_hash = from_file.settings["data_file_sha256"]
    text = from_file.report(tmp_path / "review.html", self_backtest=False).read_text()  # its refit is not the subject
    assert str(runs_file) in text and file_hash in text and file_hash[:12] in text
    record = bs.register(from_file, tmp_path / "predictions.jsonl", name="big-run")[0]
    assert record["data_source"] == str(runs_file) and record["data_file_sha256"] == file_hash


def test_the_example_says_its_data_are_synthetic_in_report_and_registry(example_forecast, tmp_path):
    assert "synthetic" in example_forecast.provenance["note"]
    text = example_forecast.report(tmp_path / "review.html", self_backtest=False).read_text()  # nor here
    assert "synthetic data" in text
    bs.register(example_forecast, tmp_path / "p.jsonl", name="demo")
    record = json.loads((tmp_path / "p.jsonl").read_text().splitlines()[0])
    assert "synthetic" in record["data_note"]


def test_the_forecast_command_prints_the_file_and_its_hash(runs_file, capsys):
    assert cli.main(["forecast", str(runs_file), "--target", "1e21", "--seed", "0", "--no-progress",
                     "--no-self-backtest"]) == 0
    out = capsys.readouterr().out
    expected = hashlib.sha256(runs_file.read_bytes()).hexdigest()[:12]
    assert f"data: {runs_file} (file sha256 {expected})" in out


def test_repr_counts_runs_not_rows(example_forecast):
    assert repr(example_forecast).startswith("Forecast(law='loss', 9 runs, seed=0)")


def test_a_csv_where_a_forecast_is_expected_is_named(runs_file, tmp_path):
    with pytest.raises(ValueError, match="is not a netCDF file"):
        bs.load_forecast(runs_file)
    with pytest.raises(ValueError, match="is a directory"):
        bs.load_forecast(tmp_path)


def test_a_loaded_forecast_can_be_saved_over_its_own_file(example_forecast, tmp_path):
    path = example_forecast.save(tmp_path / "fc.nc")
    loaded = bs.load_forecast(path)
    loaded.save(path)  # the documented `fc.save("fc.nc"); fc = bs.load_forecast("fc.nc")`, then --save fc.nc
    assert bs.load_forecast(path).settings == example_forecast.settings

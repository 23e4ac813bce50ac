"""The committed CPU ladder is what its README says: a real ladder whose larger rungs were
forecast, from its small ones, before they were trained; the package's copy is the same data."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import bayes_scaling as bs
from bayes_scaling.datasets import CPU_LADDER_SMALL_SHARE, cpu_ladder_predictions_path, cpu_ladder_runs
from bayes_scaling.ladder import load_ladder, plan

LADDER = Path(__file__).resolve().parents[1] / "models" / "cpu-ladder"


@pytest.fixture(scope="module")
def runs():
    return bs.load_runs(LADDER / "runs.csv")


def test_the_definition_is_a_geometric_ladder_to_3e14_with_small_rungs_to_forecast_from():
    compute = sorted(row["compute"] for row in plan(load_ladder(LADDER), flops_per_second=1.0))
    ratios = [b / a for a, b in zip(compute, compute[1:])]
    assert len(compute) >= 8 and compute[0] <= 3e11 and compute[-1] >= 3e14 and compute[-1] / compute[0] >= 1000
    assert sum(c <= compute[-1] / 100 for c in compute) >= 4 and max(ratios) < 4


def test_the_trained_rungs_span_three_decades_to_3e14_and_their_loss_falls(runs):
    runs = runs.sort_values("compute")
    assert runs["compute"].max() >= 3e14 and runs["compute"].max() / runs["compute"].min() >= 1000
    # one rung (d30-l2) came out above its smaller neighbour: seed noise of a 300-step run; the trend falls
    assert runs["loss"].iloc[-1] < runs["loss"].iloc[0] - 2
    assert (runs["loss"].diff().dropna() < 0).mean() >= 0.8


def test_every_trained_rung_was_trained_with_the_definition(runs):
    ladder = load_ladder(LADDER)
    planned = {row["rung"]: row for row in plan(ladder, flops_per_second=1.0)}
    assert set(runs["run"]) == set(planned) and len(runs) == len(planned)  # every rung, once
    for _, run in runs.iterrows():
        assert run["config_hash"] == ladder.select([run["run"]])[0].config_hash
        assert run["compute"] == planned[run["run"]]["compute"]


def test_each_forecast_was_registered_before_the_rung_it_forecasts_finished(runs):
    registry = LADDER / "predictions.jsonl"
    assert bs.verify(registry).ok
    finished = dict(zip(runs["compute"], pd.to_datetime(runs["finished_at"], utc=True)))
    small = runs[runs["compute"] <= CPU_LADDER_SMALL_SHARE * runs["compute"].max()]
    records = [json.loads(line) for line in registry.read_text().splitlines()]
    assert {r["name"] for r in records} >= {"loss", "humaneval-nll", "easy-nll"}
    planned = {row["compute"] for row in plan(load_ladder(LADDER), flops_per_second=1.0)}
    for record in records:
        assert record["target"] in planned and record["target"] > small["compute"].max()
        if record["target"] in finished:
            assert pd.Timestamp(record["registered"]) < finished[record["target"]]
        health = record["diagnostics"]
        assert health["divergences"] == 0 and health["r_hat"] <= 1.01, (record["name"], health)


def test_the_package_ships_the_same_runs_and_registry(runs):
    shipped = cpu_ladder_runs()
    pd.testing.assert_frame_equal(shipped.reset_index(drop=True), runs.reset_index(drop=True), check_like=True)
    assert "measured" in shipped.attrs["note"]
    assert cpu_ladder_predictions_path().read_bytes() == (LADDER / "predictions.jsonl").read_bytes()
    scores = pd.read_csv(LADDER / "scores.csv")
    records = (LADDER / "predictions.jsonl").read_text().splitlines()
    assert len(scores) == len(records)
    assert set(scores.loc[scores["actual"].notna(), "target"]) == set(runs["compute"]) & set(scores["target"])


def _experiment():
    import importlib.util

    spec = importlib.util.spec_from_file_location("cpu_ladder_experiment", LADDER / "experiment.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("rerun", sorted(p.name for p in (LADDER / "reruns").iterdir()))
def test_a_rerun_is_the_whole_definition_on_the_same_corpus_within_the_budgets(rerun, capsys):
    """The README's budget claims (training <= 75 min, evaluation <= 60) read from the rerun's own files."""
    folder = LADDER / "reruns" / rerun
    again = bs.load_runs(folder / "runs.csv")
    ladder = load_ladder(LADDER)
    assert set(again["run"]) == {rung.name for rung in ladder.rungs}
    for _, run in again.iterrows():
        assert run["config_hash"] == ladder.select([run["run"]])[0].config_hash
    times = pd.read_csv(folder / "eval-times.csv")
    assert (times["exit_status"] == 0).all() and set(times["rung"]) == set(again["run"])
    assert again["train_seconds"].sum() <= 75 * 60 and times["seconds"].sum() <= 60 * 60
    assert _experiment().rerun(folder) == 0
    printed = capsys.readouterr().out
    assert f"total training time {again['train_seconds'].sum() / 60:.1f} min" in printed
    assert f"total evaluation time {times['seconds'].sum() / 60:.1f} min" in printed


def test_a_rerun_on_another_corpus_is_refused(tmp_path):
    folder = LADDER / "reruns" / sorted(p.name for p in (LADDER / "reruns").iterdir())[0]
    for name in ("machine.json", "eval-times.csv", "passcounts.csv"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    runs = pd.read_csv(folder / "runs.csv").assign(corpus_hash="another")
    runs.to_csv(tmp_path / "runs.csv", index=False)
    with pytest.raises(SystemExit, match="another corpus"):
        _experiment().rerun(tmp_path)

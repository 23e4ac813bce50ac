"""Training ladders on CPU: the tiny ladder end to end into a forecast, and a rung killed with SIGKILL that resumes.

Torch runs on one thread here: on a small shared machine several threads per tiny model
are many times slower, not faster.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayes_scaling as bs

torch = pytest.importorskip("torch")
pytest.importorskip("tokenizers")

from bayes_scaling.ladder import load_ladder, plan, run_ladder  # noqa: E402
from bayes_scaling.ladder.results import read_metrics  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "models" / "tiny-cpu" / "ladder.toml"

KILL_LADDER = """
name = "kill-test"
[corpus]
max_bytes = 2_000_000
val_fraction = 0.05
vocab_size = 1024
[training]
seq_len = 32
batch_size = 8
learning_rate = 3e-3
val_tokens = 4096
seed = 1
[[rungs]]
name = "done-first"
d_model = 32
n_layer = 1
n_head = 2
tokens = 2048
[[rungs]]
name = "killed"
d_model = 32
n_layer = 2
n_head = 2
tokens = 30_720             # 120 steps of 256 tokens
checkpoint_every = 20
"""


@pytest.fixture(scope="module", autouse=True)
def one_thread_and_shared_cache(tmp_path_factory):
    threads, cache = torch.get_num_threads(), os.environ.get("BAYES_SCALING_CACHE")
    torch.set_num_threads(1)
    os.environ["BAYES_SCALING_CACHE"] = str(tmp_path_factory.mktemp("ladder-cache"))
    yield
    torch.set_num_threads(threads)
    if cache is None:
        os.environ.pop("BAYES_SCALING_CACHE")
    else:
        os.environ["BAYES_SCALING_CACHE"] = cache


def test_tiny_ladder_trains_and_its_runs_csv_goes_into_a_forecast(tmp_path):
    """The shipped tiny ladder at a quarter of its tokens (a quarter of the training time; its rungs, corpus and
    recipe unchanged): trained, recorded as --dry-run plans it, and forecast from."""
    shipped = TINY.read_text()
    assert "tokens_per_param = 1.0" in shipped
    (tmp_path / "ladder.toml").write_text(shipped.replace("tokens_per_param = 1.0", "tokens_per_param = 0.25"))
    metrics = run_ladder(tmp_path / "ladder.toml", progress=False)
    runs = bs.load_runs(tmp_path / "runs.csv")
    assert list(runs["run"]) == [m["run"] for m in metrics] == ["d48-l2", "d56-l3", "d64-l4"]
    assert list(runs["compute"]) == [float(m["flops_per_token"] * m["tokens"]) for m in metrics]
    assert runs["loss"].is_monotonic_decreasing  # more compute, lower held-out loss
    assert runs["loss"].max() < np.log(1024)  # every rung beats guessing uniformly among the tokens
    planned = plan(load_ladder(tmp_path / "ladder.toml"))  # what --dry-run shows is what training recorded
    budget = ("params", "non_embedding_params", "tokens", "steps", "flops_per_token", "compute")
    assert [{k: row[k] for k in budget} for row in planned] == [{k: m[k] for k in budget} for m in metrics]
    assert [row["finished"] for row in planned] == [True] * 3

    fc = bs.forecast(runs, target=10 * runs["compute"].max(), seed=0, progress=False)
    lower, upper = fc.interval(0.9)
    assert np.isfinite([lower, upper]).all() and lower < upper
    assert float(fc.to_frame()["median"].iloc[0]) < runs["loss"].max()

    from tokenizers import Tokenizer

    from bayes_scaling.ladder.model import load_model

    model, extra = load_model(tmp_path / "rungs" / "d64-l4" / "model.pt")  # what code sampling starts from
    tokenizer = Tokenizer.from_str(extra["tokenizer"])
    prompt = torch.tensor([tokenizer.encode("def main():\n").ids])
    completion = model.generate(prompt, max_new_tokens=8, temperature=0)
    assert completion.shape == (1, 8) and isinstance(tokenizer.decode(completion[0].tolist()), str)

    again = run_ladder(tmp_path / "ladder.toml", progress=False)  # everything finished: nothing retrains
    assert [m["finished_at"] for m in again] == [m["finished_at"] for m in metrics]
    assert len(bs.load_runs(tmp_path / "runs.csv")) == 3


def _cli(*args):
    return [sys.executable, "-m", "bayes_scaling.cli", "ladder", "run", *map(str, args), "--no-progress"]


def test_a_rung_killed_with_sigkill_resumes_and_runs_csv_stays_whole(tmp_path):
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    for folder in (killed, clean):
        folder.mkdir()
        (folder / "ladder.toml").write_text(KILL_LADDER)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(_cli(killed / "ladder.toml"), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    checkpoint = killed / "rungs" / "killed" / "checkpoint.pt"
    deadline = time.monotonic() + 240
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    output = process.communicate()[0].decode()
    assert process.returncode == -signal.SIGKILL, f"the rung ended before it could be killed:\n{output}"
    assert not (killed / "rungs" / "killed" / "metrics.json").exists()
    assert list(pd.read_csv(killed / "runs.csv")["run"]) == ["done-first"]  # whole rows only

    resumed = run_ladder(killed / "ladder.toml", progress=False)[1]
    assert resumed["resumed_from_step"] >= 20 and resumed["steps"] == 120
    assert not checkpoint.exists()
    uninterrupted = run_ladder(clean / "ladder.toml", rungs=["killed"], progress=False)[0]
    assert uninterrupted["resumed_from_step"] == 0
    assert resumed["loss"] == pytest.approx(uninterrupted["loss"], rel=1e-5)  # the same batches, the same optimizer state

    run_ladder(killed / "ladder.toml", progress=False)  # finished: nothing is added twice
    table = (killed / "runs.csv").read_text().splitlines()
    assert len(table) == 3 and sorted(line.split(",")[0] for line in table[1:]) == ["done-first", "killed"]
    assert read_metrics(killed / "rungs" / "killed" / "metrics.json")["config_hash"] == load_ladder(killed).rungs[1].config_hash


def test_a_rung_is_finished_only_with_metrics_of_its_current_config(tmp_path):
    from bayes_scaling.ladder.trainer import finished_metrics, is_finished

    (tmp_path / "ladder.toml").write_text(KILL_LADDER)
    rung = load_ladder(tmp_path).rungs[0]
    metrics = tmp_path / "metrics.json"
    assert finished_metrics(rung, tmp_path) is None and not is_finished(rung, tmp_path)  # never trained
    metrics.write_text('{"run": "done-first", "config_hash": "')  # cut short
    assert finished_metrics(rung, tmp_path) is None
    metrics.write_text('{"run": "done-first", "config_hash": "stale"}')  # trained with another config
    assert finished_metrics(rung, tmp_path) is None and not is_finished(rung, tmp_path)
    metrics.write_text(f'{{"run": "done-first", "config_hash": "{rung.config_hash}"}}')
    assert finished_metrics(rung, tmp_path) == {"run": "done-first", "config_hash": rung.config_hash}
    assert is_finished(rung, tmp_path)


def test_dry_run_prints_the_plan_without_training(tmp_path, capsys):
    from bayes_scaling.cli import main

    shutil.copy(TINY, tmp_path / "ladder.toml")
    assert main(["ladder", "run", str(tmp_path / "ladder.toml"), "--dry-run", "--flops-per-second", "1e10"]) == 0
    out = capsys.readouterr().out
    assert "3 rungs" in out and "d64-l4" in out and "47 s" in out  # 4.73e11 FLOPs at 1e10 FLOP/s
    assert not (tmp_path / "rungs").exists() and not (tmp_path / "runs.csv").exists()
    assert main(["ladder", "run", str(tmp_path / "ladder.toml"), "--rungs", "nope"]) == 2
    assert "no rung named 'nope'" in capsys.readouterr().err


@pytest.mark.slow
def test_a_rung_under_torchrun_ddp_matches_one_process(tmp_path):
    """Two CPU processes (gloo) share the global batch: the same loss as one process, one runs.csv row."""
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        pytest.skip("torchrun not installed beside this interpreter")
    ladder = KILL_LADDER.replace("tokens = 30_720", "tokens = 10_240")  # 40 steps
    runs = {}
    for name, launcher in (("ddp", [str(torchrun), "--standalone", "--nproc-per-node", "2", "-m", "bayes_scaling.cli"]),
                           ("single", [sys.executable, "-m", "bayes_scaling.cli"])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "ladder.toml").write_text(ladder)
        command = [*launcher, "ladder", "run", str(tmp_path / name / "ladder.toml"), "--rungs", "killed", "--no-progress"]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
        runs[name] = pd.read_csv(tmp_path / name / "runs.csv")
    assert len(runs["ddp"]) == 1 and runs["ddp"]["world_size"].item() == 2
    assert runs["ddp"]["loss"].item() == pytest.approx(runs["single"]["loss"].item(), rel=1e-4)
    assert runs["ddp"]["compute"].item() == runs["single"]["compute"].item()


@pytest.mark.gpu
def test_a_rung_trains_on_cuda_with_bf16_and_compile(tmp_path):
    """The GPU path (fused AdamW, bf16 autocast, torch.compile, MFU) on a small rung; run by hand on a GPU machine."""
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from bayes_scaling.ladder.hardware import peak_flops

    (tmp_path / "ladder.toml").write_text(KILL_LADDER.replace("seq_len = 32", "seq_len = 256")
                                          .replace("batch_size = 8", "batch_size = 32"))
    _, trained = run_ladder(tmp_path / "ladder.toml", device="cuda", progress=False)
    assert trained["steps"] == 4 and np.isfinite(trained["loss"]) and trained["loss"] < np.log(1024)
    assert trained["tokens_per_second"] > 0
    assert (trained["mfu"] is None) == (peak_flops("cuda") is None)
    assert list(pd.read_csv(tmp_path / "runs.csv")["run"]) == ["done-first", "killed"]

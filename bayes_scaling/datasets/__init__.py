"""Data shipped with the package: synthetic examples with known truth, for the demo, docs and tests.

``example_ladder.csv`` is *synthetic*: nine compute-optimal rungs from 3e16 to 3e19
FLOPs drawn from ``L(C) = a·C^b + c`` with known a, b, c (``EXAMPLE_TRUTH``) and 0.7%
relative seed noise, made by ``make_example_runs(seed=0)``. Knowing the truth lets the
demo show how close a forecast lands. ``example_pass_counts.csv`` is synthetic too: 164
problems × 7 models, 200 samples each, from the capability law with known α and k per
problem (``make_example_pass_counts(seed=0)``; ``example_pass_truth()``).

``cpu_ladder_runs.csv`` and ``cpu_ladder_predictions.jsonl`` are *measured*: copies of
``models/cpu-ladder/runs.csv`` (nine GPTs trained on a 2-core CPU with this package's ladder)
and of the forecasts of its larger rungs registered, from its five smallest, before those were
trained. The demo forecasts from them; ``refresh_cpu_ladder_copy`` keeps the copies in step.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

EXAMPLE_TRUTH = {"a": 988.0, "b": -0.16, "c": 1.75, "noise": 0.007}
EXAMPLE_TARGETS = (1e21, 1e22)
EXAMPLE_NOTE = (
    "synthetic data: drawn from L(C) = 988·C^-0.16 + 1.75 with 0.7% noise by "
    "bayes_scaling.datasets.make_example_runs(seed=0), not measured on any model"
)


def true_example_loss(compute) -> np.ndarray:
    """The noise-free loss of the example ladder's recipe at ``compute``."""
    t = EXAMPLE_TRUTH
    return t["a"] * np.asarray(compute, dtype=float) ** t["b"] + t["c"]


def make_example_runs(seed: int = 0) -> pd.DataFrame:
    """Regenerate the example ladder: Chinchilla-style N = sqrt(C/120), D = 20 N."""
    rng = np.random.default_rng(seed)
    compute = np.geomspace(3e16, 3e19, 9)
    params = np.sqrt(compute / 120.0)
    loss = true_example_loss(compute) * np.exp(EXAMPLE_TRUTH["noise"] * rng.standard_normal(compute.size))
    return pd.DataFrame(
        {
            "run": [f"rung{i}" for i in range(compute.size)],
            "params": params.round(),
            "tokens": (20 * params).round(),
            "compute": compute,
            "loss": loss.round(5),
            "seed": seed,
        }
    )


CPU_LADDER_NOTE = (
    "measured: models/cpu-ladder/runs.csv, nine GPTs (27k to 1.4M parameters, 1.3e11 to 3.0e14 FLOPs) "
    "trained on Python code on a 2-core CPU by bayes_scaling's ladder on 2026-12-02; copied unchanged"
)
CPU_LADDER_SMALL_SHARE = 1 / 100  # the rungs forecasts were registered from: <= this share of the top's compute


def cpu_ladder_runs() -> pd.DataFrame:
    """The CPU ladder's nine rungs (measured) as a validated runs table; ``attrs["note"]`` says where they come from."""
    from bayes_scaling.tables import load_runs

    with resources.as_file(resources.files(__name__) / "cpu_ladder_runs.csv") as path:
        runs = load_runs(path)
    runs.attrs["note"] = CPU_LADDER_NOTE
    return runs


def cpu_ladder_predictions_path():
    """The registry of forecasts made from the CPU ladder's small rungs before its larger ones were trained."""
    return resources.files(__name__) / "cpu_ladder_predictions.jsonl"


def refresh_cpu_ladder_copy(ladder_dir) -> None:
    """Copy ``runs.csv`` and ``predictions.jsonl`` of ``models/cpu-ladder`` into the package, byte for byte."""
    import shutil
    from pathlib import Path

    here = Path(__file__).resolve().parent
    shutil.copyfile(Path(ladder_dir) / "runs.csv", here / "cpu_ladder_runs.csv")
    shutil.copyfile(Path(ladder_dir) / "predictions.jsonl", here / "cpu_ladder_predictions.jsonl")


def example_runs_path():
    return resources.files(__name__) / "example_ladder.csv"


def example_pass_counts_path():
    return resources.files(__name__) / "example_pass_counts.csv"


def example_pass_counts() -> pd.DataFrame:
    """The shipped synthetic pass counts (``compute, problem, n, correct``) as a validated table.

    Synthetic: 164 problems × 7 models (1e17 to 1e20 FLOPs), 200 samples each, drawn from
    the capability law ``−log p_i(C) = α_i·(C/C_ref)^(−k)`` with known α and k per problem
    (``make_example_pass_counts(seed=0)``); ``example_pass_truth()`` has each problem's
    true α and k.

    Returns
    -------
    pandas.DataFrame
        The table as ``load_pass_counts`` returns it: ``run``, ``compute``, ``problem``,
        ``n``, ``correct``, one row per (run, problem), with its provenance in ``attrs``.

    See Also
    --------
    load_pass_counts, example_runs

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> counts = bs.example_pass_counts()
    >>> counts["problem"].nunique(), counts["run"].nunique()
    (164, 7)
    >>> fc = bs.forecast(counts, target=1e22, law="pass_rate", buckets=6, exclude_hardest=15, seed=0)
    """
    from bayes_scaling.tables import load_pass_counts

    with resources.as_file(example_pass_counts_path()) as path:
        return load_pass_counts(path)


def example_pass_truth() -> pd.DataFrame:
    """The truth behind ``example_pass_counts()``: per problem ``alpha``, ``k`` and ``group``
    (``attrs["compute_ref"]``), for ``true_pass_rates``."""
    return make_example_pass_counts(seed=0)[1]


def example_runs() -> pd.DataFrame:
    """The shipped synthetic example ladder as a validated runs table; ``attrs["note"]`` says it is synthetic.

    Nine compute-optimal rungs from 3e16 to 3e19 FLOPs drawn from ``L(C) = a·C^b + c``
    with known a, b, c (988, -0.16, 1.75) and 0.7% relative seed noise, made by
    ``make_example_runs(seed=0)``: not measured on any model. Knowing the truth shows how
    close a forecast lands (the true mean loss is 2.1813 at 1e21 and 2.0484 at 1e22).

    Returns
    -------
    pandas.DataFrame
        The table as ``load_runs`` returns it: ``compute``, ``loss``, ``run``,
        ``params``, ``tokens``, ``seed``. ``attrs["note"]`` says the data are synthetic,
        so forecasts, reports and registry records made from it say so too.

    See Also
    --------
    load_runs, example_pass_counts

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> runs = bs.example_runs()
    >>> len(runs), list(runs.columns)
    (9, ['compute', 'loss', 'run', 'params', 'tokens', 'seed'])
    >>> fc = bs.forecast(runs, target=[1e21, 1e22], seed=0)
    """
    from bayes_scaling.tables import load_runs

    with resources.as_file(example_runs_path()) as path:
        runs = load_runs(path)
    runs.attrs["note"] = EXAMPLE_NOTE  # forecasts, reports and registry records say what these data are
    return runs


def make_example_pass_counts(
    seed: int = 0,
    problems: int = 164,
    computes=(1e17, 3.16e17, 1e18, 3.16e18, 1e19, 3.16e19, 1e20),
    n: int = 200,
    buckets: int = 6,
    exclude_hardest: int = 15,
):
    """Synthetic pass counts from the capability law with known α_i and k_g, and the truth.

    Problem i has ``−log p_i(C) = α_i·(C/C_ref)^(−k_g)``; each difficulty group g has its
    own ``k_g`` (``log k_g ~ N(log 0.3, 0.3)``). Groups are what ``assign_buckets`` would
    find with infinitely many samples: problems ranked by their *noise-free* score (mean
    true pass rate over ``computes``), the ``exclude_hardest`` hardest apart (they share the
    hardest group's k), the rest in ``buckets`` equal groups. So the law's premise, one k
    per bucket of equally hard problems, holds; fitted buckets differ from the groups only
    where binomial noise swaps neighbouring problems. (Ranking by α instead, with k jumping
    between groups, put ~11% of problems in a bucket with another k.) The scores come from
    ``log α ~ N(0.5, 1.5)`` at k = 0.3; each α is then set so that its group's k gives the
    same score. Returns ``(counts, truth)``; ``truth`` has ``problem, alpha, k, group`` and
    ``attrs["compute_ref"]``, for ``true_pass_rates``.
    """
    from scipy.stats import gmean  # here: the datasets load without scipy

    rng = np.random.default_rng(seed)
    computes = np.asarray(computes, dtype=float)
    compute_ref = float(gmean(computes))
    x = np.log(computes / compute_ref)
    score = _noise_free_score(rng.normal(0.5, 1.5, problems), np.full(problems, 0.3), x)
    easiest_first = np.argsort(-score, kind="stable")
    group = np.full(problems, buckets - 1)
    for g, members in enumerate(np.array_split(easiest_first[: problems - exclude_hardest], buckets)):
        group[members] = g
    k = np.exp(rng.normal(np.log(0.3), 0.3, buckets))[group]
    alpha = np.exp(_log_alpha_for_score(score, k, x))
    names = [f"task/{i:03d}" for i in range(problems)]
    rows = []
    for j, compute in enumerate(computes):
        p = np.exp(-alpha * (compute / compute_ref) ** (-k))
        correct = rng.binomial(n, p)
        rows.append(pd.DataFrame({"run": f"model{j}", "compute": compute, "problem": names, "n": n, "correct": correct}))
    truth = pd.DataFrame({"problem": names, "alpha": alpha, "k": k, "group": group + 1})
    truth.attrs["compute_ref"] = compute_ref
    return pd.concat(rows, ignore_index=True), truth


def _noise_free_score(log_alpha, k, x) -> np.ndarray:
    """Mean true pass rate over the log-compute ratios ``x``, per problem."""
    return np.exp(-np.exp(log_alpha[:, None] - k[:, None] * x[None, :])).mean(axis=1)


def _log_alpha_for_score(score, k, x) -> np.ndarray:
    """The log α giving each problem ``score`` with exponent ``k`` (bisection: score falls with α)."""
    lo, hi = np.full(score.shape, -30.0), np.full(score.shape, 30.0)
    for _ in range(80):
        mid = (lo + hi) / 2
        too_easy = _noise_free_score(mid, k, x) > score
        lo, hi = np.where(too_easy, mid, lo), np.where(too_easy, hi, mid)
    return (lo + hi) / 2


def true_pass_rates(truth: pd.DataFrame, problems, compute: float) -> dict[str, float]:
    """The true mean pass rate and −E[log pass rate] of ``problems`` at ``compute``."""
    chosen = truth.set_index("problem").loc[list(problems)]
    lam = chosen["alpha"].to_numpy() * (compute / truth.attrs["compute_ref"]) ** (-chosen["k"].to_numpy())
    return {"pass_rate": float(np.exp(-lam).mean()), "neg_log_pass_rate": float(lam.mean())}


CAPABILITY_TRUTH = {
    "a": 40.0, "b": -0.1, "c": 1.2, "loss_noise": 0.01,
    "floor": 0.25, "ceiling": 0.9, "steepness": 6.0, "loss_mid": 1.7, "accuracy_noise": 0.005,
}


def true_capability(compute) -> dict[str, np.ndarray]:
    """Noise-free task loss and accuracy of the synthetic capability ladder at ``compute``."""
    t = CAPABILITY_TRUTH
    task_loss = t["a"] * np.asarray(compute, dtype=float) ** t["b"] + t["c"]
    accuracy = t["floor"] + (t["ceiling"] - t["floor"]) / (1 + np.exp(t["steepness"] * (task_loss - t["loss_mid"])))
    return {"task_loss": task_loss, "accuracy": accuracy}


def make_example_capability_runs(seed: int = 0, computes=np.geomspace(1e18, 1e21, 8), items: int = 2000, reverse_top: int = 0):
    """Synthetic two-step data (``compute, task_loss, accuracy``) from ``CAPABILITY_TRUTH``.

    A run's task loss is the curve times 1% log-normal noise; its accuracy the sigmoid of
    that loss with Beta run noise, scored on ``items`` items (4-way: floor 0.25).
    ``reverse_top=m`` swaps in the accuracies of the m largest runs in reverse order, so
    that they *fall* with compute (inverse scaling at the top of the ladder).
    """
    rng = np.random.default_rng(seed)
    computes = np.asarray(computes, dtype=float)
    t = CAPABILITY_TRUTH
    task_loss = true_capability(computes)["task_loss"] * np.exp(t["loss_noise"] * rng.standard_normal(computes.size))
    expected = t["floor"] + (t["ceiling"] - t["floor"]) / (1 + np.exp(t["steepness"] * (task_loss - t["loss_mid"])))
    concentration = 0.25 / t["accuracy_noise"] ** 2
    correct = rng.binomial(items, rng.beta(expected * concentration, (1 - expected) * concentration))
    if reverse_top:
        correct[-reverse_top:] = np.sort(correct[-reverse_top:])[::-1]
    return pd.DataFrame(
        {"run": [f"model{i}" for i in range(computes.size)], "compute": computes, "task_loss": task_loss, "accuracy": correct / items}
    )

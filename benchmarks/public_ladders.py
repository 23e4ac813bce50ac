"""The published scaling tables in ../shared/data as tidy tables for the laws, in one place.

Not shipped with the package: benchmarks and tests read them from ``../shared/data``
(``--data`` or ``BAYES_SCALING_SHARED_DATA`` elsewhere) and skip when it is absent.
Every loader returns the table a law's loader accepts, with the columns named as the
package names them (``compute, params, tokens, loss``; pass counts ``run, compute,
problem, n, correct``; capability runs ``run, compute, task_loss, accuracy``).

- Porian et al. (2024), OpenWebText2: compute-optimal loss per budget, 5 training
  configurations (``porian_compute_optimal``), and the IsoFLOP sweeps behind them
  (``porian_isoflop``);
- Chinchilla's points as digitised by Epoch AI, less the 5 highest losses, as Epoch did
  (``chinchilla_points``);
- Li et al. (2025), "(Mis)Fitting Scaling Laws": one recipe, 11 sizes, several token
  budgets and peak learning rates (``misfitting``);
- Pythia on 130 GSM8K problems, per-problem pass counts (Schaeffer et al. 2025;
  ``pythia_gsm8k``) and the Pythia zero-shot evaluations (``pythia_zeroshot``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_DATA = Path(os.environ.get("BAYES_SCALING_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
PORIAN_CONFIG = ["hparams", "warmup", "decay", "param_count", "val"]
PORIAN_CONFIGS = (  # the five training configurations, as the loaders name them
    "base/long/kaplan/kaplan/train",
    "base/long/kaplan/standard/val",
    "base/short/chinchilla/standard/val",
    "base/short/kaplan/standard/val",
    "tuned/short/const/standard/val",
)
ZEROSHOT_TASKS = {  # accuracy column, number of items, chance level
    "lambada": ("lambada_openai__acc", 5153, 0.0),
    "arc_easy": ("arc_easy__acc", 2376, 0.25),
}


def porian_compute_optimal(data_dir: Path = DEFAULT_DATA) -> dict[str, pd.DataFrame]:
    """Per training configuration ('base/long/kaplan/kaplan/train', ...): the compute-optimal
    runs (compute, params N*, tokens T*, loss L*), rows without a loss left out."""
    table = pd.read_csv(Path(data_dir) / "porian2024_compute_optimal_owt2.csv").dropna(subset=["loss_star"])
    return {
        "/".join(config): pd.DataFrame(
            {"compute": group["flops"], "params": group["N_star"], "tokens": group["T_star"], "loss": group["loss_star"]}
        ).reset_index(drop=True)
        for config, group in table.groupby(PORIAN_CONFIG)
    }


def porian_isoflop(data_dir: Path = DEFAULT_DATA) -> dict[str, pd.DataFrame]:
    """Per training configuration: every run of its IsoFLOP sweeps (compute, params, tokens, loss)."""
    table = pd.read_csv(Path(data_dir) / "porian2024_isoflop_owt2.csv").dropna(subset=["loss"])
    return {
        "/".join(config): pd.DataFrame(
            {"compute": group["flops"], "params": group["N"], "tokens": group["T"], "loss": group["loss"]}
        ).reset_index(drop=True)
        for config, group in table.groupby(PORIAN_CONFIG)
    }


def chinchilla_points(data_dir: Path = DEFAULT_DATA) -> pd.DataFrame:
    """Epoch's digitised Chinchilla points less the 5 highest losses (240 runs); D = C / (6N)."""
    raw = pd.read_csv(Path(data_dir) / "chinchilla_epoch_svg_extracted.csv").nsmallest(240, "loss")
    return pd.DataFrame(
        {
            "compute": raw["Training FLOP"],
            "params": raw["Model Size"],
            "tokens": raw["Training FLOP"] / (6 * raw["Model Size"]),
            "loss": raw["loss"],
        }
    ).reset_index(drop=True)


def misfitting(data_dir: Path = DEFAULT_DATA, best_lr_only: bool = True) -> pd.DataFrame:
    """Li et al.'s open_lm ladder (params with embeddings, tokens, compute = 6ND, final C4 loss);
    ``best_lr_only``: the run with the best peak learning rate of each size and budget."""
    raw = pd.read_csv(Path(data_dir) / "misfitting_li2025_final_losses.csv")
    if best_lr_only:
        raw = raw[raw["best_lr"]]
    return pd.DataFrame(
        {
            "run": raw["model"] + "/" + raw["tokens"].astype(str) + "/lr" + raw["peak_lr"].astype(str),
            "compute": raw["compute"].astype(float),
            "params": raw["params"].astype(float),
            "tokens": raw["tokens"].astype(float),
            "loss": raw["loss"],
        }
    ).drop_duplicates(subset=["run"]).reset_index(drop=True)


def pythia_gsm8k(data_dir: Path = DEFAULT_DATA) -> pd.DataFrame:
    """Pass counts of Pythia models and checkpoints on 130 GSM8K problems; compute = 6·N·D."""
    raw = pd.read_csv(Path(data_dir) / "pythia_gsm8k_per_problem_schaeffer2025.csv")
    return pd.DataFrame(
        {
            "run": raw["model"],
            "compute": 6.0 * raw["Parameters"] * raw["Tokens"],
            "problem": raw["prompt_idx"].astype(str),
            "n": raw["n_samples"].astype(int),
            "correct": raw["n_correct"].round().astype(int),
            "params": raw["Parameters"],
            "tokens": raw["Tokens"],
        }
    )


def pythia_gsm8k_fit(counts: pd.DataFrame, max_params: float, checkpoints: bool) -> pd.DataFrame:
    """The fitted part of the GSM8K counts: models up to ``max_params``, final checkpoints only
    or every checkpoint from 2B tokens on (``checkpoints``)."""
    small = counts[counts["params"] <= max_params]
    if checkpoints:
        return small[small["tokens"] >= 2e9].reset_index(drop=True)
    return small[small["tokens"] == counts["tokens"].max()].reset_index(drop=True)


def pythia_zeroshot(data_dir: Path = DEFAULT_DATA, task: str = "lambada") -> pd.DataFrame:
    """Final checkpoints of Pythia (standard and deduped) as capability runs: task loss = log of
    LAMBADA's perplexity of the correct word (the file's one per-item likelihood), accuracy on
    ``task``. Compute = 6·N·D in floating point (the file's flops_6ND overflowed int64)."""
    column = ZEROSHOT_TASKS[task][0]
    raw = pd.read_csv(Path(data_dir) / "pythia_v1_zeroshot_checkpoints.csv")
    final = raw[raw["tokens"] == raw["tokens"].max()]
    return pd.DataFrame(
        {
            "run": final["model"],
            "compute": 6.0 * final["N_total"].astype(float) * final["tokens"].astype(float),
            "task_loss": np.log(final["lambada_openai__ppl"]),
            "accuracy": final[column],
            "params": final["N_total"].astype(float),
        }
    ).reset_index(drop=True)


def fit_cut(runs: pd.DataFrame, ratio: float) -> pd.DataFrame:
    """The runs with compute at most 1/``ratio`` of the largest."""
    return runs[runs["compute"] <= runs["compute"].max() / ratio].reset_index(drop=True)

"""Does ``compare_recipes`` pick the recipe that in fact wins, and is its P(better) calibrated?

On public ladders where several recipes were trained at the same budgets, each pair of recipes
is fitted on its budgets up to C_max/16 (C_max: the largest budget both measured) and asked,
at every budget both measured beyond the fit, for P(A's loss < B's loss) for one run of each
(``kind="predictive"``: the measured losses are single runs). Then it is checked against which
recipe's measured loss was in fact lower:

- Porian et al. (2024), OpenWebText2: the five training configurations' compute-optimal
  losses, 10 pairs;
- Pythia (Biderman et al. 2023), standard against deduplicated data: the final checkpoints'
  LAMBADA loss (log perplexity of the correct word), 70M to 12B parameters.

Each pair is fitted both ways ``compare_recipes`` can: jointly, the two curves' shapes partially
pooled (laws/pooled_loss.py, the default), and apart. Printed for each: for each pair the
favourite at C_max, its P(better) and whether it won; the share of favourites that won; the Brier
score (0.25 is a coin flip); and, over every (pair, budget), the mean P(favourite wins) against
the share that won, in bins. ``--spread-factor`` scales the pooled model's prior medians of the
spreads (< 1 pools harder), to see how the answer depends on them. Last, Porian's five
configurations in one pooled fit, where five recipes inform the spreads, every pair scored alike.

    python benchmarks/recipes.py [--data ../shared/data] [--ratio 16] [--spread-factor 1]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import public_ladders as public  # noqa: E402

import bayes_scaling as bs  # noqa: E402
from bayes_scaling.laws import pooled_loss  # noqa: E402


def porian_recipes(data_dir: Path) -> dict[str, pd.DataFrame]:
    """Each configuration's compute-optimal (compute, loss)."""
    return {name: runs[["compute", "loss"]] for name, runs in public.porian_compute_optimal(data_dir).items()}


def pythia_recipes(data_dir: Path) -> dict[str, pd.DataFrame]:
    """Pythia's final checkpoints: LAMBADA's log perplexity as the loss, standard and deduped."""
    raw = pd.read_csv(Path(data_dir) / "pythia_v1_zeroshot_checkpoints.csv")
    final = raw[raw["tokens"] == raw["tokens"].max()]
    runs = pd.DataFrame(
        {
            "compute": 6.0 * final["N_total"].astype(float) * final["tokens"].astype(float),
            "loss": np.log(final["lambada_openai__ppl"]),
            "deduped": final["deduped"].astype(bool),
        }
    )
    return {name: group[["compute", "loss"]] for name, group in (("standard", runs[~runs["deduped"]]), ("deduped", runs[runs["deduped"]]))}


def compare(ladder: str, recipes: dict[str, pd.DataFrame], ratio: float, seed: int, pooled: bool, fit: str) -> list[dict]:
    """The recipes in one comparison, fitted on budgets up to C_max/ratio (C_max: the largest budget every
    one of them measured); P(a better) scored for every pair at each later budget they all measured."""
    shared = np.array(sorted(set.intersection(*(set(runs["compute"]) for runs in recipes.values()))))
    c_max = shared.max()
    cut = c_max / ratio * (1 + 1e-9)
    targets = shared[shared > cut]
    table = pd.concat([runs[runs["compute"] <= cut].assign(family=name) for name, runs in recipes.items()], ignore_index=True)
    comparison = bs.compare_recipes(table, target=targets, pooled=pooled, seed=seed, progress=False)
    rows = []
    for a, b in itertools.combinations(recipes, 2):
        p_a = comparison.prob_better(a, b).to_numpy()
        loss_a = recipes[a].set_index("compute").loc[targets, "loss"].to_numpy()
        loss_b = recipes[b].set_index("compute").loc[targets, "loss"].to_numpy()
        for i, compute in enumerate(targets):
            won = bool(loss_a[i] < loss_b[i])
            rows.append({
                "fit": fit, "ladder": ladder, "a": a, "b": b, "compute": compute, "at_c_max": bool(compute == c_max),
                "fitted_runs": f"{(table['family'] == a).sum()}+{(table['family'] == b).sum()}",
                "p_a_better": p_a[i], "a_won": won, "measured_gap": loss_a[i] - loss_b[i],
                "p_favourite": max(p_a[i], 1 - p_a[i]), "favourite_won": won == (p_a[i] >= 0.5), "sampler_ok": comparison.ok,
            })
    return rows


def summarise(rows: pd.DataFrame, title: str) -> None:
    brier = float(np.mean((rows["p_a_better"] - rows["a_won"].astype(float)) ** 2))
    print(f"{title}: {len(rows)} comparisons; favourite won {rows['favourite_won'].sum()}/{len(rows)} "
          f"({rows['favourite_won'].mean():.0%}); mean P(favourite wins) {rows['p_favourite'].mean():.2f}; Brier {brier:.3f} (coin flip 0.250)")


def calibration_table(rows: pd.DataFrame) -> pd.DataFrame:
    bins = pd.cut(rows["p_favourite"], [0.5, 0.6, 0.75, 0.9, 0.99, 1.0], include_lowest=True)
    return rows.groupby(bins, observed=True).agg(
        comparisons=("favourite_won", "size"), mean_p_favourite=("p_favourite", "mean"), share_won=("favourite_won", "mean")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=public.DEFAULT_DATA)
    parser.add_argument("--ratio", type=float, default=16.0, help="fit on budgets up to C_max / RATIO")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--spread-factor", type=float, default=1.0, help="scale the pooled model's prior medians of the spreads")
    args = parser.parse_args()
    pooled_loss.SPREAD_SCALES = {name: scale * args.spread_factor for name, scale in pooled_loss.SPREAD_SCALES.items()}
    start = time.perf_counter()
    rows = []
    ladders = {"porian": porian_recipes(args.data), "pythia-lambada": pythia_recipes(args.data)}
    for pooled in (True, False):
        for ladder, recipes in ladders.items():
            for a, b in itertools.combinations(recipes, 2):
                rows += compare(ladder, {a: recipes[a], b: recipes[b]}, args.ratio, args.seed, pooled, "pooled" if pooled else "apart")
    for pooled in (True, False):  # where five recipes inform the pooled model's spreads
        fit = f"{'pooled' if pooled else 'apart'}, all {len(ladders['porian'])} in one comparison"
        rows += compare("porian", ladders["porian"], args.ratio, args.seed, pooled, fit)
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(table[table["at_c_max"]].drop(columns=["at_c_max"]).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for fit, part in table.groupby("fit", sort=False):
        print(f"\n{fit} (spread prior medians x{args.spread_factor:g})" if fit.startswith("pooled") else f"\n{fit}")
        summarise(part[part["at_c_max"]], f"at C_max, fitted on <= C_max/{args.ratio:g}")
        summarise(part, "every budget both measured beyond the fit")
        print(calibration_table(part).to_string(float_format=lambda v: f"{v:.2f}"))
        print(f"every sampler healthy: {bool(part['sampler_ok'].all())}")
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

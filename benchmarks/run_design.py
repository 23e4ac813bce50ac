"""Does ``suggest_runs`` choose better runs than a geometric ladder, at the same compute?

On two public ladders fitted with the chinchilla law L(N, D):

- Epoch's digitised Chinchilla points (Hoffmann et al. 2022), 240 runs;
- Li et al.'s open_lm ladder (Misfitting, 2024), the best learning rate per size and budget, 81 runs;

the runs at compute >= C_max/16 are held out (the "large runs" the forecast is for). A lab starts
from the ``--start`` smallest runs and can add runs from the rest (compute < C_max/16), each costing
its compute:

- *geometric*: the usual ladder, ``r`` rungs spaced geometrically in compute from twice the start's
  largest run to C_max/16, at each rung the available run nearest in log compute (ties: nearest
  the start's median tokens per parameter);
- *suggested*: ``bs.suggest_runs`` on the start's forecast, with the geometric ladder's total compute
  as its budget, the held-out run of largest compute as its target, and the available runs as
  candidates; and the same with ``max_runs=r`` (as many runs as the geometric ladder).

Each design is fitted (start + its runs) and forecast at every held-out run: the mean width of the
90% predictive interval and its coverage of the measured losses, side by side, for r = 3, 4, 6;
once with the plain law and once with its extrapolation error (suggestion and fits alike).

The second part checks both of ``suggest_runs``' updates (linear, the default, and reweighting) against refits: for a few candidates,
``--refits`` outcomes are drawn from the start's posterior predictive, the law is refitted with each,
and the mean width of the target's interval is compared with the expected width suggest_runs reports.

    python benchmarks/run_design.py [--data ../shared/data] [--start 10] [--refits 12]
    python benchmarks/run_design.py --only misfitting --refits 0 --plot docs/run_design_misfitting.png
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import public_ladders as public  # noqa: E402

import bayes_scaling as bs  # noqa: E402
from bayes_scaling.laws import get_law  # noqa: E402

RUNGS = (3, 4, 6)
# the plain law, and with the law's extrapolation error (laws/extrapolation.py), which suggest_runs
# draws jointly for the target and the candidates: both the suggestion and the final fits use it
VARIANTS = {"plain law": {}, "with extrapolation error": {"extrapolation_error": "auto"}}
COLUMNS = ["params", "tokens", "compute"]


def ladders(data_dir: Path) -> dict[str, pd.DataFrame]:
    return {"Chinchilla (Epoch)": public.chinchilla_points(data_dir), "Misfitting (Li et al.)": public.misfitting(data_dir)}


def split(runs: pd.DataFrame, start: int):
    """(start, available, held out): the held-out runs are those at >= C_max/16."""
    runs = runs.sort_values("compute").reset_index(drop=True)[COLUMNS + ["loss"]]
    held = runs[runs["compute"] >= runs["compute"].max() / 16]
    rest = runs[runs["compute"] < runs["compute"].max() / 16]
    return rest.iloc[:start], rest.iloc[start:].reset_index(drop=True), held.reset_index(drop=True)


def fit(runs: pd.DataFrame, held: pd.DataFrame, seed: int, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.IdentifiabilityWarning)  # the start's few runs leave the split to its prior: said once below
        return bs.forecast(runs, target=held[COLUMNS], law="chinchilla", seed=seed, progress=False, **options)


def geometric(start: pd.DataFrame, available: pd.DataFrame, rungs: int) -> pd.DataFrame:
    """At each rung the available run nearest in log compute (ties: nearest the start's tokens per parameter)."""
    grid = np.geomspace(2 * start["compute"].max(), available["compute"].max(), rungs)
    ratio = np.log(np.median(start["tokens"] / start["params"]))
    chosen = []
    for compute in grid:
        free = available.drop(index=chosen)
        distance = np.abs(np.log(free["compute"] / compute)) + 1e-3 * np.abs(np.log(free["tokens"] / free["params"]) - ratio)
        chosen.append(distance.idxmin())
    return available.loc[chosen]


def score(fc, held: pd.DataFrame) -> tuple[float, float]:
    """Mean width of the 90% predictive intervals at the held-out runs, and their coverage."""
    lower, upper = fc.interval(0.9)
    loss = held["loss"].to_numpy()
    return float(np.mean(upper - lower)), float(np.mean((loss >= lower) & (loss <= upper)))


def compare_designs(name: str, runs: pd.DataFrame, start_size: int, seed: int, variant: str, plot: Path | None = None) -> list[dict]:
    options = VARIANTS[variant]
    start, available, held = split(runs, start_size)
    first = fit(start, held, seed, **options)
    print(f"\n{name}, {variant}: start {len(start)} runs ({start['compute'].min():.2g}-{start['compute'].max():.2g} FLOPs), "
          f"{len(available)} available, {len(held)} held out (>= {held['compute'].min():.2g}); start fit ok: {first.ok}")
    width0, cover0 = score(first, held)
    print(f"  start alone: width {width0:.4f}, coverage {cover0:.2f}")
    rows = []
    for rungs in RUNGS:
        ladder = geometric(start, available, rungs)
        budget = float(ladder["compute"].sum())
        began = time.perf_counter()
        suggestion = bs.suggest_runs(first, budget=budget, candidates=available[COLUMNS])
        took = time.perf_counter() - began
        picked = available.iloc[suggestion.plan["candidate"].to_numpy(dtype=int)]
        if plot is not None and rungs == RUNGS[1]:
            suggestion.plot(plot)
            print(f"  chart of the r={rungs} suggestion: {plot}")
        few = bs.suggest_runs(first, budget=budget, candidates=available[COLUMNS], max_runs=rungs)
        picked_few = available.iloc[few.plan["candidate"].to_numpy(dtype=int)]
        result = {"ladder": name, "variant": variant, "rungs": rungs, "budget": budget, "suggest_s": took}
        for design, added in (("geometric", ladder), ("suggested", picked), ("suggested_r", picked_few)):
            fc = fit(pd.concat([start, added], ignore_index=True), held, seed, **options)
            width, coverage = score(fc, held)
            result.update({f"{design}_runs": len(added), f"{design}_spent": float(added["compute"].sum()),
                           f"{design}_width": width, f"{design}_coverage": coverage, f"{design}_ok": fc.ok})
        rows.append(result)
        print(f"  r={rungs}: budget {budget:.3g}; geometric {len(ladder)} runs, width {result['geometric_width']:.4f}, "
              f"coverage {result['geometric_coverage']:.2f} | suggested {len(picked)} runs ({result['suggested_spent']:.3g} FLOPs, "
              f"{suggestion.plan.attrs['rule']}), width {result['suggested_width']:.4f}, coverage {result['suggested_coverage']:.2f} "
              f"[suggest_runs {took:.1f} s; fits ok {result['geometric_ok']}/{result['suggested_ok']}]")
        print("     suggested: " + ", ".join(f"N={r.params:.2g} D={r.tokens:.2g}" for r in picked.itertuples()))
    return rows


def check_against_refits(runs: pd.DataFrame, start_size: int, refits: int, seed: int) -> list[dict]:
    """Expected width by reweighting vs the mean width over refits with simulated outcomes."""
    start, available, held = split(runs, start_size)
    target = held.iloc[[-1]]
    first = fit(start, target, seed)
    law = get_law("chinchilla")
    picks = available.iloc[np.unique(np.linspace(0, len(available) - 1, 3).astype(int))]
    suggestion = bs.suggest_runs(first, budget=float(picks["compute"].sum()), candidates=picks[COLUMNS])
    reweighted = bs.suggest_runs(first, budget=float(picks["compute"].sum()), candidates=picks[COLUMNS], method="reweight")
    by_reweighting = reweighted.candidates.set_index("candidate")
    rng = np.random.default_rng(seed)
    posterior = first.idata.posterior.stack(sample=("chain", "draw"))
    rows = []
    lower, upper = first.interval(0.9)
    print(f"\nreweighting vs refits (Chinchilla start of {start_size}, target {target['compute'].iloc[0]:.3g}; today's width {float(upper - lower):.4f})")
    for row in suggestion.candidates.sort_values("compute").itertuples():
        widths = []
        for _ in range(refits):
            index = rng.integers(posterior.sizes["sample"])  # one draw: every parameter from it
            draw = {name: posterior[name].to_numpy()[..., [index]] for name in posterior.data_vars
                    if posterior[name].dims[-1] == "sample" and posterior[name].ndim == 1}
            outcome = law.predict(draw, first.idata.constant_data, first.settings["options"], pd.DataFrame([{c: getattr(row, c) for c in COLUMNS}]), rng)["loss"]
            new = pd.concat([start, pd.DataFrame([{**{c: getattr(row, c) for c in COLUMNS}, "loss": float(np.ravel(outcome)[0])}])], ignore_index=True)
            refit = fit(new, target, int(rng.integers(2**31)))
            lo, hi = refit.interval(0.9)
            widths.append(float(hi - lo))
        widths = np.array(widths)
        refit_mean, refit_se = widths.mean(), widths.std(ddof=1) / np.sqrt(len(widths))
        other = by_reweighting.loc[row.candidate]
        rows.append({"compute": row.compute, "linear": row.width_after, "reweighted": other.width_after, "refit": refit_mean, "refit_se": refit_se})
        print(f"  candidate N={row.params:.3g} D={row.tokens:.3g} ({row.compute:.3g} FLOPs): linear {row.width_after:.4f}, "
              f"reweighted {other.width_after:.4f} ± {other.shrinkage_se:.4f} (pareto k {other.pareto_k:.2f}), "
              f"refits {refit_mean:.4f} ± {refit_se:.4f} (n={refits})")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=public.DEFAULT_DATA)
    parser.add_argument("--start", type=int, default=10, help="the smallest runs the lab starts from")
    parser.add_argument("--refits", type=int, default=12, help="refits per candidate in the reweighting check (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", help="run only the ladder whose name contains this, with the plain law")
    parser.add_argument("--plot", type=Path, help="draw the r=4 suggestion's chart (with --only)")
    args = parser.parse_args()
    began = time.perf_counter()
    rows = []
    for variant in VARIANTS if args.only is None else ["plain law"]:
        for name, runs in ladders(args.data).items():
            if args.only is None or args.only.lower() in name.lower():
                rows += compare_designs(name, runs, args.start, args.seed, variant, plot=args.plot if args.only else None)
    table = pd.DataFrame(rows)
    for variant, part in table.groupby("variant", sort=False):
        for design in ("suggested", "suggested_r"):
            ratio = part[f"{design}_width"] / part["geometric_width"]
            print(f"\n{variant}, {design} / geometric width at the held-out runs:", ", ".join(f"{r:.2f}" for r in ratio),
                  f"(median {ratio.median():.2f}); spent {np.mean(part[f'{design}_spent'] / part['budget']):.0%} of the budget on average")
        for ladder, one in part.groupby("ladder", sort=False):
            print(f"  {ladder}: coverage geometric {one['geometric_coverage'].mean():.2f}, suggested {one['suggested_coverage'].mean():.2f}, "
                  f"at most r runs {one['suggested_r_coverage'].mean():.2f}; width geometric {one['geometric_width'].mean():.4f}, "
                  f"suggested {one['suggested_width'].mean():.4f}, at most r runs {one['suggested_r_width'].mean():.4f} (means over r)")
    if args.refits:
        check_against_refits(public.chinchilla_points(args.data), args.start, args.refits, args.seed)
    print(f"\n{time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()

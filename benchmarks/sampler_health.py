"""Sampler health of every law, with default settings, on every real table and on synthetic ladders
(and the loss law with a user's prior on b, the cases that say so).

One row per fit: divergences, worst r_hat, worst bulk and tail ESS, mean tree depth, share of
draws at the maximum tree depth, mean step size, seconds (compilation included where the fit
is the first of its shape in this process), and whether the fit passes ``fc.ok``. Real tables
come from ../shared/data (``--data``; see ``public_ladders.py``), synthetic ones from the
package's and the tests' generators at several seeds. ``tests/test_sampler_health.py`` runs
every case of this list as a test (the real ones skip without ../shared/data).

    python benchmarks/sampler_health.py [--data ../shared/data] [--only pass_rate] [--csv out.csv]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from pymc_extras.prior import Prior

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

import public_ladders as public  # noqa: E402
import synthetic_ladders  # noqa: E402

import bayes_scaling as bs  # noqa: E402
from bayes_scaling.datasets import CPU_LADDER_SMALL_SHARE, cpu_ladder_runs, make_example_capability_runs, make_example_pass_counts, make_example_runs  # noqa: E402

SEEDS = (0, 1, 2)
PRIOR_ON_B = Prior("TruncatedNormal", mu=-0.1, sigma=0.1, upper=0)  # a loose literature prior (laws/exponent_prior.py)
POOLED = "pooled_loss"  # cases of compare_recipes' joint model rather than of bs.forecast
MAX_TREE_DEPTH = 10  # numpyro's default


@dataclass(frozen=True)
class Case:
    """One fit of the battery: ``make(data_dir)`` gives (data, target); ``real`` needs ../shared/data."""

    name: str
    law: str
    make: Callable
    real: bool
    options: dict = field(default_factory=dict)


def _beyond(runs: pd.DataFrame, factor: float = 100.0) -> float:
    return float(runs["compute"].max() * factor)


def _nd_target(runs: pd.DataFrame, factor: float = 100.0) -> pd.DataFrame:
    """A target 100× the largest run's compute, at the fitted runs' median tokens per parameter."""
    ratio = float(np.median(runs["tokens"] / runs["params"]))
    params = np.sqrt(_beyond(runs, factor) / (6 * ratio))
    return pd.DataFrame({"params": [params], "tokens": [ratio * params]})


def _porian_cases() -> list[Case]:
    cases = []
    for cut in (16, 100):
        for config in public.PORIAN_CONFIGS:
            def make(data, config=config, cut=cut):
                runs = public.fit_cut(public.porian_compute_optimal(data)[config], cut)
                return runs, _beyond(runs, cut)

            cases.append(Case(f"porian {config} C<=max/{cut}", "loss", make, True))

            def make_nd(data, config=config, cut=cut):
                runs = public.fit_cut(public.porian_compute_optimal(data)[config], cut)
                return runs, _nd_target(runs, cut)

            if cut == 16:
                cases.append(Case(f"porian {config} C<=max/{cut}", "chinchilla", make_nd, True))
                cases.append(Case(f"porian {config} C<=max/{cut}", "broken_loss", make, True))
    # the broken law also on the whole ladder, where the bend is plain to see (the calibration frontiers keep
    # fewer than the 6 computes it needs)
    for config in public.PORIAN_CONFIGS:

        def make_all(data, config=config):
            runs = public.porian_compute_optimal(data)[config]
            return runs, _beyond(runs, 16)

        cases.append(Case(f"porian {config} whole ladder", "broken_loss", make_all, True))
    return cases


def _recipe_cases() -> list[Case]:
    """The joint model of several recipes (``compare_recipes``' default for the loss law) on the pairs of
    benchmarks/recipes.py: Porian's configurations fitted up to C_max/16, Pythia standard vs deduplicated."""
    import itertools

    import recipes

    cases = []

    def make_pair(data, a, b, ladder):
        both = recipes.porian_recipes(data) if ladder == "porian" else recipes.pythia_recipes(data)
        shared = np.intersect1d(both[a]["compute"], both[b]["compute"])
        cut = shared.max() / 16 * (1 + 1e-9)
        table = pd.concat([both[name][both[name]["compute"] <= cut].assign(family=name) for name in (a, b)], ignore_index=True)
        return table, [float(shared.max())]

    for a, b in itertools.combinations(public.PORIAN_CONFIGS, 2):
        cases.append(Case(f"porian {a} + {b} C<=max/16", POOLED, lambda data, a=a, b=b: make_pair(data, a, b, "porian"), True))
    cases.append(Case("pythia lambada standard + deduped <= 410M", POOLED, lambda data: make_pair(data, "standard", "deduped", "pythia"), True))

    def make_five(data):
        table = pd.concat([public.fit_cut(runs, 16).assign(family=name) for name, runs in public.porian_compute_optimal(data).items()], ignore_index=True)
        return table, [1.28e19]

    cases.append(Case("porian, the five configurations C<=max/16", POOLED, make_five, True))
    return cases


def _synthetic_recipe_case(seed: int) -> Case:
    """The example ladder, and a second recipe 3% worse measured on its 4 smallest runs only."""
    def make(_):
        runs = make_example_runs(seed)
        short = make_example_runs(seed + 100).nsmallest(4, "compute").assign(loss=lambda t: t["loss"] * 1.03)
        return pd.concat([runs.assign(family="long"), short.assign(family="short")], ignore_index=True), [1e21]

    return Case(f"example ladder + 4 short runs, seed {seed}", POOLED, make, False)


# (frontier, fit cut) of benchmarks/calibration.py that keep at least 4 distinct computes
FRONTIER_CUTS = (
    ("chinchilla", 16), ("chinchilla", 64), ("misfitting", 16),
    ("base/short/chinchilla/standard/val", 256), ("base/short/kaplan/standard/val", 256),
    ("tuned/short/const/standard/val", 256),
)


def _frontier_cases() -> list[Case]:
    """The loss-vs-compute frontiers of benchmarks/calibration.py at its fit cuts, down to 4 runs."""
    import calibration

    def make(data, name, cut):
        runs = next(r for dataset, ladder, r in calibration.frontiers(data) if name in (dataset, ladder))
        fitted = runs[runs["compute"] <= runs["compute"].max() / cut * (1 + 1e-9)].reset_index(drop=True)
        return fitted, [runs["compute"].max()]

    return [
        Case(f"{name} frontier C<=max/{cut}", "loss", lambda data, n=name, c=cut: make(data, n, c), True)
        for name, cut in FRONTIER_CUTS
    ]


def _isoflop_cases() -> list[Case]:
    cases = []
    for config in public.PORIAN_CONFIGS:
        def make(data, config=config):
            runs = public.porian_isoflop(data)[config]
            return runs, _nd_target(runs)

        cases.append(Case(f"porian isoflop {config}", "chinchilla", make, True))
    return cases


def _chinchilla_cases() -> list[Case]:
    def all_points(data):
        runs = public.chinchilla_points(data)
        return runs, pd.DataFrame({"params": [7e10], "tokens": [1.4e12]})

    def fit_1e20(data):
        runs = public.chinchilla_points(data)
        return runs[runs["compute"] <= 1e20].reset_index(drop=True), pd.DataFrame({"params": [7e10], "tokens": [1.4e12]})

    def fit_1e20_compute(data):
        runs = public.chinchilla_points(data)
        return runs[runs["compute"] <= 1e20].reset_index(drop=True), [1e21, 5.76e23]

    return [
        Case("chinchilla points, all 240", "chinchilla", all_points, True),
        Case("chinchilla points, C<=1e20", "chinchilla", fit_1e20, True),
        Case("chinchilla points, C<=1e20", "loss", fit_1e20_compute, True),
    ]


def _misfitting_cases() -> list[Case]:
    def make(data, best):
        runs = public.misfitting(data, best_lr_only=best)
        return runs, _nd_target(runs, 10)

    return [
        Case("misfitting, best learning rate", "chinchilla", lambda data: make(data, True), True),
        Case("misfitting, all learning rates", "chinchilla", lambda data: make(data, False), True),
    ]


def _pythia_gsm8k_cases() -> list[Case]:
    cases = []
    for checkpoints in (False, True):
        for max_params, label in ((4.1e8, "410M"), (1.4e9, "1.4B")):
            def make(data, checkpoints=checkpoints, max_params=max_params):
                counts = public.pythia_gsm8k(data)
                fit = public.pythia_gsm8k_fit(counts, max_params, checkpoints)
                return fit, [2.8e9 * 6 * 3e11, 1.2e10 * 6 * 3e11]

            what = "checkpoints" if checkpoints else "final"
            cases.append(Case(f"pythia gsm8k {what} <= {label}", "pass_rate", make, True))
    return cases


def _pythia_zeroshot_cases() -> list[Case]:
    cases = []
    for task, (_, items, floor) in public.ZEROSHOT_TASKS.items():
        def make(data, task=task):
            runs = public.pythia_zeroshot(data, task)
            return runs[runs["params"] <= 1.5e9].reset_index(drop=True), [6 * 1.2e10 * 3e11]

        cases.append(Case(f"pythia zero-shot {task} <= 1.4B", "two_step", make, True, {"items": items, "floor": floor}))
    return cases


def _cpu_ladder_cases() -> list[Case]:
    """The package's own measured ladder: the demo's fit and its self-backtest's refit (noisy, few rungs)."""
    def smallest(count):
        runs = cpu_ladder_runs()
        fitted = runs[runs["compute"] <= CPU_LADDER_SMALL_SHARE * runs["compute"].max()].nsmallest(count, "compute")
        return fitted[["run", "compute", "loss"]].reset_index(drop=True), [float(runs["compute"].max())]

    return [
        Case("cpu ladder, 5 rungs <= top/100 (the demo)", "loss", lambda _: smallest(5), False),
        Case("cpu ladder, 4 smallest rungs (the demo's self-backtest)", "loss", lambda _: smallest(4), False),
    ]


def _synthetic_cases() -> list[Case]:
    cases = []
    for seed in SEEDS:
        cases += [
            Case(f"example ladder seed {seed}", "loss", lambda _, s=seed: (make_example_runs(s), [1e21, 1e22]), False),
            Case(  # as few runs as the noise can hardly be told from (one beyond a, b and c)
                f"example ladder, 4 smallest runs, seed {seed}", "loss",
                lambda _, s=seed: (make_example_runs(s).nsmallest(4, "compute").reset_index(drop=True), [1e21]), False,
            ),
            Case(  # a prior on b from the literature on a short ladder (laws/exponent_prior.py)
                f"example ladder, 6 smallest runs, a prior on b, seed {seed}", "loss",
                lambda _, s=seed: (make_example_runs(s).nsmallest(6, "compute").reset_index(drop=True), [1e21]), False,
                {"prior": {"b": PRIOR_ON_B}},
            ),
            Case(
                f"isoflop chinchilla seed {seed}", "chinchilla",
                lambda _, s=seed: (synthetic_ladders.isoflop_ladder("chinchilla", s), pd.DataFrame({"params": [7e10], "tokens": [1.4e12]})),
                False,
            ),
            Case(
                f"isoflop loss seed {seed}", "chinchilla",
                lambda _, s=seed: (synthetic_ladders.isoflop_ladder("loss", s), pd.DataFrame({"params": [7e10], "tokens": [1.4e12]})),
                False,
            ),
            _synthetic_recipe_case(seed),
            Case(  # runs evaluated 4 times each, 2 runs per budget: the loss law's split noise
                f"evaluated ladder seed {seed}", "loss", lambda _, s=seed: (synthetic_ladders.evaluated_ladder(s), [1e21]), False,
            ),
            Case(  # the same, the bent law (its own default-suite test fits seed 0)
                f"evaluated ladder, bent law, seed {seed}", "broken_loss", lambda _, s=seed: (synthetic_ladders.evaluated_ladder(s), [1e21]), False,
            ),
            Case(f"example pass counts seed {seed}", "pass_rate", lambda _, s=seed: (make_example_pass_counts(s)[0], [1e22]), False),
            Case(
                f"small pass counts seed {seed}", "pass_rate",  # the README's example: 6 runs x 80 problems, n = 100
                lambda _, s=seed: (make_example_pass_counts(s, problems=80, computes=np.geomspace(1e18, 1e20, 6), n=100)[0], [1e22]),
                False,
            ),
            Case(
                f"example capability seed {seed}", "two_step",
                lambda _, s=seed: (make_example_capability_runs(s), [1e22]), False, {"items": 2000, "floor": 0.25},
            ),
        ]
    return cases


def _prior_on_b_cases(cases: list[Case]) -> list[Case]:
    """Every real loss-law case again with ``PRIOR_ON_B``: sampled in b itself, 10 of these 17 fits failed."""
    return [
        Case(f"{case.name}, a prior on b", case.law, case.make, case.real, {**case.options, "prior": {"b": PRIOR_ON_B}})
        for case in cases if case.law == "loss" and case.real
    ]


_DEFAULT_CASES: list[Case] = (
    _porian_cases() + _recipe_cases() + _frontier_cases() + _chinchilla_cases() + _isoflop_cases() + _misfitting_cases()
    + _pythia_gsm8k_cases() + _pythia_zeroshot_cases() + _cpu_ladder_cases() + _synthetic_cases()
)
CASES: list[Case] = _DEFAULT_CASES + _prior_on_b_cases(_DEFAULT_CASES)


def run(case: Case, data_dir: Path) -> tuple[dict, list]:
    """Fit ``case`` with default settings (seed 0); its health row and the warnings it raised."""
    data, target = case.make(data_dir)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if case.law == POOLED:
                fc = bs.compare_recipes(data, target=target, pooled=True, seed=0, progress=False, **case.options)
            else:
                fc = bs.forecast(data, target=target, law=case.law, seed=0, progress=False, **case.options)
        except Exception as err:  # a failure is a row of the table too, not the end of the battery
            return {"law": case.law, "case": case.name, "error": f"{type(err).__name__}: {err}"}, caught
    seconds = time.perf_counter() - start
    return health_row(case, fc, seconds), caught


def health_row(case: Case, fc, seconds: float) -> dict:
    """``fc``: a Forecast, or a pooled RecipeComparison (its joint model's diagnostics, its one sampler's stats)."""
    if case.law == POOLED:
        d, stats, rows = fc.joint, next(iter(fc.forecasts.values())).idata.sample_stats, sum(len(f.runs) for f in fc.forecasts.values())
    else:
        d, stats, rows = fc.diagnostics, fc.idata.sample_stats, len(fc.runs)
    return {
        "law": case.law,
        "case": case.name,
        "rows": rows,
        "divergences": d.divergences,
        "r_hat": d.r_hat,
        "ess_bulk": d.ess_bulk,
        "ess_tail": d.ess_tail,
        "tree_depth": float(stats["tree_depth"].mean()),
        "at_max_depth": float((stats["tree_depth"] >= MAX_TREE_DEPTH).mean()),
        "step_size": float(stats["step_size"].mean()),
        "seconds": seconds,
        "ok": d.ok,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=public.DEFAULT_DATA)
    parser.add_argument("--only", action="append", help="run the cases whose law or name contains this (repeatable)")
    parser.add_argument("--synthetic-only", action="store_true")
    parser.add_argument("--csv", type=Path, help="also write the table here")
    args = parser.parse_args()
    cases = [c for c in CASES if not args.only or any(s in c.law or s in c.name for s in args.only)]
    if args.synthetic_only:
        cases = [c for c in cases if not c.real]
    if any(c.real for c in cases) and not args.data.is_dir():
        sys.exit(f"no published data at {args.data}; pass --data or --synthetic-only")
    rows = []
    for case in cases:
        row, caught = run(case, args.data)
        rows.append(row)
        if "error" in row:
            print(f"{row['law']:>10}  {row['case']:<44} ERROR {row['error']}", flush=True)
            continue
        other = sorted({w.category.__name__ for w in caught if not issubclass(w.category, bs.SamplerWarning)})
        print(
            f"{row['law']:>10}  {row['case']:<44} div {row['divergences']:>4}  r_hat {row['r_hat']:.3f}  "
            f"ess {row['ess_bulk']:>5.0f}/{row['ess_tail']:>5.0f}  depth {row['tree_depth']:.1f} "
            f"({row['at_max_depth']:.0%} max)  step {row['step_size']:.3f}  {row['seconds']:5.1f} s  "
            f"{'ok' if row['ok'] else 'FAILED'}" + (f"  [{', '.join(other)}]" if other else ""),
            flush=True,
        )
    table = pd.DataFrame(rows)
    if "error" not in table:
        table["error"] = None
    table["ok"] = table["ok"].fillna(False).astype(bool) if "ok" in table else False
    if args.csv:
        table.to_csv(args.csv, index=False)
    print(
        f"\n{int(table['ok'].sum())} of {len(table)} fits healthy; {int((table['divergences'] > 0).sum())} with divergences; "
        f"{int(table['error'].notna().sum())} failed with an error"
    )
    for law, group in table.groupby("law", sort=False):
        print(f"  {law:>10}: {int(group['ok'].sum())}/{len(group)} healthy, max {group['seconds'].max():.1f} s per fit")


if __name__ == "__main__":
    main()

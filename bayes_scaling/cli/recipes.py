"""``bayes-scaling compare-recipes``: which recipe wins at the targets, and how surely."""

from __future__ import annotations

import argparse
from pathlib import Path

from bayes_scaling.cli.arguments import REPORT_SUFFIXES, Command, check_output, figure_suffixes, flops, number, sampling_options

EXAMPLES = """examples:
  bayes-scaling compare-recipes recipes.csv --target 1e20 --target 1e21
  bayes-scaling compare-recipes recipes.csv --target 1e22 --reference baseline --by 0.02 --report recipes.html
  bayes-scaling compare-recipes runs.csv --recipe optimiser --target 1e22 --plot differences.png --out comparison.csv"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", help="CSV, Parquet or JSON Lines file: compute, loss and a column naming each run's recipe")
    parser.add_argument("--target", type=flops, action="append", required=True, help="target compute in FLOPs (repeatable)")
    parser.add_argument("--recipe", default="family", metavar="COLUMN", help="the column naming each run's recipe (default family)")
    parser.add_argument("--reference", help="the recipe the others are compared with (default: the first in the table)")
    parser.add_argument("--by", type=number, default=0.0, metavar="DELTA", help="also print P(better by at least DELTA) (in loss units)")
    parser.add_argument("--apart", action="store_true",
                        help="fit each recipe on its own (default for the loss law: one joint model, the recipes' curve shapes partially pooled)")
    sampling_options(parser)
    parser.add_argument("--plot", type=Path, help="write the difference chart to this image")
    parser.add_argument("--report", type=Path, help="write the comparison's report (.html or .md)")
    parser.add_argument("--out", type=Path, help="write the comparison table to this CSV")


def run(args) -> int:
    import bayes_scaling as bs

    if args.by < 0:
        raise ValueError(f"--by must be a margin >= 0, got {args.by:g}")
    check_output("--plot", args.plot, figure_suffixes())
    check_output("--report", args.report, REPORT_SUFFIXES)
    check_output("--out", args.out)
    cmp = bs.compare_recipes(
        args.runs, target=args.target, recipe=args.recipe, pooled=False if args.apart else None, seed=args.seed, progress=not args.no_progress,
        draws=args.draws, tune=args.tune, chains=args.chains, target_accept=args.target_accept,
    )
    reference = cmp.recipes[0] if args.reference is None else args.reference
    table = cmp.to_frame(reference=reference, prob=args.prob, by=args.by)
    print(cmp)
    if cmp.pooled:
        print("how far the curves were pooled (spreads of the recipes' log slopes and logit reducible fractions, 90% intervals):")
        print(cmp.pooling().to_string(float_format=lambda v: f"{v:.3g}"))
    print(f"against {reference}, one new run of each ({args.prob:.0%} interval of the difference):")
    print(table.drop(columns=["reference"]).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    crossings = cmp.crossings(reference)
    for row in crossings.itertuples():
        print(f"{row.recipe} crosses {reference} at {row.compute:.3g} FLOPs (mean curves) and is better {'above' if row.better_above else 'below'} it")
    if args.plot:
        cmp.plot(args.plot, reference=reference)
        print(f"difference chart: {args.plot}")
    if args.report:
        cmp.report(args.report, reference=reference, by=args.by)
        print(f"report: {args.report}")
    if args.out:
        table.to_csv(args.out, index=False)
        print(f"comparison: {args.out}")
    return 0 if cmp.ok else 3


COMMANDS = {"compare-recipes": Command(add_arguments, run, EXAMPLES)}

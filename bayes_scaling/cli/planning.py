"""``bayes-scaling suggest-runs``: which runs to add to a ladder to narrow a saved forecast most per FLOP."""

from __future__ import annotations

import argparse
from pathlib import Path

from bayes_scaling.cli.arguments import Command, check_output, figure_suffixes, flops, positive_int, probability

EXAMPLES = """examples:
  bayes-scaling forecast runs.csv --target 1e22 --save fc.nc
  bayes-scaling suggest-runs fc.nc --budget 3e20 --candidate 1e19 --candidate 1e20 --candidate 3e20
  bayes-scaling suggest-runs fc.nc --budget 3e20 --max-runs 3 --plot design.png --out candidates.csv
  bayes-scaling suggest-runs chinchilla_fc.nc --budget 1e21 --candidates sizes.csv   # params, tokens per row"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("forecast", type=Path, help="netCDF file written by forecast --save (law loss or chinchilla)")
    parser.add_argument("--budget", type=flops, required=True, help="compute that can be spent on new runs, in FLOPs")
    parser.add_argument("--candidate", type=flops, action="append", metavar="C",
                        help="compute of a run that could be trained (repeatable; loss law). Default: 12 geometric steps from the smallest fitted run")
    parser.add_argument("--candidates", type=Path, metavar="FILE",
                        help="CSV, Parquet or JSON Lines of candidate runs: params and tokens (chinchilla law), or compute")
    parser.add_argument("--target", type=flops, help="which of the forecast's targets (default the largest)")
    parser.add_argument("--kind", choices=("predictive", "mean"), default="predictive", help="one new run's interval, or the mean curve's")
    parser.add_argument("--prob", type=probability, default=0.9, help="the interval's probability (default 0.9)")
    parser.add_argument("--method", choices=("linear", "reweight"), default="linear", help="how a run's outcome updates the posterior (default linear)")
    parser.add_argument("--max-runs", type=positive_int, help="at most this many runs in the plan")
    parser.add_argument("--plot", type=Path, help="write the run-design chart to this image")
    parser.add_argument("--out", type=Path, help="write the ranked candidates to this CSV")


def run(args) -> int:
    import bayes_scaling as bs
    from bayes_scaling.tables.reading import read_table

    if args.candidate and args.candidates:
        raise ValueError("give --candidate values or a --candidates file, not both")
    check_output("--plot", args.plot, figure_suffixes())
    check_output("--out", args.out)
    candidates = args.candidate
    if args.candidates:
        candidates, _ = read_table(args.candidates, "suggest-runs --candidates")
    fc = bs.load_forecast(args.forecast)
    suggestion = bs.suggest_runs(fc, budget=args.budget, candidates=candidates, target=args.target, kind=args.kind,
                                 prob=args.prob, method=args.method, max_runs=args.max_runs)
    print(suggestion)
    shown = [c for c in ("compute", "params", "tokens", "width_after", "shrinkage_share", "shrinkage_per_eflop", "clear", "affordable")
             if c in suggestion.candidates.columns]
    print("candidates, best first (narrowing per 10^18 FLOPs):")
    print(suggestion.candidates[shown].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.plot:
        suggestion.plot(args.plot)
        print(f"run-design chart: {args.plot}")
    if args.out:
        suggestion.candidates.to_csv(args.out, index=False)
        print(f"candidates: {args.out}")
    return 0


COMMANDS = {"suggest-runs": Command(add_arguments, run, EXAMPLES)}

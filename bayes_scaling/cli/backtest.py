"""``bayes-scaling backtest``: hold out the largest runs, forecast them from the rest, score the intervals."""

from __future__ import annotations

import argparse
from pathlib import Path

from bayes_scaling.cli.arguments import Command, check_output, figure_suffixes, probability, sampling_options

EXAMPLES = """examples:
  bayes-scaling backtest runs.csv --holdout-fraction 0.25
  bayes-scaling backtest runs.csv --holdout-above 1e19 --plot calibration.png --out backtest.csv
  bayes-scaling backtest chinchilla.csv --law chinchilla --fit-up-to 1e20 --holdout-above 1e21
  bayes-scaling backtest runs.csv --law loss --law chinchilla --holdout-fraction 0.2   # stacked
  bayes-scaling backtest runs.csv --holdout-fraction 0.25 --method bootstrap           # curve_fit baseline"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", help="CSV, Parquet or JSON Lines file (compute, loss; params, tokens for chinchilla)")
    held = parser.add_mutually_exclusive_group(required=True)
    held.add_argument("--holdout-above", type=float, help="hold out the runs with compute above this (FLOPs)")
    held.add_argument("--holdout-fraction", type=probability, help="hold out this share of runs, the largest by compute")
    parser.add_argument("--fit-up-to", type=float, help="fit only the runs with compute up to this (default: all not held out)")
    parser.add_argument("--law", action="append", choices=["loss", "chinchilla"], help="law (repeat to stack several; default loss)")
    parser.add_argument("--method", default="bayes", choices=["bayes", "bootstrap"], help="bayes (default) or the curve_fit + bootstrap baseline")
    sampling_options(parser, prob=False)
    parser.add_argument("--plot", type=Path, help="write the calibration chart to this PNG")
    parser.add_argument("--out", type=Path, help="write the per-run scores to this CSV")


def run(args) -> int:
    import bayes_scaling as bs

    laws = args.law or ["loss"]
    check_output("--plot", args.plot, figure_suffixes())
    check_output("--out", args.out)
    result = bs.backtest(
        args.runs,
        law=laws[0] if len(laws) == 1 else laws,
        holdout_above=args.holdout_above,
        holdout_fraction=args.holdout_fraction,
        fit_up_to=args.fit_up_to,
        method=args.method,
        seed=0 if args.seed is None else args.seed,
        **({} if args.method == "bootstrap" else {
            "draws": args.draws, "tune": args.tune, "chains": args.chains,
            "progress": not args.no_progress, "target_accept": args.target_accept,
        }),
    )
    print(result)
    if args.plot:
        result.plot(path=args.plot)
        print(f"calibration chart: {args.plot}")
    if args.out:
        result.to_frame().to_csv(args.out, index=False)
        print(f"scores: {args.out}")
    return 3 if getattr(result.forecast, "ok", True) is False else 0


COMMANDS = {"backtest": Command(add_arguments, run, EXAMPLES)}

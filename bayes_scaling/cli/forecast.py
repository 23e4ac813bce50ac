"""``bayes-scaling forecast`` and ``report``: fit a law and print its intervals; a report of a saved forecast.

A law's own flags (``--buckets``, ``--floor``, ``--extrapolation-error``...) and target columns
(``--target-params``...) come from its ``Law`` (laws/law.py): this module names no law.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bayes_scaling.cli.arguments import (
    REPORT_SUFFIXES,
    Command,
    check_output,
    figure_suffixes,
    flops,
    positive_number,
    sampling_options,
    self_backtest_option,
)

FORECAST_EXAMPLES = """examples:
  bayes-scaling forecast runs.csv --target 1e21
  bayes-scaling forecast runs.parquet --target 1e21 --target 1e22 --prob 0.8 --plot fan.png --seed 7
  bayes-scaling forecast runs.csv --target 1e21 --threshold 2.1 --save fc.nc --report review.html
  bayes-scaling forecast runs.csv --target 1e23 --extrapolation-error auto   # the law's error beyond the data
  bayes-scaling forecast passcounts.csv --law pass_rate --target 1e21 --buckets 6 --exclude-hardest 15
  bayes-scaling forecast accuracy.csv --law two_step --target 1e22 --items 2376 --floor 0.25
  bayes-scaling forecast chinchilla.csv --law chinchilla --target-params 7e10 --target-tokens 1.4e12
  bayes-scaling forecast chinchilla.csv --law chinchilla --target-params 1e10 --target-tokens 2e11 \\
      --target-params 1e11 --target-tokens 2e12   # pairs, in order"""

REPORT_EXAMPLES = """examples:
  bayes-scaling report fc.nc --out review.html --threshold 2.1
  bayes-scaling report fc.nc --out review.md      # Markdown, PNG figures beside it"""


def add_forecast_arguments(parser: argparse.ArgumentParser) -> None:
    from bayes_scaling.laws import LAWS

    parser.add_argument("runs", help="CSV, Parquet or JSON Lines file with columns compute, loss (params, tokens, loss for chinchilla)")
    paired = _listed_by_laws("target_columns")
    parser.add_argument("--target", type=flops, action="append", metavar="COMPUTE",
                        help=f"target compute in FLOPs (repeatable; every law but {', '.join(sorted({n for laws in paired.values() for n in laws}))})")
    for column, laws in paired.items():
        metavar, help_text = LAWS[laws[0]].target_help.get(column, (column.upper(), f"target {column}"))
        others = " and ".join(f"--target-{c}" for c in paired if c != column)
        parser.add_argument(f"--target-{column}", type=positive_number, action="append", metavar=metavar,
                            help=f"{', '.join(laws)}: {help_text} (repeatable, paired in order with {others})")
    parser.add_argument("--law", default="loss", choices=list(LAWS), help="law to fit (default: loss)")
    for option, laws in _listed_by_laws("cli_options").items():
        parser.add_argument(option.flag, dest=option.option, type=option.type, action="append" if option.repeatable else None,
                            metavar=option.metavar, help=f"{', '.join(laws)}: {option.help}")
    sampling_options(parser)
    parser.add_argument("--threshold", type=float, action="append", default=[],
                        help="print P(value < threshold), or > for a quantity that rises with compute (repeatable)")
    parser.add_argument("--plot", type=Path, help="write the fan chart to this PNG")
    parser.add_argument("--save", type=Path, help="write the whole forecast to this netCDF file")
    parser.add_argument("--report", type=Path, help="write a risk-review report (.html or .md)")
    self_backtest_option(parser)


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("forecast", type=Path, help="netCDF file written by forecast --save")
    parser.add_argument("--out", type=Path, required=True, help="report path ending in .html or .md")
    parser.add_argument("--threshold", type=float, action="append", default=[], help="threshold to report P(loss < t) for (repeatable)")
    self_backtest_option(parser)


def _listed_by_laws(field: str) -> dict:
    """Each entry of a ``Law``'s tuple ``field`` (``cli_options``, ``target_columns``) -> the names of the laws that list it."""
    from bayes_scaling.laws import LAWS

    listed = {}
    for law in LAWS.values():
        for entry in getattr(law, field):
            listed.setdefault(entry, []).append(law.name)
    return listed


def run_forecast(args) -> int:
    import bayes_scaling as bs

    from bayes_scaling.laws import get_law

    law = get_law(args.law)
    given = (option.option for option in _listed_by_laws("cli_options"))
    options = {name: getattr(args, name) for name in given if getattr(args, name) is not None}
    target = _forecast_target(args, law)
    _check_law_options(law, options)
    check_output("--plot", args.plot, figure_suffixes())
    check_output("--save", args.save)
    check_output("--report", args.report, REPORT_SUFFIXES)
    fc = bs.forecast(
        args.runs,
        target=target,
        law=args.law,
        **options,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        seed=args.seed,
        progress=not args.no_progress,
        target_accept=args.target_accept,
    )
    print_forecast(fc, args.prob, args.threshold, fc.verdict(not args.no_self_backtest, progress=not args.no_progress))
    if args.plot:
        fc.plot(path=args.plot, thresholds=args.threshold)
        print(f"fan chart: {args.plot}")
    if args.save:
        fc.save(args.save)
        print(f"forecast: {args.save}")
    if args.report:
        fc.report(args.report, thresholds=args.threshold, self_backtest=not args.no_self_backtest)
        print(f"report: {args.report}")
    return 0 if fc.ok else 3


def run_report(args) -> int:
    import bayes_scaling as bs

    check_output("--out", args.out, REPORT_SUFFIXES)
    path = bs.load_forecast(args.forecast).report(args.out, thresholds=args.threshold, self_backtest=not args.no_self_backtest)
    print(f"report: {path}")
    return 0


def print_forecast(fc, prob: float, thresholds=(), verdict=None) -> None:
    from bayes_scaling.formatting import describe_provenance, format_probability
    from bayes_scaling.laws import get_law

    quantity = fc.quantities[0]
    per_bucket = fc.bucket_labels is not None
    frame = fc.to_frame(quantity=quantity)  # per-bucket law: its headline quantity, every bucket
    if per_bucket:
        frame = frame.drop(columns="quantity")
    elif prob not in (0.5, 0.9):  # those two are in the table already
        lower, upper = fc.interval(prob)
        frame[f"lower_{prob:g}"] = lower
        frame[f"upper_{prob:g}"] = upper
    targets = fc.idata.predictions_constant_data  # chinchilla: each target's params and tokens beside its compute
    for position, name in enumerate(name for name in targets.data_vars if name != "compute"):
        frame.insert(1 + position, name, targets[name].to_numpy())
    fitted = f"{len(fc.runs)} pass counts" if per_bucket else f"{len(fc.runs)} runs"
    print(f"{fc.law} law fitted on {fitted} (seed {fc.settings['seed']}, data sha256 {fc.settings['data_sha256'][:12]})")
    print(f"data: {describe_provenance(fc.provenance)}")
    law = get_law(fc.law)
    for line in law.settings_lines(fc.settings["options"]):  # e.g. the pass-rate law's bucket borders
        print(line)
    print(f"predictive distribution of one new run's {quantity} at each target:")
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for other in (name for name in fc.quantities if name.startswith("pass@")):  # pass_rate: --pass-at K
        lower, upper = (np.atleast_1d(v) for v in fc.interval(0.9, quantity=other))
        median = np.median(fc.draws(quantity=other), axis=0)
        joined = ", ".join(f"C={c:.3g}: {m:.4g} (90%: {lo:.4g}-{hi:.4g})" for c, m, lo, hi in zip(fc.targets, median, lower, upper))
        print(f"{other} over all kept problems: {joined}")
    for threshold in thresholds:  # the side the law improves towards: below for a loss, above for a pass rate
        probs = np.atleast_1d(fc.prob_above(threshold) if law.rising else fc.prob_below(threshold))
        joined = ", ".join(f"C={c:.3g}: {format_probability(p)}" for c, p in zip(fc.targets, probs))
        print(f"P({quantity} {'>' if law.rising else '<'} {threshold:g}): {joined}")
    d = fc.diagnostics
    health = "ok" if d.ok else "FAILED"
    print(
        f"sampler: {health} (max r_hat {d.r_hat:.3f}, min ess_bulk {d.ess_bulk:.0f}, "
        f"min ess_tail {d.ess_tail:.0f}, divergences {d.divergences})"
    )
    if verdict is not None:
        print(verdict.line())


def _forecast_target(args, law):
    """``--target`` computes, or for a law whose targets have other columns a DataFrame of ``--target-<column>`` pairs."""
    import pandas as pd

    paired = _listed_by_laws("target_columns")
    given = {column: getattr(args, f"target_{column}") for column in paired}
    if not law.target_columns:
        named = [f"--target-{column}" for column, values in given.items() if values is not None]
        if named:
            users = sorted({name for laws in paired.values() for name in laws})
            raise ValueError(f"{' and '.join(named)} are for --law {' or '.join(users)}; the {law.name} law takes --target COMPUTE")
        if not args.target:
            raise ValueError("give the target compute with --target FLOPS (repeatable)")
        return args.target
    flags = [f"--target-{column}" for column in law.target_columns]
    if args.target:
        raise ValueError(f"the {law.name} law forecasts targets with {', '.join(law.target_columns)}: give {' '.join(flags)}, not --target")
    values = {column: given[column] or [] for column in law.target_columns}
    lengths = {len(v) for v in values.values()}
    if 0 in lengths or len(lengths) > 1:
        counts = " and ".join(f"{len(values[column])} {flag}" for column, flag in zip(law.target_columns, flags))
        raise ValueError(f"--law {law.name} needs {' and '.join(flags)} in pairs; got {counts}")
    return pd.DataFrame(values)


def _check_law_options(law, options: dict) -> None:
    """Refuse a law's flag given to another law, by its flag name, before anything is read."""
    taken = {option.option for option in law.cli_options}
    for name in options:
        if name not in taken:
            raise ValueError(f"--{name.replace('_', '-')} is not an option of the {law.name} law")


COMMANDS = {
    "forecast": Command(add_forecast_arguments, run_forecast, FORECAST_EXAMPLES),
    "report": Command(add_report_arguments, run_report, REPORT_EXAMPLES),
}

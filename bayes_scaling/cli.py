"""``bayes-scaling``: the command line over the same functions as the Python API.

Errors print one line (``error: ...``) and exit with status 2; a forecast whose sampler
diagnostics failed prints its intervals and a warning and exits with status 3.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

EXAMPLES = {
    "forecast": """examples:
  bayes-scaling forecast models/python-ladder/runs.csv --target 1e21
  bayes-scaling forecast runs.parquet --target 1e21 --target 1e22 --prob 0.8 --plot fan.png --seed 7
  bayes-scaling forecast runs.csv --target 1e21 --threshold 2.1 --save fc.nc""",
    "demo": """examples:
  bayes-scaling demo                 # forecast the shipped example ladder, write out/demo/
  bayes-scaling demo --out /tmp/x --no-progress""",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bayes-scaling",
        description="Forecast the final loss of a large training run from a ladder of small ones.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EXAMPLES[name],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    fc = command("forecast", "Fit a law to a runs table and print credible intervals at the targets.")
    fc.add_argument("runs", help="CSV, Parquet or JSON Lines file with columns compute, loss")
    fc.add_argument("--target", type=float, action="append", required=True, help="target compute in FLOPs (repeatable)")
    fc.add_argument("--law", default="loss", help="law to fit (default: loss)")
    _sampling_options(fc)
    fc.add_argument("--threshold", type=float, action="append", default=[], help="print P(loss < threshold) (repeatable)")
    fc.add_argument("--plot", type=Path, help="write the fan chart to this PNG")
    fc.add_argument("--save", type=Path, help="write the whole forecast to this netCDF file")

    demo = command("demo", "Forecast the shipped synthetic example ladder: print intervals and write a fan chart.")
    demo.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder (default: out/demo)")
    _sampling_options(demo)
    return parser


def _sampling_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prob", type=float, default=0.9, help="credible level of the printed interval (default 0.9)")
    parser.add_argument("--seed", type=int, help="random seed (default: drawn and printed)")
    parser.add_argument("--draws", type=int, default=1000, help="draws per chain (default 1000)")
    parser.add_argument("--tune", type=int, default=1000, help="tuning steps per chain (default 1000)")
    parser.add_argument("--chains", type=int, default=4, help="chains (default 4)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _print_forecast(fc, prob: float, thresholds=()) -> None:
    frame = fc.to_frame()
    lower, upper = fc.interval(prob)
    frame[f"lower_{prob:g}"] = lower
    frame[f"upper_{prob:g}"] = upper
    print(f"{fc.law} law fitted on {len(fc.runs)} runs (seed {fc.settings['seed']}, data sha256 {fc.settings['data_sha256'][:12]})")
    print("predictive distribution of one new run's final loss at each target:")
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for threshold in thresholds:
        probs = np.atleast_1d(fc.prob_below(threshold))
        joined = ", ".join(f"C={c:.3g}: {p:.1%}" for c, p in zip(fc.targets, probs))
        print(f"P(loss < {threshold:g}): {joined}")
    d = fc.diagnostics
    verdict = "ok" if d.ok else "FAILED"
    print(
        f"sampler: {verdict} (max r_hat {d.r_hat:.3f}, min ess_bulk {d.ess_bulk:.0f}, "
        f"min ess_tail {d.ess_tail:.0f}, divergences {d.divergences})"
    )


def _run_forecast(args) -> int:
    import bayes_scaling as bs

    fc = bs.forecast(
        args.runs,
        target=args.target,
        law=args.law,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        seed=args.seed,
        progress=not args.no_progress,
    )
    _print_forecast(fc, args.prob, args.threshold)
    if args.plot:
        fc.plot(path=args.plot)
        print(f"fan chart: {args.plot}")
    if args.save:
        fc.save(args.save)
        print(f"forecast: {args.save}")
    return 0 if fc.ok else 3


def _run_demo(args) -> int:
    import bayes_scaling as bs
    from bayes_scaling.datasets import EXAMPLE_TARGETS, example_runs_path, true_example_loss

    runs = bs.example_runs()
    print(f"example ladder (synthetic, {example_runs_path().name}): {len(runs)} runs, "
          f"compute {runs['compute'].min():.3g}..{runs['compute'].max():.3g} FLOPs")
    fc = bs.forecast(
        runs,
        target=list(EXAMPLE_TARGETS),
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        seed=0 if args.seed is None else args.seed,
        progress=not args.no_progress,
    )
    _print_forecast(fc, args.prob)
    truth = ", ".join(f"C={c:.3g}: {v:.4f}" for c, v in zip(EXAMPLE_TARGETS, true_example_loss(EXAMPLE_TARGETS)))
    print(f"true mean loss of the synthetic recipe: {truth}")
    args.out.mkdir(parents=True, exist_ok=True)
    fc.plot(path=args.out / "fan_chart.png")
    fc.to_frame().to_csv(args.out / "intervals.csv", index=False)
    fc.save(args.out / "forecast.nc")
    print(f"wrote {args.out / 'fan_chart.png'}, {args.out / 'intervals.csv'}, {args.out / 'forecast.nc'}")
    return 0 if fc.ok else 3


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    run = {"forecast": _run_forecast, "demo": _run_demo}[args.command]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            return run(args)
    except (ValueError, FileNotFoundError, FloatingPointError) as err:  # DataError is a ValueError
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

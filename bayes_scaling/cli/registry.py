"""``bayes-scaling register``, ``score`` and ``verify``: the hash-chained registry of predictions."""

from __future__ import annotations

import argparse
from pathlib import Path

from bayes_scaling.cli.arguments import Command

REGISTER_EXAMPLES = """examples:
  bayes-scaling register fc.nc --name big-run-v1 --note "before launch, ladder v3"
  bayes-scaling register fc.nc --name big-run-v1 --registry predictions/loss.jsonl
  bayes-scaling register fc2.nc --name big-run-v1 --supersedes   # replaces the earlier big-run-v1"""

SCORE_EXAMPLES = """examples:
  bayes-scaling score predictions.jsonl --actual big-run-v1=2.093
  bayes-scaling score predictions.jsonl --actual big-run-v1@1e21=2.093 --actual big-run-v1@1e22=1.97
  bayes-scaling score predictions.jsonl --actuals actuals.csv   # columns name, target, actual"""

VERIFY_EXAMPLES = """examples:
  bayes-scaling verify predictions.jsonl"""


def add_register_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("forecast", type=Path, help="netCDF file written by forecast --save")
    parser.add_argument("--name", required=True, help="name of the run being predicted")
    parser.add_argument("--note", default="", help="free text kept with the record")
    parser.add_argument("--registry", type=Path, default=Path("predictions.jsonl"), help="registry file (default predictions.jsonl)")
    parser.add_argument("--allow-unhealthy", action="store_true", help="register even if sampler diagnostics failed")
    parser.add_argument("--supersedes", action="store_true", help="replace the prediction already registered under --name (the new records keep the hashes of those they replace)")


def run_register(args) -> int:
    import bayes_scaling as bs

    records = bs.register(
        bs.load_forecast(args.forecast), path=args.registry, name=args.name, note=args.note,
        allow_unhealthy=args.allow_unhealthy, supersedes=args.supersedes,
    )
    for record in records:
        print(f"registered {record['name']!r} at C={record['target']:.3g}: median {record['median']:.4f}, "
              f"90% {record['lower_90']:.4f}-{record['upper_90']:.4f} (hash {record['hash'][:12]})")
    print(f"registry: {args.registry}")
    return 0


def add_score_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("registry", type=Path, help="registry file")
    parser.add_argument("--actual", action="append", default=[], metavar="NAME[@TARGET]=VALUE", help="an actual value (repeatable)")
    parser.add_argument("--actuals", type=Path, help="CSV with columns name, target, actual")


def _parse_actuals(items: list[str]) -> dict:
    actuals = {}
    for item in items:
        key, sep, value = item.rpartition("=")
        if not sep or not key:
            raise ValueError(f"--actual {item!r}: expected NAME=VALUE or NAME@TARGET=VALUE")
        name, at, target = key.partition("@")
        try:
            actuals[(name, float(target)) if at else name] = float(value)
        except ValueError:
            raise ValueError(f"--actual {item!r}: target and value must be numbers") from None
    return actuals


def run_score(args) -> int:
    import pandas as pd

    import bayes_scaling as bs

    if bool(args.actual) == bool(args.actuals):
        raise ValueError("give the actual values with --actual NAME=VALUE (repeatable) or --actuals CSV, not both")
    actuals = pd.read_csv(args.actuals) if args.actuals else _parse_actuals(args.actual)
    scored = bs.score(args.registry, actuals)
    print(scored.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    done = scored.dropna(subset=["actual"])
    if len(done):
        print(f"{len(done)} scored: inside 50% {done['inside_50'].mean():.0%}, inside 90% {done['inside_90'].mean():.0%}, "
              f"median |error| {done['abs_pct_error'].median():.2f}%")
    return 0


def add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("registry", type=Path, help="registry file")


def run_verify(args) -> int:
    import bayes_scaling as bs

    result = bs.verify(args.registry)
    if result.ok:
        print(f"ok: {result.records} records, chain intact; head hash {result.head}")
        print("publish the head hash (e.g. in the risk review): deleting the last records is only detectable against it")
        return 0
    for problem in result.problems:
        print(f"broken: {problem}")
    return 1


COMMANDS = {
    "register": Command(add_register_arguments, run_register, REGISTER_EXAMPLES),
    "score": Command(add_score_arguments, run_score, SCORE_EXAMPLES),
    "verify": Command(add_verify_arguments, run_verify, VERIFY_EXAMPLES),
}

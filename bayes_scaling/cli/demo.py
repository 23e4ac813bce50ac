"""``bayes-scaling demo``: the GPT-4 experiment on the shipped CPU ladder, from its registered forecast."""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from bayes_scaling.cli.arguments import Command, check_output, sampling_options
from bayes_scaling.cli.forecast import print_forecast

EXAMPLES = """examples:
  bayes-scaling demo                 # forecast the shipped CPU ladder's larger rungs, write out/demo/report.html
  bayes-scaling demo --out /tmp/x --no-progress"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder (default: out/demo)")
    sampling_options(parser)


def run(args) -> int:
    """The GPT-4 experiment on the shipped CPU ladder: forecast its larger rungs from its small ones, as registered."""
    import bayes_scaling as bs
    from bayes_scaling.datasets import CPU_LADDER_SMALL_SHARE, cpu_ladder_predictions_path, cpu_ladder_runs

    check_output("--out", args.out, folder=True)
    runs = cpu_ladder_runs()
    small = runs[runs["compute"] <= CPU_LADDER_SMALL_SHARE * runs["compute"].max()]
    larger = runs.drop(index=small.index)
    with resources.as_file(cpu_ladder_predictions_path()) as registry:
        head = bs.verify(registry).head
        registered = bs.score(registry, {("loss", c): value for c, value in zip(larger["compute"], larger["loss"])})
    registered = registered[registered["name"] == "loss"].reset_index(drop=True)
    fitted = small[["run", "compute", "loss"]].reset_index(drop=True)
    # a subset of the shipped file: its note says what it is (the file's hash is not the subset's)
    fitted.attrs = {"note": f"measured: the shipped CPU ladder's {len(small)} rungs with <= 1/100 of the top rung's compute "
                            "(bayes_scaling/datasets/cpu_ladder_runs.csv, a copy of models/cpu-ladder/runs.csv)"}
    print(f"CPU ladder (measured, bayes_scaling/datasets/cpu_ladder_runs.csv): {len(runs)} GPTs trained on a 2-core CPU, "
          f"compute {runs['compute'].min():.3g}..{runs['compute'].max():.3g} FLOPs")
    print(f"fitting the {len(small)} rungs with <= 1/100 of the top rung's compute; forecasting the "
          f"{len(registered)} larger ones the registry holds forecasts for")
    fc = bs.forecast(fitted, target=list(registered["target"]), draws=args.draws, tune=args.tune, chains=args.chains,
                     seed=0 if args.seed is None else args.seed, progress=not args.no_progress,
                     target_accept=args.target_accept)
    print_forecast(fc, args.prob, verdict=fc.verdict(progress=not args.no_progress))
    scored = registered[registered["actual"].notna()].copy()
    scored.insert(0, "rung", [dict(zip(larger["compute"], larger["run"]))[t] for t in scored["target"]])
    print(f"the forecast registered before the larger rungs were trained (same law, rungs and seed; registry head "
          f"{head[:12]}), scored against their measured losses:")
    columns = ["rung", "target", "median", "lower_90", "upper_90", "actual", "inside_90", "pit"]
    print(scored[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    waiting = ", ".join(f"{t:.3g}" for t in registered.loc[registered["actual"].isna(), "target"])
    print(f"{int(scored['inside_90'].sum())} of {len(scored)} measured losses inside the registered 90% intervals; "
          f"median |error| {scored['abs_pct_error'].median():.1f}%" + (f"; not trained yet: {waiting}" if waiting else ""))
    args.out.mkdir(parents=True, exist_ok=True)
    _demo_fan_chart(fc, larger, args.out / "fan_chart.png")
    fc.to_frame().to_csv(args.out / "intervals.csv", index=False)
    fc.save(args.out / "forecast.nc")
    fc.report(args.out / "report.html")
    written = ", ".join(str(args.out / name) for name in ("report.html", "fan_chart.png", "intervals.csv", "forecast.nc"))
    print(f"wrote {written}")
    return 0 if fc.ok else 3


def _demo_fan_chart(fc, larger, path) -> None:
    """The fan chart with the larger rungs' measured losses on it (they were not fitted)."""
    import matplotlib.figure

    figure = matplotlib.figure.Figure(figsize=(7, 4.5))
    fc.plot(ax=figure.subplots(), actual=larger)
    figure.savefig(path, dpi=120)


COMMANDS = {"demo": Command(add_arguments, run, EXAMPLES)}

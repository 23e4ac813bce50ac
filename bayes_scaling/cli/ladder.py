"""``bayes-scaling ladder run`` and ``ladder sample-code``: train a ladder of small GPTs; sample code from its rungs."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from bayes_scaling.cli.arguments import Command
from bayes_scaling.cli.code import code_sampling_options, run_sample_code

EXAMPLES = """examples:
  bayes-scaling ladder run models/tiny-cpu/ladder.toml                  # train every unfinished rung
  bayes-scaling ladder run models/python-ladder/ladder.toml --dry-run   # sizes, tokens, FLOPs, time
  bayes-scaling ladder run models/python-ladder/ladder.toml --rungs d64-l3,d96-l3 --device cuda:1
  torchrun --nproc-per-node 8 -m bayes_scaling.cli ladder run models/python-ladder/ladder.toml --rungs d320-l6"""

SAMPLE_CODE_EXAMPLES = """examples:
  bayes-scaling ladder sample-code models/python-ladder/ladder.toml --problems easy --n 32 --max-samples 2048 --until-passes 3
  bayes-scaling ladder sample-code models/tiny-cpu/ladder.toml --problems easy --max-problems 20 --n 4 --device cpu"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    ladder_commands = parser.add_subparsers(dest="ladder_command", required=True, metavar="ACTION")
    ladder_run = ladder_commands.add_parser(
        "run", help="train the unfinished rungs of a ladder.toml", description="Train the unfinished rungs of a ladder.toml; finished rungs are skipped.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
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
        epilog=SAMPLE_CODE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ladder_sample.add_argument("definition", type=Path, help="models/<name>/ladder.toml (or its folder)")
    ladder_sample.add_argument("--rungs", type=lambda text: [n for n in text.split(",") if n], help="comma-separated rung names (default: all)")
    code_sampling_options(ladder_sample)


def run(args) -> int:
    from bayes_scaling import ladder
    if args.ladder_command == "sample-code":
        return run_sample_code(args)
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


COMMANDS = {"ladder": Command(add_arguments, run, EXAMPLES)}

"""``bayes-scaling``: the command line over the same functions as the Python API.

One module per group of commands, each holding its commands' arguments, examples and handlers
(``COMMANDS`` there); this one only dispatches. Only the module of the command being run is
imported, so ``bayes-scaling --help``, ``verify`` or ``check-samples`` load no PyMC or JAX.

Errors print one line (``error: ...``) and exit with status 2; a forecast whose sampler
diagnostics failed prints its intervals and a warning and exits with status 3; ``verify``
exits with status 1 when the registry was tampered with.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from bayes_scaling.cli.arguments import ArgumentParser, Command

# command -> (its module in this package, its one-line help)
COMMANDS = {
    "forecast": ("forecast", "Fit a law to a runs table and print credible intervals at the targets."),
    "report": ("forecast", "Write a risk-review report (HTML or Markdown) for a saved forecast."),
    "register": ("registry", "Register a saved forecast before the run ends: append it to a hash-chained registry."),
    "score": ("registry", "Score registered predictions against the actual values once the runs finish."),
    "verify": ("registry", "Check that no registered prediction was edited, deleted or reordered."),
    "backtest": ("backtest", "Hold out the largest runs, forecast them from the rest and score the intervals."),
    "compare-recipes": ("recipes", "Forecast each recipe's ladder and say which wins at the targets: P(better), P(best), the difference."),
    "suggest-runs": ("planning", "Rank candidate runs by how much each narrows a saved forecast's interval per FLOP, and plan within a budget."),
    "ladder": ("ladder", "Train a ladder of small GPTs on Python code and write its runs.csv."),
    "sample-code": ("code", "Sample code completions from a ladder checkpoint, check them, and count passes per problem."),
    "check-samples": ("code", "Run sampled completions against their problems' tests in a sandbox; write SAMPLES_results.jsonl beside SAMPLES."),
    "easy-suite": ("code", "Write the easy code suite (HumanEval format, generated from a seed) to a JSON Lines file."),
    "demo": ("demo", "Forecast the shipped CPU ladder's larger rungs from its small ones; show the registered forecast and its score."),
}


def command(name: str) -> Command:
    """The arguments, handler and examples of command ``name`` (imports its module)."""
    return importlib.import_module(f"bayes_scaling.cli.{COMMANDS[name][0]}").COMMANDS[name]


def parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``only``, the other commands are listed but take no arguments (nothing of theirs is imported)."""
    top = ArgumentParser(prog="bayes-scaling", description="Forecast the final loss of a large training run from a ladder of small ones.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        if only is None or name == only:
            spec = command(name)
            sub = commands.add_parser(name, help=help_text, description=help_text, epilog=spec.examples,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
            spec.add_arguments(sub)
        else:
            commands.add_parser(name, help=help_text, description=help_text)
    return top


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = next((word for word in argv if not word.startswith("-")), None)
    args = parser(only=chosen if chosen in COMMANDS else "").parse_args(argv)
    try:
        return command(args.command).run(args)
    except (ValueError, OSError, FloatingPointError) as err:  # DataError and RegistryError are ValueErrors
        # a RegistryError says what to do in this command line's words (--allow-unhealthy, NAME@TARGET=VALUE)
        message = getattr(err, "cli_message", None) or str(err) or type(err).__name__
        print(f"error: {' '.join(message.split())}", file=sys.stderr)  # one line
        return 2

"""What every command shares: the one-line parse error, value types, output-path checks, option groups."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np

REPORT_SUFFIXES = {".html", ".htm", ".md"}


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line, ``error: ...``, like every other bad input (status 2)."""

    def error(self, message: str):
        sys.stderr.write(f"error: {message} (see `{self.prog} --help`)\n")
        sys.exit(2)


def probability(text: str) -> float:
    value = number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {text}")
    return value


def number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def positive_number(text: str, what: str = "") -> float:
    value = number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be {what}> 0, got {text}")
    return value


def flops(text: str) -> float:
    return positive_number(text, "a compute budget in FLOPs ")


def count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def positive_int(text: str) -> int:
    value = count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def check_output(flag: str, path, suffixes=None, folder: bool = False) -> None:
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


def figure_suffixes() -> set[str]:
    """What matplotlib can write (its own list)."""
    from matplotlib.figure import Figure

    return {f".{kind}" for kind in Figure().canvas.get_supported_filetypes()}


def sampling_options(parser: argparse.ArgumentParser, prob: bool = True) -> None:
    if prob:
        parser.add_argument("--prob", type=probability, default=0.9, help="credible level of the printed interval (default 0.9)")
    parser.add_argument("--seed", type=count, help="random seed (forecast: drawn and printed; demo, backtest: 0)")
    parser.add_argument("--target-accept", type=probability, help="NUTS target acceptance rate (default: the law's, 0.99 for loss)")
    parser.add_argument("--draws", type=positive_int, default=1000, help="draws per chain (default 1000)")
    parser.add_argument("--tune", type=count, default=None, help="tuning steps per chain (default 2000 for loss, else 1000)")
    parser.add_argument("--chains", type=positive_int, default=4, help="chains (default 4)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def self_backtest_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-self-backtest", action="store_true",
                        help="skip the verdict's refit without the largest runs (faster; the verdict is then at best caution)")


class Command(NamedTuple):
    """One command: what adds its arguments to its parser, what runs it, and its examples (the --help epilog)."""

    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    examples: str

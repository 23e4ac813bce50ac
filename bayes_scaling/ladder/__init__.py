"""The small-model ladder: a Python-code corpus, a BPE tokenizer, a GPT, and FLOP-counted training.

It writes the ``runs.csv`` that ``bs.load_runs`` reads, the same table a user would export
from their own training stack. Needs the ``ladder`` extra (torch, tokenizers); nothing in
the forecasting core imports this package, and importing it does not import torch.

    from bayes_scaling.ladder import load_ladder, plan, run_ladder
    run_ladder("models/tiny-cpu/ladder.toml")          # or: bayes-scaling ladder run ...
"""

from __future__ import annotations

import importlib.util

from bayes_scaling.ladder.definition import Ladder, Rung, load_ladder
from bayes_scaling.ladder.runner import plan, run_ladder

__all__ = ["Ladder", "LadderExtraMissing", "Rung", "load_ladder", "plan", "require_ladder_extra", "run_ladder"]


class LadderExtraMissing(ModuleNotFoundError):
    """The ``[ladder]`` extra (torch, tokenizers) is not installed: a setup problem the CLI
    reports in one line, unlike any other missing module, which is a bug and keeps its traceback."""


def require_ladder_extra() -> None:
    """Raise a clear error naming the missing package when torch or tokenizers is not installed."""
    missing = [name for name in ("torch", "tokenizers") if importlib.util.find_spec(name) is None]
    if missing:
        raise LadderExtraMissing(
            f"the ladder needs {' and '.join(missing)}: pip install 'bayes_scaling[ladder]'", name=missing[0]
        )

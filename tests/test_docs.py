"""The documents cannot drift: every example in README.md and docs/ runs, and prints what they show.

The check itself is ``tests/doc_examples.py`` (run it with ``--update`` after a change of output).
"""

from __future__ import annotations

import re

import pytest

from tests import doc_examples
from tests.doc_examples import DOCUMENTS, ROOT, check_document, matches, parse

# an example that repeats a NUTS run already made in this session (the same data, law, options, settings
# and seed: the example ladder at seed 0 in most pages) gets that run's draws, identical to sampling
# again (conftest.py); every other fit, and everything the examples print, runs as a user's would
pytestmark = pytest.mark.usefixtures("reused_fits")


@pytest.mark.parametrize(
    "document",
    [pytest.param(name, marks=[] if mode == "fast" else [pytest.mark.slow]) for name, mode in DOCUMENTS.items()],
)
def test_every_example_prints_what_the_document_shows(document):
    report = check_document(document, slow=DOCUMENTS[document] == "slow")
    assert not report.mismatches, "\n".join(str(m) for m in report.mismatches)
    assert report.ran > 0 or report.skipped  # a page whose every block needs a GPU says so, block by block


def test_the_quickstart_shows_the_demo_output_the_cli_page_checks():
    """The quickstart's demo session runs only with the slow checks; docs/cli.md runs the same
    command in the default suite, so the two pages must show the same output."""
    def demo_output(name, command):
        block = next(b for b in parse((ROOT / name).read_text()) if b.lines and b.lines[0] == command)
        return block.lines[1:]

    shown = demo_output("docs/quickstart.md", "$ .venv/bin/bayes-scaling demo --no-progress")
    assert len(shown) > 10 and shown == demo_output("docs/cli.md", "$ bayes-scaling demo --no-progress")


def test_every_document_with_code_is_checked():
    with_code = {str(path.relative_to(ROOT)) for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
                 if any(b.language in doc_examples.CODE for b in parse(path.read_text()))}
    assert with_code <= set(DOCUMENTS), sorted(with_code - set(DOCUMENTS))


def test_blocks_left_out_say_why():
    for name in DOCUMENTS:
        for block in parse((ROOT / name).read_text()):
            if block.marker and block.marker[0] == "not run":
                assert len(block.marker[1]) > 10, f"{name}:{block.first}: a block left out must say why"


def test_matching_treats_dots_as_any_text_and_nothing_else():
    assert matches("seed ...\nok", "seed 1839549451\nok")
    assert matches("a\n...\nz", "a\nb\nc\nz")
    assert not matches("lower_90  upper_90  lower_0.9", "lower_90  upper_90")
    assert not matches("9 runs", "9 rows")


def test_numbers_match_up_to_monte_carlo_error_and_counts_exactly():
    # another CPU's chain: quantiles move by a unit of the last digit, columns by a space
    assert matches("1.868     1.956\n2.091     2.144", "1.868     1.955\n 2.09     2.143")
    assert matches("g: +0.3% of the loss", "g: +0.2% of the loss")
    assert matches("r_hat=1.0021558207612626, ess_bulk 1427", "r_hat=1.0021506108765519, ess_bulk 1496")
    assert matches("a 828.079 sd 5.88e+23", "a 830.1 sd 5.90e+23")
    # a real change is still a mismatch
    assert not matches("g: +0.3% of the loss", "g: +0.5% of the loss")
    assert not matches("median 1.913", "median 1.95")
    assert not matches("(1 divergent transitions", "(2 divergent transitions")
    assert not matches("fitted on 5 runs", "fitted on 6 runs")
    assert not matches("ess_bulk 1427", "ess_bulk 1100")
    assert not matches("C=5.88e+23", "C=5.88e+22")
    # numbers inside names and hashes are text
    assert not matches("d68-l3 sha256 5bdfc083b634", "d69-l3 sha256 5bdfc083b634")
    assert not matches("sha256 5bdfc083b634", "sha256 5bdfc083b635")


def test_every_flag_a_document_names_exists():
    """A flag the docs mention that the command does not have (or the reverse claim) is drift too."""
    from bayes_scaling import cli
    parser = cli.parser()
    flags = set()
    stack = [parser]
    while stack:
        current = stack.pop()
        for action in current._actions:
            flags.update(action.option_strings)
            if hasattr(action, "choices") and isinstance(action.choices, dict):
                stack.extend(action.choices.values())
    # the benchmarks' own flags, and torchrun's and Slurm's in the ladder's docs
    for script in [*sorted((ROOT / "benchmarks").glob("*.py")), ROOT / "tests" / "doc_examples.py"]:
        flags.update(re.findall(r"add_argument\(\s*\"(--[a-z][a-z-]*)\"", script.read_text()))
    flags |= {"--standalone", "--nproc-per-node", "--array", "--gpus-per-task", "--requeue",  # torchrun, Slurm
              "--ipc", "--uts", "--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--user",  # unshare
              "--scope", "--pdeathsig"}  # systemd-run, setpriv: the sandbox's equivalents in docs/code-evaluation.md
    for name in DOCUMENTS:
        text = (ROOT / name).read_text()
        # XLA's own flags (--xla_force_host_platform_device_count in XLA_FLAGS) are spelt with underscores
        for flag in set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)(?![a-z_-])", text)):
            assert flag in flags, f"{name} names {flag}, which no bayes-scaling command (or benchmark) has"


# the published-data tables of docs/backtesting.md and README.md against the shipped track record
_LABELS = {
    ("loss", "{}", "bayes"): "loss law (bayes)",
    ("chinchilla", "{}", "bayes"): "Chinchilla law (bayes)",
    ("chinchilla", '{"likelihood": "student_t"}', "bayes"): 'Chinchilla law, `likelihood="student_t"` (bayes)',
    ("loss", "{}", "bootstrap"): "loss law, curve_fit + bootstrap",
    ("chinchilla", "{}", "bootstrap"): "Chinchilla law, curve_fit + bootstrap",
}
_SECTIONS = {"Porian": "**Porian et al. (2024)**", "Chinchilla": "**Chinchilla** (Epoch"}


def _track_rows():
    from bayes_scaling.checks.track_record import measured

    table = measured()
    for (law, options, method, dataset), group in table.groupby(["law", "options", "method", "dataset"]):
        yield (law, options, method), dataset, group


def test_the_backtesting_tables_are_the_track_record():
    text = (ROOT / "docs/backtesting.md").read_text()
    checked = 0
    for key, dataset, group in _track_rows():
        section = next(heading for name, heading in _SECTIONS.items() if dataset.startswith(name))
        start = text.index(section)
        table = text[start : text.index("\n\n", text.index("| method", start))]
        cells = [f"{group['covered_90'].mean():.0%}", f"{group['covered_50'].mean():.0%}", f"{group['abs_pct_error'].median():.2f}%"]
        if "crps" in group:
            cells.append(f"{group['crps'].mean():.4f}")
        row = f"| {_LABELS[key]} | " + " | ".join(cells) + " |"
        assert row in table, f"{dataset}: expected a row starting {row!r} in docs/backtesting.md"
        checked += 1
    assert checked == len(_LABELS) * len(_SECTIONS)


def test_the_readme_calibration_table_is_the_track_record():
    text = (ROOT / "README.md").read_text()
    for (law, options, method), dataset, group in _track_rows():
        if law == "loss" and dataset.startswith("Porian"):
            covered = f"{group['covered_90'].mean():.0%} ({int(group['covered_90'].sum())} of {len(group)})"
            error = f"{group['abs_pct_error'].median():.2f}%"
            label = "bayes_scaling (default priors and sampler, seed 0)" if method == "bayes" else "scipy `curve_fit` + 1,000 bootstrap resamples"
            assert f"| {label} | {covered} | {error} |" in text, (label, covered, error)

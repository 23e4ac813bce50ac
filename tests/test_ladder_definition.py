"""ladder.toml: the committed ladders load and meet their design; bad definitions fail naming rung and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bayes_scaling.ladder import load_ladder

MODELS = Path(__file__).resolve().parents[1] / "models"

GOOD = """
name = "t"
[corpus]
vocab_size = 512
[training]
seq_len = 32
batch_size = 8
tokens_per_param = 2.0
[[rungs]]
name = "small"
d_model = 32
n_layer = 2
n_head = 2
[[rungs]]
name = "big"
d_model = 64
n_layer = 2
n_head = 4
"""


def write(tmp_path, text):
    path = tmp_path / "ladder.toml"
    path.write_text(text)
    return path


def test_a_definition_reads_with_defaults_and_overrides(tmp_path):
    ladder = load_ladder(write(tmp_path, GOOD.replace('name = "big"', 'name = "big"\nlearning_rate = 1e-3')))
    small, big = ladder.rungs
    assert [r.name for r in ladder.rungs] == ["small", "big"]
    assert small.training["learning_rate"] == 3e-3 and big.training["learning_rate"] == 1e-3
    assert small.training["seq_len"] == 32 and small.vocab_size == 512
    assert small.config_hash != big.config_hash
    assert ladder.runs_path == tmp_path / "runs.csv"
    assert small.steps(1000) == 8  # 2 tokens/param * 1000 params / (8 * 32 tokens per step), rounded up


def test_a_token_budget_replaces_the_ratio(tmp_path):
    ladder = load_ladder(write(tmp_path, GOOD.replace('name = "big"', 'name = "big"\ntokens = 1000')))
    assert ladder.rungs[1].training["tokens_per_param"] is None
    assert ladder.rungs[1].steps(10**9) == 4  # ceil(1000 / 256)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("d_model = 64", "d_model = 66"), r"rung 'big': field 'd_model' \(66\) is not divisible by field 'n_head' \(4\)"),
        (("n_layer = 2\nn_head = 4", "n_layer = 0\nn_head = 4"), r"rung 'big': field 'n_layer' must be a positive integer, got 0"),
        (("n_head = 4", "n_head = 4\nwidth = 3"), r"rung 'big': unknown field 'width'"),
        (("n_head = 4", "n_head = 4\nlearning_rate = -1.0"), r"rung 'big': field 'learning_rate' must be a positive number"),
        (("n_head = 4", "n_head = 4\ntokens = 5\ntokens_per_param = 3.0"), r"rung 'big': give the budget as 'tokens' or as 'tokens_per_param'"),
        (('name = "big"', 'name = "small"'), r"'small' appears more than once"),
        (("n_layer = 2\nn_head = 4", "n_layer = 2"), r"rung 'big': missing field 'n_head'"),
        (("batch_size = 8", "batch_size = 8\nmicro_batch_size = 3"), r"field 'batch_size' \(8\) is not a multiple of field 'micro_batch_size' \(3\)"),
        (("vocab_size = 512", "vocab_size = 100"), r"\[corpus\]: vocab_size 100 is too small"),
        (("seq_len = 32", "seq_len = 32\nsheduler = 'cosine'"), r"\[training\]: unknown field 'sheduler'"),
        (("[training]", "[training\n"), r"not valid TOML"),
    ],
)
def test_bad_definitions_name_the_rung_and_field(tmp_path, edit, message):
    old, new = edit
    assert old in GOOD
    with pytest.raises(ValueError, match=message):
        load_ladder(write(tmp_path, GOOD.replace(old, new, 1)))


def test_unknown_rung_names_and_missing_files_are_errors(tmp_path):
    ladder = load_ladder(write(tmp_path, GOOD))
    assert [r.name for r in ladder.select(["big"])] == ["big"]
    with pytest.raises(ValueError, match="no rung named 'huge'; rungs are big, small"):
        ladder.select(["huge"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_ladder(tmp_path / "nowhere" / "ladder.toml")


def test_the_committed_ladders_meet_their_design():
    pytest.importorskip("torch")
    from bayes_scaling.ladder import plan

    tiny = plan(load_ladder(MODELS / "tiny-cpu"))
    assert len(tiny) == 3 and all(0.9e5 <= row["params"] <= 1e6 for row in tiny)
    rows = plan(load_ladder(MODELS / "python-ladder" / "ladder.toml"))
    compute = [row["compute"] for row in rows]
    assert len(rows) >= 6 and compute == sorted(compute)
    assert compute[0] <= 2e14 and compute[-1] >= 1e16 and compute[-1] / compute[0] >= 100
    for row in rows:  # the compute column is FLOPs per token times the tokens trained
        assert row["compute"] == row["flops_per_token"] * row["tokens"]


def test_corpus_paths_are_relative_to_the_ladder_and_left_out_of_the_hash(tmp_path):
    text = GOOD.replace("vocab_size = 512", 'vocab_size = 512\ndirs = ["src"]\ncache_dir = "cache"')
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    here, there = (load_ladder(write(tmp_path / folder, text)).rungs[0] for folder in ("a", "b"))
    assert here.corpus_dirs == [(tmp_path / "a" / "src").resolve()]
    assert there.corpus_dirs == [(tmp_path / "b" / "src").resolve()]
    assert here.config_hash == there.config_hash  # the same definition on another machine or folder
    moved = load_ladder(write(tmp_path / "a", text.replace('["src"]', '["other"]'))).rungs[0]
    assert moved.config_hash != here.config_hash


def test_the_package_and_the_ladder_definitions_do_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, bayes_scaling, bayes_scaling.cli, bayes_scaling.ladder; "
            "bayes_scaling.ladder.load_ladder(sys.argv[1]); "
            "assert 'torch' not in sys.modules and 'tokenizers' not in sys.modules, 'torch imported'")
    result = subprocess.run([sys.executable, "-c", code, str(MODELS / "tiny-cpu")], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr

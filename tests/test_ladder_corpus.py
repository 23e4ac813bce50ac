"""The corpus (dedupe, split by file, packed tokens that decode back to the files, cache) and runs.csv writes."""

from __future__ import annotations

import multiprocessing
import os

import numpy as np
import pytest

import bayes_scaling as bs
from bayes_scaling.ladder.results import record_run

pytest.importorskip("tokenizers")

from bayes_scaling.ladder.corpus import gather_sources, prepare_corpus  # noqa: E402


def make_tree(root, count=40):
    """``count`` distinct small modules, one exact copy elsewhere, and files the corpus must skip."""
    texts = {}
    for i in range(count):
        text = f'"""Module {i}."""\n\n\ndef function_{i}(value):\n    return value * {i} + {i * i}\n'
        path = root / f"pkg{i % 3}" / f"mod_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        texts[path] = text
    (root / "vendored").mkdir()
    (root / "vendored" / "copy.py").write_text(texts[root / "pkg0" / "mod_0.py"])
    (root / "pkg0" / "__pycache__").mkdir()
    (root / "pkg0" / "__pycache__" / "cached.py").write_text("x = 1\n")
    (root / "pkg0" / "latin1.py").write_bytes(b"name = '\xe9'\n")
    (root / "pkg0" / "empty.py").write_text("\n")
    (root / "pkg0" / "notes.txt").write_text("not python\n")
    return set(texts.values())


def test_gather_dedupes_skips_and_limits(tmp_path):
    texts = make_tree(tmp_path)
    sources = gather_sources([tmp_path])
    assert {s.text for s in sources} == texts and len(sources) == len(texts)
    assert len(gather_sources([tmp_path], max_files=5)) == 5
    limited = gather_sources([tmp_path], max_bytes=300)
    assert 0 < sum(len(s.text) for s in limited) <= 300
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gather_sources([tmp_path / "missing"])


def test_packed_tokens_decode_back_to_the_files_of_each_split(tmp_path):
    texts = make_tree(tmp_path / "src")
    corpus = prepare_corpus([tmp_path / "src"], vocab_size=300, cache_dir=tmp_path / "cache", val_fraction=0.3)
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(corpus.tokenizer_path))
    end = corpus.manifest["end_of_text_id"]
    decoded = {}
    for split in ("train", "val"):
        ids = np.asarray(corpus.tokens(split))
        assert ids.dtype == np.uint16 and ids[-1] == end and len(ids) == corpus.manifest[f"{split}_tokens"]
        pieces = np.split(ids, np.flatnonzero(ids == end) + 1)[:-1]
        decoded[split] = {tokenizer.decode(piece[:-1].tolist()) for piece in pieces}
        assert len(decoded[split]) == corpus.manifest[f"{split}_files"]
    assert decoded["train"] | decoded["val"] == texts and not decoded["train"] & decoded["val"]
    assert corpus.manifest["train_bytes"] + corpus.manifest["val_bytes"] == sum(len(t.encode()) for t in texts)


def test_the_corpus_is_cached_by_content_not_path(tmp_path):
    make_tree(tmp_path / "a")
    first = prepare_corpus([tmp_path / "a"], vocab_size=300, cache_dir=tmp_path / "cache", val_fraction=0.3)
    stamp = os.stat(first.directory / "train.bin").st_mtime_ns
    os.rename(tmp_path / "a", tmp_path / "b")
    second = prepare_corpus([tmp_path / "b"], vocab_size=300, cache_dir=tmp_path / "cache", val_fraction=0.3)
    assert second.directory == first.directory and second.manifest["hash"] == first.manifest["hash"]
    assert os.stat(second.directory / "train.bin").st_mtime_ns == stamp  # not packed again
    other = prepare_corpus([tmp_path / "b"], vocab_size=300, cache_dir=tmp_path / "cache", val_fraction=0.5)
    assert other.manifest["hash"] != first.manifest["hash"]


def test_a_split_with_no_files_is_a_clear_error(tmp_path):
    (tmp_path / "one.py").write_text("x = 1\n")
    with pytest.raises(ValueError, match=r"1 distinct .py files and none in the (train|val) split"):
        prepare_corpus([tmp_path], vocab_size=300, cache_dir=tmp_path / "cache", val_fraction=0.5)


def _row(name, compute):
    return {"run": name, "params": 1000, "non_embedding_params": 500, "tokens": 20000, "compute": compute,
            "loss": 5.0 - compute / 1e12, "seed": 0, "config_hash": "h", "device": "cpu, 1 thread"}


def _write_rows(args):
    path, worker = args
    for i in range(5):
        record_run(path, _row(f"w{worker}-{i}", float(1e9 * (worker * 5 + i + 1))))


def test_concurrent_writers_leave_every_row_once(tmp_path):
    path = tmp_path / "runs.csv"
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pool.map(_write_rows, [(path, w) for w in range(4)])
    runs = bs.load_runs(path)
    assert sorted(runs["run"]) == sorted(f"w{w}-{i}" for w in range(4) for i in range(5))
    record_run(path, {**_row("w0-0", 5e11), "mfu": 0.41})  # a rung trained again replaces its row
    runs = bs.load_runs(path)
    assert len(runs) == 20 and runs.loc[runs["run"] == "w0-0", "compute"].item() == 5e11
    assert runs["device"].eq("cpu, 1 thread").all()  # quoted text survives
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(ValueError, match="needs loss"):
        record_run(path, {k: v for k, v in _row("x", 1.0).items() if k != "loss"})

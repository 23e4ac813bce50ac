"""write_atomically: the new content whole, or the old file untouched and no temporary file left behind."""

from __future__ import annotations

import multiprocessing

import pytest

from bayes_scaling.atomic_write import write_atomically


def test_the_new_content_replaces_the_old(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text("old")
    write_atomically(path, lambda temporary: temporary.write_text("new"))
    assert path.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_a_failing_writer_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("run,loss\na,1.0\n")

    def half_then_fail(temporary):
        temporary.write_text("run,lo")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, half_then_fail)
    assert path.read_text() == "run,loss\na,1.0\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.csv"]

    with pytest.raises(KeyboardInterrupt):  # killed before it wrote anything
        write_atomically(path, lambda temporary: (_ for _ in ()).throw(KeyboardInterrupt()))
    assert path.read_text() == "run,loss\na,1.0\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.csv"]


def test_a_failing_first_write_creates_nothing(tmp_path):
    def fail(temporary):
        temporary.write_text("x")
        raise ValueError("bad row")

    with pytest.raises(ValueError, match="bad row"):
        write_atomically(tmp_path / "new.csv", fail)
    assert list(tmp_path.iterdir()) == []


CONTENT = "".join(f"line {i:06d}\n" for i in range(50_000))  # ~600 kB: several write calls


def _write_many(path):
    for _ in range(20):
        write_atomically(path, lambda temporary: temporary.write_text(CONTENT))


def test_concurrent_writers_of_the_same_content_never_show_a_reader_half_a_file(tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_text(CONTENT)
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_write_many, args=(path,)) for _ in range(2)]
    for writer in writers:
        writer.start()
    reads = 0
    while any(writer.is_alive() for writer in writers):
        assert path.read_text() == CONTENT
        reads += 1
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    assert reads > 0 and path.read_text() == CONTENT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokenizer.json"]


def test_a_checkpoint_written_with_torch_save_loads_back(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "checkpoint.pt"
    state = {"model": {"w": torch.arange(6.0).view(2, 3)}, "step": 20}
    write_atomically(path, lambda temporary: torch.save(state, temporary))
    loaded = torch.load(path, weights_only=True)
    assert loaded["step"] == 20 and torch.equal(loaded["model"]["w"], state["model"]["w"])


def test_threads_of_one_process_writing_the_same_file_each_get_their_own_temporary_file(tmp_path):
    # a temporary file named after the process made the second writer fail (FileNotFoundError)
    # or move the first one's half-written file into place
    import threading

    path = tmp_path / "tokenizer.json"
    started, errors = threading.Barrier(2), []

    def writer(content):
        def slow_write(temporary):
            started.wait()
            temporary.write_text(content * 100_000)

        try:
            write_atomically(path, slow_write)
        except Exception as err:  # noqa: BLE001 - the test reports whatever went wrong
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(c,)) for c in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert path.read_text() in ("a" * 100_000, "b" * 100_000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokenizer.json"]


def test_the_file_gets_the_usual_permissions_not_the_temporary_files(tmp_path):
    import stat

    from bayes_scaling import atomic_write
    path = tmp_path / "runs.csv"
    write_atomically(path, lambda temporary: temporary.write_text("run,loss\n"))
    plain = tmp_path / "plain.csv"
    plain.write_text("run,loss\n")  # what an ordinary write gives under this process's umask
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode) == 0o666 & ~atomic_write._UMASK

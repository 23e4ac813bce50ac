"""What the sandbox can do on this machine: the isolation mode (namespaces, user namespaces or
rlimits only), cgroups, seccomp and ``setpriv``, probed once per process, and the warning
about each guarantee it cannot give here.

Kept apart from ``sandbox`` (which runs programs) because it answers a question about the
machine, asked by the command line and the docs' checks as well as before every program.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from bayes_scaling.codeeval import launcher_lockdown
from bayes_scaling.codeeval.launcher_lockdown import NAMESPACES, RLIMITS_ONLY, USER_NAMESPACES
from bayes_scaling.codeeval.sandbox_state import _state


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
        seccomp = os.uname().machine in launcher_lockdown._SYSCALLS and "Seccomp:" in Path("/proc/self/status").read_text()
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


def _unshare(mode: str) -> list[str]:
    user = ["--user", "--map-root-user"] if mode == USER_NAMESPACES else []
    return ["unshare", *user, "--ipc", "--uts", "--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"]

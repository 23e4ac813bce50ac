"""The trusted side of every sandboxed program: lock the process down, split it in two, judge.

Started by ``sandbox._run`` as ``python -I -S -c BOOTSTRAP RESULT_FD``, the bootstrap reading
this module's code and that of the ``launcher_*`` modules it imports (compiled once per
evaluator) from stdin (standard library only: no site-packages, no environment), usually
under ``unshare`` (new IPC, UTS, mount, network and PID namespaces; this process is PID 1
of the last). It reads two messages from stdin (``marshal``, each after its length): the
setup and the candidate program (``prompt + completion``), then - only after the candidate
process below exists - the tests. Before any untrusted code runs it:

- (already moved into the program's cgroup by the evaluator) limits SysV/POSIX IPC in its own
  IPC namespace, and joins a fresh, empty session keyring (so nothing of the evaluator's
  keyring is reachable, whatever happens to the filter below);
- with a mount namespace, builds a new root and pivots into it: read-only binds of
  ``/usr``, ``/etc``, ``/bin``, ``/sbin``, ``/lib*`` and the interpreter's own prefix,
  site-packages and the problems file hidden, a fresh ``/proc``, a minimal ``/dev``
  (``null zero full random urandom`` and ``fd``; no ``ptmx``, no ``pts``, no disks) and
  one size- and inode-capped tmpfs seen at ``/tmp``, ``/var/tmp`` and ``/dev/shm``; the
  host's tree is detached, so no host file, directory or unix socket outside those binds
  is reachable at all;
- sets no-new-privileges and installs a seccomp filter (x86-64 and arm64): no keyrings
  (``keyctl``, ``add_key``, ``request_key``), no ``socket(AF_UNIX)`` (``socketpair`` is
  fine), no new namespaces, no mounts, no ``bpf``, ``perf_event_open``, ``userfaultfd``
  or io_uring, and system calls of any other architecture kill the process;

then forks. The **candidate** (the child) drops to its own uid (or, as root of a user
namespace, every capability), re-arms its parent-death signal, sets the resource limits,
compiles the program (a syntax error is reported from here, inside the sandbox), runs it
and then serves calls to the entry point: one JSON request per call, one JSON reply.
The **harness** (this process) drops to another uid, makes itself non-dumpable (so the
candidate cannot read its memory or its file descriptors even with the same uid), reads
the tests, defines the prompt's helpers itself, and runs ``check(candidate)`` where
``candidate`` is a proxy: its arguments and the candidate's answers cross the pipe as plain
JSON values (``encode``/``decode`` in ``launcher_messages``: None, bools, ints, floats,
strings, lists, tuples, dicts, sets, frozensets, bytes, complex), so no object of the
candidate's - with a forged ``__eq__`` or anything else - ever reaches the tests, and nothing
the tests hold (their source, the pass decision, the result pipe) is in the candidate's
reach. The verdict goes to RESULT_FD, which only the harness holds.

Without the tests (``run_program``) the harness only waits for the program to report that
it ran to its end: a program's own assertions are its test, so that pass proves no more
than the program chose to get there (``run_program`` is for trusted programs).

This module is the order of those steps (``main``); the steps themselves are in
``launcher_lockdown`` (everything before the fork), ``launcher_candidate``,
``launcher_harness`` and ``launcher_messages`` (what the two processes say to each other).
"""

import ctypes
import marshal
import os
import sys

from bayes_scaling.codeeval.launcher_candidate import _candidate
from bayes_scaling.codeeval.launcher_harness import _harness
from bayes_scaling.codeeval.launcher_lockdown import (
    _PR_SET_NO_NEW_PRIVS,
    _SYSCALLS,
    RLIMITS_ONLY,
    SETUP_FAILED,
    _check,
    _fresh_keyring,
    _install_seccomp,
    _limit_ipc,
    _new_root,
)
from bayes_scaling.codeeval.launcher_messages import _receive_request


def main() -> None:
    result_fd = int(sys.argv[1])
    try:
        request = _receive_request(0)
        libc = ctypes.CDLL(None, use_errno=True)
        arch_numbers = _SYSCALLS.get(os.uname().machine)
        syscalls = arch_numbers[1] if arch_numbers else None
        parent = os.getppid()
        if request["mode"] != RLIMITS_ONLY:
            _limit_ipc(request["limits"])
        _fresh_keyring(libc, syscalls)
        if request["mode"] != RLIMITS_ONLY:
            request["workdir"] = _new_root(libc, request, syscalls)
        _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)", libc)
        if request["seccomp"]:
            if arch_numbers is None:
                raise OSError(f"no seccomp filter for {os.uname().machine}")
            _install_seccomp(libc, *arch_numbers)
        to_candidate, from_harness = os.pipe()[::-1]
        from_candidate, to_harness = os.pipe()
        me = os.getpid()
        child = os.fork()
    except BaseException as error:  # noqa: BLE001 - reported to the evaluator, which raises
        os.write(result_fd, marshal.dumps(("setup", f"{type(error).__name__}: {error}")))
        os._exit(SETUP_FAILED)
    if child == 0:
        os.close(result_fd)
        os.close(to_candidate)
        os.close(from_candidate)
        _candidate(libc, request, from_harness, to_harness, me)
    os.close(from_harness)
    os.close(to_harness)
    request.pop("program", None)
    _harness(libc, request, result_fd, from_candidate, to_candidate, child, parent)


if __name__ == "__main__":
    main()

"""The trusted first part of every sandboxed process: lock it down, then run the program.

Started by ``sandbox.run_program`` as ``python -I -S launcher.py RESULT_FD`` (standard
library only: no site-packages, no environment), it reads one request from stdin (a
``marshal``-ed dict: json's import costs more than the rest of the setup), then, before any
untrusted code runs:

- with namespaces (started under ``unshare``): makes every mount read-only, mounts small
  private tmpfs over ``/tmp``, ``/var/tmp`` and ``/dev/shm`` and works in ``/tmp/work``;
- when it is real root: drops to an unused uid, so the program owns nothing on the host
  and its process count (``RLIMIT_NPROC`` is per user) is its own; as root of a user
  namespace instead: drops every capability, so it cannot undo the read-only mounts;
  in every mode sets no-new-privileges (setuid binaries give nothing back);
- sets the resource limits (address space, CPU seconds, file size, processes, open files,
  no core dumps);
- makes ``os.kill`` refuse any process but itself and its children, and without a network
  namespace makes socket creation raise (guards that make naive attempts fail loudly; a
  determined program gets past them, e.g. via ctypes: the namespaces are the real barrier).

The program passed only if this process reaches the end of it and writes the secret
token, which it got on stdin, to RESULT_FD. An early ``sys.exit(0)`` or ``os._exit(0)``
never gets there. Exit status 86 with a ``setup error:`` message means the sandbox itself
could not be built: the program fails with that message, and ``sandbox.self_check`` raises
when even a trivial program gets it.
"""

import ctypes
import marshal
import os
import resource
import sys

SETUP_FAILED = 86
_MOUNT_ATTR_RDONLY = 0x1
_AT_RECURSIVE = 0x8000
_AT_FDCWD = -100
_SYS_MOUNT_SETATTR = 442  # the same number on every Linux architecture
_MS_BIND, _MS_REC = 4096, 16384
_PR_CAPBSET_DROP, _PR_SET_SECUREBITS, _PR_SET_NO_NEW_PRIVS = 24, 28, 38
_SECUREBITS_LOCKED_DOWN = 0xEF  # NOROOT, NO_SETUID_FIXUP, NO_CAP_AMBIENT_RAISE, KEEP_CAPS off: each locked
_CAPABILITY_VERSION_3 = 0x20080522


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _private_filesystem(libc, tmpfs_bytes: int, uid) -> str:
    """Read-only view of the host with private, size-capped scratch space; returns the workdir."""
    _read_only(libc, "/")
    for target in ("/tmp", "/var/tmp", "/dev/shm"):
        if os.path.isdir(target):
            options = f"size={tmpfs_bytes},mode=1777".encode()
            if libc.mount(b"tmpfs", target.encode(), b"tmpfs", 0, options) != 0:
                raise OSError(ctypes.get_errno(), f"mounting a tmpfs on {target} failed")
    os.mkdir("/tmp/work", 0o700)
    if uid is not None:
        os.chown("/tmp/work", uid, uid)
        _readable_standard_library(libc)
    return "/tmp/work"


def _readable_standard_library(libc) -> None:
    """Bind the interpreter's prefix below /tmp if the dropped uid could not reach it (e.g. under /root)."""
    prefix = sys.base_prefix
    ancestors = [prefix]
    while os.path.dirname(ancestors[-1]) != ancestors[-1]:
        ancestors.append(os.path.dirname(ancestors[-1]))
    if all(os.stat(path).st_mode & 0o001 for path in ancestors):
        return
    target = "/tmp/.python"
    os.mkdir(target, 0o755)
    if libc.mount(prefix.encode(), target.encode(), None, _MS_BIND | _MS_REC, None) != 0:
        raise OSError(ctypes.get_errno(), f"binding {prefix} to {target} failed")
    _read_only(libc, target)
    def moved(entries):
        return [target + entry[len(prefix):] if entry.startswith(prefix) else entry for entry in entries]

    sys.path[:] = moved(sys.path)
    for module in list(sys.modules.values()):  # packages imported already look up submodules here
        if isinstance(getattr(module, "__path__", None), list):
            module.__path__[:] = moved(module.__path__)
    sys.path_importer_cache.clear()


def _read_only(libc, path: str) -> None:
    attr = _MountAttr(_MOUNT_ATTR_RDONLY, 0, 0, 0)
    if libc.syscall(_SYS_MOUNT_SETATTR, _AT_FDCWD, path.encode(), _AT_RECURSIVE, ctypes.byref(attr), ctypes.sizeof(attr)) != 0:
        raise OSError(ctypes.get_errno(), f"mount_setattr({path}, read-only) failed")


def _drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_capabilities(libc) -> None:
    """As root of a user namespace it could undo the read-only mounts: give up every capability for
    good (bounding set, securebits, then capset to nothing)."""
    for cap in range(64):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:  # EINVAL: past the last cap
            break
    if libc.prctl(_PR_SET_SECUREBITS, _SECUREBITS_LOCKED_DOWN, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECUREBITS) failed")
    if libc.capset(ctypes.byref(_CapHeader(_CAPABILITY_VERSION_3, 0)), (_CapData * 2)()) != 0:
        raise OSError(ctypes.get_errno(), "capset to no capabilities failed")


def _set_limits(limits: dict) -> None:
    cpu = int(limits["cpu_seconds"])
    for name, value in (("RLIMIT_AS", limits["memory_bytes"]), ("RLIMIT_CPU", cpu),
                        ("RLIMIT_FSIZE", limits["file_size_bytes"]), ("RLIMIT_NPROC", limits["processes"]),
                        ("RLIMIT_NOFILE", limits["open_files"]), ("RLIMIT_CORE", 0)):
        resource.setrlimit(getattr(resource, name), (value, value))


def _refuse_sockets() -> None:
    """Without a network namespace: socket creation raises (bypassable, e.g. via ctypes)."""
    import _socket
    import socket

    def refuse(*args, **kwargs):
        raise PermissionError("network access is disabled in the sandbox")

    for module in (socket, _socket):
        for name in ("socket", "socketpair", "fromfd", "create_connection", "create_server", "getaddrinfo"):
            if hasattr(module, name):
                setattr(module, name, refuse)


def _refuse_foreign_signals() -> None:
    """Signals only to itself and its own children, so a naive attack fails loudly (the real barrier
    is the PID namespace and the uid; without them this guard is bypassable, e.g. via ctypes)."""
    import _signal  # not `signal`: importing it (and enum) costs more than the rest of the setup

    real_kill, own = os.kill, os.getpid()

    def own_child(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                return int(stat.read().rsplit(b")", 1)[1].split()[1]) == own
        except (OSError, ValueError, IndexError):
            return False

    def kill(pid, sig):
        if pid != own and not (pid > 0 and own_child(pid)):
            raise PermissionError(f"signals to process {pid} are disabled in the sandbox")
        return real_kill(pid, sig)

    def refuse(*args):
        raise PermissionError("signals to process groups and threads are disabled in the sandbox")

    os.kill, os.killpg, _signal.pthread_kill = kill, refuse, refuse  # `signal` re-exports _signal's


def main() -> None:
    result_fd = int(sys.argv[1])
    write, leave = os.write, os._exit
    request = marshal.loads(sys.stdin.buffer.read())
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # input() sees end of file
    os.close(devnull)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        uid = request["uid"]
        if request["namespaces"]:
            workdir = _private_filesystem(libc, request["limits"]["tmpfs_bytes"], uid)
        else:
            workdir = request["workdir"]
        os.chdir(workdir)
        if uid is not None:
            _drop_privileges(uid)
        elif request["namespaces"]:
            _drop_capabilities(libc)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:  # no setuid binary gives privileges back
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        _set_limits(request["limits"])
        os.environ.clear()  # started with env={}; this drops what Python adds itself (LC_CTYPE coercion)
        _refuse_foreign_signals()
        if not request["namespaces"]:
            _refuse_sockets()
    except BaseException as error:  # noqa: BLE001 - reported to the evaluator, which raises
        write(result_fd, f"setup error: {type(error).__name__}: {error}".encode())
        leave(SETUP_FAILED)
    token = request.pop("token").encode()
    program = request.pop("program")
    del request
    try:
        exec(compile(program, "<program>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
    except BaseException as error:  # noqa: BLE001 - any exception, SystemExit included, is a failure
        try:
            message = f"failed: {type(error).__name__}: {error}"
        except BaseException:  # noqa: BLE001 - a program's exception whose str() raises
            message = "failed: an exception that could not be printed"
        try:
            write(result_fd, message[:1000].encode(errors="replace"))
        finally:
            leave(1)
    write(result_fd, token)
    leave(0)


if __name__ == "__main__":
    main()

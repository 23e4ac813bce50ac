"""How the launcher locks its process down before any untrusted code runs.

IPC limits, a fresh keyring, the program's own root file system, the seccomp filter, the drop to
a sandbox uid (or of every capability), the resource limits and the Python-level guards of the
rlimits-only fallback: the kernel-facing half of the launcher, kept apart so that ``launcher.py``,
``launcher_candidate.py`` and ``launcher_harness.py`` read as the steps each process takes.

Like every ``launcher*`` module it runs inside the sandbox, where only the standard library and
the other launcher modules can be imported (``sandbox._launcher_code`` hands them over).
"""

import ctypes
import os
import resource

SETUP_FAILED = 86
NAMESPACES, USER_NAMESPACES, RLIMITS_ONLY = "namespaces", "user-namespaces", "rlimits-only"

# ------------------------------------------------------------------------ constants

_MOUNT_ATTR_RDONLY = 0x1
_AT_RECURSIVE = 0x8000
_AT_FDCWD = -100
_SYS_MOUNT_SETATTR = 442  # the same number on every Linux architecture
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_BIND, _MS_MOVE, _MS_REC = 1, 2, 4, 8, 4096, 8192, 16384
_MNT_DETACH = 2
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_CAPBSET_DROP, _PR_SET_SECUREBITS = 1, 4, 24, 28
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2
_SECUREBITS_LOCKED_DOWN = 0xEF  # NOROOT, NO_SETUID_FIXUP, NO_CAP_AMBIENT_RAISE, KEEP_CAPS off: each locked
_CAPABILITY_VERSION_3 = 0x20080522
_KEYCTL_JOIN_SESSION_KEYRING = 1
_SIGKILL, _SIGALRM = 9, 14
_EPERM, _ENOSYS = 1, 38
_AF_UNIX = 1
_CLONE_NEW_ANY = 0x7E020000  # CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET

# System call numbers: (seccomp audit arch, numbers). Elsewhere there is no filter and no pivot_root
# (the evaluator knows and says so; see sandbox_capabilities.capabilities).
_SYSCALLS = {
    "x86_64": (0xC000003E, {
        "socket": 41, "clone": 56, "keyctl": 250, "add_key": 248, "request_key": 249, "unshare": 272, "setns": 308,
        "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "bpf": 321, "perf_event_open": 298,
        "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
        "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "clone3": 435,
        "mount_setattr": 442}),
    "aarch64": (0xC00000B7, {
        "socket": 198, "clone": 220, "keyctl": 219, "add_key": 217, "request_key": 218, "unshare": 97, "setns": 268,
        "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51, "bpf": 280, "perf_event_open": 241,
        "userfaultfd": 282, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
        "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "clone3": 435,
        "mount_setattr": 442}),
}
_DENIED = ("keyctl", "add_key", "request_key", "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "bpf",
           "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "open_tree",
           "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr")


# ---------------------------------------------------------------------------- setup


def _check(result: int, what: str, libc) -> None:
    if result != 0:
        raise OSError(ctypes.get_errno(), f"{what} failed")


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _limit_ipc(limits: dict) -> None:
    """Small SysV/POSIX IPC limits in this IPC namespace (its tables die with it). Best effort: an
    unprivileged user namespace may not write them, and the cgroup counts the memory anyway."""
    pages = max(limits["tmpfs_bytes"] // 4096, 1)
    for name, value in (("kernel/shmmax", limits["tmpfs_bytes"]), ("kernel/shmall", pages), ("kernel/shmmni", 16),
                        ("kernel/msgmni", 16), ("kernel/msgmnb", 1 << 16), ("kernel/sem", "32 512 32 16"),
                        ("fs/mqueue/queues_max", 16), ("fs/mqueue/msg_max", 16), ("fs/mqueue/msgsize_max", 8192)):
        try:
            _write(f"/proc/sys/{name}", str(value))
        except OSError:
            pass


def _fresh_keyring(libc, syscalls) -> None:
    """Join a new, empty, anonymous session keyring: the evaluator's is not inherited."""
    if syscalls is None:
        return
    if libc.syscall(syscalls["keyctl"], _KEYCTL_JOIN_SESSION_KEYRING, None) < 0:
        error = ctypes.get_errno()
        if error not in (_ENOSYS,):
            raise OSError(error, "keyctl(JOIN_SESSION_KEYRING) failed")


def _mount(libc, source, target: str, fstype=None, flags=0, options=None) -> None:
    encode_ = (lambda text: None if text is None else text.encode())
    if libc.mount(encode_(source), target.encode(), encode_(fstype), flags, encode_(options)) != 0:
        raise OSError(ctypes.get_errno(), f"mounting {source or fstype} on {target} failed")


def _read_only(libc, path: str, recursive: bool = True, clear: bool = False) -> None:
    attr = _MountAttr(0, _MOUNT_ATTR_RDONLY, 0, 0) if clear else _MountAttr(_MOUNT_ATTR_RDONLY, 0, 0, 0)
    if libc.syscall(_SYS_MOUNT_SETATTR, _AT_FDCWD, path.encode(), _AT_RECURSIVE if recursive else 0,
                    ctypes.byref(attr), ctypes.sizeof(attr)) != 0:
        raise OSError(ctypes.get_errno(), f"mount_setattr({path}, {'writable' if clear else 'read-only'}) failed")


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


_SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_DEVICES = ("null", "zero", "full", "random", "urandom")


def _new_root(libc, request: dict, syscalls) -> str:
    """Build the program's root file system and pivot into it; returns its working directory."""
    limits, uid = request["limits"], request["candidate_uid"]
    new = "/tmp"  # any directory will do as the mount point; the host's /tmp is hidden by it
    _mount(libc, "tmpfs", new, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m,nr_inodes=1024,mode=755")
    for path in _SYSTEM_DIRS + tuple(request["keep"]):
        if path in _SYSTEM_DIRS and os.path.islink(path):  # merged /usr: /bin -> usr/bin
            os.symlink(os.readlink(path), new + path)
        elif os.path.isdir(path) and not os.path.exists(new + path):
            os.makedirs(new + path, 0o755, exist_ok=True)
            _mount(libc, path, new + path, None, _MS_BIND | _MS_REC)
    for path in request["hide"]:  # site-packages, the package itself, the problems file
        target = new + path
        if os.path.isdir(target) and not os.path.islink(target):
            _mount(libc, "tmpfs", target, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=4k,nr_inodes=1,mode=555")
        elif os.path.isfile(target) and not os.path.islink(target):
            _mount(libc, "/dev/null", target, None, _MS_BIND)
    os.mkdir(new + "/proc", 0o555)
    _mount(libc, "/proc", new + "/proc", None, _MS_BIND | _MS_REC)
    scratch = new + "/tmp"
    os.mkdir(scratch)
    inodes = max(limits["tmpfs_bytes"] // 16384, 64)
    _mount(libc, "tmpfs", scratch, "tmpfs", _MS_NOSUID | _MS_NODEV,
           f"size={limits['tmpfs_bytes']},nr_inodes={inodes},mode=1777")
    os.makedirs(new + "/var/tmp", 0o755)
    _mount(libc, scratch, new + "/var/tmp", None, _MS_BIND)
    dev = new + "/dev"
    os.mkdir(dev)
    _mount(libc, "tmpfs", dev, "tmpfs", _MS_NOSUID | _MS_NOEXEC, "size=64k,nr_inodes=32,mode=755")
    for name in _DEVICES:
        open(f"{dev}/{name}", "w").close()
        _mount(libc, f"/dev/{name}", f"{dev}/{name}", None, _MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{dev}/{name}")
    os.mkdir(dev + "/shm")
    _mount(libc, scratch, dev + "/shm", None, _MS_BIND)
    work = scratch + "/work"
    os.mkdir(work, 0o700)
    if uid is not None:
        os.chown(work, uid, uid)
    old = new + "/.old-root"
    os.mkdir(old)
    if syscalls is not None:
        _check(libc.syscall(syscalls["pivot_root"], new.encode(), old.encode()), "pivot_root", libc)
        os.chdir("/")
        _check(libc.umount2(b"/.old-root", _MNT_DETACH), "detaching the host's root", libc)
    else:  # no pivot_root number for this architecture: move the new root over / and chroot (no caps to undo it)
        os.chdir(new)
        _mount(libc, ".", "/", None, _MS_MOVE)
        os.chroot(".")
        os.chdir("/")
    os.rmdir("/.old-root")
    _read_only(libc, "/")  # everything ...
    for writable in ("/tmp", "/var/tmp", "/dev/shm"):  # ... but the scratch space
        _read_only(libc, writable, recursive=False, clear=True)
    return "/tmp/work"


def _seccomp_filter(arch: int, numbers: dict) -> bytes:
    """A classic BPF program for seccomp: deny _DENIED with EPERM, socket(AF_UNIX) with EPERM, clone with a
    CLONE_NEW* flag with EPERM, clone3 with ENOSYS (so the C library falls back to clone); kill on a foreign
    architecture; allow the rest."""
    ld, jeq, jset, ret, jge = 0x20, 0x15, 0x45, 0x06, 0x35
    allow, errno, kill = 0x7FFF0000, 0x00050000, 0x80000000
    code: list = [(ld, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, kill), (ld, 0, 0, 0)]
    if arch == _SYSCALLS["x86_64"][0]:
        code += [(jge, "deny", 0, 0x40000000)]  # the x32 ABI's numbers
    code += [(jeq, "deny", 0, numbers[name]) for name in _DENIED]
    code += [(jeq, "socket", 0, numbers["socket"]), (jeq, "clone", 0, numbers["clone"]),
             (jeq, "nosys", 0, numbers["clone3"]), (ret, 0, 0, allow)]
    labels = {}
    labels["socket"] = len(code)
    code += [(ld, 0, 0, 16), (jeq, "deny", 0, _AF_UNIX), (ret, 0, 0, allow)]
    labels["clone"] = len(code)
    code += [(ld, 0, 0, 16), (jset, "deny", 0, _CLONE_NEW_ANY), (ret, 0, 0, allow)]
    labels["nosys"] = len(code)
    code += [(ret, 0, 0, errno | _ENOSYS)]
    labels["deny"] = len(code)
    code += [(ret, 0, 0, errno | _EPERM)]
    out = bytearray()
    for i, (op, jt, jf, k) in enumerate(code):
        jt = labels[jt] - i - 1 if isinstance(jt, str) else jt
        out += op.to_bytes(2, "little") + bytes([jt, jf]) + k.to_bytes(4, "little")
    return bytes(out)


def _install_seccomp(libc, arch: int, numbers: dict) -> None:
    program = _seccomp_filter(arch, numbers)

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    prog = Program(len(program) // 8, program)
    _check(libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0), "installing the seccomp filter", libc)


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
    _check(libc.prctl(_PR_SET_SECUREBITS, _SECUREBITS_LOCKED_DOWN, 0, 0, 0), "prctl(PR_SET_SECUREBITS)", libc)
    _check(libc.capset(ctypes.byref(_CapHeader(_CAPABILITY_VERSION_3, 0)), (_CapData * 2)()), "capset to nothing", libc)


def _become(libc, uid, parent: int) -> None:
    """Drop to ``uid`` (or every capability as root of a user namespace), then re-arm the parent-death
    signal, which the kernel clears on a uid change, and stop if the parent is already gone."""
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    elif os.geteuid() == 0:
        _drop_capabilities(libc)
    _check(libc.prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)", libc)
    if os.getppid() != parent:
        os._exit(SETUP_FAILED)


def _set_limits(limits: dict, processes: int) -> None:
    for name, value in (("RLIMIT_AS", limits["memory_bytes"]), ("RLIMIT_CPU", limits["cpu_seconds"]),
                        ("RLIMIT_FSIZE", limits["file_size_bytes"]), ("RLIMIT_NPROC", processes),
                        ("RLIMIT_NOFILE", limits["open_files"]), ("RLIMIT_CORE", 0),
                        ("RLIMIT_MSGQUEUE", 1 << 16)):
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

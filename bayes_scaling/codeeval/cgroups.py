"""One cgroup per sandboxed program: CPU, memory and process limits, killed as a whole, its CPU time measured.

cgroup v2 is used where its ``cpu``, ``memory`` and ``pids`` controllers can be given to
children of the evaluator's cgroup: when the evaluator is in the root cgroup (as in most
containers with their own cgroup namespace), when it is alone in its cgroup (a delegated
systemd scope: it moves itself into a leaf ``bayes-scaling-evaluator`` first, as systemd's
delegation rules ask), or when ``BAYES_SCALING_CGROUP`` names a cgroup prepared for it
(controllers enabled, no processes). On a hybrid host whose controllers are bound to v1
hierarchies, the v1 ``cpu``, ``cpuacct``, ``memory`` and ``pids`` hierarchies are used the
same way. The per-program cgroups are created below the evaluator's own, so they never
escape a limit the evaluator is under.

Per program: ``memory.max`` (and no swap), ``pids.max``, ``cpu.max`` of one CPU (v1:
``memory.limit_in_bytes``, ``pids.max``, ``cpu.cfs_quota_us``); programs share the CPU
equally whatever their number of processes. Their common parent weighs as much as one
ordinary process per CPU (``cpu.weight``/``cpu.shares``), not as one process: otherwise, next
to other work on the machine, all the evaluator's programs together would get one share.
The evaluator moves the launcher in (``add``) before sending it its request, so before it forks
anything: every process of the program, its harness included, is inside;
``kill`` ends them all (``cgroup.kill``, or SIGKILL until none is left) and ``cpu_seconds``
is their CPU time. Nothing here needs more than the standard library: run as
``python -I -S cgroups.py janitor PATH...`` it is the janitor, which waits until its stdin
(a pipe from the evaluator) closes - the evaluator exited, or was killed - and then kills
and removes what the evaluator left under PATHs (cgroups and temporary directories).
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time

__all__ = ["CgroupTree", "ProgramCgroup", "detect", "identity", "is_alive", "remove_leftovers", "sweep"]

PREFIX = "bayes-scaling-"
_V1_CONTROLLERS = ("cpu", "cpuacct", "memory", "pids")
_V2_CONTROLLERS = ("cpu", "memory", "pids")
CPU_PERIOD_US = 100_000


def identity(pid: int | None = None) -> str:
    """``<pid>-<start time>`` of a process: names that tell a dead evaluator from a new one with its pid."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}-{_start_time(pid)}"


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return "0"


def is_alive(name: str) -> bool:
    """Whether the process a ``<prefix><pid>-<start>[-...]`` name was made by still runs."""
    parts = name[len(PREFIX):].split("-") if name.startswith(PREFIX) else []
    if len(parts) < 2 or not parts[0].isdigit():
        return True  # not one of ours: leave it alone
    return _start_time(int(parts[0])) == parts[1]


def _read(path: str) -> str:
    with open(path) as handle:
        return handle.read()


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, file system type, super options) of every cgroup mount."""
    found = []
    for line in _read("/proc/self/mountinfo").splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) >= 5 and len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
            mount_point = fields[4].replace("\\040", " ")
            found.append((mount_point, tail[0], set(tail[2].split(","))))
    return found


def _own_cgroups() -> dict[str, str]:
    """Controller (or '' for v2) -> the evaluator's cgroup path, from /proc/self/cgroup."""
    own = {}
    for line in _read("/proc/self/cgroup").splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in (controllers.split(",") if controllers else [""]):
            own[controller] = path
    return own


class ProgramCgroup:
    """The cgroup (one directory per hierarchy) of one program."""

    def __init__(self, tree: "CgroupTree", dirs: dict[str, str]):
        self.tree, self.dirs = tree, dirs

    @property
    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files the launcher writes itself into (one per hierarchy)."""
        return [os.path.join(path, "cgroup.procs") for path in dict.fromkeys(self.dirs.values())]

    def add(self, pid: int) -> None:
        """Move process ``pid`` (before it forks anything) into this cgroup, in every hierarchy."""
        for procs in self.procs_files:
            _write(procs, str(pid))

    def cpu_seconds(self) -> float | None:
        try:
            if self.tree.kind == "v2":
                for line in _read(os.path.join(self.dirs["cpu"], "cpu.stat")).splitlines():
                    if line.startswith("usage_usec "):
                        return int(line.split()[1]) / 1e6
                return None
            return int(_read(os.path.join(self.dirs["cpuacct"], "cpuacct.usage"))) / 1e9
        except (OSError, ValueError):
            return None

    def oom_killed(self) -> bool:
        name = "memory.events" if self.tree.kind == "v2" else "memory.oom_control"
        try:
            for line in _read(os.path.join(self.dirs["memory"], name)).splitlines():
                if line.startswith("oom_kill "):
                    return int(line.split()[1]) > 0
        except (OSError, ValueError):
            pass
        return False

    def kill(self) -> None:
        for path in dict.fromkeys(self.dirs.values()):
            kill_all(path)

    def remove(self) -> bool:
        """Kill what is left and remove the directories; False if one would not go (the janitor retries)."""
        self.kill()
        return all(_remove_cgroup_dir(path) for path in dict.fromkeys(self.dirs.values()))


def kill_all(path: str) -> None:
    """Every process in cgroup ``path`` (and below) killed, and gone from it, before this returns."""
    try:
        _write(os.path.join(path, "cgroup.kill"), "1")  # v2, Linux 5.14+: atomic, forks included
    except OSError:
        pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        pids = _members(path)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.002)


def _members(path: str) -> list[int]:
    pids = []
    for root, dirs, _ in os.walk(path):
        try:
            pids += [int(pid) for pid in _read(os.path.join(root, "cgroup.procs")).split()]
        except (OSError, ValueError):
            pass
    return pids


def _remove_cgroup_dir(path: str) -> bool:
    """rmdir a cgroup and its children (a cgroup is removed with rmdir, never by deleting its files)."""
    if not os.path.isdir(path):
        return True
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            _remove_cgroup_dir(entry.path)
    for _ in range(50):  # the last processes may still be leaving
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            kill_all(path)
            time.sleep(0.002)
    return False


class CgroupTree:
    """Where this evaluator makes its programs' cgroups: one parent directory per hierarchy."""

    def __init__(self, kind: str, parents: dict[str, str]):
        self.kind, self.parents = kind, parents  # controller -> parent directory (v2: one directory for all)
        self._count = 0

    def create(self, memory_bytes: int, processes: int, cpus: float = 1.0) -> ProgramCgroup:
        self._count += 1
        name = f"program-{self._count}-{os.urandom(4).hex()}"
        dirs = {controller: os.path.join(parent, name) for controller, parent in self.parents.items()}
        made = []
        try:
            for path in dict.fromkeys(dirs.values()):
                os.mkdir(path)
                made.append(path)
            quota = int(CPU_PERIOD_US * cpus)
            if self.kind == "v2":
                path = dirs["memory"]
                _write(os.path.join(path, "memory.max"), str(memory_bytes))
                try:
                    _write(os.path.join(path, "memory.swap.max"), "0")
                except OSError:  # no swap accounting on this kernel
                    pass
                _write(os.path.join(path, "pids.max"), str(processes))
                _write(os.path.join(path, "cpu.max"), f"{quota} {CPU_PERIOD_US}")
            else:
                _write(os.path.join(dirs["memory"], "memory.limit_in_bytes"), str(memory_bytes))
                swap = os.path.join(dirs["memory"], "memory.memsw.limit_in_bytes")
                if os.path.exists(swap):
                    _write(swap, str(memory_bytes))
                _write(os.path.join(dirs["pids"], "pids.max"), str(processes))
                _write(os.path.join(dirs["cpu"], "cpu.cfs_period_us"), str(CPU_PERIOD_US))
                _write(os.path.join(dirs["cpu"], "cpu.cfs_quota_us"), str(quota))
        except BaseException:
            for path in reversed(made):
                _remove_cgroup_dir(path)
            raise
        return ProgramCgroup(self, dirs)

    def remove(self) -> None:
        for parent in dict.fromkeys(self.parents.values()):
            _remove_cgroup_dir(parent)


def detect() -> tuple[CgroupTree | None, str]:
    """This evaluator's cgroup tree, made and checked here, or None and why not."""
    try:
        mounts, own = _mounts(), _own_cgroups()
    except OSError as error:
        return None, f"cannot read /proc/self/cgroup or mountinfo ({error})"
    reasons = []
    tree, why = _detect_v2(mounts, own)
    if tree is not None:
        return tree, "v2"
    reasons.append(f"cgroup v2: {why}")
    tree, why = _detect_v1(mounts, own)
    if tree is not None:
        return tree, "v1"
    reasons.append(f"cgroup v1: {why}")
    return None, "; ".join(reasons)


def _detect_v2(mounts, own) -> tuple[CgroupTree | None, str]:
    points = [point for point, kind, _ in mounts if kind == "cgroup2"]
    if not points or "" not in own:
        return None, "no cgroup2 file system mounted"
    base = os.environ.get("BAYES_SCALING_CGROUP")
    if base is None:
        base = os.path.join(points[0], own[""].lstrip("/"))
    try:
        available = set(_read(os.path.join(base, "cgroup.controllers")).split())
    except OSError as error:
        return None, f"cannot read {base}/cgroup.controllers ({error.strerror})"
    missing = [c for c in _V2_CONTROLLERS if c not in available]
    if missing:
        return None, f"controllers {', '.join(missing)} not available in {base} (bound to v1 hierarchies, or not delegated)"
    try:
        if own[""] != "/" and "BAYES_SCALING_CGROUP" not in os.environ:
            members = set(_read(os.path.join(base, "cgroup.procs")).split())
            if members - {str(os.getpid())}:
                return None, (f"{base} has other processes, so no controllers can be enabled below it; run the "
                              "evaluator alone in a delegated cgroup (e.g. systemd-run --scope -p Delegate=yes) or set "
                              "BAYES_SCALING_CGROUP")
            if members:  # alone: move into a leaf, as systemd's delegation asks, to enable the controllers here
                leaf = os.path.join(base, PREFIX + "evaluator")
                os.makedirs(leaf, exist_ok=True)
                _write(os.path.join(leaf, "cgroup.procs"), str(os.getpid()))
        _write(os.path.join(base, "cgroup.subtree_control"), " ".join("+" + c for c in _V2_CONTROLLERS))
        parent = os.path.join(base, PREFIX + identity())
        os.makedirs(parent, exist_ok=True)
        _write(os.path.join(parent, "cgroup.subtree_control"), " ".join("+" + c for c in _V2_CONTROLLERS))
        _write(os.path.join(parent, "cpu.weight"), str(min(100 * (os.cpu_count() or 1), 10_000)))
        tree = CgroupTree("v2", {c: parent for c in ("cpu", "memory", "pids")})
        tree.create(64 << 20, 4).remove()
    except OSError as error:
        return None, f"cannot make cgroups below {base} ({error.strerror or error})"
    sweep([base])
    return tree, ""


def _detect_v1(mounts, own) -> tuple[CgroupTree | None, str]:
    parents = {}
    for controller in _V1_CONTROLLERS:
        point = next((point for point, kind, options in mounts if kind == "cgroup" and controller in options), None)
        if point is None or controller not in own:
            return None, f"no v1 hierarchy with the {controller} controller"
        parents[controller] = os.path.join(point, own[controller].lstrip("/"))
    bases = list(dict.fromkeys(parents.values()))
    name = PREFIX + identity()
    tree = CgroupTree("v1", {c: os.path.join(base, name) for c, base in parents.items()})
    try:
        for parent in dict.fromkeys(tree.parents.values()):
            os.makedirs(parent, exist_ok=True)
        _write(os.path.join(tree.parents["cpu"], "cpu.shares"), str(1024 * (os.cpu_count() or 1)))
        tree.create(64 << 20, 4).remove()
    except OSError as error:
        tree.remove()
        return None, f"cannot make cgroups below {', '.join(bases)} ({error.strerror or error})"
    sweep(bases)
    return tree, ""


def sweep(bases) -> None:
    """Remove what dead evaluators left in ``bases`` (cgroup parents or temporary directories)."""
    for base in bases:
        try:
            entries = list(os.scandir(base))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(PREFIX) and entry.is_dir(follow_symlinks=False) and not is_alive(entry.name):
                remove_leftovers(entry.path)


def remove_leftovers(path: str) -> None:
    """A cgroup directory (killed, then rmdir'ed) or an ordinary directory (removed), whichever ``path`` is."""
    if os.path.exists(os.path.join(path, "cgroup.procs")):
        _remove_cgroup_dir(path)
    else:
        shutil.rmtree(path, ignore_errors=True)


def _janitor(paths: list[str]) -> None:
    """Wait for stdin to close (the evaluator ended, however it ended), then clean ``paths`` up."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for the evaluator
        while os.read(0, 4096):
            pass
    finally:
        for path in paths:
            remove_leftovers(path)


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "janitor":
    _janitor(sys.argv[2:])

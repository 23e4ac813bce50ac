"""The cgroup layer's files, against a fake cgroup file system (a plain directory).

The real hierarchies are exercised by the sandbox and red-team tests on whichever
cgroup version the machine has; these pin what is written for cgroup v2 even on a host
whose controllers are bound to v1 (as on the development machine), and the delegation
rules: controllers are enabled only below a cgroup the evaluator has to itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from bayes_scaling.codeeval import cgroups


def fake_v2(tmp_path: Path, procs: str = "") -> Path:
    base = tmp_path / "user.slice" / "session.scope"
    base.mkdir(parents=True)
    (base / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids\n")
    (base / "cgroup.procs").write_text(procs)
    return base


def test_a_v2_program_cgroup_gets_memory_pids_and_one_cpu(tmp_path):
    parent = tmp_path / "bayes-scaling-1-2"
    parent.mkdir()
    tree = cgroups.CgroupTree("v2", {c: str(parent) for c in ("cpu", "memory", "pids")})
    program = tree.create(1 << 30, 20)
    path = Path(program.dirs["memory"])
    assert path.parent == parent and path.name.startswith("program-1-")
    assert (path / "memory.max").read_text() == str(1 << 30)
    assert (path / "memory.swap.max").read_text() == "0"
    assert (path / "pids.max").read_text() == "20"
    assert (path / "cpu.max").read_text() == "100000 100000"
    assert program.procs_files == [str(path / "cgroup.procs")]  # one hierarchy: one file to join
    program.add(4242)
    assert (path / "cgroup.procs").read_text() == "4242"
    (path / "cgroup.procs").write_text("")
    (path / "cpu.stat").write_text("usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n")
    (path / "memory.events").write_text("low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n")
    assert program.cpu_seconds() == 1.5
    assert program.oom_killed()
    program.kill()
    assert (path / "cgroup.kill").read_text() == "1"


def test_v2_is_used_below_a_delegated_cgroup_named_by_the_environment(tmp_path, monkeypatch):
    base = fake_v2(tmp_path, procs="1\n2\n")  # not alone, but prepared for us: that is what the variable says
    monkeypatch.setenv("BAYES_SCALING_CGROUP", str(base))
    tree, why = cgroups._detect_v2([(str(tmp_path), "cgroup2", set())], {"": "/somewhere/else"})
    assert tree is not None and tree.kind == "v2", why
    parent = Path(tree.parents["memory"])
    assert parent.parent == base and parent.name == cgroups.PREFIX + cgroups.identity()
    assert (base / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"
    assert (parent / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"
    assert (parent / "cpu.weight").read_text() == str(min(100 * (os.cpu_count() or 1), 10_000))


def test_v2_moves_an_evaluator_alone_in_its_cgroup_into_a_leaf_first(tmp_path, monkeypatch):
    monkeypatch.delenv("BAYES_SCALING_CGROUP", raising=False)
    base = fake_v2(tmp_path, procs=f"{os.getpid()}\n")
    tree, why = cgroups._detect_v2([(str(tmp_path), "cgroup2", set())], {"": "/user.slice/session.scope"})
    assert tree is not None, why
    assert (base / "bayes-scaling-evaluator" / "cgroup.procs").read_text() == str(os.getpid())


def test_v2_is_refused_beside_other_processes_and_without_the_controllers(tmp_path, monkeypatch):
    monkeypatch.delenv("BAYES_SCALING_CGROUP", raising=False)
    base = fake_v2(tmp_path, procs=f"{os.getpid()}\n1\n")
    tree, why = cgroups._detect_v2([(str(tmp_path), "cgroup2", set())], {"": "/user.slice/session.scope"})
    assert tree is None and "has other processes" in why and "BAYES_SCALING_CGROUP" in why
    (base / "cgroup.controllers").write_text("hugetlb\n")  # a hybrid host: cpu, memory, pids are v1's
    tree, why = cgroups._detect_v2([(str(tmp_path), "cgroup2", set())], {"": "/user.slice/session.scope"})
    assert tree is None and "controllers cpu, memory, pids not available" in why


def test_leftovers_of_a_dead_evaluator_are_swept_and_a_live_ones_kept(tmp_path):
    dead = tmp_path / f"{cgroups.PREFIX}999999999-1-sandbox"
    alive = tmp_path / f"{cgroups.PREFIX}{cgroups.identity()}-sandbox"
    other = tmp_path / "someone-else"
    for path in (dead, alive, other):
        (path / "program-1").mkdir(parents=True)
    cgroups.sweep([str(tmp_path)])
    assert not dead.exists() and alive.exists() and other.exists()

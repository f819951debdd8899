"""Default thread counts: physical performance cores for decoding, logical cores for prompts."""

from __future__ import annotations

import sys

import pytest

from app.engine import threads


def test_parse_cpu_list():
    assert threads.parse_cpu_list("0-3,8,10-11\n") == {0, 1, 2, 3, 8, 10, 11}


def write_topology(root, cpu: int, core: int, package: int = 0) -> None:
    folder = root / f"cpu{cpu}" / "topology"
    folder.mkdir(parents=True)
    (folder / "core_id").write_text(f"{core}\n")
    (folder / "physical_package_id").write_text(f"{package}\n")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sysfs layout")
def test_a_hybrid_cpu_counts_its_performance_cores_once_each(tmp_path):
    # 6 performance cores with 2 threads each (cpus 0-11), 8 efficiency cores (12-19).
    sys_cpu = tmp_path / "cpu"
    for cpu in range(12):
        write_topology(sys_cpu, cpu, core=cpu // 2)
    for cpu in range(12, 20):
        write_topology(sys_cpu, cpu, core=100 + cpu)
    hybrid = tmp_path / "cpu_core_cpus"
    hybrid.write_text("0-11\n")
    count, source = threads.performance_cores(hybrid_cpus=hybrid, sys_cpu=sys_cpu, usable=set(range(20)))
    assert (count, source) == (6, "physical performance cores (hybrid CPU)")
    # Pinned to a few CPUs: only those count.
    assert threads.performance_cores(hybrid_cpus=hybrid, sys_cpu=sys_cpu, usable={0, 1, 2, 13})[0] == 2


def test_without_a_hybrid_cpu_the_physical_cores_are_used(tmp_path, monkeypatch):
    monkeypatch.setattr(threads.psutil, "cpu_count", lambda logical=True: 16 if logical else 8)
    count, source = threads.performance_cores(hybrid_cpus=tmp_path / "absent", usable=set(range(16)))
    assert (count, source) == (8, "physical cores")
    assert threads.performance_cores(hybrid_cpus=tmp_path / "absent", usable={0, 1, 2})[0] == 3


def test_plan_uses_settings_when_given_and_all_logical_cores_for_prompts(monkeypatch):
    monkeypatch.setattr(threads, "performance_cores", lambda: (4, "physical cores"))
    monkeypatch.setattr(threads, "logical_cpus", lambda usable=None: 8)
    assert threads.plan_threads() == threads.ThreadPlan(4, 8, "physical cores")
    assert threads.plan_threads(2, 3) == threads.ThreadPlan(2, 3, "settings")
    assert threads.plan_threads(6).batch == 8

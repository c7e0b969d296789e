# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit and property tests of the pure sizing logic (plugins/module_utils/_sizing.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.modwsgi.fleet.plugins.module_utils import _sizing
from ansible_collections.modwsgi.fleet.plugins.module_utils._sizing import (
    APACHE_THREADS_PER_CHILD,
    DEFAULT_OVERHEAD_MS,
    LISTEN_BACKLOG_RANGE,
    MAX_AUTO_THREADS,
    MAX_OVERHEAD_MS,
    MAX_PROCESSES,
    MAX_THREADS,
    OVERHEAD_MS,
    QUEUE_TIMEOUT_RANGE,
    REQUEST_TIMEOUT_RANGE,
    Host,
    SizingError,
    contended_ms,
    gather_host,
    size_apache,
    size_projects,
)

HOST = Host(cpus=8, memory_mb=16384)
PROPERTY = settings(deadline=None, max_examples=200)


def project(**overrides: Any) -> dict[str, Any]:
    """A valid project; keys set to ... are removed."""
    base: dict[str, Any] = {"name": "app", "cpu_ms": 10, "wait_ms": 40, "rss_mb": 100, "peak_rps": 100}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def sized(*projects: dict[str, Any], host: Any = HOST, reserve: int = 1024,
          overhead: float = DEFAULT_OVERHEAD_MS) -> dict[str, Any]:
    return size_projects(list(projects), host, reserve, 0, overhead).to_dict()


def expect_error(message: str, *projects: dict[str, Any], host: Any = HOST, reserve: Any = 1024) -> str:
    with pytest.raises(SizingError) as info:
        size_projects(list(projects), host, reserve)
    assert str(info.value) == message
    return str(info.value)


# --- Validation --------------------------------------------------------------

NAME_RULE = "must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "keystone", "cpu_ms": -3}, "project 'keystone': field 'cpu_ms': must be > 0 (got -3)"),
        ({"cpu_ms": 0}, "project 'app': field 'cpu_ms': must be > 0 (got 0)"),
        ({"cpu_ms": "8"}, "project 'app': field 'cpu_ms': must be a finite number (got '8')"),
        ({"cpu_ms": math.nan}, "project 'app': field 'cpu_ms': must be a finite number (got nan)"),
        ({"cpu_ms": math.inf}, "project 'app': field 'cpu_ms': must be a finite number (got inf)"),
        ({"cpu_ms": True}, "project 'app': field 'cpu_ms': must be a finite number (got True)"),
        ({"cpu_ms": ...}, "project 'app': field 'cpu_ms': is required"),
        ({"cpu_ms": None}, "project 'app': field 'cpu_ms': is required"),
        ({"wait_ms": -1}, "project 'app': field 'wait_ms': must be >= 0 (got -1)"),
        ({"wait_ms": ...}, "project 'app': field 'wait_ms': is required"),
        ({"rss_mb": 0}, "project 'app': field 'rss_mb': must be >= 1 (got 0)"),
        ({"rss_mb": -5}, "project 'app': field 'rss_mb': must be >= 1 (got -5)"),
        ({"rss_mb": 1.5}, "project 'app': field 'rss_mb': must be an integer (got 1.5)"),
        ({"peak_rps": -1}, "project 'app': field 'peak_rps': must be >= 0 (got -1)"),
        ({"weight": 0}, "project 'app': field 'weight': must be > 0 (got 0)"),
        ({"weight": -2.5}, "project 'app': field 'weight': must be > 0 (got -2.5)"),
        ({"threads": MAX_THREADS + 1}, f"project 'app': field 'threads': must be <= {MAX_THREADS} (got 251)"),
        ({"threads": 0}, "project 'app': field 'threads': must be >= 1 (got 0)"),
        ({"threads": 2.5}, "project 'app': field 'threads': must be an integer (got 2.5)"),
        ({"processes": 0}, "project 'app': field 'processes': must be >= 1 (got 0)"),
        ({"processes": -1}, "project 'app': field 'processes': must be >= 1 (got -1)"),
        ({"processes": MAX_PROCESSES + 1}, "project 'app': field 'processes': must be <= 256 (got 257)"),
        ({"processes": "4"}, "project 'app': field 'processes': must be an integer (got '4')"),
        ({"processes": True}, "project 'app': field 'processes': must be an integer (got True)"),
        ({"thread_safe": "yes"}, "project 'app': field 'thread_safe': must be a boolean (got 'yes')"),
        (
            {"thread_safe": False, "threads": 4},
            "project 'app': field 'threads': must be 1 when thread_safe is false (got 4)",
        ),
        ({"name": "bad name"}, f"project #1: field 'name': {NAME_RULE} (got 'bad name')"),
        ({"name": "-app"}, f"project #1: field 'name': {NAME_RULE} (got '-app')"),
        ({"name": "app\n"}, f"project #1: field 'name': {NAME_RULE} (got 'app\\n')"),
        ({"name": "a" * 65}, f"project #1: field 'name': {NAME_RULE} (got '{'a' * 65}')"),
        ({"name": 7}, f"project #1: field 'name': {NAME_RULE} (got 7)"),
        ({"name": ...}, "project #1: field 'name': is required"),
    ],
)
def test_bad_field_names_project_and_field(overrides: dict[str, Any], message: str) -> None:
    expect_error(message, project(**overrides))


def test_unknown_field_is_named() -> None:
    message = str(pytest.raises(SizingError, size_projects, [project(path="/srv/app")], HOST).value)
    assert message.startswith("project 'app': field 'path': unknown field; known: name, thread_safe, cpu_ms")


def test_error_names_the_right_entry_by_position() -> None:
    expect_error(f"project #2: field 'name': {NAME_RULE} (got '')", project(name="ok"), project(name=""))
    expect_error("project #2: must be a dict (got str)", project(name="ok"), "nope")


def test_duplicate_names_fail() -> None:
    expect_error("project 'app': field 'name': duplicate project name", project(), project(cpu_ms=3))


@pytest.mark.parametrize(
    ("host", "reserve", "message"),
    [
        ({"cpus": 0, "memory_mb": 4096}, 1024, "host: field 'cpus': must be >= 1 (got 0)"),
        ({"cpus": 2.5, "memory_mb": 4096}, 1024, "host: field 'cpus': must be an integer (got 2.5)"),
        ({"memory_mb": 4096}, 1024, "host: field 'cpus': is required"),
        (
            {"cpus": 2, "memory_mb": 1024},
            1024,
            "host: field 'memory_mb': must be > reserve_memory_mb (1024) (got 1024)",
        ),
        ({"cpus": 2, "memory_mb": 0}, 0, "host: field 'memory_mb': must be >= 1 (got 0)"),
        ({"cpus": 2, "memory_mb": 4096}, -1, "field 'reserve_memory_mb': must be >= 0 (got -1)"),
        ({"cpus": 2, "memory_mb": 4096, "swap": 1}, 0, "host: field 'swap': unknown field; known: cpus, memory_mb"),
        (Host(cpus=0, memory_mb=4096), 0, "host: field 'cpus': must be >= 1 (got 0)"),
        ([2, 4096], 0, "field 'host': must be a dict (got list)"),
    ],
)
def test_bad_host(host: Any, reserve: Any, message: str) -> None:
    expect_error(message, project(), host=host, reserve=reserve)


def test_projects_must_be_a_list() -> None:
    with pytest.raises(SizingError, match=r"^field 'projects': must be a list \(got dict\)$"):
        size_projects(project(), HOST)  # type: ignore[arg-type]


def test_accepted_edge_values() -> None:
    """wait_ms 0, peak_rps 0, integral floats and None (= not given) are all fine."""
    result = sized(project(wait_ms=0, peak_rps=0, processes=2.0, threads=None, weight=None, thread_safe=None))
    app = result["projects"]["app"]
    assert (app["processes"], app["threads"]) == (2, 1)
    assert isinstance(app["processes"], int)


# --- Threads and processes ------------------------------------------------------


@pytest.mark.parametrize(
    ("cpu_ms", "wait_ms", "threads"),
    [
        (10, 0, 1),  # pure CPU: one thread, processes do the work
        (10, 10, 2),  # half the time waiting: 1/0.5 = 2
        (8, 40, 6),  # keystone: 48 / 8 = 6
        (30, 10, 2),  # 40 / 30 = 1.33, rounded up
        (0.1, 0.2, 3),  # 0.3 / 0.1 is 2.9999999999999996 in floats: still 3
        (1, 14.5, 16),  # 15.5 -> 16, exactly the cap
        (1, 99, MAX_AUTO_THREADS),  # 100 capped at 16
    ],
)
def test_threads_follow_cpu_fraction(cpu_ms: float, wait_ms: float, threads: int) -> None:
    assert sized(project(cpu_ms=cpu_ms, wait_ms=wait_ms))["projects"]["app"]["threads"] == threads


def test_cpu_bound_gets_processes_io_bound_gets_threads() -> None:
    result = sized(
        project(name="cpu", cpu_ms=20, wait_ms=0, peak_rps=300),
        project(name="io", cpu_ms=2, wait_ms=98, peak_rps=300),
    )
    cpu, io = result["projects"]["cpu"], result["projects"]["io"]
    assert cpu["threads"] == 1 and cpu["mode"] == "prefork"
    # 300 rps x 20 ms = 6 CPUs busy, x1.5 = 9, but only 8 CPUs: one process per CPU.
    assert cpu["processes"] == HOST.cpus
    assert io["threads"] == MAX_AUTO_THREADS
    assert io["threads"] > cpu["threads"] and io["processes"] < cpu["processes"]


def test_worked_example_from_docs() -> None:
    """docs/sizing.md works this one out by hand."""
    result = sized(project(name="keystone", cpu_ms=8, wait_ms=40, rss_mb=120, peak_rps=150))
    keystone = result["projects"]["keystone"]
    # f = 8/48; threads = ceil(48/8) = 6; busy = 150 x 0.048 = 7.2; concurrency = ceil(10.8) = 11;
    # each request costs 8 + 0.4 (Apache and mod_wsgi) = 8.4 ms CPU: 150 rps are below 8 CPUs x 1000 / 8.4
    # = 952.38, and need 150 x 0.0084 = 1.26 CPUs of the host, 150 x 0.008 = 1.2 of them in the app;
    # processes = max(ceil(11/6), ceil(1.2 x 1.5 = 1.8)) = 2, below the cap of 8 CPUs / 1 CPU per process.
    assert (keystone["threads"], keystone["processes"], keystone["capacity"]) == (6, 2, 12)
    assert (keystone["mode"], keystone["multiprocess"], keystone["multithread"]) == ("worker", True, True)
    assert keystone["model"]["concurrency"] == 11 and keystone["rss_mb_total"] == 240
    # 48 ms: queue 100 x 0.048 = 4.8 -> 5 s; request 250 x 0.048 = 12 -> 60 s (minimum);
    # backlog 12 / 0.048 x 5 = 1250.
    assert (keystone["queue_timeout"], keystone["request_timeout"], keystone["listen_backlog"]) == (5, 60, 1250)
    # Apache: 12 + max(25, 3) = 37 -> 2 children of 25 = 50 workers, ServerLimit 2 x 2.
    assert result["apache"] == {"daemon_capacity": 12, "server_limit": 4, "threads_per_child": 25,
                                "max_request_workers": 50}
    assert keystone["model"]["cpu_demand"] == 1.26 and result["overhead_ms"] == 0.4
    assert result["explanation"][0] == ("host: 8 CPUs (given), 16384 MB (given); budget 15360 MB = 16384 - 1024"
                                        " reserved; Apache and mod_wsgi cost 0.4 ms CPU per request")
    assert result["explanation"][1] == (
        "keystone: CPU 17% (8 of 48 ms), 8 + 0.4 ms CPU per request, 150 rps (peak_rps) x 48 ms = 7.2 busy,"
        " x1.5 = 11 concurrent; threads 6 (ceil(48/8) = 6, max 16);"
        " processes 2 (max(11/6 -> 2, CPU 1.2 x1.5 -> 2), cap 8 = 8 CPUs / 1 CPU per process);"
        " 2 processes x 6 threads = capacity 12, 2 x 120 MB = 240 MB, mode worker"
    )
    assert result["sizing_warnings"] == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # (processes, threads, processes_explicit, multiprocess, multithread, mode)
        ({"processes": 1, "threads": 1}, (1, 1, True, True, False, "prefork")),
        ({"processes": 1, "threads": 4}, (1, 4, True, True, True, "winnt")),
        ({"processes": 3, "threads": 1}, (3, 1, True, True, False, "prefork")),
        ({"processes": 3, "threads": 4}, (3, 4, True, True, True, "worker")),
        ({"cpu_ms": 10, "wait_ms": 0, "peak_rps": 0}, (1, 1, False, False, False, "prefork")),
        ({"cpu_ms": 8, "wait_ms": 40, "peak_rps": 1}, (1, 6, False, False, True, "winnt")),
        ({"cpu_ms": 8, "wait_ms": 40, "peak_rps": 150}, (2, 6, True, True, True, "worker")),
        ({"cpu_ms": 10, "wait_ms": 0, "peak_rps": 300}, (5, 1, True, True, False, "prefork")),
        ({"thread_safe": False, "threads": 1, "processes": 1}, (1, 1, True, True, False, "prefork")),
    ],
)
def test_mode_and_environ_flags(overrides: dict[str, Any], expected: tuple[Any, ...]) -> None:
    app = sized(project(**overrides))["projects"]["app"]
    keys = ("processes", "threads", "processes_explicit", "multiprocess", "multithread", "mode")
    assert tuple(app[k] for k in keys) == expected


def test_thread_unsafe_gets_one_thread_even_when_io_bound() -> None:
    app = sized(project(thread_safe=False, cpu_ms=1, wait_ms=99, peak_rps=200))["projects"]["app"]
    assert app["threads"] == 1 and app["multithread"] is False
    # 200 rps x 100 ms = 20 busy, x1.5 = 30 concurrent, one per process.
    assert app["processes"] == 30


def test_peak_rps_omitted_uses_weight_share_of_cpus() -> None:
    host = Host(cpus=6, memory_mb=65536)
    result = sized(
        project(name="big", cpu_ms=10, wait_ms=0, peak_rps=None, weight=2),
        project(name="small", cpu_ms=10, wait_ms=0, peak_rps=..., weight=1),
        host=host,
    )
    # Each request costs 10 + 0.4 = 10.4 ms CPU. big: share 6 x 2/3 = 4 CPUs, 4000 / 10.4 = 384.615 rps;
    # small: share 2 CPUs, 2000 / 10.4 = 192.308 rps. Either's CPU demand is its share again.
    # When both are busy, each runs at its share of every CPU: a request's 10 ms of CPU takes 10 x 3/2 = 15 ms
    # for big, 10 x 3/1 = 30 ms for small (wait_ms 0).
    for name, weight, rps, busy_ms in (("big", 2, 384.615, 15), ("small", 1, 192.308, 30)):
        share = host.cpus * weight / 3
        model = result["projects"][name]["model"]
        assert model["rps"] == rps == round(share * 1000 / 10.4, 3)
        assert model["rps_source"] == "share %d of 6 CPUs" % share
        assert model["cpu_demand"] == pytest.approx(share)
        assert model["busy_ms"] == busy_ms
        # big: busy 384.615 x 0.015 = 5.769; small: 192.308 x 0.030 = 5.769 (both 6 CPUs x 10 / 10.4);
        # x1.5 = 8.65 -> 9 concurrent, 1 thread each: 9 processes, cap 6 CPUs / 1 CPU per process = 6.
        assert model["busy"] == 5.769 and model["concurrency"] == 9
        assert result["projects"][name]["processes"] == 6
    assert result["sizing_warnings"] == []


def test_peak_rps_beyond_the_host_is_capped_with_a_warning() -> None:
    app = sized(project(cpu_ms=20, wait_ms=0, peak_rps=1000))
    # Each request costs 20 + 0.4 = 20.4 ms CPU: 1000 rps need 20.4 CPUs; 8 CPUs serve 8000 / 20.4 = 392.157 rps.
    assert app["projects"]["app"]["model"]["rps"] == 392.157 == round(HOST.cpus * 1000 / 20.4, 3)
    assert app["projects"]["app"]["model"]["rps_source"] == "all CPUs"
    # busy 392.157 x 0.02 = 7.84, x1.5 -> 12 concurrent, one thread each; the cap is 8 CPUs / 1 CPU per process.
    assert app["projects"]["app"]["processes"] == HOST.cpus
    assert "app: peak_rps 1000 needs 20.4 CPUs, the host has 8: sized for 392.16 rps" in app["sizing_warnings"]


def test_cpu_overcommit_across_projects_warns() -> None:
    result = sized(project(name="a", cpu_ms=10, peak_rps=500), project(name="b", cpu_ms=10, peak_rps=400))
    # (500 + 400) rps x (10 + 0.4) ms = 9.36 CPUs: a 5.2, b 4.16.
    assert [result["projects"][name]["model"]["cpu_demand"] for name in ("a", "b")] == [5.2, 4.16]
    assert "cpu: the projects together need 9.36 CPUs at their peaks, the host has 8" in result["sizing_warnings"]


def test_explicit_capacity_below_load_warns() -> None:
    result = sized(project(peak_rps=200, processes=1, threads=2))
    assert result["projects"]["app"]["capacity"] == 2
    assert "app: capacity 2 is below the 10 requests busy at 200 rps: requests will queue" in result["sizing_warnings"]


# --- Memory ----------------------------------------------------------------------


def test_scaled_down_by_weight_within_budget() -> None:
    host = Host(cpus=16, memory_mb=3024)  # budget 2000 MB
    heavy = project(name="heavy", cpu_ms=10, wait_ms=0, rss_mb=100, peak_rps=None, weight=3)
    light = project(name="light", cpu_ms=10, wait_ms=0, rss_mb=100, peak_rps=None, weight=1)
    result = sized(heavy, light, host=host)
    heavy_p, light_p = (result["projects"][n]["processes"] for n in ("heavy", "light"))
    wanted = {n: result["projects"][n]["model"]["processes_wanted"] for n in ("heavy", "light")}
    assert sum(result["projects"][n]["rss_mb_total"] for n in ("heavy", "light")) <= result["budget_mb"]
    assert heavy_p < wanted["heavy"] and light_p < wanted["light"]
    # Equal rss: each process per unit of weight; 20 processes fit, 3:1 -> 15 and 5.
    assert (heavy_p, light_p) == (15, 5)
    warning = [w for w in result["sizing_warnings"] if w.startswith("memory:")]
    assert warning == [
        f"memory: the projects want {(wanted['heavy'] + wanted['light']) * 100} MB, the budget is 2000 MB;"
        f" processes scaled down by weight: heavy {wanted['heavy']} -> 15, light {wanted['light']} -> 5"
    ]


def test_explicit_processes_are_kept_while_others_shrink() -> None:
    host = Host(cpus=16, memory_mb=2024)  # budget 1000 MB
    pinned = project(name="pinned", rss_mb=200, processes=3, threads=2)
    auto = project(name="auto", cpu_ms=10, wait_ms=0, rss_mb=100, peak_rps=None)
    result = sized(pinned, auto, host=host)
    assert result["projects"]["pinned"]["processes"] == 3
    assert result["projects"]["pinned"]["threads"] == 2
    assert result["projects"]["auto"]["processes"] == (1000 - 600) // 100


def test_fails_when_one_process_each_does_not_fit() -> None:
    host = Host(cpus=4, memory_mb=1500)  # budget 476 MB
    projects = [project(name="a", rss_mb=300), project(name="b", rss_mb=250, processes=1)]
    message = expect_error(
        "even one process per project needs 550 MB, more than the budget of 476 MB:"
        " a (1 x 300 MB), b (1 x 250 MB); short by 74 MB",
        *projects,
        host=host,
    )
    assert str(550 - (1500 - 1024)) in message


def test_fails_when_explicit_processes_alone_do_not_fit() -> None:
    host = Host(cpus=4, memory_mb=2048)  # budget 1024 MB
    expect_error(
        "explicit processes alone need 1200 MB, more than the budget of 1024 MB:"
        " pinned (4 x 300 MB); short by 176 MB",
        project(name="pinned", rss_mb=300, processes=4),
        project(name="auto", rss_mb=10),
        host=host,
    )


# --- Timeouts and Apache --------------------------------------------------------------


@pytest.mark.parametrize(
    ("cpu_ms", "wait_ms", "queue_timeout", "request_timeout"),
    [
        (8, 40, 5, 60),  # 48 ms: both at their minimum
        (50, 150, 20, 60),  # 200 ms: 20 s queue, 50 s -> 60 s request
        (100, 900, 45, 250),  # 1 s: 100 s -> 45 s queue, 250 s request
        (1000, 4000, 45, 600),  # 5 s: both at their maximum
    ],
)
def test_timeouts_scale_with_latency(cpu_ms: float, wait_ms: float, queue_timeout: int, request_timeout: int) -> None:
    app = sized(project(cpu_ms=cpu_ms, wait_ms=wait_ms, peak_rps=1))["projects"]["app"]
    assert (app["queue_timeout"], app["request_timeout"]) == (queue_timeout, request_timeout)
    seconds = (cpu_ms + wait_ms) / 1000
    drained = math.ceil(round(app["capacity"] / seconds * queue_timeout, 6))
    assert app["listen_backlog"] == min(max(drained, LISTEN_BACKLOG_RANGE[0]), LISTEN_BACKLOG_RANGE[1])


@pytest.mark.parametrize(
    ("capacity", "children"),
    [
        (0, 1),  # one child for everything else
        (12, 2),  # 12 + 25 = 37
        (100, 5),  # 100 + 25 = 125: exactly 5 children
        (101, 6),  # 101 + 26 = 127
        (400, 20),  # 400 + 100 = 500
    ],
)
def test_apache_covers_daemon_capacity(capacity: int, children: int) -> None:
    apache = size_apache(capacity)
    assert apache.max_request_workers == children * APACHE_THREADS_PER_CHILD
    assert apache.server_limit == 2 * children
    assert apache.max_request_workers >= capacity + APACHE_THREADS_PER_CHILD


# --- Host facts ----------------------------------------------------------------------


def write_tree(root: Path, files: dict[str, str]) -> str:
    for path, text in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text + "\n", encoding="utf-8")
    return str(root)


MEMINFO = "MemTotal:       16303428 kB\nMemFree:         1234 kB"
MEMINFO_MB = 16303428 // 1024


def test_gather_without_cgroups(tmp_path: Path) -> None:
    host = gather_host(write_tree(tmp_path, {"/proc/meminfo": MEMINFO}), affinity=12)
    assert host == Host(12, MEMINFO_MB, "gathered", "sched_getaffinity", "/proc/meminfo MemTotal")


def test_gather_cgroup_v2_limits_of_the_cgroup_and_its_parents(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "/proc/meminfo": MEMINFO,
            "/proc/self/cgroup": "0::/system.slice/apache2.service",
            "/sys/fs/cgroup/system.slice/apache2.service/cpu.max": "150000 100000",
            "/sys/fs/cgroup/system.slice/apache2.service/memory.max": str(4096 * 1024 * 1024),
            "/sys/fs/cgroup/system.slice/memory.max": str(3000 * 1024 * 1024 + 5),
            "/sys/fs/cgroup/system.slice/cpu.max": "max 100000",
        },
    )
    host = gather_host(root, affinity=8)
    assert (host.cpus, host.cpus_from) == (2, "cgroup v2 cpu.max")  # 1.5 CPUs, rounded up
    assert (host.memory_mb, host.memory_from) == (3000, "cgroup v2 memory.max")


def test_gather_cgroup_v2_unlimited(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "/proc/meminfo": MEMINFO,
            "/proc/self/cgroup": "0::/",
            "/sys/fs/cgroup/cpu.max": "max 100000",
            "/sys/fs/cgroup/memory.max": "max",
        },
    )
    assert gather_host(root, affinity=3) == Host(3, MEMINFO_MB, "gathered", "sched_getaffinity", "/proc/meminfo MemTotal")


def test_gather_cgroup_v1(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "/proc/meminfo": MEMINFO,
            "/proc/self/cgroup": "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc",
            "/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "250000",
            "/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000",
            "/sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_quota_us": "-1",
            "/sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_period_us": "100000",
            "/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": str(512 * 1024 * 1024),
            "/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712",
        },
    )
    host = gather_host(root, affinity=16)
    assert (host.cpus, host.cpus_from) == (3, "cgroup v1 cpu.cfs_quota_us")
    assert (host.memory_mb, host.memory_from) == (512, "cgroup v1 memory.limit_in_bytes")


def test_gather_cgroup_v1_unlimited_is_ignored(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "/proc/meminfo": MEMINFO,
            "/proc/self/cgroup": "3:memory:/\n2:cpu,cpuacct:/",
            "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1",
            "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000",
            "/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712",
        },
    )
    assert gather_host(root, affinity=4) == Host(4, MEMINFO_MB, "gathered", "sched_getaffinity", "/proc/meminfo MemTotal")


def test_gather_in_a_container_without_cgroup_namespace(tmp_path: Path) -> None:
    """/proc/self/cgroup names the host's path; the container sees its own cgroup at the mount root."""
    root = write_tree(
        tmp_path,
        {
            "/proc/meminfo": MEMINFO,
            "/proc/self/cgroup": "0::/machine.slice/libpod-abc.scope",
            "/sys/fs/cgroup/cpu.max": "100000 100000",
            "/sys/fs/cgroup/memory.max": str(1024 * 1024 * 1024),
        },
    )
    host = gather_host(root, affinity=8)
    assert (host.cpus, host.memory_mb) == (1, 1024)


def test_gather_affinity_below_quota_wins(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {"/proc/meminfo": MEMINFO, "/proc/self/cgroup": "0::/", "/sys/fs/cgroup/cpu.max": "400000 100000"},
    )
    host = gather_host(root, affinity=2)
    assert (host.cpus, host.cpus_from) == (2, "sched_getaffinity")


def test_gather_without_meminfo_fails(tmp_path: Path) -> None:
    with pytest.raises(SizingError, match="cannot read MemTotal"):
        gather_host(str(tmp_path), affinity=1)


def test_gather_on_this_machine() -> None:
    host = gather_host()
    assert 1 <= host.cpus <= _sizing.affinity_cpus()
    assert 0 < host.memory_mb and host.source == "gathered"


# --- Properties ----------------------------------------------------------------------

NAMES = st.text("abcdefghij", min_size=1, max_size=3).map(lambda suffix: "p-" + suffix)
THREAD_SAFE = st.sampled_from([True, False, None, ...])
CPU_MS = st.one_of(st.integers(1, 400), st.floats(0.05, 400))
WAIT_MS = st.one_of(st.just(0), st.integers(0, 2000), st.floats(0, 2000))
RSS_MB = st.integers(10, 3000)
PEAK_RPS = st.one_of(st.just(...), st.none(), st.floats(0, 5000), st.integers(0, 500))
WEIGHT = st.one_of(st.just(...), st.floats(0.1, 10))
PROCESSES = st.one_of(st.just(...), st.integers(1, 12))
THREADS = st.one_of(st.just(...), st.integers(1, 40))
ONE_THREAD = st.sampled_from([..., 1])


@st.composite
def a_project(draw: st.DrawFn, name: str) -> dict[str, Any]:
    """A valid project dict; optional keys sometimes missing, sometimes None."""
    thread_safe = draw(THREAD_SAFE)
    raw = {
        "name": name,
        "thread_safe": thread_safe,
        "cpu_ms": draw(CPU_MS),
        "wait_ms": draw(WAIT_MS),
        "rss_mb": draw(RSS_MB),
        "peak_rps": draw(PEAK_RPS),
        "weight": draw(WEIGHT),
        "processes": draw(PROCESSES),
        "threads": draw(ONE_THREAD if thread_safe is False else THREADS),
    }
    return {k: v for k, v in raw.items() if v is not ...}


@st.composite
def a_fleet(draw: st.DrawFn, min_size: int = 1) -> tuple[list[dict[str, Any]], Host, int]:
    names = draw(st.lists(NAMES, min_size=min_size, max_size=5, unique=True))
    projects = [draw(a_project(name)) for name in names]
    reserve = draw(st.integers(0, 2048))
    host = Host(cpus=draw(st.integers(1, 64)), memory_mb=draw(st.integers(reserve + 1, 65536)))
    return projects, host, reserve


def minimum_mb(projects: list[dict[str, Any]]) -> int:
    return sum(p["rss_mb"] * (p.get("processes") or 1) for p in projects)


def try_size(projects: list[dict[str, Any]], host: Host, reserve: int,
             overhead: float = DEFAULT_OVERHEAD_MS) -> dict[str, Any] | str:
    try:
        return size_projects(projects, host, reserve, 0, overhead).to_dict()
    except SizingError as exc:
        return str(exc)


@PROPERTY
@given(a_fleet())
def test_invariants(fleet: tuple[list[dict[str, Any]], Host, int]) -> None:
    check_invariants(fleet, DEFAULT_OVERHEAD_MS)


def check_invariants(fleet: tuple[list[dict[str, Any]], Host, int], overhead: float) -> None:
    """What holds of every sizing, whatever the projects, the host and Apache's overhead per request."""
    projects, host, reserve = fleet
    budget = host.memory_mb - reserve
    result = try_size(projects, host, reserve, overhead)
    if isinstance(result, str):
        explicit_mb = sum(p["rss_mb"] * p["processes"] for p in projects if p.get("processes"))
        if explicit_mb > budget:
            assert result.startswith(f"explicit processes alone need {explicit_mb} MB,")
            assert result.endswith(f"; short by {explicit_mb - budget} MB")
        else:
            assert result.startswith(f"even one process per project needs {minimum_mb(projects)} MB,")
            assert result.endswith(f"; short by {minimum_mb(projects) - budget} MB")
        return
    assert minimum_mb(projects) <= budget
    json.dumps(result)
    out = result["projects"]
    assert sorted(out) == sorted(p["name"] for p in projects)
    used = sum(o["rss_mb_total"] for o in out.values())
    assert used <= budget == result["budget_mb"]
    for p in projects:
        o = out[p["name"]]
        assert o["rss_mb_total"] == o["processes"] * p["rss_mb"]
        assert o["capacity"] == o["processes"] * o["threads"]
        assert 1 <= o["processes"] <= MAX_PROCESSES and 1 <= o["threads"] <= MAX_THREADS
        if p.get("thread_safe") is False:
            assert o["threads"] == 1
        if p.get("threads") is not None:
            assert o["threads"] == p["threads"]
        else:
            assert o["threads"] <= MAX_AUTO_THREADS
        if p.get("processes") is not None:
            assert o["processes"] == p["processes"] and o["processes_explicit"]
        else:
            assert o["processes_explicit"] == (o["processes"] > 1)
            assert o["processes"] <= o["model"]["processes_wanted"]
            if o["processes"] == o["model"]["processes_wanted"] < MAX_PROCESSES:
                # Unless memory or the process limit interferes, the load fits.
                assert o["capacity"] >= o["model"]["busy"]
            if o["processes"] < o["model"]["processes_wanted"]:
                # Scaled down: one more process of this project would not have fitted.
                assert used + p["rss_mb"] > budget
        assert o["multiprocess"] == o["processes_explicit"]
        assert o["multithread"] == (o["threads"] > 1)
        expected_mode = "prefork" if o["threads"] == 1 else ("worker" if o["processes"] > 1 else "winnt")
        assert o["mode"] == expected_mode
        assert QUEUE_TIMEOUT_RANGE[0] <= o["queue_timeout"] <= QUEUE_TIMEOUT_RANGE[1]
        assert REQUEST_TIMEOUT_RANGE[0] <= o["request_timeout"] <= REQUEST_TIMEOUT_RANGE[1]
        assert LISTEN_BACKLOG_RANGE[0] <= o["listen_backlog"] <= LISTEN_BACKLOG_RANGE[1]
    apache = result["apache"]
    tpc = apache["threads_per_child"]
    assert apache["daemon_capacity"] == sum(o["capacity"] for o in out.values())
    assert apache["max_request_workers"] % tpc == 0
    assert apache["daemon_capacity"] < apache["max_request_workers"] <= apache["server_limit"] * tpc
    scaled = any(w.startswith("memory:") for w in result["sizing_warnings"])
    wanted_all = all(o["processes"] == o["model"]["processes_wanted"] for o in out.values())
    assert scaled != wanted_all


@PROPERTY
@given(a_fleet(), st.randoms(use_true_random=False))
def test_order_of_projects_does_not_matter(fleet: tuple[list[dict[str, Any]], Host, int], rnd: Any) -> None:
    check_order_free(fleet, rnd, DEFAULT_OVERHEAD_MS)


def check_order_free(fleet: tuple[list[dict[str, Any]], Host, int], rnd: Any, overhead: float) -> None:
    projects, host, reserve = fleet
    shuffled = list(projects)
    rnd.shuffle(shuffled)
    assert try_size(shuffled, host, reserve, overhead) == try_size(projects, host, reserve, overhead)


@pytest.mark.parametrize(
    ("cpu_ms", "wait_ms", "thread_safe"),
    [(10, 0, True), (8, 40, True), (3, 97, True), (1, 299, True), (30, 10, True), (5, 45, False)],
)
def test_capacity_is_monotone_over_a_sweep_of_peak_rps(cpu_ms: float, wait_ms: float, thread_safe: bool) -> None:
    """Every rate from 0 to past the host's CPUs, one step at a time."""
    host = Host(cpus=8, memory_mb=1 << 20)
    last = 0
    for rps in range(0, 8000 // cpu_ms + 50, 1 if cpu_ms > 5 else 3):
        app = sized(project(cpu_ms=cpu_ms, wait_ms=wait_ms, thread_safe=thread_safe, peak_rps=rps), host=host)
        capacity = app["projects"]["app"]["capacity"]
        assert capacity >= last, rps
        assert capacity >= app["projects"]["app"]["model"]["busy"]
        last = capacity


@PROPERTY
@given(a_fleet(), st.one_of(st.floats(1.0, 1.2), st.floats(1.0, 20.0)), st.one_of(st.just(0), st.floats(0, 500)))
def test_more_peak_rps_never_gives_less_capacity(
    fleet: tuple[list[dict[str, Any]], Host, int], factor: float, extra: float
) -> None:
    check_more_peak_rps(fleet, factor, extra, DEFAULT_OVERHEAD_MS)


def check_more_peak_rps(fleet: tuple[list[dict[str, Any]], Host, int], factor: float, extra: float,
                        overhead: float) -> None:
    projects, host, reserve = fleet
    first = dict(projects[0])
    first["peak_rps"] = first.get("peak_rps") or 1.0
    busier = dict(first, peak_rps=first["peak_rps"] * factor + extra)
    before = try_size([first] + projects[1:], host, reserve, overhead)
    after = try_size([busier] + projects[1:], host, reserve, overhead)
    assert isinstance(before, str) == isinstance(after, str)  # memory failures do not depend on load
    if isinstance(before, dict) and isinstance(after, dict):
        old, new = before["projects"][first["name"]], after["projects"][first["name"]]
        assert new["capacity"] >= old["capacity"]
        assert new["processes"] >= old["processes"] and new["threads"] == old["threads"]


@PROPERTY
@given(
    st.lists(st.floats(0.2, 8), min_size=2, max_size=5),
    st.integers(50, 500),
    st.integers(1, 40),
)
def test_memory_is_shared_in_proportion_to_weight(weights: list[float], rss_mb: int, fit: int) -> None:
    """With equal rss, no project has more processes per unit of weight than another's next one."""
    projects = [
        project(name=f"p{i}", cpu_ms=10, wait_ms=0, rss_mb=rss_mb, peak_rps=None, weight=w) for i, w in enumerate(weights)
    ]
    host = Host(cpus=64, memory_mb=1024 + rss_mb * max(fit, len(weights)))
    out = sized(*projects, host=host)["projects"]
    for a in projects:
        for b in projects:
            pa, pb = out[a["name"]], out[b["name"]]
            if pa["processes"] > 1 and pb["processes"] < pb["model"]["processes_wanted"]:
                assert pa["processes"] / a["weight"] <= (pb["processes"] + 1) / b["weight"] * (1 + 1e-12)


@PROPERTY
@given(a_fleet())
def test_thread_unsafe_projects_never_get_threads(fleet: tuple[list[dict[str, Any]], Host, int]) -> None:
    projects, host, reserve = fleet
    unsafe = [dict({k: v for k, v in p.items() if k != "threads"}, thread_safe=False) for p in projects]
    result = try_size(unsafe, host, reserve)
    if isinstance(result, dict):
        assert all(o["threads"] == 1 and not o["multithread"] for o in result["projects"].values())


# --- Apache's and mod_wsgi's CPU per request (overhead_ms) ------------------------------------

OVERHEAD = st.one_of(st.just(0.0), st.sampled_from(sorted(OVERHEAD_MS.values())), st.floats(0, MAX_OVERHEAD_MS),
                     st.integers(0, int(MAX_OVERHEAD_MS)))


def test_the_measured_overheads_are_the_documented_ones() -> None:
    assert OVERHEAD_MS == {"shared": 0.4, "instance": 0.7}
    assert DEFAULT_OVERHEAD_MS == 0.4 and MAX_OVERHEAD_MS == 100
    assert size_projects([project()], HOST).overhead_ms == 0.4


def test_overhead_zero_gives_the_figures_of_the_app_alone() -> None:
    """overhead_ms 0: a request costs the app's cpu_ms and nothing more, the model before the overhead was counted."""
    result = sized(project(name="keystone", cpu_ms=8, wait_ms=40, rss_mb=120, peak_rps=150), overhead=0)
    keystone = result["projects"]["keystone"]
    # docs/sizing.md's keystone: f = 8/48 = 0.1667; busy 150 x 0.048 = 7.2, x1.5 -> 11; 150 x 0.008 = 1.2 CPUs;
    # processes max(ceil(11/6) = 2, ceil(1.2 x 1.5 = 1.8) = 2) = 2.
    assert keystone["model"] == {"cpu_fraction": 0.1667, "rps": 150, "rps_source": "peak_rps", "busy_ms": 48,
                                 "busy": 7.2, "concurrency": 11, "cpu_demand": 1.2, "processes_wanted": 2}
    assert (keystone["threads"], keystone["processes"], keystone["capacity"]) == (6, 2, 12)
    assert result["overhead_ms"] == 0
    assert result["explanation"][0].endswith("; Apache and mod_wsgi cost 0 ms CPU per request")
    # No "+ overhead" part when there is none.
    assert result["explanation"][1].startswith(
        "keystone: CPU 17% (8 of 48 ms), 150 rps (peak_rps) x 48 ms = 7.2 busy, x1.5 = 11 concurrent;"
        " threads 6 (ceil(48/8) = 6, max 16); processes 2 (max(11/6 -> 2, CPU 1.2 x1.5 -> 2),"
    )
    assert "ms CPU per request," not in result["explanation"][1]
    # Weight share on 6 CPUs: big 4 CPUs / 10 ms = 400 rps, small 2 CPUs / 10 ms = 200 rps.
    shares = sized(project(name="big", cpu_ms=10, wait_ms=0, peak_rps=None, weight=2),
                   project(name="small", cpu_ms=10, wait_ms=0, peak_rps=..., weight=1),
                   host=Host(cpus=6, memory_mb=65536), overhead=0)
    assert [shares["projects"][n]["model"]["rps"] for n in ("big", "small")] == [400, 200]
    # The cap: 8 CPUs / 20 ms = 400 rps, and 1000 rps need 1000 x 0.02 = 20 CPUs.
    capped = sized(project(cpu_ms=20, wait_ms=0, peak_rps=1000), overhead=0)
    assert capped["projects"]["app"]["model"]["rps"] == 400
    assert capped["sizing_warnings"] == ["app: peak_rps 1000 needs 20 CPUs, the host has 8: sized for 400 rps"]
    # 500 x 0.01 + 400 x 0.01 = 9 CPUs.
    both = sized(project(name="a", cpu_ms=10, peak_rps=500), project(name="b", cpu_ms=10, peak_rps=400), overhead=0)
    assert both["sizing_warnings"] == ["cpu: the projects together need 9 CPUs at their peaks, the host has 8"]


def test_an_io_bound_project_is_sized_for_what_its_share_serves() -> None:
    """cpu 1 ms, wait 50 ms, alone on 2 CPUs: its requests cost the host 1 ms of the app plus the overhead."""
    io = project(name="io", cpu_ms=1, wait_ms=50, rss_mb=100, peak_rps=...)
    host = Host(cpus=2, memory_mb=8192)
    bare, loaded = (sized(io, host=host, overhead=overhead)["projects"]["io"] for overhead in (0, 1.0))
    # Threads: ceil(51/1) = 51, at most 16, either way. One process keeps 16 x 1/51 = 0.31 CPU busy:
    # cap ceil(2 / 0.3137) = ceil(6.375) = 7 processes.
    # Overhead 0: 2 CPUs x 1000 / 1 ms = 2000 rps; busy 2000 x 0.051 = 102, x1.5 = 153 concurrent;
    # processes min(7, max(ceil(153/16) = 10, ceil(2 x 1.5) = 3)) = 7; capacity 7 x 16 = 112.
    # Alone on its host: its requests keep a thread for its plain 51 ms.
    assert bare["model"] == {"cpu_fraction": 0.0196, "rps": 2000, "rps_source": "share 2 of 2 CPUs", "busy_ms": 51,
                             "busy": 102, "concurrency": 153, "cpu_demand": 2, "processes_wanted": 7}
    assert (bare["threads"], bare["processes"], bare["capacity"]) == (16, 7, 112)
    # Overhead 1 ms: 2 CPUs x 1000 / (1 + 1) ms = 1000 rps; busy 1000 x 0.051 = 51, x1.5 = 76.5 -> 77 concurrent;
    # the CPU demand is still 1000 x 0.002 = 2 CPUs, 1000 x 0.001 = 1 in the app;
    # processes min(7, max(ceil(77/16) = 5, ceil(1 x 1.5) = 2)) = 5; capacity 80.
    assert loaded["model"] == {"cpu_fraction": 0.0196, "rps": 1000, "rps_source": "share 2 of 2 CPUs",
                               "busy_ms": 51, "busy": 51, "concurrency": 77, "cpu_demand": 2, "processes_wanted": 5}
    assert (loaded["threads"], loaded["processes"], loaded["capacity"]) == (16, 5, 80)
    assert loaded["model"]["concurrency"] < bare["model"]["concurrency"]
    assert loaded["capacity"] < bare["capacity"] and loaded["threads"] == bare["threads"]
    line = sized(io, host=host, overhead=1.0)["explanation"][1]
    assert line == ("io: CPU 2% (1 of 51 ms), 1 + 1 ms CPU per request, 1000 rps (share 2 of 2 CPUs) x 51 ms = 51 busy,"
                    " x1.5 = 77 concurrent; threads 16 (ceil(51/1) = 51, max 16);"
                    " processes 5 (max(77/16 -> 5, CPU 1 x1.5 -> 2), cap 7 = 2 CPUs / 0.31 CPU per process);"
                    " 5 processes x 16 threads = capacity 80, 5 x 100 MB = 500 MB, mode worker")


@pytest.mark.parametrize(
    ("overhead", "message"),
    [
        (-0.1, "field 'overhead_ms': must be >= 0 (got -0.1)"),
        (-1, "field 'overhead_ms': must be >= 0 (got -1)"),
        (100.5, "field 'overhead_ms': must be <= 100 (got 100.5)"),
        (101, "field 'overhead_ms': must be <= 100 (got 101)"),
        (math.nan, "field 'overhead_ms': must be a finite number (got nan)"),
        (math.inf, "field 'overhead_ms': must be a finite number (got inf)"),
        (-math.inf, "field 'overhead_ms': must be a finite number (got -inf)"),
        ("0.4", "field 'overhead_ms': must be a finite number (got '0.4')"),
        (True, "field 'overhead_ms': must be a finite number (got True)"),
        (None, "field 'overhead_ms': must be a finite number (got None)"),
    ],
)
def test_bad_overhead_is_refused_naming_overhead_ms(overhead: Any, message: str) -> None:
    with pytest.raises(SizingError) as info:
        size_projects([project()], HOST, 1024, 0, overhead)
    assert str(info.value) == message


@pytest.mark.parametrize("overhead", [0, 0.0, 100, MAX_OVERHEAD_MS, 0.7])
def test_overhead_edges_are_accepted(overhead: float) -> None:
    result = sized(project(), overhead=overhead)
    assert result["overhead_ms"] == overhead and isinstance(result["overhead_ms"], float)


@PROPERTY
@given(a_fleet(), OVERHEAD, OVERHEAD)
def test_more_overhead_never_gives_more_capacity(
    fleet: tuple[list[dict[str, Any]], Host, int], a: float, b: float
) -> None:
    """Raising overhead_ms never raises a project's rps, busy, concurrency or processes, and never changes its threads.

    The processes follow the app's own CPU (rps x cpu_ms), which falls or stays with rps. The processes
    and capacity given never rise either, as long as memory cuts no project's processes (else what one
    project gives up another may get).
    """
    projects, host, reserve = fleet
    low, high = sorted((a, b))
    before, after = try_size(projects, host, reserve, low), try_size(projects, host, reserve, high)
    assert isinstance(before, str) == isinstance(after, str)  # memory failures do not depend on the overhead
    if isinstance(before, str) or isinstance(after, str):
        assert before == after
        return
    scaled = any(w.startswith("memory:") for w in before["sizing_warnings"] + after["sizing_warnings"])
    for p in projects:
        old, new = before["projects"][p["name"]], after["projects"][p["name"]]
        assert new["threads"] == old["threads"]
        assert new["model"]["rps"] <= old["model"]["rps"]
        assert new["model"]["busy"] <= old["model"]["busy"]
        assert new["model"]["concurrency"] <= old["model"]["concurrency"]
        assert new["model"]["processes_wanted"] <= old["model"]["processes_wanted"]
        if not scaled:
            assert new["processes"] <= old["processes"] and new["capacity"] <= old["capacity"]


@PROPERTY
@given(a_fleet(), OVERHEAD)
def test_invariants_with_any_overhead(fleet: tuple[list[dict[str, Any]], Host, int], overhead: float) -> None:
    check_invariants(fleet, overhead)


@PROPERTY
@given(a_fleet(), st.randoms(use_true_random=False), OVERHEAD)
def test_order_of_projects_does_not_matter_with_any_overhead(
    fleet: tuple[list[dict[str, Any]], Host, int], rnd: Any, overhead: float
) -> None:
    check_order_free(fleet, rnd, overhead)


@PROPERTY
@given(a_fleet(), st.floats(1.0, 20.0), st.one_of(st.just(0), st.floats(0, 500)), OVERHEAD)
def test_more_peak_rps_never_gives_less_capacity_with_any_overhead(
    fleet: tuple[list[dict[str, Any]], Host, int], factor: float, extra: float, overhead: float
) -> None:
    check_more_peak_rps(fleet, factor, extra, overhead)


@PROPERTY
@given(a_fleet(), OVERHEAD)
def test_the_overhead_is_returned_and_explained(fleet: tuple[list[dict[str, Any]], Host, int], overhead: float) -> None:
    projects, host, reserve = fleet
    result = try_size(projects, host, reserve, overhead)
    if isinstance(result, str):
        return
    assert result["overhead_ms"] == overhead
    assert result["explanation"][0].endswith("; Apache and mod_wsgi cost %s ms CPU per request" % _sizing.fmt(overhead))
    for line in result["explanation"][1:1 + len(projects)]:
        name = line.split(":")[0]
        cpu_ms = next(p["cpu_ms"] for p in projects if p["name"] == name)
        cost = "%s + %s ms CPU per request, " % (_sizing.fmt(cpu_ms), _sizing.fmt(overhead))
        assert (cost in line) is (overhead > 0), line


@pytest.mark.parametrize("overhead", [0, 0.4, 0.7])
@pytest.mark.parametrize(("cpu_ms", "wait_ms", "choice"), [(20, 2, (2, 2)), (2, 60, (4, 16)), (10, 30, (2, 4))],
                         ids=["cpu-bound", "io-bound", "mixed"])
def test_a_project_alone_keeps_the_choice_bench_run_measured(
    cpu_ms: float, wait_ms: float, choice: tuple[int, int], overhead: float
) -> None:
    """bench/run's three profiles alone on its 2 CPUs: the same processes x threads with or without the overhead.

    bench/results/RESULTS.md measured these choices at 0.99, 1.00 and 0.95 of the grid's best cell; the
    overhead changes none of them, so that measurement still holds.
    """
    result = sized(project(name="bench", cpu_ms=cpu_ms, wait_ms=wait_ms, rss_mb=13, peak_rps=None),
                   host=Host(cpus=2, memory_mb=24105), overhead=overhead)["projects"]["bench"]
    assert (result["processes"], result["threads"]) == choice


# --- Projects that compete: the CPU part of a request stretched by the weights ------------------


def spec_of(**overrides: Any) -> _sizing.ProjectSpec:
    return _sizing.validate_project(project(**overrides))


def unstretched() -> Any:
    """contended_ms as before it was: every request keeps its thread for its plain latency."""
    return mock.patch.object(_sizing, "contended_ms", lambda spec, total_weight: (spec.latency_ms, ""))


@pytest.mark.parametrize(
    ("overrides", "total_weight", "expected"),
    [
        # Alone on its host (its weight is all the weight): its plain latency, 10 + 40.
        ({"peak_rps": None}, 1.0, (50, "")),
        ({"peak_rps": None, "weight": 3}, 3.0, (50, "")),
        ({"peak_rps": None, "weight": 0.25}, 0.25, (50, "")),
        # Sized for its peak_rps, beside others: plain too (0 is a given rate).
        ({"peak_rps": 100}, 3.0, (50, "")),
        ({"peak_rps": 0}, 2.0, (50, "")),
        ({"peak_rps": 100, "weight": 0.5}, 10.0, (50, "")),
        # Two projects of equal weight: 40 + 10 x 2 = 60.
        ({"peak_rps": None}, 2.0, (60, "40 + 10 x 2/1 weights")),
        ({"peak_rps": None, "weight": 2}, 4.0, (60, "40 + 10 x 4/2 weights")),
        # 40 + 10 x 3/2 = 55; 40 + 10 x 2.5/0.5 = 90.
        ({"peak_rps": None, "weight": 2}, 3.0, (55, "40 + 10 x 3/2 weights")),
        ({"peak_rps": None, "weight": 0.5}, 2.5, (90, "40 + 10 x 2.5/0.5 weights")),
        # bench's io beside two others of its weight: 60 + 2 x 3 = 66; pure CPU: 0 + 20 x 3 = 60.
        ({"cpu_ms": 2, "wait_ms": 60, "peak_rps": None}, 3.0, (66, "60 + 2 x 3/1 weights")),
        ({"cpu_ms": 20, "wait_ms": 0, "peak_rps": None}, 3.0, (60, "0 + 20 x 3/1 weights")),
    ],
)
def test_contended_ms(overrides: dict[str, Any], total_weight: float, expected: tuple[float, str]) -> None:
    busy_ms, reason = contended_ms(spec_of(**overrides), total_weight)
    assert busy_ms == pytest.approx(expected[0], rel=1e-12) and reason == expected[1]


def test_three_projects_that_share_a_host_are_sized_for_their_requests_at_their_share() -> None:
    """bench/colocate's three, weights 1:1:1 on 2 CPUs behind the front end (0.7 ms)."""
    result = sized(project(name="cpu", cpu_ms=20, wait_ms=2, rss_mb=16, peak_rps=None),
                   project(name="io", cpu_ms=2, wait_ms=60, rss_mb=16, peak_rps=None),
                   project(name="mixed", cpu_ms=10, wait_ms=30, rss_mb=16, peak_rps=None),
                   host=Host(cpus=2, memory_mb=24105), overhead=0.7)
    out = result["projects"]
    # Each a share of 2/3 CPU. cpu: 666.67 / 20.7 = 32.206 rps x (2 + 20 x 3 = 62 ms) = 1.997 busy, x1.5 -> 3;
    #   threads ceil(22/20) = 2; processes max(3/2 -> 2, CPU 0.644 x1.5 -> 1) = 2 (cap 2).
    # io: 666.67 / 2.7 = 246.914 rps x (60 + 2 x 3 = 66 ms) = 16.296 busy, x1.5 = 24.4 -> 25; threads 16;
    #   processes max(25/16 -> 2, CPU 0.494 x1.5 -> 1) = 2, cap ceil(2 / (16 x 2/62 = 0.516)) = 4.
    # mixed: 666.67 / 10.7 = 62.305 rps x (30 + 10 x 3 = 60 ms) = 3.738 busy, x1.5 = 5.6 -> 6; threads 4;
    #   processes max(6/4 -> 2, CPU 0.623 x1.5 -> 1) = 2 (cap 2 CPUs / 1 CPU per process).
    figures = {name: (o["model"]["busy_ms"], o["model"]["busy"], o["model"]["concurrency"], o["processes"],
                      o["threads"]) for name, o in out.items()}
    assert figures == {"cpu": (62, 1.997, 3, 2, 2), "io": (66, 16.296, 25, 2, 16), "mixed": (60, 3.738, 6, 2, 4)}
    (line,) = [line for line in result["explanation"] if line.startswith("io: ")]
    assert line == ("io: CPU 3% (2 of 62 ms), 2 + 0.7 ms CPU per request, 246.91 rps (share 0.67 of 2 CPUs)"
                    " x 66 ms (60 + 2 x 3/1 weights) = 16.3 busy, x1.5 = 25 concurrent;"
                    " threads 16 (ceil(62/2) = 31, max 16);"
                    " processes 2 (max(25/16 -> 2, CPU 0.49 x1.5 -> 1), cap 4 = 2 CPUs / 0.52 CPU per process);"
                    " 2 processes x 16 threads = capacity 32, 2 x 16 MB = 32 MB, mode worker")
    # Unstretched, cpu's 32.206 rps x 22 ms = 0.709 busy -> 2 concurrent, 1 process, and mixed's
    # 62.305 x 40 ms = 2.492 -> 4 concurrent, 1 process: each could take but half its share when all are busy.
    with unstretched():
        before = sized(*[project(name=n, cpu_ms=c, wait_ms=w, rss_mb=16, peak_rps=None)
                         for n, c, w in (("cpu", 20, 2), ("io", 2, 60), ("mixed", 10, 30))],
                       host=Host(cpus=2, memory_mb=24105), overhead=0.7)["projects"]
    assert {n: (o["model"]["concurrency"], o["processes"]) for n, o in before.items()} == {
        "cpu": (2, 1), "io": (23, 2), "mixed": (4, 1)}


def test_a_project_sized_for_its_peak_rps_explains_its_plain_latency() -> None:
    result = sized(project(name="a", peak_rps=100), project(name="b", peak_rps=None))
    a, b = (next(line for line in result["explanation"] if line.startswith(n + ": ")) for n in ("a", "b"))
    # a: 100 rps x 50 ms = 5 busy, no parenthesis; b: 40 + 10 x 2/1 = 60 ms.
    assert " 100 rps (peak_rps) x 50 ms = 5 busy, x1.5 = 8 concurrent;" in a
    assert " x 60 ms (40 + 10 x 2/1 weights) = " in b
    assert result["projects"]["a"]["model"]["busy_ms"] == 50 and result["projects"]["b"]["model"]["busy_ms"] == 60


@pytest.mark.parametrize("overhead", [0, 0.4, 0.7])
@pytest.mark.parametrize(("cpu_ms", "wait_ms", "weight", "cpus"),
                         [(20, 2, None, 2), (2, 60, 3, 2), (10, 30, 0.5, 4), (1, 299, 1, 8), (50, 0, 2, 16)])
def test_a_project_alone_on_its_host_is_sized_as_before(cpu_ms: float, wait_ms: float, weight: Any, cpus: int,
                                                        overhead: float) -> None:
    """Alone, whatever its weight, its share is the whole host: no stretch, the same numbers as before it."""
    alone = project(cpu_ms=cpu_ms, wait_ms=wait_ms, peak_rps=None, weight=weight)
    host = Host(cpus=cpus, memory_mb=1 << 20)
    result = sized(alone, host=host, overhead=overhead)
    with unstretched():
        before = sized(alone, host=host, overhead=overhead)
    assert result == before
    assert result["projects"]["app"]["model"]["busy_ms"] == cpu_ms + wait_ms
    assert " weights)" not in result["explanation"][1]
    assert " x %s ms = " % _sizing.fmt(cpu_ms + wait_ms) in result["explanation"][1]


@PROPERTY
@given(a_project("solo"), st.integers(1, 64), OVERHEAD)
def test_any_project_alone_is_sized_as_before(raw: dict[str, Any], cpus: int, overhead: float) -> None:
    host = Host(cpus=cpus, memory_mb=1 << 20)
    result = try_size([raw], host, 0, overhead)
    with unstretched():
        before = try_size([raw], host, 0, overhead)
    assert result == before


@PROPERTY
@given(a_fleet(), OVERHEAD)
def test_the_stretch_never_lowers_what_a_project_is_sized_for(fleet: tuple[list[dict[str, Any]], Host, int],
                                                              overhead: float) -> None:
    """Against the unstretched model: the same rps, threads and CPU; no less busy, concurrency or processes wanted.

    Only the projects sized by their share beside others change; the others are as before.
    """
    projects, host, reserve = fleet
    host = Host(cpus=host.cpus, memory_mb=1 << 24)  # memory never cuts: the demand alone is compared
    result = try_size(projects, host, 0, overhead)
    with unstretched():
        before = try_size(projects, host, 0, overhead)
    assert isinstance(result, dict) and isinstance(before, dict)
    total = sum(p.get("weight", 1.0) for p in projects)
    for p in projects:
        new, old = result["projects"][p["name"]], before["projects"][p["name"]]
        for key in ("rps", "rps_source", "cpu_demand", "cpu_fraction"):
            assert new["model"][key] == old["model"][key]
        assert new["threads"] == old["threads"]
        assert new["model"]["busy_ms"] >= old["model"]["busy_ms"] == round(p["cpu_ms"] + p["wait_ms"], 3)
        assert new["model"]["busy"] >= old["model"]["busy"]
        assert new["model"]["concurrency"] >= old["model"]["concurrency"]
        assert new["model"]["processes_wanted"] >= old["model"]["processes_wanted"]
        assert new["processes"] >= old["processes"] and new["capacity"] >= old["capacity"]
        weight = p.get("weight", 1.0)
        if p.get("peak_rps") is not None or round(total, 9) <= weight:
            assert new == old
        else:
            # wait + cpu x W / w, W all the weights.
            stretched = p["wait_ms"] + p["cpu_ms"] * total / weight
            assert new["model"]["busy_ms"] == pytest.approx(stretched, rel=1e-9, abs=1e-3)


@PROPERTY
@given(st.lists(st.floats(0.1, 10), min_size=0, max_size=4), st.floats(0.1, 10), st.floats(0.1, 10), CPU_MS, WAIT_MS,
       st.integers(1, 64), OVERHEAD)
def test_more_weight_never_lowers_the_busy_requests_of_a_project_sized_by_its_share(
        others: list[float], low: float, high: float, cpu_ms: float, wait_ms: float, cpus: int,
        overhead: float) -> None:
    """busy = rps x busy_ms / 1000, with rps = C x w/W x 1000 / cost and busy_ms = wait + cpu x W/w:

    busy = C / cost x (w/W x wait + cpu), and w/W = w / (w + the others' weights) rises with w.
    """
    low, high = sorted((low, high))
    host = Host(cpus=cpus, memory_mb=1 << 24)
    rest = [project(name=f"other{i}", peak_rps=None, weight=w) for i, w in enumerate(others)]
    demands = []
    for weight in (low, high):
        result = size_projects([project(name="app", cpu_ms=cpu_ms, wait_ms=wait_ms, peak_rps=None, weight=weight)]
                               + rest, host, 0, 0, overhead)
        (app,) = [p for p in result.projects if p.name == "app"]
        demands.append(app.demand)
        total = weight + sum(others)
        cost = cpu_ms + overhead
        by_hand = cpus / cost * (weight / total * wait_ms + cpu_ms)
        assert app.demand.busy == pytest.approx(by_hand, rel=1e-9)
        assert app.demand.busy == pytest.approx(app.demand.rps * app.demand.busy_ms / 1000, rel=1e-12)
    before, after = demands
    assert after.busy >= before.busy * (1 - 1e-12)
    assert after.concurrency >= before.concurrency

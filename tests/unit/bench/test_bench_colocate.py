# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/lib/colocate.py and bench/colocate.py: the pure parts, figures computed by hand.

Projects and their queries, the cgroup v1 files of a unit's resources, the
CPU share table, own_cgroup's parsing of /proc/self/cgroup, the sizings and
the render model of a run, the servers of a run (with a fake ``Cgroups``:
no cgroup is made, no server started), and the script's summary, verdicts
and Markdown on synthetic results. bench/colocate.py is a script: it is
imported from its path (bench/ is on sys.path, see conftest.py).
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import math
import stat
from pathlib import Path

import pytest

from lib import colocate as co
from lib import conf, procfs
from lib.env import APP, MODULES, _sizing

_PATH = Path(__file__).resolve().parents[3] / "bench" / "colocate.py"
_SPEC = importlib.util.spec_from_file_location("bench_colocate", _PATH)
script = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(script)

HOST = {"cpus": 2, "memory_mb": 24105}
PORT = 18400
BACKEND_BASE = 18500
EQUAL = {"cpu": 1.0, "io": 1.0, "mixed": 1.0}
UNEQUAL = {"cpu": 2.0, "io": 1.0, "mixed": 1.0}
MB = 1024 * 1024


@pytest.fixture(autouse=True)
def as_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Render as the benchmark runs: as root, Apache's children and the daemons as www-data."""
    monkeypatch.setattr(conf.os, "geteuid", lambda: 0)


def directives(text: str, name: str) -> list[str]:
    """The arguments of every ``name`` directive of a configuration, in order."""
    return [line.strip()[len(name) + 1:] for line in text.splitlines() if line.strip().startswith(name + " ")]


# --- projects ------------------------------------------------------------------------


def test_project_path_and_query() -> None:
    cpu = co.Project("cpu", 20.0, 2.0, 32)
    assert cpu.path == "/cpu"
    assert cpu.query(1000) == "?cpu_ms=20&wait_ms=2&chunk=1000"
    assert co.Project("x", 0.5, 12.25, 4).query(7) == "?cpu_ms=0.5&wait_ms=12.25&chunk=7"
    assert co.EMPTY.query(3) == "?cpu_ms=0&wait_ms=0&chunk=3"


def test_project_query_with_leak() -> None:
    assert co.LEAKY.path == "/leaky"
    assert co.LEAKY.query(500) == "?cpu_ms=2&wait_ms=10&chunk=500&leak_kb=256"
    assert co.Project("l", 1.0, 1.0, 1, leak_kb=1).query(1) == "?cpu_ms=1&wait_ms=1&chunk=1&leak_kb=1"


def test_the_three_projects_are_bench_runs() -> None:
    assert [(p.name, p.cpu_ms, p.wait_ms, p.connections, p.leak_kb) for p in co.PROJECTS] == [
        ("cpu", 20.0, 2.0, 32, 0), ("io", 2.0, 60.0, 128, 0), ("mixed", 10.0, 30.0, 64, 0)]


# --- the cgroup v1 files of a unit's resources --------------------------------------


def test_unit_settings_with_memory_max() -> None:
    assert co.unit_settings({"cpu_weight": 100, "memory_max_mb": 112, "tasks_max": 242,
                             "memory_high_mb": 104, "slice": "wsgi.slice"}) == {
        "cpu": {"cpu.shares": 1024, "cpu.cfs_quota_us": -1},
        "pids": {"pids.max": 242},
        "memory": {"memory.limit_in_bytes": 112 * 1048576},  # 117440512
    }
    assert co.unit_settings({"cpu_weight": 100, "memory_max_mb": 112, "tasks_max": 1})["memory"] == {
        "memory.limit_in_bytes": 117440512}


def test_unit_settings_without_memory_max() -> None:
    assert co.unit_settings({"cpu_weight": 200, "memory_max_mb": None, "tasks_max": 10}) == {
        "cpu": {"cpu.shares": 2048, "cpu.cfs_quota_us": -1},
        "pids": {"pids.max": 10},
    }


@pytest.mark.parametrize("weight, shares", [(100, 1024), (200, 2048), (1, 10), (50, 512), (10000, 102400)])
def test_unit_settings_cpu_shares(weight: int, shares: int) -> None:
    # systemd on cgroup v1: cpu.shares = CPUWeight x 1024 / 100 (1: 10.24 -> 10).
    settings = co.unit_settings({"cpu_weight": weight, "memory_max_mb": None, "tasks_max": 1})
    assert settings["cpu"] == {"cpu.shares": shares, "cpu.cfs_quota_us": -1}
    assert isinstance(settings["cpu"]["cpu.shares"], int)


# --- the share table ----------------------------------------------------------------


def test_share_table_equal_weights_in_proportion() -> None:
    table = co.share_table(list(co.PROJECTS), {"cpu": 0.5, "io": 0.5, "mixed": 0.5}, EQUAL)
    for name in ("cpu", "io", "mixed"):
        assert table[name]["cpu_share"] == pytest.approx(1 / 3)
        assert table[name]["weight_share"] == pytest.approx(1 / 3)
        assert table[name]["ratio"] == pytest.approx(1.0)


def test_share_table_unequal_weights_in_proportion() -> None:
    # 2:1:1 and CPU 1.0 : 0.5 : 0.5 -> shares 1/2, 1/4, 1/4: every ratio exactly 1.
    table = co.share_table(list(co.PROJECTS), {"cpu": 1.0, "io": 0.5, "mixed": 0.5}, UNEQUAL)
    assert table["cpu"] == {"cpu_share": 0.5, "weight_share": 0.5, "ratio": 1.0}
    assert table["io"] == {"cpu_share": 0.25, "weight_share": 0.25, "ratio": 1.0}
    assert table["mixed"] == {"cpu_share": 0.25, "weight_share": 0.25, "ratio": 1.0}


def test_share_table_out_of_proportion() -> None:
    # Equal weights, CPU 0.6 : 0.2 : 0.2 (total 1.0): ratios 0.6 / (1/3) = 1.8 and 0.2 / (1/3) = 0.6.
    table = co.share_table(list(co.PROJECTS), {"cpu": 0.6, "io": 0.2, "mixed": 0.2}, EQUAL)
    assert table["cpu"]["cpu_share"] == pytest.approx(0.6)
    assert table["cpu"]["ratio"] == pytest.approx(1.8)
    assert table["io"]["ratio"] == pytest.approx(0.6)
    assert table["mixed"]["ratio"] == pytest.approx(0.6)
    # 2:1:1, CPU equal: cpu gets 1/3 for a weight share of 1/2 (ratio 2/3), the others 1/3 for 1/4 (4/3).
    table = co.share_table(list(co.PROJECTS), {"cpu": 1.0, "io": 1.0, "mixed": 1.0}, UNEQUAL)
    assert table["cpu"]["ratio"] == pytest.approx(2 / 3)
    assert table["io"]["ratio"] == pytest.approx(4 / 3)


def test_share_table_weights_of_other_projects_do_not_count() -> None:
    # The script's weights name every project (leaky, empty too): only the projects given count.
    weights = {"cpu": 1.0, "io": 1.0, "mixed": 1.0, "leaky": 1.0, "empty": 1.0}
    table = co.share_table(list(co.PROJECTS), {"cpu": 1.0, "io": 1.0, "mixed": 1.0}, weights)
    assert {name: row["weight_share"] for name, row in table.items()} == pytest.approx(
        {"cpu": 1 / 3, "io": 1 / 3, "mixed": 1 / 3})
    assert set(table) == {"cpu", "io", "mixed"}


def test_share_table_no_cpu_does_not_divide_by_zero() -> None:
    table = co.share_table(list(co.PROJECTS), {"cpu": 0.0, "io": 0.0, "mixed": 0.0}, EQUAL)
    for row in table.values():
        assert row["cpu_share"] == 0.0
        assert row["ratio"] == 0.0
        assert not co.within(row["ratio"], 0.5)


@pytest.mark.parametrize("ratio, tolerance, expected", [
    (1.0, 0.2, True), (1.1, 0.2, True), (0.9, 0.2, True), (1.3, 0.2, False), (0.7, 0.2, False),
    (1.3, 0.5, True), (0.6, 0.5, True), (1.6, 0.5, False), (0.0, 0.5, False),
    (math.inf, 0.5, False), (math.nan, 0.5, False), (-math.inf, 100.0, False),
])
def test_within(ratio: float, tolerance: float, expected: bool) -> None:
    assert co.within(ratio, tolerance) is expected


def test_errors_counts_non_2xx_and_socket_errors() -> None:
    assert co.errors({"non_2xx": 3, "socket_errors": {"connect": 1, "read": 2, "write": 0, "timeout": 4}}) == 10
    assert co.errors({"non_2xx": 0, "socket_errors": {}}) == 0


def test_memory_used_mb(monkeypatch: pytest.MonkeyPatch) -> None:
    meminfo = ("MemTotal:       24684544 kB\nMemFree:         1000000 kB\nMemAvailable:   20589568 kB\n"
               "HugePages_Total:       0\nHugepagesize:       2048 kB\n")
    monkeypatch.setattr(procfs, "read", lambda path: meminfo if path == "/proc/meminfo" else "")
    # (24684544 - 20589568) kB = 4094976 kB = 3999 MB.
    assert co.memory_used_mb() == pytest.approx(3999.0)


def test_daemons_cpu_counts_gone_processes_as_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = {10: procfs.Stat("S", 10, 250), 11: procfs.Stat("R", 10, 150)}
    monkeypatch.setattr(procfs, "stat", ticks.get)
    assert co.daemons_cpu([10, 11, 12]) == pytest.approx(400 / procfs.CLK_TCK)
    assert co.daemons_cpu([]) == 0.0


# --- own_cgroup -----------------------------------------------------------------------

CGROUP_V1 = """\
12:pids:/user.slice/user-0.slice/session-3.scope
11:cpuset:/other
10:name=systemd:/user.slice/user-0.slice/session-3.scope
4:memory:/process_api/x
2:cpu,cpuacct:/a
0::/user.slice/user-0.slice/session-3.scope
"""


@pytest.fixture()
def proc_cgroup(monkeypatch: pytest.MonkeyPatch):
    """Make procfs.read give ``text`` for /proc/self/cgroup (and fail for anything else)."""
    def install(text: str) -> list[str]:
        asked: list[str] = []

        def read(path: str) -> str:
            asked.append(path)
            assert path == "/proc/self/cgroup"
            return text

        monkeypatch.setattr(procfs, "read", read)
        return asked

    return install


def test_own_cgroup_separate_and_joined_controllers(proc_cgroup) -> None:
    asked = proc_cgroup(CGROUP_V1)
    assert co.own_cgroup("memory") == "/process_api/x"
    assert co.own_cgroup("cpu") == "/a"  # joined "cpu,cpuacct", not "cpuset"'s /other
    assert co.own_cgroup("cpuacct") == "/a"
    assert co.own_cgroup("pids") == "/user.slice/user-0.slice/session-3.scope"
    assert co.own_cgroup("cpuset") == "/other"
    assert asked == ["/proc/self/cgroup"] * 5


def test_own_cgroup_path_with_colons(proc_cgroup) -> None:
    proc_cgroup("3:memory:/a:b:c\n")
    assert co.own_cgroup("memory") == "/a:b:c"


@pytest.mark.parametrize("text", [
    "2:cpu,cpuacct:/a\n4:memory:/process_api/x\n",  # no pids hierarchy
    "0::/user.slice\n",  # cgroup v2 alone
    "",  # unreadable
])
def test_own_cgroup_missing_controller(proc_cgroup, text: str) -> None:
    proc_cgroup(text)
    with pytest.raises(RuntimeError, match="cgroup v1") as caught:
        co.own_cgroup("pids")
    assert "no cgroup v1 pids controller" in str(caught.value)


def test_cgroups_make_writes_the_settings_in_each_hierarchy(tmp_path: Path) -> None:
    """Cgroups.make on plain folders (Cgroups() itself needs /sys/fs/cgroup's v1 hierarchies)."""
    cgroups = object.__new__(co.Cgroups)
    cgroups.bases = {c: tmp_path / c / co.ROOT for c in co.CONTROLLERS}
    for controller in co.CONTROLLERS:
        (tmp_path / controller).mkdir()
    cgroups.made = []
    unit = "wsgi/apache2@wsgi-cpu-blue.service"
    procs = cgroups.make(unit, co.unit_settings({"cpu_weight": 200, "memory_max_mb": 112, "tasks_max": 242}))
    assert procs == [str(tmp_path / c / co.ROOT / unit / "cgroup.procs") for c in co.CONTROLLERS]
    base = {c: tmp_path / c / co.ROOT for c in co.CONTROLLERS}
    assert (base["cpu"] / unit / "cpu.shares").read_text() == "2048"
    assert (base["memory"] / unit / "memory.limit_in_bytes").read_text() == str(112 * MB)
    assert (base["pids"] / unit / "pids.max").read_text() == "242"
    assert sorted(p.name for p in (base["cpuacct"] / unit).iterdir()) == []
    # Each folder made once, parents first: the harness's root, wsgi/, the unit.
    assert cgroups.made == [p for c in co.CONTROLLERS for p in (base[c], base[c] / "wsgi", base[c] / unit)]
    assert cgroups.make("system") == [str(base[c] / "system" / "cgroup.procs") for c in co.CONTROLLERS]
    assert cgroups.made[-4:] == [base[c] / "system" for c in co.CONTROLLERS]
    (base["cpuacct"] / "system" / "cpuacct.usage").write_text("2500000000\n")
    assert cgroups.cpu_seconds("system") == pytest.approx(2.5)
    (base["cpuacct"] / "system" / "cpuacct.usage").write_text("")
    assert cgroups.cpu_seconds("system") == 0.0


# --- sizings and the render model -------------------------------------------------


def sized_by_module(projects, host, overhead_ms, weights=None):
    """(processes, threads) per project from _sizing.size_projects itself, and the whole answer."""
    result = _sizing.size_projects(
        [{"name": p.name, "cpu_ms": max(p.cpu_ms, 0.01), "wait_ms": p.wait_ms, "rss_mb": co.RSS_MB,
          **({"weight": weights[p.name]} if weights else {})} for p in projects],
        host, overhead_ms=overhead_ms).to_dict()["projects"]
    return {name: (s["processes"], s["threads"]) for name, s in result.items()}, result


@pytest.mark.parametrize("isolation", ["shared", "instance"])
def test_alone_sizes_each_project_alone_with_the_isolations_overhead(isolation: str) -> None:
    projects = list(co.PROJECTS) + [co.LEAKY, co.EMPTY]
    expected = {}
    for project in projects:
        alone, _result = sized_by_module([project], HOST, _sizing.OVERHEAD_MS[isolation])
        expected.update(alone)
    assert co.alone_sizes(projects, HOST, isolation) == expected


def test_alone_sizes_overhead_by_hand() -> None:
    # cpu_ms 0.1, wait_ms 20 on 4 CPUs: threads ceil(20.1 / 0.1) = 201 -> 16 at most.
    # shared (0.4 ms): 4000 / 0.5 = 8000 rps x 20.1 ms = 160.8 busy, x1.5 = 241.2 -> 242; 242 / 16 -> 16 processes.
    # instance (0.7 ms): 4000 / 0.8 = 5000 rps x 20.1 ms = 100.5 busy, x1.5 = 150.75 -> 151; 151 / 16 -> 10.
    light = co.Project("light", 0.1, 20.0, 8)
    host = {"cpus": 4, "memory_mb": 24105}
    assert _sizing.OVERHEAD_MS == {"shared": 0.4, "instance": 0.7}
    assert co.alone_sizes([light], host, "shared") == {"light": (16, 16)}
    assert co.alone_sizes([light], host, "instance") == {"light": (10, 16)}


def test_alone_sizes_reads_overhead_ms(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    real = _sizing.size_projects

    def spy(projects, host, *args, **kwargs):
        seen.append((tuple(p["name"] for p in projects), kwargs.get("overhead_ms")))
        return real(projects, host, *args, **kwargs)

    monkeypatch.setattr(_sizing, "size_projects", spy)
    monkeypatch.setitem(_sizing.OVERHEAD_MS, "instance", 3.0)
    co.alone_sizes(list(co.PROJECTS), HOST, "instance")
    assert seen == [(("cpu",), 3.0), (("io",), 3.0), (("mixed",), 3.0)]


def joint_plan(tmp_path: Path, isolation: str, weights: dict, sizes=None) -> dict:
    return co.plan(tmp_path, list(co.PROJECTS), weights, sizes, isolation, PORT, BACKEND_BASE, HOST)


def test_plan_joint_instance_2_1_1_by_hand(tmp_path: Path) -> None:
    # Overhead 0.7 ms (instance); a request keeps its thread for wait + cpu x 4 / weight (weights 2:1:1).
    # cpu: 1 CPU of 2 (weight 2 of 4), 1000 / 20.7 = 48.3 rps x (2 + 20 x 4/2 = 42 ms) = 2.03 busy,
    # x1.5 -> 4 concurrent, threads ceil(22 / 20) = 2, processes 2 (4/2 -> 2, CPU 0.97 x1.5 -> 2, cap 2 CPUs).
    # io: 0.5 CPU, 500 / 2.7 = 185.2 rps x (60 + 2 x 4 = 68 ms) = 12.6, x1.5 -> 19; threads min(31, 16) = 16;
    # processes 2 (19/16 -> 2).
    # mixed: 0.5 CPU, 500 / 10.7 = 46.7 rps x (30 + 10 x 4 = 70 ms) = 3.27, x1.5 -> 5; threads 4;
    # processes 2 (5/4 -> 2, cap 2 CPUs / 1 CPU per process).
    model = joint_plan(tmp_path, "instance", UNEQUAL)
    groups = {g["name"]: g for g in model["groups"]}
    assert {n: (g["processes"], g["threads"]) for n, g in groups.items()} == {
        "cpu": (2, 2), "io": (2, 16), "mixed": (2, 4)}
    resources = {n: g["instance"]["resources"] for n, g in groups.items()}
    assert {n: r["cpu_weight"] for n, r in resources.items()} == {"cpu": 200, "io": 100, "mixed": 100}
    # CPUQuota, the role's default 95% of the weight share of 2 CPUs: cpu 95 x 2 x 2/4 = 95,
    # io and mixed 95 x 2 x 1/4 = 47.5 -> 48.
    assert {n: r["cpu_quota_percent"] for n, r in resources.items()} == {"cpu": 95, "io": 48, "mixed": 48}
    # MemoryMax: ceil(processes x 16 MB x 150%) + 64 MB: 2 -> 48 + 64 = 112.
    assert {n: r["memory_max_mb"] for n, r in resources.items()} == {"cpu": 112, "io": 112, "mixed": 112}
    assert {n: g["instance"]["ports"]["blue"] for n, g in groups.items()} == {
        "cpu": BACKEND_BASE, "io": BACKEND_BASE + 2, "mixed": BACKEND_BASE + 4}
    assert model["isolation"] == "instance"
    assert model["explanation"][0].endswith("Apache and mod_wsgi cost 0.7 ms CPU per request")


@pytest.mark.parametrize("weights", [EQUAL, UNEQUAL], ids=["1:1:1", "2:1:1"])
def test_plan_joint_instance_is_the_modules_joint_sizing(tmp_path: Path, weights: dict) -> None:
    model = joint_plan(tmp_path, "instance", weights)
    expected, result = sized_by_module(list(co.PROJECTS), HOST, 0.7, weights)
    assert _sizing.OVERHEAD_MS["instance"] == 0.7
    assert [g["name"] for g in model["groups"]] == ["cpu", "io", "mixed"]
    for group in model["groups"]:
        name = group["name"]
        assert ((group["processes"] or 1), group["threads"]) == expected[name]
        assert group["processes_explicit"] == result[name]["processes_explicit"]
        resources = group["instance"]["resources"]
        assert resources["cpu_weight"] == {1.0: 100, 2.0: 200}[weights[name]]
        assert resources["memory_max_mb"] == math.ceil((group["processes"] or 1) * 16 * 1.5) + 64
        assert resources["tasks_max"] > 0
        # The project's sizing metadata as the plan was told it.
        (request,) = [r for r in model["sizing"] if r["name"] == name]
        assert (request["rss_mb"], request["weight"]) == (co.RSS_MB, weights[name])
    assert PORT not in model["listen"]  # reserved: the server's own Listen stands for it


@pytest.mark.parametrize("weights", [EQUAL, UNEQUAL], ids=["1:1:1", "2:1:1"])
def test_plan_joint_shared_has_no_instance(tmp_path: Path, weights: dict) -> None:
    model = joint_plan(tmp_path, "shared", weights)
    expected, _result = sized_by_module(list(co.PROJECTS), HOST, 0.4, weights)
    assert model["isolation"] == "shared"
    assert all("instance" not in g for g in model["groups"])
    assert {g["name"]: ((g["processes"] or 1), g["threads"]) for g in model["groups"]} == expected


def test_plan_with_given_sizes_keeps_them(tmp_path: Path) -> None:
    sizes = {"cpu": (2, 64), "io": (2, 64), "mixed": (1, 5)}
    model = joint_plan(tmp_path, "instance", EQUAL, sizes)
    assert {g["name"]: (g["processes"], g["threads"]) for g in model["groups"]} == sizes
    assert {g["name"]: g["instance"]["resources"]["memory_max_mb"] for g in model["groups"]} == {
        "cpu": 112, "io": 112, "mixed": 88}


def test_raw_project(tmp_path: Path) -> None:
    raw = co.raw_project(tmp_path, co.EMPTY, PORT, 1.0, None)
    assert raw["script"] == f"{tmp_path}/app.wsgi"
    assert (raw["user"], raw["group"], raw["port"], raw["path"]) == ("www-data", "www-data", PORT, "/empty")
    assert raw["sizing"] == {"cpu_ms": 0.01, "wait_ms": 0.0, "rss_mb": co.RSS_MB, "weight": 1.0}
    assert "processes" not in raw and "threads" not in raw
    raw = co.raw_project(tmp_path, co.PROJECTS[0], PORT, 2.0, (2, 64))
    assert (raw["processes"], raw["threads"], raw["sizing"]["cpu_ms"], raw["sizing"]["weight"]) == (2, 64, 20.0, 2.0)


# --- the servers of a run -------------------------------------------------------------


class FakeCgroups:
    """Records what servers() asks of the cgroups; makes nothing."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict | None]] = []

    def make(self, name: str, settings: dict | None = None) -> list[str]:
        self.calls.append((name, settings))
        return []


def check_run_dir(run_dir: Path) -> None:
    assert (run_dir / "app.wsgi").read_bytes() == APP.read_bytes()
    assert stat.S_IMODE((run_dir / "app.wsgi").stat().st_mode) == 0o644
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o755
    for name in ("cpu", "io", "mixed"):
        assert (run_dir / "logs" / name).is_dir()


def test_servers_shared(tmp_path: Path) -> None:
    model = joint_plan(tmp_path, "shared", EQUAL)
    cgroups = FakeCgroups()
    started, units = co.servers(model, tmp_path, PORT, cgroups)
    assert units == {}
    (server,) = started
    assert (server.name, server.port, server.root) == ("shared", PORT, tmp_path / "shared")
    assert cgroups.calls == [("system", None)]
    assert server.cgroups == []
    lines = directives(server.text, "WSGIDaemonProcess")
    assert [line.split()[0] for line in lines] == ["cpu", "io", "mixed"]
    assert directives(server.text, "Listen") == [f"127.0.0.1:{PORT}"]
    assert directives(server.text, "WSGISocketPrefix") == [f"{tmp_path}/shared/wsgi"]
    assert sorted(directives(server.text, "WSGIScriptAlias")) == sorted(
        f'/{name} "{tmp_path}/app.wsgi"' for name in ("cpu", "io", "mixed"))
    assert not directives(server.text, "ProxyPassMatch")
    groups = {g["name"]: g["processes"] or 1 for g in model["groups"]}
    assert server.groups == groups
    assert server.daemons == sum(groups.values())
    assert server.paths == ["/cpu", "/io", "/mixed"]
    check_run_dir(tmp_path)


def test_servers_instance(tmp_path: Path) -> None:
    model = joint_plan(tmp_path, "instance", UNEQUAL)
    groups = {g["name"]: g for g in model["groups"]}
    cgroups = FakeCgroups()
    started, units = co.servers(model, tmp_path, PORT, cgroups)
    names = ["wsgi-cpu-blue", "wsgi-io-blue", "wsgi-mixed-blue"]
    assert [s.name for s in started] == names + ["front"]
    assert units == {n: f"wsgi/apache2@wsgi-{n}-blue.service" for n in ("cpu", "io", "mixed")}
    assert cgroups.calls == [
        (f"wsgi/apache2@wsgi-{n}-blue.service", co.unit_settings(groups[n]["instance"]["resources"]))
        for n in ("cpu", "io", "mixed")] + [("system", None)]
    # By hand: cpu weight 2 -> CPUWeight 200 -> cpu.shares 2048, CPUQuota 95% -> 95 ms of every 100; MemoryMax
    # 112 MB. io and mixed: weight 1 -> cpu.shares 1024, CPUQuota 48% -> 48 ms; mixed's 2 processes: 112 MB.
    assert cgroups.calls[0][1]["cpu"] == {"cpu.shares": 2048, "cpu.cfs_quota_us": 95000}
    assert cgroups.calls[0][1]["memory"] == {"memory.limit_in_bytes": 112 * MB}
    assert cgroups.calls[1][1]["cpu"] == {"cpu.shares": 1024, "cpu.cfs_quota_us": 48000}
    assert cgroups.calls[2][1]["cpu"] == {"cpu.shares": 1024, "cpu.cfs_quota_us": 48000}
    assert cgroups.calls[2][1]["memory"] == {"memory.limit_in_bytes": 112 * MB}
    for server, name in zip(started, ("cpu", "io", "mixed")):
        port = groups[name]["instance"]["ports"]["blue"]
        assert server.port == port
        assert server.root == tmp_path / f"wsgi-{name}-blue"
        assert directives(server.text, "Listen") == [f"127.0.0.1:{port}"]
        (line,) = directives(server.text, "WSGIDaemonProcess")
        assert line.split()[0] == name
        assert directives(server.text, "WSGISocketPrefix") == [f"{tmp_path}/wsgi-{name}-blue/wsgi"]
        assert directives(server.text, "WSGIScriptAlias") == [f'/{name} "{tmp_path}/app.wsgi"']
        assert server.groups == {name: groups[name]["processes"] or 1}
        assert server.paths == [f"/{name}"]
    assert [s.daemons for s in started] == [2, 2, 2, 0]
    front = started[-1]
    assert (front.port, front.root, front.groups, front.daemons) == (PORT, tmp_path / "front", {}, 0)
    assert front.paths == ["/cpu", "/io", "/mixed"]
    text = front.text
    assert directives(text, "Listen") == [f"127.0.0.1:{PORT}"]
    assert directives(text, "<VirtualHost") == [f"*:{PORT}>"]
    assert not directives(text, "WSGIDaemonProcess")
    assert not directives(text, "WSGIScriptAlias")
    modules = directives(text, "LoadModule")
    for module in ("proxy", "proxy_http", "headers", "setenvif"):
        assert f"{module}_module {MODULES}/mod_{module}.so" in modules
    backends = f"{tmp_path}/front/backends"
    assert directives(text, "SetEnvIfExpr") == [
        f"\"file('{backends}') =~ /(?m)^{n} ([0-9.]+:[0-9]+)$/\" modwsgi_fleet_backend_{n}=$1"
        for n in ("cpu", "io", "mixed")]
    assert directives(text, "<Proxy") == [f'"http://127.0.0.1:{BACKEND_BASE + i}">' for i in range(6)]
    assert directives(text, "ProxySet") == ["retry=0 disablereuse=On"] * 6
    assert sorted(directives(text, "ProxyPassMatch")) == sorted(
        f'"^(/{n}(/.*)?)$" "http://${{modwsgi_fleet_dollar}}{{modwsgi_fleet_backend_{n}}}$1" interpolate'
        for n in ("cpu", "io", "mixed"))
    assert directives(text, "WSGISocketPrefix") == [f"{tmp_path}/front/wsgi"]
    # The front's file of live instances: each group at its blue instance.
    live = [line for line in front.files["backends"].splitlines() if line and not line.startswith("#")]
    assert live == [f"cpu 127.0.0.1:{BACKEND_BASE}", f"io 127.0.0.1:{BACKEND_BASE + 2}",
                    f"mixed 127.0.0.1:{BACKEND_BASE + 4}"]
    check_run_dir(tmp_path)


def test_servers_keep_an_app_already_there(tmp_path: Path) -> None:
    (tmp_path / "app.wsgi").write_text("# mine\n")
    co.servers(joint_plan(tmp_path, "shared", EQUAL), tmp_path, PORT, FakeCgroups())
    assert (tmp_path / "app.wsgi").read_text() == "# mine\n"


# --- bench/colocate.py: runs, summary, verdicts, Markdown ---------------------------


def test_importing_the_script_runs_nothing() -> None:
    assert script.__name__ == "bench_colocate"
    assert callable(script.main)
    assert script.TOLERANCE == {"instance": 0.20, "shared": 0.50}
    assert script.HOST_BUSY == 0.95


def test_runs_and_sizes_for() -> None:
    runs = script.runs()
    assert [(r["label"], r["isolation"], r["weights"]) for r in runs] == [
        ("module, joint", "shared", "1:1:1"), ("module, joint", "instance", "1:1:1"),
        ("module, joint, CPUWeight alone", "instance", "1:1:1"),
        ("module, each alone", "shared", "1:1:1"), ("module, each alone", "instance", "1:1:1"),
        ("openstack 2x1", "shared", "1:1:1"), ("mod_wsgi-express 1x5", "shared", "1:1:1"),
        ("source document 2x64", "shared", "1:1:1"),
        ("module, joint", "shared", "2:1:1"), ("module, joint", "instance", "2:1:1"),
        ("module, joint, CPUWeight alone", "instance", "2:1:1")]
    by_key = {(r["label"], r["isolation"], r["weights"]): r for r in runs}
    assert script.sizes_for(by_key[("module, joint", "shared", "1:1:1")], HOST) is None
    assert script.sizes_for(by_key[("module, each alone", "instance", "1:1:1")], HOST) == co.alone_sizes(
        list(co.PROJECTS), HOST, "instance")
    assert script.sizes_for(by_key[("source document 2x64", "shared", "1:1:1")], HOST) == {
        "cpu": (2, 64), "io": (2, 64), "mixed": (2, 64)}


def entry(ratio: float, errors: int = 0, rps: float = 100.0, instance: bool = True, cpu: float = 0.5) -> dict:
    """A project of a result as one_run makes it."""
    out = {"config": "2x4", "rps": rps, "p99_ms": 40.0, "errors": errors, "daemon_cpu": cpu * 0.9,
           "daemon_processes_seen": 2, "wrk": "raw", "cpu_share": ratio / 3, "weight_share": 1 / 3, "ratio": ratio}
    if instance:
        out.update(unit_cpu=cpu, resources={"slice": "wsgi.slice", "cpu_weight": 100, "memory_high_mb": 104,
                                            "memory_max_mb": 112, "tasks_max": 242},
                   memory={"memory.max_usage_in_bytes": str(50 * MB), "memory.limit_in_bytes": str(112 * MB),
                           "memory.failcnt": "0", "oom_kills": 0})
    return out


def result(isolation: str, ratios: dict, host_busy: float = 0.97, errors: dict | None = None, round_no: int = 0,
           label: str = "module, joint", weights: str = "1:1:1", rps: float = 100.0) -> dict:
    """One run's result as one_run returns it."""
    errors = errors or {}
    return {"label": label, "isolation": isolation, "sizing": "joint", "weights": weights, "round": round_no,
            "elapsed_s": 20.0, "host_busy": host_busy, "front_cpu": 0.1, "wrk_cpu": 0.3,
            "memory_used_mb_max": 900.0,
            "projects": {n: entry(r, errors.get(n, 0), rps, isolation == "instance") for n, r in ratios.items()},
            "explanation": ["host: ..."]}


GOOD = {"cpu": 1.1, "io": 0.95, "mixed": 0.95}


def test_summarize_medians_over_rounds() -> None:
    rows = script.summarize([
        result("instance", {"cpu": 1.0, "io": 1.0, "mixed": 1.0}, host_busy=0.96, round_no=0, rps=100.0),
        result("shared", GOOD, round_no=0),
        result("instance", {"cpu": 1.2, "io": 0.9, "mixed": 0.9}, host_busy=0.98, round_no=1, rps=120.0,
               errors={"io": 2}),
    ])
    assert [(r["label"], r["isolation"], r["weights"]) for r in rows] == [
        ("module, joint", "instance", "1:1:1"), ("module, joint", "shared", "1:1:1")]
    row = rows[0]
    assert len(row["rounds"]) == 2
    assert row["host_busy"] == pytest.approx(0.97)
    assert row["memory_used_mb_max"] == 900.0
    assert row["front_cpu"] == pytest.approx(0.1)
    cpu = row["projects"]["cpu"]
    assert cpu["rps"] == pytest.approx(110.0)
    assert cpu["ratio"] == pytest.approx(1.1)
    assert cpu["unit_cpu"] == pytest.approx(0.5)
    assert cpu["config"] == "2x4"
    assert row["projects"]["io"]["errors"] == 2  # summed over the rounds
    assert row["projects"]["io"]["ratio"] == pytest.approx(0.95)
    assert row["worst"] == pytest.approx(1.1)  # farthest from 1: 1.1 (0.1) before 0.95 (0.05)
    assert row["within"] is True
    shared = rows[1]
    assert shared["projects"]["cpu"]["unit_cpu"] is None  # shared: no unit
    assert shared["projects"]["cpu"]["daemon_cpu"] == pytest.approx(0.45)


def verdict(rows: list[dict]) -> list[str]:
    return script.verdicts(rows, None)


def test_verdict_pass_in_instance() -> None:
    rows = script.summarize([result("instance", GOOD, host_busy=0.97)])
    (line,) = verdict(rows)
    assert line == ("module, joint, instance, 1:1:1: worst ratio 1.10, host CPU 97%, errors 0"
                    " (target: every ratio within 1 +/- 0.20, host CPU >= 95%, 0 errors): **PASS**")


def test_verdict_fails_on_an_idle_host_in_instance_only() -> None:
    (line,) = verdict(script.summarize([result("instance", GOOD, host_busy=0.90)]))
    assert "host CPU 90%" in line and line.endswith("**FAIL**")
    (line,) = verdict(script.summarize([result("shared", GOOD, host_busy=0.90)]))
    assert line == ("module, joint, shared, 1:1:1: worst ratio 1.10, host CPU 90%, errors 0"
                    " (target: every ratio within 1 +/- 0.50, 0 errors): **PASS**")


def test_verdict_ratio_tolerance_by_isolation() -> None:
    ratios = {"cpu": 1.3, "io": 0.85, "mixed": 0.85}
    (line,) = verdict(script.summarize([result("instance", ratios)]))
    assert "worst ratio 1.30" in line and line.endswith("**FAIL**")
    (line,) = verdict(script.summarize([result("shared", ratios)]))
    assert "worst ratio 1.30" in line and line.endswith("**PASS**")


@pytest.mark.parametrize("isolation", ["shared", "instance"])
def test_verdict_fails_on_errors(isolation: str) -> None:
    (line,) = verdict(script.summarize([result(isolation, GOOD, errors={"mixed": 1, "io": 2})]))
    assert ", errors 3 (" in line and line.endswith("**FAIL**")


def leak_result(peak_mb: float, other_errors: int = 0, leaky_errors: int = 7, oom_kills: int = 0,
                seen: int = 1, failcnt: int = 12) -> dict:
    """leak_run's result: the three projects and leaky (1 process), in isolation instance, 20 s."""
    out = result("instance", {"cpu": 1.0, "io": 1.0, "mixed": 1.0}, errors={"io": other_errors},
                 label="module, joint, with a leaking project")
    out["elapsed_s"] = 20.0
    leaky = entry(1.0, leaky_errors)
    for key in ("cpu_share", "weight_share", "ratio"):  # one_run leaves leaky out of the share table
        del leaky[key]
    leaky["config"] = "1x6"
    leaky["rps"] = 100.0
    leaky["daemon_processes_seen"] = seen
    leaky["resources"] = {"memory_max_mb": 112}
    leaky["memory"] = {"memory.max_usage_in_bytes": str(int(peak_mb * MB)), "memory.limit_in_bytes": str(112 * MB),
                       "memory.failcnt": str(failcnt), "oom_kills": oom_kills}
    out["projects"]["leaky"] = leaky
    return out


def leak_verdict(leak: dict) -> str:
    lines = script.verdicts([], leak)
    assert len(lines) == 1 and lines[0].startswith("leak: ")
    return lines[0]


def test_leak_verdict_pass_when_held_and_others_served() -> None:
    # 100 rps x 20 s x 256 KiB = 500 MB kept; leaky's own errors do not count.
    line = leak_verdict(leak_result(112, other_errors=0, leaky_errors=7, oom_kills=1, seen=3))
    assert line == ("leak: leaky kept 500 MB over the run, its unit reached its MemoryMax of 112 MB (12 times,"
                    " peak 112 MB), the kernel killed its daemon 1 times and Apache started it again (3 daemon"
                    " processes seen for 1); failed requests of the other projects: 0 (target: held at its limit,"
                    " restarted inside its unit, 0 failed): **PASS**")
    # No OOM count (an older kernel), but a new daemon pid: restarted.
    assert leak_verdict(leak_result(112, seen=2)).endswith("**PASS**")


def test_leak_verdict_fail() -> None:
    # Over the limit, never at the limit, never restarted, or another project failed.
    assert leak_verdict(leak_result(113, oom_kills=1)).endswith("**FAIL**")
    assert leak_verdict(leak_result(80, oom_kills=1, failcnt=0)).endswith("**FAIL**")
    assert leak_verdict(leak_result(112, oom_kills=0, seen=1)).endswith("**FAIL**")
    line = leak_verdict(leak_result(112, oom_kills=1, other_errors=4))
    assert "other projects: 4 " in line and line.endswith("**FAIL**")


def test_leak_verdict_after_the_rows() -> None:
    rows = script.summarize([result("instance", GOOD)])
    lines = script.verdicts(rows, leak_result(80))
    assert len(lines) == 2
    assert lines[0].startswith("module, joint, instance") and lines[1].startswith("leak: ")


def report(rows: list[dict], leak: dict | None) -> dict:
    return {
        "date": "2025-01-02 03:04 UTC", "minutes": 12.34, "argv": ["--quick"],
        "machine": {"uname_a": "Linux test", "cpu_model": "Test CPU", "nproc": 2, "memory_mb": 24105,
                    "apache": "Apache/2.4.62", "apache_package": "2.4.62-1", "mod_wsgi_package": "5.0.0-1",
                    "wrk": "wrk 4.1.0", "loadavg_start": "0.01 0.02 0.03"},
        "quiet": {"waited_s": 0, "quiet": None}, "host": dict(HOST),
        "args": {"duration": 6.0, "warmup": 2.0, "rounds": 1},
        "overhead": [{"isolation": "shared", "rps": 5000.0, "host_busy": 0.99, "overhead_ms": 0.41, "errors": 0},
                     {"isolation": "instance", "rps": None, "host_busy": None, "overhead_ms": None, "errors": 0}],
        "rows": rows, "leak": leak, "verdicts": script.verdicts(rows, leak),
        "explanation": ["host: 2 CPUs", "cpu: ..."],
    }


def test_write_markdown(tmp_path: Path) -> None:
    rows = script.summarize([result("instance", GOOD, host_busy=0.97),
                             result("shared", {"cpu": 1.3, "io": 0.85, "mixed": 0.85}, host_busy=0.90)])
    data = report(rows, leak_result(80))
    path = tmp_path / "colocate.md"
    script.write_markdown(data, path)
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "# Projects that compete on one host: CPU shares against weights"
    assert ("| run | isolation | weights | project | processes x threads | req/s | CPU cores | CPU ms per request"
            " beyond the app | CPU share | weight share | ratio | p99 ms | errors | host CPU | host memory MB |"
            ) in lines
    assert "| cpu | 20 | 2 | 32 |" in lines
    assert "| shared | 5000 | 99% | **0.41** | 0 |" in lines
    assert "| instance | - | - | **-** | 0 |" in lines
    # instance: CPU cores from the unit (0.50); shared: from the daemons (0.45).
    # Beyond the app: 0.50 cores x 1000 / 100 rps - 20 ms = -15 (synthetic figures).
    assert ("| module, joint | instance | 1:1:1 | cpu | 2x4 | 100.0 | 0.50 | -15.00 | 37% | 33% | **1.10** | 40 | 0"
            " | 97% |"
            " 900 |") in lines
    assert ("| module, joint | shared | 1:1:1 | cpu | 2x4 | 100.0 | 0.45 | -15.50 | 43% | 33% | **1.30** | 40 | 0"
            " | 90% |"
            " 900 |") in lines
    assert len(data["verdicts"]) == 3
    for line in data["verdicts"]:
        assert f"- {line}" in lines
    assert "## The leak" in lines
    assert "| leaky | 1x6 | 100.0 | 7 | 112 | 80 | 12 | 0 | 1 |" in lines
    assert "| cpu | 2x4 | 100.0 | 0 | 112 | 50 | 0 | 0 | 2 |" in lines
    assert text.endswith("```\nhost: 2 CPUs\ncpu: ...\n```\n")


def test_write_markdown_without_leak(tmp_path: Path) -> None:
    rows = script.summarize([result("instance", GOOD)])
    data = report(rows, None)
    path = tmp_path / "colocate.md"
    script.write_markdown(data, path)
    text = path.read_text(encoding="utf-8")
    assert "## The leak" not in text
    assert "## Verdicts" in text
    (line,) = data["verdicts"]
    assert f"- {line}\n" in text and line.endswith("**PASS**")


# --- CPUQuota: the plan's, written by the harness as systemd does on cgroup v1 ----------------


@pytest.mark.parametrize("percent, quota_us", [(95, 95000), (48, 48000), (64, 64000), (190, 190000), (1, 1000),
                                               (10, 10000), (1000, 1000000), (5675, 5675000)])
def test_unit_settings_with_a_quota(percent: int, quota_us: int) -> None:
    """CPUQuota N% -> cpu.cfs_quota_us N x 1000 over the default 100 ms period (cpu.cfs_period_us)."""
    resources = {"cpu_weight": 200, "cpu_quota_percent": percent, "memory_max_mb": None, "tasks_max": 10}
    settings = co.unit_settings(resources)
    assert settings == {"cpu": {"cpu.shares": 2048, "cpu.cfs_quota_us": quota_us}, "pids": {"pids.max": 10}}
    assert isinstance(settings["cpu"]["cpu.cfs_quota_us"], int)
    assert co.QUOTA_PERIOD_US == 100000


@pytest.mark.parametrize("resources", [{"cpu_quota_percent": None}, {"cpu_quota_percent": 0}, {}])
def test_unit_settings_without_a_quota(resources: dict) -> None:
    """No quota is written as -1: a cgroup the harness kept from an earlier run loses the quota it had."""
    settings = co.unit_settings(dict(resources, cpu_weight=100, memory_max_mb=112, tasks_max=1))
    assert settings["cpu"] == {"cpu.shares": 1024, "cpu.cfs_quota_us": -1}


def test_the_quota_is_the_plans_alone() -> None:
    """No quota of the harness's own: unit_settings takes the resources alone, servers() no quota."""
    assert not hasattr(co, "quota_cpus")
    assert list(inspect.signature(co.unit_settings).parameters) == ["resources"]
    assert list(inspect.signature(co.servers).parameters) == ["model", "run_dir", "port", "cgroups"]
    assert list(inspect.signature(co.plan).parameters)[-1] == "quota_percent"
    assert inspect.signature(co.plan).parameters["quota_percent"].default is None


@pytest.mark.parametrize(("quota_percent", "quotas"), [
    (None, {"cpu": 95, "io": 48, "mixed": 48}),  # the role's default 95: 95 x 2 CPUs x 2/4, 1/4 (47.5 -> 48)
    (95, {"cpu": 95, "io": 48, "mixed": 48}),
    (110, {"cpu": 110, "io": 55, "mixed": 55}),  # 110 x 2 x 2/4 = 110, 110 x 2 x 1/4 = 55
    (10, {"cpu": 10, "io": 5, "mixed": 5}),
    (0, {"cpu": None, "io": None, "mixed": None}),  # CPUWeight alone
])
def test_plan_passes_the_quota_percent_to_the_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     quota_percent, quotas: dict) -> None:
    seen = []
    real = co._model.build_model

    def spy(*args, **kwargs):
        seen.append(kwargs.get("resources"))
        return real(*args, **kwargs)

    monkeypatch.setattr(co._model, "build_model", spy)
    model = co.plan(tmp_path, list(co.PROJECTS), UNEQUAL, None, "instance", PORT, BACKEND_BASE, HOST, quota_percent)
    assert seen == [{"cpu_quota_percent": quota_percent}]
    resources = {g["name"]: g["instance"]["resources"] for g in model["groups"]}
    assert {n: r["cpu_quota_percent"] for n, r in resources.items()} == quotas
    assert {n: r["cpu_weight"] for n, r in resources.items()} == {"cpu": 200, "io": 100, "mixed": 100}
    for name, quota in quotas.items():
        (line,) = [line for line in model["explanation"] if line.startswith(f"resources of group {name} ")]
        if quota is None:
            assert "; no CPUQuota (wsgi_resource_cpu_quota_percent is 0); " in line
        else:
            assert f"; CPUQuota {quota}% = {quota_percent or 95}% x 2 CPUs x weight " in line


def test_plan_refuses_a_quota_percent_the_role_refuses(tmp_path: Path) -> None:
    with pytest.raises(co._model.PlanError, match=r"^wsgi_resource_cpu_quota_percent: must be a whole number from 10"):
        co.plan(tmp_path, list(co.PROJECTS), EQUAL, None, "instance", PORT, BACKEND_BASE, HOST, 5)


def test_plan_shared_has_no_quota_whatever_the_percent(tmp_path: Path) -> None:
    for quota_percent in (None, 0, 110):
        model = co.plan(tmp_path, list(co.PROJECTS), EQUAL, None, "shared", PORT, BACKEND_BASE, HOST, quota_percent)
        assert all("instance" not in g for g in model["groups"])
        assert not any("CPUQuota" in line for line in model["explanation"])


@pytest.mark.parametrize(("quota_percent", "quota_us"), [(None, 64000), (110, 74000), (0, -1)])
def test_servers_write_the_quota_of_each_unit(tmp_path: Path, quota_percent, quota_us) -> None:
    model = co.plan(tmp_path, list(co.PROJECTS), EQUAL, None, "instance", PORT, BACKEND_BASE, HOST, quota_percent)
    cgroups = FakeCgroups()
    co.servers(model, tmp_path, PORT, cgroups)
    quotas = {name: settings["cpu"].get("cpu.cfs_quota_us") for name, settings in cgroups.calls if settings}
    # 2 CPUs x 1/3 each: 95% -> 63.33 -> 64% = 64 ms of every 100; 110% -> 73.33 -> 74%; 0: none (-1).
    assert quotas == {f"wsgi/apache2@wsgi-{n}-blue.service": quota_us for n in ("cpu", "io", "mixed")}
    assert ("system", None) in cgroups.calls  # the front: no settings of its own


class Planned(Exception):
    """Raised by the spy of co.plan: one_run stops before it starts anything."""


@pytest.mark.parametrize("quota_percent", [None, 0, 110])
def test_one_run_plans_with_the_runs_quota_else_the_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            quota_percent) -> None:
    seen = {}

    def spy(run_dir, projects, weights, sizes, isolation, port, backend_base, host, quota=None):
        seen[len(seen)] = (isolation, weights["cpu"], quota)
        raise Planned

    monkeypatch.setattr(co, "plan", spy)
    args = argparse.Namespace(quota_percent=quota_percent)
    for run in script.runs():
        with pytest.raises(Planned):
            script.one_run(run, 0, tmp_path, HOST, 100, FakeCgroups(), args)
    by_run = [(r["label"], r["isolation"], r["weights"]) for r in script.runs()]
    quotas = {key: seen[i][2] for i, key in enumerate(by_run)}
    # The runs of CPUWeight alone have no quota (0) whatever --quota-percent says; the others take it.
    for key, quota in quotas.items():
        assert quota == (0 if key[0] == script.WEIGHTS_ONLY else quota_percent), key
    assert [seen[i][:2] for i, key in enumerate(by_run) if key[0] == script.WEIGHTS_ONLY] == [
        ("instance", 1.0), ("instance", 2.0)]


def test_the_weights_only_runs_are_rows_of_their_own() -> None:
    rows = script.summarize([result("instance", GOOD), result("instance", GOOD, label=script.WEIGHTS_ONLY),
                             result("instance", GOOD, label=script.WEIGHTS_ONLY, weights="2:1:1")])
    assert [(r["label"], r["weights"]) for r in rows] == [
        ("module, joint", "1:1:1"), ("module, joint, CPUWeight alone", "1:1:1"),
        ("module, joint, CPUWeight alone", "2:1:1")]
    assert [line.split(": worst")[0] for line in verdict(rows)] == [
        "module, joint, instance, 1:1:1", "module, joint, CPUWeight alone, instance, 1:1:1",
        "module, joint, CPUWeight alone, instance, 2:1:1"]


class Parsed(Exception):
    """Raised once main() has parsed its options: nothing after that runs."""


_PARSE_ARGS = argparse.ArgumentParser.parse_args


def options(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> argparse.Namespace:
    """bench/colocate.py's options for ``argv``, main() stopped right after parsing them."""
    got = []

    def parse(self, args=None, namespace=None):
        got.append(_PARSE_ARGS(self, args, namespace))
        raise Parsed

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse)
    monkeypatch.setattr(script.sys, "argv", ["colocate.py", *argv])
    with pytest.raises(Parsed):
        script.main()
    (namespace,) = got
    return namespace


def test_the_quota_percent_option(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    assert options(monkeypatch, []).quota_percent is None
    assert not hasattr(options(monkeypatch, []), "quota")
    parsed = options(monkeypatch, ["--quota-percent", "110"]).quota_percent
    assert parsed == 110 and isinstance(parsed, int)
    assert options(monkeypatch, ["--quota-percent", "0"]).quota_percent == 0
    for bad in ("1.5", "x"):
        with pytest.raises(SystemExit) as exited:
            options(monkeypatch, ["--quota-percent", bad])
        assert exited.value.code == 2
        assert "--quota-percent: invalid int value" in capsys.readouterr().err


@pytest.mark.parametrize(("quota_percent", "sentence"), [
    (None, " In isolation instance each unit has the plan's CPUQuota (the role's default, 95 % of its weight's share"
           " of the CPUs), except the runs \"module, joint, CPUWeight alone\", which have CPUWeight and no CPUQuota;"
           " the near-empty app has none."),
    (110, " In isolation instance each unit has the plan's CPUQuota at `--quota-percent 110`, except the runs"
          " \"module, joint, CPUWeight alone\", which have CPUWeight and no CPUQuota; the near-empty app has none."),
    (0, " In isolation instance no unit has a CPUQuota (`--quota-percent 0`): CPUWeight alone."),
])
def test_write_markdown_says_which_quota(tmp_path: Path, quota_percent, sentence: str) -> None:
    data = report(script.summarize([result("instance", GOOD)]), None)
    data["args"]["quota_percent"] = quota_percent
    path = tmp_path / "colocate.md"
    script.write_markdown(data, path)
    (line,) = [line for line in path.read_text(encoding="utf-8").splitlines() if "CPUQuota" in line]
    assert line.endswith(sentence)
    assert "--quota " not in line and "does not write" not in line

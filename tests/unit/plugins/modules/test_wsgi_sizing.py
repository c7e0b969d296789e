# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests of the wsgi_sizing module's main(): arguments in, exit_json/fail_json out."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.modwsgi.fleet.plugins.module_utils import _sizing
from ansible_collections.modwsgi.fleet.plugins.modules import wsgi_sizing
from ansible_collections.modwsgi.fleet.tests.unit.plugins.modules.harness import ExitJson, FailJson, run_main


def run(args: dict[str, Any], outcome: type[Exception] = ExitJson) -> dict[str, Any]:
    """Run main() with ``args``; return what it passed to exit_json or fail_json."""
    return run_main(wsgi_sizing.main, args, outcome)


KEYSTONE = {"name": "keystone", "cpu_ms": 8, "wait_ms": 40, "rss_mb": 120, "peak_rps": 150}
LEGACY = {"name": "legacy", "thread_safe": False, "cpu_ms": 20, "wait_ms": 80, "rss_mb": 90, "weight": 0.5}
HOST = {"cpus": 8, "memory_mb": 16384}


def no_gathering() -> _sizing.Host:
    raise AssertionError("host facts must not be gathered when host is given")


def test_sizes_given_host_like_the_pure_function(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wsgi_sizing, "gather_host", no_gathering)
    result = run({"host": HOST, "projects": [KEYSTONE, LEGACY]})
    assert result["changed"] is False
    expected = _sizing.size_projects([KEYSTONE, LEGACY], HOST, _sizing.DEFAULT_RESERVE_MB).to_dict()
    assert {k: result[k] for k in expected} == expected
    assert result["budget_mb"] == HOST["memory_mb"] - 1024  # the documented default reserve
    assert result["host"]["source"] == "given"
    assert result["projects"]["legacy"]["threads"] == 1
    for name in ("keystone", "legacy"):
        assert {"processes", "threads", "processes_explicit"} <= set(result["projects"][name])
    assert {"server_limit", "threads_per_child", "max_request_workers"} <= set(result["apache"])


def test_check_mode_gives_the_same_answer_and_changes_nothing() -> None:
    args = {"host": HOST, "reserve_memory_mb": 2048, "projects": [KEYSTONE, LEGACY]}
    normal = run(args)
    checked = run(dict(args, _ansible_check_mode=True))
    assert checked == normal
    assert checked["changed"] is False and checked["budget_mb"] == 16384 - 2048


def test_host_is_gathered_when_omitted(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_gather() -> _sizing.Host:
        calls.append(True)
        return _sizing.Host(cpus=2, memory_mb=4096, source="gathered", cpus_from="x", memory_from="y")

    monkeypatch.setattr(wsgi_sizing, "gather_host", fake_gather)
    result = run({"projects": [KEYSTONE]})
    assert calls == [True]
    assert result["host"] == {"cpus": 2, "memory_mb": 4096, "source": "gathered", "cpus_from": "x", "memory_from": "y"}
    assert result["budget_mb"] == 4096 - 1024


def test_host_is_gathered_from_proc_and_cgroups(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    files = {
        "proc/meminfo": "MemTotal:        8388608 kB\n",
        "proc/self/cgroup": "0::/system.slice/apache2.service\n",
        "sys/fs/cgroup/system.slice/apache2.service/cpu.max": "300000 100000\n",
        "sys/fs/cgroup/system.slice/apache2.service/memory.max": f"{6144 * 1024 * 1024}\n",
    }
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    monkeypatch.setattr(wsgi_sizing, "gather_host", functools.partial(_sizing.gather_host, str(tmp_path), 16))
    result = run({"projects": [KEYSTONE], "_ansible_check_mode": True})
    assert result["host"] == {
        "cpus": 3,
        "memory_mb": 6144,
        "source": "gathered",
        "cpus_from": "cgroup v2 cpu.max",
        "memory_from": "cgroup v2 memory.max",
    }
    assert result["budget_mb"] == 6144 - 1024


def test_bad_project_fails_with_the_pure_message() -> None:
    bad = dict(KEYSTONE, cpu_ms=-3)
    result = run({"host": HOST, "projects": [bad]}, FailJson)
    assert result["msg"] == "project 'keystone': field 'cpu_ms': must be > 0 (got -3)"
    assert result["failed"] is True


@pytest.mark.parametrize(
    ("project", "message"),
    [
        (dict(KEYSTONE, path="/srv"), "project 'keystone': field 'path': unknown field;"),
        (dict(KEYSTONE, threads="many"), "project 'keystone': field 'threads': must be an integer (got 'many')"),
        (dict(LEGACY, threads=4), "project 'legacy': field 'threads': must be 1 when thread_safe is false (got 4)"),
        ("keystone", "project #1: must be a dict (got str)"),
    ],
)
def test_project_errors_name_project_and_field(project: Any, message: str) -> None:
    assert run({"host": HOST, "projects": [project]}, FailJson)["msg"].startswith(message)


def test_memory_shortfall_fails_naming_projects() -> None:
    result = run({"host": {"cpus": 2, "memory_mb": 1200}, "projects": [KEYSTONE, LEGACY]}, FailJson)
    assert result["msg"] == (
        "even one process per project needs 210 MB, more than the budget of 176 MB:"
        " keystone (1 x 120 MB), legacy (1 x 90 MB); short by 34 MB"
    )


def test_host_fields_are_checked_by_the_argument_spec() -> None:
    result = run({"host": {"cpus": "eight", "memory_mb": 4096}, "projects": [KEYSTONE]}, FailJson)
    assert "cpus" in result["msg"]


def test_warnings_are_emitted_and_returned(module_exits: list[str]) -> None:
    busy = dict(KEYSTONE, peak_rps=5000)  # 5000 x (8 + 0.4) ms = 42 CPUs of work on an 8-CPU host
    result = run({"host": HOST, "projects": [busy]})
    assert result["sizing_warnings"] and module_exits == result["sizing_warnings"]
    # The 8 CPUs serve 8000 / 8.4 = 952.38 rps.
    assert "keystone: peak_rps 5000 needs 42 CPUs, the host has 8: sized for 952.38 rps" in module_exits


def test_argument_spec_matches_documentation() -> None:
    """A quick local check of what ansible-test validate-modules checks in depth."""
    options = yaml.safe_load(wsgi_sizing.DOCUMENTATION)["options"]

    def compare(doc: dict[str, Any], spec: dict[str, Any]) -> None:
        assert sorted(doc) == sorted(spec)
        for name, doc_opt in doc.items():
            spec_opt = spec[name]
            assert doc_opt.get("type", "str") == spec_opt.get("type", "str"), name
            assert doc_opt.get("elements") == spec_opt.get("elements"), name
            assert doc_opt.get("default") == spec_opt.get("default"), name
            assert bool(doc_opt.get("required")) == bool(spec_opt.get("required")), name
            compare(doc_opt.get("suboptions", {}), spec_opt.get("options", {}))

    compare(options, wsgi_sizing.ARGUMENT_SPEC)
    assert yaml.safe_load(wsgi_sizing.DOCUMENTATION)["attributes"]["check_mode"]["support"] == "full"
    returned = set(yaml.safe_load(wsgi_sizing.RETURN))
    assert returned == set(_sizing.size_projects([KEYSTONE], HOST).to_dict())
    project_keys = set(yaml.safe_load(wsgi_sizing.RETURN)["projects"]["contains"])
    assert project_keys == set(_sizing.size_projects([KEYSTONE], HOST).to_dict()["projects"]["keystone"])


def test_overhead_ms_reaches_the_model() -> None:
    """An I/O-bound project alone on 2 CPUs: the share it is sized for serves requests of 1 ms + the overhead."""
    io = {"name": "io", "cpu_ms": 1, "wait_ms": 50, "rss_mb": 100}
    host = {"cpus": 2, "memory_mb": 8192}
    default = run({"host": host, "projects": [io]})
    given = run({"host": host, "projects": [io], "overhead_ms": 1.0})
    # Default 0.4 ms: 2000 / 1.4 = 1428.571 rps; busy 1428.571 x 0.051 = 72.857, x1.5 = 109.3 -> 110 concurrent.
    assert default["overhead_ms"] == 0.4
    assert (default["projects"]["io"]["model"]["rps"], default["projects"]["io"]["model"]["concurrency"]) == (
        1428.571, 110)
    # 1 ms: 2000 / 2 = 1000 rps; busy 51, x1.5 = 76.5 -> 77 concurrent.
    assert given["overhead_ms"] == 1.0
    assert (given["projects"]["io"]["model"]["rps"], given["projects"]["io"]["model"]["concurrency"]) == (1000, 77)
    assert given["explanation"][0].endswith("; Apache and mod_wsgi cost 1 ms CPU per request")
    assert given == dict(_sizing.size_projects([io], host, 1024, 0, 1.0).to_dict(), changed=False)
    refused = run({"host": host, "projects": [io], "overhead_ms": -1}, FailJson)
    assert refused["msg"] == "field 'overhead_ms': must be >= 0 (got -1.0)"

# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests of the wsgi_plan module's main(): arguments in, exit_json/fail_json out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.modwsgi.fleet.plugins.module_utils._model import build_model
from ansible_collections.modwsgi.fleet.plugins.modules import wsgi_plan
from ansible_collections.modwsgi.fleet.tests.unit.plugins.modules.harness import ExitJson, FailJson, run_main


def run(args: dict[str, Any], outcome: type[Exception] = ExitJson) -> dict[str, Any]:
    """Run main() with ``args``; return what it passed to exit_json or fail_json."""
    return run_main(wsgi_plan.main, args, outcome)


KEYSTONE = {"name": "keystone", "script": "/usr/bin/keystone-wsgi-public", "port": 5000, "processes": 4, "threads": 1}
PROJECT1 = {"name": "project1", "source": "files/project1.wsgi", "daemon": "portal", "path": "/project1"}
PROJECT2 = {"name": "project2", "source": "files/project2.wsgi", "daemon": "portal", "path": "/project2",
            "pip_packages": ["flask>=3"]}
RETIRED = {"name": "retired", "state": "absent"}
PROJECTS = [KEYSTONE, PROJECT1, PROJECT2, RETIRED]


def test_success_returns_the_plan_and_changes_nothing() -> None:
    result = run({"projects": PROJECTS})
    assert result["changed"] is False
    assert "failed" not in result
    expected = build_model(PROJECTS)
    assert {k: result[k] for k in expected} == expected
    assert [g["name"] for g in result["groups"]] == ["keystone", "portal"]
    assert result["listen"] == [80, 5000] and result["absent"] == ["retired"]
    assert result["venvs"] == [{"python_home": "/srv/wsgi/portal/venv", "packages": ["flask>=3"]}]


def test_defaults_of_the_module_options() -> None:
    """base_dir /srv/wsgi, default_threads 15, reserved_ports [] as documented."""
    result = run({"projects": [PROJECT1]})
    assert result["projects"][0]["script"] == "/srv/wsgi/project1/project1.wsgi"
    assert result["groups"][0]["threads"] == 15
    assert result["listen"] == [80]


def test_module_options_are_passed_on_and_converted() -> None:
    result = run({"projects": [KEYSTONE, PROJECT1], "base_dir": "/opt/apps", "default_threads": "7",
                  "reserved_ports": ["80", 443]})
    assert result["projects"][1]["script"] == "/opt/apps/project1/project1.wsgi"
    assert {g["name"]: g["threads"] for g in result["groups"]} == {"keystone": 1, "portal": 7}
    assert result["listen"] == [5000]


def test_check_mode_gives_the_same_answer() -> None:
    normal = run({"projects": PROJECTS})
    checked = run({"projects": PROJECTS, "_ansible_check_mode": True})
    assert checked == normal
    assert checked["changed"] is False


@pytest.mark.parametrize(
    ("projects", "start"),
    [
        ([KEYSTONE, dict(PROJECT1, port=0)], "Invalid wsgi_projects: project 'project1': field 'port': "),
        ([dict(KEYSTONE, user="root")], "Invalid wsgi_projects: project 'keystone': field 'user': "),
        ([dict(KEYSTONE, path="/a b")], "Invalid wsgi_projects: project 'keystone': field 'path': "),
        ([dict(KEYSTONE, options={"processes": 2})], "Invalid wsgi_projects: project 'keystone': field 'options.processes': "),
        ([dict(KEYSTONE, server_name="a.com\nListen 1")], "Invalid wsgi_projects: project 'keystone': field 'server_name': "),
        ([KEYSTONE, dict(PROJECT1, port=5000, path="/")],
         "Invalid wsgi_projects: project 'project1': field 'path': "),
        ([dict(PROJECT1, threads=4), dict(PROJECT2, threads=8)],
         "Invalid wsgi_projects: project 'project2': field 'threads': "),
        ([KEYSTONE, dict(KEYSTONE, port=5001)], "Invalid wsgi_projects: project 'keystone': field 'name': "),
    ],
)
def test_bad_project_fails_naming_project_and_field(projects: list[Any], start: str) -> None:
    result = run({"projects": projects}, FailJson)
    assert result["failed"] is True
    assert result["msg"].startswith(start), result["msg"]


def test_bad_name_fails_naming_the_entry() -> None:
    result = run({"projects": [KEYSTONE, dict(KEYSTONE, name="a\nb")]}, FailJson)
    assert result["msg"].startswith("Invalid wsgi_projects: wsgi_projects[1]: field 'name': ")


def test_bad_project_fails_in_check_mode_too() -> None:
    result = run({"projects": [dict(KEYSTONE, threads=0)], "_ansible_check_mode": True}, FailJson)
    assert result["msg"].startswith("Invalid wsgi_projects: project 'keystone': field 'threads': ")


def test_projects_is_required() -> None:
    assert "projects" in run({}, FailJson)["msg"]


def test_option_too_new_for_the_hosts_mod_wsgi_is_refused_naming_both_versions() -> None:
    project = dict(KEYSTONE, options={"interrupt-timeout": 30})
    result = run({"projects": [project], "mod_wsgi_version": "4.9.4-1+b2"}, FailJson)
    assert result["msg"] == ("Invalid wsgi_projects: project 'keystone': field 'options.interrupt-timeout': "
                             "needs mod_wsgi 6.0 or later, and this host has mod_wsgi 4.9.4")
    assert run({"projects": [project], "mod_wsgi_version": "6.0.0"})["changed"] is False


def test_documentation_matches_the_module() -> None:
    """A quick local check of what ansible-test validate-modules checks in depth."""
    doc = yaml.safe_load(wsgi_plan.DOCUMENTATION)
    options = doc["options"]
    assert sorted(options) == ["base_dir", "daemon_options", "default_threads", "front_end", "host_facts",
                               "instance_port_base", "isolation", "mod_wsgi_version", "overhead_ms", "projects",
                               "reserve_memory_mb", "reserved_ports", "resources"]
    assert options["daemon_options"]["default"] == {}
    assert (options["isolation"]["default"], options["instance_port_base"]["default"]) == ("shared", 20000)
    assert options["projects"]["required"] is True
    assert (options["base_dir"]["default"], options["default_threads"]["default"], options["reserved_ports"]["default"]) == (
        "/srv/wsgi", 15, [])
    assert options["mod_wsgi_version"]["default"] == ""
    assert doc["attributes"]["check_mode"]["support"] == "full"
    yaml.safe_load(wsgi_plan.EXAMPLES)
    example = yaml.safe_load(wsgi_plan.EXAMPLES)[0]["modwsgi.fleet.wsgi_plan"]
    assert run(example)["changed"] is False


def test_return_documents_every_key() -> None:
    returned = yaml.safe_load(wsgi_plan.RETURN)
    result = run({"projects": PROJECTS})
    assert set(returned) == set(result) - {"changed"}
    assert set(returned["groups"]["contains"]) == set(result["groups"][0]) | {"instance"}
    isolated = run({"projects": PROJECTS, "isolation": "instance"})
    assert set(returned["groups"]["contains"]) == set(isolated["groups"][0])


# The hostile corpus that molecule/safety also feeds through the role.
CORPUS = yaml.safe_load((Path(__file__).resolve().parents[3] / "hostile" / "corpus.yml").read_text(encoding="utf-8"))


def test_hostile_corpus_is_large_and_varied() -> None:
    cases = CORPUS["cases"]
    assert len(cases) >= 50
    assert len({case["field"] for case in cases}) >= 15
    text = json.dumps([case["value"] for case in cases])
    for needle in ("\\n", "\\\"", "'", "<", ">", " ", "%{", "..", "$(", "`", ";", "|", "\\u201c"):
        assert needle in text, needle


# The good projects that molecule/safety puts the spoiled project next to.
SAFETY_PROJECTS = yaml.safe_load((Path(__file__).resolve().parents[4] / "molecule" / "safety" / "group_vars" /
                                  "wsgi_hosts.yml").read_text(encoding="utf-8"))["wsgi_projects"]


def case_id(case: dict[str, Any]) -> str:
    text = "%s=%r" % (case["field"], case["value"])
    if case.get("with"):
        text += " with %s" % ",".join("%s=%s" % item for item in sorted(case["with"].items()))
    if case.get("neighbours"):
        text += " next to %s" % ",".join(n["name"] for n in case["neighbours"])
    return text


def spoiled(case: dict[str, Any]) -> dict[str, Any]:
    """The corpus project with the case's further fields and its spoiled field, as both consumers build it."""
    entry = dict(CORPUS["project"])
    entry.update(case.get("with", {}))
    entry[case["field"]] = case["value"]
    return {k: v for k, v in entry.items() if k not in case.get("drop", [])}


@pytest.mark.parametrize("case", CORPUS["cases"], ids=case_id)
def test_hostile_corpus_is_refused_by_the_module(case: dict[str, Any]) -> None:
    result = run({"projects": [KEYSTONE, spoiled(case)] + case.get("neighbours", [])}, FailJson)
    if case["field"] == "name":
        expected = "Invalid wsgi_projects: wsgi_projects[1]: field 'name': "
    else:
        expected = "Invalid wsgi_projects: project 'hostile': field '%s': " % case.get("label", case["field"])
    assert result["msg"].startswith(expected), result["msg"]
    assert "\n" not in result["msg"]


@pytest.mark.parametrize("case", [c for c in CORPUS["cases"] if c.get("neighbours")], ids=case_id)
def test_hostile_corpus_neighbours_are_good_on_their_own_ports(case: dict[str, Any]) -> None:
    """Without the spoiled project (or with the corpus project as it is) the neighbours plan, next to
    KEYSTONE and next to molecule/safety's projects alike, on ports that nothing else there uses."""
    neighbours = case["neighbours"]
    others = [KEYSTONE, CORPUS["project"]] + SAFETY_PROJECTS
    assert not {n.get("port", 80) for n in neighbours} & {p.get("port", 80) for p in others}
    assert all(7002 <= n["port"] <= 7009 for n in neighbours)
    for good in ([KEYSTONE], SAFETY_PROJECTS):
        assert run({"projects": good + neighbours})["changed"] is False
        if "daemon" not in case.get("with", {}):
            continue
        assert run({"projects": good + [dict(CORPUS["project"], daemon=case["with"]["daemon"])] + neighbours})


# --- Host facts, sizing and the front end (build_model through the module) ---

GLANCE = {"name": "glance", "script": "/srv/wsgi/glance/glance.wsgi", "port": 9292,
          "sizing": {"cpu_ms": 40, "wait_ms": 40, "rss_mb": 60, "peak_rps": 50}}
HOST_FACTS = {"cpus": 2, "memory_mb": 4096, "cpus_from": "sched_getaffinity", "memory_from": "/proc/meminfo MemTotal",
              "mod_wsgi_installed": True, "mod_wsgi_version": "4.9.4-1+b2", "mod_wsgi_python": "3.11"}
FRONT_END = {"server_limit": 16, "threads_per_child": 25, "max_request_workers": 400}


def test_host_facts_and_front_end_give_sized_groups_and_the_front_end() -> None:
    result = run({"projects": [KEYSTONE, PROJECT1, GLANCE], "host_facts": HOST_FACTS, "front_end": FRONT_END})
    expected = build_model([KEYSTONE, PROJECT1, GLANCE], HOST_FACTS, front_end=FRONT_END)
    assert {k: result[k] for k in expected} == expected
    glance = [g for g in result["groups"] if g["name"] == "glance"][0]
    assert (glance["sized"], glance["processes"], glance["threads"], glance["mode"]) == (True, 2, 2, "worker")
    front = result["front_end"]
    assert {k: front[k] for k in FRONT_END} == FRONT_END and front["raised"] is False
    assert front["daemon_capacity"] == 4 * 1 + 15 + 4  # keystone, portal, glance
    assert result["explanation"][-1] == front["explanation"]
    assert result["host"]["mod_wsgi_python"] == "3.11"


def test_without_front_end_the_module_returns_none() -> None:
    result = run({"projects": [GLANCE], "host_facts": HOST_FACTS})
    assert result["front_end"] is None
    assert [line.split(":")[0] for line in result["explanation"]] == ["host", "glance", "memory"]


def test_front_end_too_small_is_raised_by_the_module() -> None:
    busy = [dict(KEYSTONE, name="k%d" % i, port=6000 + i, processes=4, threads=25) for i in range(5)]
    front = run({"projects": busy, "host_facts": HOST_FACTS, "front_end": FRONT_END})["front_end"]
    assert (front["daemon_capacity"], front["max_request_workers"], front["raised"]) == (500, 625, True)
    assert front["server_limit"] >= 625 // 25


@pytest.mark.parametrize("value", [-1, 0, "fast"])
def test_bad_sizing_value_fails_naming_project_and_field(value: Any) -> None:
    projects = [KEYSTONE, dict(PROJECT1, sizing=dict(GLANCE["sizing"], cpu_ms=value))]
    result = run({"projects": projects, "host_facts": HOST_FACTS}, FailJson)
    assert result["msg"].startswith("Invalid wsgi_projects: project 'project1': field 'sizing.cpu_ms': "), result["msg"]
    assert "portal" not in result["msg"] and "\n" not in result["msg"]


def test_a_budget_that_cannot_fit_fails() -> None:
    projects = [dict(GLANCE, processes=4, sizing=dict(GLANCE["sizing"], rss_mb=800))]
    result = run({"projects": projects, "host_facts": dict(HOST_FACTS, memory_mb=2048), "reserve_memory_mb": 1024},
                 FailJson)
    assert result["msg"].startswith("Invalid wsgi_projects: sizing on this host (2 CPUs, 2048 MB, 1024 MB reserved): ")
    assert result["msg"].endswith("short by 2176 MB")


def test_bad_front_end_number_fails_naming_the_apache_variable() -> None:
    result = run({"projects": [KEYSTONE], "front_end": dict(FRONT_END, threads_per_child=0)}, FailJson)
    assert result["msg"].startswith("Invalid wsgi_projects: apache_mpm_event_threads_per_child: "), result["msg"]
    incomplete = {"server_limit": 16, "threads_per_child": 25}
    assert "max_request_workers" in run({"projects": [KEYSTONE], "front_end": incomplete}, FailJson)["msg"]


def test_mod_wsgi_version_comes_from_the_facts_unless_given() -> None:
    projects = [dict(KEYSTONE, options={"interrupt-timeout": 30})]
    refused = run({"projects": projects, "host_facts": HOST_FACTS}, FailJson)
    assert refused["msg"].endswith("needs mod_wsgi 6.0 or later, and this host has mod_wsgi 4.9.4")
    result = run({"projects": projects, "host_facts": HOST_FACTS, "mod_wsgi_version": "6.0.0"})
    assert result["host"]["mod_wsgi_version"] == "6.0.0"


def test_sizing_warnings_are_module_warnings(module_exits: list[str]) -> None:
    hungry = dict(GLANCE, sizing=dict(GLANCE["sizing"], peak_rps=1000))
    result = run({"projects": [hungry], "host_facts": HOST_FACTS})
    assert result["sizing_warnings"] and module_exits == result["sizing_warnings"]
    # Shared isolation: 1000 rps x (40 + 0.4) ms = 40.4 CPUs; the 2 CPUs serve 2000 / 40.4 = 49.5 rps.
    assert module_exits[0] == "glance: peak_rps 1000 needs 40.4 CPUs, the host has 2: sized for 49.5 rps"

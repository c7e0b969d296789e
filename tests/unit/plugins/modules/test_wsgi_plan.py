# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests of the wsgi_plan module's main(): arguments in, exit_json/fail_json out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.modwsgi.fleet.plugins.module_utils._plan import build_plan
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
    expected = build_plan(PROJECTS).to_dict()
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
    assert sorted(options) == ["base_dir", "default_threads", "mod_wsgi_version", "projects", "reserved_ports"]
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
    assert set(returned["groups"]["contains"]) == set(result["groups"][0])


# The hostile corpus that molecule/safety also feeds through the role.
CORPUS = yaml.safe_load((Path(__file__).resolve().parents[3] / "hostile" / "corpus.yml").read_text(encoding="utf-8"))


def test_hostile_corpus_is_large_and_varied() -> None:
    cases = CORPUS["cases"]
    assert len(cases) >= 50
    assert len({case["field"] for case in cases}) >= 15
    text = json.dumps([case["value"] for case in cases])
    for needle in ("\\n", "\\\"", "'", "<", ">", " ", "%{", "..", "$(", "`", ";", "|", "\\u201c"):
        assert needle in text, needle


@pytest.mark.parametrize("case", CORPUS["cases"], ids=lambda case: "%s=%r" % (case["field"], case["value"]))
def test_hostile_corpus_is_refused_by_the_module(case: dict[str, Any]) -> None:
    entry = dict(CORPUS["project"], **{case["field"]: case["value"]})
    entry = {k: v for k, v in entry.items() if k not in case.get("drop", [])}
    result = run({"projects": [KEYSTONE, entry]}, FailJson)
    if case["field"] == "name":
        expected = "Invalid wsgi_projects: wsgi_projects[1]: field 'name': "
    else:
        expected = "Invalid wsgi_projects: project 'hostile': field '%s': " % case.get("label", case["field"])
    assert result["msg"].startswith(expected), result["msg"]
    assert "\n" not in result["msg"]

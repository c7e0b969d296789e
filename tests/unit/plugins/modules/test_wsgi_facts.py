# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests of the wsgi_facts module's main(): arguments in, exit_json/fail_json out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.modwsgi.fleet.plugins.module_utils._model import build_model
from ansible_collections.modwsgi.fleet.plugins.doc_fragments.module import ModuleDocFragment
from ansible_collections.modwsgi.fleet.plugins.modules import wsgi_facts
from ansible_collections.modwsgi.fleet.tests.unit.plugins.modules.harness import ExitJson, FailJson, run_main

HOST = {"cpus": 2, "memory_mb": 4096}


def run(args: dict[str, Any], outcome: type[Exception] = ExitJson) -> dict[str, Any]:
    """Run main() with ``args``; return what it passed to exit_json or fail_json."""
    return run_main(wsgi_facts.main, args, outcome)


@pytest.fixture(name="module_file")
def fixture_module_file(tmp_path: Path) -> str:
    """A stand-in for mod_wsgi.so that links libpython 3.11."""
    path = tmp_path / "mod_wsgi.so"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56 + b"\x00libc.so.6\x00libpython3.11.so.1.0\x00")
    return str(path)


def test_installed_mod_wsgi_with_a_given_host(module_file: str) -> None:
    result = run({"mod_wsgi_module": module_file, "version_command": ["sh", "-c", "echo 4.9.4-1"], "host": HOST})
    assert result["changed"] is False and "failed" not in result
    assert result["host_facts"] == {
        "cpus": 2,
        "memory_mb": 4096,
        "cpus_from": "given",
        "memory_from": "given",
        "mod_wsgi_installed": True,
        "mod_wsgi_version": "4.9.4-1",
        "mod_wsgi_python": "3.11",
        "instances": None,
    }


def test_the_instances_state_file_is_read(module_file: str, tmp_path: Path) -> None:
    state = tmp_path / "instances.json"
    args = {"mod_wsgi_module": module_file, "version_command": ["sh", "-c", "echo 4.9.4-1"], "host": HOST,
            "instances_state": str(state)}
    assert run(args)["host_facts"]["instances"] is None, "no file yet: no instance was ever started"
    state.write_text('{"groups": {"keystone": {"live": "blue", "ports": {"blue": 20000, "green": 20001}}}}')
    facts = run(args)["host_facts"]
    assert facts["instances"]["groups"]["keystone"]["live"] == "blue"
    model = build_model([{"name": "keystone", "script": "/srv/k/k.wsgi", "port": 5000}], facts, isolation="instance")
    assert model["groups"][0]["instance"]["ports"] == {"blue": 20000, "green": 20001}
    state.write_text("{not json")
    failed = run(args, FailJson)
    assert "instances state %s: is not JSON" % state in failed["msg"]


def test_the_facts_are_what_wsgi_plan_takes(module_file: str) -> None:
    facts = run({"mod_wsgi_module": module_file, "version_command": ["sh", "-c", "echo 4.9.4-1+b2"],
                 "host": {"cpus": 4, "memory_mb": 8192}})["host_facts"]
    result = build_model([{"name": "glance", "script": "/srv/wsgi/glance/glance.wsgi",
                           "sizing": {"cpu_ms": 10, "wait_ms": 40, "rss_mb": 100}}], facts)
    assert result["host"]["mod_wsgi_version"] == "4.9.4-1+b2"
    assert result["explanation"][0].startswith("host: 4 CPUs (given), 8192 MB (given); budget 7168 MB")


def test_host_numbers_given_as_strings_are_converted(module_file: str) -> None:
    facts = run({"mod_wsgi_module": module_file, "version_command": ["sh", "-c", "echo 5.0.2-1"],
                 "host": {"cpus": "3", "memory_mb": "2048"}})["host_facts"]
    assert (facts["cpus"], facts["memory_mb"], facts["mod_wsgi_version"]) == (3, 2048, "5.0.2-1")


def test_a_missing_version_command_means_not_installed(module_file: str, tmp_path: Path) -> None:
    for command in (["no-such-package-query-modwsgi-fleet", "--show"], [str(tmp_path / "absent" / "dpkg-query")]):
        result = run({"mod_wsgi_module": module_file, "version_command": command, "host": HOST})
        assert "failed" not in result
        facts = result["host_facts"]
        assert facts["mod_wsgi_installed"] is False
        assert (facts["mod_wsgi_version"], facts["mod_wsgi_python"]) == ("", "")
        assert (facts["cpus"], facts["memory_mb"]) == (2, 4096)


@pytest.mark.parametrize(
    "script",
    [
        "echo 'dpkg-query: no packages found matching libapache2-mod-wsgi-py3' >&2; exit 1",
        "echo 'package python3-mod_wsgi is not installed'; exit 1",
        "echo 4.9.4-1; exit 1",
        "echo garbage output",
    ],
)
def test_a_failing_or_odd_version_query_means_not_installed(module_file: str, script: str) -> None:
    facts = run({"mod_wsgi_module": module_file, "version_command": ["sh", "-c", script], "host": HOST})["host_facts"]
    assert (facts["mod_wsgi_installed"], facts["mod_wsgi_version"], facts["mod_wsgi_python"]) == (False, "", "")


def test_installed_without_a_readable_module_has_no_python(tmp_path: Path) -> None:
    facts = run({"mod_wsgi_module": str(tmp_path / "missing.so"), "version_command": ["sh", "-c", "echo 4.9.4-1"],
                 "host": HOST})["host_facts"]
    assert (facts["mod_wsgi_installed"], facts["mod_wsgi_version"], facts["mod_wsgi_python"]) == (True, "4.9.4-1", "")


def test_check_mode_gives_the_same_answer(module_file: str) -> None:
    args = {"mod_wsgi_module": module_file, "version_command": ["sh", "-c", "echo 4.9.4-1"], "host": HOST}
    assert run(dict(args, _ansible_check_mode=True)) == run(args)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ({"version_command": ["true"]}, "mod_wsgi_module"),
        ({"mod_wsgi_module": "/x.so"}, "version_command"),
        ({"mod_wsgi_module": "/x.so", "version_command": ["true"], "host": {"cpus": 2}}, "memory_mb"),
        ({"mod_wsgi_module": "/x.so", "version_command": ["true"], "host": {"cpus": "two", "memory_mb": 1}}, "cpus"),
    ],
)
def test_bad_arguments_fail(args: dict[str, Any], needle: str) -> None:
    result = run(args, FailJson)
    assert result["failed"] is True and needle in result["msg"]


def test_documentation_examples_and_return_parse_and_match_the_module(module_file: str) -> None:
    doc = yaml.safe_load(wsgi_facts.DOCUMENTATION)
    assert doc["module"] == "wsgi_facts"
    assert sorted(doc["options"]) == ["host", "instances_state", "mod_wsgi_module", "version_command"]
    assert doc["options"]["mod_wsgi_module"]["required"] is True
    assert doc["options"]["version_command"]["required"] is True
    assert sorted(doc["options"]["host"]["suboptions"]) == ["cpus", "memory_mb"]
    # check_mode, diff_mode and idempotent as every module that only reads (plugins/doc_fragments/module.py)
    assert doc["extends_documentation_fragment"] == ["modwsgi.fleet.module", "modwsgi.fleet.module.reads_only"]
    assert "attributes" not in doc and "author" not in doc
    assert yaml.safe_load(ModuleDocFragment.READS_ONLY)["attributes"]["check_mode"]["support"] == "full"
    examples = yaml.safe_load(wsgi_facts.EXAMPLES)
    assert examples[0]["modwsgi.fleet.wsgi_facts"]["version_command"][0] == "dpkg-query"
    returned = yaml.safe_load(wsgi_facts.RETURN)
    result = run({"mod_wsgi_module": module_file, "version_command": ["sh", "-c", "echo 4.9.4-1"], "host": HOST})
    assert set(returned) == set(result) - {"changed"}
    contains = returned["host_facts"]["contains"]
    assert set(contains) == set(result["host_facts"])
    kinds = {"int": int, "str": str, "bool": bool, "dict": dict}
    assert result["host_facts"]["instances"] is None, "no state file given"
    for key, value in result["host_facts"].items():
        if value is None:
            continue
        assert isinstance(value, kinds[contains[key]["type"]]), key
        assert isinstance(contains[key]["sample"], kinds[contains[key]["type"]]), key


def test_an_empty_version_command_fails_cleanly(module_file: str) -> None:
    result = run({"mod_wsgi_module": module_file, "version_command": [], "host": HOST}, FailJson)
    assert "version_command" in result["msg"]

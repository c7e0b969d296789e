# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The wsgi_plan action plugin plans in the worker and answers as the module does.

Controller code: ansible-test runs it apart from the module tests, so it
compares with the function the module itself calls (``plan_from_args``).
"""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.modwsgi.fleet.plugins.action.wsgi_plan import ActionModule
from ansible_collections.modwsgi.fleet.plugins.module_utils._model import PLAN_ARGUMENT_SPEC, plan_from_args
from ansible_collections.modwsgi.fleet.plugins.module_utils._plan import PlanError

KEYSTONE = {"name": "keystone", "script": "/usr/bin/keystone-wsgi-public", "port": 5000, "processes": 4, "threads": 1}
SIZED = {"name": "api", "source": "files/api.wsgi", "port": 8080,
         "sizing": {"cpu_ms": 5, "wait_ms": 20, "rss_mb": 30, "peak_rps": 5}}
HOST = {"cpus": 2, "memory_mb": 4096, "mod_wsgi_installed": True, "mod_wsgi_version": "4.9.4", "mod_wsgi_python": "3.11"}


def from_module(args: dict[str, Any]) -> dict[str, Any]:
    """What the module computes: its arguments validated against the same spec, then plan_from_args."""
    validated = ArgumentSpecValidator(PLAN_ARGUMENT_SPEC).validate(args)
    assert validated.error_messages == []
    return plan_from_args(validated.validated_parameters)


def act(args: dict[str, Any]) -> dict[str, Any]:
    task = MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = False
    task.diff = False
    connection = MagicMock()
    action = ActionModule(task=task, connection=connection, play_context=MagicMock(), loader=MagicMock(),
                          templar=MagicMock(), shared_loader_obj=None)
    result = action.run(task_vars={})
    assert not connection.method_calls, "the plan never touches the host's connection"
    return result


@pytest.mark.parametrize("args", [
    {"projects": [KEYSTONE]},
    {"projects": [KEYSTONE, SIZED], "host_facts": HOST, "isolation": "instance"},
    {"projects": [SIZED], "host_facts": HOST,
     "front_end": {"server_limit": 4, "threads_per_child": 25, "max_request_workers": 100}},
], ids=["plain", "sized-instance", "front-end"])
def test_the_action_answers_what_the_module_answers(args: dict[str, Any]) -> None:
    model = from_module(args)
    from_action = act(args)
    assert not from_action.get("failed"), from_action
    assert from_action["changed"] is False
    assert {key: from_action[key] for key in model} == model
    assert from_action.get("warnings", []) == list(model["sizing_warnings"])


def test_a_bad_project_fails_naming_the_project_and_the_field() -> None:
    bad = dict(KEYSTONE, port="http")
    with pytest.raises(PlanError) as raised:
        from_module({"projects": [bad]})
    from_action = act({"projects": [bad]})
    assert from_action["failed"] is True
    assert from_action["msg"] == "Invalid wsgi_projects: %s" % raised.value
    assert "project 'keystone'" in from_action["msg"] and "'port'" in from_action["msg"]


@pytest.mark.parametrize(("args", "needle"), [
    ({}, "projects"),
    ({"projects": [KEYSTONE], "isolation": "both"}, "isolation"),
    ({"projects": [KEYSTONE], "front_end": {"server_limit": 4}}, "threads_per_child"),
    ({"projects": [KEYSTONE], "colour": "red"}, "colour"),
], ids=["no projects", "bad choice", "front end incomplete", "unknown argument"])
def test_arguments_are_checked_against_the_module_spec(args: dict[str, Any], needle: str) -> None:
    result = act(args)
    assert result["failed"] is True and needle in result["msg"], result

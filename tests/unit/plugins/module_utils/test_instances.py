# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Isolation instance: each daemon group's blue and green Apache instances, planned from the host's state."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.modwsgi.fleet.plugins.module_utils._instances import check_state, instance_name
from ansible_collections.modwsgi.fleet.plugins.module_utils._model import build_model
from ansible_collections.modwsgi.fleet.plugins.module_utils._plan import PlanError

KEYSTONE = {"name": "keystone", "script": "/srv/k/keystone.wsgi", "port": 5000, "processes": 2, "threads": 25}
NOVA = {"name": "nova-api", "script": "/srv/n/nova.wsgi", "port": 8774, "processes": 5, "threads": 1}
PORTAL = [{"name": "project1", "script": "/srv/p/p1.wsgi", "port": 80, "path": "/project1", "daemon": "portal"},
          {"name": "project2", "script": "/srv/p/p2.wsgi", "port": 80, "path": "/project2", "daemon": "portal"}]


def model(projects: list[dict[str, Any]], state: Any = None, **kwargs: Any) -> dict[str, Any]:
    return build_model(projects, {"instances": state}, isolation="instance", **kwargs)


def instances(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["name"]: g["instance"] for g in result["groups"]}


def state_of(result: dict[str, Any], live: str = "blue") -> dict[str, Any]:
    """The state file the role writes once every group serves from ``live``."""
    return {"groups": {name: {"live": live, "ports": inst["ports"]} for name, inst in instances(result).items()}}


def test_a_new_host_gives_each_group_two_ports_from_the_base_and_starts_blue() -> None:
    result = model([KEYSTONE, NOVA] + PORTAL)
    assert result["isolation"] == "instance"
    got = instances(result)
    assert [got[g]["ports"] for g in ("keystone", "nova-api", "portal")] == [
        {"blue": 20000, "green": 20001}, {"blue": 20002, "green": 20003}, {"blue": 20004, "green": 20005}]
    assert all(inst["live"] is None and inst["next"] == "blue" for inst in got.values())
    assert got["portal"]["names"] == {"blue": "wsgi-portal-blue", "green": "wsgi-portal-green"}
    assert got["portal"]["address"] == "127.0.0.1"
    assert got["portal"]["urls"] == {"blue": "http://127.0.0.1:20004", "green": "http://127.0.0.1:20005"}
    assert result["retired_instances"] == []


def test_groups_keep_their_ports_when_another_is_added_or_removed() -> None:
    first = model([KEYSTONE, NOVA])
    state = state_of(first)
    # "glance" sorts before the others: with fresh numbering it would take their ports.
    added = model([{"name": "glance", "script": "/srv/g/g.wsgi", "port": 9292}, KEYSTONE, NOVA], state)
    assert instances(added)["keystone"]["ports"] == instances(first)["keystone"]["ports"]
    assert instances(added)["nova-api"]["ports"] == instances(first)["nova-api"]["ports"]
    assert instances(added)["glance"]["ports"] == {"blue": 20004, "green": 20005}
    removed = model([NOVA], state)
    assert instances(removed)["nova-api"]["ports"] == instances(first)["nova-api"]["ports"]
    assert removed["retired_instances"] == [
        {"group": "keystone", "names": ["wsgi-keystone-blue", "wsgi-keystone-green"],
         "ports": {"blue": 20000, "green": 20001}}]


def test_the_next_colour_is_the_one_that_is_not_live() -> None:
    first = model([KEYSTONE])
    assert instances(model([KEYSTONE], state_of(first, "blue")))["keystone"]["next"] == "green"
    assert instances(model([KEYSTONE], state_of(first, "green")))["keystone"]["next"] == "blue"


def test_ports_skip_the_public_and_reserved_ones() -> None:
    result = model([dict(KEYSTONE, port=20001)], reserved_ports=[20002], instance_port_base=20000)
    # 20000+20001 holds the public 20001, 20002 is reserved: the first free pair is 20003+20004.
    assert instances(result)["keystone"]["ports"] == {"blue": 20003, "green": 20004}


def test_a_project_moved_onto_an_instance_port_is_refused() -> None:
    state = state_of(model([KEYSTONE, NOVA]))
    with pytest.raises(PlanError, match="daemon group 'keystone': its instances listen on port 20000"):
        model([KEYSTONE, dict(NOVA, port=20000)], state)


def test_each_instance_is_sized_from_its_own_group() -> None:
    got = instances(model([KEYSTONE, NOVA]))
    # keystone: 2 x 25 = 50 threads, + 25% headroom (at least one child of 25): 3 children of 25.
    assert got["keystone"]["mpm"] == {"server_limit": 6, "threads_per_child": 25, "max_request_workers": 75}
    # nova-api: 5 x 1, + a headroom of one child (25): 30 threads in 2 children of 25.
    assert got["nova-api"]["mpm"]["max_request_workers"] == 50


def test_the_probes_ask_each_project_at_each_colours_port() -> None:
    got = instances(model(PORTAL + [dict(KEYSTONE, server_name="identity.example.com")]))
    assert got["portal"]["probes"]["green"] == [
        {"name": "project1", "url": "http://127.0.0.1:20003/project1", "host_header": ""},
        {"name": "project2", "url": "http://127.0.0.1:20003/project2", "host_header": ""}]
    assert got["keystone"]["probes"]["blue"][0]["host_header"] == "identity.example.com"
    assert [m["path"] for m in got["portal"]["mounts"]] == ["/project1", "/project2"]


def test_one_group_cannot_serve_the_same_path_on_two_virtual_hosts() -> None:
    projects = [dict(PORTAL[0], path="/"), dict(PORTAL[1], path="/", port=8080)]
    assert build_model(projects)["groups"][0]["name"] == "portal", "fine in shared isolation"
    with pytest.raises(PlanError, match="project 'project2': field 'path': with wsgi_isolation instance, the "
                                        "projects of daemon group 'portal' share one Apache instance"):
        model(projects)


def test_embedded_mode_needs_shared_isolation() -> None:
    tiny = {"name": "tiny", "script": "/srv/t/t.wsgi", "port": 9393, "mode": "embedded"}
    assert build_model([tiny])["isolation"] == "shared"
    with pytest.raises(PlanError, match="project 'tiny': field 'mode': embedded runs the app inside the main"):
        model([tiny])


def test_an_unknown_isolation_is_refused() -> None:
    with pytest.raises(PlanError, match="wsgi_isolation: must be shared or instance, got 'isolated'"):
        build_model([KEYSTONE], isolation="isolated")


def test_shared_isolation_retires_every_recorded_instance_and_plans_none() -> None:
    state = state_of(model([KEYSTONE, NOVA]))
    result = build_model([KEYSTONE, NOVA], {"instances": state})
    assert "instance" not in result["groups"][0]
    assert [r["group"] for r in result["retired_instances"]] == ["keystone", "nova-api"]


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ([], "must be a mapping with 'groups'"),
        ({"groups": []}, "must be a mapping with 'groups'"),
        ({"groups": {"bad name": {}}}, "instances.groups.bad name': must be a daemon group's entry"),
        ({"groups": {"k": {"live": "blue", "ports": {"blue": 1}}}}, "ports must map blue and green"),
        ({"groups": {"k": {"live": "blue", "ports": {"blue": 1, "green": True}}}}, "ports must map blue and green"),
        ({"groups": {"k": {"live": "red", "ports": {"blue": 1, "green": 2}}}}, "live must be blue, green or null"),
    ],
)
def test_a_bad_state_file_is_refused_naming_the_field(state: Any, message: str) -> None:
    with pytest.raises(PlanError, match="host facts: field 'instances"):
        model([KEYSTONE], state)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        check_state(state)


def test_a_bad_port_base_is_refused() -> None:
    for base in (80, 65535, "20000", True):
        with pytest.raises(PlanError, match="wsgi_instance_port_base: must be a port number"):
            model([KEYSTONE], instance_port_base=base)


def test_instance_names_are_unit_and_directory_names() -> None:
    assert instance_name("nova-api", "green") == "wsgi-nova-api-green"

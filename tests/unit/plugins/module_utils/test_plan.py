# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit and property tests of the pure planning logic (plugins/module_utils/_plan.py)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Iterable

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.modwsgi.fleet.plugins.module_utils._plan import (
    MAX_PROCESSES,
    MAX_THREADS,
    PlanError,
    build_plan,
    parse_version,
)
from ansible_collections.modwsgi.fleet.plugins.module_utils._sizing import environ_flags as promised_flags

PROPERTY = settings(deadline=None, max_examples=100)
SCRIPT = "/srv/wsgi/app/app.wsgi"


def project(name: str = "app", **fields: Any) -> dict[str, Any]:
    """A valid daemon-mode project; fields set to ... are removed."""
    raw: dict[str, Any] = {"name": name, "script": SCRIPT}
    raw.update(fields)
    return {k: v for k, v in raw.items() if v is not ...}


def plan(*projects: Any, **kwargs: Any) -> dict[str, Any]:
    return build_plan(list(projects), **kwargs).to_dict()


def failure(*projects: Any, **kwargs: Any) -> str:
    with pytest.raises(PlanError) as info:
        build_plan(list(projects), **kwargs)
    return str(info.value)


def group(result: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [g for g in result["groups"] if g["name"] == name]
    return found


def one_project(result: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [p for p in result["projects"] if p["name"] == name]
    return found


def mount_paths(result: dict[str, Any], port: int = 80, server_name: str | None = None) -> list[str]:
    (vhost,) = [v for v in result["vhosts"] if (v["port"], v["server_name"]) == (port, server_name)]
    return [m["path"] for m in vhost["mounts"]]


# --- The documented table ------------------------------------------------------


@pytest.mark.parametrize(
    ("processes", "threads", "multithread", "multiprocess", "mode"),
    [
        (None, 25, True, False, "winnt"),
        (1, 25, True, True, "winnt"),
        (2, 25, True, True, "worker"),
        (5, 1, False, True, "prefork"),
    ],
    ids=["threads=25", "processes=1 threads=25", "processes=2 threads=25", "processes=5 threads=1"],
)
def test_promised_flags_follow_the_source_document(
    processes: int | None, threads: int, multithread: bool, multiprocess: bool, mode: str
) -> None:
    assert promised_flags(processes, threads) == {"multithread": multithread, "multiprocess": multiprocess, "mode": mode}


@given(processes=st.one_of(st.none(), st.integers(1, MAX_PROCESSES)), threads=st.integers(1, MAX_THREADS))
@PROPERTY
def test_promised_flags_multiprocess_iff_processes_written(processes: int | None, threads: int) -> None:
    flags = promised_flags(processes, threads)
    assert flags["multiprocess"] is (processes is not None)
    assert flags["multithread"] is (threads > 1)


# --- Defaults -------------------------------------------------------------------


def test_defaults_are_filled_in() -> None:
    result = plan(project("keystone"))
    assert one_project(result, "keystone") == {
        "name": "keystone",
        "state": "present",
        "mode": "daemon",
        "script": SCRIPT,
        "source": None,
        "port": 80,
        "path": "/",
        "server_name": None,
        "user": "keystone",
        "group": "keystone",
        "python_home": None,
        "python_path": [],
        "pip_packages": [],
        "processes": None,
        "threads": None,
        "options": {},
        "daemon": "keystone",
        "application_group": "%{GLOBAL}",
        "pass_authorization": False,
        "sizing": None,
        "tls": None,
        "static": [],
        "code": None,
        "data_dirs": [],
        "probe": {"name": "keystone", "url": "http://127.0.0.1:80/", "host_header": ""},
    }
    daemon = group(result, "keystone")
    assert (daemon["processes"], daemon["processes_explicit"], daemon["threads"]) == (None, False, 15)
    assert (daemon["user"], daemon["group"], daemon["projects"]) == ("keystone", "keystone", ["keystone"])
    assert result["listen"] == [80] and result["embedded"] is False and result["absent"] == []
    assert result["venvs"] == [] and result["accounts"] == [{"user": "keystone", "group": "keystone"}]


def test_default_threads_and_base_dir_are_used() -> None:
    result = plan(project("blog", script=..., source="files/blog.wsgi"), base_dir="/opt/apps", default_threads=7)
    assert one_project(result, "blog")["script"] == "/opt/apps/blog/blog.wsgi"
    assert one_project(result, "blog")["source"] == "files/blog.wsgi"
    assert group(result, "blog")["threads"] == 7


@pytest.mark.parametrize(("given_value", "expected"), [("8080", 8080), (" 8080 ", 8080), (8080, 8080), (1, 1), (65535, 65535)])
def test_port_accepts_whole_numbers_and_digit_strings(given_value: Any, expected: int) -> None:
    assert plan(project(port=given_value))["listen"] == [expected]


@pytest.mark.parametrize(("processes", "threads"), [(1, 1), (MAX_PROCESSES, MAX_THREADS), ("4", "8")])
def test_processes_and_threads_limits_are_inclusive(processes: Any, threads: Any) -> None:
    daemon = group(plan(project(processes=processes, threads=threads)), "app")
    assert (daemon["processes"], daemon["threads"], daemon["processes_explicit"]) == (int(processes), int(threads), True)


def test_user_defaults_to_group_name_and_group_to_user() -> None:
    result = plan(project("a", daemon="portal"), project("b", daemon="portal", path="/b"), project("c", user="svc", port=81))
    assert (group(result, "portal")["user"], group(result, "portal")["group"]) == ("portal", "portal")
    assert (group(result, "c")["user"], group(result, "c")["group"]) == ("svc", "svc")
    assert (one_project(result, "a")["user"], one_project(result, "b")["group"]) == ("portal", "portal")


@pytest.mark.parametrize("name", ["Portal", "9lives", "a.b", "x" * 33])
def test_group_name_that_is_no_account_needs_a_user(name: str) -> None:
    message = failure(project("app", daemon=name))
    assert message.startswith("project 'app': field 'user': ") and repr(name) in message
    assert group(plan(project("app", daemon=name, user="svc")), name)["user"] == "svc"


def test_group_is_explicit_when_given() -> None:
    daemon = group(plan(project(user="svc", group="www-data")), "app")
    assert (daemon["user"], daemon["group"]) == ("svc", "www-data")


# --- Shared daemon groups --------------------------------------------------------


def test_shared_group_merges_its_members_settings() -> None:
    result = plan(
        project("project1", daemon="portal", path="/project1", processes=1),
        project("project2", daemon="portal", path="/project2", threads=4, options={"maximum-requests": 500}),
        project("project3", daemon="portal", path="/project3", processes=1, python_path=["/opt/lib"]),
    )
    assert [g["name"] for g in result["groups"]] == ["portal"]
    portal = group(result, "portal")
    assert portal["projects"] == ["project1", "project2", "project3"]
    assert (portal["processes"], portal["threads"], portal["processes_explicit"]) == (1, 4, True)
    assert portal["options"] == {"maximum-requests": 500} and portal["python_path"] == ["/opt/lib"]
    for name in ("project1", "project2", "project3"):
        assert one_project(result, name)["daemon"] == "portal"
        assert one_project(result, name)["application_group"] == "%{RESOURCE}"
    assert {m["group"] for m in result["vhosts"][0]["mounts"]} == {"portal"}


@pytest.mark.parametrize(
    ("field", "first", "second"),
    [
        ("user", "alice", "bob"),
        ("group", "alice", "bob"),
        ("python_home", "/opt/venv1", "/opt/venv2"),
        ("python_path", ["/opt/a"], ["/opt/b"]),
        ("processes", 2, 3),
        ("threads", 4, 5),
        ("options", {"maximum-requests": 100}, {"maximum-requests": 200}),
        ("options", {"maximum-requests": 100}, {"umask": "0002"}),
    ],
)
def test_conflicting_group_settings_fail_naming_both_projects(field: str, first: Any, second: Any) -> None:
    message = failure(
        project("alpha", daemon="portal", path="/a", **{field: first}),
        project("beta", daemon="portal", path="/b", **{field: second}),
    )
    assert re.match(r"^project '(alpha|beta)': field '%s': " % field, message), message
    assert "'alpha'" in message and "'beta'" in message and "'portal'" in message


def test_agreeing_or_silent_members_do_not_conflict() -> None:
    result = plan(
        project("alpha", daemon="portal", path="/a", threads=4, user="svc"),
        project("beta", daemon="portal", path="/b", threads=4),
        project("gamma", daemon="portal", path="/c"),
    )
    assert (group(result, "portal")["threads"], group(result, "portal")["user"]) == (4, "svc")


def test_project_may_name_its_own_group() -> None:
    result = plan(project("keystone", daemon="keystone"))
    assert [g["name"] for g in result["groups"]] == ["keystone"]


# --- Daemon groups have an owner ------------------------------------------------
# A group named after one of its projects is that project's, defaults included;
# the others may leave each group field out or restate the owner's value.

OWNER_START = "project 'intruder': field '%s': daemon group 'owner' belongs to project 'owner', which "
SIZING = {"cpu_ms": 10, "wait_ms": 10, "rss_mb": 50}


def owner(**fields: Any) -> dict[str, Any]:
    return project("owner", daemon="owner", **fields)


def intruder(**fields: Any) -> dict[str, Any]:
    return project("intruder", daemon="owner", path="/intruder", **fields)


def test_joiner_may_not_change_the_owners_user() -> None:
    assert failure(owner(), intruder(user="intruder")) == (
        "project 'intruder': field 'user': daemon group 'owner' belongs to project 'owner', which runs it with "
        "user='owner'; a project that joins it may leave 'user' out or give the same value (got 'intruder')")


@pytest.mark.parametrize(
    ("field", "owner_fields", "value", "why"),
    [
        ("user", {}, "intruder", "runs it with user='owner'; "),
        ("user", {"user": "svc"}, "intruder", "runs it with user='svc'; "),
        ("group", {}, "intruder", "runs it with group='owner'; "),
        ("group", {"user": "svc"}, "owner", "runs it with group='svc'; "),
        ("processes", {}, 8, "runs it without processes; a project that joins it must leave 'processes' out (got 8)"),
        ("processes", {}, 1, "runs it without processes; "),
        ("processes", {"processes": 2}, 3, "runs it with processes=2; "),
        ("processes", {"sizing": SIZING}, 2, "has wsgi_sizing compute its processes; "),
        ("threads", {}, 4, "runs it with threads=15; "),
        ("threads", {"threads": 1}, 25, "runs it with threads=1; "),
        ("threads", {"sizing": SIZING}, 15, "has wsgi_sizing compute its threads; "),
        ("python_home", {}, "/opt/evil", "runs it without python_home; "),
        ("python_home", {"pip_packages": ["flask"]}, "/opt/evil", "runs it with python_home='/srv/wsgi/owner/venv'; "),
        ("python_path", {}, ["/opt/evil"], "runs it without python_path; "),
        ("python_path", {"python_path": ["/opt/a", "/opt/b"]}, ["/opt/b", "/opt/a"], "with python_path=["),
        ("options", {}, {"maximum-requests": 1}, "runs it without options; "),
        ("options", {"options": {"maximum-requests": 100}}, {"maximum-requests": 100, "umask": "0002"},
         "runs it with options={'maximum-requests': 100}; "),
        ("pip_packages", {}, ["evil"], "runs it without pip_packages; "),
        ("pip_packages", {"pip_packages": ["flask"]}, ["flask", "evil"],
         "runs it with pip_packages=['flask']; a project that joins it may leave 'pip_packages' out or list only "
         "packages it lists too (got ['flask', 'evil'])"),
        ("sizing", {}, SIZING, "runs it without sizing; "),
        ("sizing", {"sizing": SIZING}, dict(SIZING, cpu_ms=500), "runs it with sizing="),
    ],
)
def test_joiner_may_not_change_what_the_owner_runs_with(field: str, owner_fields: dict[str, Any], value: Any,
                                                        why: str) -> None:
    for projects in ([owner(**owner_fields), intruder(**{field: value})],
                     [intruder(**{field: value}), owner(**owner_fields)]):
        message = failure(*projects)
        assert message.startswith(OWNER_START % field), message
        assert why in message and "\n" not in message, message


def test_joiners_pip_packages_turn_no_venv_on_for_the_owner() -> None:
    message = failure(owner(), intruder(pip_packages=["requests"]))
    assert message.startswith(OWNER_START % "pip_packages"), message
    result = plan(owner(), intruder())
    assert group(result, "owner")["python_home"] is None and result["venvs"] == []


def test_joiners_sizing_does_not_size_the_owners_group() -> None:
    message = failure(owner(processes=2, threads=4), intruder(sizing=SIZING))
    assert message.startswith(OWNER_START % "sizing"), message


ALL_SET = {"user": "svc", "group": "www-data", "processes": 2, "threads": 4, "python_path": ["/opt/lib"],
           "options": {"maximum-requests": 500, "umask": "0002"}, "pip_packages": ["flask", "requests>=2"]}


@pytest.mark.parametrize(
    ("owner_fields", "restated"),
    [
        ({}, {}),
        ({}, {"user": "owner", "group": "owner", "threads": 15}),
        (ALL_SET, {}),
        (ALL_SET, dict(ALL_SET, python_home="/srv/wsgi/owner/venv", pip_packages=["requests>=2"])),
        (ALL_SET, {"user": "svc", "pip_packages": ["flask"]}),
        ({"python_home": "/opt/venvs/owner", "sizing": SIZING}, {"python_home": "/opt/venvs/owner", "sizing": SIZING}),
    ],
    ids=["bare owner, silent", "bare owner, defaults restated", "owner sets all, silent",
         "owner sets all, all restated", "some restated", "sized owner, sizing restated"],
)
def test_joiner_restating_or_leaving_out_the_owners_values_is_accepted(
        owner_fields: dict[str, Any], restated: dict[str, Any]) -> None:
    alone = plan(owner(**owner_fields))
    result = plan(owner(**owner_fields), intruder(**restated), project("quiet", daemon="owner", path="/quiet"))
    assert dict(group(result, "owner"), projects=["owner"]) == group(alone, "owner")
    assert group(result, "owner")["projects"] == ["intruder", "owner", "quiet"]
    assert (result["venvs"], result["sizing"], result["accounts"]) == (alone["venvs"], alone["sizing"], alone["accounts"])
    for name in ("intruder", "quiet"):
        joined = one_project(result, name)
        assert (joined["user"], joined["group"], joined["python_home"]) == (
            one_project(alone, "owner")["user"], one_project(alone, "owner")["group"],
            one_project(alone, "owner")["python_home"])


def test_owner_with_a_name_that_is_no_account_needs_a_user_joined_or_not() -> None:
    message = failure(project("Portal", daemon="Portal"), project("b", daemon="Portal", path="/b", user="svc"))
    assert message.startswith("project 'Portal': field 'user': defaults to the daemon group name 'Portal'"), message


def test_project_named_after_a_shared_group_must_say_daemon_to_own_it() -> None:
    project1 = project("project1", daemon="portal", path="/project1")
    project2 = project("project2", daemon="portal", path="/project2")
    message = failure(project1, project2, project("portal", user="x", port=81))
    assert message == (
        "project 'portal': field 'daemon': projects 'project1', 'project2' use daemon group 'portal' "
        "(daemon: portal), which is named after this project; set daemon: portal to own the group (the others "
        "then only restate its settings), or give this project another name")
    assert failure(project1, project("portal", port=81)).startswith(
        "project 'portal': field 'daemon': project 'project1' uses daemon group 'portal' ")
    # Saying so makes it the owner: its settings are the group's.
    result = plan(project1, project2, project("portal", user="x", port=81, daemon="portal"))
    assert group(result, "portal")["user"] == "x" and group(result, "portal")["projects"] == [
        "portal", "project1", "project2"]
    assert failure(dict(project1, processes=1), project2, project("portal", daemon="portal", port=81)).startswith(
        "project 'project1': field 'processes': daemon group 'portal' belongs to project 'portal', which runs it "
        "without processes; ")


def test_project_named_after_a_group_it_does_not_run_in_is_refused() -> None:
    message = failure(project("portal", daemon="other", port=81), project("project1", daemon="portal"),
                      project("project2", daemon="portal", path="/p2"))
    assert message == (
        "project 'project1': field 'daemon': daemon group 'portal' is named after project 'portal', which runs "
        "in daemon group 'other'; ps would show this group as (wsgi:portal), that project's name: give the group "
        "another name, or set daemon: portal on project 'portal'")


def test_a_project_alone_in_its_own_group_is_its_owner_as_before() -> None:
    for fields in ({}, {"daemon": "keystone"}):
        result = plan(project("keystone", processes=4, threads=1, **fields))
        assert group(result, "keystone")["projects"] == ["keystone"]
        assert (group(result, "keystone")["processes"], group(result, "keystone")["threads"]) == (4, 1)


def test_an_absent_or_embedded_project_owns_no_group() -> None:
    joiners = [project("project1", daemon="portal", path="/p1", user="svc"),
               project("project2", daemon="portal", path="/p2")]
    result = plan(*joiners, {"name": "portal", "state": "absent"})
    assert group(result, "portal")["user"] == "svc"
    result = plan(*joiners, project("portal", mode="embedded", port=81))
    assert group(result, "portal")["user"] == "svc" and one_project(result, "portal")["daemon"] is None


def test_example_inventory_still_plans() -> None:
    inventory = Path(__file__).resolve().parents[4] / "inventories" / "example" / "group_vars" / "wsgi_hosts.yml"
    projects = yaml.safe_load(inventory.read_text(encoding="utf-8"))["wsgi_projects"]
    result = plan(*projects)
    assert group(result, "portal")["projects"] == ["project1", "project2"]
    assert (group(result, "portal")["processes"], group(result, "portal")["threads"]) == (1, 1)
    assert {g["name"] for g in result["groups"]} == {p["name"] for p in projects if "daemon" not in p} | {"portal"}


# --- Virtual environments and accounts ------------------------------------------


def test_python_home_defaults_under_the_group_when_pip_packages_given() -> None:
    result = plan(
        project("placement", pip_packages=["flask>=2.2,<4"], port=8778),
        project("alpha", daemon="portal", path="/a", pip_packages=["django>=4.2", "requests"]),
        project("beta", daemon="portal", path="/b", pip_packages=["requests", "celery[redis]"]),
        project("plain", port=9000),
        project("own", port=9001, python_home="/opt/venvs/own", pip_packages=["flask"]),
        base_dir="/srv/apps",
    )
    assert group(result, "placement")["python_home"] == "/srv/apps/placement/venv"
    assert group(result, "portal")["python_home"] == "/srv/apps/portal/venv"
    assert group(result, "plain")["python_home"] is None
    assert group(result, "own")["python_home"] == "/opt/venvs/own"
    assert result["venvs"] == [
        {"python_home": "/opt/venvs/own", "packages": ["flask"]},
        {"python_home": "/srv/apps/placement/venv", "packages": ["flask>=2.2,<4"]},
        {"python_home": "/srv/apps/portal/venv", "packages": ["django>=4.2", "requests", "celery[redis]"]},
    ]


def test_python_home_without_packages_is_no_venv_to_build() -> None:
    result = plan(project(python_home="/opt/venv"))
    assert group(result, "app")["python_home"] == "/opt/venv" and result["venvs"] == []


def test_pip_packages_go_into_the_python_home_of_the_shared_group() -> None:
    result = plan(
        project("alpha", daemon="portal", path="/a", python_home="/opt/venvs/portal"),
        project("beta", daemon="portal", path="/b", pip_packages=["flask"]),
    )
    assert result["venvs"] == [{"python_home": "/opt/venvs/portal", "packages": ["flask"]}]


def test_accounts_are_the_distinct_user_group_pairs() -> None:
    result = plan(
        project("a", user="svc", port=81),
        project("b", user="svc", port=82),
        project("c", user="svc", group="www-data", port=83),
        project("d", port=84),
    )
    assert [(a["user"], a["group"]) for a in result["accounts"]] == [("d", "d"), ("svc", "svc"), ("svc", "www-data")]


# --- Ports and mounts -----------------------------------------------------------


@pytest.mark.parametrize(
    ("ports", "reserved", "listen"),
    [
        ([80, 8080, 5000], None, [80, 5000, 8080]),
        ([80, 8080, 5000], [80, 443], [5000, 8080]),
        ([80, 80], [], [80]),
        ([80], [80], []),
        ([443, 8443], [8443, 9999], [443]),
    ],
)
def test_listen_is_the_projects_ports_minus_reserved(ports: list[int], reserved: Any, listen: list[int]) -> None:
    projects = [project("p%d" % i, port=port, path="/p%d" % i) for i, port in enumerate(ports)]
    assert plan(*projects, reserved_ports=reserved)["listen"] == listen


@pytest.mark.parametrize(
    "paths",
    [
        ["/", "/a", "/a/b"],
        ["/api/v1/x", "/api", "/", "/api/v1"],
        ["/project1", "/project2", "/p"],
        ["/site1", "/"],
        ["/a/b/c/d", "/zzzzzzzzzz", "/b"],
    ],
    ids=",".join,
)
def test_mounts_are_ordered_longest_path_first(paths: list[str]) -> None:
    result = plan(*[project("p%d" % i, path=path) for i, path in enumerate(paths)])
    ordered = mount_paths(result)
    assert sorted(ordered) == sorted(paths)
    assert [len(p) for p in ordered] == sorted((len(p) for p in paths), reverse=True)
    if "/" in paths:
        assert ordered[-1] == "/"
    for i, earlier in enumerate(ordered):
        for later in ordered[i + 1:]:
            assert not later.startswith(earlier.rstrip("/") + "/") and later != earlier


URL_PATHS = st.lists(st.sampled_from(["a", "b", "ab", "abc"]), max_size=3).map(lambda segments: "/" + "/".join(segments))


@given(st.sets(URL_PATHS, min_size=1, max_size=8))
@PROPERTY
def test_a_mount_never_comes_after_a_mount_of_its_prefix(paths: set[str]) -> None:
    ordered = mount_paths(plan(*[project("p%d" % i, path=path) for i, path in enumerate(sorted(paths))]))
    for i, path in enumerate(ordered):
        prefixes = {"/"} | {path[:k] for k in range(1, len(path)) if path[k] == "/"}
        assert not prefixes & set(ordered[:i]), (path, ordered)


def test_vhosts_are_sorted_and_carry_the_mounts() -> None:
    result = plan(
        project("b", port=8080, server_name="b.example.com"),
        project("a", port=8080, server_name="a.example.com"),
        project("z", port=8080),
        project("k", port=5000, pass_authorization=True, application_group="keystone"),
    )
    assert [(v["port"], v["server_name"]) for v in result["vhosts"]] == [
        (5000, None), (8080, None), (8080, "a.example.com"), (8080, "b.example.com"),
    ]
    (mount,) = result["vhosts"][0]["mounts"]
    assert mount == {
        "project": "k", "path": "/", "script": SCRIPT, "script_dir": "/srv/wsgi/app", "group": "k",
        "application_group": "keystone", "pass_authorization": True, "release_root": None,
    }


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({}, {}),
        ({"port": 8080, "path": "/api"}, {"port": "8080", "path": "/api"}),
        ({"server_name": "a.example.com"}, {"server_name": "a.example.com"}),
    ],
)
def test_route_clash_fails_naming_both_projects(first: dict[str, Any], second: dict[str, Any]) -> None:
    message = failure(project("alpha", **first), project("beta", **second))
    assert message.startswith("project 'beta': field 'path': ") and "'alpha'" in message


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"server_name": "a.example.com"}, {"server_name": "b.example.com"}),
        ({"server_name": "a.example.com"}, {}),
        ({"port": 80}, {"port": 8080}),
        ({"path": "/x"}, {"path": "/x/y"}),
    ],
)
def test_same_path_elsewhere_is_fine(first: dict[str, Any], second: dict[str, Any]) -> None:
    result = plan(project("alpha", **first), project("beta", **second))
    assert sorted(m["project"] for v in result["vhosts"] for m in v["mounts"]) == ["alpha", "beta"]


def test_server_names_differing_in_case_clash() -> None:
    message = failure(project("alpha", server_name="Example.com"), project("beta", server_name="example.com"))
    assert "'alpha'" in message and "'beta'" in message


# --- Absent projects ------------------------------------------------------------


def test_absent_projects_are_listed_and_not_laid_out() -> None:
    result = plan(
        project("keep", port=8080),
        {"name": "retired", "state": "absent"},
        project("old", state="absent", port=9090, daemon="portal"),
        {"name": "gone", "state": "absent", "script": "not even checked"},
    )
    assert result["absent"] == ["gone", "old", "retired"]
    assert [p["name"] for p in result["projects"]] == ["keep"]
    assert [g["name"] for g in result["groups"]] == ["keep"]
    assert result["listen"] == [8080]
    assert [m["project"] for v in result["vhosts"] for m in v["mounts"]] == ["keep"]


def test_an_absent_project_frees_its_route() -> None:
    result = plan(project("new"), project("old", state="absent"))
    assert mount_paths(result) == ["/"] and result["absent"] == ["old"]


def test_absent_project_still_needs_a_good_unique_name() -> None:
    assert failure(project("a"), {"name": "a b", "state": "absent"}).startswith("wsgi_projects[1]: field 'name': ")
    message = failure(project("a"), {"name": "a", "state": "absent"})
    assert message.startswith("project 'a': field 'name': ") and re.search(r"\b0\b.*\b1\b", message), message


# --- Embedded mode --------------------------------------------------------------


def test_embedded_project_runs_without_a_daemon_group() -> None:
    result = plan(project("emb", mode="embedded", path="/emb"), project("dae", path="/dae"))
    assert result["embedded"] is True
    assert [g["name"] for g in result["groups"]] == ["dae"]
    emb = one_project(result, "emb")
    assert (emb["mode"], emb["daemon"], emb["user"], emb["application_group"]) == ("embedded", None, None, "%{RESOURCE}")
    mounts = {m["project"]: m for m in result["vhosts"][0]["mounts"]}
    assert mounts["emb"]["group"] is None and mounts["dae"]["group"] == "dae"
    assert result["accounts"] == [{"user": "dae", "group": "dae"}]


def test_no_embedded_project_means_embedded_false() -> None:
    assert plan(project())["embedded"] is False
    assert plan(project(mode="daemon"), project("e", mode="embedded", state="absent"))["embedded"] is False


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("daemon", "portal"),
        ("user", "svc"),
        ("group", "svc"),
        ("python_home", "/opt/venv"),
        ("python_path", ["/opt/lib"]),
        ("pip_packages", ["flask"]),
        ("processes", 2),
        ("threads", 4),
        ("threads", 1),
        ("options", {"maximum-requests": 10}),
        ("sizing", {"cpu_ms": 10}),
    ],
)
def test_embedded_mode_refuses_daemon_only_fields(field: str, value: Any) -> None:
    message = failure(project("emb", mode="embedded", **{field: value}))
    assert message.startswith("project 'emb': field '%s': " % field), message


# --- Hostile and malformed values -------------------------------------------------

TYPOGRAPHIC_CHARS = "\u201c\u201d\u2033\u2018\u2019"  # the document's curly double quotes and double prime, and curly single quotes


def case(field: str, value: Any, label: str | None = None, drop: Iterable[str] = ()) -> Any:
    """One hostile (field, value); label is the field the message must name."""
    return pytest.param(field, value, label or field, tuple(drop), id="%s=%r" % (field, value))


HOSTILE = [
    # names: the message names the list index, as the name cannot be trusted
    *[case("name", v) for v in [
        "a b", "a\nb", "'a'", '"a"', "\u201ca\u201d", "<a>", "a;b", "a|b", "$(id)", "`id`", "a\x00", "../a",
        "-a", ".a", "", "a" * 65, "%{GLOBAL}", "a/b", 123, None, True, ["a"],
    ]],
    case("name", "app\n"),
    # URL paths
    *[case("path", v) for v in [
        "relative", "/a/", "/a b", "/a\nb", '/a"b', "/a'b", "/a\u201d", "/a\u2033", "/<a>", "/a>", "/a;b", "/a|b",
        "/$(id)", "/`id`", "/a\x00", "/../etc", "/a/./b", "/a/..", "//a", "/%{X}", "/a?b", "/a#b", "", 5, None,
    ]],
    case("path", "/a\n"),
    # the script on the host
    *[case("script", v) for v in [
        "app.wsgi", "srv/app.wsgi", "/srv/app/", "/srv/my app.wsgi", "/srv/a\nb.wsgi", '/srv/a".wsgi', "/srv/a'.wsgi",
        "/srv/\u2033.wsgi", "/srv/../etc/passwd", "/srv/./app.wsgi", "/srv/$(id).wsgi", "/srv/`id`.wsgi",
        "/srv/a;b.wsgi", "/srv/a|b.wsgi", "/srv/x\x00.wsgi", "/srv/%{X}.wsgi", "/srv/<a>.wsgi", "/", "", 5,
    ]],
    case("script", "/srv/app.wsgi\n"),
    case("source", "a\nb.wsgi", drop=["script"]),
    case("source", "a\x00.wsgi", drop=["script"]),
    case("source", "", drop=["script"]),
    case("source", 5, drop=["script"]),
    # accounts
    *[case("user", v) for v in ["root", "Root", "a b", "a\nb", "$(id)", "`id`", "a;b", "'a'", "a|b", "-a", "a" * 33, "", 0]],
    *[case("group", v) for v in ["root", "a|b", "a b", "<a>", "\u201ca\u201d"]],
    case("user", "root\n"),
    # host names
    *[case("server_name", v) for v in [
        "a b.com", "a.com\nServerAlias evil.com", "<a.com>", "\u201ca.com\u201d", "'a.com'", "a.com;", "a_b.com",
        "-a.com", "a-.com", "%{HTTP_HOST}", "a..com", "a.com:80", "http://a.com", "a.com/x", "a.com.", "", 5, "*",
    ]],
    case("server_name", "a.example.com\n"),
    # ports, processes, threads
    *[case("port", v) for v in [0, 65536, -1, "80a", "0x50", "", True, False, 80.0, None, [80], "8 0"]],
    case("port", "\u00b2"),
    *[case("processes", v) for v in [0, MAX_PROCESSES + 1, -1, "two", True, 2.5, "1e3"]],
    *[case("threads", v) for v in [0, MAX_THREADS + 1, "many", False, 1.0]],
    # WSGIDaemonProcess options
    *[case("options", {"umask": v}, "options.umask") for v in [
        "0002 evil=1", "0002\nWSGIDaemonProcess x", '"0002"', "'0002'", "\u201c0002\u201d", "%{GLOBAL}", "$(id)",
        "`id`", "a;b", "a|b", "<a>", "", True, -1, None, 1.5, ["0002"],
    ]],
    case("options", {"umask": "0002\n"}, "options.umask"),
    *[case("options", {key: 1}, "options." + key) for key in [
        "foo", "Umask", "maximum_requests", "processes", "threads", "user", "group", "display-name",
        "python-home", "python-path", "umask evil",
    ]],
    case("options", {"graceful-timeout": "15\nWSGIDaemonProcess x"}, "options.graceful-timeout"),
    case("options", {"lang": "en_US.UTF-8 evil=1"}, "options.lang"),
    case("options", {"home": "/srv/$(id)"}, "options.home"),
    case("options", {"supplementary-groups": "adm\nx"}, "options.supplementary-groups"),
    case("options", {"server-metrics": "On\n"}, "options.server-metrics"),
    case("options", "maximum-requests=10"),
    case("options", ["maximum-requests"]),
    # pip requirements (never rendered into Apache, but handed to pip)
    *[case("pip_packages", [v], "pip_packages[0]") for v in [
        "flask\nrequests", "flask requests", "flask; os_name=='nt'", "-e git+https://x", "--index-url=http://x",
        "$(id)", "`id`", "flask|x", "'flask'", "\u201cflask\u201d", "flask\x00", "", 5, None,
    ]],
    case("pip_packages", ["flask", "ok", "bad pkg"], "pip_packages[2]"),
    case("pip_packages", ["flask\n"], "pip_packages[0]"),
    case("pip_packages", "flask"),
    # venv and module paths
    *[case("python_home", v) for v in ["venv", "/opt/venv/", "/opt/my venv", "/opt/../venv", "/opt/$(id)", 5]],
    *[case("python_path", [v], "python_path[0]") for v in ["lib", "/a:/b", "/a b", "/a\nb", "/a/../b"]],
    case("python_path", "/opt/lib"),
    # the remaining fields
    *[case("application_group", v) for v in ["%{ENV:X}", "a b", "%{GLOBAL}x", "'x'", "$(id)", "", 5]],
    case("application_group", "%{GLOBAL}\n"),
    *[case("pass_authorization", v) for v in ["yes", "true", 1, 0, None]],
    *[case("daemon", v) for v in ["a b", "a\nb", "../x", "<x>", "", 5]],
    case("state", "gone"),
    case("state", None),
    case("mode", "wsgi"),
    case("mode", None),
    # fields that do not exist
    *[case(key, "x") for key in ["nmae", "WSGIDaemonProcess", "processes ", "Path", "listen"]],
    # sizing metadata: the keys are checked here, the values by wsgi_sizing
    case("sizing", "cpu_ms=10"),
    case("sizing", {"cpu_ms": 10, "threads": 4}, "sizing.threads"),
]


@pytest.mark.parametrize(("field", "value", "label", "drop"), HOSTILE)
def test_hostile_value_is_rejected_naming_project_and_field(field: str, value: Any, label: str, drop: tuple[str, ...]) -> None:
    hostile = {k: v for k, v in dict(project("app"), **{field: value}).items() if k not in drop}
    message = failure(project("good", port=8080), hostile)
    if field == "name":
        assert message.startswith("wsgi_projects[1]: field 'name': "), message
    else:
        assert message.startswith("project 'app': field '%s': " % label), message
    # One line, whatever the value: Ansible shows the message as is.
    assert "\n" not in message and "\x00" not in message


def test_corpus_is_large_enough() -> None:
    assert len(HOSTILE) >= 50


# --- TLS per virtual host ------------------------------------------------------------

CERT = {"tls_certificate": "/etc/ssl/certs/api.pem", "tls_key": "/etc/ssl/private/api.key"}


def test_tls_is_a_setting_of_the_virtual_host() -> None:
    result = plan(project("a", port=8443, path="/a", **CERT), project("b", port=8443, path="/b", **CERT),
                  project("c", port=80))
    by_port = {v["port"]: v for v in result["vhosts"]}
    assert by_port[8443]["tls"] == {"certificate": "/etc/ssl/certs/api.pem", "key": "/etc/ssl/private/api.key"}
    assert by_port[80]["tls"] is None
    assert result["listen"] == [80, 8443]


def test_tls_needs_both_files() -> None:
    assert failure(project("a", tls_certificate=CERT["tls_certificate"])).startswith(
        "project 'a': field 'tls_key': give both")
    assert failure(project("a", tls_key=CERT["tls_key"])).startswith("project 'a': field 'tls_certificate': give both")


def test_probe_asks_on_loopback_with_the_scheme_and_host_name_of_the_virtual_host() -> None:
    result = plan(project("api", port=8443, path="/v2", server_name="API.example.com", **CERT),
                  project("web", port=8080))
    assert one_project(result, "api")["probe"] == {
        "name": "api", "url": "https://127.0.0.1:8443/v2", "host_header": "api.example.com"}
    assert one_project(result, "web")["probe"] == {"name": "web", "url": "http://127.0.0.1:8080/", "host_header": ""}


@pytest.mark.parametrize("field", ["tls_certificate", "tls_key"])
@pytest.mark.parametrize("value", ["cert.pem", "/etc/ssl/my cert.pem", "/etc/ssl/../x", "/etc/ssl/a\nb", 5])
def test_tls_paths_are_checked(field: str, value: Any) -> None:
    message = failure(project("a", **dict(CERT, **{field: value})))
    assert message.startswith("project 'a': field '%s': " % field), message


def test_projects_of_one_virtual_host_agree_on_tls() -> None:
    message = failure(project("a", port=8443, path="/a", **CERT), project("b", port=8443, path="/b"))
    assert message.startswith("project 'b': field 'tls_certificate': project 'a' on the same virtual host"), message
    other = {"tls_certificate": "/etc/ssl/certs/other.pem", "tls_key": CERT["tls_key"]}
    message = failure(project("a", port=8443, path="/a", **CERT), project("b", port=8443, path="/b", **other))
    assert "must agree" in message


def test_one_port_is_either_tls_or_plain() -> None:
    message = failure(project("a", port=8443, server_name="a.example.com", **CERT),
                      project("b", port=8443, server_name="b.example.com"))
    assert message == ("project 'b': field 'tls_certificate': port 8443 is served with TLS by project 'a'; "
                       "one port is either TLS or plain HTTP")


# --- WSGIDaemonProcess options: values by kind, names by mod_wsgi version ----------


@pytest.mark.parametrize(
    ("key", "value", "rendered"),
    [
        ("graceful-timeout", 15, 15),
        ("graceful-timeout", "15", 15),
        ("eviction-timeout", 0, 0),
        ("maximum-requests", 10000, 10000),
        ("listen-backlog", 500, 500),
        ("cpu-priority", -5, -5),
        ("umask", "0022", "0022"),
        ("umask", "027", "027"),
        ("lang", "en_US.UTF-8", "en_US.UTF-8"),
        ("locale", "C.UTF-8", "C.UTF-8"),
        ("home", "/srv/wsgi/app", "/srv/wsgi/app"),
        ("python-eggs", "/var/cache/eggs", "/var/cache/eggs"),
        ("script-user", "www-data", "www-data"),
        ("supplementary-groups", ["ssl-cert", "adm"], "ssl-cert,adm"),
        ("supplementary-groups", "ssl-cert,adm", "ssl-cert,adm"),
        ("server-metrics", True, "On"),
        ("server-metrics", "Off", "Off"),
    ],
)
def test_option_values_are_checked_and_rendered_by_kind(key: str, value: Any, rendered: Any) -> None:
    assert group(plan(project("app", options={key: value})), "app")["options"] == {key: rendered}


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("graceful-timeout", "15s", "must be a whole number of seconds"),
        ("graceful-timeout", -1, "must be from 0 to"),
        ("graceful-timeout", 1.5, "must be a whole number of seconds"),
        ("graceful-timeout", True, "must be a whole number of seconds"),
        ("maximum-requests", "many", "must be a whole number"),
        ("maximum-requests", 2 ** 31, "must be from 0 to"),
        ("cpu-priority", 21, "from -20 to 20"),
        ("umask", 18, "in quotes such as '0022'"),
        ("umask", "0999", "octal umask"),
        ("lang", "en US", "a locale"),
        ("home", "srv/app", "an absolute path"),
        ("script-user", "root", "must not be root"),
        ("socket-user", "#0", "a system account name"),
        ("supplementary-groups", [], "a list of group names"),
        ("supplementary-groups", "adm,,x", "a list of group names"),
        ("supplementary-groups", "adm wheel", "a list of group names"),
        ("server-metrics", "yes", "must be On or Off"),
        ("switch-interval", 0, "above 0"),
    ],
)
def test_option_values_of_the_wrong_kind_are_refused(key: str, value: Any, why: str) -> None:
    message = failure(project("app", options={key: value}))
    assert message.startswith("project 'app': field 'options.%s': " % key), message
    assert why in message, message


@pytest.mark.parametrize("key", ["interrupt-timeout", "switch-interval"])
@pytest.mark.parametrize("version", ["4.9.4-1+b2", "5.0.2-1", "4.7.1"])
def test_option_newer_than_the_hosts_mod_wsgi_is_refused_naming_both_versions(key: str, version: str) -> None:
    value = 30 if key == "interrupt-timeout" else 0.005
    message = failure(project("app", options={key: value}), mod_wsgi_version=version)
    assert message == "project 'app': field 'options.%s': needs mod_wsgi 6.0 or later, and this host has " \
        "mod_wsgi %s" % (key, version.split("-")[0])


@pytest.mark.parametrize("version", ["6.0.0", "6.1", "1:6.0.2-1"])
def test_option_is_accepted_from_its_first_mod_wsgi_version(version: str) -> None:
    result = plan(project("app", options={"interrupt-timeout": 30}), mod_wsgi_version=version)
    assert group(result, "app")["options"] == {"interrupt-timeout": 30}


def test_unknown_mod_wsgi_version_checks_values_only() -> None:
    assert group(plan(project("app", options={"interrupt-timeout": 30})), "app")["options"] == {"interrupt-timeout": 30}
    assert "options.interrupt-timeout" in failure(project("app", options={"interrupt-timeout": "soon"}))


@pytest.mark.parametrize(("text", "version"), [
    ("4.9.4", (4, 9, 4)), ("4.9.4-1+b2", (4, 9, 4)), ("5.0.2-1", (5, 0, 2)), ("1:6.0.0-1", (6, 0, 0)),
    (" 4.7.1", (4, 7, 1)), ("", None), ("abc", None), (None, None), (4.9, None),
])
def test_parse_version(text: Any, version: Any) -> None:
    assert parse_version(text) == version


def test_odd_mod_wsgi_version_is_an_error() -> None:
    assert failure(project("app"), mod_wsgi_version="latest").startswith("mod_wsgi_version: ")


@pytest.mark.parametrize("entry", ["app", ["app"], None, 5, ("app",)], ids=repr)
def test_non_mapping_entry_is_rejected_naming_its_index(entry: Any) -> None:
    assert failure(project("good"), entry).startswith("wsgi_projects[1]: must be a mapping")


def test_missing_name_is_rejected_naming_the_index() -> None:
    assert failure(project("good"), {"script": SCRIPT}) == "wsgi_projects[1]: field 'name' is required"


@pytest.mark.parametrize("projects", ["app", {"name": "app"}, 5, ("a",)], ids=repr)
def test_wsgi_projects_must_be_a_list(projects: Any) -> None:
    with pytest.raises(PlanError, match=r"^wsgi_projects: must be a list"):
        build_plan(projects)


def test_no_projects_is_an_empty_plan() -> None:
    for empty in (None, []):
        result = build_plan(empty).to_dict()
        assert (result["projects"], result["groups"], result["vhosts"], result["listen"]) == ([], [], [], [])


def test_duplicate_names_fail_naming_both_entries() -> None:
    message = failure(project("a"), project("b", port=81), project("a", port=82))
    assert message.startswith("project 'a': field 'name': ") and re.search(r"\b0\b.*\b2\b", message), message


@pytest.mark.parametrize(("fields", "label"), [({"source": "x.wsgi"}, "script"), ({"script": ...}, "script")])
def test_exactly_one_of_script_and_source(fields: dict[str, Any], label: str) -> None:
    assert failure(project(**fields)).startswith("project 'app': field '%s': " % label)


@pytest.mark.parametrize("base_dir", [
    "srv", "/srv/", "/srv/../etc", "/s rv", "/srv;x",
    "/srv\n",
])
def test_base_dir_is_checked(base_dir: str) -> None:
    with pytest.raises(PlanError, match=r"^wsgi_base_dir: "):
        build_plan([project()], base_dir=base_dir)


@pytest.mark.parametrize("fields", [{"name": "root"}, {"daemon": "root"}], ids=["project root", "daemon root"])
def test_no_group_runs_as_root_by_default(fields: dict[str, Any]) -> None:
    message = failure(project(**fields))
    assert "field 'user'" in message and "root" in message


# --- Properties -----------------------------------------------------------------

NAMES = ["alpha", "beta", "gamma", "delta", "nova-api", "keystone", "web_1", "zeta"]
SHARED = ["portal", "shared"]
PATHS = ["/", "/a", "/a/b", "/api", "/api/v1", "/b"]
APACHE_SAFE = re.compile(r"\A[A-Za-z0-9_./:,@+~-]+\Z")  # no whitespace, quotes, <>, ;|$`\, NUL, %{}


@st.composite
def group_settings(draw: Any, name: str) -> dict[str, Any]:
    settings_: dict[str, Any] = {}
    if draw(st.booleans()):
        settings_["processes"] = draw(st.integers(1, 8))
    if draw(st.booleans()):
        settings_["threads"] = draw(st.integers(1, 30))
    if draw(st.booleans()):
        settings_["user"] = draw(st.sampled_from(["svc", "www-data", name.replace(".", "-")]))
    if draw(st.booleans()):
        settings_["python_path"] = draw(st.lists(st.sampled_from(["/opt/lib", "/opt/lib2"]), min_size=1, max_size=2))
    if draw(st.booleans()):
        settings_["options"] = {"maximum-requests": draw(st.integers(0, 10000)), "umask": "0002"}
    if draw(st.booleans()):
        settings_["python_home"] = "/opt/venvs/" + name
    return settings_


@st.composite
def valid_projects(draw: Any) -> list[dict[str, Any]]:
    """A valid wsgi_projects list: shared groups get agreeing settings, routes are unique."""
    shared_settings = {name: draw(group_settings(name)) for name in SHARED}
    routes = set()
    projects: list[dict[str, Any]] = []
    for name in draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6, unique=True)):
        raw: dict[str, Any] = {"name": name}
        if draw(st.booleans()):
            raw["script"] = "/srv/code/%s.wsgi" % name
        else:
            raw["source"] = "files/%s.wsgi" % name
        route = (draw(st.sampled_from([80, 8080, 5000])), draw(st.sampled_from([None, "a.example.com"])),
                 draw(st.sampled_from(PATHS)))
        if route in routes:
            continue
        routes.add(route)
        raw["port"], raw["path"] = route[0], route[2]
        if route[1]:
            raw["server_name"] = route[1]
        kind = draw(st.sampled_from(["own", "shared", "embedded"]))
        if kind == "embedded":
            raw["mode"] = "embedded"
        elif kind == "shared":
            raw["daemon"] = draw(st.sampled_from(SHARED))
            given_settings = shared_settings[raw["daemon"]]
            # A subset of the group's settings; python_home on all members, or a pip-only
            # member would conflict with it (see test_pip_packages_go_into_...).
            raw.update({k: v for k, v in given_settings.items() if k == "python_home" or draw(st.booleans())})
        else:
            raw.update(draw(group_settings(name)))
        if kind != "embedded" and draw(st.booleans()):
            raw["pip_packages"] = draw(st.lists(st.sampled_from(["flask", "requests>=2", "django<5"]), max_size=2))
        if draw(st.booleans()):
            raw["pass_authorization"] = True
        projects.append(raw)
    for name in draw(st.lists(st.sampled_from(["old1", "old2"]), unique=True)):
        projects.append({"name": name, "state": "absent"})
    return projects


@st.composite
def projects_and_permutation(draw: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    projects = draw(valid_projects())
    return projects, draw(st.permutations(projects))


@given(projects_and_permutation(), st.sampled_from([None, [80], [80, 5000]]))
@PROPERTY
def test_plan_is_deterministic_and_independent_of_project_order(
    pair: tuple[list[dict[str, Any]], list[dict[str, Any]]], reserved: Any
) -> None:
    projects, permuted = pair
    first = build_plan(projects, reserved_ports=reserved).to_dict()
    assert build_plan(projects, reserved_ports=reserved).to_dict() == first
    assert build_plan(permuted, reserved_ports=reserved).to_dict() == first
    # The input is left as it was.
    snapshot = copy.deepcopy(projects)
    build_plan(projects, reserved_ports=reserved)
    assert projects == snapshot


def apache_bound(result: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every value of the plan that the wsgi.conf template writes, with where it comes from."""
    values: list[tuple[str, Any]] = []
    for daemon in result["groups"]:
        values += [("group.name", daemon["name"]), ("group.user", daemon["user"]), ("group.group", daemon["group"])]
        values += [("group.python_home", daemon["python_home"])] if daemon["python_home"] else []
        values += [("group.python_path", p) for p in daemon["python_path"]]
        values += [("group.options", k) for k in daemon["options"]]
        values += [("group.options", str(v)) for v in daemon["options"].values()]
        values += [("group.processes", str(daemon["processes"])), ("group.threads", str(daemon["threads"]))]
    for vhost in result["vhosts"]:
        values += [("vhost.port", str(vhost["port"]))]
        # A leading "*." is a wildcard name (see test_templates for what Apache makes of it).
        values += [("vhost.server_name", vhost["server_name"].removeprefix("*."))] if vhost["server_name"] else []
        for mount in vhost["mounts"]:
            values += [("mount." + k, mount[k]) for k in ("project", "path", "script", "script_dir")]
            values += [("mount.group", mount["group"])] if mount["group"] else []
    values += [("listen", str(port)) for port in result["listen"]]
    return values


def assert_apache_safe(result: dict[str, Any]) -> None:
    for where, value in apache_bound(result):
        assert isinstance(value, str) and APACHE_SAFE.match(value), (where, value)
    for vhost in result["vhosts"]:
        for mount in vhost["mounts"]:
            ag = mount["application_group"]
            assert ag in ("%{GLOBAL}", "%{RESOURCE}", "%{SERVER}") or APACHE_SAFE.match(ag), ag
    for venv in result["venvs"]:
        for package in venv["packages"]:
            assert not re.search(r"[\s'\"`;|$\\\x00]", package), package


@given(valid_projects())
@PROPERTY
def test_valid_plans_only_hold_whitelisted_values(projects: list[dict[str, Any]]) -> None:
    assert_apache_safe(build_plan(projects).to_dict())


# Characters a hostile inventory could try, next to the ones a valid value uses.
HOSTILE_ALPHABET = "aZ09_.-/ \t\n\r'\"`<>;|$(){}%\\\x00\u201c\u201d\u2033:@+,~*#?=[]!"
FUZZED_FIELDS = {
    # field: (how the fuzzed text becomes a value, the fields the error may name)
    "name": (lambda s: s, {"name", "user"}),
    "daemon": (lambda s: s, {"daemon", "user"}),
    "path": (lambda s: "/" + s, {"path"}),
    "script": (lambda s: "/srv/" + s, {"script"}),
    "server_name": (lambda s: s, {"server_name"}),
    "user": (lambda s: s, {"user"}),
    "group": (lambda s: s, {"group"}),
    "python_home": (lambda s: "/opt/" + s, {"python_home"}),
    "python_path": (lambda s: ["/opt/" + s], {"python_path[0]"}),
    "options": (lambda s: {"umask": s}, {"options.umask"}),
    "application_group": (lambda s: s, {"application_group"}),
    "pip_packages": (lambda s: [s], {"pip_packages[0]"}),
}


# Characters no value that reaches Apache (or pip) may hold, wherever they are.
ODD_CHARACTERS = " \t\n\r\x0b\x0c'\"`;|$(){}%\\\x00#?&" + TYPOGRAPHIC_CHARS


def expected_label_prefix(field: str, value: Any) -> tuple[str, ...]:
    if field == "name":
        return ("wsgi_projects[0]: field 'name': ", "project %r: field 'user': " % value)
    labels = FUZZED_FIELDS[field][1]
    return tuple("project 'app': field '%s': " % label for label in labels)


def test_every_odd_character_is_rejected_at_any_position() -> None:
    """Deterministic sweep: each field x each odd character x start, middle, end of a plausible value."""
    accepted = []
    for field, (to_value, _strategy) in sorted(FUZZED_FIELDS.items()):
        for char in ODD_CHARACTERS:
            for text in (char + "abc", "ab" + char + "c", "abc" + char):
                raw = dict(project("app"), **{field: to_value(text)})
                try:
                    build_plan([raw])
                except PlanError as exc:
                    assert str(exc).startswith(expected_label_prefix(field, text)), (field, text, str(exc))
                else:
                    accepted.append((field, text))
    assert accepted == []


@pytest.mark.parametrize("field", sorted(FUZZED_FIELDS))
def test_trailing_newline_is_rejected(field: str) -> None:
    text = "abc\n"
    with pytest.raises(PlanError) as info:
        build_plan([dict(project("app"), **{field: FUZZED_FIELDS[field][0](text)})])
    assert str(info.value).startswith(expected_label_prefix(field, text))


# Mostly plausible values with at most one odd character in them, and some noise.
FUZZ_TEXT = st.one_of(
    st.builds(lambda head, odd, tail: head + odd + tail,
              st.text(alphabet="abz09_.-", min_size=1, max_size=6),
              st.sampled_from([""] + list(HOSTILE_ALPHABET)),
              st.text(alphabet="abz09_.-", max_size=4)),
    st.text(alphabet=HOSTILE_ALPHABET, max_size=10),
)


@given(st.sampled_from(sorted(FUZZED_FIELDS)), FUZZ_TEXT)
@PROPERTY
def test_fuzzed_values_are_whitelisted_or_rejected_by_field(field: str, text: str) -> None:
    to_value, labels = FUZZED_FIELDS[field]
    raw = dict(project("app"), **{field: to_value(text)})
    try:
        result = build_plan([raw]).to_dict()
    except PlanError as exc:
        message = str(exc)
        if field == "name":
            assert message.startswith("wsgi_projects[0]: field 'name': ") or message.startswith(
                "project %r: field 'user': " % text), message
        else:
            named = re.match(r"^project '[^']*': field '([^']+)': ", message)
            assert named and named.group(1) in labels, message
        assert "\n" not in message
        return
    assert_apache_safe(result)


# --- Code trees shipped as releases ---------------------------------------------

CODE = {"src": "trees/app/", "wsgi_file": "app/wsgi.py"}


def code_project(name: str = "app", code: Any = None, **fields: Any) -> dict[str, Any]:
    """A valid project with a code tree instead of a script."""
    return project(name, script=..., code=dict(CODE) if code is None else code, **fields)


def test_code_is_parsed_with_the_default_keep() -> None:
    result = plan(code_project())
    assert one_project(result, "app")["code"] == {
        "src": "trees/app/", "subdir": "", "wsgi_file": "app/wsgi.py", "keep": 3, "root": "/srv/wsgi/app",
        "hooks": [],
    }
    assert one_project(result, "app")["source"] is None


@pytest.mark.parametrize(("keep", "expected"), [(1, 1), (100, 100), ("7", 7), (" 5 ", 5)])
def test_code_keep_is_a_whole_number_from_1_to_100(keep: Any, expected: int) -> None:
    assert one_project(plan(code_project(code=dict(CODE, keep=keep))), "app")["code"]["keep"] == expected


@pytest.mark.parametrize(("keep", "message"), [
    (0, "must be from 1 to 100, got 0"),
    (101, "must be from 1 to 100, got 101"),
    (-1, "must be from 1 to 100, got -1"),
    ("three", "must be a whole number, got 'three'"),
    (True, "must be a whole number, got True"),
    (2.5, "must be a whole number, got 2.5"),
    (None, "must be a whole number, got None"),
])
def test_code_keep_out_of_range_is_refused(keep: Any, message: str) -> None:
    assert failure(code_project(code=dict(CODE, keep=keep))) == "project 'app': field 'code.keep': " + message


@pytest.mark.parametrize("code", ["trees/app/", ["trees/app/"], None, 3])
def test_code_that_is_not_a_mapping_is_refused(code: Any) -> None:
    assert failure(project(script=..., code=code)) == \
        "project 'app': field 'code': must be a mapping of src, archive or git, wsgi_file and optionally subdir, " \
        "keep and hooks, got %r" % (code,)


def test_code_with_an_unknown_key_is_refused() -> None:
    assert failure(code_project(code=dict(CODE, dest="/srv/x"))) == \
        "project 'app': field 'code.dest': unknown field (known: archive, git, hooks, keep, src, subdir, wsgi_file)"


@pytest.mark.parametrize(("missing", "why"), [
    ("src", "give exactly one of src (a directory on the controller), archive (a tar or zip file on the controller) "
            "or git (a repository the host can fetch from)"),
    ("wsgi_file", "is required"),
])
def test_code_needs_src_and_wsgi_file(missing: str, why: str) -> None:
    code = {k: v for k, v in CODE.items() if k != missing}
    assert failure(code_project(code=code)) == "project 'app': field 'code.%s': %s" % (missing, why)


@pytest.mark.parametrize("src", ["", None, 3, ["a"], "trees/\napp", "trees/\x00app"])
def test_code_src_must_be_a_path(src: Any) -> None:
    assert failure(code_project(code=dict(CODE, src=src))) == \
        "project 'app': field 'code.src': must be the path of a directory on the controller, got %r" % (src,)


@pytest.mark.parametrize("wsgi_file", [
    "/abs", "/srv/app/wsgi.py", "../x", "a/../b", "a/./b", "./wsgi.py", ".hidden", "a/.hidden", "a b", "a//b",
    "app/", "", "wsgi.py\n", "a\\b", "a;b", "$(x)", 3, None,
])
def test_code_wsgi_file_must_be_a_plain_path_inside_the_tree(wsgi_file: Any) -> None:
    assert failure(code_project(code=dict(CODE, wsgi_file=wsgi_file))) == (
        "project 'app': field 'code.wsgi_file': must be a path inside the tree such as mysite/wsgi.py (letters, "
        "digits, _ . + @ -; no leading dot), got %r" % (wsgi_file,))


@pytest.mark.parametrize("wsgi_file", ["wsgi.py", "mysite/wsgi.py", "a/b/c/app.wsgi", "my-site_2/wsgi@v1+x.py",
                                       "_private/wsgi.py"])
def test_code_wsgi_file_accepts_plain_paths(wsgi_file: str) -> None:
    result = plan(code_project(code=dict(CODE, wsgi_file=wsgi_file)))
    assert one_project(result, "app")["script"] == "/srv/wsgi/app/current/" + wsgi_file


@pytest.mark.parametrize("other", [{"script": SCRIPT}, {"source": "files/app.wsgi"}])
def test_code_with_script_or_source_is_refused(other: dict[str, Any]) -> None:
    raw = dict(code_project(), **other)
    assert failure(raw) == ("project 'app': field '%s': give exactly one of script (a path on the host), source (a "
                            "file to copy) or code (a tree shipped as releases)" % next(iter(other)))


def test_code_with_script_and_source_is_refused() -> None:
    message = failure(dict(code_project(), script=SCRIPT, source="files/app.wsgi"))
    assert message.startswith("project 'app': field 'script': give exactly one of script")


def test_none_of_script_source_or_code_is_refused() -> None:
    assert failure(project(script=...)) == (
        "project 'app': field 'script': give exactly one of script (a path on the host), source (a file to copy) "
        "or code (a tree shipped as releases)")


NEEDS_OWN_GROUP = ("project 'app': field 'code': needs a daemon group of the project's own: the release's folder "
                   "goes on that group's python-path")


def test_code_with_mode_embedded_is_refused() -> None:
    assert failure(code_project(mode="embedded")) == NEEDS_OWN_GROUP


def test_code_in_another_daemon_group_is_refused() -> None:
    assert failure(code_project(daemon="shared"), project("other", path="/other", daemon="shared")) == \
        NEEDS_OWN_GROUP


def test_code_may_name_its_own_daemon_group() -> None:
    result = plan(code_project(daemon="app"))
    assert one_project(result, "app")["daemon"] == "app"
    assert group(result, "app")["projects"] == ["app"]


def test_code_script_is_in_the_current_release() -> None:
    result = plan(code_project())
    assert one_project(result, "app")["script"] == "/srv/wsgi/app/current/app/wsgi.py"
    (vhost,) = result["vhosts"]
    assert [m["script"] for m in vhost["mounts"]] == ["/srv/wsgi/app/current/app/wsgi.py"]


def test_code_follows_base_dir() -> None:
    result = plan(code_project("blog"), base_dir="/opt/apps")
    assert one_project(result, "blog")["script"] == "/opt/apps/blog/current/app/wsgi.py"
    assert one_project(result, "blog")["python_path"] == ["/opt/apps/blog/current"]
    assert result["releases"] == [{"project": "blog", "root": "/opt/apps/blog", "src": "trees/app/", "subdir": "",
                                   "wsgi_file": "app/wsgi.py", "keep": 3}]


def test_code_current_release_goes_first_on_python_path() -> None:
    result = plan(code_project(python_path=["/opt/lib", "/opt/more"]))
    assert one_project(result, "app")["python_path"] == ["/srv/wsgi/app/current", "/opt/lib", "/opt/more"]
    assert group(result, "app")["python_path"] == ["/srv/wsgi/app/current", "/opt/lib", "/opt/more"]


def test_code_without_python_path_has_only_the_current_release_on_it() -> None:
    result = plan(code_project())
    assert one_project(result, "app")["python_path"] == ["/srv/wsgi/app/current"]
    assert group(result, "app")["python_path"] == ["/srv/wsgi/app/current"]


def test_code_python_path_entries_are_still_checked() -> None:
    assert failure(code_project(python_path=["relative/lib"])).startswith(
        "project 'app': field 'python_path[0]': ")


def test_projects_without_code_keep_their_python_path_as_given() -> None:
    result = plan(project(python_path=["/opt/lib"]))
    assert one_project(result, "app")["python_path"] == ["/opt/lib"]
    assert result["releases"] == []


def test_releases_list_each_code_project_and_only_those() -> None:
    result = plan(
        code_project("blog", path="/blog", code={"src": "trees/blog", "wsgi_file": "blog/wsgi.py", "keep": 5}),
        code_project("shop", path="/shop"),
        project("api", path="/api"),
        project("docs", script=..., source="files/docs.wsgi", path="/docs"),
        project("old", state="absent", script=..., code=dict(CODE)),
    )
    assert result["releases"] == [
        {"project": "blog", "root": "/srv/wsgi/blog", "src": "trees/blog", "subdir": "", "wsgi_file": "blog/wsgi.py",
         "keep": 5},
        {"project": "shop", "root": "/srv/wsgi/shop", "src": "trees/app/", "subdir": "", "wsgi_file": "app/wsgi.py",
         "keep": 3},
    ]
    assert result["scripts"] == [{"project": "api", "path": SCRIPT}]
    assert result["files"] == [{"project": "docs", "src": "files/docs.wsgi", "dest": "/srv/wsgi/docs/docs.wsgi",
                                "group": "docs"}]
    assert result["absent"] == ["old"]


def test_a_code_project_is_in_neither_scripts_nor_files() -> None:
    result = plan(code_project())
    assert (result["scripts"], result["files"]) == ([], [])
    assert [r["project"] for r in result["releases"]] == ["app"]


def test_no_other_project_may_join_the_daemon_group_of_a_code_project() -> None:
    # The group's python-path starts with the code project's current release: the group must be its own.
    message = failure(code_project(daemon="app"), project("other", path="/other", daemon="app"))
    assert message.startswith("project 'other': field 'daemon': ") or message == NEEDS_OWN_GROUP, message


@pytest.mark.parametrize("directory", ["/srv/wsgi/app/releases", "/srv/wsgi/app/releases/0123456789abcdef"])
def test_a_static_directory_holding_the_releases_is_refused(directory: str) -> None:
    # Apache would serve every release's code (settings included) as files.
    message = failure(code_project(static=[{"path": "/static", "directory": directory}]))
    assert message.startswith("project 'app': field 'static[0].directory': %s holds the code" % directory), message


# --- Hooks of a new release ------------------------------------------------------------


def test_hooks_are_listed_with_the_projects_account_root_and_venv() -> None:
    hooks = [{"name": "migrate", "command": ["python", "manage.py", "migrate", "--noinput"]},
             {"name": "check", "command": ["python", "-c", "import app"]}]
    result = plan(code_project(code=dict(CODE, hooks=hooks), pip_packages=["django"]))
    assert result["hooks"] == [
        {"project": "app", "hook": "migrate", "command": ["python", "manage.py", "migrate", "--noinput"],
         "user": "app", "root": "/srv/wsgi/app", "python_home": "/srv/wsgi/app/venv"},
        {"project": "app", "hook": "check", "command": ["python", "-c", "import app"],
         "user": "app", "root": "/srv/wsgi/app", "python_home": "/srv/wsgi/app/venv"},
    ]
    # The module gets the releases without them.
    assert "hooks" not in result["releases"][0]


@pytest.mark.parametrize(("hooks", "field", "why"), [
    ("migrate", "code.hooks", "must be a list"),
    (["migrate"], "code.hooks[0]", "must be a mapping of name and command"),
    ([{"name": "m", "command": ["x"], "shell": True}], "code.hooks[0].shell", "unknown field"),
    ([{"command": ["x"]}], "code.hooks[0].name", "must be a hook name"),
    ([{"name": "a b", "command": ["x"]}], "code.hooks[0].name", "must be a hook name"),
    ([{"name": "m", "command": "python manage.py migrate"}], "code.hooks[0].command", "must be a list of arguments"),
    ([{"name": "m", "command": []}], "code.hooks[0].command", "must be a list of arguments"),
    ([{"name": "m", "command": ["x", ""]}], "code.hooks[0].command", "must be a list of arguments"),
    ([{"name": "m", "command": ["x", 1]}], "code.hooks[0].command", "must be a list of arguments"),
    ([{"name": "m", "command": ["x"]}, {"name": "m", "command": ["y"]}], "code.hooks[1].name", "hook 'm' is given twice"),
])
def test_bad_hooks_are_refused_naming_the_field(hooks: Any, field: str, why: str) -> None:
    message = failure(code_project(code=dict(CODE, hooks=hooks)))
    assert message.startswith("project 'app': field '%s': %s" % (field, why)), message

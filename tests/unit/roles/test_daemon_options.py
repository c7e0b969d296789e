# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The production defaults of every daemon group: their values, their precedence and where they show.

``_plan.PRODUCTION_DEFAULTS`` under the group's sizing, the host's
``wsgi_daemon_options`` and the project's own ``options`` (``_plan.final_options``),
through ``_model.build_model`` and ``plan_from_args``, and as wsgi.conf writes them.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Optional

import pytest

from ansible_collections.modwsgi.fleet.plugins.module_utils import _plan
from ansible_collections.modwsgi.fleet.plugins.module_utils._model import PLAN_ARGUMENT_SPEC, plan_from_args
from ansible_collections.modwsgi.fleet.plugins.module_utils._plan import PlanError, build_plan, final_options
from ansible_collections.modwsgi.fleet.plugins.module_utils._sizing import Host, size_projects
from ansible_collections.modwsgi.fleet.tests.unit.plugins.module_utils.test_model import group, model, refused

from test_templates import daemon_lines, parse, render_wsgi

SCRIPT = "/srv/wsgi/app/app.wsgi"
FACTS: dict[str, Any] = {"cpus": 2, "memory_mb": 4096, "cpus_from": "sched_getaffinity",
                         "memory_from": "/proc/meminfo MemTotal", "mod_wsgi_installed": True,
                         "mod_wsgi_version": "4.9.4-1+b2", "mod_wsgi_python": "3.11"}
# A mean request of 400 ms: 100 x 0.4 s = 40 s of queue-timeout, 250 x 0.4 s = 100 s of
# request-timeout, a backlog of what the group drains in 40 s (capacity / 0.4 s x 40 s): all
# three differ from the defaults.
SLOW: dict[str, Any] = {"cpu_ms": 100, "wait_ms": 300, "rss_mb": 100}

DEFAULTS: dict[str, Any] = {
    "lang": "C.UTF-8", "locale": "C.UTF-8", "queue-timeout": 45, "request-timeout": 60, "socket-timeout": 60,
    "connect-timeout": 15, "listen-backlog": 100, "startup-timeout": 15, "deadlock-timeout": 60,
    "graceful-timeout": 15, "shutdown-timeout": 5,
}
SIZED_FIELDS = {"queue-timeout": "queue_timeout", "request-timeout": "request_timeout",
                "listen-backlog": "listen_backlog"}
ALL_DEFAULT = dict.fromkeys(DEFAULTS, "default")
OPTIONS_RE = re.compile(r"^# Options: .*$", re.M)


def project(name: str = "app", **fields: Any) -> dict[str, Any]:
    """A valid daemon-mode project on its own path; fields set to ... are removed."""
    raw: dict[str, Any] = {"name": name, "script": SCRIPT, "path": "/" + name}
    raw.update(fields)
    return {k: v for k, v in raw.items() if v is not ...}


def answer(result: dict[str, Any], facts: dict[str, Any], name: str, reserve_memory_mb: int = 1024) -> dict[str, Any]:
    """wsgi_sizing's answer for group ``name`` of a model, computed as _model._size does (the model keeps none)."""
    host = Host(cpus=facts["cpus"], memory_mb=facts["memory_mb"])
    sized = size_projects(result["sizing"], host, reserve_memory_mb, result["unsized_capacity"]).to_dict()
    return sized["projects"][name]


def default_params(**given: Any) -> dict[str, Any]:
    """wsgi_plan's arguments as AnsibleModule fills them in from PLAN_ARGUMENT_SPEC, with ``given`` over them."""
    params = {key: copy.deepcopy(spec.get("default")) for key, spec in PLAN_ARGUMENT_SPEC.items()}
    params.update(given)
    return params


# --- The defaults themselves --------------------------------------------------------------


def test_the_defaults_are_the_documented_values() -> None:
    assert {key: value for key, (value, _why) in _plan.PRODUCTION_DEFAULTS.items()} == DEFAULTS
    assert _plan.SIZED_OPTIONS == SIZED_FIELDS


@pytest.mark.parametrize("key", sorted(DEFAULTS))
def test_each_default_is_a_whitelisted_option_with_a_reason(key: str) -> None:
    value, why = _plan.PRODUCTION_DEFAULTS[key]
    assert key in _plan.DAEMON_OPTIONS
    assert key not in _plan.OWN_FIELD_OPTIONS
    assert isinstance(why, str) and why.strip()
    # As a project's options or the host's wsgi_daemon_options would be checked: unchanged.
    assert _plan._options(None, {key: value}, None) == {key: value}  # pylint: disable=protected-access


def test_the_sized_options_override_defaults_and_are_what_wsgi_sizing_answers() -> None:
    assert set(SIZED_FIELDS) <= set(DEFAULTS)
    size = size_projects([dict(SLOW, name="app")], Host(cpus=2, memory_mb=4096)).to_dict()["projects"]["app"]
    assert set(SIZED_FIELDS.values()) <= set(size)


# --- final_options ------------------------------------------------------------------------


def test_without_anything_else_the_options_are_the_defaults() -> None:
    for sized in (None, {}, {"processes": 3, "threads": 4, "processes_explicit": True}):
        options, sources = final_options({}, {}, sized)
        assert options == DEFAULTS and sources == ALL_DEFAULT


def test_default_sized_host_project_each_win_over_the_one_before() -> None:
    sized = {"queue_timeout": 30, "request_timeout": 100, "listen_backlog": 500}
    host = {"request-timeout": 200, "queue-timeout": 40, "maximum-requests": 1000}
    own = {"request-timeout": 300, "umask": "0002"}
    options, sources = final_options(own, host, sized)
    assert options == dict(DEFAULTS, **{"queue-timeout": 40, "request-timeout": 300, "listen-backlog": 500,
                                        "maximum-requests": 1000, "umask": "0002"})
    assert sources == dict(ALL_DEFAULT, **{"queue-timeout": "host", "request-timeout": "project",
                                           "listen-backlog": "sized", "maximum-requests": "host",
                                           "umask": "project"})


def test_only_the_three_sized_options_come_from_a_sizing_answer() -> None:
    sized = {"name": "app", "processes": 3, "threads": 4, "processes_explicit": True, "capacity": 12,
             "rss_mb_total": 300, "queue_timeout": 30, "request_timeout": 100, "listen_backlog": 500}
    options, sources = final_options({}, {}, sized)
    assert set(options) == set(sources) == set(DEFAULTS)
    assert {k: options[k] for k in SIZED_FIELDS} == {"queue-timeout": 30, "request-timeout": 100, "listen-backlog": 500}
    from_sizing = [k for k, source in sources.items() if source == "sized"]
    assert from_sizing == ["listen-backlog", "queue-timeout", "request-timeout"]
    # A sizing answer with one of them only gives that one.
    options, sources = final_options({}, {}, {"processes": 2, "threads": 8, "request_timeout": 120})
    assert options == dict(DEFAULTS, **{"request-timeout": 120})
    assert sources == dict(ALL_DEFAULT, **{"request-timeout": "sized"})


def test_both_mappings_are_sorted_by_option() -> None:
    options, sources = final_options({"umask": "0002", "cpu-priority": 1}, {"maximum-requests": 10, "home": "/tmp"},
                                     {"listen_backlog": 500})
    assert list(options) == sorted(options) and list(sources) == sorted(sources)
    assert list(options) == list(sources)
    assert list(DEFAULTS) != sorted(DEFAULTS), "the defaults are listed unsorted, so that sorting is checked"


def test_final_options_leaves_its_inputs_alone() -> None:
    """The host's mapping is one for every group: no group's values may leak into it."""
    own, host, sized = {"umask": "0002"}, {"maximum-requests": 10}, {"queue_timeout": 30, "processes": 2}
    final_options(own, host, sized)
    assert (own, host, sized) == ({"umask": "0002"}, {"maximum-requests": 10}, {"queue_timeout": 30, "processes": 2})


def test_a_zero_from_the_project_stays_zero() -> None:
    """0 turns a timeout off: it must not fall back to the host's, the sized or the default value."""
    options, sources = final_options({"request-timeout": 0}, {"request-timeout": 90}, {"request_timeout": 120})
    assert options["request-timeout"] == 0 and options["request-timeout"] is not False
    assert sources["request-timeout"] == "project"
    plan = build_plan([project("app", options={"request-timeout": 0})],
                      daemon_options={"request-timeout": 90}).to_dict()
    assert daemon_lines(render_wsgi(plan))["app"][1]["request-timeout"] == "0"


# --- Through build_model ----------------------------------------------------------------------


def test_an_unsized_group_gets_the_defaults() -> None:
    for facts in (None, FACTS):
        result = model([project("web", threads=8)], facts)
        web = group(result, "web")
        assert web["sized"] is False
        assert web["options"] == DEFAULTS and web["option_sources"] == ALL_DEFAULT
        assert result["daemon_options"] == {}


def test_a_sized_group_gets_the_sized_timeouts_and_backlog() -> None:
    result = model([project("glance", sizing=SLOW), project("web", threads=8)], FACTS)
    size = answer(result, FACTS, "glance")
    glance = group(result, "glance")
    assert glance["sized"] is True
    assert {k: glance["options"][k] for k in SIZED_FIELDS} == {k: size[f] for k, f in SIZED_FIELDS.items()}
    # What the sizing answers, worked out by hand for a mean request of 400 ms.
    assert (glance["options"]["queue-timeout"], glance["options"]["request-timeout"]) == (40, 100)
    assert glance["options"]["listen-backlog"] == 100 * glance["capacity"] > DEFAULTS["listen-backlog"]
    assert glance["option_sources"] == dict(ALL_DEFAULT, **dict.fromkeys(SIZED_FIELDS, "sized"))
    assert {k: v for k, v in glance["options"].items() if k not in SIZED_FIELDS} == {
        k: v for k, v in DEFAULTS.items() if k not in SIZED_FIELDS}
    web = group(result, "web")
    assert web["options"] == DEFAULTS and web["option_sources"] == ALL_DEFAULT


def test_a_sized_group_without_the_hosts_cpus_and_memory_keeps_the_defaults() -> None:
    glance = group(model([project("glance", sizing=SLOW)], {}), "glance")
    assert glance["sized"] is True
    assert glance["options"] == DEFAULTS and glance["option_sources"] == ALL_DEFAULT


def test_the_hosts_options_override_sized_and_defaults_in_every_group() -> None:
    host = {"request-timeout": "90", "maximum-requests": 5000, "lang": "en_US.UTF-8"}
    projects = [project("glance", sizing=SLOW), project("web", threads=8),
                project("alpha", daemon="portal"), project("beta", daemon="portal")]
    result = model(projects, FACTS, daemon_options=host)
    assert result["daemon_options"] == {"lang": "en_US.UTF-8", "maximum-requests": 5000, "request-timeout": 90}
    assert [g["name"] for g in result["groups"]] == ["glance", "portal", "web"]
    from_host = {"request-timeout": 90, "maximum-requests": 5000, "lang": "en_US.UTF-8"}
    for got in result["groups"]:
        assert {k: got["options"][k] for k in from_host} == from_host, got["name"]
        assert {k: got["option_sources"][k] for k in from_host} == dict.fromkeys(from_host, "host"), got["name"]
    size = answer(result, FACTS, "glance")
    glance = group(result, "glance")
    assert (glance["options"]["queue-timeout"], glance["options"]["listen-backlog"]) == (
        size["queue_timeout"], size["listen_backlog"])
    assert glance["option_sources"]["queue-timeout"] == glance["option_sources"]["listen-backlog"] == "sized"
    assert size["request_timeout"] == 100 != glance["options"]["request-timeout"]
    for name in ("portal", "web"):
        got = group(result, name)
        assert got["options"] == dict(DEFAULTS, **from_host)
        assert got["option_sources"] == dict(ALL_DEFAULT, **dict.fromkeys(from_host, "host"))


def test_a_projects_options_override_the_hosts_for_its_group_only() -> None:
    host = {"request-timeout": 90, "maximum-requests": 5000}
    projects = [project("keystone", options={"request-timeout": 300, "maximum-requests": 10000, "umask": "0002"}),
                project("web"), project("glance", sizing=SLOW, options={"queue-timeout": 10})]
    result = model(projects, FACTS, daemon_options=host)
    keystone = group(result, "keystone")
    assert keystone["options"] == dict(DEFAULTS, **{"request-timeout": 300, "maximum-requests": 10000,
                                                    "umask": "0002"})
    assert keystone["option_sources"] == dict(ALL_DEFAULT, **{"request-timeout": "project",
                                                              "maximum-requests": "project", "umask": "project"})
    web = group(result, "web")
    assert web["options"] == dict(DEFAULTS, **host)
    assert web["option_sources"] == dict(ALL_DEFAULT, **dict.fromkeys(host, "host"))
    glance = group(result, "glance")
    size = answer(result, FACTS, "glance")
    assert {k: glance["options"][k] for k in ("queue-timeout", "request-timeout", "maximum-requests",
                                              "listen-backlog")} == {
        "queue-timeout": 10, "request-timeout": 90, "maximum-requests": 5000, "listen-backlog": size["listen_backlog"]}
    assert {k: glance["option_sources"][k] for k in ("queue-timeout", "request-timeout", "maximum-requests",
                                                     "listen-backlog")} == {
        "queue-timeout": "project", "request-timeout": "host", "maximum-requests": "host", "listen-backlog": "sized"}
    assert result["daemon_options"] == host


# --- Bad host input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "start"),
    [
        ({"request-timeout": "soon"}, "wsgi_daemon_options.request-timeout: must be a whole number of seconds"),
        ({"request-timeout": -1}, "wsgi_daemon_options.request-timeout: "),
        ({"request-timeout": True}, "wsgi_daemon_options.request-timeout: "),
        ({"lang": "C.UTF-8 evil=1"}, "wsgi_daemon_options.lang: "),
        ({"nope": 1}, "wsgi_daemon_options.nope: is not a WSGIDaemonProcess option this role knows"),
        (["request-timeout", 60], "wsgi_daemon_options: must be a mapping of WSGIDaemonProcess options"),
        ("request-timeout=60", "wsgi_daemon_options: must be a mapping of WSGIDaemonProcess options"),
    ],
    ids=["word", "negative", "boolean", "space", "unknown", "list", "string"],
)
def test_bad_host_options_are_refused_naming_the_variable(options: Any, start: str) -> None:
    for projects in ([project("app")], []):
        message = refused(projects, FACTS, daemon_options=options)
        assert message.startswith(start), message
        assert "project" not in message.split(":", maxsplit=1)[0]


def test_a_host_option_newer_than_the_hosts_mod_wsgi_is_refused() -> None:
    message = refused([project("app")], FACTS, daemon_options={"interrupt-timeout": 30})
    assert message == ("wsgi_daemon_options.interrupt-timeout: needs mod_wsgi 6.0 or later, and this host has "
                       "mod_wsgi 4.9.4")
    for version in ("6.0.1", ""):
        got = group(model([project("app")], dict(FACTS, mod_wsgi_version=version),
                          daemon_options={"interrupt-timeout": 30}), "app")
        assert (got["options"]["interrupt-timeout"], got["option_sources"]["interrupt-timeout"]) == (30, "host")


@pytest.mark.parametrize(("option", "fieldname"), [("threads", "threads"), ("processes", "processes"),
                                                   ("user", "user"), ("python-home", "python_home"),
                                                   ("display-name", "name")])
def test_a_host_option_written_from_a_project_field_points_at_the_field(option: str, fieldname: str) -> None:
    message = refused([project("app")], FACTS, daemon_options={option: "4"})
    assert message == "wsgi_daemon_options.%s: is written from the project's field %r; set that instead" % (
        option, fieldname)


def test_the_module_arguments_take_daemon_options() -> None:
    assert PLAN_ARGUMENT_SPEC["daemon_options"] == {"type": "dict", "default": {}}
    params = default_params(projects=[project("app")])
    assert params["daemon_options"] == {}
    got = group(plan_from_args(params), "app")
    assert got["options"] == DEFAULTS and got["option_sources"] == ALL_DEFAULT
    got = group(plan_from_args(default_params(projects=[project("app")], daemon_options={"socket-timeout": 30})),
                "app")
    assert got["options"] == dict(DEFAULTS, **{"socket-timeout": 30})
    assert got["option_sources"] == dict(ALL_DEFAULT, **{"socket-timeout": "host"})


@pytest.mark.parametrize(
    ("options", "start"),
    [
        ({"request-timeout": "soon"}, "wsgi_daemon_options.request-timeout: "),
        ({"nope": 1}, "wsgi_daemon_options.nope: "),
        ({"threads": 4}, "wsgi_daemon_options.threads: is written from the project's field 'threads'"),
        ({"interrupt-timeout": 30}, "wsgi_daemon_options.interrupt-timeout: needs mod_wsgi 6.0 or later"),
    ],
    ids=["word", "unknown", "own field", "too new"],
)
def test_the_module_arguments_refuse_bad_daemon_options(options: dict[str, Any], start: str) -> None:
    params = default_params(projects=[project("app")], daemon_options=options, mod_wsgi_version="4.9.4-1+b2")
    with pytest.raises(PlanError) as info:
        plan_from_args(params)
    assert str(info.value).startswith(start), str(info.value)


# --- wsgi.conf --------------------------------------------------------------------------------


def rendered(projects: list[dict[str, Any]], daemon_options: Optional[dict[str, Any]] = None,
             facts: Optional[dict[str, Any]] = None) -> tuple[str, dict[str, Any]]:
    """wsgi.conf of ``projects`` with the sizing answers the host's ``facts`` give, and those answers."""
    plan = build_plan(copy.deepcopy(projects), daemon_options=daemon_options).to_dict()
    sizes: dict[str, Any] = {}
    if facts is not None and plan["sizing"]:
        host = Host(cpus=facts["cpus"], memory_mb=facts["memory_mb"])
        sizes = size_projects(plan["sizing"], host, 1024, plan["unsized_capacity"]).to_dict()["projects"]
    return render_wsgi(plan, sizes), sizes


def test_every_daemon_line_carries_the_defaults() -> None:
    projects = [project("web", threads=8), project("api", processes=2, threads=4),
                project("alpha", daemon="portal"), project("beta", daemon="portal")]
    text, _sizes = rendered(projects)
    lines = daemon_lines(text)
    assert sorted(lines) == ["api", "portal", "web"]
    for name, (_comment, options) in lines.items():
        assert {k: options.get(k) for k in DEFAULTS} == {k: str(v) for k, v in DEFAULTS.items()}, name


def test_the_comment_names_where_each_option_comes_from() -> None:
    projects = [project("glance", sizing=SLOW, options={"umask": "0002", "request-timeout": 0}),
                project("web", threads=8)]
    host = {"maximum-requests": 5000, "lang": "en_US.UTF-8"}
    text, sizes = rendered(projects, host, FACTS)
    lines = daemon_lines(text)
    glance_comment, glance = lines["glance"]
    assert glance_comment.splitlines()[-1] == (
        "# Options: the role's production defaults; from sized: listen-backlog, queue-timeout; "
        "from wsgi_daemon_options: lang, maximum-requests; from the project: request-timeout, umask")
    size = sizes["glance"]
    assert (glance["queue-timeout"], glance["listen-backlog"]) == (str(size["queue_timeout"]),
                                                                   str(size["listen_backlog"]))
    assert (glance["queue-timeout"], glance["request-timeout"]) == ("40", "0")
    assert (glance["lang"], glance["maximum-requests"], glance["umask"]) == ("en_US.UTF-8", "5000", "0002")
    web_comment, web = lines["web"]
    assert web_comment.splitlines()[-1] == (
        "# Options: the role's production defaults; from wsgi_daemon_options: lang, maximum-requests")
    assert (web["queue-timeout"], web["request-timeout"], web["listen-backlog"]) == ("45", "60", "100")
    assert len(OPTIONS_RE.findall(text)) == 2


def test_a_source_that_gives_nothing_is_not_mentioned() -> None:
    text, _sizes = rendered([project("web"), project("api", options={"maximum-requests": 100})])
    lines = daemon_lines(text)
    assert lines["web"][0].splitlines()[-1] == "# Options: the role's production defaults"
    assert lines["api"][0].splitlines()[-1] == (
        "# Options: the role's production defaults; from the project: maximum-requests")
    for comment, _options in lines.values():
        assert "from sized" not in comment and "from wsgi_daemon_options" not in comment


def test_a_sized_group_whose_sizing_is_all_overridden_names_no_sized_source() -> None:
    host = {"queue-timeout": 30, "request-timeout": 90, "listen-backlog": 200}
    text, sizes = rendered([project("glance", sizing=SLOW)], host, FACTS)
    assert sizes["glance"]["queue_timeout"] == 40
    comment, options = daemon_lines(text)["glance"]
    assert comment.splitlines()[-1] == ("# Options: the role's production defaults; "
                                        "from wsgi_daemon_options: listen-backlog, queue-timeout, request-timeout")
    assert (options["queue-timeout"], options["request-timeout"], options["listen-backlog"]) == ("30", "90", "200")


@pytest.mark.parametrize(
    "projects",
    [[], [project("web")], [project("web"), project("api", port=8080, server_name="api.example.com"),
                            project("inline", mode="embedded")]],
    ids=["no projects", "one", "vhosts and embedded"],
)
def test_socket_rotation_is_on_once_at_top_level(projects: list[dict[str, Any]]) -> None:
    text, _sizes = rendered(projects)
    top = parse(text)
    assert top.values("WSGISocketRotation") == ["On"]
    assert [line.strip() for line in text.splitlines() if "WSGISocketRotation" in line
            and not line.lstrip().startswith("#")] == ["WSGISocketRotation On"]
    assert all(not line.startswith(" ") for line in text.splitlines() if line.strip() == "WSGISocketRotation On")
    for vhost in top.blocks("VirtualHost"):
        assert vhost.values("WSGISocketRotation") == []
        assert all(block.values("WSGISocketRotation") == [] for block in vhost.children)


def test_the_readme_lists_every_default_with_its_value() -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Production defaults\n", 1)[1].split("\n## ", 1)[0]
    listed: dict[str, str] = {}
    for names, value in re.findall(r"^\| (`[^|]+`) \| `([^`]+)` \|", section, re.M):
        for name in re.findall(r"`([^`]+)`", names):
            listed[name] = value
    assert listed == {key: str(value) for key, (value, _why) in _plan.PRODUCTION_DEFAULTS.items()}

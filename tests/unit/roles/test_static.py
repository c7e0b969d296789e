# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A project's static files: ``static: [{path, directory, max_age}]``, served by Apache itself.

Parsed and refused by ``_plan._static``, checked per virtual host by
``_plan._static_mounts``, laid out by ``build_plan`` (each vhost's ``static``,
longest path first; the plan's ``directories``), and written by the wsgi role's
``static`` macro into wsgi.conf and, with isolation instance, front.conf.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Optional

import pytest

from ansible_collections.modwsgi.fleet.plugins.module_utils._model import build_model
from ansible_collections.modwsgi.fleet.plugins.module_utils._plan import PlanError, build_plan

from rendering import unquote
from test_templates import (
    Block,
    aliased,
    check_static,
    check_text,
    check_wsgi_conf,
    example_projects,
    front_route,
    parse,
    prefix_matches,
    proxy_rules,
    render_front,
    render_wsgi,
)

CACHE = 'set Cache-Control "public, max-age=%d"'


def project(name: str, **fields: Any) -> dict[str, Any]:
    """A daemon-mode project with its script in /srv/wsgi/NAME, mounted at /NAME unless ``path`` is given."""
    raw: dict[str, Any] = {"name": name, "script": "/srv/wsgi/%s/%s.wsgi" % (name, name), "path": "/" + name}
    raw.update(fields)
    return raw


def static(path: str, directory: str, max_age: Optional[int] = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": path, "directory": directory}
    if max_age is not None:
        entry["max_age"] = max_age
    return entry


def plan(*projects: dict[str, Any]) -> dict[str, Any]:
    return build_plan(copy.deepcopy(list(projects))).to_dict()


def refused(*projects: dict[str, Any]) -> str:
    with pytest.raises(PlanError) as info:
        build_plan(copy.deepcopy(list(projects)))
    message = str(info.value)
    assert "\n" not in message
    return message


def served(result: dict[str, Any], port: int = 80, server_name: Optional[str] = None) -> list[tuple[Any, ...]]:
    """(project, path, directory, max_age) of each static entry of one virtual host, in the plan's order."""
    (vhost,) = [v for v in result["vhosts"] if (v["port"], v["server_name"]) == (port, server_name)]
    return [(e["project"], e["path"], e["directory"], e["max_age"]) for e in vhost["static"]]


# --- Parsing -------------------------------------------------------------------------------


def test_entries_are_parsed_with_max_age_optional() -> None:
    result = plan(project("app", static=[static("/app/static", "/srv/static/app", 3600),
                                         static("/app/media", "/srv/media/app"),
                                         static("/app/fresh", "/srv/fresh/app", 0),
                                         static("/app/year", "/srv/year/app", 365 * 24 * 3600)]))
    (app,) = result["projects"]
    assert app["static"] == [
        {"project": "app", "path": "/app/static", "directory": "/srv/static/app", "max_age": 3600, "writable": False},
        {"project": "app", "path": "/app/media", "directory": "/srv/media/app", "max_age": None, "writable": False},
        {"project": "app", "path": "/app/fresh", "directory": "/srv/fresh/app", "max_age": 0, "writable": False},
        {"project": "app", "path": "/app/year", "directory": "/srv/year/app", "max_age": 31536000, "writable": False},
    ]


@pytest.mark.parametrize("value", [None, []])
def test_no_static_is_an_empty_list(value: Optional[list[Any]]) -> None:
    result = plan(project("app", static=value))
    assert result["projects"][0]["static"] == []
    assert result["vhosts"][0]["static"] == [] and result["directories"] == []


def test_an_absent_project_keeps_no_static_dirs() -> None:
    gone = project("gone", state="absent", static=[static("/gone/static", "/srv/static/gone")])
    result = plan(project("app"), gone)
    assert result["absent"] == ["gone"] and result["directories"] == []


GOOD = static("/app/static", "/srv/static/app")
URL_PATH = "must be a URL path such as / or /api/v1 (letters, digits, _ . ~ -; no trailing slash), got %r"
FS_PATH = "must be an absolute path of letters, digits and _ . + @ - (no spaces or quotes), got %r"


@pytest.mark.parametrize("value, message", [
    ("/app/static", "field 'static': must be a list, got '/app/static'"),
    ({"path": "/app/static", "directory": "/srv/static"},
     "field 'static': must be a list, got {'path': '/app/static', 'directory': '/srv/static'}"),
    (["/app/static"], "field 'static[0]': must be a mapping of path, directory and optionally max_age and "
                      "writable, got '/app/static'"),
    ([GOOD, None], "field 'static[1]': must be a mapping of path, directory and optionally max_age and "
                   "writable, got None"),
    ([GOOD, dict(static("/app/s", "/srv/s"), expires=60)],
     "field 'static[1].expires': unknown field (known: directory, max_age, path, writable)"),
    ([GOOD, {"directory": "/srv/s"}], "field 'static[1].path': is required"),
    ([GOOD, {"path": "/app/s"}], "field 'static[1].directory': is required"),
    ([GOOD, static("app/s", "/srv/s")], "field 'static[1].path': " + URL_PATH % "app/s"),
    ([GOOD, static("/app/s/", "/srv/s")], "field 'static[1].path': " + URL_PATH % "/app/s/"),
    ([GOOD, static("/app/s x", "/srv/s")], "field 'static[1].path': " + URL_PATH % "/app/s x"),
    ([GOOD, static('/app/s"', "/srv/s")], "field 'static[1].path': " + URL_PATH % '/app/s"'),
    ([GOOD, {"path": 5, "directory": "/srv/s"}], "field 'static[1].path': " + URL_PATH.replace("%r", "5")),
    ([GOOD, static("/app/../s", "/srv/s")],
     "field 'static[1].path': must not contain '.' or '..' segments, got '/app/../s'"),
    ([GOOD, static("/", "/srv/s")],
     "field 'static[1].path': must not be /: the project itself is served there or below; give the URL prefix "
     "of its static files, such as /static"),
    ([GOOD, static("/app/s", "srv/s")], "field 'static[1].directory': " + FS_PATH % "srv/s"),
    ([GOOD, static("/app/s", "/srv/s/")], "field 'static[1].directory': " + FS_PATH % "/srv/s/"),
    ([GOOD, static("/app/s", "/srv/my s")], "field 'static[1].directory': " + FS_PATH % "/srv/my s"),
    ([GOOD, static("/app/s", "/srv/../etc")],
     "field 'static[1].directory': must not contain '.' or '..' segments, got '/srv/../etc'"),
    ([GOOD, static("/app/s", "/srv/./s")],
     "field 'static[1].directory': must not contain '.' or '..' segments, got '/srv/./s'"),
    ([GOOD, static("/app/s", "/srv/s", -1)], "field 'static[1].max_age': must be from 0 to 31536000, got -1"),
    ([GOOD, static("/app/s", "/srv/s", 365 * 24 * 3600 + 1)],
     "field 'static[1].max_age': must be from 0 to 31536000, got 31536001"),
    ([GOOD, dict(static("/app/s", "/srv/s"), max_age="an hour")],
     "field 'static[1].max_age': must be a whole number, got 'an hour'"),
    ([GOOD, dict(static("/app/s", "/srv/s"), max_age=1.5)],
     "field 'static[1].max_age': must be a whole number, got 1.5"),
    ([GOOD, dict(static("/app/s", "/srv/s"), max_age=True)],
     "field 'static[1].max_age': must be a whole number, got True"),
    ([GOOD, dict(static("/app/s", "/srv/s"), writable="yes")],
     "field 'static[1].writable': must be true or false, got 'yes'"),
    ([GOOD, dict(static("/app/s", "/srv/s"), writable=1)], "field 'static[1].writable': must be true or false, got 1"),
])
def test_bad_entries_are_refused_naming_the_project_and_the_field(value: Any, message: str) -> None:
    assert refused(project("app", static=value)) == "project 'app': " + message


def test_a_project_in_embedded_mode_may_have_static_files() -> None:
    emb = project("emb", mode="embedded", static=[static("/emb/static", "/srv/static/emb", 60)])
    result = plan(emb)
    assert result["embedded"] is True and result["groups"] == []
    assert served(result) == [("emb", "/emb/static", "/srv/static/emb", 60)]
    assert result["directories"] == [{"project": "emb", "path": "/srv/static/emb"}]
    text = render_wsgi(result)
    (vhost,) = check_wsgi_conf(result, text).blocks("VirtualHost")
    assert vhost.values("Alias") == ['"/emb/static" "/srv/static/emb"']


# --- Checks per virtual host ---------------------------------------------------------------


def test_a_static_path_that_is_another_projects_mount_is_refused() -> None:
    message = refused(project("a", path="/", static=[static("/b", "/srv/static/a")]), project("b"))
    assert message == "project 'a': field 'static[0].path': port 80 path /b is already served by project 'b'"


def test_a_static_path_that_is_its_own_projects_mount_is_refused() -> None:
    message = refused(project("a", static=[static("/a", "/srv/static/a")]))
    assert message == "project 'a': field 'static[0].path': port 80 path /a is already served by project 'a'"


def test_a_static_path_that_another_project_serves_as_static_is_refused() -> None:
    www = project("www", path="/", static=[static("/static", "/srv/static/www")])
    api = project("api", static=[static("/api/static", "/srv/static/api"), static("/static", "/srv/static/api2")])
    assert refused(www, api) == ("project 'www': field 'static[0].path': port 80 path /static is already served by "
                                 "project 'api'")


def test_the_same_path_on_another_port_or_server_name_is_another_route() -> None:
    result = plan(project("a", static=[static("/a/static", "/srv/static/a")]),
                  project("b", path="/a", port=8080, static=[static("/a/static", "/srv/static/b")]),
                  project("c", path="/a", server_name="c.example.com", static=[static("/a/static", "/srv/static/c")]))
    assert served(result) == [("a", "/a/static", "/srv/static/a", None)]
    assert served(result, 8080) == [("b", "/a/static", "/srv/static/b", None)]
    assert served(result, 80, "c.example.com") == [("c", "/a/static", "/srv/static/c", None)]


@pytest.mark.parametrize("owner_path, static_path", [
    ("/b", "/b/static"),            # straight below another project's path
    ("/b", "/b/deeper/static"),     # further below it
    ("/api/v2", "/api/v2/static"),  # below the deeper of two mounts, "a" being at /api
])
def test_a_static_path_below_another_projects_path_is_refused(owner_path: str, static_path: str) -> None:
    message = refused(project("a", path="/api" if owner_path.startswith("/api") else "/",
                              static=[static("/a-ok", "/srv/static/ok"), static(static_path, "/srv/static/a")]),
                      project("b", path=owner_path))
    assert message == ("project 'a': field 'static[1].path': port 80 path %s is below path %s of project 'b', which "
                       "would lose those URLs to these static files" % (static_path, owner_path))


def test_a_static_path_below_another_projects_path_on_another_vhost_is_allowed() -> None:
    result = plan(project("a", path="/", static=[static("/b/static", "/srv/static/a")]),
                  project("b", port=8080))
    assert served(result) == [("a", "/b/static", "/srv/static/a", None)]


@pytest.mark.parametrize("a_path, static_path", [
    ("/a", "/a/static"),                  # below its own path
    ("/a", "/a/deep/er/static"),
    ("/a", "/assets"),                    # below the project at /
    ("/a", "/static"),
    ("/b/app", "/b/app/static"),          # below its own path, itself below another project's
    ("/a", "/bx/static"),                 # beside another project's path /b, not below it
])
def test_a_static_path_below_its_own_path_or_a_project_at_the_root_is_allowed(a_path: str, static_path: str) -> None:
    result = plan(project("a", path=a_path, static=[static(static_path, "/srv/static/a")]),
                  project("b"), project("top", path="/"))
    assert served(result) == [("a", static_path, "/srv/static/a", None)]


def test_a_project_at_the_root_may_serve_static_files_below_it() -> None:
    result = plan(project("django", path="/", static=[static("/static", "/srv/django/static", 86400)]))
    assert served(result) == [("django", "/static", "/srv/django/static", 86400)]


@pytest.mark.parametrize("directory, holds, project_named", [
    ("/srv/wsgi/b", "/srv/wsgi/b", "b"),                      # another project's script folder
    ("/srv/wsgi/a", "/srv/wsgi/a", "a"),                      # its own script folder
    ("/srv/wsgi", "/srv/wsgi/a", "a"),                        # a parent of script folders
    ("/srv", "/srv/wsgi/a", "a"),
    ("/opt/venvs/b", "/opt/venvs/b", "b"),                    # a venv (python_home)
    ("/opt/venvs", "/opt/venvs/b", "b"),                      # a parent of a venv
    ("/opt/venvs/b/lib", "/opt/venvs/b", "b"),                # a folder inside a venv
    ("/srv/wsgi/pip/venv", "/srv/wsgi/pip/venv", "pip"),      # the default venv of a project with pip_packages
])
def test_a_directory_holding_code_or_a_venv_is_refused(directory: str, holds: str, project_named: str) -> None:
    projects = [project("a", static=[static("/a/static", directory)]),
                project("b", python_home="/opt/venvs/b"),
                project("pip", script="/opt/pip/pip.wsgi", pip_packages=["webob"])]
    assert refused(*projects) == (
        "project 'a': field 'static[0].directory': %s holds the code, venv or data of project %r (%s), which Apache "
        "would then serve as files" % (directory, project_named, holds))


@pytest.mark.parametrize("directory", [
    "/srv/wsgi/a/static",   # beside the script /srv/wsgi/a/a.wsgi
    "/srv/wsgi/b2",         # a name that starts like the folder /srv/wsgi/b
    "/srv/wsgi/bstatic",
    "/opt/venvs/b-static",  # beside the venv /opt/venvs/b
    "/var/www/static",
])
def test_a_directory_beside_code_and_venvs_is_allowed(directory: str) -> None:
    result = plan(project("a", static=[static("/a/static", directory)]), project("b", python_home="/opt/venvs/b"))
    assert served(result) == [("a", "/a/static", directory, None)]


def test_the_example_serves_site1_static_files_beside_its_script() -> None:
    result = build_plan(example_projects()).to_dict()
    (site1,) = [p for p in result["projects"] if p["name"] == "site1"]
    assert site1["script"] == "/srv/wsgi/site1/site1.wsgi"
    assert served(result, 8080) == [("site1", "/site1/static", "/srv/wsgi/site1/static", 3600)]
    # and shop's, which its collectstatic hook fills as shop (tests/unit/roles/test_code_sources.py).
    assert served(result, 8096) == [("shop", "/static", "/srv/wsgi/shop/static", 86400)]
    assert all(v["static"] == [] for v in result["vhosts"] if v["port"] not in (8080, 8096))
    assert result["directories"] == [
        {"project": "shop", "path": "/srv/wsgi/shop/static", "owner": "shop", "group": "shop", "mode": "0755"},
        {"project": "site1", "path": "/srv/wsgi/site1/static"},
        {"project": "shop", "path": "/srv/wsgi/shop/data", "owner": "shop", "group": "shop", "mode": "0750"},
    ]


# --- Order and the static folders ----------------------------------------------------------


def test_a_vhosts_static_entries_are_longest_path_first() -> None:
    www = project("www", path="/", static=[static("/s", "/srv/s"), static("/static", "/srv/static"),
                                           static("/static/img", "/srv/img", 60), static("/media", "/srv/media")])
    api = project("api", static=[static("/api/st", "/srv/api-st"), static("/api/aa", "/srv/api-aa", 5)])
    result = plan(www, api)
    assert served(result) == [
        ("www", "/static/img", "/srv/img", 60),
        ("api", "/api/aa", "/srv/api-aa", 5),  # 7 characters, as /api/st and /static: by path
        ("api", "/api/st", "/srv/api-st", None),
        ("www", "/static", "/srv/static", None),
        ("www", "/media", "/srv/media", None),
        ("www", "/s", "/srv/s", None),
    ]
    # The folders: by project name, then each project's own order.
    assert result["directories"] == [
        {"project": "api", "path": "/srv/api-st"}, {"project": "api", "path": "/srv/api-aa"},
        {"project": "www", "path": "/srv/s"}, {"project": "www", "path": "/srv/static"},
        {"project": "www", "path": "/srv/img"}, {"project": "www", "path": "/srv/media"},
    ]
    # Aliases match first come, first served: /static/img must come before /static.
    (vhost,) = check_wsgi_conf(result, render_wsgi(result)).blocks("VirtualHost")
    assert [unquote(rest.split(" ")[0]) for rest in vhost.values("Alias")] == [
        "/static/img", "/api/aa", "/api/st", "/static", "/media", "/s"]
    assert aliased(vhost, "/static/img/logo.png") == "/srv/img/logo.png"
    assert aliased(vhost, "/static/imgx/logo.png") == "/srv/static/imgx/logo.png"


def test_static_dirs_list_every_entry_of_every_vhost() -> None:
    result = plan(project("b", port=8080, static=[static("/b/static", "/srv/static/b")]),
                  project("a", static=[static("/a/static", "/srv/static/a"), static("/a/media", "/srv/media/a")]),
                  project("c"))
    assert result["directories"] == [{"project": "a", "path": "/srv/static/a"},
                                     {"project": "a", "path": "/srv/media/a"},
                                     {"project": "b", "path": "/srv/static/b"}]


# --- wsgi.conf -----------------------------------------------------------------------------


def vhost_block(text: str, port: int = 80) -> Block:
    (block,) = [b for b in parse(text).blocks("VirtualHost") if b.arg == "*:%d" % port]
    return block


def cache_locations(vhost: Block, mount_paths: set[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """(path, directives) of each <Location> of the virtual host that is not a mount's, in order."""
    return [(unquote(b.arg), b.directives) for b in vhost.blocks("Location") if unquote(b.arg) not in mount_paths]


def test_wsgi_conf_aliases_each_static_folder_and_sets_cache_control_only_with_max_age() -> None:
    result = plan(project("www", path="/", static=[static("/static", "/srv/static/www", 3600),
                                                   static("/media", "/srv/media/www")]),
                  project("api", static=[static("/api/docs", "/srv/static/api", 0)]))
    text = render_wsgi(result)
    vhost = vhost_block(text)
    check_wsgi_conf(result, text)
    assert vhost.values("Alias") == ['"/api/docs" "/srv/static/api"', '"/static" "/srv/static/www"',
                                     '"/media" "/srv/media/www"']
    sections = {unquote(b.arg): b for b in vhost.blocks("Directory")}
    # The folders carry no header: Cache-Control is set by URL.
    assert {path: b.values("Header") for path, b in sections.items()} == {
        "/srv/wsgi/api": [], "/srv/wsgi/www": [], "/srv/static/api": [], "/srv/static/www": [], "/srv/media/www": []}
    for path in ("/srv/static/api", "/srv/static/www", "/srv/media/www"):
        assert sections[path].values("Require") == ["all granted"]
        assert sections[path].values("Options") == ["None"] and sections[path].values("AllowOverride") == ["None"]
    # One <Location> per entry with max_age (/media has none), shortest path first, after the mounts' ones.
    assert cache_locations(vhost, {"/", "/api"}) == [("/static", [("Header", CACHE % 3600)]),
                                                     ("/api/docs", [("Header", CACHE % 0)])]
    assert [unquote(b.arg) for b in vhost.blocks("Location")] == ["/", "/api", "/static", "/api/docs"]
    assert len(re.findall(r"^\s*Header ", text, re.M)) == 2


def test_wsgi_conf_without_static_files_has_no_alias_and_no_header() -> None:
    result = plan(project("www", path="/"), project("api"))
    text = render_wsgi(result)
    vhost = vhost_block(text)
    check_wsgi_conf(result, text)
    assert vhost.values("Alias") == [] and vhost.values("Header") == []
    assert not re.search(r"^\s*(Alias|Header) ", text, re.M) and "Static files" not in text
    assert len(vhost.blocks("Directory")) == 2
    assert [unquote(b.arg) for b in vhost.blocks("Location")] == ["/", "/api"]  # the mounts' only


def test_wsgi_conf_serves_static_files_in_the_vhost_of_their_project_only() -> None:
    result = plan(project("a", static=[static("/a/static", "/srv/static/a", 600)]),
                  project("b", port=8080, path="/"))
    text = render_wsgi(result)
    check_wsgi_conf(result, text)
    assert vhost_block(text, 80).values("Alias") == ['"/a/static" "/srv/static/a"']
    assert vhost_block(text, 8080).values("Alias") == []
    assert [unquote(b.arg) for b in vhost_block(text, 8080).blocks("Directory")] == ["/srv/wsgi/b"]


def cache_control(vhost: Block, path: str) -> Optional[str]:
    """The Cache-Control a request for ``path`` gets from the rendered virtual host, as Apache merges it.

    mod_alias maps the path to a file; every <Directory> section that holds the file applies, the
    shorter paths first and, among equal ones, in order of appearance; then every <Location> that
    holds the path, in order. mod_headers appends the merged sections' Header lines: the last
    ``Header set Cache-Control`` wins.
    """
    file = aliased(vhost, path)
    assert file is not None, path
    directories = [b for b in vhost.blocks("Directory") if prefix_matches(unquote(b.arg), file)]
    directories.sort(key=lambda b: len(unquote(b.arg).rstrip("/").split("/")))  # stable: order of appearance kept
    locations = [b for b in vhost.blocks("Location") if prefix_matches(unquote(b.arg), path)]
    value = None
    for section in directories + locations:
        for rest in section.values("Header"):
            if rest == "unset Cache-Control":
                value = None
                continue
            match = re.fullmatch(r'set Cache-Control "([^"]*)"', rest)
            assert match, rest
            value = match.group(1)
    return value


def test_each_static_url_gets_the_cache_control_of_its_own_entry() -> None:
    result = plan(project("www", path="/", static=[static("/static", "/srv/static/www", 3600),
                                                   static("/media", "/srv/media/www")]),
                  project("api", static=[static("/api/docs", "/srv/static/api", 0)]))
    vhost = vhost_block(render_wsgi(result))
    assert cache_control(vhost, "/static/app.css") == "public, max-age=3600"
    assert cache_control(vhost, "/static/img/logo.png") == "public, max-age=3600"
    assert cache_control(vhost, "/api/docs/index.html") == "public, max-age=0"
    assert cache_control(vhost, "/media/photo.jpg") is None


def test_one_directory_behind_two_paths_gets_the_cache_control_of_each() -> None:
    """Two static entries of one virtual host may name the same directory with different max_age.

    The folder gets one <Directory> section, naming both projects and setting no header: a file in it
    cannot tell by which URL it was asked. Each path's header is set in a <Location> of its own, so that
    /a/static/app.css is sent with its entry's max-age=60 and /b/static/app.css with max-age=3600.
    """
    result = plan(project("a", static=[static("/a/static", "/srv/shared", 60)]),
                  project("b", static=[static("/b/static", "/srv/shared", 3600)]))
    assert served(result) == [("a", "/a/static", "/srv/shared", 60), ("b", "/b/static", "/srv/shared", 3600)]
    text = render_wsgi(result)
    check_wsgi_conf(result, text)
    vhost = vhost_block(text)
    (shared,) = [b for b in vhost.blocks("Directory") if unquote(b.arg) == "/srv/shared"]
    assert shared.comments == ["# a, b"] and shared.values("Header") == []
    assert sorted(cache_locations(vhost, {"/a", "/b"})) == [("/a/static", [("Header", CACHE % 60)]),
                                                            ("/b/static", [("Header", CACHE % 3600)])]
    assert (cache_control(vhost, "/a/static/app.css"), cache_control(vhost, "/b/static/app.css")) == (
        "public, max-age=60", "public, max-age=3600")


def nested_projects() -> list[dict[str, Any]]:
    """One project's static folder with another inside it, each behind a path of its own, the inner one
    below the outer one."""
    return [project("a", static=[static("/a/static", "/srv/st", 60), static("/a/static/img", "/srv/st/img", 3600)])]


@pytest.mark.parametrize("conf", ["wsgi.conf", "front.conf"])
def test_nested_folders_get_the_cache_control_of_their_own_paths(conf: str) -> None:
    """/srv/st at /a/static (60 s) holds /srv/st/img at /a/static/img (an hour).

    The <Directory "/srv/st"> section holds the files of both folders; the header set by URL, shortest
    path first, gives each file the max_age of the entry it is served by. The same in the front end of
    isolation instance.
    """
    if conf == "wsgi.conf":
        result = plan(*nested_projects())
        text = render_wsgi(result)
        check_wsgi_conf(result, text)
        vhost = vhost_block(text)
    else:
        model = build_model(copy.deepcopy(nested_projects()), isolation="instance")
        text = render_front(model)
        check_text(text)
        (vhost,) = parse(text).blocks("VirtualHost")
        (plan_vhost,) = model["vhosts"]
        check_static(vhost, plan_vhost, set(), model["projects"])
        assert front_route(vhost, "/a/static/img/y.png") == ("file", "/srv/st/img/y.png")
        assert front_route(vhost, "/a/x")[0] == "proxy"
    assert [unquote(b.arg) for b in vhost.blocks("Directory") if b.arg.startswith('"/srv/st')] == [
        "/srv/st", "/srv/st/img"]
    assert cache_locations(vhost, {"/a"}) == [("/a/static", [("Header", CACHE % 60)]),
                                              ("/a/static/img", [("Header", CACHE % 3600)])]
    assert aliased(vhost, "/a/static/x.css") == "/srv/st/x.css"
    assert aliased(vhost, "/a/static/img/y.png") == "/srv/st/img/y.png"
    assert cache_control(vhost, "/a/static/x.css") == "public, max-age=60"
    assert cache_control(vhost, "/a/static/img/y.png") == "public, max-age=3600"
    assert cache_control(vhost, "/a/static/imgx/z.png") == "public, max-age=60"  # beside img, not in it


def test_the_example_wsgi_conf_serves_site1_static_files_for_an_hour() -> None:
    result = build_plan(example_projects()).to_dict()
    text = render_wsgi(result)
    check_wsgi_conf(result, text)
    vhost = vhost_block(text, 8080)
    assert vhost.values("Alias") == ['"/site1/static" "/srv/wsgi/site1/static"']
    assert cache_control(vhost, "/site1/static/app.css") == "public, max-age=3600"
    shop = vhost_block(text, 8096)
    assert shop.values("Alias") == ['"/static" "/srv/wsgi/shop/static"']
    assert cache_control(shop, "/static/admin/css/base.css") == "public, max-age=86400"
    assert text.count("Header set Cache-Control") == 2


# --- front.conf (isolation instance) -------------------------------------------------------


def line_numbers(text: str) -> tuple[list[int], list[int]]:
    """The lines of every ``ProxyPass ... "!"``, and of every ProxyPass or ProxyPassMatch that proxies."""
    kept, proxying = [], []
    for number, line in enumerate(text.splitlines()):
        words = line.split()
        if words and words[0] in ("ProxyPass", "ProxyPassMatch"):
            (kept if words[2:] == ['"!"'] else proxying).append(number)
    return kept, proxying


def test_front_end_keeps_static_paths_before_any_proxy_rule() -> None:
    projects = [project("www", path="/", static=[static("/static", "/srv/static/www", 600)]),
                project("api", static=[static("/api/static", "/srv/static/api")])]
    model = build_model(copy.deepcopy(projects), isolation="instance")
    text = render_front(model)
    check_text(text)
    kept, proxying = line_numbers(text)
    assert len(kept) == 2 and len(proxying) == 2
    assert max(kept) < min(proxying), "a ProxyPass ... \"!\" after a rule that proxies never applies"
    (vhost,) = parse(text).blocks("VirtualHost")
    rules = proxy_rules(vhost)
    assert [(r.pattern, r.backend) for r in rules[:2]] == [("/api/static", None), ("/static", None)]
    assert all(r.backend is not None for r in rules[2:])
    (plan_vhost,) = model["vhosts"]
    check_static(vhost, plan_vhost, set(), model["projects"])
    assert cache_control(vhost, "/static/app.css") == "public, max-age=600"
    assert cache_control(vhost, "/api/static/app.js") is None


@pytest.mark.parametrize("path, expected", [
    ("/static/app.css", ("file", "/srv/static/www/app.css")),
    ("/static", ("file", "/srv/static/www")),
    ("/api/static/app.js", ("file", "/srv/static/api/app.js")),
    ("/api/static/js/app.js", ("file", "/srv/static/api/js/app.js")),
    ("/staticx", ("proxy", "www")),
    ("/static.css", ("proxy", "www")),
    ("/", ("proxy", "www")),
    ("/api/staticx", ("proxy", "api")),
    ("/api/static.js", ("proxy", "api")),
    ("/api", ("proxy", "api")),
    ("/api/v1/static/x", ("proxy", "api")),
])
def test_front_end_routes_static_paths_to_files_and_the_rest_to_the_projects(
        path: str, expected: tuple[str, str]) -> None:
    projects = [project("www", path="/", static=[static("/static", "/srv/static/www", 600)]),
                project("api", static=[static("/api/static", "/srv/static/api")])]
    model = build_model(copy.deepcopy(projects), isolation="instance")
    (vhost,) = parse(render_front(model)).blocks("VirtualHost")
    where, target = front_route(vhost, path)
    if expected[0] == "proxy":
        assert where == "proxy" and target is not None
        assert "{modwsgi_fleet_backend_%s}" % expected[1] in target, target
    else:
        assert (where, target) == expected


def test_front_end_without_static_files_proxies_everything() -> None:
    model = build_model([project("www", path="/"), project("api")], isolation="instance")
    text = render_front(model)
    (vhost,) = parse(text).blocks("VirtualHost")
    assert all(r.backend is not None for r in proxy_rules(vhost))
    assert vhost.values("Alias") == [] and vhost.blocks("Directory") == [] and vhost.values("Header") == []
    assert not re.search(r"^\s*Header ", text, re.M)
    assert front_route(vhost, "/static/app.css")[0] == "proxy"


# --- Found while writing these tests -------------------------------------------------------


@pytest.mark.parametrize("projects, message", [
    # www (at /) serves /static from a folder; app is mounted at /static/app, below it.
    ([project("www", path="/", static=[static("/static", "/srv/static/www")]), project("app", path="/static/app")],
     "project 'www': field 'static[0].path': port 80 path /static holds path /static/app of project 'app', "
     "which would lose those URLs to these static files"),
    # its own mount below its static path: the project would lose all its URLs.
    ([project("app", path="/app/api", static=[static("/app", "/srv/static/app")])],
     "project 'app': field 'static[0].path': port 80 path /app holds path /app/api of project 'app', "
     "which would lose those URLs to these static files"),
    # further below, and on a server name of its own.
    ([project("app", path="/app/api/v1", server_name="x.example.com",
              static=[static("/ok", "/srv/ok"), static("/app", "/srv/static/app")])],
     "project 'app': field 'static[1].path': port 80 server_name x.example.com path /app holds path /app/api/v1 "
     "of project 'app', which would lose those URLs to these static files"),
], ids=["another-projects-mount", "its-own-mount", "deeper-on-a-server-name"])
def test_a_static_path_above_a_mount_is_refused(projects: list[dict[str, Any]], message: str) -> None:
    """A static path with a project mounted below it would take that project's URLs: refused.

    An Alias applies before any WSGIScriptAlias (and in front.conf a ProxyPass "!" before the
    mounts' rules), so every request to /static/app/... would be answered from /srv/static/www/app/...:
    the project at /static/app would lose every URL. A static path must lie below a mount, never above one.
    """
    assert refused(*projects) == message


def test_a_static_path_above_a_mount_on_another_vhost_is_allowed() -> None:
    result = plan(project("www", path="/", static=[static("/static", "/srv/static/www")]),
                  project("app", path="/static/app", port=8080))
    assert served(result) == [("www", "/static", "/srv/static/www", None)]


@pytest.mark.parametrize("projects", [
    # api's own static files below www's, as a project at / allows.
    [project("www", path="/", static=[static("/static", "/srv/static/www", 3600)]),
     project("api", static=[static("/static/api", "/srv/static/api")])],
    # one project's folder without max_age below another of its paths.
    [project("a", static=[static("/a/static", "/srv/st", 60), static("/a/static/private", "/srv/private")])],
], ids=["another-projects-entry", "its-own-entry"])
def test_a_static_path_without_max_age_gets_no_cache_control(projects: list[dict[str, Any]]) -> None:
    """BUG: an entry without max_age below the path of one with max_age gets that entry's header.

    The cache headers are set by URL, <Location "/static"> holding every URL below /static, so that
    /static/api/app.js, a file of api's /srv/static/api whose entry gives no max_age, is sent with www's
    "public, max-age=3600": shared caches keep it for an hour. Entries without max_age send no
    Cache-Control (as /media in test_each_static_url_gets_the_cache_control_of_its_own_entry, and as
    these did while the header was set on each folder): the template would need a <Location> with
    ``Header unset Cache-Control`` for such an entry below a cached path, or the plan to refuse it.
    """
    result = plan(*projects)
    (entry,) = [e for e in result["vhosts"][0]["static"] if e["max_age"] is None]
    vhost = vhost_block(render_wsgi(result))
    assert aliased(vhost, entry["path"] + "/app.js") == entry["directory"] + "/app.js"
    assert cache_control(vhost, entry["path"] + "/app.js") is None

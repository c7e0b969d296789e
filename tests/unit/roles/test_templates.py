# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Render the roles' real templates the way the template action does, and check the result.

Templates are rendered with ansible-core's own Templar (trim_blocks on, as the
``ansible.builtin.template`` action does by default); role defaults and vars are loaded
with its DataLoader so that the ``{{ ... }}`` in them resolve as in a play.
"""

from __future__ import annotations

import configparser
import copy
import fnmatch
import os
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml
from ansible_collections.modwsgi.fleet.plugins.module_utils._model import build_model, finish_groups
from ansible_collections.modwsgi.fleet.plugins.module_utils._plan import PlanError, build_plan
from ansible_collections.modwsgi.fleet.plugins.module_utils._sizing import environ_flags as promised_flags
from ansible_collections.modwsgi.fleet.plugins.module_utils._sizing import size_projects
from rendering import LOADER, MANAGED, ROLES, ROOT, render, unquote, wsgi_vars

EXAMPLE = ROOT / "inventories" / "example" / "group_vars" / "wsgi_hosts.yml"
TYPOGRAPHIC_QUOTES = "\u201c\u201d\u2033\u2018\u2019\u201e\u00ab\u00bb"  # curly quotes, double prime, low-9 quote, guillemets


# --- Rendering ------------------------------------------------------------------


def apache_vars(os_family: str, **overrides: Any) -> dict[str, Any]:
    """The apache role's defaults and OS vars, as a play would see them."""
    variables: dict[str, Any] = {}
    for path in (ROLES / "apache" / "defaults" / "main.yml", ROLES / "apache" / "vars" / "main.yml",
                 ROLES / "apache" / "vars" / ("%s.yml" % os_family)):  # lowest precedence first
        if path.exists():
            variables.update(LOADER.load_from_file(str(path), trusted_as_template=True) or {})
    variables.update(overrides)
    return variables


def example_projects(names: Optional[list[str]] = None) -> list[dict[str, Any]]:
    projects = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["wsgi_projects"]
    if names is None:
        return projects
    chosen = [p for p in projects if p["name"] in names]
    assert sorted(p["name"] for p in chosen) == sorted(names)
    return chosen


def example_ports(reserved: tuple[int, ...] = ()) -> list[str]:
    """The ports of the example's present projects, read from the inventory itself."""
    ports = {p.get("port", 80) for p in example_projects() if p.get("state", "present") == "present"}
    return [str(p) for p in sorted(ports - set(reserved))]


def default_sizes(plan: dict[str, Any]) -> dict[str, Any]:
    """The numbers of the groups that are not sized: what their projects set."""
    return {g["name"]: g for g in plan["groups"]}


def as_model(plan: dict[str, Any], sizes: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The render model of ``plan`` with ``sizes`` applied, as _model.build_model finishes it."""
    model = copy.deepcopy(plan)
    finish_groups(model, {} if sizes is None else sizes)
    return model


def render_wsgi(plan: dict[str, Any], sizes: Optional[dict[str, Any]] = None) -> str:
    return render(ROLES / "wsgi" / "templates" / "wsgi.conf.j2", dict(wsgi_vars("Debian"), __wsgi_plan=as_model(plan, sizes)))


# --- A tiny Apache configuration parser --------------------------------------------


class ConfigSyntaxError(AssertionError):
    pass


@dataclass
class Block:
    tag: str
    arg: str
    directives: list[tuple[str, str]] = field(default_factory=list)
    children: list["Block"] = field(default_factory=list)
    # The comment lines right inside this section (not those of its children), "#" included.
    comments: list[str] = field(default_factory=list)

    def values(self, name: str) -> list[str]:
        return [rest for directive, rest in self.directives if directive.lower() == name.lower()]

    def blocks(self, tag: str) -> list["Block"]:
        return [b for b in self.children if b.tag.lower() == tag.lower()]


def parse(text: str) -> Block:
    """Directives and sections; raise ConfigSyntaxError unless every section closes, in order."""
    stack = [Block("(top)", "")]
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("#"):
            stack[-1].comments.append(stripped)
            continue
        if not stripped:
            continue
        closing = re.fullmatch(r"</([A-Za-z]+)>", stripped)
        if closing:
            if len(stack) == 1 or stack[-1].tag.lower() != closing.group(1).lower():
                raise ConfigSyntaxError("line %d: %s closes %s" % (number, stripped, stack[-1].tag))
            stack.pop()
            continue
        opening = re.fullmatch(r"<([A-Za-z]+)(?:\s+([^<>]*))?>", stripped)
        if opening:
            block = Block(opening.group(1), (opening.group(2) or "").strip())
            stack[-1].children.append(block)
            stack.append(block)
            continue
        if "<" in stripped or ">" in stripped:
            raise ConfigSyntaxError("line %d: stray angle bracket: %r" % (number, stripped))
        name, _sep, rest = stripped.partition(" ")
        stack[-1].directives.append((name, rest.strip()))
    if len(stack) != 1:
        raise ConfigSyntaxError("unclosed section(s): %s" % ", ".join(b.tag for b in stack[1:]))
    return stack[0]


@pytest.mark.parametrize(
    "text",
    [
        "<VirtualHost *:80>\n",
        "</Location>\n",
        '<VirtualHost *:80>\n<Location "/">\n</VirtualHost>\n</Location>\n',
        "<IfModule x>\n</IfModule>\n</IfModule>\n",
        '<VirtualHost *:80>\n    ServerName <evil>\n</VirtualHost>\n',
    ],
)
def test_parser_finds_unbalanced_blocks(text: str) -> None:
    with pytest.raises(ConfigSyntaxError):
        parse(text)


def test_parser_reads_nested_blocks() -> None:
    top = parse('Listen 80\n<VirtualHost *:80>\n  # c\n  <Location "/a">\n    X 1\n  </Location>\n</VirtualHost>\n')
    assert top.values("Listen") == ["80"]
    (vhost,) = top.blocks("VirtualHost")
    assert vhost.arg == "*:80" and vhost.blocks("Location")[0].values("X") == ["1"]
    # Comments are kept by the section they stand in.
    assert vhost.comments == ["# c"] and vhost.blocks("Location")[0].comments == [] and top.comments == []


def check_text(text: str) -> None:
    """What every rendered configuration file must satisfy."""
    parse(text)
    assert not set(text) & set(TYPOGRAPHIC_QUOTES), "typographic quotes in the output"
    for line in text.splitlines():
        assert line.count('"') % 2 == 0, line
        assert "{{" not in line and "{%" not in line, line
        assert line == line.rstrip(), "trailing whitespace: %r" % line


# --- ansible_managed on every file written to a host -------------------------------


LOOKUP_RE = re.compile(r"lookup\(\s*'(?:ansible\.builtin\.)?template'\s*,\s*'([^']+)'")


def walk_tasks(tasks: Any) -> Any:
    """Every task of a tasks file, including those inside block/rescue/always."""
    for task in tasks or []:
        yield task
        for section in ("block", "rescue", "always"):
            yield from walk_tasks(task.get(section))


def template_tasks() -> tuple[set[str], set[str]]:
    """Templates the roles write with the template action, and those only read by lookup."""
    written: set[str] = set()
    looked_up: set[str] = set()
    for tasks_file in sorted(ROLES.glob("*/tasks/*.yml")):
        role = tasks_file.parts[-3]
        text = tasks_file.read_text(encoding="utf-8")
        for task in walk_tasks(yaml.safe_load(text)):
            args = task.get("ansible.builtin.template") or task.get("template")
            if isinstance(args, dict):
                written.add("%s/%s" % (role, args["src"]))
        looked_up |= {"%s/%s" % (role, src) for src in LOOKUP_RE.findall(text)}
    return written, looked_up


WRITTEN, LOOKED_UP = template_tasks()
IMPORT_RE = re.compile(r"\{%-?\s*import\s+'([^']+)'")
IMPORTED = {"%s/%s" % (p.parts[-3], name) for p in ROLES.glob("*/templates/*.j2")
            for name in IMPORT_RE.findall(p.read_text(encoding="utf-8"))}
ALL_TEMPLATES = sorted("%s/%s" % (p.parts[-3], p.name) for p in ROLES.glob("*/templates/*.j2"))


def sample_vars() -> dict[str, Any]:
    """Enough variables to render any template of the roles."""
    plan = build_plan(example_projects()).to_dict()
    variables = apache_vars("Debian")
    variables.update(
        __wsgi_plan=as_model(plan),
        __wsgi_answers={"results": []},
    )
    # The templates of isolation instance (each group's instance and the front end).
    variables.update(wsgi_vars("Debian"))
    instance_plan = build_model(example_projects(), isolation="instance")
    variables.update(__wsgi_group=instance_plan["groups"][0], __wsgi_color="blue", __wsgi_name="wsgi-glance-blue",
                     __wsgi_instance_groups=instance_plan["groups"],
                     __wsgi_live_after={g["name"]: "blue" for g in instance_plan["groups"]})
    return variables


@pytest.mark.parametrize("template", ALL_TEMPLATES)
def test_every_template_is_used(template: str) -> None:
    assert template in WRITTEN | LOOKED_UP | IMPORTED, (
        "%s is neither written by a template task nor looked up nor imported" % template)


def test_templates_are_found() -> None:
    assert {"wsgi/wsgi.conf.j2", "apache/modwsgi-fleet.conf.j2", "apache/ports.conf.j2", "apache/00-mpm.conf.j2",
            "apache/modwsgi-fleet-configtest.j2"} <= set(WRITTEN)


@pytest.mark.parametrize("template", sorted(WRITTEN))
def test_written_template_starts_with_ansible_managed(template: str) -> None:
    """Every file the roles put on a host says so in its first comment.

    A template only read through lookup() (answers.txt.j2, the status table shown by
    ansible.builtin.debug) is no file on the host and needs no such header.
    """
    role, name = template.split("/")
    lines = render(ROLES / role / "templates" / name, sample_vars()).splitlines()
    if lines[0].startswith("#!"):
        lines = lines[1:]
    header = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line)
    assert header, "the first line is no comment: %r" % lines[0]
    assert ("# " + MANAGED) in header


# --- wsgi.conf --------------------------------------------------------------------

LAYOUTS = {
    "shared-group-at-paths": ["project1", "project2"],
    "own-groups-at-paths": ["site1", "site2"],
    "vhost-per-port": ["keystone", "nova-api", "placement"],
    "whole-example": None,
}


def daemon_lines(text: str) -> dict[str, tuple[str, dict[str, str]]]:
    """WSGIDaemonProcess lines by group: the comment lines right above (joined), and the options."""
    lines = text.splitlines()
    found: dict[str, tuple[str, dict[str, str]]] = {}
    for index, line in enumerate(lines):
        if not line.startswith("WSGIDaemonProcess"):
            continue
        name, *tokens = line.split()[1:]
        assert name not in found, "two WSGIDaemonProcess lines for %s" % name
        assert all("=" in t for t in tokens), line
        options = dict(t.split("=", 1) for t in tokens)
        assert len(options) == len(tokens), "an option is given twice: %s" % line
        start = index
        while start > 0 and lines[start - 1].startswith("#"):
            start -= 1
        found[name] = ("\n".join(lines[start:index]), options)
    return found


# What every WSGIDaemonProcess line carries unless something overrides it (README: "Production defaults").
DEFAULT_OPTIONS = {
    "lang": "C.UTF-8", "locale": "C.UTF-8", "queue-timeout": "45", "request-timeout": "60", "socket-timeout": "60",
    "connect-timeout": "15", "listen-backlog": "100", "startup-timeout": "15", "deadlock-timeout": "60",
    "graceful-timeout": "15", "shutdown-timeout": "5",
}
SIZED_FIELDS = {"queue-timeout": "queue_timeout", "request-timeout": "request_timeout", "listen-backlog": "listen_backlog"}


def expected_options(group: dict[str, Any], size: dict[str, Any]) -> dict[str, str]:
    options = {"threads": str(size["threads"]), "user": group["user"], "group": group["group"], "display-name": "%{GROUP}"}
    options.update(DEFAULT_OPTIONS)
    options.update({option: str(size[name]) for option, name in SIZED_FIELDS.items() if name in size})
    if size["processes_explicit"]:
        options["processes"] = str(size["processes"])
    if group["python_home"]:
        options["python-home"] = group["python_home"]
    if group["python_path"]:
        options["python-path"] = ":".join(group["python_path"])
    options.update({k: str(v) for k, v in group["options"].items()})
    return options


def check_wsgi_conf(plan: dict[str, Any], text: str, sizes: Optional[dict[str, Any]] = None) -> Block:
    """Check the rendered wsgi.conf against the plan it came from."""
    sizes = default_sizes(plan) if sizes is None else sizes
    check_text(text)
    top = parse(text)
    assert top.values("WSGIRestrictEmbedded") == ["Off" if plan["embedded"] else "On"]
    assert top.values("Listen") == [str(p) for p in plan["listen"]]

    daemons = daemon_lines(text)
    assert sorted(daemons) == sorted(g["name"] for g in plan["groups"])
    for group in plan["groups"]:
        comment, options = daemons[group["name"]]
        size = sizes[group["name"]]
        assert options == expected_options(group, size)
        assert ("processes" in options) is bool(size["processes_explicit"])
        flags = promised_flags(size["processes"] if size["processes_explicit"] else None, size["threads"])
        assert comment.startswith("#"), comment
        assert re.search(r"\bwsgi\.multithread=%s\b" % flags["multithread"], comment), comment
        assert re.search(r"\bwsgi\.multiprocess=%s\b" % flags["multiprocess"], comment), comment
        assert all(name in comment for name in group["projects"]), comment

    vhosts = top.blocks("VirtualHost")
    assert [v.arg for v in vhosts] == ["*:%d" % v["port"] for v in plan["vhosts"]]
    for block, vhost in zip(vhosts, plan["vhosts"]):
        assert block.values("ServerName") == ([vhost["server_name"]] if vhost["server_name"] else [])
        mounts = {m["path"]: m for m in vhost["mounts"]}
        aliases = [re.fullmatch(r'(\S+) "([^"]+)"', a).groups() for a in block.values("WSGIScriptAlias")]
        alias_paths = [alias[0] for alias in aliases]
        # The mounts' <Location> sections: those at a mount's path (no static path is one, as checked
        # below); the others set the static files' cache headers (check_static).
        mount_locations = [b for b in block.blocks("Location") if unquote(b.arg) in mounts]
        locations = [unquote(b.arg) for b in mount_locations]
        # Each mount's <Location> once, each with the alias of the same path; one of each per mount.
        assert len(locations) == len(set(locations)) == len(mounts)
        assert len(alias_paths) == len(set(alias_paths)) == len(mounts)
        assert set(locations) == set(alias_paths) == set(mounts)
        assert dict(aliases) == {p: m["script"] for p, m in mounts.items()}
        # Aliases: longest path first, "/" last; Locations: shortest first.
        assert [len(p) for p in alias_paths] == sorted((len(p) for p in alias_paths), reverse=True)
        assert [len(p) for p in locations] == sorted(len(p) for p in locations)
        if "/" in mounts:
            assert alias_paths[-1] == "/" and locations[0] == "/"
        for location in mount_locations:
            mount = mounts[unquote(location.arg)]
            assert location.values("WSGIProcessGroup") == [mount["group"] or "%{GLOBAL}"]
            assert location.values("WSGIApplicationGroup") == [mount["application_group"]]
            assert location.values("WSGIPassAuthorization") == (["On"] if mount["pass_authorization"] else [])
        # An Alias is applied before any WSGIScriptAlias: no static path may take a mount's.
        assert not {e["path"] for e in vhost["static"]} & set(mounts)
        check_static(block, vhost, {m["script_dir"] for m in vhost["mounts"]}, plan["projects"],
                     {m["release_root"] for m in vhost["mounts"] if m.get("release_root")})
    return top


def check_static(block: Block, vhost: dict[str, Any], script_dirs: set[str], projects: list[dict[str, Any]],
                 release_roots: Optional[set[str]] = None) -> None:
    """The Alias lines, <Directory> sections and cache <Location> sections of one rendered virtual host,
    against its plan.

    ``script_dirs``: the folders of the scripts the virtual host serves itself (none in the front end of
    isolation instance), whose <Directory> sections come first. ``projects``: the plan's projects, whose
    own ``static`` entries for this virtual host must be the ones it serves. ``release_roots``: the folders
    of code projects, whose <Directory> (after the scripts') follows their `current` link and grants nothing.

    Each static folder gets one <Directory> (once, however many paths it is behind), naming its projects,
    with no Header: a folder behind two paths cannot tell which URL a file was asked by. Cache-Control is
    set by URL instead, one <Location> per entry with max_age, shortest path first as a later one wins.
    """
    entries = vhost["static"]
    on_this_vhost = [p for p in projects if (p["port"], p["server_name"]) == (vhost["port"], vhost["server_name"])]
    assert sorted((e["project"], e["path"], e["directory"], e["max_age"]) for e in entries) == sorted(
        (p["name"], e["path"], e["directory"], e["max_age"]) for p in on_this_vhost for e in p["static"])
    # Aliases match first come, first served: longest path first.
    assert [len(e["path"]) for e in entries] == sorted((len(e["path"]) for e in entries), reverse=True)
    assert block.values("Alias") == ['"%s" "%s"' % (e["path"], e["directory"]) for e in entries]
    # <Directory>: the scripts' folders, then each static folder once, sorted.
    folders = sorted({e["directory"] for e in entries})
    roots = sorted(release_roots or ())
    sections = block.blocks("Directory")
    assert len(sections) == len(script_dirs) + len(roots) + len(folders), [b.arg for b in sections]
    code, links = sections[:len(script_dirs)], sections[len(script_dirs):len(script_dirs) + len(roots)]
    static = sections[len(script_dirs) + len(roots):]
    assert {unquote(b.arg) for b in code} == script_dirs
    assert [unquote(b.arg) for b in links] == roots
    for section in links:
        assert section.directives == [("Options", "FollowSymLinks"), ("AllowOverride", "None"),
                                      ("Require", "all denied")], section.directives
    assert [unquote(b.arg) for b in static] == folders
    for section in code:
        assert section.values("Require") == ["all granted"]
        assert section.values("Header") == []
    for section, folder in zip(static, folders):
        assert section.values("Options") == ["None"] and section.values("AllowOverride") == ["None"]
        assert section.values("Require") == ["all granted"]
        assert section.values("Header") == [], (folder, section.directives)
        # A comment names the projects whose files the folder holds, each once.
        owners = {e["project"] for e in entries if e["directory"] == folder}
        (comment,) = section.comments
        named = comment[len("# "):].split(", ")
        assert comment.startswith("# ") and len(named) == len(set(named)) and set(named) == owners, comment
    # Cache-Control by URL: a <Location> of each entry with max_age, shortest path first, holding only the
    # header; every other <Location> is a mount's.
    mount_paths = {m["path"] for m in vhost["mounts"]}
    assert not {e["path"] for e in entries} & mount_paths
    # An entry without max_age below one with it unsets the header it would inherit.
    with_age = [e["path"] for e in entries if e["max_age"] is not None]
    cached = [e for e in reversed(entries)
              if e["max_age"] is not None or any(p != e["path"] and prefix_matches(p, e["path"]) for p in with_age)]
    cache = [b for b in block.blocks("Location") if unquote(b.arg) not in mount_paths]
    assert [unquote(b.arg) for b in cache] == [e["path"] for e in cached]
    assert [len(e["path"]) for e in cached] == sorted(len(e["path"]) for e in cached)
    for section, entry in zip(cache, cached):
        header = ('set Cache-Control "public, max-age=%d"' % entry["max_age"] if entry["max_age"] is not None
                  else "unset Cache-Control")
        assert section.directives == [("Header", header)], (entry, section.directives)
        assert section.children == []
    # And no Header anywhere else in the virtual host.
    headers = block.values("Header") + [rest for child in block.children for rest in child.values("Header")]
    assert len(headers) == len(cached), headers


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_wsgi_conf_of_the_example_layouts(layout: str) -> None:
    plan = build_plan(example_projects(LAYOUTS[layout])).to_dict()
    text = render_wsgi(plan)
    check_wsgi_conf(plan, text)
    assert text.splitlines()[0] == "#" and text.splitlines()[1] == "# " + MANAGED


# What the example inventory promises, group by group (options beside user/group/display-name).
EXAMPLE_DAEMONS = {
    "portal": ({"processes": "1", "threads": "1"}, False, True),
    "site1": ({"threads": "25"}, True, False),
    "site2": ({"processes": "1", "threads": "25"}, True, True),
    "keystone": ({"processes": "2", "threads": "25", "maximum-requests": "10000"}, True, True),
    "nova-api": ({"processes": "5", "threads": "1"}, False, True),
    "placement": ({"processes": "2", "threads": "4", "python-home": "/srv/wsgi/placement/venv"}, True, True),
    "legacy": ({"threads": "15"}, True, False),
}


@pytest.mark.parametrize("name", sorted(EXAMPLE_DAEMONS))
def test_example_daemon_lines(name: str) -> None:
    text = render_wsgi(build_plan(example_projects()).to_dict())
    comment, options = daemon_lines(text)[name]
    extra, multithread, multiprocess = EXAMPLE_DAEMONS[name]
    assert options == dict(DEFAULT_OPTIONS, **extra, user=name, group=name, **{"display-name": "%{GROUP}"})
    assert "wsgi.multithread=%s" % multithread in comment and "wsgi.multiprocess=%s" % multiprocess in comment


def test_example_vhosts() -> None:
    top = parse(render_wsgi(build_plan(example_projects()).to_dict()))
    vhosts = {b.arg: b for b in top.blocks("VirtualHost")}
    assert {"80", "5000", "8080", "8774", "8778"} <= set(example_ports())
    assert sorted(vhosts) == sorted("*:" + p for p in example_ports())
    assert top.values("Listen") == example_ports()
    assert vhosts["*:80"].values("WSGIScriptAlias") == [
        '/project1 "/srv/wsgi/project1/project1.wsgi"', '/project2 "/srv/wsgi/project2/project2.wsgi"']
    # The document's mistake was a second <Location "/project1">: here it is /project2.
    assert sorted(b.arg for b in vhosts["*:80"].blocks("Location")) == ['"/project1"', '"/project2"']
    assert vhosts["*:8080"].values("WSGIScriptAlias") == ['/site1 "/srv/wsgi/site1/site1.wsgi"', '/ "/srv/wsgi/site2/site2.wsgi"']
    # The mounts' Locations, shortest first; then the one that sets the cache header of site1's static files.
    locations = vhosts["*:8080"].blocks("Location")
    assert [b.arg for b in locations] == ['"/"', '"/site1"', '"/site1/static"']
    assert locations[2].directives == [("Header", 'set Cache-Control "public, max-age=3600"')]
    site1 = locations[1]
    assert site1.values("WSGIProcessGroup") == ["site1"] and site1.values("WSGIApplicationGroup") == ["%{GLOBAL}"]
    for location in vhosts["*:80"].blocks("Location"):
        assert location.values("WSGIProcessGroup") == ["portal"]
        assert location.values("WSGIApplicationGroup") == ["%{RESOURCE}"]


def test_reserved_ports_get_no_listen_line() -> None:
    plan = build_plan(example_projects(), reserved_ports=[80, 8080]).to_dict()
    top = check_wsgi_conf(plan, render_wsgi(plan))
    assert top.values("Listen") == example_ports(reserved=(80, 8080))
    assert "80" not in top.values("Listen") and "5000" in top.values("Listen")
    assert "*:80" in [b.arg for b in top.blocks("VirtualHost")]


def test_embedded_project_turns_restriction_off() -> None:
    projects = example_projects(LAYOUTS["shared-group-at-paths"]) + [
        {"name": "emb", "script": "/srv/emb/emb.wsgi", "mode": "embedded", "path": "/emb"}]
    plan = build_plan(projects).to_dict()
    top = check_wsgi_conf(plan, render_wsgi(plan))
    assert top.values("WSGIRestrictEmbedded") == ["Off"]
    (vhost,) = top.blocks("VirtualHost")
    (emb,) = [b for b in vhost.blocks("Location") if b.arg == '"/emb"']
    assert emb.values("WSGIProcessGroup") == ["%{GLOBAL}"]
    assert emb.values("WSGIApplicationGroup") == ["%{RESOURCE}"]
    assert sorted(daemon_lines(render_wsgi(plan))) == ["portal"]


def test_daemon_only_plan_restricts_embedded() -> None:
    plan = build_plan(example_projects(["keystone"])).to_dict()
    assert parse(render_wsgi(plan)).values("WSGIRestrictEmbedded") == ["On"]


def test_server_names_pass_authorization_and_options() -> None:
    projects = [
        {"name": "api", "script": "/srv/api/api.wsgi", "server_name": "api.example.com", "pass_authorization": True,
         "python_path": ["/opt/a", "/opt/b"], "options": {"umask": "0002", "maximum-requests": 100}},
        {"name": "www", "script": "/srv/www/www.wsgi", "server_name": "www.example.com", "path": "/app",
         "application_group": "www"},
        {"name": "default", "script": "/srv/default/default.wsgi"},
    ]
    plan = build_plan(projects).to_dict()
    text = render_wsgi(plan)
    top = check_wsgi_conf(plan, text)
    by_name = {tuple(b.values("ServerName")): b for b in top.blocks("VirtualHost")}
    assert sorted(by_name) == [(), ("api.example.com",), ("www.example.com",)]
    assert [b.values("ServerName") for b in top.blocks("VirtualHost")][0] == []  # the port's default vhost first
    (api,) = by_name[("api.example.com",)].blocks("Location")
    assert api.values("WSGIPassAuthorization") == ["On"]
    assert text.count("WSGIPassAuthorization On") == 1
    options = daemon_lines(text)["api"][1]
    assert options["python-path"] == "/opt/a:/opt/b"
    assert (options["umask"], options["maximum-requests"]) == ("0002", "100")
    (www,) = by_name[("www.example.com",)].blocks("Location")
    assert www.values("WSGIApplicationGroup") == ["www"]


def test_tls_virtual_host_gets_modern_protocols_only() -> None:
    tls = {"tls_certificate": "/etc/ssl/certs/api.pem", "tls_key": "/etc/ssl/private/api.key"}
    projects = [
        {"name": "api", "script": "/srv/api/api.wsgi", "port": 8443, **tls},
        {"name": "admin", "script": "/srv/admin/admin.wsgi", "port": 8443, "path": "/admin", **tls},
        {"name": "plain", "script": "/srv/plain/plain.wsgi"},
    ]
    plan = build_plan(projects).to_dict()
    top = check_wsgi_conf(plan, render_wsgi(plan))
    by_port = {b.arg: b for b in top.blocks("VirtualHost")}
    secure = by_port["*:8443"]
    assert secure.values("SSLEngine") == ["on"]
    assert secure.values("SSLCertificateFile") == ['"/etc/ssl/certs/api.pem"']
    assert secure.values("SSLCertificateKeyFile") == ['"/etc/ssl/private/api.key"']
    assert secure.values("SSLProtocol") == ["-all +TLSv1.2 +TLSv1.3"]
    assert by_port["*:80"].values("SSLEngine") == []


def test_sizes_decide_processes_and_threads() -> None:
    """The daemon lines follow __wsgi_sizes (the sizing seam), not the plan's own numbers."""
    plan = build_plan(example_projects()).to_dict()
    sizes = default_sizes(plan)
    sizes["legacy"] = dict(sizes["legacy"], processes=3, threads=6, processes_explicit=True)
    sizes["site2"] = dict(sizes["site2"], processes=None, threads=8, processes_explicit=False)
    text = render_wsgi(plan, sizes)
    check_wsgi_conf(plan, text, sizes)
    legacy_comment, legacy = daemon_lines(text)["legacy"]
    assert (legacy["processes"], legacy["threads"]) == ("3", "6") and "wsgi.multiprocess=True" in legacy_comment
    site2_comment, site2 = daemon_lines(text)["site2"]
    assert "processes" not in site2 and site2["threads"] == "8" and "wsgi.multiprocess=False" in site2_comment


def test_wildcard_server_name_is_not_written_as_server_name() -> None:
    try:
        plan = build_plan([{"name": "app", "script": "/srv/app.wsgi", "server_name": "*.example.com"}]).to_dict()
    except PlanError:
        return  # refusing the wildcard is a fix too
    assert not re.search(r"^\s*ServerName\s+\S*\*", render_wsgi(plan), re.M)


# --- Isolation instance: each group's Apache instance, and the front end -------------

INSTANCE_MODEL = build_model(example_projects(), isolation="instance")
INSTANCE_GROUPS = {g["name"]: g for g in INSTANCE_MODEL["groups"]}


def render_instance(group: str, color: str) -> str:
    variables = dict(wsgi_vars("Debian"), __wsgi_group=INSTANCE_GROUPS[group], __wsgi_color=color)
    return render(ROLES / "wsgi" / "templates" / "instance.conf.j2", variables)


def render_front(model: Optional[dict[str, Any]] = None) -> str:
    """The main Apache's configuration in isolation instance, of ``model`` (build_model's; the example's by default)."""
    model = INSTANCE_MODEL if model is None else model
    return render(ROLES / "wsgi" / "templates" / "front.conf.j2", dict(
        wsgi_vars("Debian"), __wsgi_plan=model, __wsgi_instance_groups=model["groups"]))


def render_live(live: dict[str, Optional[str]]) -> str:
    """The file of live addresses the main Apache reads, for ``live`` (group -> live colour, None: none yet)."""
    return render(ROLES / "wsgi" / "templates" / "instance_backends.j2",
                  {"__wsgi_instance_groups": INSTANCE_MODEL["groups"], "__wsgi_live_after": live})


@pytest.mark.parametrize("color", ["blue", "green"])
@pytest.mark.parametrize("group", sorted(INSTANCE_GROUPS))
def test_instance_runs_its_group_alone_on_loopback(group: str, color: str) -> None:
    text = render_instance(group, color)
    check_text(text)
    top = parse(text)
    instance = INSTANCE_GROUPS[group]["instance"]
    name, port = instance["names"][color], instance["ports"][color]
    assert top.values("ServerRoot") == ['"/etc/apache2-%s"' % name]
    assert top.values("DefaultRuntimeDir") == ['"/run/apache2-%s"' % name]
    assert top.values("Listen") == ["127.0.0.1:%d" % port]
    assert [v.arg for v in top.blocks("VirtualHost")] == ["127.0.0.1:%d" % port]
    # The same daemon line as in shared isolation, and no other group's.
    shared = daemon_lines(render_wsgi(build_plan(example_projects()).to_dict(), default_sizes(INSTANCE_MODEL)))
    assert daemon_lines(text) == {group: shared[group]}
    # Its own event MPM: the group's capacity at least.
    (mpm,) = top.blocks("IfModule")
    assert int(mpm.values("MaxRequestWorkers")[0]) == instance["mpm"]["max_request_workers"]
    assert instance["mpm"]["max_request_workers"] >= INSTANCE_GROUPS[group]["capacity"]
    # Forwarded headers are trusted from the front end on loopback only.
    assert top.values("WSGITrustedProxies") == ["127.0.0.1"]
    assert top.values("WSGIScriptReloading") == ["Off"]
    (vhost,) = top.blocks("VirtualHost")
    aliases = [v.split()[0] for v in vhost.values("WSGIScriptAlias")]
    assert aliases == [m["path"] for m in instance["mounts"]]
    assert {b.arg for b in vhost.blocks("Location")} == {'"%s"' % m["path"] for m in instance["mounts"]}


@pytest.mark.parametrize("group", sorted(INSTANCE_GROUPS))
def test_instance_preloads_what_its_daemons_can_load_at_start(group: str) -> None:
    """WSGIImportScript for each script of a named application group; %{RESOURCE} cannot be preloaded."""
    top = parse(render_instance(group, "blue"))
    wanted = ['"%s" process-group=%s application-group=%s' % (m["script"], group, m["application_group"])
              for m in INSTANCE_GROUPS[group]["instance"]["mounts"]
              if m["application_group"] == "%{GLOBAL}" or not m["application_group"].startswith("%{")]
    assert top.values("WSGIImportScript") == wanted
    assert wanted or group == "portal", "only the shared group of the example has nothing to preload"


def test_instance_error_log_is_one_the_apache_role_rotates() -> None:
    """The role's piped logger: each project's lines to its own file, the instance's to its own; all rotated."""
    (error_log,) = parse(render_instance("keystone", "green")).values("ErrorLog")
    command = unquote(error_log)
    assert command == ("|/usr/bin/python3 -I -u /usr/local/lib/modwsgi-fleet/logsplit.py /var/log/apache2/modwsgi-fleet "
                       "/var/log/apache2-wsgi-keystone-green/error.log")
    globs = apache_vars("Debian")["__apache_log_globs"]
    for path in (command.split()[-1], command.split()[-2] + "/keystone/error.log"):
        assert any(fnmatch.fnmatch(path, pattern) for pattern in globs), (path, globs)


def test_instances_of_one_group_differ_only_in_name_and_port() -> None:
    blue, green = render_instance("keystone", "blue"), render_instance("keystone", "green")
    ports = INSTANCE_GROUPS["keystone"]["instance"]["ports"]
    assert blue.replace("-blue", "-green").replace(":%d" % ports["blue"], ":%d" % ports["green"]) == green


# Two groups with their numbers set, so that the resources follow from them by hand: glance gives sizing metadata
# (weight 2, 120 MB per process), web none.
RESOURCE_MODEL = build_model(
    [{"name": "glance", "script": "/srv/wsgi/glance/glance.wsgi", "port": 9292, "processes": 3, "threads": 4,
      "sizing": {"cpu_ms": 10, "wait_ms": 40, "rss_mb": 120, "weight": 2}},
     {"name": "web", "script": "/srv/wsgi/web/web.wsgi", "port": 8080, "processes": 2, "threads": 8}],
    isolation="instance", resources={"slice": "apps-wsgi.slice"})
RESOURCE_GROUPS = {g["name"]: g for g in RESOURCE_MODEL["groups"]}


def render_resources(group: str, color: str) -> str:
    variables = dict(wsgi_vars("Debian"), __wsgi_group=RESOURCE_GROUPS[group], __wsgi_color=color)
    return render(ROLES / "wsgi" / "templates" / "instance_resources.conf.j2", variables)


def unit_settings(text: str) -> list[str]:
    """The drop-in's lines that are no comment, as systemd reads them."""
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("color", ["blue", "green"])
def test_resource_drop_in_of_a_group_with_rss(color: str) -> None:
    text = render_resources("glance", color)
    assert text.splitlines()[:3] == ["#", "# " + MANAGED, "#"]  # ansible_managed | comment, first
    assert "Apache instance wsgi-glance-%s (daemon group" % color in text
    # CPUWeight 100 x weight 2 = 200; 3 processes x 120 MB = 360 MB: MemoryHigh 360 x 125% + 64 = 514 MB,
    # MemoryMax 360 x 150% + 64 = 604 MB. Capacity 3 x 4 = 12: its event MPM 12 + 25 -> 2 children of 25,
    # ServerLimit 4; TasksMax 2 x (3 x (4 + 3) + 4 x (25 + 2) + 3) = 2 x 132 = 264.
    assert unit_settings(text) == ["[Service]", "Slice=apps-wsgi.slice", "CPUWeight=200", "MemoryHigh=514M",
                                   "MemoryMax=604M", "TasksMax=264", "OOMPolicy=continue"]
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    assert parser.sections() == ["Service"]
    resources = RESOURCE_GROUPS["glance"]["instance"]["resources"]
    assert dict(parser["Service"]) == {"Slice": resources["slice"], "CPUWeight": str(resources["cpu_weight"]),
                                       "MemoryHigh": "%dM" % resources["memory_high_mb"],
                                       "MemoryMax": "%dM" % resources["memory_max_mb"],
                                       "TasksMax": str(resources["tasks_max"]), "OOMPolicy": "continue"}


def test_resource_drop_in_of_a_group_without_rss_sets_no_memory_limit() -> None:
    text = render_resources("web", "blue")
    assert text.splitlines()[:3] == ["#", "# " + MANAGED, "#"]  # ansible_managed | comment, first
    # CPUWeight 100 (weight 1); capacity 2 x 8 = 16 -> 2 children, ServerLimit 4;
    # TasksMax 2 x (2 x (8 + 3) + 4 x (25 + 2) + 3) = 2 x 133 = 266.
    assert unit_settings(text) == ["[Service]", "Slice=apps-wsgi.slice", "CPUWeight=100", "MemoryHigh=infinity",
                                   "MemoryMax=infinity", "TasksMax=266", "OOMPolicy=continue"]


def test_resource_drop_ins_of_the_two_colours_differ_only_in_the_instance_name() -> None:
    blue, green = render_resources("glance", "blue"), render_resources("glance", "green")
    assert blue != green and blue.replace("wsgi-glance-blue", "wsgi-glance-green") == green


def prefix_matches(prefix: str, path: str) -> bool:
    """Whether URL ``path`` is ``prefix`` or below it, as ProxyPass and Alias compare them: on whole path
    segments, so "/a/static" takes "/a/static" and "/a/static/x" but not "/a/staticx"."""
    if prefix.endswith("/"):
        return path.startswith(prefix)
    return path == prefix or path.startswith(prefix + "/")


@dataclass(frozen=True)
class ProxyRule:
    """A ProxyPass or ProxyPassMatch line: its URL prefix or regex, and its backend (None for "!": not proxied)."""

    directive: str
    pattern: str
    backend: Optional[str]

    def matches(self, path: str) -> bool:
        if self.directive == "ProxyPassMatch":
            return re.search(self.pattern, path) is not None
        return prefix_matches(self.pattern, path)


def proxy_rules(vhost: Block) -> list[ProxyRule]:
    """Each ProxyPass and ProxyPassMatch of the virtual host, in order, the "!" ones included."""
    found = []
    for directive, rest in vhost.directives:
        if directive in ("ProxyPass", "ProxyPassMatch"):
            pattern, backend, *flags = rest.split()
            if unquote(backend) == "!":
                assert directive == "ProxyPass" and flags == [], rest
                found.append(ProxyRule(directive, unquote(pattern), None))
            else:
                assert flags == ["interpolate"], rest
                found.append(ProxyRule(directive, unquote(pattern), unquote(backend)))
    return found


def proxied(vhost: Block) -> list[ProxyRule]:
    """The rules that proxy (not the "!" ones), in order."""
    return [rule for rule in proxy_rules(vhost) if rule.backend is not None]


def aliased(vhost: Block, path: str) -> Optional[str]:
    """The file the virtual host's Alias lines map URL ``path`` to (mod_alias: the first that matches), or None."""
    for rest in vhost.values("Alias"):
        url, directory = (unquote(part) for part in re.fullmatch(r'("[^"]*") ("[^"]*")', rest).groups())
        if prefix_matches(url, path):
            return directory + path[len(url):]
    return None


def front_route(vhost: Block, path: str) -> tuple[str, Optional[str]]:
    """Where the virtual host sends a request for ``path``, as Apache does.

    mod_proxy translates first: its rules in order, the first that matches wins, and a "!" one
    declines (the request stays here). Then mod_alias maps the path to a file. Returns ("proxy",
    backend), ("file", the file's path) or ("document root", None).
    """
    rule = next((rule for rule in proxy_rules(vhost) if rule.matches(path)), None)
    if rule is not None and rule.backend is not None:
        return "proxy", rule.backend
    file = aliased(vhost, path)
    return ("file", file) if file is not None else ("document root", None)


@pytest.mark.parametrize("prefix, path, matches", [
    ("/a/static", "/a/static", True), ("/a/static", "/a/static/", True), ("/a/static", "/a/static/x.css", True),
    ("/a/static", "/a/staticx", False), ("/a/static", "/a/stati", False), ("/a/static", "/a", False),
    ("/", "/", True), ("/", "/anything/at/all", True), ("/a/", "/a", False), ("/a/", "/a/b", True),
])
def test_prefix_matching_follows_path_segments(prefix: str, path: str, matches: bool) -> None:
    assert prefix_matches(prefix, path) is matches


SET_ENV_RE = re.compile(r"""^"file\('([^']+)'\) =~ /([^/]+)/" ([A-Za-z0-9_.-]+)=\$1$""")


def request_env(vhost: Block, live_file: str) -> dict[str, str]:
    """What the virtual host's SetEnvIfExpr lines set at a request, the file of live addresses being ``live_file``."""
    env = {}
    for rest in vhost.values("SetEnvIfExpr"):
        match = SET_ENV_RE.match(rest)
        assert match, rest
        path, regex, name = match.groups()
        assert path == wsgi_vars("Debian")["__wsgi_instance_backends"]
        # ap_expr hands the regex to PCRE; (?m), [.] and the classes mean the same to Python.
        found = re.search(regex, live_file)
        if found:
            env[name] = found.group(1)
    return env


def backend_url(top: Block, backend: str, env: dict[str, str]) -> str:
    """The URL mod_proxy connects to: the Define variables filled in when the file is read (one pass,
    as Apache does), then the request's environment (interpolate)."""
    defines = dict(value.split(" ", 1) for value in top.values("Define"))
    read = re.sub(r"\$\{([^}]+)\}", lambda m: defines[m.group(1)], backend)
    return re.sub(r"\$\{([^}]+)\}", lambda m: env[m.group(1)], read)


def test_front_end_proxies_every_mount_to_its_group_and_runs_no_daemon() -> None:
    text = render_front()
    check_text(text)
    top = parse(text)
    # No daemon and no script of its own (comments may still name them).
    directives = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "WSGIDaemonProcess" not in directives and "WSGIScriptAlias" not in directives
    assert top.values("WSGIRestrictEmbedded") == ["On"]
    assert top.values("Listen") == example_ports()
    live = render_live({name: "blue" for name in INSTANCE_GROUPS})
    for vhost in INSTANCE_MODEL["vhosts"]:
        (block,) = [b for b in top.blocks("VirtualHost") if b.arg == "*:%d" % vhost["port"]]
        assert block.values("ProxyPreserveHost") == ["On"]
        assert block.values("ProxyPassInterpolateEnv") == ["On"]
        headers = block.values("RequestHeader")
        assert "unset X-Forwarded-For early" in headers, "a client's X-Forwarded-For is never passed on"
        assert 'set X-Forwarded-Port "%d" early' % vhost["port"] in headers
        # The static paths first, not proxied; then one rule per mount.
        rules = proxy_rules(block)
        assert [r.pattern for r in rules if r.backend is None] == [e["path"] for e in vhost["static"]]
        assert all(r.backend is None for r in rules[:len(vhost["static"])])
        rules = proxied(block)
        assert len(rules) == len(vhost["mounts"])
        # The static files themselves are served here, as in shared isolation.
        check_static(block, vhost, set(), INSTANCE_MODEL["projects"])
        # Both instances of each group mounted here are workers of their own: retry=0, and a new
        # connection for each request (an instance short of workers closes kept-alive ones).
        groups = sorted({m["group"] for m in vhost["mounts"]})
        workers = {unquote(b.arg): b.values("ProxySet") for b in block.blocks("Proxy")}
        assert workers == {INSTANCE_GROUPS[g]["instance"]["urls"][c]: ["retry=0 disablereuse=On"]
                           for g in groups for c in ("blue", "green")}
        env = request_env(block, live)
        assert sorted(env) == ["modwsgi_fleet_backend_%s" % g for g in groups]
        for mount, rule in zip(vhost["mounts"], rules):
            url = backend_url(top, rule.backend, env)
            wanted = INSTANCE_GROUPS[mount["group"]]["instance"]["urls"]["blue"]
            assert url in (wanted + "/", wanted + "$1"), (mount, url)


@pytest.mark.parametrize("path, project", [
    ("/site1", "site1"), ("/site1/", "site1"), ("/site1/deeper", "site1"),
    ("/site10", "site2"), ("/", "site2"), ("/other", "site2"),
    # Beside site1's static files (/site1/static), not in them: still site1's.
    ("/site1/staticx", "site1"), ("/site1/static.css", "site1"), ("/site1/stati", "site1"),
    ("/site1/deeper/static/app.css", "site1"), ("/static/app.css", "site2"),
])
def test_front_end_routes_each_path_to_the_project_that_serves_it(path: str, project: str) -> None:
    top = parse(render_front())
    (block,) = [b for b in top.blocks("VirtualHost") if b.arg == "*:8080"]
    env = request_env(block, render_live({name: "blue" for name in INSTANCE_GROUPS}))
    where, backend = front_route(block, path)
    assert where == "proxy", (path, where, backend)
    assert backend_url(top, backend, env).startswith(INSTANCE_GROUPS[project]["instance"]["urls"]["blue"])


@pytest.mark.parametrize("path, file", [
    ("/site1/static", "/srv/wsgi/site1/static"),
    ("/site1/static/", "/srv/wsgi/site1/static/"),
    ("/site1/static/app.css", "/srv/wsgi/site1/static/app.css"),
    ("/site1/static/img/logo.png", "/srv/wsgi/site1/static/img/logo.png"),
])
def test_front_end_serves_the_static_files_itself(path: str, file: str) -> None:
    """site1's static files (the example's /site1/static) never reach an instance: the main Apache serves them."""
    (block,) = [b for b in parse(render_front()).blocks("VirtualHost") if b.arg == "*:8080"]
    assert front_route(block, path) == ("file", file)


def test_a_switch_is_the_file_of_live_addresses_alone() -> None:
    """The main Apache's configuration names no colour as live: switching one group changes one line of the
    file it reads at each request, and every mount of that group (and of no other) follows."""
    live = {name: "blue" for name in INSTANCE_GROUPS}
    before = render_live(live)
    switched = render_live(dict(live, keystone="green"))
    assert [line for line in switched.splitlines() if line not in before.splitlines()] == [
        "keystone 127.0.0.1:%d" % INSTANCE_GROUPS["keystone"]["instance"]["ports"]["green"]]
    top = parse(render_front())
    for block in top.blocks("VirtualHost"):
        env_before, env_after = request_env(block, before), request_env(block, switched)
        for rule in proxied(block):
            backend = rule.backend
            assert backend is not None
            group = backend.rsplit("modwsgi_fleet_backend_", 1)[1].split("}")[0]
            color = "green" if group == "keystone" else "blue"
            assert backend_url(top, backend, env_after).startswith(INSTANCE_GROUPS[group]["instance"]["urls"][color])
            assert (backend_url(top, backend, env_after) == backend_url(top, backend, env_before)) == (
                group != "keystone")


def test_a_group_with_no_live_instance_points_at_the_one_starting() -> None:
    text = render_live({name: None for name in INSTANCE_GROUPS})
    check_text(text)
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines == ["%s 127.0.0.1:%d" % (g["name"], g["instance"]["ports"][g["instance"]["next"]])
                     for g in INSTANCE_MODEL["groups"]]


def test_a_group_name_with_a_dot_matches_its_own_line_only() -> None:
    """Group names may hold dots: in the regex a dot is [.], so "api.v1" never matches "apixv1"."""
    projects = [{"name": "api.v1", "script": "/srv/a/a.wsgi", "port": 7000, "user": "www-data"},
                {"name": "apixv1", "script": "/srv/b/b.wsgi", "port": 7000, "path": "/b"}]
    model = build_model(projects, isolation="instance")
    top = parse(render(ROLES / "wsgi" / "templates" / "front.conf.j2", dict(
        wsgi_vars("Debian"), __wsgi_plan=model, __wsgi_instance_groups=model["groups"])))
    (block,) = top.blocks("VirtualHost")
    live = render(ROLES / "wsgi" / "templates" / "instance_backends.j2", {
        "__wsgi_instance_groups": model["groups"], "__wsgi_live_after": {"api.v1": "green", "apixv1": "blue"}})
    ports = {g["name"]: g["instance"]["ports"] for g in model["groups"]}
    assert request_env(block, live) == {"modwsgi_fleet_backend_api.v1": "127.0.0.1:%d" % ports["api.v1"]["green"],
                                        "modwsgi_fleet_backend_apixv1": "127.0.0.1:%d" % ports["apixv1"]["blue"]}
    # The same lines, the other order: each still finds its own.
    reordered = "\n".join(reversed(live.splitlines())) + "\n"
    assert request_env(block, reordered) == request_env(block, live)


def test_instance_environment_names_its_own_folders() -> None:
    variables = dict(wsgi_vars("Debian"), __wsgi_name="wsgi-keystone-green")
    text = render(ROLES / "wsgi" / "templates" / "instance_envvars.j2", variables)
    exported = dict(line[len("export "):].split("=", 1) for line in text.splitlines() if line.startswith("export "))
    assert exported["APACHE_RUN_DIR"] == "/run/apache2-wsgi-keystone-green"
    assert exported["APACHE_LOCK_DIR"] == "/run/lock/apache2-wsgi-keystone-green"
    assert exported["APACHE_LOG_DIR"] == "/var/log/apache2-wsgi-keystone-green"
    assert exported["APACHE_PID_FILE"] == "/run/apache2-wsgi-keystone-green/apache2.pid"


# --- answers.txt (status table) ---------------------------------------------------


def test_answers_table_judges_flags_like_promised_flags() -> None:
    projects = example_projects() + [{"name": "emb", "script": "/srv/emb/emb.wsgi", "mode": "embedded", "port": 9191}]
    plan = build_plan(projects).to_dict()
    sizes = default_sizes(plan)
    results = []
    expected = {}
    for index, project in enumerate(plan["projects"]):
        if project["mode"] == "embedded":
            promised = {"multithread": True, "multiprocess": True, "mode": "embedded"}
        else:
            size = sizes[project["daemon"]]
            promised = promised_flags(size["processes"] if size["processes_explicit"] else None, size["threads"])
        live = {"multithread": promised["multithread"], "multiprocess": promised["multiprocess"]}
        if index % 3 == 1:  # every third project answers something else than promised
            live["multiprocess"] = not live["multiprocess"]
        answer: dict[str, Any] = {"name": project["name"], "url": project["probe"]["url"], "status": 200, "json": live}
        if index == 2:
            del answer["json"]
        results.append(answer)
        verdict = "not reported" if index == 2 else ("NO" if index % 3 == 1 else "yes")
        expected[project["name"]] = (promised["mode"], verdict)
    text = render(ROLES / "wsgi" / "templates" / "answers.txt.j2",
                  {"__wsgi_answers": {"answers": results}, "__wsgi_plan": as_model(plan, sizes)})
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[0].split()[:4] == ["project", "url", "status", "mode"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert sorted(rows) == sorted(expected)
    for name, (mode, verdict) in expected.items():
        assert rows[name][3] == mode, rows[name]
        assert " ".join(rows[name][6:-1]) == verdict, rows[name]
        assert rows[name][-1] == "main", rows[name]


def test_answers_table_names_the_instance_that_serves_each_project() -> None:
    """Isolation instance: the live instance of each group, or the one this run switched to."""
    model = build_model(example_projects(), isolation="instance", facts={"instances": {
        "groups": {"keystone": {"live": "blue", "ports": {"blue": 20002, "green": 20003}}}}})
    answers = [{"name": p["name"], "url": p["probe"]["url"], "status": 200, "json": {}} for p in model["projects"]]
    group_of = {p["name"]: p["daemon"] for p in model["projects"]}

    def served_by(live_after: Optional[dict[str, str]] = None) -> dict[str, str]:
        variables: dict[str, Any] = {"__wsgi_answers": {"answers": answers}, "__wsgi_plan": model}
        if live_after is not None:
            variables["__wsgi_live_after"] = live_after
        text = render(ROLES / "wsgi" / "templates" / "answers.txt.j2", variables)
        lines = [line for line in text.splitlines() if line.strip()]
        assert lines[0].split()[-2:] == ["served", "by"]
        return {line.split()[0]: line.split()[-1] for line in lines[1:]}

    # As the status entry point sees it: keystone's live instance; the others have none yet (the one starting).
    before = served_by()
    assert before["keystone"] == "wsgi-keystone-blue"
    assert all(before[name] == "wsgi-%s-blue" % group_of[name] for name in before), before
    # After a run that switched keystone to green.
    after = served_by({"keystone": "green"})
    assert after["keystone"] == "wsgi-keystone-green"
    assert {name: v for name, v in after.items() if name != "keystone"} == {
        name: v for name, v in before.items() if name != "keystone"}


# --- The apache role ----------------------------------------------------------------

OS_FAMILIES = ["Debian", "RedHat"]


def render_apache(name: str, os_family: str, **overrides: Any) -> str:
    return render(ROLES / "apache" / "templates" / name, apache_vars(os_family, **overrides))


@pytest.mark.parametrize("os_family", OS_FAMILIES)
def test_global_conf(os_family: str) -> None:
    text = render_apache("modwsgi-fleet.conf.j2", os_family)
    check_text(text)
    top = parse(text)
    assert top.values("WSGISocketPrefix") == (["/run/httpd/wsgi"] if os_family == "RedHat" else [])
    assert top.values("IncludeOptional") == ["modwsgi-fleet/*.conf"]
    assert (top.values("ServerTokens"), top.values("ServerSignature"), top.values("TraceEnable")) == (
        ["Prod"], ["Off"], ["Off"])
    (event,) = top.blocks("IfModule")
    assert event.arg == "mpm_event_module"
    assert dict(event.directives) == {"ServerLimit": "16", "ThreadLimit": "64", "ThreadsPerChild": "25",
                                      "MaxRequestWorkers": "400", "MaxConnectionsPerChild": "0"}


@pytest.mark.parametrize("os_family", OS_FAMILIES)
def test_global_conf_follows_its_variables(os_family: str) -> None:
    root = apache_vars(os_family)["__apache_server_root"]
    text = render_apache("modwsgi-fleet.conf.j2", os_family, apache_mpm_event_threads_per_child=100,
                         apache_mpm_event_server_limit=4, apache_server_tokens="Minimal",
                         apache_include_dir=root + "/conf.d/fleet")
    top = parse(text)
    (event,) = top.blocks("IfModule")
    assert event.values("ThreadLimit") == ["100"] and event.values("ThreadsPerChild") == ["100"]
    assert event.values("ServerLimit") == ["4"] and top.values("ServerTokens") == ["Minimal"]
    # Relative to ServerRoot, so that the configuration test's copy of the tree includes its own files.
    assert top.values("IncludeOptional") == ["conf.d/fleet/*.conf"]


@pytest.mark.parametrize("os_family", OS_FAMILIES)
@pytest.mark.parametrize("ports", [[], [80], [80, 443, 8443]])
def test_ports_conf(os_family: str, ports: list[int]) -> None:
    text = render_apache("ports.conf.j2", os_family, apache_listen_ports=ports)
    check_text(text)
    assert parse(text).values("Listen") == [str(p) for p in ports]
    assert text.splitlines()[1] == "# " + MANAGED


@pytest.mark.parametrize("os_family", OS_FAMILIES)
@pytest.mark.parametrize("mpm", ["event", "worker", "prefork"])
def test_mpm_conf(os_family: str, mpm: str) -> None:
    overrides = {} if mpm == "event" else {"apache_mpm": mpm}
    text = render_apache("00-mpm.conf.j2", os_family, **overrides)
    check_text(text)
    assert parse(text).directives == [("LoadModule", "mpm_%s_module modules/mod_mpm_%s.so" % (mpm, mpm))]


def logrotate_stanza(text: str) -> tuple[list[str], list[str]]:
    """(the globs, the directives) of the one stanza a logrotate file holds."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert lines[0].endswith(" {") and lines[-1] == "}", lines
    assert sum(line.endswith("{") for line in lines) == 1, "one stanza"
    return lines[0][:-2].split(), lines[1:-1]


@pytest.mark.parametrize("os_family", OS_FAMILIES)
def test_logrotate_rotates_in_place_and_never_reloads(os_family: str) -> None:
    text = render_apache("logrotate.j2", os_family)
    assert text.splitlines()[1] == "# " + MANAGED
    globs, directives = logrotate_stanza(text)
    assert globs == apache_vars(os_family)["__apache_log_globs"]
    assert {"daily", "rotate 14", "copytruncate", "missingok", "notifempty"} <= set(directives)
    assert "postrotate" not in directives and not [d for d in directives if "reload" in d or "restart" in d]
    # copytruncate keeps Apache's open file: a `create` would be ignored.
    assert not [d for d in directives if d.startswith("create")]
    assert ("prerotate" in directives) == (os_family == "Debian"), "Debian's httpd-prerotate hook kept"


def test_logrotate_follows_its_variables() -> None:
    _globs, directives = logrotate_stanza(render_apache(
        "logrotate.j2", "Debian", apache_logrotate_frequency="weekly", apache_logrotate_keep=4))
    assert "weekly" in directives and "rotate 4" in directives and "daily" not in directives


@pytest.mark.skipif(not shutil.which("logrotate"), reason="logrotate is not installed here")
@pytest.mark.parametrize("os_family", OS_FAMILIES)
def test_logrotate_accepts_the_file(os_family: str, tmp_path: Path) -> None:
    conf = tmp_path / "apache"
    conf.write_text(render_apache("logrotate.j2", os_family))
    conf.chmod(0o644)
    run = subprocess.run(["logrotate", "--debug", "--state", str(tmp_path / "status"), str(conf)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0 and "error:" not in run.stderr, run.stderr


@pytest.mark.parametrize("os_family", OS_FAMILIES)
def test_configtest_script_per_os(os_family: str) -> None:
    text = render_apache("modwsgi-fleet-configtest.j2", os_family)
    lines = text.splitlines()
    assert lines[0] == "#!/bin/sh"
    assert not set(text) & set(TYPOGRAPHIC_QUOTES)
    if os_family == "Debian":
        assert ". /etc/apache2/envvars" in lines
        assert "root=/etc/apache2" in lines and "main=apache2.conf" in lines
        assert '    exec /usr/sbin/apache2 -t -d "$root" -f "$root/$main"' in lines
        assert lines.index(". /etc/apache2/envvars") > lines.index("export APACHE_CONFDIR")
        assert "httpd" not in text
    else:
        assert "root=/etc/httpd" in lines and "main=conf/httpd.conf" in lines
        assert '    exec /usr/sbin/httpd -t -d "$root" -f "$root/$main"' in lines
        assert "envvars" not in text and "APACHE_CONFDIR" not in text and "apache2" not in text


@pytest.fixture(scope="module")
def configtest_scripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("configtest")
    scripts = {}
    for os_family in OS_FAMILIES:
        scripts[os_family] = directory / ("configtest-%s" % os_family)
        scripts[os_family].write_text(render_apache("modwsgi-fleet-configtest.j2", os_family), encoding="utf-8")
    return scripts


@pytest.mark.parametrize("os_family", OS_FAMILIES)
def test_configtest_script_is_valid_sh(os_family: str, configtest_scripts: dict[str, Path]) -> None:
    result = subprocess.run(["sh", "-n", str(configtest_scripts[os_family])], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("os_family", OS_FAMILIES)
def test_configtest_script_passes_shellcheck(os_family: str, configtest_scripts: dict[str, Path]) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed")
    result = subprocess.run([shellcheck, "--shell=sh", str(configtest_scripts[os_family])],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


FAKE_SERVER = """#!/bin/sh
# Stands in for apache2/httpd: records how it was called and what it saw.
{
    printf 'args:'; printf ' %s' "$@"; printf '\\n'
    printf 'envvars:%s\\n' "${FAKE_ENVVARS_SOURCED:-no}"
    printf 'candidate:'; cat "$3/conf.d/live.conf"
    grep '^ServerRoot' "$5"
} >> "$FAKE_LOG"
exit "${FAKE_RC:-0}"
"""


@pytest.fixture(params=OS_FAMILIES)
def fake_server_root(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """A configuration tree, a fake server binary and the configtest script rendered for them."""
    os_family = request.param
    root = tmp_path / "etc" / ("apache2" if os_family == "Debian" else "httpd")
    main = "apache2.conf" if os_family == "Debian" else "conf/httpd.conf"
    (root / main).parent.mkdir(parents=True)
    (root / main).write_text('ServerRoot "%s"\nIncludeOptional conf.d/*.conf\n' % root, encoding="utf-8")
    (root / "conf.d").mkdir()
    (root / "conf.d" / "live.conf").write_text("live\n", encoding="utf-8")
    binary = tmp_path / "fake-server"
    binary.write_text(FAKE_SERVER, encoding="utf-8")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    overrides: dict[str, Any] = {"__apache_server_root": str(root), "__apache_binary": str(binary)}
    if os_family == "Debian":
        envvars = tmp_path / "envvars"
        envvars.write_text('FAKE_ENVVARS_SOURCED="yes:$APACHE_CONFDIR"\nexport FAKE_ENVVARS_SOURCED\n', encoding="utf-8")
        overrides["__apache_envvars"] = str(envvars)
    script = tmp_path / "configtest"
    script.write_text(render_apache("modwsgi-fleet-configtest.j2", os_family, **overrides), encoding="utf-8")
    candidate = tmp_path / "candidate.conf"
    candidate.write_text("candidate\n", encoding="utf-8")
    log = tmp_path / "log"
    return {"os": os_family, "root": root, "main": main, "script": script, "candidate": candidate, "log": log}


def run_configtest(tree: dict[str, Any], *args: str, rc: int = 0) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, FAKE_LOG=str(tree["log"]), FAKE_RC=str(rc))
    return subprocess.run(["sh", str(tree["script"]), *args], env=env, capture_output=True, text=True, check=False)


def test_configtest_checks_the_candidate_in_a_copy(fake_server_root: dict[str, Any]) -> None:
    tree = fake_server_root
    live = tree["root"] / "conf.d" / "live.conf"
    result = run_configtest(tree, str(live), str(tree["candidate"]))
    assert result.returncode == 0, result.stderr
    log = tree["log"].read_text(encoding="utf-8").splitlines()
    args = log[0].split()
    assert args[:3] == ["args:", "-t", "-d"] and args[4] == "-f"
    copy = Path(args[3])
    assert copy.parent == tree["root"].parent and copy.name.startswith(".modwsgi-fleet-check.")
    assert args[5] == "%s/%s" % (copy, tree["main"])
    assert log[1] == ("envvars:yes:%s" % tree["root"] if tree["os"] == "Debian" else "envvars:no")
    assert log[2] == "candidate:candidate"
    assert log[3] == 'ServerRoot "%s"' % copy  # the copy's main file points at the copy
    assert live.read_text(encoding="utf-8") == "live\n"  # the live tree is untouched
    assert not copy.exists()  # and the copy is gone


def test_configtest_fails_when_the_server_does(fake_server_root: dict[str, Any]) -> None:
    tree = fake_server_root
    result = run_configtest(tree, str(tree["root"] / "conf.d" / "live.conf"), str(tree["candidate"]), rc=1)
    assert result.returncode == 1
    assert not list(tree["root"].parent.glob(".modwsgi-fleet-check.*"))


def test_configtest_without_arguments_checks_the_live_tree(fake_server_root: dict[str, Any]) -> None:
    tree = fake_server_root
    (tree["root"] / "conf.d" / "live.conf").write_text("as is\n", encoding="utf-8")
    result = run_configtest(tree)
    assert result.returncode == 0, result.stderr
    log = tree["log"].read_text(encoding="utf-8").splitlines()
    assert log[0] == "args: -t -d %s -f %s/%s" % (tree["root"], tree["root"], tree["main"])
    assert log[2] == "candidate:as is"


@pytest.mark.parametrize("args", [["/elsewhere/x.conf", "/tmp/c"], ["only-one"], ["a", "b", "c"]])
def test_configtest_refuses_bad_arguments(fake_server_root: dict[str, Any], args: list[str]) -> None:
    result = run_configtest(fake_server_root, *args)
    assert result.returncode == 2 and result.stderr
    assert not fake_server_root["log"].exists()


# --- The OpenStack example (inventories/openstack) -----------------------------------

OPENSTACK = ROOT / "inventories" / "openstack" / "group_vars" / "openstack_controllers.yml"


def test_openstack_example_plans_sizes_and_renders_as_openstack_needs() -> None:
    projects = yaml.safe_load(OPENSTACK.read_text(encoding="utf-8"))["wsgi_projects"]
    plan = build_plan(projects, mod_wsgi_version="4.9.4").to_dict()
    assert {p["name"]: p["port"] for p in plan["projects"]} == {
        "keystone": 5000, "nova-api": 8774, "placement": 8778, "glance-api": 9292, "cinder-api": 8776}
    # Each service its own group and account; every one sized from its metadata.
    assert len({g["name"] for g in plan["groups"]}) == 5
    assert len({a["user"] for a in plan["accounts"]}) == 5
    assert sorted(v["python_home"] for v in plan["venvs"]) == sorted(
        "/srv/wsgi/%s/venv" % g["name"] for g in plan["groups"])
    sized = size_projects(plan["sizing"], {"cpus": 8, "memory_mb": 32768}).to_dict()
    assert sorted(sized["projects"]) == sorted(g["name"] for g in plan["groups"])
    sizes = dict(default_sizes(plan), **sized["projects"])
    conf = render_wsgi(plan, sizes)
    assert conf.count("WSGIApplicationGroup %{GLOBAL}") == 5
    assert conf.count("WSGIPassAuthorization On") == 5
    assert sorted(int(port) for port in re.findall(r"^Listen (\d+)$", conf, re.M)) == [5000, 8774, 8776, 8778, 9292]
    for name in ("keystone", "nova-api"):  # not thread safe: one thread per process
        assert re.search(r"^WSGIDaemonProcess %s processes=\d+ threads=1 " % name, conf, re.M), conf

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Isolation ``instance``: each daemon group in an Apache instance of its own.

Pure logic, no Ansible imports; ``_model.build_model`` calls :func:`plan_instances`.
Each group has two instances, blue and green (Debian: ``apache2@wsgi-G-blue``
with ``/etc/apache2-wsgi-G-blue``; the RHEL family: ``httpd@wsgi-G-blue`` with
``/etc/httpd/conf/wsgi-G-blue.conf``), each with its own loopback port. One is
live: the main Apache proxies the group's mounts to it. A change to the
group starts the other beside it, switches the proxy to it once it answers,
then stops the old one when its connections have drained.

Which colour is live and which ports a group has are read on the host (the
state file the role writes after each switch, ``_facts.read_instances``): a
group keeps its ports for as long as it exists, so that adding or removing a
group never touches another.
"""

from __future__ import annotations

from typing import Any, Iterator

from ansible_collections.modwsgi.fleet.plugins.module_utils._plan import NAME_RE
from ansible_collections.modwsgi.fleet.plugins.module_utils._sizing import size_apache

__metaclass__ = type  # pylint: disable=invalid-name

ISOLATIONS = ("shared", "instance")
COLORS = ("blue", "green")
INSTANCE_PREFIX = "wsgi-"
LOOPBACK = "127.0.0.1"
INSTANCE_THREADS_PER_CHILD = 25
PORT_MAX = 65535


class InstanceError(ValueError):
    """Bad input for the instances: the message names the field."""


def instance_name(group: str, color: str) -> str:
    """The instance's name: its unit is apache2@NAME (Debian) or httpd@NAME (the RHEL family)."""
    return "%s%s-%s" % (INSTANCE_PREFIX, group, color)


def check_state(state: Any) -> dict[str, dict[str, Any]]:
    """The instances recorded on the host, checked: {group: {"live": colour, "ports": {colour: port}}}.

    ``state`` is what the role's state file holds (``{"groups": {...}}``), or
    None on a host that has none yet.
    """
    if state is None:
        return {}
    groups = state.get("groups") if isinstance(state, dict) else None
    if not isinstance(groups, dict):
        raise InstanceError("host facts: field 'instances': must be a mapping with 'groups', got %r" % (state,))
    checked = {}
    for group, entry in groups.items():
        where = "host facts: field 'instances.groups.%s'" % group
        if not isinstance(group, str) or not NAME_RE.match(group) or not isinstance(entry, dict):
            raise InstanceError("%s: must be a daemon group's entry, got %r" % (where, entry))
        ports = entry.get("ports")
        if not isinstance(ports, dict) or sorted(ports) != sorted(COLORS) or not all(
                isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= PORT_MAX for p in ports.values()):
            raise InstanceError("%s: ports must map blue and green to port numbers, got %r" % (where, ports))
        live = entry.get("live")
        if live not in COLORS + (None,):
            raise InstanceError("%s: live must be blue, green or null, got %r" % (where, live))
        checked[group] = {"live": live, "ports": {c: ports[c] for c in COLORS}}
    return checked


def _free_pairs(base: int, taken: set[int]) -> Iterator[tuple[int, int]]:
    """Pairs of consecutive free ports from ``base`` up."""
    port = base
    while port + 1 <= PORT_MAX:
        if port not in taken and port + 1 not in taken:
            yield port, port + 1
            port += 2
        else:
            port += 1


def _backend_mounts(group: dict[str, Any], vhosts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The group's mounts as its instance serves them: one virtual host, one URL path each."""
    mounts: dict[str, dict[str, Any]] = {}
    for vhost in vhosts:
        for mount in vhost["mounts"]:
            if mount["group"] != group["name"]:
                continue
            other = mounts.get(mount["path"])
            if other is not None:
                raise InstanceError(
                    "project %r: field 'path': with wsgi_isolation instance, the projects of daemon group %r share "
                    "one Apache instance, and project %r of that group is at the same path %s; give one another "
                    "path or another daemon group" % (mount["project"], group["name"], other["project"], mount["path"]))
            mounts[mount["path"]] = mount
    return sorted(mounts.values(), key=lambda m: (-len(m["path"]), m["path"]))


def plan_instances(groups: list[dict[str, Any]], vhosts: list[dict[str, Any]], projects: list[dict[str, Any]],
                   state: Any, base_port: int, taken_ports: set[int]) -> list[dict[str, Any]]:
    """Give each group its instances; return the instances of groups that are gone.

    Changes ``groups`` in place: each gets ``instance`` with its ports, the
    live colour (None: no instance runs yet), each colour's name and health
    probes, its own event MPM (sized from the group's capacity alone) and
    the mounts it serves. ``taken_ports`` are the host's public ports and
    the reserved ones: no instance gets them.
    """
    if isinstance(base_port, bool) or not isinstance(base_port, int) or not 1024 <= base_port < PORT_MAX:
        raise InstanceError("wsgi_instance_port_base: must be a port number from 1024 to %d, got %r"
                            % (PORT_MAX - 1, base_port))
    known = check_state(state)
    names = {g["name"] for g in groups}
    taken = set(taken_ports)
    for group, entry in known.items():
        taken.update(entry["ports"].values())
    pairs = _free_pairs(base_port, taken)
    by_project = {p["name"]: p for p in projects}
    for group in groups:
        entry = known.get(group["name"])
        if entry is None:
            blue, green = next(pairs)
            entry = {"live": None, "ports": {"blue": blue, "green": green}}
        clash = sorted(set(entry["ports"].values()) & set(taken_ports))
        if clash:
            raise InstanceError("daemon group %r: its instances listen on port %s, which a project now serves or "
                                "the apache role reserves: give that project another port"
                                % (group["name"], clash[0]))
        mounts = _backend_mounts(group, vhosts)
        mpm = size_apache(group["capacity"], INSTANCE_THREADS_PER_CHILD)
        group["instance"] = {
            "live": entry["live"],
            # The colour a change starts: the one that is not live.
            "next": "green" if entry["live"] == "blue" else "blue",
            "ports": entry["ports"],
            "address": LOOPBACK,
            "urls": {c: "http://%s:%d" % (LOOPBACK, entry["ports"][c]) for c in COLORS},
            "names": {c: instance_name(group["name"], c) for c in COLORS},
            "mounts": mounts,
            "mpm": {"server_limit": mpm.server_limit, "threads_per_child": mpm.threads_per_child,
                    "max_request_workers": mpm.max_request_workers},
            # How the role asks each project of the group at one colour's port, before the switch.
            "probes": {c: [{"name": m["project"],
                            "url": "http://%s:%d%s" % (LOOPBACK, entry["ports"][c], m["path"]),
                            "host_header": by_project[m["project"]]["server_name"] or ""}
                           for m in mounts] for c in COLORS},
        }
    return _retired(known, names)


def _retired(known: dict[str, dict[str, Any]], keep: set[str]) -> list[dict[str, Any]]:
    return [{"group": group, "names": [instance_name(group, c) for c in COLORS], "ports": entry["ports"]}
            for group, entry in sorted(known.items()) if group not in keep]


def retired_instances(state: Any) -> list[dict[str, Any]]:
    """Every instance the host's state file records: what a host in shared isolation retires."""
    return _retired(check_state(state), set())


def check_isolation(isolation: Any, projects: list[dict[str, Any]]) -> str:
    """The isolation, checked against the projects: embedded mode needs the main Apache."""
    if isolation not in ISOLATIONS:
        raise InstanceError("wsgi_isolation: must be shared or instance, got %r" % (isolation,))
    if isolation == "instance":
        for project in projects:
            if project["mode"] == "embedded":
                raise InstanceError(
                    "project %r: field 'mode': embedded runs the app inside the main Apache, which only proxies "
                    "with wsgi_isolation instance; use mode daemon, or wsgi_isolation shared" % project["name"])
    return isolation

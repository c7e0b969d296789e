# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The render model of a host: everything its templates print, computed once.

Pure logic, no Ansible imports. :func:`build_model` takes the inventory's
projects, the role's settings and the facts read on the host
(``_facts.host_facts``) and returns the final model: daemon groups with their
final processes and threads (sized where projects give ``sizing``) and the
environ flags their apps see, virtual hosts, ports, the event MPM in front of
them, the sizing's explanation and warnings, and each project's health probe.
Templates only print it; nothing that this accepts can fail later for a reason
the inputs and the facts already told.
"""

from __future__ import annotations

from typing import Any, Optional

from ansible_collections.modwsgi.fleet.plugins.module_utils._instances import (
    InstanceError,
    check_isolation,
    plan_instances,
    retired_instances,
)
from ansible_collections.modwsgi.fleet.plugins.module_utils._plan import PlanError, build_plan, final_options
from ansible_collections.modwsgi.fleet.plugins.module_utils._resources import (
    ResourceError,
    check_settings,
    group_resources,
)
from ansible_collections.modwsgi.fleet.plugins.module_utils._sizing import (
    DEFAULT_RESERVE_MB,
    MAX_OVERHEAD_MS,
    OVERHEAD_MS,
    Host,
    SizingError,
    check_overhead,
    environ_flags,
    event_mpm,
    size_projects,
    validate_project,
)

__metaclass__ = type  # pylint: disable=invalid-name

EMBEDDED_FLAGS = {"multithread": True, "multiprocess": True, "mode": "embedded"}
"""An embedded-mode app runs in Apache's own event MPM children: threads and processes."""


def _facts_host(facts: dict[str, Any]) -> Host:
    """The CPUs and memory of the facts, checked."""
    for key in ("cpus", "memory_mb"):
        value = facts.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise PlanError("host facts: field %r: must be a whole number >= 1, got %r" % (key, value))
    return Host(cpus=facts["cpus"], memory_mb=facts["memory_mb"], source="gathered",
                cpus_from=str(facts.get("cpus_from", "given")), memory_from=str(facts.get("memory_from", "given")))


def _check_metadata(plan: dict[str, Any]) -> None:
    """Check every group's sizing metadata, with or without the host's facts.

    Errors name the project that gives the metadata (not its group) and
    ``sizing.<key>``, as the plan names fields.
    """
    sized_by = {p["daemon"]: p["name"] for p in plan["projects"] if p["mode"] == "daemon" and p["sizing"] is not None}
    for request in plan["sizing"]:
        try:
            validate_project(request, where="project %r: " % sized_by[request["name"]], metadata_prefix="sizing.")
        except SizingError as exc:
            raise PlanError(str(exc)) from exc


def _size(plan: dict[str, Any], host: Host, reserve_memory_mb: int, overhead_ms: float) -> Optional[dict[str, Any]]:
    """wsgi_sizing's answer for the groups whose projects give metadata, or None when none does."""
    if not plan["sizing"]:
        return None
    try:
        result = size_projects(plan["sizing"], host, reserve_memory_mb, plan["unsized_capacity"], overhead_ms)
    except SizingError as exc:
        raise PlanError("sizing on this host (%d CPUs, %d MB, %d MB reserved): %s"
                        % (host.cpus, host.memory_mb, reserve_memory_mb, exc)) from exc
    return result.to_dict()


def finish_groups(plan: dict[str, Any], sized: dict[str, dict[str, Any]]) -> None:
    """Give each group of ``plan`` its final numbers, options and flags, and each project what it is promised.

    ``sized`` maps group names to wsgi_sizing's ``projects`` entries (or any
    mapping with ``processes``, ``processes_explicit`` and ``threads``, and
    optionally ``queue_timeout``, ``request_timeout``, ``listen_backlog``); the
    other groups keep what their projects set. Each group's ``options`` become
    the production defaults with the sized values, the host's
    ``daemon_options`` and its own over them (``_plan.final_options``), and
    ``option_sources`` tells which decided each. Changes ``plan`` in place.
    """
    for group in plan["groups"]:
        size = sized.get(group["name"])
        if size is not None:
            group["processes_explicit"] = bool(size["processes_explicit"])
            group["processes"] = size["processes"] if size["processes_explicit"] else None
            group["threads"] = size["threads"]
        group["options"], group["option_sources"] = final_options(group["options"], plan["daemon_options"], size)
        group.update(environ_flags(group["processes"], group["threads"]))
        group["capacity"] = (group["processes"] or 1) * group["threads"]
    flags = {g["name"]: {k: g[k] for k in ("multithread", "multiprocess", "mode")} for g in plan["groups"]}
    for project in plan["projects"]:
        project["promised"] = flags[project["daemon"]] if project["mode"] == "daemon" else dict(EMBEDDED_FLAGS)


def _isolate(plan: dict[str, Any], isolation: str, state: Any, port_base: int, reserved: set[int]) -> None:
    """Set the model's isolation, each group's instances (instance mode) and the instances to retire."""
    try:
        plan["isolation"] = check_isolation(isolation, plan["projects"])
        if plan["isolation"] == "instance":
            retired = plan_instances(plan["groups"], plan["vhosts"], plan["projects"], state, port_base,
                                     set(plan["listen"]) | reserved)
        else:
            retired = retired_instances(state)
    except InstanceError as exc:
        raise PlanError(str(exc)) from exc
    plan["retired_instances"] = retired


def _limit(plan: dict[str, Any], resources: Optional[dict[str, Any]], cpus: Optional[int]) -> list[str]:
    """Give each group's instance its systemd resource control; return the lines that explain it.

    Nothing in shared isolation (every group runs in the main Apache's one
    unit) or with ``wsgi_resource_enabled`` false. ``cpus`` is the host's
    (None: not known, no CPUQuota); each quota is over the weights of all the
    groups, 1 for a group without ``sizing.weight``.
    """
    try:
        settings = check_settings(resources)
    except ResourceError as exc:
        raise PlanError(str(exc)) from exc
    if plan["isolation"] != "instance" or not settings.enabled:
        for group in plan["groups"]:
            if "instance" in group:
                group["instance"]["resources"] = None
        return []
    metadata = {request["name"]: request for request in plan["sizing"]}
    weights = {}
    for group in plan["groups"]:
        weight = metadata.get(group["name"], {}).get("weight")
        weights[group["name"]] = 1.0 if weight is None else weight
    total_weight = sum(weights.values())
    lines = []
    for group in plan["groups"]:
        request = metadata.get(group["name"], {})
        group["instance"]["resources"] = group_resources(
            group["name"], group["processes"] or 1, group["threads"], request.get("rss_mb"),
            weights[group["name"]], group["instance"]["mpm"], settings, cpus, total_weight)
        lines.append(group["instance"]["resources"]["explanation"])
    return lines


def build_model(raw_projects: Any, facts: Optional[dict[str, Any]] = None, base_dir: str = "/srv/wsgi",
                default_threads: int = 15, reserved_ports: Optional[list[int]] = None,
                reserve_memory_mb: int = DEFAULT_RESERVE_MB,
                front_end: Optional[dict[str, int]] = None, isolation: str = "shared",
                instance_port_base: int = 20000, daemon_options: Optional[dict[str, Any]] = None,
                overhead_ms: Optional[float] = None, resources: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Check every input and return the host's render model (raises PlanError).

    ``facts`` are ``_facts.host_facts``'s. Without ``cpus`` and ``memory_mb``
    in them, nothing is sized: the groups keep what their projects set, and
    ``sizing`` lists the requests for ``wsgi_sizing``. ``front_end`` holds the
    apache role's ``server_limit``, ``threads_per_child`` and
    ``max_request_workers``: the model's ``front_end`` keeps them, raised where
    the daemons need more. With ``isolation`` instance, each group gets its
    Apache instances (``_instances.plan_instances``; ``facts["instances"]`` is
    the host's state file) and ``retired_instances`` lists those of groups
    that are gone; with shared, every instance the host still has.
    ``daemon_options`` (wsgi_daemon_options) override the production defaults
    of every group, below each project's own ``options``. ``overhead_ms`` is
    Apache's and mod_wsgi's CPU per request for the sizing (None: the
    measured default of the isolation, ``_sizing.OVERHEAD_MS``);
    ``resources`` the wsgi_resource_* settings of the instances' units
    (``_resources.check_settings``).
    """
    facts = {} if facts is None else facts
    if not isinstance(facts, dict):
        raise PlanError("host facts: must be a mapping, got %r" % (facts,))
    host = _facts_host(facts) if ("cpus" in facts or "memory_mb" in facts) else None
    plan = build_plan(raw_projects, base_dir=base_dir, default_threads=default_threads,
                      reserved_ports=reserved_ports, mod_wsgi_version=facts.get("mod_wsgi_version") or None,
                      daemon_options=daemon_options).to_dict()
    _check_metadata(plan)
    if overhead_ms is None:
        overhead_ms = OVERHEAD_MS.get(isolation, OVERHEAD_MS["shared"])
    else:
        try:
            overhead_ms = check_overhead(overhead_ms)
        except SizingError as exc:
            raise PlanError("wsgi_sizing_overhead_ms: must be a number of ms from 0 to %g, got %r"
                            % (MAX_OVERHEAD_MS, overhead_ms)) from exc
    sizing = _size(plan, host, reserve_memory_mb, overhead_ms) if host is not None else None

    finish_groups(plan, sizing["projects"] if sizing else {})
    _isolate(plan, isolation, facts.get("instances"), instance_port_base, set(reserved_ports or []))
    limits = _limit(plan, resources, host.cpus if host is not None else None)

    plan["front_end"] = None
    if front_end is not None:
        try:
            plan["front_end"] = event_mpm(sum(g["capacity"] for g in plan["groups"]), front_end.get("server_limit"),
                                          front_end.get("threads_per_child"), front_end.get("max_request_workers"))
        except SizingError as exc:
            raise PlanError("apache_mpm_event_%s" % exc) from exc
    plan["host"] = {k: facts.get(k) for k in ("cpus", "memory_mb", "cpus_from", "memory_from", "mod_wsgi_version",
                                              "mod_wsgi_python")}
    plan["sizing_warnings"] = sizing["sizing_warnings"] if sizing else []
    # The sizing's own "apache:" line sizes a front end for the sized groups
    # alone; the model's front end (the last line) is the one Apache gets.
    plan["explanation"] = [line for line in (sizing["explanation"] if sizing else []) if not line.startswith("apache:")]
    plan["explanation"].extend(limits)
    if plan["front_end"]:
        plan["explanation"].append(plan["front_end"]["explanation"])
    return plan


# The arguments of modwsgi.fleet.wsgi_plan, in AnsibleModule's argument_spec
# form: the module and its action plugin (which plans on the controller, in
# the worker process) validate against the same spec.
PLAN_ARGUMENT_SPEC: dict[str, Any] = dict(
    projects=dict(type="list", elements="raw", required=True),
    base_dir=dict(type="str", default="/srv/wsgi"),
    default_threads=dict(type="int", default=15),
    reserved_ports=dict(type="list", elements="int", default=[]),
    mod_wsgi_version=dict(type="str", default=""),
    host_facts=dict(type="dict", default={}),
    reserve_memory_mb=dict(type="int", default=1024),
    front_end=dict(type="dict", options=dict(server_limit=dict(type="int", required=True),
                                             threads_per_child=dict(type="int", required=True),
                                             max_request_workers=dict(type="int", required=True))),
    isolation=dict(type="str", default="shared", choices=["shared", "instance"]),
    instance_port_base=dict(type="int", default=20000),
    daemon_options=dict(type="dict", default={}),
    overhead_ms=dict(type="float"),
    resources=dict(type="dict", default={}),
)


def plan_from_args(params: dict[str, Any]) -> dict[str, Any]:
    """:func:`build_model` of wsgi_plan's validated arguments (raises PlanError)."""
    facts = dict(params["host_facts"])
    if params["mod_wsgi_version"]:
        facts["mod_wsgi_version"] = params["mod_wsgi_version"]
    return build_model(params["projects"], facts, base_dir=params["base_dir"],
                       default_threads=params["default_threads"], reserved_ports=params["reserved_ports"],
                       reserve_memory_mb=params["reserve_memory_mb"], front_end=params["front_end"],
                       isolation=params["isolation"], instance_port_base=params["instance_port_base"],
                       daemon_options=params["daemon_options"], overhead_ms=params["overhead_ms"],
                       resources=params["resources"])

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the plan needs to know about a host, read on the host in one step.

Pure logic, no Ansible imports: the ``wsgi_facts`` module is a thin wrapper
that runs :func:`host_facts` on the target. The plan (``_model``) is computed
on the controller from these facts and the inventory alone.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Optional

from ansible_collections.modwsgi.fleet.plugins.module_utils._sizing import Host, SizingError, gather_host

__metaclass__ = type  # pylint: disable=invalid-name

# mod_wsgi links the libpython it embeds: its name is in the module's dynamic
# string table, e.g. b"libpython3.11.so.1.0".
LIBPYTHON_RE = re.compile(rb"libpython([0-9]+\.[0-9]+)")
VERSION_RE = re.compile(r"^[0-9]+(\.[0-9]+)*\S*$")


def linked_python(module_bytes: bytes) -> str:
    """The X.Y of the libpython a mod_wsgi module links, or '' when none is named."""
    match = LIBPYTHON_RE.search(module_bytes)
    return match.group(1).decode("ascii") if match else ""


def read_linked_python(path: str) -> str:
    """:func:`linked_python` of the file at ``path``; '' when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return linked_python(handle.read())
    except OSError:
        return ""


def package_version(rc: int, stdout: str) -> str:
    """The version a package query printed ('' when the package is not installed)."""
    text = stdout.strip()
    return text if rc == 0 and VERSION_RE.match(text) else ""


def read_instances(path: str) -> Optional[dict[str, Any]]:
    """The Apache instances the role recorded on the host (``_instances.check_state`` checks them).

    None when the file does not exist: no instance was ever started here.
    """
    try:
        with open(path, "r", encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ValueError("instances state %s: cannot be read: %s" % (path, exc)) from exc
    try:
        state = json.loads(text)
    except ValueError as exc:
        raise ValueError("instances state %s: is not JSON (%s); it records which Apache instance of each daemon "
                         "group is live: restore it, or remove it to start every group afresh" % (path, exc)) from exc
    if not isinstance(state, dict):
        raise ValueError("instances state %s: must hold a JSON object, got %r" % (path, state))
    return state


def host_facts(mod_wsgi_module: str, version: str, host: Optional[Host] = None,
               gather: Callable[[], Host] = gather_host, instances_state: str = "") -> dict[str, Any]:
    """The facts the plan takes: usable CPUs and memory, mod_wsgi's version and Python.

    ``version`` is what the package manager reports for mod_wsgi ('' when it
    is not installed yet). CPUs and memory respect cgroup limits and the CPU
    affinity (:func:`gather_host`); ``host`` replaces the gathered figures.
    ``instances_state`` is the path of the role's record of Apache instances
    (isolation ``instance``), read when given.
    """
    try:
        resources = host if host is not None else gather()
    except SizingError as exc:
        raise ValueError(str(exc)) from exc
    installed = bool(version)
    return {
        "cpus": resources.cpus,
        "memory_mb": resources.memory_mb,
        "cpus_from": resources.cpus_from,
        "memory_from": resources.memory_from,
        "mod_wsgi_installed": installed,
        "mod_wsgi_version": version,
        "mod_wsgi_python": read_linked_python(mod_wsgi_module) if installed else "",
        "instances": read_instances(instances_state) if instances_state else None,
    }

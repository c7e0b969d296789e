# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a host has now, against what a role would write: packages, paths, files, a service.

Pure logic, no Ansible imports: the ``host_state`` module is a thin wrapper
that runs :func:`host_state` on the target, so that a role reads in one call
what it would otherwise learn from a call per package, file and path, and
runs the tasks that change something only where something differs.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import stat
from typing import Any, Callable, Mapping, Optional, Sequence

__metaclass__ = type  # pylint: disable=invalid-name

# (argv) -> (return code, standard output)
Runner = Callable[[Sequence[str]], "tuple[int, str]"]


def _name(lookup: Callable[[int], Any], ident: int) -> str:
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def path_state(path: str) -> Optional[dict[str, str]]:
    """Type, mode, owner and group of ``path`` itself (a link is not followed); None when it is absent."""
    try:
        found = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISLNK(found.st_mode):
        kind = "link"
    elif stat.S_ISDIR(found.st_mode):
        kind = "directory"
    elif stat.S_ISREG(found.st_mode):
        kind = "file"
    else:
        kind = "other"
    return {"type": kind, "mode": "%04o" % stat.S_IMODE(found.st_mode),
            "owner": _name(pwd.getpwuid, found.st_uid), "group": _name(grp.getgrgid, found.st_gid)}


def file_sha1(path: str) -> str:
    digest = hashlib.sha1()  # nosec: a content checksum, as Ansible's own file modules use
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def file_differs(wanted: Mapping[str, str], found: Optional[Mapping[str, str]], sha1: Callable[[], str]) -> bool:
    """Whether a regular file as ``found`` (path_state) differs from ``wanted`` (sha1, mode, owner, group).

    A key left out of ``wanted`` is not compared; the content is read only when everything else matches.
    """
    if found is None or found["type"] != "file":
        return True
    for key in ("mode", "owner", "group"):
        if key in wanted and str(wanted[key]).zfill(4 if key == "mode" else 0) != found[key]:
            return True
    return "sha1" in wanted and wanted["sha1"] != sha1()


def missing_packages(packages: Sequence[str], query: Sequence[str], run: Runner) -> list[str]:
    """The packages that ``query`` + [package] does not report installed (exit 0 and stdout ``installed``)."""
    missing = []
    for package in packages:
        rc, out = run([*query, package])
        if rc != 0 or out.strip() != "installed":
            missing.append(package)
    return missing


def service_state(name: str, run: Runner, systemctl: str = "systemctl") -> dict[str, bool]:
    """Whether systemd has the unit ``name`` enabled and active."""
    enabled_rc, enabled = run([systemctl, "is-enabled", name])
    active_rc, _active = run([systemctl, "is-active", name])
    return {"enabled": enabled_rc == 0 and enabled.strip() in ("enabled", "enabled-runtime", "static", "alias"),
            "active": active_rc == 0}


def read_text(path: str) -> Optional[str]:
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


def host_state(packages: Sequence[str] = (), package_query: Sequence[str] = (),
               files: Optional[Mapping[str, Mapping[str, str]]] = None, paths: Sequence[str] = (),
               read: Sequence[str] = (), service: str = "", run: Optional[Runner] = None) -> dict[str, Any]:
    """Everything asked for, in one dict.

    missing_packages: the packages not installed; stale_files: the paths of
    ``files`` whose content, mode, owner or group differ from the wanted ones
    (or that are missing); paths: path -> :func:`path_state`; contents: path
    -> text or None; service: {"enabled", "active"} of the unit.
    """
    if (packages or service) and run is None:
        raise ValueError("a command runner is needed to query packages or a service")
    if packages and not package_query:
        raise ValueError("package_query: must name a command when packages are given")
    out: dict[str, Any] = {
        "missing_packages": missing_packages(packages, package_query, run) if packages else [],  # type: ignore[arg-type]
        "stale_files": sorted(path for path, wanted in (files or {}).items()
                              if file_differs(wanted, path_state(path), lambda p=path: file_sha1(p))),
        "paths": {path: path_state(path) for path in paths},
        "contents": {path: read_text(path) for path in read},
        "service": service_state(service, run) if service else {},  # type: ignore[arg-type]
    }
    return out

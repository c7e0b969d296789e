# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the ``wsgi_files`` module decides, without touching a file.

Pure logic, no Ansible imports. The module puts every project's WSGI script in
place in one call, instead of one task call per project and file: that is what
keeps a run with fifty projects close to the cost of a run with one.

A virtual environment built by the role carries a stamp file: the packages and
pip arguments it was last built with. pip, which takes about a second per venv
even when nothing is missing, only runs for a venv whose stamp differs (a new
venv, a changed package list, a deleted venv).
"""

from __future__ import annotations

import json
import os
import stat
from typing import Any, Optional

__metaclass__ = type  # pylint: disable=invalid-name

STAMP = ".modwsgi-fleet-packages"


class FilesError(ValueError):
    """An entry cannot be put in place; the message names the project and the field."""


def stamp_path(python_home: str) -> str:
    return os.path.join(python_home, STAMP)


def stamp_text(packages: list[str], pip_args: str) -> str:
    """What a venv's stamp holds once pip installed ``packages`` with ``pip_args``."""
    return json.dumps({"packages": list(packages), "pip_args": pip_args}, sort_keys=True) + "\n"


def check_entries(files: list[dict[str, Any]], scripts: list[dict[str, Any]]) -> None:
    """Paths absolute, and no file written twice; raise FilesError otherwise."""
    seen: dict[str, str] = {}
    for entry in files:
        dest = entry["dest"]
        if not os.path.isabs(dest) or os.path.normpath(dest) != dest:
            raise FilesError("project '%s': field 'dest': %r is not a normalised absolute path" % (entry["project"], dest))
        if dest in seen:
            raise FilesError("project '%s': field 'dest': %s is also written for project '%s'"
                             % (entry["project"], dest, seen[dest]))
        seen[dest] = entry["project"]
        mode = entry["mode"]
        if not (isinstance(mode, str) and len(mode) == 4 and all(c in "01234567" for c in mode)):
            raise FilesError("project '%s': field 'mode': give four octal digits as a string, got %r"
                             % (entry["project"], mode))
    for entry in scripts:
        if not os.path.isabs(entry["path"]):
            raise FilesError("project '%s': field 'script': %r is not an absolute path" % (entry["project"], entry["path"]))


def script_problem(project: str, path: str, st_mode: Optional[int]) -> Optional[str]:
    """Why the script a project names on the host cannot be served (None: it can)."""
    if st_mode is None:
        return "project '%s': field 'script': %s does not exist on this host" % (project, path)
    if not stat.S_ISREG(st_mode):
        return "project '%s': field 'script': %s is not a regular file" % (project, path)
    return None


def stale_venvs(venvs: list[dict[str, Any]], read_stamp: Any) -> list[str]:
    """The python_home of each venv whose stamp is missing or differs from what it should hold.

    ``read_stamp(python_home)`` returns the stamp's text, or None when there is none.
    """
    return [venv["python_home"] for venv in venvs
            if read_stamp(venv["python_home"]) != stamp_text(venv["packages"], venv["pip_args"])]


def make_dirs(path: str) -> None:
    """Create the folder and its missing parents, each with mode 0755 whatever the umask."""
    missing = []
    while not os.path.lexists(path):
        missing.append(path)
        path = os.path.dirname(path)
    for folder in reversed(missing):
        os.mkdir(folder)
        os.chmod(folder, 0o755)

# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where things are, the log, and the collection's pure-logic module_utils.

``_sizing`` (the wsgi_sizing model) and ``_model`` (the wsgi_plan render
model) are standard library only, and bench.py runs under Debian's
/usr/bin/python3, where the collection is not installed: this checkout is made
importable as ``ansible_collections.modwsgi.fleet`` through a symlink in a
temporary directory (removed at exit), as they import each other by that name.
"""

from __future__ import annotations

import atexit
import importlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]
REPO = BENCH.parent
ROLE_TEMPLATES = REPO / "roles" / "wsgi" / "templates"
APP = BENCH / "app.wsgi"
APACHE = "/usr/sbin/apache2"
MODULES = "/usr/lib/apache2/modules"
WRK = shutil.which("wrk") or "/usr/bin/wrk"


def _collection_importable() -> None:
    """Make ``ansible_collections.modwsgi.fleet`` this checkout, unless it is importable already."""
    try:
        importlib.import_module("ansible_collections.modwsgi.fleet.plugins.module_utils._sizing")
        return
    except ImportError:
        pass
    tree = Path(tempfile.mkdtemp(prefix="modwsgi-bench-collections."))
    atexit.register(shutil.rmtree, tree, True)
    link = tree / "ansible_collections" / "modwsgi" / "fleet"
    link.parent.mkdir(parents=True)
    link.symlink_to(REPO, target_is_directory=True)
    sys.path.insert(0, str(tree))


_collection_importable()
# Re-exported for the other modules (lib.env._sizing, lib.env._model).
_model = importlib.import_module("ansible_collections.modwsgi.fleet.plugins.module_utils._model")
_sizing = importlib.import_module("ansible_collections.modwsgi.fleet.plugins.module_utils._sizing")


def log(message: str) -> None:
    print(time.strftime("%H:%M:%S ") + message, file=sys.stderr, flush=True)

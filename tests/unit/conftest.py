"""Make this checkout importable as ``ansible_collections.modwsgi.fleet``.

ansible-test runs the unit tests from inside an ``ansible_collections/modwsgi/fleet``
tree, where the import works as is. A plain ``pytest tests/unit`` from the
repository root gets the same layout through a symlink in pytest's cache.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

try:
    import ansible_collections.modwsgi.fleet  # noqa: F401  pylint: disable=unused-import
except ImportError:
    _ROOT = Path(__file__).resolve().parents[2]
    _TREE = _ROOT / ".pytest_cache" / "collections"
    _LINK = _TREE / "ansible_collections" / "modwsgi" / "fleet"
    if not _LINK.exists():
        _LINK.parent.mkdir(parents=True, exist_ok=True)
        _LINK.symlink_to(_ROOT, target_is_directory=True)
    sys.path.insert(0, str(_TREE))
    for _name in [m for m in sys.modules if m.split(".")[0] == "ansible_collections"]:
        del sys.modules[_name]


@pytest.fixture
def restrictive_umask() -> Iterator[None]:
    """Run the test under umask 077, as some hosts do: what a module makes must not depend on it."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)

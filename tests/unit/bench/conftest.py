# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make bench/lib importable as ``lib``, as bench/bench.py does (bench/ on sys.path).

bench/ is part of the tree ansible-test copies (scripts/ansible-test copies every
file git lists), so these tests run there too.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "bench"

if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import lib  # noqa: E402  pylint: disable=wrong-import-position

if Path(lib.__file__).resolve().parent != BENCH / "lib":
    raise ImportError("'lib' is %s, not bench/lib: another package of that name is on sys.path" % lib.__file__)

# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tests/load/wsgi_load.py: the latency percentiles of its per-target summary.

The load script runs inside the hosts under test and is no package: it is
imported from its path.
"""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "load" / "wsgi_load.py"
_SPEC = importlib.util.spec_from_file_location("wsgi_load", _PATH)
wsgi_load = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(wsgi_load)


@pytest.mark.parametrize("values, pct, expected", [
    ([], 50, None),
    ([7.0], 50, 7.0),
    ([7.0], 99, 7.0),
    ([1.0, 2.0], 50, 1.0),
    ([1.0, 2.0], 99, 2.0),
    ([3.0, 1.0, 2.0, 4.0], 50, 2.0),
    (list(range(1, 101)), 50, 50),
    (list(range(1, 101)), 99, 99),
    (list(range(1, 101)), 100, 100),
    (list(range(1, 101)), 7, 7),  # 7 * 100 / 100, no float rounding up to 8
    (list(range(1, 1001)), 99, 990),
    (list(range(1, 1002)), 99, 991),  # ceil(990.99)
])
def test_nearest_rank(values, pct, expected):
    assert wsgi_load.percentile(values, pct) == expected


def test_order_does_not_matter():
    values = [float(i) for i in range(1, 201)]
    shuffled = values[:]
    random.Random(1).shuffle(shuffled)
    assert wsgi_load.percentile(shuffled, 99) == wsgi_load.percentile(values, 99) == 198.0


@pytest.mark.parametrize("pct", [0, -1, 100.5])
def test_bad_percentile(pct):
    with pytest.raises(ValueError):
        wsgi_load.percentile([1.0], pct)


def test_summary_percentiles_of_answered_requests_only():
    target = wsgi_load.Target("alpha=http://127.0.0.1:8080/alpha")
    for ms in range(1, 100):
        target.record(200, None, float(ms), False)
    target.record(503, None, 100.0, False)  # answered, not 2xx: counted
    target.record(None, "ConnectionResetError", 5000.0, False)  # no answer: not in the percentiles
    out = target.summary()
    assert (out["p50_ms"], out["p99_ms"]) == (50.0, 99.0)
    assert out["max_ms"] == 5000.0
    assert (out["requests"], out["ok"], out["failed"]) == (100, 99, 2)
    assert set(out) >= {"requests", "ok", "non_2xx", "errors", "failed", "reused_closed", "on_new_connections",
                        "max_ms", "first_failures", "backends"}


def test_summary_without_answers():
    target = wsgi_load.Target("alpha=http://127.0.0.1:8080/alpha")
    target.record(None, "ConnectionRefusedError", 1.0, False)
    out = target.summary()
    assert out["p50_ms"] is None and out["p99_ms"] is None
    assert out["failed"] == 1

# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/change.py: the projects, the ratios, the alternating order and the verdicts.

bench/change.py is a script, not part of bench/lib: it is imported from its
path (bench/ is on sys.path, see conftest.py, for its ``import cost``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[3] / "bench" / "change.py"
_SPEC = importlib.util.spec_from_file_location("bench_change", _PATH)
change = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(change)


def target(p99: float | None, failed: int = 0, requests: int = 1000) -> dict:
    return {"p99_ms": p99, "p50_ms": None if p99 is None else p99 / 2, "failed": failed, "requests": requests,
            "max_ms": p99, "non_2xx": {"503": failed} if failed else {}, "errors": {}}


def run(isolation: str, baseline: dict, during: dict, repeat: int = 1, restarted: tuple = ()) -> dict:
    return {"repeat": repeat, "isolation": isolation, "baseline": baseline, "change": during,
            "restarted": list(restarted)}


def test_projects_each_its_own_group_p01_changed():
    out = change.projects(3, processes=2, threads=2, changed_threads=3)
    assert [p["name"] for p in out] == ["p01", "p02", "p03"]
    assert [p["threads"] for p in out] == [3, 2, 2]
    assert {p["processes"] for p in out} == {2}
    assert [p["path"] for p in out] == ["/p01", "/p02", "/p03"]
    assert {p["port"] for p in out} == {change.PORT}
    assert all("daemon" not in p for p in out)


@pytest.mark.parametrize("value, base, expected", [
    (12.0, 10.0, 1.2), (5.0, 10.0, 0.5), (None, 10.0, None), (10.0, None, None), (10.0, 0.0, None),
])
def test_ratio(value, base, expected):
    assert change.ratio(value, base) == (None if expected is None else pytest.approx(expected))


def test_order_alternates():
    assert [change.order(i, ["shared", "instance"]) for i in (1, 2, 3)] == [
        ["shared", "instance"], ["instance", "shared"], ["shared", "instance"]]
    assert change.order(2, ["instance"]) == ["instance"]


def test_rows_ratio_failures_and_restarts():
    rows = change.run_rows(run("shared", {"p01": target(4.0), "p02": target(5.0, failed=1)},
                               {"p01": target(8.0, failed=2), "p02": target(5.5)}, restarted=("p01", "p02")))
    assert [r["project"] for r in rows] == ["p01", "p02"]
    assert rows[0]["changed"] and not rows[1]["changed"]
    assert rows[0]["p99_ratio"] == pytest.approx(2.0)
    assert rows[1]["p99_ratio"] == pytest.approx(1.1)
    assert (rows[0]["failed"], rows[1]["failed"], rows[1]["baseline_failed"]) == (2, 0, 1)
    assert rows[0]["restarted"] and rows[1]["restarted"]


def test_verdicts_pass_at_the_limit_fail_above_and_on_any_failure():
    runs = [
        run("instance", {"p01": target(4.0), "p02": target(10.0), "p03": target(10.0)},
            {"p01": target(40.0), "p02": target(12.0), "p03": target(10.0)}),
        run("shared", {"p01": target(4.0), "p02": target(10.0), "p03": target(10.0)},
            {"p01": target(4.0), "p02": target(12.5), "p03": target(10.0, failed=3)}),
    ]
    out = change.verdicts(runs)
    assert list(out) == ["shared", "instance"]
    inst = out["instance"]
    assert inst["verdict"] == "PASS"
    assert inst["projects"]["p02"]["verdict"] == "PASS"  # 1.2x is within 1.2x
    assert inst["projects"]["p01"]["verdict"] == "PASS"  # the changed project's p99 is not judged
    assert inst["projects"]["p01"]["worst_ratio"] == pytest.approx(10.0)
    shared = out["shared"]
    assert shared["verdict"] == "FAIL"
    assert shared["projects"]["p02"]["reasons"] == ["p99 1.25x > 1.20x"]
    assert shared["projects"]["p03"]["reasons"] == ["3 failed"]
    assert shared["projects"]["p01"]["verdict"] == "PASS"


def test_verdicts_changed_project_fails_on_failures():
    out = change.verdicts([run("instance", {"p01": target(4.0), "p02": target(5.0)},
                               {"p01": target(4.0, failed=1), "p02": target(5.0)})])
    assert out["instance"]["projects"]["p01"]["reasons"] == ["1 failed"]
    assert out["instance"]["verdict"] == "FAIL"


def test_verdicts_worst_repetition_decides_and_missing_p99_fails():
    base = {"p01": target(4.0), "p02": target(10.0), "p03": target(10.0)}
    runs = [run("instance", base, {"p01": target(4.0), "p02": target(10.0), "p03": target(10.0)}, repeat=1),
            run("instance", base, {"p01": target(4.0), "p02": target(13.0), "p03": target(None, requests=0)},
                repeat=2),
            run("instance", base, {"p01": target(4.0), "p02": target(10.0), "p03": target(10.0)}, repeat=3)]
    projects = change.verdicts(runs)["instance"]["projects"]
    assert projects["p02"]["ratios"] == [pytest.approx(1.0), pytest.approx(1.3), pytest.approx(1.0)]
    assert projects["p02"]["worst_ratio"] == pytest.approx(1.3)
    assert projects["p02"]["median_ratio"] == pytest.approx(1.0)
    assert projects["p02"]["verdict"] == "FAIL"
    assert projects["p03"]["worst_ratio"] is None
    assert projects["p03"]["reasons"] == ["no p99"]


def test_output_paths():
    assert change.output_paths(Path("/tmp/x")) == (Path("/tmp/x/change.json"), Path("/tmp/x/change.md"))
    assert change.output_paths(Path("/tmp/y.json")) == (Path("/tmp/y.json"), Path("/tmp/y.md"))


def test_report_has_inputs_verdicts_and_rows():
    runs = [run("shared", {"p01": target(4.0), "p02": target(10.0)}, {"p01": target(8.0), "p02": target(30.0, 4)},
                restarted=("p01", "p02"))]
    for r in runs:
        r.update(threads_before=2, threads_after=3, playbook={"wall_s": 40.0, "changed": 3})
    result = {"date": "2026-12-03T12:00:00+00:00", "argv": ["--repeats", "1"], "duration_s": 300.0,
              "machine": {"uname_a": "Linux x", "cpu_model": "CPU", "nproc": 2, "memory_mb": 1024,
                          "loadavg_start": "0.1"},
              "inputs": {"image": "img", "ansible_core": "2.19", "isolations": ["shared"], "repeats": 1,
                         "baseline_seconds": 20, "control": False, "projects": ["p01", "p02"], "processes": 2,
                         "threads": 2, "connections": 2, "new_connections": 1, "interval": 0.06,
                         "controller_idle": True},
              "runs": runs, "verdicts": change.verdicts(runs)}
    text = change.report(result)
    assert "- the controller: ansible-playbook on the same CPUs as the host, under SCHED_IDLE" in text
    result["inputs"]["controller_idle"] = False
    assert "host, at normal priority (--no-controller-idle)" in change.report(result)
    result["inputs"]["controller_idle"] = True
    assert "- **shared: FAIL**" in text
    assert "p02: FAIL (failed, per repetition: 4; p99 ratio worst 3.00x, median 3.00x): 4 failed, p99 3.00x > 1.20x" in text
    assert "| 1 | shared | p02 | 5.0 / 10.0 | 15.0 / 30.0 | 3.00x | 30 | 4 (503 x4) | 1000 | yes |" in text


def test_change_against_the_no_change_run_is_reported_not_judged():
    """The change window's p99 against the no-change window's: in the rows and the verdict, never a reason."""
    base = {"p01": target(2.0), "p02": target(2.0)}
    runs = [dict(run("instance", base, {"p01": target(5.0), "p02": target(5.0)}, repeat=1),
                 control={"p01": target(5.0), "p02": target(4.0)}),
            dict(run("instance", base, {"p01": target(5.0), "p02": target(4.4)}, repeat=2),
                 control={"p01": target(5.0), "p02": target(4.0)})]
    rows = change.run_rows(runs[0])
    assert rows[1]["change_vs_control"] == pytest.approx(1.25)
    assert rows[1]["control_p99_ratio"] == pytest.approx(2.0)
    entry = change.verdicts(runs)["instance"]["projects"]["p02"]
    assert entry["worst_vs_control"] == pytest.approx(1.25)
    assert entry["reasons"] == ["p99 2.50x > 1.20x"]  # judged against the baseline alone
    # Without no-change windows there is nothing to compare with.
    assert change.verdicts([run("instance", base, {"p01": target(5.0), "p02": target(5.0)})])[
        "instance"]["projects"]["p02"]["worst_vs_control"] is None

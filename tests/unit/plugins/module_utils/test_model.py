# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests of a host's render model (plugins/module_utils/_model.py), through build_model only."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.modwsgi.fleet.plugins.module_utils._model import build_model
from ansible_collections.modwsgi.fleet.plugins.module_utils._plan import PlanError
from ansible_collections.modwsgi.fleet.plugins.module_utils._sizing import Host, environ_flags, size_projects

ROOT = Path(__file__).resolve().parents[4]
SCRIPT = "/srv/wsgi/app/app.wsgi"
FACTS: dict[str, Any] = {"cpus": 2, "memory_mb": 4096, "cpus_from": "sched_getaffinity",
                         "memory_from": "/proc/meminfo MemTotal", "mod_wsgi_installed": True,
                         "mod_wsgi_version": "4.9.4-1+b2", "mod_wsgi_python": "3.11"}
META: dict[str, Any] = {"cpu_ms": 10, "wait_ms": 40, "rss_mb": 100}
APACHE = {"server_limit": 16, "threads_per_child": 25, "max_request_workers": 400}
FLAG_KEYS = ("multithread", "multiprocess", "mode")


def project(name: str = "app", **fields: Any) -> dict[str, Any]:
    """A valid daemon-mode project on its own path; fields set to ... are removed."""
    raw: dict[str, Any] = {"name": name, "script": SCRIPT, "path": "/" + name}
    raw.update(fields)
    return {k: v for k, v in raw.items() if v is not ...}


def shared(sizing: dict[str, Any], **fields: Any) -> list[dict[str, Any]]:
    """Projects 'alpha' (with the metadata) and 'beta' in daemon group 'portal', named after neither."""
    return [project("alpha", daemon="portal", sizing=sizing, **fields), project("beta", daemon="portal")]


def model(projects: list[dict[str, Any]], facts: Optional[dict[str, Any]] = None, **kwargs: Any) -> dict[str, Any]:
    return build_model(copy.deepcopy(projects), copy.deepcopy(facts), **kwargs)


def refused(projects: list[dict[str, Any]], facts: Optional[dict[str, Any]] = None, **kwargs: Any) -> str:
    with pytest.raises(PlanError) as info:
        build_model(copy.deepcopy(projects), copy.deepcopy(facts), **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def group(result: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [g for g in result["groups"] if g["name"] == name]
    return found


def flags(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: entry[k] for k in FLAG_KEYS}


def host_of(facts: dict[str, Any]) -> Host:
    return Host(cpus=facts["cpus"], memory_mb=facts["memory_mb"])


# --- Sizing metadata ----------------------------------------------------------------

BAD_METADATA = [
    ("cpu_ms", -1, "must be > 0 (got -1)"),
    ("cpu_ms", 0, "must be > 0 (got 0)"),
    ("cpu_ms", "fast", "must be a finite number (got 'fast')"),
    ("cpu_ms", float("nan"), "must be a finite number (got nan)"),
    ("cpu_ms", None, "is required"),
    ("rss_mb", 0, "must be >= 1 (got 0)"),
    ("rss_mb", 1.5, "must be an integer (got 1.5)"),
    ("wait_ms", -5, "must be >= 0 (got -5)"),
    ("peak_rps", -1, "must be >= 0 (got -1)"),
    ("weight", 0, "must be > 0 (got 0)"),
    ("thread_safe", "yes", "must be a boolean (got 'yes')"),
    ("thread_safe", "yes\nno", "must be a boolean (got 'yes\\nno')"),
]
METADATA_IDS = ["%s=%r" % (key, value) for key, value, _why in BAD_METADATA]


@pytest.mark.parametrize(("key", "value", "why"), BAD_METADATA, ids=METADATA_IDS)
def test_bad_metadata_of_a_project_in_its_own_group_names_project_and_field(key: str, value: Any, why: str) -> None:
    message = refused([project("glance", sizing=dict(META, **{key: value}))], FACTS)
    assert message == "project 'glance': field 'sizing.%s': %s" % (key, why)


@pytest.mark.parametrize(("key", "value", "why"), BAD_METADATA, ids=METADATA_IDS)
def test_bad_metadata_of_a_shared_group_names_the_project_not_the_group(key: str, value: Any, why: str) -> None:
    message = refused(shared(dict(META, **{key: value})), FACTS)
    assert message == "project 'alpha': field 'sizing.%s': %s" % (key, why)
    assert "portal" not in message


@pytest.mark.parametrize("projects", [[project("glance", sizing=dict(META, cores=2))], shared(dict(META, cores=2))],
                         ids=["own group", "shared group"])
def test_unknown_metadata_key_is_refused_naming_project_and_field(projects: list[dict[str, Any]]) -> None:
    for facts in (FACTS, None):
        message = refused(projects, facts)
        assert message.startswith("project '%s': field 'sizing.cores': unknown field" % projects[0]["name"])


def test_metadata_is_refused_before_the_budget_is_looked_at() -> None:
    """A host far too small for the group still gets the metadata's error, not the budget's."""
    projects = shared(dict(META, rss_mb=800, weight=0), processes=4)
    tiny = dict(FACTS, memory_mb=2048)
    assert refused(projects, tiny).startswith("project 'alpha': field 'sizing.weight': ")
    assert refused(projects, dict(FACTS, memory_mb=512)).startswith("project 'alpha': field 'sizing.weight': ")


def test_threads_against_thread_safe_false_names_the_project_and_threads() -> None:
    message = refused(shared(dict(META, thread_safe=False), threads=4), FACTS)
    assert message == "project 'alpha': field 'threads': must be 1 when thread_safe is false (got 4)"


def test_the_first_bad_group_in_name_order_is_named() -> None:
    projects = [project("zeta", sizing=dict(META, cpu_ms=-1)), project("beta", sizing=dict(META, rss_mb=0))]
    assert refused(projects, FACTS).startswith("project 'beta': field 'sizing.rss_mb': ")
    assert refused(projects[::-1], FACTS).startswith("project 'beta': field 'sizing.rss_mb': ")


def test_bad_metadata_is_refused_without_host_facts_too() -> None:
    refused([project("glance", sizing=dict(META, cpu_ms=-1))], {})


def test_empty_metadata_is_refused_naming_the_project() -> None:
    message = refused([project("glance", sizing={})], FACTS)
    assert message.startswith("project 'glance': field 'sizing.")


# --- Budget and host facts ---------------------------------------------------------------


def test_explicit_processes_beyond_the_budget_are_refused_with_the_shortfall() -> None:
    projects = [project("glance", processes=4, sizing=dict(META, rss_mb=800))]
    message = refused(projects, dict(FACTS, memory_mb=2048), reserve_memory_mb=1024)
    assert message == ("sizing on this host (2 CPUs, 2048 MB, 1024 MB reserved): explicit processes alone need "
                       "3200 MB, more than the budget of 1024 MB: glance (4 x 800 MB); short by 2176 MB")


def test_a_shared_group_beyond_the_budget_is_refused_naming_the_group() -> None:
    message = refused(shared(dict(META, rss_mb=800), processes=4), dict(FACTS, memory_mb=2048), reserve_memory_mb=1024)
    assert message.startswith("sizing on this host (2 CPUs, 2048 MB, 1024 MB reserved): ")
    assert "portal (4 x 800 MB)" in message and message.endswith("short by 2176 MB")


def test_one_process_per_group_beyond_the_budget_is_refused_naming_every_group() -> None:
    projects = [project("one", sizing=dict(META, rss_mb=600)), project("two", sizing=dict(META, rss_mb=600))]
    message = refused(projects, dict(FACTS, memory_mb=2048), reserve_memory_mb=1024)
    assert message.startswith("sizing on this host (2 CPUs, 2048 MB, 1024 MB reserved): even one process")
    assert "one (1 x 600 MB), two (1 x 600 MB)" in message and message.endswith("short by 176 MB")


@pytest.mark.parametrize("memory_mb", [1024, 1000, 1])
def test_memory_not_above_the_reserve_is_refused(memory_mb: int) -> None:
    message = refused([project("glance", sizing=META)], dict(FACTS, memory_mb=memory_mb), reserve_memory_mb=1024)
    assert message.startswith("sizing on this host (2 CPUs, %d MB, 1024 MB reserved): " % memory_mb)
    assert "must be > reserve_memory_mb (1024)" in message


def test_the_reserve_is_the_documented_default() -> None:
    result = model([project("glance", sizing=dict(META, rss_mb=1000))], dict(FACTS, memory_mb=4096))
    assert "budget 3072 MB = 4096 - 1024 reserved" in result["explanation"][0]
    refused([project("glance", sizing=dict(META, rss_mb=1000), processes=4)], dict(FACTS, memory_mb=4096))


@pytest.mark.parametrize(
    ("facts", "start"),
    [
        ({"cpus": 2}, "host facts: field 'memory_mb': "),
        ({"memory_mb": 4096}, "host facts: field 'cpus': "),
        ({"cpus": 0, "memory_mb": 4096}, "host facts: field 'cpus': "),
        ({"cpus": True, "memory_mb": 4096}, "host facts: field 'cpus': "),
        ({"cpus": "2", "memory_mb": 4096}, "host facts: field 'cpus': "),
        ({"cpus": 2, "memory_mb": 4096.5}, "host facts: field 'memory_mb': "),
        ({"cpus": 2, "memory_mb": -1}, "host facts: field 'memory_mb': "),
    ],
)
def test_bad_host_facts_are_refused(facts: dict[str, Any], start: str) -> None:
    assert refused([project("glance", sizing=META)], facts).startswith(start)


def test_host_facts_must_be_a_mapping() -> None:
    assert refused([project()], [2, 4096]).startswith("host facts: must be a mapping")  # type: ignore[arg-type]


def test_the_facts_mod_wsgi_version_checks_the_options() -> None:
    projects = [project("keystone", options={"interrupt-timeout": 30})]
    assert refused(projects, FACTS) == ("project 'keystone': field 'options.interrupt-timeout': needs mod_wsgi 6.0 or "
                                        "later, and this host has mod_wsgi 4.9.4")
    for version in ("6.0.1", ""):
        (group,) = model(projects, dict(FACTS, mod_wsgi_version=version))["groups"]
        assert group["options"]["interrupt-timeout"] == 30 and group["option_sources"]["interrupt-timeout"] == "project"


# --- Sized and unsized groups ---------------------------------------------------------------


def test_without_cpus_and_memory_nothing_is_sized() -> None:
    projects = [project("glance", sizing=dict(META, peak_rps=50)),
                project("nova", processes=3, threads=4, sizing=META),
                project("web", threads=8)]
    for facts in (None, {}, {"mod_wsgi_installed": False, "mod_wsgi_version": "", "mod_wsgi_python": ""}):
        result = model(projects, facts)
        assert result["sizing"] == [dict(META, peak_rps=50, name="glance"),
                                    dict(META, name="nova", processes=3, threads=4)]
        numbers = {g["name"]: (g["processes"], g["processes_explicit"], g["threads"], g["sized"])
                   for g in result["groups"]}
        assert numbers == {"glance": (None, False, 15, True), "nova": (3, True, 4, True), "web": (None, False, 8, False)}
        assert result["unsized_capacity"] == 8
        assert result["explanation"] == [] and result["sizing_warnings"] == []
        assert result["front_end"] is None


def test_with_facts_the_sized_groups_get_the_numbers_of_size_projects() -> None:
    projects = [project("glance", sizing=dict(META, peak_rps=50)), project("nova", processes=3, sizing=META),
                project("legacy", sizing=dict(META, thread_safe=False, rss_mb=300, weight=2)),
                project("web", processes=2, threads=8)]
    facts = dict(FACTS, cpus=4, memory_mb=2048)
    result = model(projects, facts, reserve_memory_mb=512)
    assert [r["name"] for r in result["sizing"]] == ["glance", "legacy", "nova"]
    expected = size_projects(result["sizing"], host_of(facts), 512, 16).to_dict()
    assert set(expected["projects"]) == {"glance", "legacy", "nova"}
    for name, size in expected["projects"].items():
        got = group(result, name)
        assert got["processes_explicit"] is size["processes_explicit"]
        assert got["processes"] == (size["processes"] if size["processes_explicit"] else None)
        assert got["threads"] == size["threads"]
        assert got["capacity"] == size["capacity"]
        assert flags(got) == {k: size[k] for k in FLAG_KEYS}
    assert group(result, "legacy")["threads"] == 1
    assert group(result, "nova")["processes"] == 3
    assert (group(result, "web")["processes"], group(result, "web")["threads"]) == (2, 8)
    assert result["sizing_warnings"] == expected["sizing_warnings"]
    assert result["sizing_warnings"], "the budget of 1536 MB is meant to cut the processes down"


def test_a_group_sized_to_one_process_writes_no_processes() -> None:
    result = model([project("glance", sizing=META)], dict(FACTS, cpus=1))
    got = group(result, "glance")
    assert (got["processes"], got["processes_explicit"], got["threads"]) == (None, False, 5)
    assert flags(got) == {"multithread": True, "multiprocess": False, "mode": "winnt"}
    explicit = group(model([project("glance", processes=1, sizing=META)], dict(FACTS, cpus=1)), "glance")
    assert (explicit["processes"], explicit["processes_explicit"]) == (1, True)
    assert flags(explicit) == {"multithread": True, "multiprocess": True, "mode": "winnt"}


def test_a_shared_group_is_sized_as_the_group() -> None:
    result = model(shared(META), dict(FACTS, cpus=4))
    assert result["sizing"] == [dict(META, name="portal")]
    size = size_projects([dict(META, name="portal")], Host(cpus=4, memory_mb=4096)).to_dict()["projects"]["portal"]
    got = group(result, "portal")
    assert (got["processes"], got["threads"], got["projects"]) == (size["processes"], size["threads"], ["alpha", "beta"])
    assert got["processes"] == 4  # 4 CPUs: more than one process, so processes= is written
    assert [p["promised"] for p in result["projects"]] == [flags(got), flags(got)]


# --- Environ flags --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"threads": 25}, (True, False, "winnt")),
        ({"processes": 1, "threads": 25}, (True, True, "winnt")),
        ({"processes": 2, "threads": 25}, (True, True, "worker")),
        ({"processes": 5, "threads": 1}, (False, True, "prefork")),
        ({"threads": 1}, (False, False, "prefork")),
        ({}, (True, False, "winnt")),
    ],
)
def test_the_readme_table(fields: dict[str, Any], expected: tuple[bool, bool, str]) -> None:
    for facts in (None, FACTS):
        result = model([project("app", **fields)], facts)
        got = group(result, "app")
        assert (got["multithread"], got["multiprocess"], got["mode"]) == expected
        assert result["projects"][0]["promised"] == dict(zip(FLAG_KEYS, expected))


def readme_rows() -> list[tuple[dict[str, int], tuple[bool, bool, str]]]:
    """The rows of README.md's table "What mod_wsgi makes the app see"."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## What mod_wsgi makes the app see", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[2] in ("True", "False"):
            fields = {k: int(v) for k, v in re.findall(r"`(processes|threads): ([0-9]+)`", cells[0])}
            rows.append((fields, (cells[2] == "True", cells[3] == "True", cells[4].split(",")[0])))
    return rows


def test_the_readme_table_as_written_is_what_the_model_promises() -> None:
    rows = readme_rows()
    assert len(rows) == 4
    for fields, expected in rows:
        got = group(model([project("app", **fields)], FACTS), "app")
        assert (got["multithread"], got["multiprocess"], got["mode"]) == expected, fields


@settings(deadline=None, max_examples=60)
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(1, 8)), st.one_of(st.none(), st.integers(1, 40)),
                          st.booleans()), min_size=1, max_size=5))
def test_every_group_has_the_flags_of_its_numbers(shapes: list[tuple[Optional[int], Optional[int], bool]]) -> None:
    projects = [project("p%d" % i, port=8000 + i, processes=processes if processes else ...,
                        threads=threads if threads else ..., sizing=dict(META, rss_mb=20) if sized else ...)
                for i, (processes, threads, sized) in enumerate(shapes)]
    for facts in (None, dict(FACTS, cpus=4, memory_mb=65536)):
        result = model(projects, facts)
        for got in result["groups"]:
            assert flags(got) == environ_flags(got["processes"], got["threads"])
            assert got["capacity"] == (got["processes"] or 1) * got["threads"]
            assert got["processes_explicit"] is (got["processes"] is not None)
        by_name = {g["name"]: g for g in result["groups"]}
        for entry in result["projects"]:
            assert entry["promised"] == flags(by_name[entry["daemon"]])


def test_embedded_projects_are_promised_threads_and_processes() -> None:
    projects = [project("inline", mode="embedded", script=SCRIPT), project("glance", sizing=META),
                project("single", threads=1)]
    result = model(projects, FACTS)
    promised = {p["name"]: p["promised"] for p in result["projects"]}
    assert promised["inline"] == {"multithread": True, "multiprocess": True, "mode": "embedded"}
    assert promised["single"] == {"multithread": False, "multiprocess": False, "mode": "prefork"}
    assert promised["glance"] == flags(group(result, "glance"))
    assert [g["name"] for g in result["groups"]] == ["glance", "single"]
    assert result["embedded"] is True


# --- Front end ------------------------------------------------------------------------------


def busy_groups(count: int, threads: int = 100) -> list[dict[str, Any]]:
    return [project("g%d" % i, port=8000 + i, threads=threads) for i in range(count)]


def test_no_front_end_without_the_argument() -> None:
    assert model(busy_groups(5), FACTS)["front_end"] is None
    assert not any(line.startswith("front end") for line in model([project("glance", sizing=META)], FACTS)["explanation"])


def test_a_front_end_that_covers_the_daemons_is_kept() -> None:
    result = model([project("glance", sizing=META), project("web", threads=10)], FACTS, front_end=dict(APACHE))
    front = result["front_end"]
    capacity = sum(g["capacity"] for g in result["groups"])
    assert capacity < 100
    assert {k: front[k] for k in APACHE} == APACHE
    assert front["raised"] is False and front["daemon_capacity"] == capacity
    assert front["explanation"].endswith("the configured 400 covers it: kept")


def test_a_front_end_too_small_is_raised_in_whole_children() -> None:
    result = model(busy_groups(5), FACTS, front_end=dict(APACHE))
    front = result["front_end"]
    capacity = sum(g["capacity"] for g in result["groups"])
    assert capacity == 500 and front["daemon_capacity"] == 500
    workers = front["max_request_workers"]
    assert front["raised"] is True and front["threads_per_child"] == 25
    assert workers % 25 == 0 and workers >= capacity * 1.25 and workers >= capacity + 25
    assert workers == 625  # the least such multiple
    assert front["server_limit"] >= workers / 25 and front["server_limit"] >= 16
    assert "raised to 625" in front["explanation"]


def test_a_small_front_end_gets_a_child_of_headroom() -> None:
    """Headroom is 25%, but at least one child: 40 daemon threads need 40 + 25, in whole children 75 (not 50)."""
    front = model(busy_groups(1, threads=40), FACTS, front_end=dict(APACHE, max_request_workers=50))["front_end"]
    assert (front["max_request_workers"], front["raised"]) == (75, True)
    front = model(busy_groups(1, threads=100), FACTS, front_end=dict(APACHE, max_request_workers=125))["front_end"]
    assert (front["max_request_workers"], front["raised"]) == (125, False)
    front = model(busy_groups(1, threads=101), FACTS, front_end=dict(APACHE, max_request_workers=125))["front_end"]
    assert (front["max_request_workers"], front["raised"]) == (150, True)


def test_the_configured_threads_per_child_is_kept_and_the_raise_uses_it() -> None:
    front = model(busy_groups(5), FACTS, front_end=dict(APACHE, threads_per_child=50))["front_end"]
    assert front["threads_per_child"] == 50
    assert front["max_request_workers"] == 650 and front["max_request_workers"] % 50 == 0
    assert front["server_limit"] >= 650 / 50 and front["server_limit"] >= 16


def test_the_front_end_is_never_lowered() -> None:
    front = model(busy_groups(5), FACTS, front_end=dict(APACHE, server_limit=200))["front_end"]
    assert (front["server_limit"], front["max_request_workers"]) == (200, 625)
    front = model(busy_groups(5), FACTS, front_end=dict(APACHE, server_limit=64, max_request_workers=1600))["front_end"]
    assert (front["server_limit"], front["max_request_workers"], front["raised"]) == (64, 1600, False)


def test_the_front_end_counts_sized_and_unsized_groups() -> None:
    result = model([project("glance", sizing=META)] + busy_groups(4), FACTS, front_end=dict(APACHE))
    front = result["front_end"]
    assert front["daemon_capacity"] == group(result, "glance")["capacity"] + 400
    assert front["raised"] is True and front["max_request_workers"] >= front["daemon_capacity"] * 1.25


@pytest.mark.parametrize("front_end", [{"server_limit": 1}, {"max_request_workers": 410}], ids=["no room", "no multiple"])
def test_an_inconsistent_front_end_is_refused_naming_max_request_workers(front_end: dict[str, int]) -> None:
    """ServerLimit 1 x 25 threads cannot run 400 workers; 410 is no whole number of children of 25."""
    message = refused(busy_groups(1, threads=40), FACTS, front_end=dict(APACHE, **front_end))
    assert message.startswith("apache_mpm_event_max_request_workers: must be a multiple of threads_per_child"), message


@pytest.mark.parametrize("key", sorted(APACHE))
@pytest.mark.parametrize("value", [0, -1, "x", True, None, 2.5])
def test_bad_front_end_numbers_are_refused_naming_the_apache_variable(key: str, value: Any) -> None:
    message = refused([project()], FACTS, front_end=dict(APACHE, **{key: value}))
    assert message.startswith("apache_mpm_event_%s: must be a whole number >= 1" % key), message


def test_a_front_end_missing_a_number_is_refused() -> None:
    front_end = {k: v for k, v in APACHE.items() if k != "threads_per_child"}
    assert refused([project()], FACTS, front_end=front_end).startswith("apache_mpm_event_threads_per_child: ")


# --- Explanation ------------------------------------------------------------------------------


def test_explanation_has_host_groups_memory_then_one_front_end_line() -> None:
    projects = [project("glance", sizing=META), project("nova", sizing=dict(META, rss_mb=200)), project("web")]
    result = model(projects, FACTS, front_end=dict(APACHE))
    lines = result["explanation"]
    # Shared isolation: the sizing counts 0.4 ms of Apache's and mod_wsgi's CPU per request (_sizing.OVERHEAD_MS).
    assert lines[0] == ("host: 2 CPUs (sched_getaffinity), 4096 MB (/proc/meminfo MemTotal); budget 3072 MB"
                        " = 4096 - 1024 reserved; Apache and mod_wsgi cost 0.4 ms CPU per request")
    assert lines[1].startswith("glance: ") and lines[2].startswith("nova: ")
    assert lines[3].startswith("memory: ") and lines[3].endswith(" MB of the 3072 MB budget")
    assert lines[4] == result["front_end"]["explanation"] and lines[4].startswith("front end: ")
    assert len(lines) == 5
    assert not any(line.startswith("apache:") for line in lines)
    assert sum(line.startswith("front end") for line in lines) == 1


def test_explanation_without_front_end_ends_with_memory() -> None:
    lines = model([project("glance", sizing=META)], FACTS)["explanation"]
    assert [line.split(":")[0] for line in lines] == ["host", "glance", "memory"]


def test_explanation_without_sizing_is_the_front_end_alone() -> None:
    result = model([project("web", threads=10)], FACTS, front_end=dict(APACHE))
    assert result["explanation"] == [result["front_end"]["explanation"]]
    assert result["sizing_warnings"] == []


def test_sizing_warnings_are_passed_through() -> None:
    projects = [project("glance", sizing=dict(META, peak_rps=1000)), project("nova", sizing=dict(META, rss_mb=700))]
    facts = dict(FACTS, memory_mb=2600)
    result = model(projects, facts)
    expected = size_projects(result["sizing"], host_of(facts), 1024, 0, 0.4).to_dict()["sizing_warnings"]
    assert result["sizing_warnings"] == expected
    # 1000 rps x (10 + 0.4) ms = 10.4 CPUs; the 2 CPUs serve 2000 / 10.4 = 192.31 rps.
    assert "glance: peak_rps 1000 needs 10.4 CPUs, the host has 2: sized for 192.31 rps" in expected
    assert any(w.startswith("memory: ") for w in expected)


# --- The example inventory and determinism -----------------------------------------------------

EXAMPLE = yaml.safe_load((ROOT / "inventories" / "example" / "group_vars" / "wsgi_hosts.yml").read_text(encoding="utf-8"))
EXAMPLE_FACTS = {"cpus": 2, "memory_mb": 4096, "mod_wsgi_version": "4.9.4-1+b2", "mod_wsgi_python": "3.11"}


def test_the_example_inventory_builds_sizes_glance_and_keeps_the_front_end() -> None:
    result = model(EXAMPLE["wsgi_projects"], EXAMPLE_FACTS, front_end=dict(APACHE))
    glance = group(result, "glance")
    assert glance["sized"] is True and [g["name"] for g in result["groups"] if g["sized"]] == ["glance"]
    size = size_projects(result["sizing"], Host(cpus=2, memory_mb=4096), 1024,
                         result["unsized_capacity"]).to_dict()["projects"]["glance"]
    assert (glance["processes"], glance["threads"]) == (size["processes"], size["threads"]) == (2, 2)
    front = result["front_end"]
    assert {k: front[k] for k in APACHE} == APACHE and front["raised"] is False
    # shop's 4 threads joined the 138 of the other groups.
    assert front["daemon_capacity"] == sum(g["capacity"] for g in result["groups"]) == 142
    assert result["host"] == {"cpus": 2, "memory_mb": 4096, "cpus_from": None, "memory_from": None,
                              "mod_wsgi_version": "4.9.4-1+b2", "mod_wsgi_python": "3.11"}
    assert [line.split(":")[0] for line in result["explanation"]] == ["host", "glance", "memory", "front end"]
    json.dumps(result)  # what the module hands to exit_json


def test_the_example_inventory_promises_what_its_comments_say() -> None:
    result = model(EXAMPLE["wsgi_projects"], EXAMPLE_FACTS, front_end=dict(APACHE))
    promised = {p["name"]: (p["promised"]["multithread"], p["promised"]["multiprocess"], p["promised"]["mode"])
                for p in result["projects"]}
    assert promised["project1"] == promised["project2"] == (False, True, "prefork")
    assert promised["site1"] == (True, False, "winnt")
    assert promised["site2"] == (True, True, "winnt")
    assert promised["keystone"] == (True, True, "worker")
    assert promised["nova-api"] == (False, True, "prefork")
    assert promised["catalog"] == promised["shop"] == (True, False, "winnt")


@pytest.mark.parametrize("front_end", [None, APACHE], ids=["no front end", "front end"])
def test_the_model_does_not_depend_on_the_project_order(front_end: Optional[dict[str, int]]) -> None:
    projects = EXAMPLE["wsgi_projects"] + shared(dict(META, rss_mb=50), port=7001) + [
        project("heavy", port=7002, sizing=dict(META, rss_mb=900, weight=3))]
    facts = dict(EXAMPLE_FACTS, memory_mb=3000)
    first = model(projects, facts, front_end=front_end)
    assert first["sizing_warnings"], "memory is meant to be tight, so that the order could matter"
    for order in (projects[::-1], projects[3:] + projects[:3], sorted(projects, key=lambda p: p["name"][::-1])):
        assert model(order, facts, front_end=front_end) == first
    assert json.dumps(first, sort_keys=True) == json.dumps(model(projects, facts, front_end=front_end), sort_keys=True)


# --- Isolation instance: each group's resource control, and the overhead per request -------------

RESOURCE_PROJECTS = [project("glance", sizing=dict(META, weight=2)),
                     project("nova", sizing=dict(META, rss_mb=160, weight=0.5)), project("web")]


def resources_of(result: dict[str, Any]) -> dict[str, Any]:
    return {g["name"]: g["instance"]["resources"] for g in result["groups"]}


def sized_rps(result: dict[str, Any], name: str) -> float:
    """The rps the sizing's explanation line of group ``name`` gives."""
    (line,) = [line for line in result["explanation"] if line.startswith(name + ": ")]
    found = re.search(r", ([0-9.]+) rps \(", line)
    assert found, line
    return float(found.group(1))


def test_each_instance_gets_the_resources_of_its_groups_sizing() -> None:
    result = model(RESOURCE_PROJECTS, FACTS, isolation="instance", front_end=dict(APACHE))
    # Sized with 0.7 ms of overhead (isolation instance) on 2 CPUs, weights 2 and 0.5 (total 2.5); a request
    # keeps its thread for wait + cpu x 2.5 / weight (its CPU at its share of each CPU when all are busy):
    # glance: share 1.6 CPUs, 1600 / 10.7 = 149.53 rps x (40 + 10 x 2.5/2 = 52.5 ms) = 7.85 busy, x1.5 -> 12;
    #   threads ceil(50/10) = 5; processes min(cap 2 CPUs / 1 CPU, max(ceil(12/5) = 3, ceil(1.5 x 1.5) = 3)) = 2;
    #   capacity 10.
    # nova: share 0.4 CPUs, 400 / 10.7 = 37.38 rps x (40 + 10 x 2.5/0.5 = 90 ms) = 3.36 busy, x1.5 = 5.05 -> 6;
    #   5 threads; processes max(ceil(6/5) = 2, ceil(0.37 x 1.5) = 1) = 2, cap 2; capacity 10.
    # web: unsized, 15 threads, 1 process.
    numbers = {g["name"]: (g["processes"], g["threads"], g["capacity"]) for g in result["groups"]}
    assert numbers == {"glance": (2, 5, 10), "nova": (2, 5, 10), "web": (None, 15, 15)}
    # Each instance's event MPM: capacity + 25 threads of headroom, 2 children of 25, ServerLimit 4.
    assert all(g["instance"]["mpm"]["server_limit"] == 4 for g in result["groups"])
    got = resources_of(result)
    # glance: CPUWeight 100 x 2 = 200; 2 x 100 MB = 200 MB: MemoryHigh 250 + 64 = 314, MemoryMax 300 + 64 = 364;
    #   TasksMax 2 x (2 x (5 + 3) + 4 x (25 + 2) + 3) = 2 x 127 = 254.
    # nova: CPUWeight 100 x 0.5 = 50; 2 x 160 MB = 320 MB: MemoryHigh 400 + 64 = 464, MemoryMax 480 + 64 = 544;
    #   TasksMax 2 x (2 x (5 + 3) + 4 x 27 + 3) = 2 x 127 = 254.
    # web, no sizing: CPUWeight 100 (weight 1), no memory limit; TasksMax 2 x (1 x (15 + 3) + 4 x 27 + 3) = 258.
    # CPUQuota: 95% x 2 CPUs x weight / 3.5, the weights of all three groups (web's 1 too):
    #   glance 380 / 3.5 = 108.57 -> 109, nova 95 / 3.5 = 27.14 -> 28, web 190 / 3.5 = 54.29 -> 55.
    figures = {name: (r["slice"], r["cpu_weight"], r["cpu_quota_percent"], r["memory_high_mb"], r["memory_max_mb"],
                      r["tasks_max"]) for name, r in got.items()}
    assert figures == {"glance": ("wsgi.slice", 200, 109, 314, 364, 254),
                       "nova": ("wsgi.slice", 50, 28, 464, 544, 254),
                       "web": ("wsgi.slice", 100, 55, None, None, 258)}
    lines = result["explanation"]
    assert [line.split(":")[0].split(" (")[0] for line in lines] == [
        "host", "glance", "nova", "memory", "resources of group glance", "resources of group nova",
        "resources of group web", "front end"]
    assert lines[4:7] == [got[name]["explanation"] for name in ("glance", "nova", "web")]
    assert lines[4] == ("resources of group glance (wsgi.slice): CPUWeight 200 = 100 x weight 2;"
                        " CPUQuota 109% = 95% x 2 CPUs x weight 2 / 3.5 of the host's groups;"
                        " MemoryHigh 314M = 2 x 100 MB x 125% + 64 MB of Apache;"
                        " MemoryMax 364M = 2 x 100 MB x 150% + 64 MB of Apache;"
                        " TasksMax 254 = 2 x (2 x (5 + 3) + 4 x (25 + 2) + 3)")
    assert lines[6] == ("resources of group web (wsgi.slice): CPUWeight 100 = 100 x weight 1;"
                        " CPUQuota 55% = 95% x 2 CPUs x weight 1 / 3.5 of the host's groups;"
                        " no memory limit (no sizing.rss_mb); TasksMax 258 = 2 x (1 x (15 + 3) + 4 x (25 + 2) + 3)")
    assert lines[-1] == result["front_end"]["explanation"]
    json.dumps(result)


def test_resources_without_host_facts_come_from_the_metadata_and_the_projects_numbers() -> None:
    """Nothing sized: the groups keep what their projects set, the weight and rss still come from sizing."""
    projects = [project("glance", processes=3, threads=4, sizing=dict(META, rss_mb=120, weight=1.5)), project("web")]
    result = model(projects, None, isolation="instance")
    got = resources_of(result)
    # glance: CPUWeight 150; 3 x 120 = 360 MB: 450 + 64 = 514, 540 + 64 = 604; capacity 12 -> 2 children, ServerLimit 4:
    #   TasksMax 2 x (3 x (4 + 3) + 4 x 27 + 3) = 2 x 132 = 264.
    assert (got["glance"]["cpu_weight"], got["glance"]["memory_high_mb"], got["glance"]["memory_max_mb"],
            got["glance"]["tasks_max"]) == (150, 514, 604, 264)
    assert (got["web"]["cpu_weight"], got["web"]["memory_high_mb"], got["web"]["memory_max_mb"]) == (100, None, None)
    # No sizing lines without facts: the resources' lines alone.
    assert result["explanation"] == [got["glance"]["explanation"], got["web"]["explanation"]]


def test_a_shared_group_takes_the_resources_of_the_metadata_it_is_sized_by() -> None:
    result = model(shared(dict(META, rss_mb=50, weight=3)), FACTS, isolation="instance")
    (portal,) = result["groups"]
    resources = portal["instance"]["resources"]
    assert resources["cpu_weight"] == 300
    processes = portal["processes"] or 1
    # processes x 50 MB x 125% (150%), rounded up, + 64 MB.
    assert resources["memory_high_mb"] == -(-processes * 50 * 125 // 100) + 64
    assert resources["memory_max_mb"] == -(-processes * 50 * 150 // 100) + 64
    assert sum(line.startswith("resources of group ") for line in result["explanation"]) == 1
    assert "resources of group portal (wsgi.slice): CPUWeight 300 = 100 x weight 3;" in result["explanation"][-1]


def test_the_resource_settings_reach_every_group() -> None:
    settings = {"cpu_quota_percent": 50, "memory_high_percent": 110, "memory_max_percent": 200, "instance_mb": 0,
                "slice": "apps-wsgi.slice"}
    got = resources_of(model(RESOURCE_PROJECTS, FACTS, isolation="instance", resources=settings))
    # glance 2 x 100 MB: 220 and 400; nova 2 x 160 MB: 352 and 640; no Apache MB on top.
    # CPUQuota 50% x 2 CPUs x weight / 3.5: glance 200 / 3.5 = 57.14 -> 58, nova 50 / 3.5 = 14.29 -> 15,
    # web 100 / 3.5 = 28.57 -> 29.
    assert {name: (r["slice"], r["cpu_quota_percent"], r["memory_high_mb"], r["memory_max_mb"])
            for name, r in got.items()} == {
        "glance": ("apps-wsgi.slice", 58, 220, 400), "nova": ("apps-wsgi.slice", 15, 352, 640),
        "web": ("apps-wsgi.slice", 29, None, None)}


def test_shared_isolation_has_no_resources() -> None:
    result = model(RESOURCE_PROJECTS, FACTS, front_end=dict(APACHE))
    assert result["isolation"] == "shared"
    assert all("instance" not in g for g in result["groups"])
    assert not any(line.startswith("resources of group") for line in result["explanation"])
    assert [line.split(":")[0] for line in result["explanation"]] == ["host", "glance", "nova", "memory", "front end"]


def test_resource_control_can_be_turned_off() -> None:
    for resources in ({"enabled": False}, {"enabled": False, "slice": "other.slice"}):
        result = model(RESOURCE_PROJECTS, FACTS, isolation="instance", resources=resources, front_end=dict(APACHE))
        assert resources_of(result) == {"glance": None, "nova": None, "web": None}
        assert not any(line.startswith("resources of group") for line in result["explanation"])
        assert [line.split(":")[0] for line in result["explanation"]] == ["host", "glance", "nova", "memory",
                                                                          "front end"]


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"memory_max_percent": 90},
         "wsgi_resource_memory_max_percent: must be a whole number from 100 to 1000, got 90"),
        ({"memory_high_percent": 200, "memory_max_percent": 150},
         "wsgi_resource_memory_max_percent: must be at least wsgi_resource_memory_high_percent (200), got 150"),
        ({"slice": "a b.slice"},
         "wsgi_resource_slice: must be a systemd slice name such as wsgi.slice, got 'a b.slice'"),
        ({"enabled": "yes"}, "wsgi_resource_enabled: must be true or false, got 'yes'"),
        ({"instance_mb": True}, "wsgi_resource_instance_mb: must be a whole number from 0 to 1048576, got True"),
    ],
)
def test_a_bad_resource_setting_is_refused_naming_the_role_variable(resources: dict[str, Any], message: str) -> None:
    assert refused(RESOURCE_PROJECTS, FACTS, isolation="instance", resources=resources) == message


QUOTA_PROJECTS = RESOURCE_PROJECTS + [project("keystone", sizing=META)]


def quotas_of(result: dict[str, Any]) -> dict[str, Any]:
    return {name: r["cpu_quota_percent"] for name, r in resources_of(result).items()}


def quota_part(result: dict[str, Any], name: str) -> str:
    """The part of group ``name``'s resources line right after its CPUWeight."""
    (line,) = [line for line in result["explanation"] if line.startswith("resources of group %s " % name)]
    return line.split("; ")[1]


def test_each_groups_quota_follows_the_weights_of_all_the_hosts_groups() -> None:
    """Sized or not, with a weight or not (1): every group's weight counts in every group's quota."""
    result = model(QUOTA_PROJECTS, dict(FACTS, cpus=4), isolation="instance", front_end=dict(APACHE))
    # Weights: glance 2, nova 0.5, keystone 1 (sizing without a weight), web 1 (no sizing): 4.5 together.
    # 95% x 4 CPUs = 380: glance 380 x 2 / 4.5 = 168.89 -> 169, nova 380 x 0.5 / 4.5 = 42.22 -> 43,
    # keystone and web 380 / 4.5 = 84.44 -> 85; 382 together, within 380 + 4 groups.
    assert quotas_of(result) == {"glance": 169, "keystone": 85, "nova": 43, "web": 85}
    assert quota_part(result, "glance") == "CPUQuota 169% = 95% x 4 CPUs x weight 2 / 4.5 of the host's groups"
    assert quota_part(result, "nova") == "CPUQuota 43% = 95% x 4 CPUs x weight 0.5 / 4.5 of the host's groups"
    assert quota_part(result, "keystone") == "CPUQuota 85% = 95% x 4 CPUs x weight 1 / 4.5 of the host's groups"
    assert quota_part(result, "web") == "CPUQuota 85% = 95% x 4 CPUs x weight 1 / 4.5 of the host's groups"
    # The CPUWeight is still the group's own weight alone.
    assert {name: r["cpu_weight"] for name, r in resources_of(result).items()} == {
        "glance": 200, "keystone": 100, "nova": 50, "web": 100}
    json.dumps(result)


def test_a_group_alone_gets_the_percent_of_every_cpu() -> None:
    result = model(shared(dict(META, rss_mb=50, weight=3)), FACTS, isolation="instance")
    # portal alone: 95% x 2 CPUs x 3 / 3 = 190.
    assert quotas_of(result) == {"portal": 190}
    assert quota_part(result, "portal") == "CPUQuota 190% = 95% x 2 CPUs x weight 3 / 3 of the host's groups"


@pytest.mark.parametrize(("percent", "expected"), [(10, {"glance": 12, "nova": 3, "web": 6}),
                                                   (100, {"glance": 115, "nova": 29, "web": 58}),
                                                   (1000, {"glance": 1143, "nova": 286, "web": 572})])
def test_the_quota_percent_reaches_every_group(percent: int, expected: dict[str, int]) -> None:
    result = model(RESOURCE_PROJECTS, FACTS, isolation="instance", resources={"cpu_quota_percent": percent})
    # percent x 2 CPUs x weight / 3.5: 10 -> 11.43, 2.86, 5.71; 100 -> 114.29, 28.57, 57.14;
    # 1000 -> 1142.86, 285.71, 571.43; each rounded up.
    assert quotas_of(result) == expected


@pytest.mark.parametrize("facts", [FACTS, None], ids=["host facts", "no host facts"])
def test_no_quota_with_a_quota_percent_of_0(facts: Optional[dict[str, Any]]) -> None:
    result = model(RESOURCE_PROJECTS, facts, isolation="instance", resources={"cpu_quota_percent": 0})
    assert quotas_of(result) == {"glance": None, "nova": None, "web": None}
    for name in ("glance", "nova", "web"):
        assert quota_part(result, name) == "no CPUQuota (wsgi_resource_cpu_quota_percent is 0)"
    # The rest of the resources as with a quota.
    weights = {name: r["cpu_weight"] for name, r in resources_of(result).items()}
    assert weights == {"glance": 200, "nova": 50, "web": 100}


@pytest.mark.parametrize("resources", [None, {"cpu_quota_percent": 110}])
def test_no_quota_without_host_facts(resources: Optional[dict[str, Any]]) -> None:
    """The host's CPUs unknown: no quota, and the explanation says why."""
    for facts in (None, {}, {"mod_wsgi_version": "4.9.4"}):
        result = model(QUOTA_PROJECTS, facts, isolation="instance", resources=resources)
        assert quotas_of(result) == {"glance": None, "keystone": None, "nova": None, "web": None}
        for name in ("glance", "keystone", "nova", "web"):
            assert quota_part(result, name) == "no CPUQuota (the host's CPUs are not known)"


@pytest.mark.parametrize("resources", [None, {"cpu_quota_percent": 110}, {"cpu_quota_percent": 0}])
def test_shared_isolation_has_no_quota(resources: Optional[dict[str, Any]]) -> None:
    result = model(QUOTA_PROJECTS, FACTS, resources=resources)
    assert result["isolation"] == "shared"
    assert all("instance" not in g for g in result["groups"])
    assert not any("CPUQuota" in line for line in result["explanation"])


def test_no_quota_with_resource_control_off() -> None:
    result = model(QUOTA_PROJECTS, FACTS, isolation="instance", resources={"enabled": False, "cpu_quota_percent": 50})
    assert resources_of(result) == {"glance": None, "keystone": None, "nova": None, "web": None}
    assert not any("CPUQuota" in line for line in result["explanation"])


@pytest.mark.parametrize("facts", [FACTS, None], ids=["host facts", "no host facts"])
@pytest.mark.parametrize("value", [9, 1001, True, 1.5, "95"])
def test_a_bad_quota_percent_is_refused_naming_the_role_variable(value: Any, facts: Optional[dict[str, Any]]) -> None:
    message = refused(RESOURCE_PROJECTS, facts, isolation="instance", resources={"cpu_quota_percent": value})
    assert message == ("wsgi_resource_cpu_quota_percent: must be a whole number from 10 to 1000 (or 0: no quota),"
                       " got %r" % (value,))


@settings(deadline=None, max_examples=60)
@given(st.lists(st.one_of(st.none(), st.sampled_from([0.5, 1, 2, 3]), st.floats(0.1, 10)), min_size=1, max_size=5),
       st.integers(1, 32), st.sampled_from([10, 95, 100, 250]))
def test_the_quotas_of_a_host_add_up_to_its_percent_of_the_cpus(weights: list[Optional[float]], cpus: int,
                                                                percent: int) -> None:
    projects = [project("p%d" % i, port=8000 + i,
                        sizing=dict(META, rss_mb=10, **({} if weight is None else {"weight": weight})))
                for i, weight in enumerate(weights)]
    result = model(projects, dict(FACTS, cpus=cpus, memory_mb=65536), isolation="instance",
                   resources={"cpu_quota_percent": percent})
    quotas = quotas_of(result)
    assert sum(quotas.values()) <= percent * cpus + len(weights)
    given_weights = [1 if weight is None else weight for weight in weights]
    for i, weight in enumerate(given_weights):
        share = percent * cpus * weight / sum(given_weights)
        assert share - 1e-6 <= quotas["p%d" % i] < share + 1 + 1e-6


def test_the_overhead_per_request_defaults_to_the_isolations() -> None:
    """The same project on 2 CPUs: behind the front end (instance, 0.7 ms) it is sized for fewer requests."""
    projects = [project("glance", sizing=META)]
    shared_result = model(projects, FACTS)
    instance_result = model(projects, FACTS, isolation="instance")
    # Shared: 2 CPUs x 1000 / (10 + 0.4) ms = 192.31 rps; instance: 2000 / 10.7 = 186.92 rps.
    assert (sized_rps(shared_result, "glance"), sized_rps(instance_result, "glance")) == (192.31, 186.92)
    assert sized_rps(instance_result, "glance") < sized_rps(shared_result, "glance")
    assert shared_result["explanation"][0].endswith("; Apache and mod_wsgi cost 0.4 ms CPU per request")
    assert instance_result["explanation"][0].endswith("; Apache and mod_wsgi cost 0.7 ms CPU per request")
    assert "glance: CPU 20% (10 of 50 ms), 10 + 0.7 ms CPU per request, 186.92 rps (share 2 of 2 CPUs)" in (
        instance_result["explanation"][1])
    for result, overhead in ((shared_result, 0.4), (instance_result, 0.7)):
        size = size_projects(result["sizing"], host_of(FACTS), 1024, result["unsized_capacity"], overhead).to_dict()
        assert round(size["projects"]["glance"]["model"]["rps"], 2) == sized_rps(result, "glance")
        assert (group(result, "glance")["processes"], group(result, "glance")["threads"]) == (
            size["projects"]["glance"]["processes"] if size["projects"]["glance"]["processes_explicit"] else None,
            size["projects"]["glance"]["threads"])


@pytest.mark.parametrize(
    ("isolation", "overhead", "rps"),
    [
        ("instance", 0.4, 192.31),  # 2000 / 10.4
        ("shared", 0.7, 186.92),  # 2000 / 10.7
        ("instance", 0, 200),  # 2000 / 10
        ("shared", 0.0, 200),
        ("shared", 10, 100),  # 2000 / 20
    ],
)
def test_an_explicit_overhead_wins_over_the_isolations(isolation: str, overhead: float, rps: float) -> None:
    result = model([project("glance", sizing=META)], FACTS, isolation=isolation, overhead_ms=overhead)
    assert sized_rps(result, "glance") == rps
    assert result["explanation"][0].endswith("; Apache and mod_wsgi cost %s ms CPU per request" % ("%g" % overhead))
    assert ("ms CPU per request, " in result["explanation"][1]) is (overhead > 0)


@pytest.mark.parametrize("facts", [FACTS, {}], ids=["sized", "no host facts"])
@pytest.mark.parametrize("overhead", [-1, 101, True, "0.4", float("nan")])
def test_a_bad_overhead_is_refused_naming_the_role_variable(overhead: Any, facts: dict[str, Any]) -> None:
    """Checked whether or not anything is sized: the role's variable is named."""
    message = refused([project("glance", sizing=META)], facts, overhead_ms=overhead)
    assert message == "wsgi_sizing_overhead_ms: must be a number of ms from 0 to 100, got %r" % (overhead,)


def test_the_resources_line_in_docs_is_the_models() -> None:
    """docs/sizing.md quotes the explanation of the example inventory's glance on 2 CPUs, isolation instance."""
    glance = project("glance", sizing={"cpu_ms": 40, "wait_ms": 40, "rss_mb": 60, "peak_rps": 50, "weight": 2})
    plan = build_model([glance], {"cpus": 2, "memory_mb": 4096}, isolation="instance")
    (line,) = [line for line in plan["explanation"] if line.startswith("resources of group glance")]
    docs = (ROOT / "docs" / "sizing.md").read_text(encoding="utf-8")
    assert "    " + line + "\n" in docs

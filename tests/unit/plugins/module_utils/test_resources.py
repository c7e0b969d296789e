# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests of the systemd resource control of each group's instance (plugins/module_utils/_resources.py)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.modwsgi.fleet.plugins.module_utils._resources import (
    CPU_QUOTA_RANGE,
    DEFAULTS,
    SETTING_NAMES,
    ResourceError,
    ResourceSettings,
    check_settings,
    cpu_quota,
    cpu_weight,
    group_resources,
    instance_tasks,
)

DEFAULT_SETTINGS = ResourceSettings(enabled=True, cpu_quota_percent=95, memory_high_percent=125,
                                    memory_max_percent=150, instance_mb=64, slice="wsgi.slice")
PROPERTY = settings(deadline=None, max_examples=200)
MPM = {"server_limit": 4, "threads_per_child": 25, "max_request_workers": 50}


def refused(raw: Any) -> str:
    with pytest.raises(ResourceError) as info:
        check_settings(raw)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- Settings ------------------------------------------------------------------------------


def test_the_role_variables_are_named_after_the_settings() -> None:
    assert SETTING_NAMES == {"enabled": "wsgi_resource_enabled",
                             "cpu_quota_percent": "wsgi_resource_cpu_quota_percent",
                             "memory_high_percent": "wsgi_resource_memory_high_percent",
                             "memory_max_percent": "wsgi_resource_memory_max_percent",
                             "instance_mb": "wsgi_resource_instance_mb", "slice": "wsgi_resource_slice"}
    assert DEFAULTS == {"enabled": True, "cpu_quota_percent": 95, "memory_high_percent": 125,
                        "memory_max_percent": 150, "instance_mb": 64, "slice": "wsgi.slice"}
    assert CPU_QUOTA_RANGE == (10, 1000)


@pytest.mark.parametrize("raw", [None, {}, {key: None for key in DEFAULTS}, dict(DEFAULTS)])
def test_defaults_fill_what_is_not_given(raw: Any) -> None:
    assert check_settings(raw) == DEFAULT_SETTINGS


def test_given_settings_are_kept() -> None:
    raw = {"enabled": False, "cpu_quota_percent": 0, "memory_high_percent": 100, "memory_max_percent": 1000,
           "instance_mb": 0, "slice": "apps-wsgi.slice"}
    assert check_settings(raw) == ResourceSettings(enabled=False, cpu_quota_percent=0, memory_high_percent=100,
                                                   memory_max_percent=1000, instance_mb=0, slice="apps-wsgi.slice")
    # Some given, the others their defaults; the input is not changed. cpu_quota_percent is the second field.
    some = {"memory_high_percent": 150, "slice": None}
    assert check_settings(some) == ResourceSettings(True, 95, 150, 150, 64, "wsgi.slice")
    assert some == {"memory_high_percent": 150, "slice": None}


def test_memory_max_equal_to_memory_high_is_fine() -> None:
    assert check_settings({"memory_high_percent": 300, "memory_max_percent": 300}).memory_max_percent == 300


def test_an_unknown_setting_is_refused_listing_the_known_ones() -> None:
    assert refused({"cpu_quota": 50, "zzz": 1}) == (
        "resources: unknown setting 'cpu_quota'; known: cpu_quota_percent, enabled, instance_mb, "
        "memory_high_percent, memory_max_percent, slice")


@pytest.mark.parametrize("value", ["yes", "true", "False", 1, 0, 1.0, [True]])
def test_enabled_must_be_a_boolean(value: Any) -> None:
    assert refused({"enabled": value}) == "wsgi_resource_enabled: must be true or false, got %r" % (value,)


@pytest.mark.parametrize("key, low, high", [("memory_high_percent", 100, 1000), ("memory_max_percent", 100, 1000),
                                            ("instance_mb", 0, 1 << 20)])
@pytest.mark.parametrize("offset", [-1, 1])
def test_whole_numbers_outside_their_range_are_refused(key: str, low: int, high: int, offset: int) -> None:
    value = low - 1 if offset < 0 else high + 1
    raw = {key: value}
    if key == "memory_high_percent" and value > 1000:
        raw["memory_max_percent"] = 1000  # the range is what is refused, not the order
    assert refused(raw) == ("wsgi_resource_%s: must be a whole number from %d to %d, got %r"
                            % (key, low, high, value))


@pytest.mark.parametrize("key", ["memory_high_percent", "memory_max_percent", "instance_mb"])
@pytest.mark.parametrize("value", [True, False, 125.0, 125.5, "125", [125]])
def test_whole_numbers_refuse_booleans_floats_and_text(key: str, value: Any) -> None:
    message = refused({key: value})
    assert message.startswith("%s: must be a whole number from " % SETTING_NAMES[key])
    assert message.endswith(", got %r" % (value,))


@pytest.mark.parametrize("key, low, high", [("memory_high_percent", 100, 1000), ("memory_max_percent", 150, 1000),
                                            ("instance_mb", 0, 1 << 20)])
def test_whole_numbers_at_their_bounds_are_accepted(key: str, low: int, high: int) -> None:
    for value in (low, high):
        raw = {key: value}
        if key == "memory_high_percent":
            raw["memory_max_percent"] = 1000
        assert getattr(check_settings(raw), key) == value


@pytest.mark.parametrize("high, most", [(200, 150), (126, 125), (1000, 999)])
def test_memory_max_below_memory_high_is_refused(high: int, most: int) -> None:
    assert refused({"memory_high_percent": high, "memory_max_percent": most}) == (
        "wsgi_resource_memory_max_percent: must be at least wsgi_resource_memory_high_percent (%d), got %d"
        % (high, most))


def test_the_default_max_is_below_a_high_above_it() -> None:
    """memory_high_percent 200 alone: the default memory_max_percent 150 is below it."""
    assert refused({"memory_high_percent": 200}).startswith("wsgi_resource_memory_max_percent: must be at least ")


@pytest.mark.parametrize("name", ["foo", ".slice", "-a.slice", "-.slice", "a--b.slice", "a-.slice", "a b.slice", "wsgi.slice ", "wsgi.Slice",
                                  "a/b.slice", "wsgi@.slice", "wsgi.service", "", "x" * 250 + ".slice", 7,
                                  b"wsgi.slice", ["wsgi.slice"], True])
def test_bad_slice_names_are_refused(name: Any) -> None:
    assert refused({"slice": name}) == ("wsgi_resource_slice: must be a systemd slice name such as wsgi.slice, got %r"
                                        % (name,))


@pytest.mark.parametrize("name", ["wsgi.slice", "a.slice", "system-wsgi.slice", "my_apps-wsgi.slice",
                                  "x" * 249 + ".slice", "A1.slice"])
def test_good_slice_names_are_accepted(name: str) -> None:
    assert check_settings({"slice": name}).slice == name


def test_the_first_error_in_a_fixed_order_is_named() -> None:
    """Unknown keys first, then enabled, the percents, the slice and instance_mb."""
    bad = {"enabled": "x", "memory_high_percent": 1, "memory_max_percent": 1, "instance_mb": -1, "slice": "x"}
    assert refused(dict(bad, other=1)).startswith("resources: unknown setting 'other'")
    assert refused(bad).startswith("wsgi_resource_enabled: ")
    assert refused(dict(bad, enabled=True)).startswith("wsgi_resource_memory_high_percent: ")
    assert refused(dict(bad, enabled=True, memory_high_percent=100)).startswith("wsgi_resource_memory_max_percent: ")
    assert refused(dict(bad, enabled=True, memory_high_percent=100, memory_max_percent=100)).startswith(
        "wsgi_resource_slice: ")
    assert refused(dict(bad, enabled=True, memory_high_percent=100, memory_max_percent=100,
                        slice="a.slice")).startswith("wsgi_resource_instance_mb: ")


# --- cpu_quota_percent ------------------------------------------------------------------------

QUOTA_RULE = "wsgi_resource_cpu_quota_percent: must be a whole number from 10 to 1000 (or 0: no quota), got %r"


@pytest.mark.parametrize("value", [0, 10, 11, 95, 100, 999, 1000])
def test_the_cpu_quota_percent_is_0_or_from_10_to_1000(value: int) -> None:
    got = check_settings({"cpu_quota_percent": value})
    assert got.cpu_quota_percent == value
    assert isinstance(got.cpu_quota_percent, int) and not isinstance(got.cpu_quota_percent, bool)
    assert got == ResourceSettings(True, value, 125, 150, 64, "wsgi.slice")


def test_the_cpu_quota_percent_not_given_is_95() -> None:
    for raw in (None, {}, {"cpu_quota_percent": None}):
        assert check_settings(raw).cpu_quota_percent == 95


@pytest.mark.parametrize("value", [9, 1, -1, -95, 1001, 10000, True, False, 1.5, 95.0, 0.0, "95", "0", [95], {}])
def test_a_bad_cpu_quota_percent_is_refused_naming_the_role_variable(value: Any) -> None:
    """Below 10 (but 0), above 1000, booleans (False is not 0), floats (0.0 too) and text."""
    assert refused({"cpu_quota_percent": value}) == QUOTA_RULE % (value,)


def test_the_cpu_quota_percent_is_checked_after_enabled_and_before_the_memory_percents() -> None:
    bad = {"enabled": "x", "cpu_quota_percent": 5, "memory_high_percent": 1}
    assert refused(bad).startswith("wsgi_resource_enabled: ")
    assert refused(dict(bad, enabled=True)) == QUOTA_RULE % 5
    assert refused(dict(bad, enabled=True, cpu_quota_percent=0)).startswith("wsgi_resource_memory_high_percent: ")


# --- CPUWeight and tasks --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weight", "expected"),
    [
        (1, 100),  # systemd's default
        (1.0, 100),
        (2, 200),
        (0.5, 50),
        (1.5, 150),
        (0.25, 25),
        (0.013, 1),  # 1.3 -> 1
        (0.017, 2),  # 1.7 -> 2
        (0.001, 1),  # 0.1 -> 0, raised to systemd's least, 1
        (0.004, 1),
        (99.994, 9999),  # 9999.4 -> 9999
        (100, 10000),  # systemd's most
        (1000, 10000),  # 100000, lowered to 10000
        (1e9, 10000),
    ],
)
def test_cpu_weight_is_100_per_unit_of_weight_within_systemds_range(weight: float, expected: int) -> None:
    got = cpu_weight(weight)
    assert got == expected and isinstance(got, int)


@pytest.mark.parametrize(
    ("processes", "threads", "server_limit", "threads_per_child", "expected"),
    [
        # daemons x (threads + 3) + event children x (threads per child + 2) + the parent and its piped logger (3)
        (1, 1, 2, 25, 61),  # 1 x 4 + 2 x 27 + 3
        (2, 5, 4, 25, 127),  # 2 x 8 + 4 x 27 + 3
        (3, 4, 6, 25, 186),  # 3 x 7 + 6 x 27 + 3
        (8, 16, 12, 25, 479),  # 8 x 19 + 12 x 27 + 3 = 152 + 324 + 3
        (1, 1, 1, 1, 10),  # 1 x 4 + 1 x 3 + 3
    ],
)
def test_instance_tasks_count_every_process_and_thread(processes: int, threads: int, server_limit: int,
                                                       threads_per_child: int, expected: int) -> None:
    assert instance_tasks(processes, threads, server_limit, threads_per_child) == expected


# --- A group's resources ------------------------------------------------------------------------


def test_a_group_with_rss_gets_memory_limits_from_its_processes() -> None:
    mpm = {"server_limit": 6, "threads_per_child": 25, "max_request_workers": 75}
    got = group_resources("glance", 3, 4, 120, 2, mpm, DEFAULT_SETTINGS)
    # CPUWeight 100 x 2 = 200. No CPUs given: no CPUQuota.
    # 3 processes x 120 MB = 360 MB: MemoryHigh 360 x 125% = 450 + 64 = 514 MB, MemoryMax 360 x 150% = 540 + 64 = 604.
    # TasksMax 2 x (3 x (4 + 3) + 6 x (25 + 2) + 3) = 2 x (21 + 162 + 3) = 2 x 186 = 372.
    assert got == {
        "slice": "wsgi.slice",
        "cpu_weight": 200,
        "cpu_quota_percent": None,
        "memory_high_mb": 514,
        "memory_max_mb": 604,
        "tasks_max": 372,
        "explanation": "resources of group glance (wsgi.slice): CPUWeight 200 = 100 x weight 2;"
                       " no CPUQuota (the host's CPUs are not known);"
                       " MemoryHigh 514M = 3 x 120 MB x 125% + 64 MB of Apache;"
                       " MemoryMax 604M = 3 x 120 MB x 150% + 64 MB of Apache;"
                       " TasksMax 372 = 2 x (3 x (4 + 3) + 6 x (25 + 2) + 3)",
    }


def test_memory_limits_are_rounded_up_to_whole_megabytes() -> None:
    settings = ResourceSettings(enabled=True, cpu_quota_percent=95, memory_high_percent=110, memory_max_percent=333,
                                instance_mb=0, slice="apps-wsgi.slice")
    got = group_resources("nova", 1, 1, 101, 0.5, MPM, settings)
    # 1 x 101 MB: MemoryHigh 101 x 110% = 111.1 -> 112 MB, MemoryMax 101 x 333% = 336.33 -> 337 MB; no Apache MB.
    # CPUWeight 100 x 0.5 = 50; TasksMax 2 x (1 x (1 + 3) + 4 x (25 + 2) + 3) = 2 x 115 = 230.
    assert (got["cpu_weight"], got["memory_high_mb"], got["memory_max_mb"], got["tasks_max"]) == (50, 112, 337, 230)
    assert got["slice"] == "apps-wsgi.slice"
    assert got["explanation"] == (
        "resources of group nova (apps-wsgi.slice): CPUWeight 50 = 100 x weight 0.5;"
        " no CPUQuota (the host's CPUs are not known);"
        " MemoryHigh 112M = 1 x 101 MB x 110% + 0 MB of Apache; MemoryMax 337M = 1 x 101 MB x 333% + 0 MB of Apache;"
        " TasksMax 230 = 2 x (1 x (1 + 3) + 4 x (25 + 2) + 3)")


def test_a_group_without_rss_gets_no_memory_limit() -> None:
    got = group_resources("web", 2, 8, None, 1.0, MPM, DEFAULT_SETTINGS)
    # CPUWeight 100; TasksMax 2 x (2 x (8 + 3) + 4 x (25 + 2) + 3) = 2 x (22 + 108 + 3) = 2 x 133 = 266.
    assert got == {
        "slice": "wsgi.slice",
        "cpu_weight": 100,
        "cpu_quota_percent": None,
        "memory_high_mb": None,
        "memory_max_mb": None,
        "tasks_max": 266,
        "explanation": "resources of group web (wsgi.slice): CPUWeight 100 = 100 x weight 1;"
                       " no CPUQuota (the host's CPUs are not known); no memory limit (no sizing.rss_mb);"
                       " TasksMax 266 = 2 x (2 x (8 + 3) + 4 x (25 + 2) + 3)",
    }


@pytest.mark.parametrize("rss_mb", [None, 1, 77, 4096])
@pytest.mark.parametrize("processes, threads, weight", [(1, 1, 1.0), (4, 15, 0.25), (16, 2, 3.0)])
def test_the_explanation_holds_every_value(rss_mb: Any, processes: int, threads: int, weight: float) -> None:
    settings = check_settings({"memory_high_percent": 120, "memory_max_percent": 175, "instance_mb": 48,
                               "slice": "site-apps.slice"})
    got = group_resources("portal", processes, threads, rss_mb, weight, MPM, settings)
    text = got["explanation"]
    assert text.startswith("resources of group portal (site-apps.slice): ")
    assert "CPUWeight %d = 100 x weight " % got["cpu_weight"] in text
    assert got["cpu_weight"] == round(100 * weight)
    assert "TasksMax %d = 2 x (%d x (%d + 3) + 4 x (25 + 2) + 3)" % (got["tasks_max"], processes, threads) in text
    assert got["tasks_max"] == 2 * instance_tasks(processes, threads, 4, 25)
    if rss_mb is None:
        assert got["memory_high_mb"] is None and got["memory_max_mb"] is None
        assert "no memory limit (no sizing.rss_mb)" in text and "Memory" not in text
    else:
        sized = processes * rss_mb
        assert got["memory_high_mb"] == -(-sized * 120 // 100) + 48
        assert got["memory_max_mb"] == -(-sized * 175 // 100) + 48
        assert got["memory_high_mb"] <= got["memory_max_mb"]
        high = "MemoryHigh %sM = %s x %s MB x 120%% + 48 MB of Apache" % (got["memory_high_mb"], processes, rss_mb)
        most = "MemoryMax %sM = %s x %s MB x 175%% + 48 MB of Apache" % (got["memory_max_mb"], processes, rss_mb)
        assert high in text and most in text
        assert "no memory limit" not in text


# --- CPUQuota ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "cpus", "weight", "total_weight", "expected"),
    [
        (95, 2, 1, 3, 64),  # 95 x 2 x 1/3 = 63.33 -> 64
        (95, 2, 2, 4, 95),  # 95 x 2 x 2/4 = 95 exactly
        (95, 2, 2, 3, 127),  # 95 x 2 x 2/3 = 126.67 -> 127
        (100, 2, 1, 2, 100),  # exactly 100: not rounded up to 101
        (100, 3, 1, 3, 100),
        (95, 2, 1, 1, 190),  # alone: 95% of each of its 2 CPUs
        (95, 2, 2.0, 3.5, 109),  # 380 / 3.5 = 108.57 -> 109
        (95, 2, 0.5, 3.5, 28),  # 95 / 3.5 = 27.14 -> 28
        (95, 4, 2, 4.5, 169),  # 760 / 4.5 = 168.89 -> 169
        # 0.3 of 0.3 + 0.6 is 1/3 of 95 x 3 = 95, but in floats 95.00000000000001: rounded at 9 decimals, 95.
        (95, 3, 0.3, 0.3 + 0.6, 95),
        (100, 2, 0.1, 0.7 + 0.1, 25),  # 25.000000000000004 in floats: 25
        (10, 1, 1, 1000, 1),  # 0.01 -> 1
        (10, 1, 1e-9, 1000, 1),  # 1e-11: 0 at 9 decimals, raised to the least, 1
        (1000, 64, 1, 1, 64000),
        (10, 1, 1, 1, 10),
    ],
)
def test_cpu_quota_is_the_percent_of_the_weight_share_of_the_cpus_rounded_up(
        percent: int, cpus: int, weight: float, total_weight: float, expected: int) -> None:
    got = cpu_quota(percent, cpus, weight, total_weight)
    assert got == expected and isinstance(got, int)


WEIGHTS = st.one_of(st.integers(1, 100).map(float), st.floats(0.01, 100), st.sampled_from([0.1, 0.2, 0.3, 0.5, 0.7]))


@PROPERTY
@given(st.lists(WEIGHTS, min_size=1, max_size=12), st.integers(*CPU_QUOTA_RANGE), st.integers(1, 256))
def test_the_quotas_of_all_groups_add_up_to_the_percent_of_the_cpus_give_or_take_rounding(
        weights: list[float], percent: int, cpus: int) -> None:
    """Each quota is its exact share rounded up (at least 1): together at most percent x CPUs + 1 per group."""
    total = sum(weights)
    quotas = [cpu_quota(percent, cpus, weight, total) for weight in weights]
    assert sum(quotas) <= percent * cpus + len(weights)
    exact_total = sum(Fraction(w) for w in weights)
    for weight, quota in zip(weights, quotas):
        exact = percent * cpus * Fraction(weight) / exact_total
        assert quota >= 1 and isinstance(quota, int)
        assert exact - Fraction(1, 10 ** 6) <= quota < exact + 1 + Fraction(1, 10 ** 6)
    # More weight, no less quota.
    ranked = sorted(zip(weights, quotas))
    assert all(a[1] <= b[1] for a, b in zip(ranked, ranked[1:]))


def test_a_group_on_a_known_host_gets_its_quota_right_after_its_cpu_weight() -> None:
    mpm = {"server_limit": 6, "threads_per_child": 25, "max_request_workers": 75}
    got = group_resources("glance", 3, 4, 120, 2, mpm, DEFAULT_SETTINGS, 2, 3)
    # CPUQuota 95% x 2 CPUs x 2/3 = 126.67 -> 127%; the rest as without a quota.
    assert got["cpu_quota_percent"] == 127
    assert got == dict(group_resources("glance", 3, 4, 120, 2, mpm, DEFAULT_SETTINGS), cpu_quota_percent=127,
                       explanation=got["explanation"])
    assert got["explanation"] == (
        "resources of group glance (wsgi.slice): CPUWeight 200 = 100 x weight 2;"
        " CPUQuota 127% = 95% x 2 CPUs x weight 2 / 3 of the host's groups;"
        " MemoryHigh 514M = 3 x 120 MB x 125% + 64 MB of Apache;"
        " MemoryMax 604M = 3 x 120 MB x 150% + 64 MB of Apache;"
        " TasksMax 372 = 2 x (3 x (4 + 3) + 6 x (25 + 2) + 3)")


def test_the_quota_explains_fractional_weights_as_written() -> None:
    settings = check_settings({"cpu_quota_percent": 110})
    got = group_resources("nova", 1, 1, None, 0.5, MPM, settings, 4, 3.5)
    # 110 x 4 x 0.5 / 3.5 = 220 / 3.5 = 62.86 -> 63.
    assert got["cpu_quota_percent"] == 63
    assert ("CPUWeight 50 = 100 x weight 0.5; CPUQuota 63% = 110% x 4 CPUs x weight 0.5 / 3.5 of the host's groups;"
            " no memory limit (no sizing.rss_mb); ") in got["explanation"]


@pytest.mark.parametrize("percent, cpus, total_weight, why", [
    *[(0, cpus, total, "wsgi_resource_cpu_quota_percent is 0")
      for cpus, total in [(2, 3), (None, 3), (2, None), (None, None)]],
    *[(None, cpus, total, "the host's CPUs are not known") for cpus, total in [(None, 3), (2, None), (None, None)]],
])
def test_no_quota_and_why(percent: Any, cpus: Any, total_weight: Any, why: str) -> None:
    """No quota with the setting at 0 (None: the default 95) or without the host's CPUs and weights."""
    settings = check_settings({"cpu_quota_percent": percent})
    got = group_resources("web", 2, 8, None, 1.0, MPM, settings, cpus, total_weight)
    assert got["cpu_quota_percent"] is None
    assert got["explanation"] == (
        "resources of group web (wsgi.slice): CPUWeight 100 = 100 x weight 1;"
        " no CPUQuota (%s);"
        " no memory limit (no sizing.rss_mb); TasksMax 266 = 2 x (2 x (8 + 3) + 4 x (25 + 2) + 3)" % why)


@pytest.mark.parametrize(
    ("cpus", "weight", "total_weight", "expected"),
    [
        (1, 1.0, 1.0, {10: 10, 95: 95, 100: 100, 1000: 1000}),  # p x 1 CPU, alone
        (2, 1.0, 3.0, {10: 7, 95: 64, 100: 67, 1000: 667}),  # p x 2/3: 6.67, 63.33, 66.67, 666.67
        (8, 0.25, 2.25, {10: 9, 95: 85, 100: 89, 1000: 889}),  # p x 8 x 1/9: 8.89, 84.44, 88.89, 888.89
        (64, 7.0, 7.5, {10: 598, 95: 5675, 100: 5974, 1000: 59734}),  # p x 59.73: 597.33, 5674.67, ...
    ],
)
def test_the_quota_of_a_group_for_each_percent(cpus: int, weight: float, total_weight: float,
                                               expected: dict[int, int]) -> None:
    for percent, quota in expected.items():
        settings = check_settings({"cpu_quota_percent": percent})
        got = group_resources("app", 1, 1, 50, weight, MPM, settings, cpus, total_weight)
        assert got["cpu_quota_percent"] == quota
        part = "CPUQuota %d%% = %d%% x %d CPUs x weight %s / %s of the host's groups" % (
            quota, percent, cpus, "%g" % weight, "%g" % total_weight)
        assert "; " + part + "; MemoryHigh " in got["explanation"]

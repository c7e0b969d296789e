# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Isolation ``instance``: the kernel's share of CPU, memory and tasks for each daemon group.

Pure logic, no Ansible imports; ``_model.build_model`` calls
:func:`group_resources` for each group once its processes, threads and
instance are known. Each group's Apache instance is a systemd unit of its
own; the role writes these values in a drop-in of that unit
(``instance_resources.conf.j2``), and the kernel enforces them (cgroup v2,
or the cpu, memory and pids controllers of cgroup v1):

* ``CPUWeight`` = 100 x the group's ``sizing.weight`` (1 when not given):
  the kernel divides the slice's CPU time between the groups' runnable tasks
  by it;
* ``CPUQuota``: ``cpu_quota_percent`` (95 by default) of the group's weight
  share of the host's CPUs. The weights alone do not hold when groups
  compete: the kernel shares CPU between runnable tasks, and how a daemon's
  threads run decides what it gets (bench/colocate measured a CPU-bound group
  of weight 2 at 98 % of the CPUs, the two others at 2 % and 1 %). The quota
  holds each group at its share; the 5 % left
  over is for the main Apache, which proxies every request, and the host's
  own services. A quota is a ceiling: CPU an idle group leaves is not given
  to the others (above 100 it partly is, and the shares drift again);
* ``MemoryHigh`` and ``MemoryMax``: the group's sized memory (processes x
  ``sizing.rss_mb``) times a headroom percent, plus what the instance's own
  Apache uses. Above MemoryHigh the kernel reclaims and slows the group
  (cgroup v2 only); at MemoryMax it kills the largest process of the unit, a
  daemon, which Apache starts again (``OOMPolicy=continue`` keeps the unit).
  A group with no ``sizing.rss_mb`` gets no memory limit;
* ``TasksMax``: twice the threads the instance runs when full (its daemons'
  request threads and mod_wsgi's own, its event MPM's workers, listeners and
  parent, its piped logger).

The values but ``CPUQuota`` are part of the instance's configuration: a
change starts the group's other instance with them, as any change does, and
no other group is touched. ``CPUQuota`` depends on every group's weight (one
group's new weight changes the others' quotas), so it goes in a drop-in of
its own, which systemd applies to the running units on ``daemon-reload``:
no group restarts for it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Optional

__metaclass__ = type  # pylint: disable=invalid-name

CPU_WEIGHT_PER_WEIGHT = 100
"""systemd's default CPUWeight, which a group of weight 1 gets."""
CPU_WEIGHT_RANGE = (1, 10000)
DAEMON_EXTRA_THREADS = 3
"""Threads of a mod_wsgi daemon process besides its request threads: main, deadlock and timeout monitors."""
MPM_CHILD_EXTRA_THREADS = 2
"""Threads of an event MPM child besides its workers: main and listener."""
INSTANCE_EXTRA_TASKS = 3
"""The instance's parent process and its piped error logger (a shell and Python)."""
TASKS_FACTOR = 2
"""TasksMax = this x the tasks of a full instance."""
CPU_QUOTA_RANGE = (10, 1000)
"""cpu_quota_percent: 0 (no quota) or a percent of the weight share in this range."""

DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "cpu_quota_percent": 95,
    "memory_high_percent": 125,
    "memory_max_percent": 150,
    "instance_mb": 64,
    "slice": "wsgi.slice",
}
"""The role's wsgi_resource_* defaults. instance_mb: an instance's Apache
(parent, event MPM children, piped logger) as bench/colocate measures it."""

SETTING_NAMES = {key: "wsgi_resource_" + key for key in DEFAULTS}
# A slice name as systemd accepts one: its dash-separated parents, no empty
# part (no leading, trailing or double dash), ".slice" at the end; not the
# root slice "-.slice".
SLICE_RE = re.compile(r"^[A-Za-z0-9_.:]+(-[A-Za-z0-9_.:]+)*\.slice$")


class ResourceError(ValueError):
    """A bad setting: the message names the role variable."""


@dataclass(frozen=True)
class ResourceSettings:
    """The role's resource settings, checked."""

    enabled: bool
    cpu_quota_percent: int
    memory_high_percent: int
    memory_max_percent: int
    instance_mb: int
    slice: str


def _whole(key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        also = " (or 0: no quota)" if key == "cpu_quota_percent" else ""
        raise ResourceError("%s: must be a whole number from %d to %d%s, got %r"
                            % (SETTING_NAMES[key], low, high, also, value))
    return value


def check_settings(raw: Optional[dict[str, Any]]) -> ResourceSettings:
    """The settings with defaults filled in; ResourceError names the role variable that is wrong."""
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise ResourceError("resources: unknown setting %r; known: %s" % (unknown[0], ", ".join(sorted(DEFAULTS))))
    values = dict(DEFAULTS, **{k: v for k, v in raw.items() if v is not None})
    if not isinstance(values["enabled"], bool):
        raise ResourceError("%s: must be true or false, got %r" % (SETTING_NAMES["enabled"], values["enabled"]))
    quota = values["cpu_quota_percent"]
    if isinstance(quota, bool) or not isinstance(quota, int) or quota != 0:
        quota = _whole("cpu_quota_percent", quota, *CPU_QUOTA_RANGE)
    high = _whole("memory_high_percent", values["memory_high_percent"], 100, 1000)
    most = _whole("memory_max_percent", values["memory_max_percent"], 100, 1000)
    if most < high:
        raise ResourceError("%s: must be at least %s (%d), got %d"
                            % (SETTING_NAMES["memory_max_percent"], SETTING_NAMES["memory_high_percent"], high, most))
    name = values["slice"]
    if not isinstance(name, str) or len(name) > 255 or not SLICE_RE.match(name):
        raise ResourceError("%s: must be a systemd slice name such as wsgi.slice, got %r"
                            % (SETTING_NAMES["slice"], name))
    return ResourceSettings(enabled=values["enabled"], cpu_quota_percent=quota, memory_high_percent=high,
                            memory_max_percent=most,
                            instance_mb=_whole("instance_mb", values["instance_mb"], 0, 1 << 20), slice=name)


def cpu_weight(weight: float) -> int:
    """systemd's CPUWeight for a sizing weight: 100 per unit of weight (halves up), within 1..10000."""
    return max(CPU_WEIGHT_RANGE[0], min(CPU_WEIGHT_RANGE[1], math.floor(CPU_WEIGHT_PER_WEIGHT * weight + 0.5)))


def cpu_quota(percent: int, cpus: int, weight: float, total_weight: float) -> int:
    """systemd's CPUQuota (percent of one CPU) at ``percent`` of the weight's share of ``cpus``, rounded up."""
    return max(1, math.ceil(round(percent * cpus * weight / total_weight, 9)))


def instance_tasks(processes: int, threads: int, server_limit: int, threads_per_child: int) -> int:
    """The tasks (processes and threads) of a full instance."""
    return (processes * (threads + DAEMON_EXTRA_THREADS) + server_limit * (threads_per_child + MPM_CHILD_EXTRA_THREADS)
            + INSTANCE_EXTRA_TASKS)


def group_resources(name: str, processes: int, threads: int, rss_mb: Optional[int], weight: float,
                    mpm: dict[str, int], settings: ResourceSettings,
                    cpus: Optional[int] = None, total_weight: Optional[float] = None) -> dict[str, Any]:
    """The systemd settings of one group's instance units, and the line that explains them.

    ``processes`` is the group's daemon processes (1 when none is written),
    ``rss_mb`` and ``weight`` its sizing metadata (``rss_mb`` None: no memory
    limit), ``mpm`` its instance's event MPM (``server_limit``,
    ``threads_per_child``). ``cpus`` is the host's CPUs and ``total_weight``
    the weights of all the host's groups together: without them (the host
    not read), no CPUQuota.
    """
    tasks = instance_tasks(processes, threads, mpm["server_limit"], mpm["threads_per_child"])
    quota = None
    if settings.cpu_quota_percent and cpus and total_weight:
        quota = cpu_quota(settings.cpu_quota_percent, cpus, weight, total_weight)
    resources: dict[str, Any] = {
        "slice": settings.slice,
        "cpu_weight": cpu_weight(weight),
        "cpu_quota_percent": quota,
        "memory_high_mb": None,
        "memory_max_mb": None,
        "tasks_max": TASKS_FACTOR * tasks,
    }
    why = ["CPUWeight %d = %d x weight %s" % (resources["cpu_weight"], CPU_WEIGHT_PER_WEIGHT, _number(weight))]
    if quota is not None:
        why.append("CPUQuota %d%% = %d%% x %d CPUs x weight %s / %s of the host's groups"
                   % (quota, settings.cpu_quota_percent, cpus, _number(weight), _number(total_weight)))
    elif not settings.cpu_quota_percent:
        why.append("no CPUQuota (%s is 0)" % SETTING_NAMES["cpu_quota_percent"])
    else:
        why.append("no CPUQuota (the host's CPUs are not known)")
    if rss_mb is None:
        why.append("no memory limit (no sizing.rss_mb)")
    else:
        sized = processes * rss_mb
        for key, label, percent in (("memory_high_mb", "MemoryHigh", settings.memory_high_percent),
                                    ("memory_max_mb", "MemoryMax", settings.memory_max_percent)):
            limit = math.ceil(sized * percent / 100) + settings.instance_mb
            resources[key] = limit
            why.append("%s %dM = %d x %d MB x %d%% + %d MB of Apache"
                       % (label, limit, processes, rss_mb, percent, settings.instance_mb))
    why.append("TasksMax %d = %d x (%d x (%d + %d) + %d x (%d + %d) + %d)"
               % (resources["tasks_max"], TASKS_FACTOR, processes, threads, DAEMON_EXTRA_THREADS, mpm["server_limit"],
                  mpm["threads_per_child"], MPM_CHILD_EXTRA_THREADS, INSTANCE_EXTRA_TASKS))
    resources["explanation"] = "resources of group %s (%s): %s" % (name, settings.slice, "; ".join(why))
    return resources


def _number(value: float) -> str:
    """A weight as the user wrote it: up to 4 decimals, no trailing zeros."""
    return ("%.4f" % value).rstrip("0").rstrip(".")

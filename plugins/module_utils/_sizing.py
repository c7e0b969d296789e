# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Size mod_wsgi daemon process groups and the Apache event MPM in front of them.

Pure logic, standard library only, no Ansible import: the ``wsgi_sizing`` module
is a thin wrapper around :func:`size_projects` and :func:`gather_host`, and the
unit tests call both directly. ``docs/sizing.md`` describes the model; every
number used below is a named constant there and here.

Public API:

* :func:`size_projects` -- validate plain project dicts and size them;
* :class:`Host` and :func:`gather_host` -- the machine being sized;
* :class:`SizingResult` (``to_dict()`` is the module's return value),
  :class:`ProjectSizing`, :class:`ApacheSizing`;
* :class:`SizingError` -- raised on bad input or when the projects cannot fit.
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Callable, Iterable, Mapping, Sequence

__metaclass__ = type  # pylint: disable=invalid-name

# --- Limits this module accepts --------------------------------------------
MAX_THREADS = 250
"""Most ``threads=`` accepted per daemon process (explicit values)."""
MAX_PROCESSES = 256
"""Most ``processes=`` accepted per daemon group (explicit or computed)."""
MAX_AUTO_THREADS = 16
"""Most threads per process the model picks by itself (I/O-bound projects)."""
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
"""A project name, used in daemon group names and file names."""

# --- Model constants ---------------------------------------------------------
HEADROOM = 1.5
"""Concurrency and CPU demand are multiplied by this before sizing."""
DEFAULT_RESERVE_MB = 1024
"""Memory kept for the OS, Apache and page cache unless told otherwise."""
QUEUE_TIMEOUT_FACTOR = 100
QUEUE_TIMEOUT_RANGE = (5, 45)
REQUEST_TIMEOUT_FACTOR = 250
REQUEST_TIMEOUT_RANGE = (60, 600)
LISTEN_BACKLOG_RANGE = (100, 4096)
APACHE_THREADS_PER_CHILD = 25
APACHE_HEADROOM_PERCENT = 25
"""Front-end workers above the daemons' capacity: this percent, at least one child."""
APACHE_SERVER_LIMIT_FACTOR = 2
"""ServerLimit = this x active children: slots for children finishing gracefully."""
OVERHEAD_MS = {"shared": 0.4, "instance": 0.7}
"""CPU ms that Apache and mod_wsgi spend on each request besides the app, per isolation.

Measured by ``bench/colocate``: the io-bound project's CPU per request beyond
its app's, under load beside the others (shared: 0.13-0.15 ms in Apache and
0.27-0.32 in its daemon; instance: 0.24-0.27 in the main Apache, which also
proxies, and 0.49-0.55 in its unit). A near-empty app alone costs less (0.14
and 0.43 ms): the figures include the daemons' thread and GIL hand-offs.
"""
DEFAULT_OVERHEAD_MS = OVERHEAD_MS["shared"]
MAX_OVERHEAD_MS = 100.0

_PRECISION = 9  # decimals kept before rounding up, so 0.3 / 0.1 counts as 3
_UNLIMITED_BYTES = 1 << 60  # cgroup v1 reports "no limit" as about 2**63
_MIB = 1024 * 1024

PROJECT_FIELDS = (
    "name",
    "thread_safe",
    "cpu_ms",
    "wait_ms",
    "rss_mb",
    "peak_rps",
    "weight",
    "processes",
    "threads",
)
"""Every key a project dict may have."""


class SizingError(ValueError):
    """Bad input, or projects that cannot fit on the host."""


def environ_flags(processes: int | None, threads: int) -> dict[str, Any]:
    """What a daemon-mode app sees in its environ, per the source document's table.

    ``processes`` is None when no ``processes=`` is written: mod_wsgi then runs
    one process and tells the app ``wsgi.multiprocess`` False; any written
    value, 1 included, makes it True. The only place this rule is written.
    """
    multithread = threads > 1
    if not multithread:
        mode = "prefork"
    elif (processes or 1) > 1:
        mode = "worker"
    else:
        mode = "winnt"
    return {"multithread": multithread, "multiprocess": processes is not None, "mode": mode}


# --- Data --------------------------------------------------------------------


@dataclass(frozen=True)
class Host:
    """The resources one host offers to its daemon processes."""

    cpus: int
    memory_mb: int
    source: str = "given"
    cpus_from: str = "given"
    memory_from: str = "given"

    def to_dict(self) -> dict[str, Any]:
        """The ``host`` part of the module result."""
        return {
            "cpus": self.cpus,
            "memory_mb": self.memory_mb,
            "source": self.source,
            "cpus_from": self.cpus_from,
            "memory_from": self.memory_from,
        }


@dataclass(frozen=True)
class ProjectSpec:
    """One validated project as given by the user (None: not given)."""

    name: str
    thread_safe: bool
    cpu_ms: float
    wait_ms: float
    rss_mb: int
    peak_rps: float | None
    weight: float
    processes: int | None
    threads: int | None

    @property
    def latency_ms(self) -> float:
        """Mean time a request spends in the application."""
        return self.cpu_ms + self.wait_ms

    @property
    def cpu_fraction(self) -> float:
        """Share of a request's time spent running Python (holding the GIL)."""
        return self.cpu_ms / self.latency_ms


@dataclass(frozen=True)
class Demand:
    """What one project would like before the memory budget is applied."""

    cpu_fraction: float
    rps: float
    rps_source: str
    busy_ms: float
    busy_reason: str
    busy: float
    concurrency: int
    cpu_demand: float
    threads: int
    threads_reason: str
    processes: int
    processes_reason: str


@dataclass(frozen=True)
class ProjectSizing:
    """The sizing of one daemon process group."""

    name: str
    processes: int
    threads: int
    processes_explicit: bool
    rss_mb_total: int
    queue_timeout: int
    request_timeout: int
    listen_backlog: int
    demand: Demand

    @property
    def capacity(self) -> int:
        """Requests the group serves concurrently."""
        return self.processes * self.threads

    @property
    def multiprocess(self) -> bool:
        """``wsgi.multiprocess``: True as soon as ``processes=`` is written."""
        return environ_flags(self.processes if self.processes_explicit else None, self.threads)["multiprocess"]

    @property
    def multithread(self) -> bool:
        """``wsgi.multithread``: True with more than one thread."""
        return environ_flags(self.processes if self.processes_explicit else None, self.threads)["multithread"]

    @property
    def mode(self) -> str:
        """``prefork`` (1 thread), ``winnt`` (1 process, threads) or ``worker``."""
        return environ_flags(self.processes if self.processes_explicit else None, self.threads)["mode"]

    def to_dict(self) -> dict[str, Any]:
        """The ``projects.<name>`` part of the module result."""
        d = self.demand
        return {
            "processes": self.processes,
            "threads": self.threads,
            "processes_explicit": self.processes_explicit,
            "mode": self.mode,
            "multiprocess": self.multiprocess,
            "multithread": self.multithread,
            "capacity": self.capacity,
            "rss_mb_total": self.rss_mb_total,
            "queue_timeout": self.queue_timeout,
            "request_timeout": self.request_timeout,
            "listen_backlog": self.listen_backlog,
            "model": {
                "cpu_fraction": round(d.cpu_fraction, 4),
                "rps": round(d.rps, 3),
                "rps_source": d.rps_source,
                "busy_ms": round(d.busy_ms, 3),
                "busy": round(d.busy, 3),
                "concurrency": d.concurrency,
                "cpu_demand": round(d.cpu_demand, 3),
                "processes_wanted": d.processes,
            },
        }


@dataclass(frozen=True)
class ApacheSizing:
    """Event MPM settings for the front end."""

    daemon_capacity: int
    server_limit: int
    threads_per_child: int
    max_request_workers: int

    def to_dict(self) -> dict[str, Any]:
        """The ``apache`` part of the module result."""
        return {
            "daemon_capacity": self.daemon_capacity,
            "server_limit": self.server_limit,
            "threads_per_child": self.threads_per_child,
            "max_request_workers": self.max_request_workers,
        }


@dataclass(frozen=True)
class SizingResult:
    """Everything :func:`size_projects` decided, projects sorted by name."""

    host: Host
    reserve_memory_mb: int
    overhead_ms: float
    projects: tuple[ProjectSizing, ...]
    apache: ApacheSizing
    warnings: tuple[str, ...] = ()
    explanation: tuple[str, ...] = ()

    @property
    def budget_mb(self) -> int:
        """Memory the daemon processes may use together."""
        return self.host.memory_mb - self.reserve_memory_mb

    def to_dict(self) -> dict[str, Any]:
        """The module's return value (without ``changed``)."""
        return {
            "host": self.host.to_dict(),
            "budget_mb": self.budget_mb,
            "overhead_ms": self.overhead_ms,
            "projects": {p.name: p.to_dict() for p in self.projects},
            "apache": self.apache.to_dict(),
            "sizing_warnings": list(self.warnings),
            "explanation": list(self.explanation),
        }


# --- Validation --------------------------------------------------------------


def _where(project: str) -> str:
    return f"project {project!r}: "


def _fail(where: str, key: str, problem: str, value: Any = None, show: bool = True) -> SizingError:
    got = f" (got {value!r})" if show else ""
    return SizingError(f"{where}field {key!r}: {problem}{got}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_int(value: Any, where: str, key: str, minimum: int, maximum: int | None = None) -> int:
    """An integer in [minimum, maximum]; integral floats such as 4.0 are accepted."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(where, key, "must be an integer", value)
    if value < minimum:
        raise _fail(where, key, f"must be >= {minimum}", value)
    if maximum is not None and value > maximum:
        raise _fail(where, key, f"must be <= {maximum}", value)
    return value


def _as_number(value: Any, where: str, key: str, strictly_positive: bool) -> float:
    """A finite number, > 0 or >= 0."""
    if not _is_number(value) or not math.isfinite(value):
        raise _fail(where, key, "must be a finite number", value)
    if strictly_positive and value <= 0:
        raise _fail(where, key, "must be > 0", value)
    if not strictly_positive and value < 0:
        raise _fail(where, key, "must be >= 0", value)
    return float(value)


def _label(raw: Any, index: int) -> str:
    """How to name a project in messages before its name is validated."""
    name = raw.get("name") if isinstance(raw, Mapping) else None
    if isinstance(name, str) and re.fullmatch(NAME_PATTERN, name):
        return f"project {name!r}: "
    return f"project #{index + 1}: "


def _required(raw: Mapping[str, Any], where: str, key: str, label: str | None = None) -> Any:
    """``raw[key]``; missing, an error that names the field ``label`` (default ``key``)."""
    value = raw.get(key)
    if value is None:
        raise _fail(where, label or key, "is required", show=False)
    return value


def _optional(raw: Mapping[str, Any], key: str, convert: Callable[[Any], Any]) -> Any:
    """``convert(raw[key])``, or None when the key is missing or None."""
    value = raw.get(key)
    return None if value is None else convert(value)


def validate_project(raw: Any, index: int = 0, where: str | None = None, metadata_prefix: str = "") -> ProjectSpec:
    """Check one project dict and return it typed; missing optional keys may be None.

    ``where`` replaces the "project 'NAME': " that starts each message, and
    ``metadata_prefix`` goes before the name of each metadata field in it
    (not ``name``, ``processes``, ``threads``): the wsgi plan names the project
    and ``sizing.cpu_ms`` where the metadata came from.
    """
    where = where or _label(raw, index)

    def meta(key: str) -> str:
        return metadata_prefix + key

    if not isinstance(raw, Mapping):
        raise SizingError(f"{where}must be a dict (got {type(raw).__name__})")
    unknown = sorted(str(k) for k in raw if k not in PROJECT_FIELDS)
    if unknown:
        raise _fail(where, meta(unknown[0]), "unknown field; known: " + ", ".join(PROJECT_FIELDS), show=False)
    name = _required(raw, where, "name")
    if not isinstance(name, str) or not re.fullmatch(NAME_PATTERN, name):
        raise _fail(where, "name", f"must match ^{NAME_PATTERN}$", name)
    thread_safe = raw.get("thread_safe")
    thread_safe = True if thread_safe is None else thread_safe
    if not isinstance(thread_safe, bool):
        raise _fail(where, meta("thread_safe"), "must be a boolean", thread_safe)
    weight = raw.get("weight")
    spec = ProjectSpec(
        name=name,
        thread_safe=thread_safe,
        cpu_ms=_as_number(_required(raw, where, "cpu_ms", meta("cpu_ms")), where, meta("cpu_ms"),
                          strictly_positive=True),
        wait_ms=_as_number(_required(raw, where, "wait_ms", meta("wait_ms")), where, meta("wait_ms"),
                           strictly_positive=False),
        rss_mb=_as_int(_required(raw, where, "rss_mb", meta("rss_mb")), where, meta("rss_mb"), 1),
        peak_rps=_optional(raw, "peak_rps",
                           lambda v: _as_number(v, where, meta("peak_rps"), strictly_positive=False)),
        weight=1.0 if weight is None else _as_number(weight, where, meta("weight"), strictly_positive=True),
        processes=_optional(raw, "processes", lambda v: _as_int(v, where, "processes", 1, MAX_PROCESSES)),
        threads=_optional(raw, "threads", lambda v: _as_int(v, where, "threads", 1, MAX_THREADS)),
    )
    if not spec.thread_safe and spec.threads is not None and spec.threads > 1:
        raise _fail(where, "threads", "must be 1 when thread_safe is false", spec.threads)
    return spec


def validate_projects(projects: Any) -> list[ProjectSpec]:
    """Check every project and that names are unique."""
    if not isinstance(projects, Sequence) or isinstance(projects, (str, bytes)):
        raise SizingError(f"field 'projects': must be a list (got {type(projects).__name__})")
    specs = [validate_project(raw, i) for i, raw in enumerate(projects)]
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise _fail(_where(spec.name), "name", "duplicate project name", show=False)
        seen.add(spec.name)
    return specs


def check_overhead(value: Any) -> float:
    """``overhead_ms`` checked: a finite number of ms from 0 to :data:`MAX_OVERHEAD_MS`."""
    overhead = _as_number(value, "", "overhead_ms", strictly_positive=False)
    if overhead > MAX_OVERHEAD_MS:
        raise _fail("", "overhead_ms", f"must be <= {fmt(MAX_OVERHEAD_MS)}", value)
    return overhead


def validate_host(host: Host | Mapping[str, Any], reserve_memory_mb: Any) -> tuple[Host, int]:
    """Check the host figures and the reserve; return them typed."""
    if isinstance(host, Host):
        raw: Mapping[str, Any] = host.to_dict()
    elif isinstance(host, Mapping):
        raw = host
    else:
        raise SizingError(f"field 'host': must be a dict (got {type(host).__name__})")
    unknown = sorted(str(k) for k in raw if k not in ("cpus", "memory_mb", "source", "cpus_from", "memory_from"))
    if unknown:
        raise _fail("host: ", unknown[0], "unknown field; known: cpus, memory_mb", show=False)
    reserve = _as_int(reserve_memory_mb, "", "reserve_memory_mb", 0)
    cpus = _as_int(_required(raw, "host: ", "cpus"), "host: ", "cpus", 1)
    memory_mb = _as_int(_required(raw, "host: ", "memory_mb"), "host: ", "memory_mb", 1)
    if memory_mb <= reserve:
        raise _fail("host: ", "memory_mb", f"must be > reserve_memory_mb ({reserve})", memory_mb)
    checked = Host(
        cpus=cpus,
        memory_mb=memory_mb,
        source=str(raw.get("source", "given")),
        cpus_from=str(raw.get("cpus_from", "given")),
        memory_from=str(raw.get("memory_from", "given")),
    )
    return checked, reserve


# --- The model -----------------------------------------------------------------


def ceil_int(value: float) -> int:
    """Round up, ignoring float noise below 1e-9 (0.3 / 0.1 rounds up to 3)."""
    return math.ceil(round(value, _PRECISION))


def clamp(value: int, bounds: tuple[int, int]) -> int:
    """``value`` limited to ``bounds`` (inclusive)."""
    return max(bounds[0], min(bounds[1], value))


def fmt(value: float) -> str:
    """A number for the explanation: at most two decimals, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text if text != "-0" else "0"


def pick_threads(spec: ProjectSpec) -> tuple[int, str]:
    """Threads per process: one per 1/f of a request's time, so a process keeps about one CPU busy."""
    if spec.threads is not None:
        return spec.threads, "given"
    if not spec.thread_safe:
        return 1, "not thread safe"
    per_cpu = ceil_int(spec.latency_ms / spec.cpu_ms)
    threads = min(MAX_AUTO_THREADS, per_cpu)
    return threads, f"ceil({fmt(spec.latency_ms)}/{fmt(spec.cpu_ms)}) = {per_cpu}, max {MAX_AUTO_THREADS}"


def target_rps(spec: ProjectSpec, host: Host, total_weight: float,
               overhead_ms: float = DEFAULT_OVERHEAD_MS) -> tuple[float, str, str | None]:
    """Requests per second to size for, where the figure comes from, and a warning if capped.

    Each request costs the host ``cpu_ms`` in the app plus ``overhead_ms`` in
    Apache and mod_wsgi: a project's share of the CPUs serves that many.
    """
    cost = spec.cpu_ms + overhead_ms
    most = host.cpus * 1000.0 / cost  # every CPU of the host on this project
    if spec.peak_rps is None:
        share = host.cpus * spec.weight / total_weight
        return share * 1000.0 / cost, f"share {fmt(share)} of {host.cpus} CPUs", None
    if spec.peak_rps > most:
        warning = (
            f"{spec.name}: peak_rps {fmt(spec.peak_rps)} needs {fmt(spec.peak_rps * cost / 1000)} CPUs,"
            f" the host has {host.cpus}: sized for {fmt(most)} rps"
        )
        return most, "all CPUs", warning
    return spec.peak_rps, "peak_rps", None


def plan_demand(spec: ProjectSpec, host: Host, total_weight: float,
                overhead_ms: float = DEFAULT_OVERHEAD_MS) -> tuple[Demand, str | None]:
    """Little's law with headroom: the threads and processes one project would like.

    The app's threads are busy for its latency; the CPU demand counts the
    server's ``overhead_ms`` per request too. Sized by its share (no
    ``peak_rps``), a project runs at its share when every project is busy:
    its weight over all the weights of each CPU, so a request's ``cpu_ms``
    takes ``total_weight / weight`` times as long, and its threads are busy
    that much longer (:func:`contended_ms`).
    """
    rps, rps_source, warning = target_rps(spec, host, total_weight, overhead_ms)
    threads, threads_reason = pick_threads(spec)
    busy_ms, busy_reason = contended_ms(spec, total_weight)
    busy = rps * busy_ms / 1000.0
    concurrency = max(1, ceil_int(busy * HEADROOM))
    cpu_demand = rps * (spec.cpu_ms + overhead_ms) / 1000.0
    if spec.processes is not None:
        processes, processes_reason = spec.processes, "given"
    else:
        # Processes run the app: its own CPU decides, the server's is spent by Apache too.
        processes, processes_reason = _pick_processes(spec, host, threads, concurrency, rps * spec.cpu_ms / 1000.0)
    demand = Demand(
        cpu_fraction=spec.cpu_fraction,
        rps=rps,
        rps_source=rps_source,
        busy_ms=busy_ms,
        busy_reason=busy_reason,
        busy=busy,
        concurrency=concurrency,
        cpu_demand=cpu_demand,
        threads=threads,
        threads_reason=threads_reason,
        processes=processes,
        processes_reason=processes_reason,
    )
    return demand, warning


def contended_ms(spec: ProjectSpec, total_weight: float) -> tuple[float, str]:
    """How long a request keeps a thread busy when the projects compete, and why.

    Its latency, with the CPU part stretched by ``total_weight / weight`` when
    it is sized by its share of a host it shares (no ``peak_rps``, other
    weights); its plain latency otherwise (alone, or sized for a given rate).
    """
    if spec.peak_rps is not None or total_weight <= spec.weight:
        return spec.latency_ms, ""
    stretch = total_weight / spec.weight
    busy_ms = spec.wait_ms + spec.cpu_ms * stretch
    return busy_ms, f"{fmt(spec.wait_ms)} + {fmt(spec.cpu_ms)} x {fmt(total_weight)}/{fmt(spec.weight)} weights"


def _pick_processes(
    spec: ProjectSpec, host: Host, threads: int, concurrency: int, app_cpu: float
) -> tuple[int, str]:
    """Enough processes for the concurrency and the app's CPU, no more than the CPUs can run."""
    for_concurrency = ceil_int(concurrency / threads)
    for_cpu = ceil_int(app_cpu * HEADROOM)
    per_process_cpu = min(1.0, threads * spec.cpu_fraction)
    cap = min(MAX_PROCESSES, ceil_int(host.cpus / per_process_cpu))
    processes = max(1, min(cap, max(for_concurrency, for_cpu)))
    reason = (
        f"max({concurrency}/{threads} -> {for_concurrency}, CPU {fmt(app_cpu)} x{fmt(HEADROOM)} -> {for_cpu})"
        f", cap {cap} = {host.cpus} CPUs / {fmt(per_process_cpu)} CPU per process"
    )
    return processes, reason


# --- Memory --------------------------------------------------------------------


def share_memory(wanted: Mapping[str, int], specs: Mapping[str, ProjectSpec], budget_mb: int) -> dict[str, int]:
    """Scale computed process counts down to fit ``budget_mb``, in proportion to weight.

    Weighted water-filling in whole processes. Every project starts with one
    process. Its k-th process costs ``rss_mb`` and becomes due when the memory
    level per unit of weight reaches ``k * rss_mb / weight``. The steps are
    taken in order of that level (ties: by project name); a step that no
    longer fits stops that project for good, and the others go on. Nobody gets
    more than it wanted. Exact integer arithmetic (weights are taken as the
    exact fractions their floats are): no float noise, no dependence on the
    order of the projects, and a project's count never falls when it wants more.
    """
    if sum(specs[n].rss_mb * p for n, p in wanted.items()) <= budget_mb:
        return dict(wanted)
    counts = {n: 1 for n in wanted}
    used = sum(specs[n].rss_mb for n in wanted)
    weights = {n: Fraction(specs[n].weight) for n in wanted}
    # Levels k * rss / weight, scaled to integers by the weights' common numerator.
    common = 1
    for weight in weights.values():
        common = common * weight.numerator // math.gcd(common, weight.numerator)
    unit = {n: specs[n].rss_mb * w.denominator * (common // w.numerator) for n, w in weights.items()}
    steps = sorted((k * unit[n], n) for n, p in wanted.items() for k in range(2, p + 1))
    stopped: set[str] = set()
    for _level, name in steps:
        if name in stopped:
            continue
        if used + specs[name].rss_mb > budget_mb:
            stopped.add(name)
            continue
        counts[name] += 1
        used += specs[name].rss_mb
    return counts


def fit_memory(
    specs: Sequence[ProjectSpec], demands: Mapping[str, Demand], budget_mb: int
) -> tuple[dict[str, int], list[str]]:
    """Process counts within the budget, plus warnings; SizingError when impossible.

    Explicit process counts are kept; the computed ones get at least one
    process each and share the rest of the budget (:func:`share_memory`).
    """
    given = {s.name: s.processes for s in specs if s.processes is not None}
    computed = [s for s in specs if s.processes is None]
    given_mb = sum(s.rss_mb * given[s.name] for s in specs if s.name in given)
    if given_mb > budget_mb:
        listing = ", ".join(f"{s.name} ({given[s.name]} x {s.rss_mb} MB)" for s in specs if s.name in given)
        raise SizingError(
            f"explicit processes alone need {given_mb} MB, more than the budget of {budget_mb} MB:"
            f" {listing}; short by {given_mb - budget_mb} MB"
        )
    minimum_mb = given_mb + sum(s.rss_mb for s in computed)
    if minimum_mb > budget_mb:
        listing = ", ".join(f"{s.name} ({given.get(s.name, 1)} x {s.rss_mb} MB)" for s in specs)
        raise SizingError(
            f"even one process per project needs {minimum_mb} MB, more than the budget of {budget_mb} MB:"
            f" {listing}; short by {minimum_mb - budget_mb} MB"
        )
    wanted = {s.name: demands[s.name].processes for s in computed}
    shared = share_memory(wanted, {s.name: s for s in computed}, budget_mb - given_mb)
    warnings = []
    if shared != wanted:
        wanted_mb = given_mb + sum(wanted[s.name] * s.rss_mb for s in computed)
        cuts = ", ".join(f"{n} {wanted[n]} -> {shared[n]}" for n in sorted(wanted) if shared[n] != wanted[n])
        warnings.append(
            f"memory: the projects want {wanted_mb} MB, the budget is {budget_mb} MB;"
            f" processes scaled down by weight: {cuts}"
        )
    return dict(given, **shared), warnings


# --- Timeouts and the front end --------------------------------------------------


def timeouts(spec: ProjectSpec, capacity: int) -> tuple[int, int, int]:
    """``queue_timeout`` and ``request_timeout`` (seconds) and ``listen_backlog``.

    Both timeouts are a multiple of the mean latency, kept in a range; the
    backlog holds what the group drains within ``queue_timeout`` at full
    capacity (``capacity / latency`` requests per second).
    """
    seconds = spec.latency_ms / 1000.0
    queue_timeout = clamp(ceil_int(QUEUE_TIMEOUT_FACTOR * seconds), QUEUE_TIMEOUT_RANGE)
    request_timeout = clamp(ceil_int(REQUEST_TIMEOUT_FACTOR * seconds), REQUEST_TIMEOUT_RANGE)
    drained = ceil_int(capacity / seconds * queue_timeout)  # seconds > 0: cpu_ms > 0
    return queue_timeout, request_timeout, clamp(drained, LISTEN_BACKLOG_RANGE)


def size_apache(daemon_capacity: int, threads_per_child: int = APACHE_THREADS_PER_CHILD) -> ApacheSizing:
    """Event MPM workers: the daemons' capacity plus headroom, whole children."""
    tpc = threads_per_child
    headroom = max(tpc, -(-daemon_capacity * APACHE_HEADROOM_PERCENT // 100))
    children = -(-(daemon_capacity + headroom) // tpc)
    return ApacheSizing(
        daemon_capacity=daemon_capacity,
        server_limit=APACHE_SERVER_LIMIT_FACTOR * children,
        threads_per_child=tpc,
        max_request_workers=children * tpc,
    )


def event_mpm(daemon_capacity: int, server_limit: int, threads_per_child: int,
              max_request_workers: int) -> dict[str, Any]:
    """The event MPM that serves the daemons: the configured one, raised where it is too small.

    ``server_limit``, ``threads_per_child`` and ``max_request_workers`` are the
    apache role's settings; they are never lowered. When they cannot hand
    every daemon thread a request plus headroom (:func:`size_apache` in
    children of the configured ``threads_per_child``), ``max_request_workers``
    and ``server_limit`` are raised to that, and the explanation says so.
    """
    for key, value in (("daemon_capacity", daemon_capacity), ("server_limit", server_limit),
                       ("threads_per_child", threads_per_child), ("max_request_workers", max_request_workers)):
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if key == "daemon_capacity" else 1):
            raise SizingError(f"{key}: must be a whole number >= {0 if key == 'daemon_capacity' else 1} (got {value!r})")
    if max_request_workers % threads_per_child or max_request_workers > server_limit * threads_per_child:
        raise SizingError(f"max_request_workers: must be a multiple of threads_per_child ({threads_per_child}) and"
                          f" at most server_limit x threads_per_child ({server_limit * threads_per_child}),"
                          f" got {max_request_workers}")
    needed = size_apache(daemon_capacity, threads_per_child)
    numbers = {"server_limit": server_limit, "threads_per_child": threads_per_child,
               "max_request_workers": max_request_workers}
    why = (f"daemon capacity {daemon_capacity} + max({APACHE_HEADROOM_PERCENT}%, {threads_per_child})"
           f" needs MaxRequestWorkers {needed.max_request_workers}")
    if needed.max_request_workers <= max_request_workers:
        explanation = f"front end: {why}; the configured {max_request_workers} covers it: kept"
    else:
        numbers["max_request_workers"] = needed.max_request_workers
        numbers["server_limit"] = max(server_limit, needed.server_limit)
        explanation = (f"front end: {why}; the configured {max_request_workers} does not:"
                       f" raised to {needed.max_request_workers}, ServerLimit {server_limit}"
                       f" -> {numbers['server_limit']}")
    return dict(numbers, daemon_capacity=daemon_capacity,
                raised=numbers["max_request_workers"] != max_request_workers, explanation=explanation)


# --- Putting it together -----------------------------------------------------------


def size_projects(
    projects: Sequence[Mapping[str, Any]],
    host: Host | Mapping[str, Any],
    reserve_memory_mb: int = DEFAULT_RESERVE_MB,
    other_capacity: int = 0,
    overhead_ms: float = DEFAULT_OVERHEAD_MS,
) -> SizingResult:
    """Size every project's daemon group and the Apache front end.

    ``overhead_ms`` is the CPU time Apache and mod_wsgi spend on each request
    besides the app (:data:`OVERHEAD_MS`): it counts in each project's share
    of the CPUs, so that an I/O-bound project is not sized for more requests
    than its share can serve.

    ``other_capacity`` counts the concurrent requests of daemon groups on the
    same host that are not sized here (explicit settings, no metadata): the
    front end must cover them too.

    ``projects`` are plain dicts with the keys in :data:`PROJECT_FIELDS`
    (None means not given); ``host`` is a :class:`Host` or a dict with
    ``cpus`` and ``memory_mb``. Everything is validated here. The result does
    not depend on the order of ``projects``. Raises :class:`SizingError`.
    """
    specs = sorted(validate_projects(projects), key=lambda s: s.name)
    if isinstance(other_capacity, bool) or not isinstance(other_capacity, int) or other_capacity < 0:
        raise SizingError("other_capacity: must be a whole number >= 0 (got %r)" % (other_capacity,))
    checked_host, reserve = validate_host(host, reserve_memory_mb)
    overhead = check_overhead(overhead_ms)
    budget_mb = checked_host.memory_mb - reserve
    total_weight = sum(s.weight for s in specs)
    demands: dict[str, Demand] = {}
    warnings: list[str] = []
    for spec in specs:
        demand, warning = plan_demand(spec, checked_host, total_weight, overhead)
        demands[spec.name] = demand
        warnings.extend([warning] if warning else [])
    counts, memory_warnings = fit_memory(specs, demands, budget_mb)
    warnings.extend(memory_warnings)
    sized = tuple(_finish(spec, demands[spec.name], counts[spec.name]) for spec in specs)
    warnings.extend(_shortfalls(sized))
    warnings.extend(_cpu_overcommit(sized, checked_host))
    apache = size_apache(sum(p.capacity for p in sized) + other_capacity)
    result = SizingResult(
        host=checked_host,
        reserve_memory_mb=reserve,
        overhead_ms=overhead,
        projects=sized,
        apache=apache,
        warnings=tuple(warnings),
    )
    return replace(result, explanation=tuple(explain(result, specs)))


def _finish(spec: ProjectSpec, demand: Demand, processes: int) -> ProjectSizing:
    threads = demand.threads
    queue_timeout, request_timeout, listen_backlog = timeouts(spec, processes * threads)
    return ProjectSizing(
        name=spec.name,
        processes=processes,
        threads=threads,
        processes_explicit=spec.processes is not None or processes > 1,
        rss_mb_total=processes * spec.rss_mb,
        queue_timeout=queue_timeout,
        request_timeout=request_timeout,
        listen_backlog=listen_backlog,
        demand=demand,
    )


def _shortfalls(sized: Iterable[ProjectSizing]) -> list[str]:
    """Warn where the capacity is below the mean number of busy requests (no headroom)."""
    return [
        f"{p.name}: capacity {p.capacity} is below the {fmt(p.demand.busy)} requests busy"
        f" at {fmt(p.demand.rps)} rps: requests will queue"
        for p in sized
        if p.capacity < round(p.demand.busy, _PRECISION)
    ]


def _cpu_overcommit(sized: Sequence[ProjectSizing], host: Host) -> list[str]:
    """Warn when the projects' peaks together need more CPUs than the host has."""
    total = sum(p.demand.cpu_demand for p in sized)
    if round(total, _PRECISION) <= host.cpus:
        return []
    return [f"cpu: the projects together need {fmt(total)} CPUs at their peaks, the host has {host.cpus}"]


def explain(result: SizingResult, specs: Sequence[ProjectSpec]) -> list[str]:
    """Lines a reviewer can check by hand, one per project plus memory and Apache."""
    lines = [
        f"host: {result.host.cpus} CPUs ({result.host.cpus_from}), {result.host.memory_mb} MB"
        f" ({result.host.memory_from}); budget {result.budget_mb} MB"
        f" = {result.host.memory_mb} - {result.reserve_memory_mb} reserved;"
        f" Apache and mod_wsgi cost {fmt(result.overhead_ms)} ms CPU per request"
    ]
    by_name = {s.name: s for s in specs}
    for sizing in result.projects:
        lines.append(_explain_project(by_name[sizing.name], sizing, result.overhead_ms))
    used = sum(p.rss_mb_total for p in result.projects)
    lines.append(f"memory: {used} MB of the {result.budget_mb} MB budget")
    a = result.apache
    lines.append(
        f"apache: daemon capacity {a.daemon_capacity} + max({APACHE_HEADROOM_PERCENT}%, {a.threads_per_child})"
        f" -> {a.max_request_workers // a.threads_per_child} children x {a.threads_per_child} threads"
        f" = MaxRequestWorkers {a.max_request_workers}, ServerLimit {a.server_limit}"
    )
    return lines


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def _explain_project(spec: ProjectSpec, sizing: ProjectSizing, overhead_ms: float) -> str:
    d = sizing.demand
    cost = f"{fmt(spec.cpu_ms)} + {fmt(overhead_ms)} ms CPU per request, " if overhead_ms else ""
    parts = [
        f"{spec.name}: CPU {round(d.cpu_fraction * 100)}% ({fmt(spec.cpu_ms)} of {fmt(spec.latency_ms)} ms),"
        f" {cost}{fmt(d.rps)} rps ({d.rps_source}) x {fmt(d.busy_ms)} ms"
        f"{f' ({d.busy_reason})' if d.busy_reason else ''} = {fmt(d.busy)} busy,"
        f" x{fmt(HEADROOM)} = {d.concurrency} concurrent",
        f"threads {d.threads} ({d.threads_reason})",
        f"processes {d.processes} ({d.processes_reason})",
    ]
    if sizing.processes != d.processes:
        parts.append(f"scaled down to {_count(sizing.processes, 'process', 'processes')} for memory")
    parts.append(
        f"{_count(sizing.processes, 'process', 'processes')} x {_count(sizing.threads, 'thread', 'threads')}"
        f" = capacity {sizing.capacity},"
        f" {sizing.processes} x {spec.rss_mb} MB = {sizing.rss_mb_total} MB, mode {sizing.mode}"
    )
    return "; ".join(parts)


# --- Host facts ------------------------------------------------------------------


def _read(root: str, path: str) -> str | None:
    """The stripped text of ``root/path``, or None when it cannot be read."""
    try:
        with open(os.path.join(root, path.lstrip("/")), encoding="utf-8") as handle:
            return handle.read().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _cgroup_paths(root: str) -> dict[str, str]:
    """Controller (``""`` for cgroup v2) -> the process's cgroup path, from /proc/self/cgroup."""
    text = _read(root, "/proc/self/cgroup") or ""
    paths: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for controller in parts[1].split(",") if parts[1] else [""]:
            paths[controller] = parts[2]
    return paths


def _cgroup_dirs(root: str, mounts: Sequence[str], cgroup_path: str) -> list[str]:
    """The process's cgroup directory and its ancestors under each candidate mount point.

    Limits of ancestors apply too, so all are read. Inside a container the
    path from /proc/self/cgroup may not exist under the mount: its root is then
    the container's own cgroup, and it is read as well.
    """
    parts = [p for p in cgroup_path.split("/") if p]
    found = []
    for mount in mounts:
        base = os.path.join(root, mount.lstrip("/"))
        for depth in range(len(parts), -1, -1):
            candidate = os.path.join(base, *parts[:depth])
            if os.path.isdir(candidate) and candidate not in found:
                found.append(candidate)
    return found


def _cgroup_files(root: str, controller: str, mounts: Sequence[str], name: str) -> list[str]:
    paths = _cgroup_paths(root)
    cgroup_path = paths.get(controller, "/")
    return [os.path.join(d, name) for d in _cgroup_dirs(root, mounts, cgroup_path)]


_V2_MOUNTS = ("/sys/fs/cgroup", "/sys/fs/cgroup/unified")
_V1_CPU_MOUNTS = ("/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu")
_V1_MEMORY_MOUNTS = ("/sys/fs/cgroup/memory",)


def _positive_int(text: str | None) -> int | None:
    try:
        value = int(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and value > 0 else None


def cgroup_cpu_limits(root: str = "/") -> list[tuple[int, str]]:
    """CPU limits found in cgroups, as (CPUs rounded up, source)."""
    limits = []
    for path in _cgroup_files(root, "", _V2_MOUNTS, "cpu.max"):
        fields = (_read("/", path) or "").split()
        quota = _positive_int(fields[0]) if fields else None
        period = _positive_int(fields[1]) if len(fields) > 1 else 100000
        if quota and period:
            limits.append((max(1, -(-quota // period)), "cgroup v2 cpu.max"))
    for path in _cgroup_files(root, "cpu", _V1_CPU_MOUNTS, "cpu.cfs_quota_us"):
        quota = _positive_int(_read("/", path))
        period = _positive_int(_read("/", os.path.join(os.path.dirname(path), "cpu.cfs_period_us")))
        if quota and period:
            limits.append((max(1, -(-quota // period)), "cgroup v1 cpu.cfs_quota_us"))
    return limits


def cgroup_memory_limits(root: str = "/") -> list[tuple[int, str]]:
    """Memory limits found in cgroups, as (MB rounded down, source); "max" and huge values ignored."""
    limits = []
    sources = (
        ("", _V2_MOUNTS, "memory.max", "cgroup v2 memory.max"),
        ("memory", _V1_MEMORY_MOUNTS, "memory.limit_in_bytes", "cgroup v1 memory.limit_in_bytes"),
    )
    for controller, mounts, name, label in sources:
        for path in _cgroup_files(root, controller, mounts, name):
            value = _positive_int(_read("/", path))
            if value and value < _UNLIMITED_BYTES:
                limits.append((value // _MIB, label))
    return limits


def meminfo_mb(root: str = "/") -> int | None:
    """MemTotal from /proc/meminfo, in MB."""
    for line in (_read(root, "/proc/meminfo") or "").splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "MemTotal:" and fields[1].isdigit():
            return int(fields[1]) // 1024
    return None


def affinity_cpus() -> int:
    """CPUs this process may run on (sched_getaffinity, else cpu_count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def gather_host(root: str = "/", affinity: int | None = None) -> Host:
    """The usable CPUs and memory of this machine, cgroup limits respected.

    ``root`` prefixes every path read (tests pass a fake tree); ``affinity``
    replaces the live CPU affinity count. CPUs: the least of the affinity
    count and every cgroup quota (rounded up). Memory: the least of MemTotal
    and every cgroup limit. Raises SizingError when nothing can be read.
    """
    cpu_candidates = [(affinity if affinity is not None else affinity_cpus(), "sched_getaffinity")]
    cpu_candidates += cgroup_cpu_limits(root)
    total = meminfo_mb(root)
    if total is None:
        raise SizingError(f"cannot read MemTotal from {os.path.join(root, 'proc/meminfo')}: give 'host' instead")
    memory_candidates = [(total, "/proc/meminfo MemTotal")] + cgroup_memory_limits(root)
    cpus, cpus_from = min(cpu_candidates, key=lambda c: c[0])
    memory_mb, memory_from = min(memory_candidates, key=lambda c: c[0])
    return Host(
        cpus=max(1, cpus), memory_mb=memory_mb, source="gathered", cpus_from=cpus_from, memory_from=memory_from
    )

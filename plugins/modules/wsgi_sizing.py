#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: wsgi_sizing
short_description: Size mod_wsgi daemon process groups and the Apache event MPM
description:
  - Computes C(processes) and C(threads) for the C(WSGIDaemonProcess) group of
    each project, from the project's mean CPU time and I/O wait per request,
    its peak request rate and the memory of one daemon process.
  - Keeps the sum of all daemon processes' memory within the host's memory
    less O(reserve_memory_mb), scaling computed process counts down by
    C(weight) when they do not fit.
  - Computes the Apache event MPM C(ServerLimit), C(ThreadsPerChild) and
    C(MaxRequestWorkers) so that the front end never has fewer workers than
    the daemons' total capacity.
  - Changes nothing on the target. When O(host) is omitted it reads the
    target's usable CPUs and memory, respecting CPU affinity and cgroup v1 and
    v2 limits.
  - The model and its formulas are described in C(docs/sizing.md) of the
    collection; RV(explanation) shows the arithmetic for each project.
version_added: 0.1.0
extends_documentation_fragment:
  - modwsgi.fleet.module
options:
  host:
    description:
      - The resources of the host to size for.
      - When omitted, they are read on the target. CPUs are the least of the
        CPU affinity count and the cgroup v2 C(cpu.max) and cgroup v1
        C(cpu.cfs_quota_us) quotas, rounded up. Memory is the least of
        C(MemTotal) in C(/proc/meminfo), cgroup v2 C(memory.max) and cgroup
        v1 C(memory.limit_in_bytes).
    type: dict
    suboptions:
      cpus:
        description:
          - Usable CPUs, at least 1.
        type: int
        required: true
      memory_mb:
        description:
          - Usable memory in MB, more than O(reserve_memory_mb).
        type: int
        required: true
  reserve_memory_mb:
    description:
      - Memory in MB kept for the operating system, Apache itself and the page
        cache. The daemon processes share the rest, the budget.
    type: int
    default: 1024
  other_capacity:
    description:
      - Concurrent requests (processes x threads) of the host's other daemon groups, those not
        sized here. The Apache front end is sized to cover them as well.
    type: int
    default: 0
  overhead_ms:
    description:
      - CPU milliseconds that Apache and mod_wsgi spend on each request besides the app. Each project's
        share of the CPUs serves requests that cost its C(cpu_ms) plus this, so that an I/O-bound project
        is not sized for more requests than its share can serve.
      - The default, 0.4, was measured by C(bench/colocate) for daemon groups in the main Apache; behind a
        proxying front end (the wsgi role's C(wsgi_isolation=instance)) it measured 0.7.
    type: float
    default: 0.4
  projects:
    description:
      - The WSGI projects served by this host, one daemon process group each.
        The result does not depend on the order of the list.
      - Each entry is a dict with the keys below. They are checked by the
        module itself rather than by the argument spec, so that every error
        names the project and the field. No other key is accepted; a key set
        to V(null) counts as not given.
      - C(name) (str, required) - name of the project and of its daemon process
        group, unique, matching C(^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$).
      - C(thread_safe) (bool, default V(true)) - whether the application may run
        several requests at once in one process. When V(false), the project
        always gets one thread per process, and an explicit C(threads) above 1
        is an error.
      - C(cpu_ms) (float, required, more than 0) - mean CPU time in milliseconds
        that one request spends running Python code in the application.
      - C(wait_ms) (float, required, 0 or more) - mean time in milliseconds that
        one request spends waiting on I/O (database, RPC, files).
      - C(rss_mb) (int, required, at least 1) - resident memory in MB of one
        daemon process of this project.
      - C(peak_rps) (float, optional, 0 or more) - peak requests per second to
        serve. When omitted, the project is sized to use its share of the
        host's CPUs, O(host.cpus) times its C(weight) divided by the sum of all
        weights. A rate that would need more than all the host's CPUs is
        reduced to what they can serve, with a warning.
      - C(weight) (float, default V(1), more than 0) - relative share of the
        project when projects compete for CPUs (without C(peak_rps)) or for
        memory (when computed process counts must be scaled down).
      - C(processes) (int, optional, 1 to 256) - explicit number of daemon
        processes, kept as given and never scaled down, but counted in the
        memory budget. When given, C(processes=) is always written, even
        C(processes=1), so the application sees C(wsgi.multiprocess) true.
      - C(threads) (int, optional, 1 to 250) - explicit number of threads per
        daemon process, kept as given.
    type: list
    elements: raw
    required: true
attributes:
  check_mode:
    support: full
    description: The module only computes and reads; it changes nothing, so check mode returns the same result.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
  idempotent:
    support: full
    description: The same input always gives the same result, and RV(ignore:changed) is always false.
notes:
  - >-
    Bad input fails with a message naming the project and the field, for
    example C(project 'keystone': field 'cpu_ms': must be > 0) followed by
    the value given.
  - The module fails when even one process per project, plus the explicit
    process counts, does not fit in the memory budget; the message names the
    projects and the shortfall in MB.
  - Warnings (scaled-down projects, CPU overcommit, capacity below the load)
    are shown as task warnings and also returned in RV(sizing_warnings).
seealso:
  - name: mod_wsgi WSGIDaemonProcess directive
    description: Options of the daemon process groups this module sizes.
    link: https://modwsgi.readthedocs.io/en/master/configuration-directives/WSGIDaemonProcess.html
  - name: Apache event MPM
    description: ServerLimit, ThreadsPerChild and MaxRequestWorkers.
    link: https://httpd.apache.org/docs/2.4/mod/event.html
"""

EXAMPLES = r"""
- name: Size the daemon groups from facts read on the target
  modwsgi.fleet.wsgi_sizing:
    projects:
      - name: keystone
        cpu_ms: 8
        wait_ms: 40
        rss_mb: 120
        peak_rps: 150
      - name: legacy-cms
        thread_safe: false
        cpu_ms: 20
        wait_ms: 80
        rss_mb: 90
        weight: 0.5
  register: sizing

- name: Size for a given host, keeping one project's explicit settings
  modwsgi.fleet.wsgi_sizing:
    host:
      cpus: 8
      memory_mb: 16384
    reserve_memory_mb: 2048
    projects:
      - name: keystone
        cpu_ms: 8
        wait_ms: 40
        rss_mb: 120
        processes: 4
        threads: 8
      - name: nova-api
        cpu_ms: 30
        wait_ms: 10
        rss_mb: 200
        weight: 2
  register: sizing

- name: Show the daemon process line of each project
  ansible.builtin.debug:
    msg: >-
      WSGIDaemonProcess {{ item.key }}
      {{ ('processes=%d ' % item.value.processes) if item.value.processes_explicit else '' -}}
      threads={{ item.value.threads }}
  loop: "{{ sizing.projects | dict2items }}"

- name: Show how the numbers were reached
  ansible.builtin.debug:
    var: sizing.explanation
"""

RETURN = r"""
host:
  description: The host resources used, and where they came from.
  returned: success
  type: dict
  sample:
    cpus: 8
    memory_mb: 16384
    source: gathered
    cpus_from: cgroup v2 cpu.max
    memory_from: /proc/meminfo MemTotal
  contains:
    cpus:
      description: Usable CPUs.
      returned: success
      type: int
      sample: 8
    memory_mb:
      description: Usable memory in MB.
      returned: success
      type: int
      sample: 16384
    source:
      description: V(given) when O(host) was passed, V(gathered) when read on the target.
      returned: success
      type: str
      sample: gathered
    cpus_from:
      description: Which limit decided RV(host.cpus), or V(given).
      returned: success
      type: str
      sample: cgroup v2 cpu.max
    memory_from:
      description: Which limit decided RV(host.memory_mb), or V(given).
      returned: success
      type: str
      sample: /proc/meminfo MemTotal
budget_mb:
  description: Memory in MB the daemon processes may use together, RV(host.memory_mb) less O(reserve_memory_mb).
  returned: success
  type: int
  sample: 15360
overhead_ms:
  description: O(overhead_ms) as used.
  returned: success
  type: float
  sample: 0.4
projects:
  description:
    - The sizing of each project, keyed by project name.
    - The keys of each entry are listed below.
  returned: success
  type: dict
  sample:
    keystone:
      processes: 2
      threads: 6
      processes_explicit: true
      mode: worker
      multiprocess: true
      multithread: true
      capacity: 12
      rss_mb_total: 240
      queue_timeout: 5
      request_timeout: 60
      listen_backlog: 1250
      model:
        cpu_fraction: 0.1667
        rps: 150.0
        rps_source: peak_rps
        busy_ms: 48.0
        busy: 7.2
        concurrency: 11
        cpu_demand: 1.2
        processes_wanted: 2
  contains:
    processes:
      description: Daemon processes of the group.
      returned: success
      type: int
      sample: 2
    threads:
      description: Threads per daemon process.
      returned: success
      type: int
      sample: 6
    processes_explicit:
      description:
        - Whether C(processes=) must be written in C(WSGIDaemonProcess).
        - True when C(processes) was given or more than one process was computed.
          A computed single process is written by omitting C(processes=).
      returned: success
      type: bool
      sample: true
    mode:
      description:
        - V(prefork) with one thread per process, V(winnt) with one process and
          several threads, V(worker) with several of each.
      returned: success
      type: str
      sample: worker
    multiprocess:
      description: The C(wsgi.multiprocess) flag the application sees, equal to RV(projects.processes_explicit).
      returned: success
      type: bool
      sample: true
    multithread:
      description: The C(wsgi.multithread) flag the application sees, true with more than one thread.
      returned: success
      type: bool
      sample: true
    capacity:
      description: Requests served concurrently, processes times threads.
      returned: success
      type: int
      sample: 12
    rss_mb_total:
      description: Memory of the group in MB, processes times C(rss_mb).
      returned: success
      type: int
      sample: 240
    queue_timeout:
      description:
        - Recommended C(queue-timeout) in seconds, 100 mean request times, from 5 to 45; the wsgi role
          writes it on the group's line.
      returned: success
      type: int
      sample: 5
    request_timeout:
      description:
        - Recommended C(request-timeout) in seconds, 250 mean request times, from 60 to 600; the wsgi role
          writes it on the group's line.
      returned: success
      type: int
      sample: 60
    listen_backlog:
      description:
        - Recommended C(listen-backlog), the requests the group serves at full
          capacity within the queue timeout, from 100 to 4096; the wsgi role writes it on the group's line.
      returned: success
      type: int
      sample: 1250
    model:
      description: The figures of the latency model behind the numbers.
      returned: success
      type: dict
      contains:
        cpu_fraction:
          description: CPU time over total time per request, C(cpu_ms) / (cpu_ms + wait_ms).
          returned: success
          type: float
          sample: 0.1667
        rps:
          description: Requests per second sized for.
          returned: success
          type: float
          sample: 150.0
        rps_source:
          description: Where RV(projects.model.rps) comes from, V(peak_rps), a CPU share, or V(all CPUs) when capped.
          returned: success
          type: str
          sample: peak_rps
        busy_ms:
          description:
            - How long a request keeps a thread, in ms. Its latency (C(cpu_ms) + C(wait_ms)), except for a
              project sized by its CPU share on a host it shares, whose C(cpu_ms) counts total weight / its
              weight times, as long as it takes when every project is busy.
          returned: success
          type: float
          sample: 48.0
        busy:
          description: Requests in progress on average at that rate, rps times RV(projects.model.busy_ms) (Little's law).
          returned: success
          type: float
          sample: 7.2
        concurrency:
          description: Concurrent requests to provide for, busy times 1.5 rounded up, at least 1.
          returned: success
          type: int
          sample: 11
        cpu_demand:
          description: CPUs the project keeps busy at that rate, rps times C(cpu_ms) / 1000.
          returned: success
          type: float
          sample: 1.2
        processes_wanted:
          description: Processes before the memory budget was applied.
          returned: success
          type: int
          sample: 2
apache:
  description: Apache event MPM settings covering all daemon groups.
  returned: success
  type: dict
  sample:
    daemon_capacity: 12
    server_limit: 4
    threads_per_child: 25
    max_request_workers: 50
  contains:
    daemon_capacity:
      description: Sum of the projects' RV(projects.capacity).
      returned: success
      type: int
      sample: 12
    server_limit:
      description: C(ServerLimit), twice the children needed, leaving slots for children finishing gracefully.
      returned: success
      type: int
      sample: 4
    threads_per_child:
      description: C(ThreadsPerChild).
      returned: success
      type: int
      sample: 25
    max_request_workers:
      description:
        - C(MaxRequestWorkers), a multiple of C(ThreadsPerChild), at least the daemon capacity
          plus 25% (at least one more child).
      returned: success
      type: int
      sample: 50
sizing_warnings:
  description:
    - Problems found, such as processes scaled down for memory or CPUs overcommitted.
    - The same messages are also emitted as task warnings.
  returned: success
  type: list
  elements: str
  sample:
    - "memory: the projects want 25600 MB, the budget is 15360 MB; processes scaled down by weight: keystone 8 -> 4"
explanation:
  description: The arithmetic behind the numbers, one line for the host, each project, memory and Apache.
  returned: success
  type: list
  elements: str
  sample:
    - "host: 8 CPUs (given), 16384 MB (given); budget 15360 MB = 16384 - 1024 reserved"
    - "keystone: CPU 17% (8 of 48 ms), 150 rps (peak_rps) x 48 ms = 7.2 busy, x1.5 = 11 concurrent; ..."
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.modwsgi.fleet.plugins.module_utils._sizing import (
    DEFAULT_OVERHEAD_MS,
    DEFAULT_RESERVE_MB,
    SizingError,
    gather_host,
    size_projects,
)

ARGUMENT_SPEC = dict(
    host=dict(
        type="dict",
        options=dict(
            cpus=dict(type="int", required=True),
            memory_mb=dict(type="int", required=True),
        ),
    ),
    reserve_memory_mb=dict(type="int", default=DEFAULT_RESERVE_MB),
    other_capacity=dict(type="int", default=0),
    overhead_ms=dict(type="float", default=DEFAULT_OVERHEAD_MS),
    projects=dict(type="list", elements="raw", required=True),
)


def main():
    """Read the host if needed, size the projects, report."""
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    try:
        host = params["host"] if params["host"] is not None else gather_host()
        result = size_projects(params["projects"], host, params["reserve_memory_mb"], params["other_capacity"],
                               params["overhead_ms"])
    except SizingError as exc:
        module.fail_json(msg=str(exc))
    else:
        for warning in result.warnings:
            module.warn(warning)
        module.exit_json(changed=False, **result.to_dict())


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: wsgi_plan
short_description: Validate WSGI projects and lay out their daemon groups, virtual hosts and ports
version_added: 0.1.0
description:
  - Checks every entry of a list of WSGI projects (the C(wsgi_projects) variable of the
    C(modwsgi.fleet.wsgi) role) against a whitelist of names, paths, ports and
    C(WSGIDaemonProcess) options, so that inventory data only ever reaches Apache as data.
  - Each error names the project and the field, and nothing on the host is changed.
  - Lays the projects out as Apache sees them, one daemon process group per project or a
    shared one where projects name the same C(daemon), one virtual host per
    port (and server name), mounts ordered so that each path reaches its own project.
  - With O(host_facts) (from M(modwsgi.fleet.wsgi_facts)) it also sizes the daemon groups whose projects
    give C(sizing) metadata, as M(modwsgi.fleet.wsgi_sizing) does, and with O(front_end) the event MPM in
    front of them, so that the result is the host's final render model (the role's templates only print it).
  - Everything the role will use is checked here, sizing metadata and the host's memory budget included, so
    that what this module accepts cannot fail later for a reason the inputs and the facts already told.
extends_documentation_fragment:
  - modwsgi.fleet.module
attributes:
  action:
    support: full
    description:
      - An action plugin computes the plan on the controller, in the worker that runs the task, with no
        connection to the host and no Python process of its own.
  check_mode:
    support: full
    description: The module only reads its arguments; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to show.
  idempotent:
    support: full
    description: The same projects always give the same plan.
options:
  projects:
    description:
      - The projects, as documented for the C(wsgi_projects) variable of the C(modwsgi.fleet.wsgi) role.
      - Each entry is checked here, field by field, rather than by the argument spec, so that the
        error can name the project.
    type: list
    elements: raw
    required: true
  base_dir:
    description:
      - Directory under which each project copied from C(source) gets its own folder.
    type: str
    default: /srv/wsgi
  default_threads:
    description:
      - Threads of a daemon group whose projects do not set any.
    type: int
    default: 15
  reserved_ports:
    description:
      - Ports another configuration already listens on; no C(Listen) line is planned for them.
    type: list
    elements: int
    default: []
  mod_wsgi_version:
    description:
      - Version of the host's mod_wsgi, as its package reports it (for example C(4.9.4-1+b2)).
      - C(options) that mod_wsgi only knows from a later version are refused, naming the project,
        the option and both versions (for example C(interrupt-timeout) needs mod_wsgi 6.0).
      - Empty when mod_wsgi is not installed yet; then only the values of the options are checked.
    type: str
    default: ""
  host_facts:
    description:
      - What M(modwsgi.fleet.wsgi_facts) read on the host (its RV(modwsgi.fleet.wsgi_facts#module:host_facts)).
      - Its C(cpus) and C(memory_mb) size the groups with C(sizing) metadata; its C(mod_wsgi_version) is used
        as O(mod_wsgi_version) when that is empty.
      - Empty, nothing is sized and RV(sizing) lists the requests for M(modwsgi.fleet.wsgi_sizing).
    type: dict
    default: {}
  reserve_memory_mb:
    description: Memory the sizing keeps for the OS and Apache itself.
    type: int
    default: 1024
  front_end:
    description:
      - The event MPM as the C(modwsgi.fleet.apache) role is configured, C(server_limit),
        C(threads_per_child) and C(max_request_workers). RV(front_end) keeps these numbers, raised where
        they cannot hand every daemon thread a request; they are never lowered.
      - Omitted, RV(front_end) is null.
    type: dict
    suboptions:
      server_limit:
        description: C(ServerLimit) as configured.
        type: int
        required: true
      threads_per_child:
        description: C(ThreadsPerChild) as configured.
        type: int
        required: true
      max_request_workers:
        description: C(MaxRequestWorkers) as configured.
        type: int
        required: true
  isolation:
    description:
      - C(shared) runs every daemon group in the main Apache (the role's C(wsgi_isolation)).
      - C(instance) runs each daemon group in an Apache instance of its own, on a loopback port, and
        the main Apache proxies each mount to it; each group then gets RV(groups[].instance).
    type: str
    choices: [shared, instance]
    default: shared
  instance_port_base:
    description:
      - First loopback port given to the instances; each daemon group takes two (blue and green) and
        keeps them for as long as it exists (the host's C(instances) fact records them).
    type: int
    default: 20000
  daemon_options:
    description:
      - C(WSGIDaemonProcess) options for every daemon group (the role's C(wsgi_daemon_options)), checked like
        a project's C(options); errors name C(daemon_options.<option>) as C(wsgi_daemon_options.<option>).
      - Each group's RV(groups[].options) are the production defaults (C(lang), C(locale), C(queue-timeout),
        C(request-timeout), C(socket-timeout), C(connect-timeout), C(listen-backlog), C(startup-timeout),
        C(deadlock-timeout), C(graceful-timeout), C(shutdown-timeout)), then the sized C(queue-timeout),
        C(request-timeout) and C(listen-backlog) of a sized group, then these, then the project's own
        C(options).
    type: dict
    default: {}
  overhead_ms:
    description:
      - CPU milliseconds that Apache and mod_wsgi spend on each request besides the app (the role's
        C(wsgi_sizing_overhead_ms)). The sizing counts it in each group's share of the CPUs.
      - Omitted, the default measured by C(bench/colocate) for O(isolation) is used, 0.4 for C(shared) and
        0.7 for C(instance), whose main Apache also proxies each request.
    type: float
  resources:
    description:
      - The systemd resource control of each group's instance units, with O(isolation=instance) (the
        role's C(wsgi_resource_*) variables, without that prefix), C(enabled) (default true),
        C(cpu_quota_percent) (95, 0 for none), C(memory_high_percent) (125), C(memory_max_percent) (150), C(instance_mb) (64), C(slice)
        (C(wsgi.slice)). Errors name the role variable.
      - Each group's C(instance) in RV(groups) then holds C(resources), and RV(explanation) a line per group.
      - C(cpu_quota_percent) is a percent of the group's weight share of the host's CPUs (O(host_facts)' C(cpus)
        over the weights of all the groups); without C(cpus) in O(host_facts), no group gets a quota.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Check the projects and plan their Apache layout
  modwsgi.fleet.wsgi_plan:
    projects:
      - name: keystone
        script: /usr/bin/keystone-wsgi-public
        port: 5000
        processes: 4
        threads: 1
      - name: project1
        source: files/project1.wsgi
        daemon: portal
        path: /project1
      - name: project2
        source: files/project2.wsgi
        daemon: portal
        path: /project2
  register: plan
"""

RETURN = r"""
projects:
  description:
    - The present projects with every default filled in, sorted by name.
    - C(promised) is what its app sees, C(multithread), C(multiprocess) and C(mode) (C(embedded) in embedded mode).
    - C(probe) is how the role asks the project on the host itself, for modwsgi.fleet.wsgi_healthcheck
      (its C(name), its C(url) on 127.0.0.1, and the C(host_header) of its virtual host, empty when it has
      no server name).
  returned: success
  type: list
  elements: dict
  sample:
    - name: keystone
      state: present
      mode: daemon
      script: /usr/bin/keystone-wsgi-public
      source: null
      port: 5000
      path: /
      server_name: null
      user: keystone
      group: keystone
      python_home: null
      python_path: []
      pip_packages: []
      processes: 4
      threads: 1
      options: {}
      daemon: keystone
      application_group: "%{GLOBAL}"
      pass_authorization: false
      probe: {name: keystone, url: "http://127.0.0.1:5000/", host_header: ""}
      promised: {multithread: false, multiprocess: true, mode: prefork}
files:
  description: >-
    The projects whose script is copied from the controller, as O(modwsgi.fleet.wsgi_files#module:files)
    takes them (the file's group is the project's C(group), else root).
  returned: success
  type: list
  elements: dict
  sample: [{"project": placement, "src": examples/hello.wsgi, "dest": /srv/wsgi/placement/placement.wsgi, "group": root}]
scripts:
  description: The scripts already on the host, as O(modwsgi.fleet.wsgi_files#module:scripts) takes them.
  returned: success
  type: list
  elements: dict
  sample: [{"project": keystone, "path": /usr/bin/keystone-wsgi-public}]
releases:
  description: The projects' code trees, as O(modwsgi.fleet.wsgi_release#module:releases) takes them.
  returned: success
  type: list
  elements: dict
  sample: [{"project": blog, "root": /srv/wsgi/blog, "src": blog/, "wsgi_file": blog/wsgi.py, "keep": 3}]
hooks:
  description:
    - The hooks of the projects' code trees, in order, each with its C(project), C(hook) (its name), C(command)
      (an argument list), and the C(user), C(root) and C(python_home) it runs with.
  returned: success
  type: list
  elements: dict
  sample: [{"project": blog, "hook": migrate, "command": [python, manage.py, migrate, --noinput], "user": blog,
            "root": /srv/wsgi/blog, "python_home": /srv/wsgi/blog/venv}]
directories:
  description:
    - The folders of the projects' C(static) mounts and C(data_dirs), which O(modwsgi.fleet.wsgi_files#module:directories)
      creates where missing.
    - A C(writable) static folder and a data folder carry the project's account as C(owner) and C(group), and a C(mode).
  returned: success
  type: list
  elements: dict
  sample: [{"project": horizon, "path": /srv/wsgi/horizon/static}, {"project": shop, "path": /srv/wsgi/shop/data, "owner": shop, "group": shop, "mode": "0750"}]
absent:
  description: Names of the projects whose C(state) is C(absent).
  returned: success
  type: list
  elements: str
  sample: [retired]
groups:
  description: One entry per C(WSGIDaemonProcess) line, sorted by name.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Daemon group name, also its processes' display name C((wsgi:NAME)).
      type: str
    user:
      description: Account the daemons run as.
      type: str
    group:
      description: Group the daemons run as.
      type: str
    processes:
      description: Processes, or null when C(processes=) is not written (one process, and the app sees C(wsgi.multiprocess) false).
      type: int
    processes_explicit:
      description: Whether C(processes=) is written.
      type: bool
    threads:
      description: Threads per process.
      type: int
    python_home:
      description: Virtual environment of the group, or null.
      type: str
    python_path:
      description: Extra module search paths.
      type: list
      elements: str
    options:
      description: Every further C(WSGIDaemonProcess) option of the group, by name, with its value.
      type: dict
    option_sources:
      description:
        - For each of RV(groups[].options), what decided its value - C(default) (the production defaults),
          C(sized), C(host) (O(daemon_options)) or C(project) (the project's C(options)).
      type: dict
    projects:
      description: Names of the projects served by the group.
      type: list
      elements: str
    sized:
      description: Whether a project of the group gives C(sizing) metadata (then M(modwsgi.fleet.wsgi_sizing) sizes it).
      type: bool
    multithread:
      description: The C(wsgi.multithread) its apps see (more than one thread).
      type: bool
    multiprocess:
      description: The C(wsgi.multiprocess) its apps see (C(processes=) written).
      type: bool
    mode:
      description: C(prefork) (one thread), C(winnt) (one process, threads) or C(worker).
      type: str
    capacity:
      description: Requests the group serves at once, processes x threads.
      type: int
    instance:
      description:
        - With O(isolation=instance), the group's two Apache instances, C(blue) and C(green).
        - C(live) is the colour the main Apache proxies to (null before the first start), C(next) the
          one a change starts; C(ports), C(urls) and C(names) per colour, C(address) the loopback address
          they listen on; C(mpm), its own event MPM sized from
          the group's capacity; C(mounts), the paths it serves; C(probes), the health checks per colour;
          C(resources), its units' systemd resource control (null when O(resources) disables it), with
          C(slice), C(cpu_weight), C(cpu_quota_percent) (null with no quota), C(memory_high_mb) and C(memory_max_mb) (null without C(sizing.rss_mb)),
          C(tasks_max) and C(explanation).
      type: dict
      returned: when O(isolation=instance)
  sample:
    - name: portal
      user: portal
      group: portal
      processes: null
      processes_explicit: false
      threads: 15
      python_home: null
      python_path: []
      options: {connect-timeout: 15, deadlock-timeout: 60, graceful-timeout: 15, lang: C.UTF-8,
                listen-backlog: 100, locale: C.UTF-8, queue-timeout: 45, request-timeout: 60,
                shutdown-timeout: 5, socket-timeout: 60, startup-timeout: 15}
      option_sources: {connect-timeout: default, deadlock-timeout: default, graceful-timeout: default,
                       lang: default, listen-backlog: default, locale: default, queue-timeout: default,
                       request-timeout: default, shutdown-timeout: default, socket-timeout: default,
                       startup-timeout: default}
      projects: [project1, project2]
      sized: false
      multithread: true
      multiprocess: false
      mode: winnt
      capacity: 15
vhosts:
  description: One entry per virtual host, by port then server name.
  returned: success
  type: list
  elements: dict
  contains:
    port:
      description: Port of the virtual host.
      type: int
    server_name:
      description: Its C(ServerName), or null for any name.
      type: str
    mounts:
      description:
        - The projects it serves, longest path first (the order C(WSGIScriptAlias) needs).
        - Each has C(project), C(path), C(script), C(script_dir), C(group) (null in embedded mode),
          C(application_group), C(pass_authorization) and C(release_root) (for a project with C(code), its
          folder, which holds the C(current) link; else null).
      type: list
      elements: dict
    static:
      description:
        - The projects' static mounts on it, longest path first (the order C(Alias) needs), each with
          C(project), C(path), C(directory), C(max_age) (null for no cache header) and C(cache_header),
          which is C(set) with C(max_age), C(unset) for a path without it below one with it (which would inherit
          its header), else null.
      type: list
      elements: dict
  sample:
    - port: 80
      server_name: null
      mounts:
        - project: project1
          path: /project1
          script: /srv/wsgi/project1/project1.wsgi
          script_dir: /srv/wsgi/project1
          group: portal
          application_group: "%{RESOURCE}"
          pass_authorization: false
listen:
  description: Ports that need a C(Listen) line, without O(reserved_ports).
  returned: success
  type: list
  elements: int
  sample: [80, 5000]
embedded:
  description: Whether any project runs in embedded mode (then C(WSGIRestrictEmbedded) stays off).
  returned: success
  type: bool
  sample: false
daemon_options:
  description: O(daemon_options) as checked, which every group's RV(groups[].options) carry unless sized or set by the project.
  returned: success
  type: dict
  sample: {request-timeout: 30}
venvs:
  description: Virtual environments to build, each with the pip requirements of the projects that use it.
  returned: success
  type: list
  elements: dict
  sample:
    - python_home: /srv/wsgi/placement/venv
      packages: [flask]
sizing:
  description:
    - One entry per daemon group whose projects give C(sizing) metadata, ready for
      M(modwsgi.fleet.wsgi_sizing) (named after the group; explicit processes and threads included).
  returned: success
  type: list
  elements: dict
  sample:
    - name: glance
      cpu_ms: 20
      wait_ms: 60
      rss_mb: 80
unsized_capacity:
  description: Concurrent requests (processes x threads) of the daemon groups that are not sized.
  returned: success
  type: int
  sample: 40
front_end:
  description:
    - The event MPM Apache gets, from O(front_end) and the groups' capacity; null without O(front_end).
    - C(explanation) says whether the configured numbers cover the daemons or were raised, and why.
  returned: success
  type: dict
  sample:
    server_limit: 16
    threads_per_child: 25
    max_request_workers: 400
    daemon_capacity: 168
    raised: false
    explanation: "front end: daemon capacity 168 + max(25%, 25) needs MaxRequestWorkers 225; the configured 400 covers it: kept"
isolation:
  description: The isolation the model is for, O(isolation).
  returned: success
  type: str
  sample: instance
retired_instances:
  description:
    - The Apache instances the host still records for daemon groups that no longer exist (all of them
      with O(isolation=shared)), each with its C(group), C(names) and C(ports); the role stops and removes them.
  returned: success
  type: list
  elements: dict
  sample: []
host:
  description: The facts the model was computed with (from O(host_facts)).
  returned: success
  type: dict
  sample: {cpus: 2, memory_mb: 3900, cpus_from: sched_getaffinity, memory_from: /proc/meminfo MemTotal,
           mod_wsgi_version: 4.9.4-1+b2, mod_wsgi_python: "3.11"}
sizing_warnings:
  description: The sizing's warnings (processes scaled down for memory, CPUs overcommitted, ...).
  returned: success
  type: list
  elements: str
  sample: []
explanation:
  description: The sizing's arithmetic, a line for the host, each sized group and memory, then the front end.
  returned: success
  type: list
  elements: str
  sample: ["host: 2 CPUs (sched_getaffinity), 3900 MB (/proc/meminfo MemTotal); budget 2876 MB = 3900 - 1024 reserved"]
accounts:
  description: The distinct user and group pairs the daemon groups run as, sorted.
  returned: success
  type: list
  elements: dict
  sample: [{"user": keystone, "group": keystone}]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.modwsgi.fleet.plugins.module_utils._model import PLAN_ARGUMENT_SPEC, plan_from_args
from ansible_collections.modwsgi.fleet.plugins.module_utils._plan import PlanError


def main():
    module = AnsibleModule(argument_spec=PLAN_ARGUMENT_SPEC, supports_check_mode=True)
    try:
        model = plan_from_args(module.params)
    except PlanError as exc:
        module.fail_json(msg="Invalid wsgi_projects: %s" % exc)
    for warning in model["sizing_warnings"]:
        module.warn(warning)
    module.exit_json(changed=False, **model)


if __name__ == "__main__":
    main()

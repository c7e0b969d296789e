#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: wsgi_facts
short_description: Read what the WSGI plan needs to know about a host, in one call
version_added: 0.2.0
description:
  - Reads, on the target, everything M(modwsgi.fleet.wsgi_plan) needs about the host, so that
    the plan itself is computed on the controller from the inventory and these facts alone.
  - The usable CPUs (the CPU affinity and every cgroup v1/v2 CPU quota, rounded up) and memory
    (C(MemTotal) and every cgroup memory limit), the smallest of each.
  - The installed mod_wsgi's version, from the package manager, and the Python version it is
    built for, from the C(libpython) its Apache module links.
  - With O(instances_state), the Apache instances the role runs for each daemon group in
    isolation C(instance), which one is live and their ports.
extends_documentation_fragment:
  - modwsgi.fleet.module
  - modwsgi.fleet.module.reads_only
options:
  mod_wsgi_module:
    description:
      - Path of mod_wsgi's Apache module on the host, whose linked C(libpython) tells the
        Python it embeds.
    type: path
    required: true
  version_command:
    description:
      - Command that prints the installed mod_wsgi package's version and fails when it is not
        installed, as a list of arguments (no shell).
    type: list
    elements: str
    required: true
  host:
    description:
      - CPUs and memory to report instead of reading them (the role's C(wsgi_sizing_host)).
    type: dict
    suboptions:
      cpus:
        description: Usable CPUs.
        type: int
        required: true
      memory_mb:
        description: Usable memory in MB.
        type: int
        required: true
  instances_state:
    description:
      - Path of the JSON file in which the role records each daemon group's Apache instances
        (isolation C(instance)). A missing file means that no instance was ever started.
    type: path
notes:
  - Before mod_wsgi is installed, RV(host_facts.mod_wsgi_installed) is false and the version and
    Python are empty; the role then reads the facts again once the apache role has installed it.
seealso:
  - module: modwsgi.fleet.wsgi_plan
  - module: modwsgi.fleet.wsgi_sizing
"""

EXAMPLES = r"""
- name: Read what the plan needs about the host
  modwsgi.fleet.wsgi_facts:
    mod_wsgi_module: /usr/lib/apache2/modules/mod_wsgi.so
    version_command: [dpkg-query, --show, "--showformat=${Version}", libapache2-mod-wsgi-py3]
  register: facts

- name: Plan on the controller from them
  modwsgi.fleet.wsgi_plan:
    projects: "{{ wsgi_projects }}"
    host_facts: "{{ facts.host_facts }}"
"""

RETURN = r"""
host_facts:
  description: What the plan takes about the host.
  returned: success
  type: dict
  contains:
    cpus:
      description: Usable CPUs.
      type: int
      sample: 2
    memory_mb:
      description: Usable memory in MB.
      type: int
      sample: 3900
    cpus_from:
      description: Where the CPU figure comes from.
      type: str
      sample: sched_getaffinity
    memory_from:
      description: Where the memory figure comes from.
      type: str
      sample: cgroup v2 memory.max
    mod_wsgi_installed:
      description: Whether the mod_wsgi package is installed.
      type: bool
      sample: true
    mod_wsgi_version:
      description: The installed package's version, empty when it is not installed.
      type: str
      sample: 4.9.4-1+b2
    mod_wsgi_python:
      description: The C(X.Y) version of the Python mod_wsgi is built for, empty when unknown.
      type: str
      sample: "3.11"
    instances:
      description:
        - The content of O(instances_state), null when it is not given or the file does not exist.
      type: dict
      sample: {"groups": {"keystone": {"live": "blue", "ports": {"blue": 20000, "green": 20001}}}}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.modwsgi.fleet.plugins.module_utils._facts import host_facts, package_version
from ansible_collections.modwsgi.fleet.plugins.module_utils._sizing import Host


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mod_wsgi_module=dict(type="path", required=True),
            version_command=dict(type="list", elements="str", required=True),
            host=dict(type="dict", options=dict(cpus=dict(type="int", required=True),
                                                memory_mb=dict(type="int", required=True))),
            instances_state=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not params["version_command"]:
        module.fail_json(msg="version_command: must name a command, got an empty list")
    rc, out = 1, ""
    if module.get_bin_path(params["version_command"][0]):
        rc, out, _err = module.run_command(params["version_command"])
    given = params["host"]
    try:
        facts = host_facts(params["mod_wsgi_module"], package_version(rc, out),
                           Host(cpus=given["cpus"], memory_mb=given["memory_mb"]) if given else None,
                           instances_state=params["instances_state"] or "")
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, host_facts=facts)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_state
short_description: Read in one call what a role would change on a host
version_added: 0.2.0
description:
  - Reads on the target which packages are missing, which files differ from what the controller
    would write, the state of some paths, the text of some files and whether a service is enabled
    and running.
  - A role calls it once, then runs the tasks that change something only where something differs.
    Over SSH each module call costs a round trip and a Python start on the host; the
    C(modwsgi.fleet.apache) role's no-change run makes one call here where it made one per package,
    module, file and path.
extends_documentation_fragment:
  - modwsgi.fleet.module
  - modwsgi.fleet.module.reads_only
options:
  packages:
    description:
      - Packages to look for; those not installed are returned in RV(missing_packages).
    type: list
    elements: str
    default: []
  package_query:
    description:
      - Command, as a list of arguments (no shell), that is run with each package of O(packages)
        appended and exits 0 printing C(installed) when that package is installed.
      - Debian family C([dpkg-query, --show, "--showformat=${db:Status-Status}"]); RHEL family
        C([rpm, --query, --queryformat=installed]).
      - Required when O(packages) is not empty.
    type: list
    elements: str
    default: []
  files:
    description:
      - Regular files as the controller would write them, by path. Each one whose content, mode,
        owner or group differ, or that is missing or not a regular file, is returned in
        RV(stale_files). A key left out is not compared.
    type: dict
    default: {}
  paths:
    description:
      - Paths whose type, mode, owner and group are returned in RV(paths) (a link is not followed).
    type: list
    elements: path
    default: []
  read:
    description:
      - Text files returned whole in RV(contents).
    type: list
    elements: path
    default: []
  service:
    description:
      - A systemd unit whose state is returned in RV(service).
    type: str
    default: ""
notes:
  - The wanted C(sha1) of a file is computed on the controller, for instance
    C(lookup('ansible.builtin.template', 'ports.conf.j2') | hash('sha1')), which is what the
    M(ansible.builtin.template) module writes.
seealso:
  - module: modwsgi.fleet.wsgi_facts
"""

EXAMPLES = r"""
- name: Read what the apache role would change
  modwsgi.fleet.host_state:
    packages: [apache2, libapache2-mod-wsgi-py3]
    package_query: [dpkg-query, --show, "--showformat=${db:Status-Status}"]
    files:
      /etc/apache2/ports.conf:
        sha1: "{{ lookup('ansible.builtin.template', 'ports.conf.j2') | hash('sha1') }}"
        mode: "0644"
        owner: root
        group: root
    paths:
      - /etc/apache2/mods-enabled/mpm_event.load
    read:
      - /etc/apache2/conf-enabled/modwsgi-fleet.conf
    service: apache2
  register: state

- name: Write the listen ports where they differ
  ansible.builtin.template:
    src: ports.conf.j2
    dest: /etc/apache2/ports.conf
    owner: root
    group: root
    mode: "0644"
  when: "'/etc/apache2/ports.conf' in state.stale_files"
"""

RETURN = r"""
missing_packages:
  description: The packages of O(packages) that are not installed.
  returned: success
  type: list
  elements: str
  sample: [logrotate]
stale_files:
  description: The paths of O(files) that differ from what is wanted, sorted.
  returned: success
  type: list
  elements: str
  sample: [/etc/apache2/ports.conf]
paths:
  description:
    - Each path of O(paths) with its C(type) (C(file), C(directory), C(link) or C(other)),
      C(mode) (four octal digits), C(owner) and C(group); null when it does not exist.
  returned: success
  type: dict
  sample: {"/etc/apache2/mods-enabled/mpm_event.load":
           {"type": "link", "mode": "0777", "owner": "root", "group": "root"}}
contents:
  description: The text of each file of O(read); null when it does not exist.
  returned: success
  type: dict
  sample: {"/etc/apache2/conf-enabled/modwsgi-fleet.conf": "ServerTokens Prod\n"}
service:
  description: Whether O(service) is enabled and active; empty when no service is given.
  returned: success
  type: dict
  sample: {"enabled": true, "active": true}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.modwsgi.fleet.plugins.module_utils._state import host_state


def main():
    module = AnsibleModule(
        argument_spec=dict(
            packages=dict(type="list", elements="str", default=[]),
            package_query=dict(type="list", elements="str", default=[]),
            files=dict(type="dict", default={}),
            paths=dict(type="list", elements="path", default=[]),
            read=dict(type="list", elements="path", default=[]),
            service=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    params = module.params

    def run(argv):
        if not module.get_bin_path(argv[0]):
            return 127, ""
        rc, out, _err = module.run_command(list(argv))
        return rc, out

    try:
        state = host_state(packages=params["packages"], package_query=params["package_query"],
                           files=params["files"], paths=params["paths"], read=params["read"],
                           service=params["service"], run=run)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg="cannot read %s: %s" % (exc.filename, exc.strerror))
    module.exit_json(changed=False, **state)


if __name__ == "__main__":
    main()

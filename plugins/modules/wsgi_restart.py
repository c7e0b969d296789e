#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: wsgi_restart
short_description: Gracefully restart one mod_wsgi daemon process group, touching no other
version_added: 0.2.0
description:
  - Finds the daemon processes of one C(WSGIDaemonProcess) group by their display name
    (V((wsgi:GROUP\)), written by C(display-name=%{GROUP})) among the children of Apache's
    parent process, and sends each in turn mod_wsgi's graceful restart signal (C(SIGUSR1)).
  - Each process goes on serving until its requests in flight have finished, for at most the
    group's C(eviction-timeout) or C(graceful-timeout) (then C(shutdown-timeout)), and exits; Apache
    starts a fresh one on the same socket. With neither timeout set mod_wsgi waits for the requests
    without end, which is why the wsgi role's production defaults set C(graceful-timeout=15).
    The next process is only signalled once the last one's successor
    runs, so the group keeps serving. Other groups, Apache's own processes and its
    configuration are not touched.
  - Optionally waits until a URL of the project answers again, and reports the old and new pids.
  - Use it when only a project's code or virtual environment changed; a changed Apache
    configuration needs a reload instead.
extends_documentation_fragment:
  - modwsgi.fleet.module
attributes:
  check_mode:
    support: full
    description: In check mode the processes are found and reported, and none is signalled.
  diff_mode:
    support: none
    description: Processes are restarted; no file changes.
  idempotent:
    support: none
    description: Every run restarts the group, as asked.
options:
  group:
    description:
      - Name of the daemon process group (the first argument of C(WSGIDaemonProcess)).
    type: str
    required: true
  user:
    description:
      - Account the group's daemons run as. When given, only processes of this account count.
      - Needed for a group whose name is cut short in the process list (names longer than the
        Apache binary's path leaves room for, 11 characters for C(/usr/sbin/apache2)).
    type: str
  pidfile:
    description:
      - Apache's PID file. By default the first that exists of C(/run/apache2/apache2.pid)
        (Debian) and C(/run/httpd/httpd.pid) (RHEL family).
    type: path
  url:
    description:
      - A URL of a project of the group. After the restart the module waits until it answers
        at all, with any status up to 500 (an app that answers 500 fails by itself and waiting does not
        help; the status is returned for the caller to judge). 502-504 and refused connections
        mean the daemons are still starting.
    type: str
  host_header:
    description:
      - C(Host) header sent to O(url) (for name-based virtual hosts).
    type: str
  timeout:
    description:
      - Seconds each process may take to make way for its successor, and the URL to answer.
    type: int
    default: 60
notes:
  - Daemon processes started without C(display-name=%{GROUP}) cannot be told apart; the
    C(modwsgi.fleet.wsgi) role always writes it.
seealso:
  - name: mod_wsgi WSGIDaemonProcess options
    description: C(eviction-timeout), C(graceful-timeout) and C(shutdown-timeout).
    link: https://modwsgi.readthedocs.io/en/master/configuration-directives/WSGIDaemonProcess.html
  - module: modwsgi.fleet.wsgi_plan
"""

EXAMPLES = r"""
- name: Restart the daemons of nova-api after new code was deployed
  modwsgi.fleet.wsgi_restart:
    group: nova-api
    user: nova-api
    url: http://127.0.0.1:8774/
  register: restarted

- name: Show the pids
  ansible.builtin.debug:
    msg: "{{ restarted.old_pids }} -> {{ restarted.new_pids }}"
"""

RETURN = r"""
group:
  description: The daemon process group.
  returned: always
  type: str
  sample: nova-api
old_pids:
  description: The group's daemon processes before the restart.
  returned: success
  type: list
  elements: int
  sample: [2101, 2102]
new_pids:
  description: The group's daemon processes after the restart (empty in check mode).
  returned: success
  type: list
  elements: int
  sample: [2250, 2263]
signalled_at:
  description: When each of RV(old_pids) was sent SIGUSR1, in seconds since the epoch (the host's clock).
  returned: success, not in check mode
  type: list
  elements: float
  sample: [1765000000.125, 1765000002.342]
drained_s:
  description:
    - Seconds each of RV(old_pids) took from its signal until its successor ran, its requests in flight
      drained (at most C(graceful-timeout) or C(eviction-timeout), then C(shutdown-timeout)).
  returned: success, not in check mode
  type: list
  elements: float
  sample: [2.107, 0.113]
status:
  description: HTTP status of O(url) once it answered.
  returned: when O(url) is given and not in check mode
  type: int
  sample: 200
"""

import os
import pwd
import signal
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.urllib.error import HTTPError
from ansible.module_utils.urls import open_url
from ansible_collections.modwsgi.fleet.plugins.module_utils._answers import is_settled
from ansible_collections.modwsgi.fleet.plugins.module_utils._restart import (
    RestartError,
    daemon_pids,
    read_processes,
    restart_group,
)

PIDFILES = ("/run/apache2/apache2.pid", "/var/run/apache2/apache2.pid", "/run/httpd/httpd.pid")


def apache_parent(module):
    candidates = [module.params["pidfile"]] if module.params["pidfile"] else list(PIDFILES)
    for path in candidates:
        if os.path.exists(path):
            with open(path) as handle:
                text = handle.read().strip()
            if text.isdigit() and os.path.exists("/proc/%s" % text):
                return int(text)
            module.fail_json(msg="%s does not hold the pid of a running Apache (%r)" % (path, text))
    module.fail_json(msg="Apache is not running: none of %s exists" % ", ".join(candidates))


def wait_for_url(module, deadline):
    """The URL's status once it answers (up to 500); fails at the deadline."""
    headers = {"Host": module.params["host_header"]} if module.params["host_header"] else {}
    last = None
    while True:
        try:
            status = open_url(module.params["url"], headers=headers, timeout=10, validate_certs=False).getcode()
        except HTTPError as exc:
            status = exc.code
        except Exception as exc:  # pylint: disable=broad-except  # any failure to connect means: not yet
            status, last = None, str(exc)
        if is_settled(status):
            return status
        last = status if status is not None else last
        if time.time() > deadline:
            module.fail_json(msg="%s did not answer within %d s after the restart (last: %s)"
                             % (module.params["url"], module.params["timeout"], last))
        time.sleep(0.5)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            group=dict(type="str", required=True),
            user=dict(type="str"),
            pidfile=dict(type="path"),
            url=dict(type="str"),
            host_header=dict(type="str"),
            timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    group = module.params["group"]
    uid = None
    if module.params["user"]:
        try:
            uid = pwd.getpwnam(module.params["user"]).pw_uid
        except KeyError:
            module.fail_json(msg="user %r does not exist on this host" % module.params["user"], group=group)
    parent = apache_parent(module)

    def find():
        return daemon_pids(read_processes(), parent, group, uid)

    if module.check_mode:
        old = find()
        if not old:
            module.fail_json(msg="daemon group %r has no running process under Apache" % group, group=group)
        module.exit_json(changed=True, group=group, old_pids=old, new_pids=[])

    try:
        result = restart_group(find, lambda pid: os.kill(pid, signal.SIGUSR1), time.sleep, time.time,
                               group, timeout=module.params["timeout"])
    except (RestartError, OSError) as exc:
        module.fail_json(msg=str(exc), group=group)
    extra = {}
    if module.params["url"]:
        extra["status"] = wait_for_url(module, time.time() + module.params["timeout"])
    module.exit_json(changed=True, group=group, old_pids=result.old_pids, new_pids=result.new_pids,
                     signalled_at=result.signalled_at, drained_s=result.drained_s, **extra)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: wsgi_accounts
short_description: Create the system accounts of many mod_wsgi daemon groups in one call
version_added: 0.2.0
description:
  - Creates the system groups and system users that the daemon process groups run as, for all
    of them in one call, instead of one M(ansible.builtin.group) and one M(ansible.builtin.user)
    task per account.
  - A group that does not exist is created with C(groupadd --system); a user that does not exist
    with C(useradd --system), its group as primary group, the given home directory (not created)
    and login shell. Groups are created first, then users, each in the order given, each once.
  - Accounts that exist are used as they are and never modified; an account this module did not
    create keeps its shell, home directory and groups. They are reported.
  - Refuses, before anything is created, C(root) and any existing user or group with id 0, and names
    that are not plain account names.
extends_documentation_fragment:
  - modwsgi.fleet.module
attributes:
  check_mode:
    support: full
    description: In check mode no command is run; the result says what would be created.
  diff_mode:
    support: full
    description: The groups and users, before and after, one line each; those that would be created only after.
  idempotent:
    support: full
    description: Accounts that exist are left alone, so a second run changes nothing.
options:
  accounts:
    description:
      - The accounts, one entry per daemon group (or per project); the same user may be listed
        more than once, with other groups; it is created in the first
        of them, and every group is created.
    type: list
    elements: dict
    required: true
    suboptions:
      user:
        description:
          - Name of the user the daemons run as. Must match C(^[a-z_][a-z0-9_-]{0,31}$) and not be C(root).
        type: str
        required: true
      group:
        description:
          - Name of the group the daemons run as (the primary group of a user created here). Must match C(^[a-z_][a-z0-9_-]{0,31}$) and not be C(root).
        type: str
        required: true
  home:
    description:
      - Home directory written for the users that are created. It is not created.
    type: path
    required: true
  shell:
    description:
      - Login shell of the users that are created, usually C(/usr/sbin/nologin) or C(/sbin/nologin).
    type: path
    required: true
notes:
  - Existence is checked with the host's account database (C(getpwnam), C(getgrnam)), so users and
    groups of NSS sources such as LDAP count as existing.
  - Needs C(groupadd) and C(useradd) (shadow-utils) on the host when an account is missing.
seealso:
  - module: ansible.builtin.user
  - module: ansible.builtin.group
  - module: modwsgi.fleet.wsgi_plan
"""

EXAMPLES = r"""
- name: Create the daemon accounts that do not exist yet
  modwsgi.fleet.wsgi_accounts:
    accounts:
      - user: nova-api
        group: nova-api
      - user: portal
        group: www-portal
    home: /srv/wsgi
    shell: /usr/sbin/nologin
  register: accounts

- name: Show what was created
  ansible.builtin.debug:
    msg: "{{ accounts.created_groups }} {{ accounts.created_users }}"
"""

RETURN = r"""
created_groups:
  description: Groups created, in order (in check mode, those that would be).
  returned: always
  type: list
  elements: str
  sample: [nova-api]
created_users:
  description: Users created, in order (in check mode, those that would be).
  returned: always
  type: list
  elements: str
  sample: [nova-api]
existing_groups:
  description: Groups that already existed and were left as they are.
  returned: success
  type: list
  elements: str
  sample: [www-portal]
existing_users:
  description: Users that already existed and were left as they are.
  returned: success
  type: list
  elements: str
  sample: [portal]
"""

import grp
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.modwsgi.fleet.plugins.module_utils._accounts import (
    AccountsError,
    describe,
    groupadd_argv,
    plan_accounts,
    useradd_argv,
)


def user_id(name):
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def group_id(name):
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            accounts=dict(type="list", elements="dict", required=True, options=dict(
                user=dict(type="str", required=True),
                group=dict(type="str", required=True),
            )),
            home=dict(type="path", required=True),
            shell=dict(type="path", required=True),
        ),
        supports_check_mode=True,
    )
    try:
        plan = plan_accounts(module.params["accounts"], user_id, group_id)
    except AccountsError as exc:
        module.fail_json(msg=str(exc), changed=False, created_groups=[], created_users=[])

    result = dict(
        changed=plan.changed,
        created_groups=list(plan.create_groups),
        created_users=[account.user for account in plan.create_users],
        existing_groups=plan.existing_groups,
        existing_users=plan.existing_users,
    )
    if module._diff:
        result["diff"] = describe(plan)
    if module.check_mode or not plan.changed:
        module.exit_json(**result)

    created_groups = []
    created_users = []

    def run(argv, what):
        rc, out, err = module.run_command(argv)
        if rc != 0:
            module.fail_json(msg="%s failed: %s" % (what, (err or out).strip() or "exit code %d" % rc),
                             rc=rc, cmd=argv, changed=bool(created_groups or created_users),
                             created_groups=created_groups, created_users=created_users)

    # Both binaries are found before anything is created.
    groupadd = module.get_bin_path("groupadd", required=True) if plan.create_groups else None
    useradd = module.get_bin_path("useradd", required=True) if plan.create_users else None
    for group in plan.create_groups:
        run(groupadd_argv(groupadd, group), "groupadd %s" % group)
        created_groups.append(group)
    for account in plan.create_users:
        run(useradd_argv(useradd, account, module.params["home"], module.params["shell"]),
            "useradd %s" % account.user)
        created_users.append(account.user)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

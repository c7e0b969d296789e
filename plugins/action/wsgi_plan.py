# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action for modwsgi.fleet.wsgi_plan: plan on the controller, in the worker itself.

The plan is pure computation on the task's arguments (the inventory and the
host facts read earlier). Run as a module it cost a Python process on the
controller per host (about 0.4 s); here it runs in the worker that already
holds the arguments, with no connection to the host at all. The arguments are
checked against the module's own spec, and the result is the module's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.modwsgi.fleet.plugins.module_utils._model import PLAN_ARGUMENT_SPEC, plan_from_args
from ansible_collections.modwsgi.fleet.plugins.module_utils._plan import PlanError


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        try:
            _validation, args = self.validate_argument_spec(argument_spec=PLAN_ARGUMENT_SPEC)
        except AnsibleActionFail as exc:
            result.update(failed=True, msg=str(exc))
            return result
        try:
            model = plan_from_args(args)
        except PlanError as exc:
            result.update(failed=True, msg="Invalid wsgi_projects: %s" % exc)
            return result
        if model["sizing_warnings"]:
            result["warnings"] = list(model["sizing_warnings"])
        result.update(changed=False, **model)
        return result

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action for modwsgi.fleet.wsgi_files: read each ``src`` on the controller, then run the module.

A ``files`` entry with ``src`` names a file on the controller, found like the
``src`` of ansible.builtin.copy (the role's or the playbook's ``files/``, or a
path); its text goes to the module on the host as ``content``. All the files
travel in the one module call.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        files = []
        for entry in args.get("files") or []:
            if not isinstance(entry, dict):
                files.append(entry)  # the module's own check reports it
                continue
            entry = dict(entry)
            if entry.get("src") is not None:
                if entry.get("content") is not None:
                    result.update(failed=True, msg="project '%s': give src or content, not both" % entry.get("project"))
                    return result
                try:
                    path = self._find_needle("files", entry.pop("src"))
                    with open(path, "rb") as handle:
                        entry["content"] = to_text(handle.read(), errors="surrogate_or_strict")
                except (AnsibleError, IOError, OSError, UnicodeError) as exc:
                    result.update(failed=True, msg="project '%s': field 'source': %s" % (entry.get("project"), exc))
                    return result
            files.append(entry)
        if "files" in args:
            args["files"] = files
        result.update(self._execute_module(module_name="modwsgi.fleet.wsgi_files", module_args=args,
                                           task_vars=task_vars))
        return result

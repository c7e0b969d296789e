# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action for modwsgi.fleet.wsgi_release: make each release archive on the controller, send only the missing.

With state present, each entry's ``src`` (a directory) or ``archive`` (a tar
or zip file), found like the ``src`` of ansible.builtin.copy, becomes its
canonical archive and release id here. One module call asks the host which
releases it lacks; only those archives are sent, and a second call unpacks
them. A rerun with the same trees makes one call and sends nothing. A
``git`` entry goes to the host as it is: the host fetches it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible_collections.modwsgi.fleet.plugins.module_utils._release import (
    ReleaseError,
    archive_tree,
    release_id,
    tree_archive,
)


class ActionModule(ActionBase):

    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        archives = {}
        if args.get("state", "present") == "present":
            entries = []
            for entry in args.get("releases") or []:
                entry = dict(entry)
                src, archive = entry.pop("src", None), entry.pop("archive", None)
                if src is not None or archive is not None:
                    try:
                        data = self._tree(src, archive, entry.get("subdir") or "")
                    except (AnsibleError, ReleaseError, OSError) as exc:
                        result.update(failed=True, msg="project '%s': field 'code.%s': %s"
                                      % (entry.get("project"), "src" if src is not None else "archive", exc))
                        return result
                    entry["release"] = release_id(data)
                    archives[entry.get("project")] = data
                entries.append(entry)
            args["releases"] = entries
        try:
            answer = self._execute_module(module_name="modwsgi.fleet.wsgi_release", module_args=args,
                                          task_vars=task_vars)
            missing = [p for p in answer.get("missing") or [] if p in archives]
            if answer.get("failed") or not missing or self._task.check_mode:
                if self._task.check_mode and missing:
                    answer.update(changed=True, unpacked=sorted(set(answer.get("unpacked") or []) | set(missing)),
                                  missing=[])
                result.update(answer)
                return result
            sent = []
            for entry in args["releases"]:
                if entry.get("project") in missing:
                    entry["payload"] = self._send(entry["project"], archives[entry["project"]])
                    sent.append(entry["payload"])
            self._fixup_perms2(sent)
            result.update(self._execute_module(module_name="modwsgi.fleet.wsgi_release", module_args=args,
                                               task_vars=task_vars))
            return result
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

    def _tree(self, src, archive, subdir):
        """The canonical archive of a directory, or of an archive file, or of the folder subdir in either."""
        if src is not None:
            root = self._find_needle("files", src)
            if subdir:
                root = os.path.join(root, *subdir.split("/"))
            return tree_archive(root)
        with open(self._find_needle("files", archive), "rb") as handle:
            return archive_tree(handle.read(), subdir)

    def _send(self, project, data):
        """Copy one archive to the host's temporary folder; its path there."""
        if self._connection._shell.tmpdir is None:
            self._make_tmp_path()
        remote = self._connection._shell.join_path(self._connection._shell.tmpdir, "%s.release.tar.gz" % project)
        handle, local = tempfile.mkstemp(suffix=".tar.gz")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            self._transfer_file(local, remote)
        finally:
            os.unlink(local)
        return remote

#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: wsgi_files
short_description: Put the WSGI scripts of many projects in place in one call
version_added: 0.2.0
description:
  - Writes the WSGI script of every project in O(files) (its folder first), checks that every
    script in O(scripts) is a file on the host, and tells which virtual environments in O(venvs)
    need pip to run.
  - One call for all the projects of a host, where a task loop of M(ansible.builtin.file),
    M(ansible.builtin.copy) and M(ansible.builtin.stat) costs a round trip per project and file.
  - A script is replaced atomically, and only when its content differs; owner, group and mode are
    set when they differ.
  - A virtual environment built by the C(modwsgi.fleet.wsgi) role holds a stamp file,
    C(.modwsgi-fleet-packages), with the packages and pip arguments it was built with. A venv is
    reported in RV(stale_venvs) when that stamp is missing or says something else; the role runs
    pip only for those, then writes RV(stamps).
extends_documentation_fragment:
  - modwsgi.fleet.module
attributes:
  action:
    support: full
    description: An action plugin reads each O(files[].src) on the controller.
  check_mode:
    support: full
    description: Reports what would be written, writes nothing.
  diff_mode:
    support: full
    description: The old and new content of each script that changes.
  idempotent:
    support: full
    description: A second call with the same arguments changes nothing.
options:
  base_dir:
    description:
      - Directory created (owner root, mode C(0755)) before the projects' folders and venvs, when
        O(files) or O(venvs) is not empty.
    type: path
  files:
    description: Scripts to write. The folder of each is created (owner root, mode C(0755)).
    type: list
    elements: dict
    default: []
    suboptions:
      project:
        description: The project the script belongs to, for messages and RV(changed_projects).
        type: str
        required: true
      dest:
        description: Absolute path of the script on the host.
        type: path
        required: true
      src:
        description:
          - A file on the controller whose text is the script, found like the C(src) of
            M(ansible.builtin.copy) (the role's or the playbook's C(files/) folder, or a path).
            Read on the controller by the module's action plugin.
          - Give O(files[].src) or O(files[].content).
        type: str
      content:
        description: Text of the script.
        type: str
      group:
        description: Group of the script and of its folder (the owner is root).
        type: str
        default: root
      mode:
        description: Mode of the script, four octal digits.
        type: str
        default: "0644"
  scripts:
    description: Scripts that must already be files on the host.
    type: list
    elements: dict
    default: []
    suboptions:
      project:
        description: The project that names the script.
        type: str
        required: true
      path:
        description: Absolute path of the script.
        type: path
        required: true
  directories:
    description:
      - Folders to create where missing, empty (a project's static files, which something else fills, or the data
        its daemons write), with owner root and mode C(0755) unless O(directories[].owner) is given.
      - With O(directories[].owner), the folder itself gets that owner, group and mode whether new or not (a
        project's account must be able to write it); without, a folder that exists is left as it is. What is in
        a folder is never touched. Missing parents are created with owner root and mode C(0755).
    type: list
    elements: dict
    default: []
    suboptions:
      project:
        description: The project the folder belongs to, for messages.
        type: str
        required: true
      path:
        description: Absolute path of the folder on the host.
        type: path
        required: true
      owner:
        description: Owner of the folder, kept so; omitted, a new folder belongs to root.
        type: str
      group:
        description: Group of the folder, with O(directories[].owner); the owner's name when omitted.
        type: str
      mode:
        description: Mode of the folder, four octal digits as a string, with O(directories[].owner).
        type: str
        default: "0755"
  venvs:
    description: Virtual environments whose stamp is compared with what they should be built with.
    type: list
    elements: dict
    default: []
    suboptions:
      python_home:
        description: Directory of the venv.
        type: path
        required: true
      packages:
        description: pip requirements the venv should have.
        type: list
        elements: str
        required: true
      pip_args:
        description: Extra pip arguments it is built with.
        type: str
        default: ""
seealso:
  - module: modwsgi.fleet.wsgi_plan
"""

EXAMPLES = r"""
- name: Put two projects' scripts in place and check a third
  modwsgi.fleet.wsgi_files:
    base_dir: /srv/wsgi
    files:
      - project: nova-api
        dest: /srv/wsgi/nova-api/nova-api.wsgi
        src: nova-api.wsgi
        group: nova
      - project: placement
        dest: /srv/wsgi/placement/placement.wsgi
        content: |
          from placement.wsgi import init_application
          application = init_application()
    scripts:
      - project: keystone
        path: /usr/bin/keystone-wsgi-public
    venvs:
      - python_home: /srv/wsgi/placement/venv
        packages: [webob]
  register: files
"""

RETURN = r"""
changed_projects:
  description: Projects whose script was written (or would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [nova-api]
stale_venvs:
  description: The python_home of each venv in O(venvs) whose stamp is missing or out of date.
  returned: always
  type: list
  elements: str
  sample: [/srv/wsgi/placement/venv]
stamps:
  description: For each venv in O(venvs), the path and the text of its up-to-date stamp.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/srv/wsgi/placement/venv/.modwsgi-fleet-packages", "content": "{\"packages\": [\"webob\"], \"pip_args\": \"\"}\n"}]
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible_collections.modwsgi.fleet.plugins.module_utils._files import (
    FilesError,
    check_entries,
    make_dirs,
    script_problem,
    stale_venvs,
    stamp_path,
    stamp_text,
)


def attributes(module, path, owner, group, mode):
    """Ansible's file arguments for path (SELinux context: the policy's default)."""
    return module.load_file_common_arguments(dict(owner=owner, group=group, mode=mode), path=path)


def ensure_dir(module, path, owner="root", group="root", mode="0755", keep=False, where=""):
    """Create the folder if it is missing, then set its owner, group and mode; True when changed.

    With ``keep``, a folder that exists is left as it is. ``where`` starts the
    error message (the project and the field).
    """
    changed = False
    if not os.path.isdir(path):
        if os.path.lexists(path):
            module.fail_json(msg="%s%s exists and is not a directory" % (where, path))
        changed = True
        if module.check_mode:
            return True
        make_dirs(path)  # its parents too, as ansible.builtin.file did before this module
    elif keep:
        return False
    return module.set_fs_attributes_if_different(attributes(module, path, owner, group, mode), changed)


def read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def write_file(module, entry):
    """Write one script if its content differs; returns (changed, diff or None)."""
    dest = entry["dest"]
    wanted = to_bytes(entry["content"], errors="surrogate_or_strict")
    current = read(dest)
    diff = None
    changed = False
    if current != wanted:
        changed = True
        diff = dict(before_header=dest, after_header=dest,
                    before=to_text(current or b"", errors="surrogate_or_replace"), after=entry["content"])
        if module.check_mode:
            return True, diff
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".%s." % os.path.basename(dest))
        with os.fdopen(fd, "wb") as handle:
            handle.write(wanted)
        module.atomic_move(tmp, dest)
    if module.check_mode and current is None:
        return changed, diff
    changed = module.set_fs_attributes_if_different(
        attributes(module, dest, "root", entry["group"], entry["mode"]), changed)
    return changed, diff


def main():
    module = AnsibleModule(
        argument_spec=dict(
            base_dir=dict(type="path"),
            files=dict(type="list", elements="dict", default=[], options=dict(
                project=dict(type="str", required=True),
                dest=dict(type="path", required=True),
                src=dict(type="str"),
                content=dict(type="str", no_log=False),
                group=dict(type="str", default="root"),
                mode=dict(type="str", default="0644"),
            )),
            scripts=dict(type="list", elements="dict", default=[], options=dict(
                project=dict(type="str", required=True),
                path=dict(type="path", required=True),
            )),
            directories=dict(type="list", elements="dict", default=[], options=dict(
                project=dict(type="str", required=True),
                path=dict(type="path", required=True),
                owner=dict(type="str"),
                group=dict(type="str"),
                mode=dict(type="str", default="0755"),
            )),
            venvs=dict(type="list", elements="dict", default=[], options=dict(
                python_home=dict(type="path", required=True),
                packages=dict(type="list", elements="str", required=True),
                pip_args=dict(type="str", default=""),
            )),
        ),
        supports_check_mode=True,
    )
    for entry in module.params["files"]:
        if entry["content"] is None:
            module.fail_json(msg="project '%s': give content (src is read by the action plugin on the controller)"
                             % entry["project"])
    files, scripts, venvs = module.params["files"], module.params["scripts"], module.params["venvs"]
    try:
        check_entries(files, scripts)
    except FilesError as exc:
        module.fail_json(msg=str(exc))

    problems = []
    for entry in scripts:
        try:
            st_mode = os.stat(entry["path"]).st_mode
        except OSError:
            st_mode = None
        problem = script_problem(entry["project"], entry["path"], st_mode)
        if problem:
            problems.append(problem)
    if problems:
        module.fail_json(msg="; ".join(problems))

    changed = False
    if (files or venvs) and module.params["base_dir"]:
        changed = ensure_dir(module, module.params["base_dir"])
    changed_projects, diffs = [], []
    for entry in files:
        folder_changed = ensure_dir(module, os.path.dirname(entry["dest"]), group=entry["group"])
        file_changed, diff = write_file(module, entry)
        if folder_changed or file_changed:
            changed = True
            if entry["project"] not in changed_projects:
                changed_projects.append(entry["project"])
        if diff:
            diffs.append(diff)

    for entry in module.params["directories"]:
        path = entry["path"]
        if not os.path.isabs(path):
            module.fail_json(msg="project '%s': directories[].path: %r is not an absolute path" % (entry["project"], path))
        where = "project '%s': directories[].path: " % entry["project"]
        if entry["owner"]:
            folder_changed = ensure_dir(module, path, entry["owner"], entry["group"] or entry["owner"], entry["mode"],
                                        where=where)
        else:  # root's, and a folder that exists is left as it is
            folder_changed = ensure_dir(module, path, keep=True, where=where)
        changed = folder_changed or changed

    def read_stamp(python_home):
        text = read(stamp_path(python_home))
        return None if text is None else to_text(text, errors="surrogate_or_replace")

    module.exit_json(
        changed=changed,
        changed_projects=changed_projects,
        stale_venvs=stale_venvs(venvs, read_stamp),
        stamps=[dict(path=stamp_path(v["python_home"]), content=stamp_text(v["packages"], v["pip_args"]))
                for v in venvs],
        diff=diffs,
    )


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: wsgi_release
short_description: Put WSGI projects' code trees in place as releases, and switch each project's current one
version_added: 0.3.0
description:
  - Each project's code lives in C(<root>/releases/<id>), one folder per version, and C(<root>/current) is a
    link to the one that serves. The id is the start of the sha256 of the release archive, which depends on
    the tree's file names, contents and executable bits alone.
  - With O(state=present), each release that is not on the host yet is unpacked from its archive into a
    temporary folder, checked (it must hold O(releases[].wsgi_file)), marked complete and renamed into place.
    Its action plugin makes each archive on the controller from a directory (O(releases[].src)) or an archive
    file (O(releases[].archive)) and sends it only when the host lacks that release, so a rerun with the same
    code sends nothing.
  - A O(releases[].git) entry is fetched by the host itself into C(<root>/repository.git) (a bare mirror of the
    repository's branches and tags, so the next fetch brings only what is new), and the release is made from
    the commit that O(releases[].git.version) names, with C(git archive). The host needs git.
  - Whatever the source, the same files give the same release id, so moving a project from a folder to a
    repository holding the same tree changes nothing on the host.
  - With O(state=current), C(current) is switched to each project's release by renaming a new link over it
    (atomic), the switch is recorded in C(<root>/releases/.history), and the releases beyond the last
    O(releases[].keep) that went live are deleted, never the current one.
  - With O(state=previous), C(current) goes back to the release that was live before it (a rollback).
  - Releases belong to root; folders are mode C(0755), files C(0644) or C(0755).
extends_documentation_fragment:
  - modwsgi.fleet.module
attributes:
  action:
    support: full
    description: The action plugin makes each release archive on the controller and sends the missing ones.
  check_mode:
    support: full
    description:
      - Reports what would be unpacked or switched, changes nothing and sends no archive.
      - For a O(releases[].git) entry the host asks the repository which commit the version names (C(git ls-remote))
        without fetching; a commit it has not fetched yet is reported as a release to unpack.
  diff_mode:
    support: none
    description: A release is a whole tree; the results name what was unpacked, switched and removed.
  idempotent:
    support: full
    description: A second call with the same trees changes nothing.
options:
  state:
    description: What to do with each project's release.
    type: str
    choices: [present, current, previous]
    default: present
  releases:
    description: One entry per project with a code tree.
    type: list
    elements: dict
    required: true
    suboptions:
      project:
        description: The project, for messages and results.
        type: str
        required: true
      root:
        description: The project's folder on the host, which holds C(releases/) and C(current).
        type: path
        required: true
      src:
        description:
          - A directory on the controller, found like the C(src) of M(ansible.builtin.copy); the action plugin
            turns it into the archive and sets O(releases[].release). Not passed to the host.
          - Give one of O(releases[].src), O(releases[].archive) or O(releases[].git).
        type: str
      archive:
        description:
          - A tar (plain, gz, bz2, xz) or zip file on the controller, found like O(releases[].src); the action plugin
            reads the tree in it. Not passed to the host.
        type: str
      git:
        description: A git repository the host fetches the release from.
        type: dict
        suboptions:
          repo:
            description: The repository, as C(git fetch) takes it (a URL, C(user@host:path) or a path on the host).
            type: str
            required: true
          version:
            description: The branch, tag or commit (on a branch or tag) to release.
            type: str
            required: true
      subdir:
        description: The tree's folder inside the source (for an archive whose files sit in C(myapp-1.0/), say).
        type: str
        default: ""
      release:
        description:
          - The release id (set by the action plugin from O(releases[].src) or O(releases[].archive), by the host for
            O(releases[].git)); ignored with O(state=previous).
        type: str
      payload:
        description: Path of the release archive on the host (set by the action plugin when the host lacks it).
        type: path
      wsgi_file:
        description: Path of the WSGI script inside the tree, which each release must hold.
        type: str
        required: true
      keep:
        description: Releases kept after a switch, the current one included.
        type: int
        default: 3
seealso:
  - module: modwsgi.fleet.wsgi_plan
"""

EXAMPLES = r"""
- name: Put the release of each project's code in place
  modwsgi.fleet.wsgi_release:
    releases:
      - project: blog
        root: /srv/wsgi/blog
        src: blog/
        wsgi_file: blog/wsgi.py
  register: unpacked

- name: Put the release of a project's code from its git repository in place (the host fetches it)
  modwsgi.fleet.wsgi_release:
    releases:
      - project: shop
        root: /srv/wsgi/shop
        git:
          repo: https://git.example.com/shop.git
          version: v1.4.2
        wsgi_file: shop/wsgi.py

- name: Switch each project to its release
  modwsgi.fleet.wsgi_release:
    state: current
    releases: "{{ unpacked.releases }}"
"""

RETURN = r"""
releases:
  description: The entries as given, each with its C(release) id (as the action plugin computed it).
  returned: always
  type: list
  elements: dict
  sample: [{"project": "blog", "root": "/srv/wsgi/blog", "release": "9f2c4e1a0b7d3c55", "wsgi_file": "blog/wsgi.py", "keep": 3}]
commits:
  description: With O(state=present), the commit each O(releases[].git) entry's version named, by project.
  returned: always
  type: dict
  sample: {"shop": "4f2a9c1e8d0b7a6f5e4d3c2b1a09f8e7d6c5b4a3"}
missing:
  description: With O(state=present), the projects whose release is not on the host and had no archive.
  returned: always
  type: list
  elements: str
  sample: [blog]
unpacked:
  description: With O(state=present), the projects whose release was unpacked (or would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [blog]
not_current:
  description: With O(state=present), the projects whose C(current) is not their release yet.
  returned: always
  type: list
  elements: str
  sample: [blog]
switched:
  description: With O(state=current) or O(state=previous), the projects whose C(current) changed (or would).
  returned: always
  type: list
  elements: str
  sample: [blog]
current:
  description: Each project's current release id after the call (null before its first switch).
  returned: always
  type: dict
  sample: {"blog": "9f2c4e1a0b7d3c55"}
removed:
  description: Release ids deleted after a switch, by project.
  returned: always
  type: dict
  sample: {"blog": ["0d5e77a1c2b3f4e6"]}
"""

import os
import re
import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.modwsgi.fleet.plugins.module_utils._files import make_dirs
from ansible_collections.modwsgi.fleet.plugins.module_utils._release import (
    HISTORY,
    MARKER,
    RELEASE_ID_RE,
    ReleaseError,
    archive_tree,
    history,
    previous,
    release_id,
    to_remove,
    unpack,
)

# git never waits for a password nor speaks the user's language.
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/true", "LC_ALL": "C"}
HEX_RE = re.compile(r"^[0-9a-f]{7,40}$")


def read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def present_releases(root):
    """The complete releases of a project, by id."""
    folder = os.path.join(root, "releases")
    if not os.path.isdir(folder):
        return []
    return sorted(name for name in os.listdir(folder)
                  if not name.startswith(".") and os.path.isfile(os.path.join(folder, name, MARKER)))


def current_release(root):
    target = os.readlink(os.path.join(root, "current")) if os.path.islink(os.path.join(root, "current")) else None
    return os.path.basename(target.rstrip("/")) if target else None


def git(module, args, binary=False):
    """Run git with GIT_ENV: (rc, out, err)."""
    return module.run_command([module.get_bin_path("git", required=True)] + args, environ_update=GIT_ENV,
                              encoding=None if binary else "utf-8")


def run_git(module, entry, args, binary=False):
    """Run git; its output, or fail naming the project."""
    rc, out, err = git(module, args, binary)
    if rc != 0:
        module.fail_json(msg="project '%s': field 'code.git': git %s failed: %s" % (
            entry["project"], args[2] if args[0] == "-C" else args[0],
            (err.decode("utf-8", "replace") if binary else err).strip() or "exit %d" % rc))
    return out


def has_commit(module, cache, commit):
    return git(module, ["-C", cache, "cat-file", "-e", commit + "^{commit}"])[0] == 0


def remote_commit(module, entry):
    """The commit the repository's branch or tag names now, without fetching (check mode); None if unknown."""
    version = entry["git"]["version"]
    out = run_git(module, entry, ["ls-remote", entry["git"]["repo"], version, version + "^{}"])
    refs = dict(reversed(line.split("\t", 1)) for line in out.splitlines() if "\t" in line)
    for ref in ("refs/heads/" + version, "refs/tags/%s^{}" % version, "refs/tags/" + version):
        if ref in refs:
            return refs[ref]
    return version if HEX_RE.match(version) else None


def git_release(module, entry):
    """Fetch the repository into <root>/repository.git; the release archive of the version, and its commit.

    In check mode nothing is fetched: (None, commit) when the commit is not in the mirror yet.
    """
    cache = os.path.join(entry["root"], "repository.git")
    repo, version = entry["git"]["repo"], entry["git"]["version"]
    if module.check_mode:
        if module.get_bin_path("git") is None:  # the role installs it, not in check mode
            return None, None
        commit = remote_commit(module, entry)
        if commit is None or not os.path.isdir(cache) or not has_commit(module, cache, commit):
            return None, commit
    else:
        if not os.path.isdir(cache):
            make_dirs(entry["root"])
            run_git(module, entry, ["init", "--quiet", "--bare", cache])
        run_git(module, entry, ["-C", cache, "fetch", "--quiet", "--force", "--prune", "--tags", repo,
                                "+refs/heads/*:refs/heads/*"])
        rc, out, _err = git(module, ["-C", cache, "rev-parse", "--verify", "--quiet", "--end-of-options",
                                     version + "^{commit}"])
        if rc != 0:
            module.fail_json(msg="project '%s': field 'code.git.version': %s is no branch, tag or commit (on a branch "
                             "or tag) of %s" % (entry["project"], version, repo))
        commit = out.strip()
    data = run_git(module, entry, ["-C", cache, "archive", "--format=tar", commit], binary=True)
    try:
        return archive_tree(data, entry["subdir"] or ""), commit
    except ReleaseError as exc:
        module.fail_json(msg="project '%s': field 'code.git': commit %s: %s" % (entry["project"], commit, exc))


def put_in_place(module, entry, archive):
    """Unpack one release from its archive's bytes (not in check mode)."""
    if module.check_mode:
        return
    releases = os.path.join(entry["root"], "releases")
    final = os.path.join(releases, entry["release"])
    make_dirs(releases)
    partial = os.path.join(releases, ".%s.partial" % entry["release"])
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(final, ignore_errors=True)  # an incomplete one, without its marker
    try:
        unpack(archive, partial, entry["wsgi_file"])
    except (ReleaseError, OSError) as exc:
        shutil.rmtree(partial, ignore_errors=True)
        module.fail_json(msg="project '%s': field 'code': release %s: %s" % (entry["project"], entry["release"], exc))
    with open(os.path.join(partial, MARKER), "w") as handle:
        handle.write(entry["release"] + "\n")
    os.rename(partial, final)


def switch(module, entry, release):
    """Point <root>/current at the release, record it, delete the old ones; True when it changed."""
    root = entry["root"]
    if current_release(root) == release:
        return False
    if module.check_mode:
        return True
    link = os.path.join(root, "current")
    temporary = os.path.join(root, ".current.%d" % os.getpid())
    if os.path.lexists(temporary):
        os.unlink(temporary)
    os.symlink(os.path.join("releases", release), temporary)
    os.rename(temporary, link)  # atomic: the old link or the new one, never none
    with open(os.path.join(root, "releases", HISTORY), "a") as handle:
        handle.write(release + "\n")
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", default="present", choices=["present", "current", "previous"]),
            releases=dict(type="list", elements="dict", required=True, options=dict(
                project=dict(type="str", required=True),
                root=dict(type="path", required=True),
                src=dict(type="str"),
                archive=dict(type="str"),
                git=dict(type="dict", options=dict(
                    repo=dict(type="str", required=True),
                    version=dict(type="str", required=True),
                )),
                subdir=dict(type="str", default=""),
                release=dict(type="str"),
                payload=dict(type="path"),
                wsgi_file=dict(type="str", required=True),
                keep=dict(type="int", default=3),
            )),
        ),
        supports_check_mode=True,
    )
    state = module.params["state"]
    entries = module.params["releases"]
    for entry in entries:
        entry.pop("src", None)
        entry.pop("archive", None)
        fetched = state == "present" and entry["git"]
        unknown_in_check = module.check_mode and state == "current" and entry["release"] is None
        if state != "previous" and not fetched and not unknown_in_check and not RELEASE_ID_RE.match(
                entry["release"] or ""):
            module.fail_json(msg="project '%s': no release id of 16 hex digits (run through the action plugin, "
                             "with src or archive; or give git), got %r" % (entry["project"], entry["release"]))
        if not os.path.isabs(entry["root"]):
            module.fail_json(msg="project '%s': root %r is not an absolute path" % (entry["project"], entry["root"]))

    missing, unpacked, switched, removed, commits = [], [], [], {}, {}
    for entry in entries:
        root, project = entry["root"], entry["project"]
        if state == "present":
            archive = None
            if entry["git"]:
                archive, commits[project] = git_release(module, entry)
                entry["release"] = None if archive is None else release_id(archive)
            if entry["release"] is not None and entry["release"] in present_releases(root):
                continue
            if archive is None and entry["payload"]:
                with open(entry["payload"], "rb") as handle:
                    archive = handle.read()
            if archive is None and not entry["git"]:
                missing.append(project)
                continue
            put_in_place(module, entry, archive)
            unpacked.append(project)
            continue
        present = present_releases(root)
        went_live = history(read(os.path.join(root, "releases", HISTORY)))
        if state == "previous":
            release = previous(went_live, current_release(root), present)
            if release is None:
                module.fail_json(msg="project '%s': no earlier release on the host to go back to" % project)
        else:
            release = entry["release"]
            if release is None or release not in present:
                if module.check_mode:  # not unpacked in check mode
                    switched.append(project)
                    continue
                module.fail_json(msg="project '%s': release %s is not on the host" % (project, release))
        if switch(module, entry, release):
            switched.append(project)
            if not module.check_mode:
                went_live = history(read(os.path.join(root, "releases", HISTORY)))
                old = to_remove(present, went_live, release, entry["keep"])
                for name in old:
                    shutil.rmtree(os.path.join(root, "releases", name))
                if old:
                    removed[project] = old
    current = {entry["project"]: current_release(entry["root"]) for entry in entries}
    module.exit_json(
        changed=bool(unpacked or switched),
        releases=entries,
        not_current=[e["project"] for e in entries
                     if state == "present" and (e["release"] is None or current[e["project"]] != e["release"])],
        missing=missing,
        unpacked=unpacked,
        switched=switched,
        current=current,
        removed=removed,
        commits=commits,
    )


if __name__ == "__main__":
    main()

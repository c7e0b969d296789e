# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests of the wsgi_release module's main() on real files under pytest's tmp_path (Molecule runs it on real hosts)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any, Optional

import pytest

from ansible_collections.modwsgi.fleet.plugins.module_utils._release import release_id, tree_archive
from ansible_collections.modwsgi.fleet.plugins.modules import wsgi_release
from ansible_collections.modwsgi.fleet.tests.unit.plugins.modules.harness import ExitJson, FailJson, run_main

MARKER = ".modwsgi-fleet-release"
WSGI_FILE = "app/wsgi.py"


def run(args: dict[str, Any], outcome: type[Exception] = ExitJson) -> dict[str, Any]:
    return run_main(wsgi_release.main, args, outcome)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(str(path)).st_mode)


class Release:
    """A code tree made into an archive file under tmp_path, as the action plugin sends it."""

    def __init__(self, tmp_path: Path, version: str, wsgi_file: Optional[str] = WSGI_FILE) -> None:
        tree = tmp_path / "trees" / version
        (tree / "app").mkdir(parents=True)
        (tree / "app" / "__init__.py").write_text("VERSION = %r\n" % version)
        if wsgi_file:
            (tree / wsgi_file).parent.mkdir(parents=True, exist_ok=True)
            (tree / wsgi_file).write_text("from app import VERSION\n")
        (tree / "bin").mkdir()
        (tree / "bin" / "manage").write_text("#!/bin/sh\n")
        os.chmod(str(tree / "bin" / "manage"), 0o755)
        data = tree_archive(str(tree))
        self.id = release_id(data)
        self.archive = tmp_path / "archives" / (self.id + ".tar.gz")
        self.archive.parent.mkdir(exist_ok=True)
        self.archive.write_bytes(data)


def entry(root: Path, made: Optional[Release], with_archive: bool = True, project: str = "app",
          **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"project": project, "root": str(root), "wsgi_file": WSGI_FILE}
    if made is not None:
        fields["release"] = made.id
        if with_archive:
            fields["payload"] = str(made.archive)
    fields.update(extra)
    return fields


def present(root: Path, release: Release, **extra: Any) -> dict[str, Any]:
    return run({"state": "present", "releases": [entry(root, release, **extra)]})


def current(root: Path, release: Release, **extra: Any) -> dict[str, Any]:
    return run({"state": "current", "releases": [entry(root, release, with_archive=False, **extra)]})


def history_of(root: Path) -> list[str]:
    return (root / "releases" / ".history").read_text().splitlines()


def on_host(root: Path) -> list[str]:
    return sorted(os.listdir(str(root / "releases")))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The project's folder on the host: not there yet."""
    return tmp_path / "srv" / "wsgi" / "app"


@pytest.fixture
def versions(tmp_path: Path) -> list[Release]:
    return [Release(tmp_path, "v%d" % n) for n in range(1, 5)]


# state present

def test_present_unpacks_a_new_release_with_its_marker(root: Path, versions: list[Release]) -> None:
    v1 = versions[0]
    result = present(root, v1)
    assert result == {
        "changed": True,
        "releases": [{"project": "app", "root": str(root), "release": v1.id, "payload": str(v1.archive),
                      "wsgi_file": WSGI_FILE, "keep": 3, "git": None, "subdir": ""}],
        "not_current": ["app"],
        "missing": [],
        "unpacked": ["app"],
        "switched": [],
        "current": {"app": None},
        "removed": {},
        "commits": {},
    }
    final = root / "releases" / v1.id
    assert on_host(root) == [v1.id]  # no .partial folder left, no history before a switch
    assert (final / MARKER).read_text() == v1.id + "\n"
    assert (final / "app" / "__init__.py").read_text() == "VERSION = 'v1'\n"
    assert (final / "app" / "wsgi.py").is_file()
    assert (mode_of(final / "bin" / "manage"), mode_of(final / "app" / "wsgi.py")) == (0o755, 0o644)
    assert (mode_of(root), mode_of(root / "releases"), mode_of(final)) == (0o755, 0o755, 0o755)
    assert not os.path.lexists(str(root / "current"))


def test_present_a_second_time_changes_nothing(root: Path, versions: list[Release]) -> None:
    present(root, versions[0])
    marker = root / "releases" / versions[0].id / MARKER
    before = os.stat(str(marker))
    result = present(root, versions[0])
    assert (result["changed"], result["unpacked"], result["missing"], result["not_current"]) == \
        (False, [], [], ["app"])
    after = os.stat(str(marker))
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_present_without_an_archive_reports_the_release_missing(root: Path, versions: list[Release]) -> None:
    result = present(root, versions[0], with_archive=False)
    assert (result["changed"], result["missing"], result["unpacked"], result["not_current"]) == \
        (False, ["app"], [], ["app"])
    assert not os.path.lexists(str(root))


def test_present_without_an_archive_and_the_release_on_the_host_is_not_missing(
        root: Path, versions: list[Release]) -> None:
    present(root, versions[0])
    result = present(root, versions[0], with_archive=False)
    assert (result["changed"], result["missing"], result["unpacked"]) == (False, [], [])


def test_present_of_the_current_release_is_not_reported_not_current(root: Path, versions: list[Release]) -> None:
    present(root, versions[0])
    current(root, versions[0])
    assert present(root, versions[0])["not_current"] == []
    assert present(root, versions[1])["not_current"] == ["app"]


def test_present_replaces_an_incomplete_release_without_its_marker(root: Path, versions: list[Release]) -> None:
    v1 = versions[0]
    leftover = root / "releases" / v1.id
    (leftover / "app").mkdir(parents=True)
    (leftover / "app" / "half.py").write_text("")
    result = present(root, v1)
    assert result["unpacked"] == ["app"]
    assert not (leftover / "app" / "half.py").exists()
    assert (leftover / MARKER).is_file() and (leftover / "app" / "wsgi.py").is_file()


def test_present_with_a_tree_lacking_the_wsgi_file_fails_and_leaves_nothing(root: Path, tmp_path: Path) -> None:
    bad = Release(tmp_path, "bad", wsgi_file=None)
    result = run({"state": "present", "releases": [entry(root, bad)]}, FailJson)
    assert result["msg"] == "project 'app': field 'code': release %s: the release holds no file %s " \
        "(field 'code.wsgi_file')" % (bad.id, WSGI_FILE)
    assert on_host(root) == []  # neither .<id>.partial nor <id>


def test_present_with_an_archive_that_is_no_tar_gz_fails_naming_the_project(root: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"this is no archive\n")
    args = {"state": "present", "releases": [entry(root, None, release="0123456789abcdef", payload=str(garbage))]}
    result = run(args, FailJson)
    assert result["msg"].startswith("project 'app': field 'code': release 0123456789abcdef: ")
    assert on_host(root) == []


def test_present_in_check_mode_unpacks_nothing(root: Path, versions: list[Release]) -> None:
    args = {"state": "present", "releases": [entry(root, versions[0])], "_ansible_check_mode": True}
    result = run(args)
    assert (result["changed"], result["unpacked"], result["missing"], result["not_current"]) == \
        (True, ["app"], [], ["app"])
    assert not os.path.lexists(str(root))


def test_present_in_check_mode_after_a_run_reports_nothing(root: Path, versions: list[Release]) -> None:
    present(root, versions[0])
    args = {"state": "present", "releases": [entry(root, versions[0])], "_ansible_check_mode": True}
    assert (run(args)["changed"], run(args)["unpacked"]) == (False, [])


def test_present_release_folder_is_0755_under_a_restrictive_umask(
        root: Path, versions: list[Release], restrictive_umask: None) -> None:
    present(root, versions[0])
    final = root / "releases" / versions[0].id
    assert [mode_of(p) for p in (root, root / "releases", final, final / "app", final / "app" / "wsgi.py")] == \
        [0o755, 0o755, 0o755, 0o755, 0o644]


def test_present_handles_each_project_on_its_own(tmp_path: Path, versions: list[Release]) -> None:
    one, two = tmp_path / "srv" / "one", tmp_path / "srv" / "two"
    present(two, versions[1], project="two")
    result = run({"state": "present", "releases": [entry(one, versions[0], project="one"),
                                                   entry(two, versions[1], project="two"),
                                                   entry(tmp_path / "srv" / "three", versions[2], with_archive=False,
                                                         project="three")]})
    assert (result["unpacked"], result["missing"], result["not_current"]) == \
        (["one"], ["three"], ["one", "two", "three"])


def test_a_release_id_is_required_outside_previous(root: Path) -> None:
    result = run({"state": "present", "releases": [entry(root, None)]}, FailJson)
    assert result["msg"] == ("project 'app': no release id of 16 hex digits (run through the action plugin, "
                             "with src or archive; or give git), got None")


@pytest.mark.parametrize("release", [".", "..", "../x", "0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0"])
def test_a_release_id_that_is_no_hash_is_refused_before_anything_is_touched(root: Path, release: str) -> None:
    (root / "releases").mkdir(parents=True)
    result = run({"state": "current", "releases": [entry(root, None, release=release)]}, FailJson)
    assert result["msg"].startswith("project 'app': no release id of 16 hex digits")
    assert (root / "releases").is_dir() and not (root / "current").exists()


def test_a_relative_root_fails(versions: list[Release]) -> None:
    result = run({"releases": [entry(Path("srv/app"), versions[0])]}, FailJson)
    assert result["msg"] == "project 'app': root 'srv/app' is not an absolute path"


# state current

def test_current_switches_the_link_and_writes_the_history(root: Path, versions: list[Release]) -> None:
    v1 = versions[0]
    present(root, v1)
    result = current(root, v1)
    assert (result["changed"], result["switched"], result["current"], result["removed"]) == \
        (True, ["app"], {"app": v1.id}, {})
    assert result["not_current"] == [] and result["unpacked"] == [] and result["missing"] == []
    link = root / "current"
    assert link.is_symlink() and os.readlink(str(link)) == "releases/" + v1.id
    assert (link / "app" / "__init__.py").read_text() == "VERSION = 'v1'\n"
    assert history_of(root) == [v1.id]
    assert sorted(os.listdir(str(root))) == ["current", "releases"]  # no temporary link left


def test_current_a_second_time_changes_nothing(root: Path, versions: list[Release]) -> None:
    present(root, versions[0])
    current(root, versions[0])
    result = current(root, versions[0])
    assert (result["changed"], result["switched"], result["removed"], result["current"]) == \
        (False, [], {}, {"app": versions[0].id})
    assert history_of(root) == [versions[0].id]


def test_current_switches_to_a_newer_release(root: Path, versions: list[Release]) -> None:
    v1, v2 = versions[:2]
    present(root, v1)
    current(root, v1)
    present(root, v2)
    result = current(root, v2)
    assert (result["switched"], result["current"], result["removed"]) == (["app"], {"app": v2.id}, {})
    assert os.readlink(str(root / "current")) == "releases/" + v2.id
    assert (root / "current" / "app" / "__init__.py").read_text() == "VERSION = 'v2'\n"
    assert history_of(root) == [v1.id, v2.id]
    assert on_host(root) == sorted([".history", v1.id, v2.id])


def test_current_prunes_beyond_keep_and_keeps_the_current(root: Path, versions: list[Release]) -> None:
    removed = []
    for release in versions:
        present(root, release, keep=2)
        result = current(root, release, keep=2)
        assert result["switched"] == ["app"]
        removed.append(result["removed"])
    v1, v2, v3, v4 = versions
    assert removed == [{}, {}, {"app": [v1.id]}, {"app": [v2.id]}]
    assert on_host(root) == sorted([".history", v3.id, v4.id])
    assert os.readlink(str(root / "current")) == "releases/" + v4.id


def test_current_prunes_releases_that_never_went_live_first(root: Path, versions: list[Release]) -> None:
    v1, v2, v3, v4 = versions
    for release in (v1, v2):
        present(root, release)
        current(root, release, keep=2)
    present(root, v3)  # unpacked, never switched to
    present(root, v4)
    result = current(root, v4, keep=2)
    assert result["removed"] == {"app": sorted([v1.id, v3.id])}
    assert on_host(root) == sorted([".history", v2.id, v4.id])


def test_current_with_keep_one_keeps_only_the_current(root: Path, versions: list[Release]) -> None:
    v1, v2 = versions[:2]
    present(root, v1)
    current(root, v1, keep=1)
    present(root, v2)
    assert current(root, v2, keep=1)["removed"] == {"app": [v1.id]}
    assert on_host(root) == sorted([".history", v2.id])


def test_current_of_a_release_not_on_the_host_fails(root: Path, versions: list[Release]) -> None:
    present(root, versions[0])
    result = run({"state": "current", "releases": [entry(root, versions[1])]}, FailJson)
    assert result["msg"] == "project 'app': release %s is not on the host" % versions[1].id
    assert not os.path.lexists(str(root / "current"))


def test_current_in_check_mode_switches_nothing(root: Path, versions: list[Release]) -> None:
    v1, v2 = versions[:2]
    present(root, v1)
    current(root, v1)
    present(root, v2)
    args = {"state": "current", "releases": [entry(root, v2, keep=1)], "_ansible_check_mode": True}
    result = run(args)
    assert (result["changed"], result["switched"], result["removed"], result["current"]) == \
        (True, ["app"], {}, {"app": v1.id})
    assert os.readlink(str(root / "current")) == "releases/" + v1.id
    assert history_of(root) == [v1.id]
    assert on_host(root) == sorted([".history", v1.id, v2.id])


def test_current_in_check_mode_of_a_release_not_unpacked_yet_reports_the_switch(
        root: Path, versions: list[Release]) -> None:
    args = {"state": "current", "releases": [entry(root, versions[0])], "_ansible_check_mode": True}
    result = run(args)
    assert (result["changed"], result["switched"], result["current"]) == (True, ["app"], {"app": None})
    assert not os.path.lexists(str(root))


# state previous

def test_previous_goes_back_to_the_release_live_before(root: Path, versions: list[Release]) -> None:
    v1, v2 = versions[:2]
    for release in (v1, v2):
        present(root, release)
        current(root, release)
    result = run({"state": "previous", "releases": [entry(root, None)]})
    assert (result["changed"], result["switched"], result["current"], result["removed"]) == \
        (True, ["app"], {"app": v1.id}, {})
    assert os.readlink(str(root / "current")) == "releases/" + v1.id
    assert (root / "current" / "app" / "__init__.py").read_text() == "VERSION = 'v1'\n"
    assert history_of(root) == [v1.id, v2.id, v1.id]
    assert on_host(root) == sorted([".history", v1.id, v2.id])


def test_previous_ignores_the_given_release(root: Path, versions: list[Release]) -> None:
    v1, v2, v3 = versions[:3]
    for release in (v1, v2, v3):
        present(root, release)
        current(root, release)
    result = run({"state": "previous", "releases": [entry(root, v3, with_archive=False)]})
    assert result["current"] == {"app": v2.id}


def test_previous_without_an_earlier_release_fails_clearly(root: Path, versions: list[Release]) -> None:
    present(root, versions[0])
    current(root, versions[0])
    result = run({"state": "previous", "releases": [entry(root, None)]}, FailJson)
    assert result["msg"] == "project 'app': no earlier release on the host to go back to"
    assert os.readlink(str(root / "current")) == "releases/" + versions[0].id


def test_previous_on_a_fresh_host_fails_clearly(root: Path) -> None:
    result = run({"state": "previous", "releases": [entry(root, None)]}, FailJson)
    assert result["msg"] == "project 'app': no earlier release on the host to go back to"


def test_previous_fails_when_the_earlier_release_was_pruned(root: Path, versions: list[Release]) -> None:
    v1, v2 = versions[:2]
    for release in (v1, v2):
        present(root, release)
        current(root, release, keep=1)
    result = run({"state": "previous", "releases": [entry(root, None, keep=1)]}, FailJson)
    assert result["msg"] == "project 'app': no earlier release on the host to go back to"


def test_previous_in_check_mode_switches_nothing(root: Path, versions: list[Release]) -> None:
    v1, v2 = versions[:2]
    for release in (v1, v2):
        present(root, release)
        current(root, release)
    result = run({"state": "previous", "releases": [entry(root, None)], "_ansible_check_mode": True})
    assert (result["changed"], result["switched"], result["current"]) == (True, ["app"], {"app": v2.id})
    assert os.readlink(str(root / "current")) == "releases/" + v2.id
    assert history_of(root) == [v1.id, v2.id]


# git: the host fetches the repository itself (real git, repositories under tmp_path)

GIT_COMMAND = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false",
               "-c", "tag.gpgsign=false", "-c", "init.defaultBranch=main"]
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

# A tree as path -> content, or (content, executable).
Tree = dict[str, Any]
V1: Tree = {"app/__init__.py": "VERSION = 'v1'\n", "app/wsgi.py": "from app import VERSION\n",
            "bin/manage": ("#!/bin/sh\n", True), "README": "shop\n"}
V2: Tree = dict(V1, **{"app/__init__.py": "VERSION = 'v2'\n"})
V3: Tree = dict(V1, **{"app/__init__.py": "VERSION = 'v3'\n", "app/new.py": ""})


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(GIT_COMMAND + list(args), cwd=str(cwd), check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True).stdout.strip()


def write_tree(folder: Path, files: Tree) -> Path:
    for name, content in files.items():
        text, executable = content if isinstance(content, tuple) else (content, False)
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.chmod(str(path), 0o755 if executable else 0o644)
    return folder


class Remote:
    """A repository with branch main, and its bare clone under tmp_path: the "remote" the host fetches from."""

    def __init__(self, tmp_path: Path, files: Tree) -> None:
        self.tmp_path = tmp_path
        self.work = tmp_path / "work"
        self.bare = tmp_path / "remote.git"
        self.trees = 0
        self.plain = 0
        git(tmp_path, "init", "--quiet", "--initial-branch=main", str(self.work))
        self.first = self.commit(files, push=False)
        git(tmp_path, "clone", "--quiet", "--bare", str(self.work), str(self.bare))

    def commit(self, files: Tree, push: bool = True) -> str:
        """Make ``files`` the whole tree of a new commit on main (pushed to the bare clone); its sha."""
        git(self.work, "rm", "-r", "-q", "--ignore-unmatch", ".")
        write_tree(self.work, files)
        git(self.work, "add", "-A")
        git(self.work, "commit", "--quiet", "-m", "tree %d" % self.trees)
        self.trees += 1
        if push:
            git(self.work, "push", "--quiet", str(self.bare), "main")
        return git(self.work, "rev-parse", "HEAD")

    def tag(self, name: str, commit: str, annotated: bool) -> None:
        git(self.work, "tag", *(["-a", "-m", name] if annotated else []), name, commit)
        git(self.work, "push", "--quiet", str(self.bare), "refs/tags/" + name)

    def release_of(self, files: Tree, subdir: str = "") -> str:
        """The release id of a plain folder (no git) holding ``files``, or of its folder ``subdir``."""
        self.plain += 1
        folder = write_tree(self.tmp_path / "plain" / str(self.plain), files)
        return release_id(tree_archive(str(folder / subdir if subdir else folder)))


@pytest.fixture
def clean_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No system or user git configuration: the tests' git and the module's see the same defaults."""
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("HOME", str(tmp_path))


@pytest.fixture
def remote(tmp_path: Path, clean_git: None) -> Remote:
    return Remote(tmp_path, V1)


def git_entry(root: Path, remote: Remote, version: str = "main", **extra: Any) -> dict[str, Any]:
    return dict({"project": "app", "root": str(root), "git": {"repo": str(remote.bare), "version": version},
                 "wsgi_file": WSGI_FILE}, **extra)


def git_present(root: Path, remote: Remote, version: str = "main", check: bool = False, outcome: type = ExitJson,
                **extra: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"state": "present", "releases": [git_entry(root, remote, version, **extra)]}
    if check:
        args["_ansible_check_mode"] = True
    return run(args, outcome)


def mirror_ref(root: Path, ref: str) -> str:
    return git(root / "repository.git", "rev-parse", "--verify", ref)


def mirror_has(root: Path, commit: str) -> bool:
    return subprocess.run(["git", "-C", str(root / "repository.git"), "cat-file", "-e", commit + "^{commit}"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode == 0


@needs_git
def test_git_present_fetches_and_unpacks_the_release_of_the_branch(root: Path, remote: Remote) -> None:
    result = git_present(root, remote)
    release = remote.release_of(V1)
    assert result == {
        "changed": True,
        "releases": [{"project": "app", "root": str(root), "git": {"repo": str(remote.bare), "version": "main"},
                      "release": release, "payload": None, "wsgi_file": WSGI_FILE, "keep": 3, "subdir": ""}],
        "not_current": ["app"],
        "missing": [],
        "unpacked": ["app"],
        "switched": [],
        "current": {"app": None},
        "removed": {},
        "commits": {"app": remote.first},
    }
    final = root / "releases" / release
    assert on_host(root) == [release]
    assert (final / MARKER).read_text() == release + "\n"
    assert (final / "app" / "__init__.py").read_text() == "VERSION = 'v1'\n"
    assert (mode_of(final / "bin" / "manage"), mode_of(final / "README")) == (0o755, 0o644)
    assert not (final / ".git").exists()
    # The mirror: bare, with the remote's branch, beside the releases.
    assert sorted(os.listdir(str(root))) == ["releases", "repository.git"]
    assert git(root / "repository.git", "rev-parse", "--is-bare-repository") == "true"
    assert mirror_ref(root, "refs/heads/main") == remote.first


@needs_git
def test_git_present_a_second_time_changes_nothing(root: Path, remote: Remote) -> None:
    first = git_present(root, remote)
    marker = root / "releases" / first["releases"][0]["release"] / MARKER
    before = os.stat(str(marker))
    result = git_present(root, remote)
    assert (result["changed"], result["unpacked"], result["missing"], result["commits"]) == \
        (False, [], [], {"app": remote.first})
    assert result["releases"][0]["release"] == first["releases"][0]["release"]
    after = os.stat(str(marker))
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert on_host(root) == [first["releases"][0]["release"]]


@needs_git
def test_git_gives_the_release_id_of_the_same_files_from_a_folder(root: Path, remote: Remote, tmp_path: Path) -> None:
    """Moving a project from src to git with the same tree changes nothing on the host."""
    folder = Release(tmp_path, "v1")  # the same files as the "trees/v1" folder, made a commit
    files = {str(p.relative_to(tmp_path / "trees" / "v1")): (p.read_text(), bool(p.stat().st_mode & 0o111))
             for p in (tmp_path / "trees" / "v1").rglob("*") if p.is_file()}
    commit = remote.commit(files)
    present(root, folder)
    result = git_present(root, remote)
    assert (result["releases"][0]["release"], result["commits"], result["unpacked"], result["changed"]) == \
        (folder.id, {"app": commit}, [], False)


@needs_git
def test_git_a_new_commit_on_the_branch_gives_a_new_release(root: Path, remote: Remote) -> None:
    first = git_present(root, remote)["releases"][0]["release"]
    second = remote.commit(V2)
    result = git_present(root, remote)
    release = remote.release_of(V2)
    assert (result["changed"], result["unpacked"], result["commits"], result["releases"][0]["release"]) == \
        (True, ["app"], {"app": second}, release)
    assert release != first and on_host(root) == sorted([first, release])
    assert (root / "releases" / release / "app" / "__init__.py").read_text() == "VERSION = 'v2'\n"
    assert mirror_ref(root, "refs/heads/main") == second


@needs_git
def test_git_a_branch_rewritten_on_the_remote_gives_the_release_of_its_new_commit(root: Path, remote: Remote) -> None:
    """A force-pushed branch is fetched as it is now (+refspec, --force), not refused as no fast-forward."""
    git_present(root, remote)
    remote.commit(V2)
    git_present(root, remote)
    amended = dict(V1, **{"app/__init__.py": "VERSION = 'amended'\n"})
    git(remote.work, "reset", "--quiet", "--hard", remote.first)
    write_tree(remote.work, amended)
    git(remote.work, "commit", "--quiet", "--amend", "-a", "-m", "amended")
    rewritten = git(remote.work, "rev-parse", "HEAD")
    git(remote.work, "push", "--quiet", "--force", str(remote.bare), "main")
    result = git_present(root, remote)
    assert (result["unpacked"], result["commits"], result["releases"][0]["release"]) == \
        (["app"], {"app": rewritten}, remote.release_of(amended))
    assert mirror_ref(root, "refs/heads/main") == rewritten


@needs_git
@pytest.mark.parametrize("annotated", [True, False], ids=["annotated", "lightweight"])
def test_git_a_tag_gives_the_release_of_its_commit(root: Path, remote: Remote, annotated: bool) -> None:
    remote.tag("v1.0", remote.first, annotated)
    remote.commit(V2)  # main moves on; the tag stays
    result = git_present(root, remote, "v1.0")
    # The commit, not the annotated tag's own object.
    assert (result["unpacked"], result["commits"], result["releases"][0]["release"]) == \
        (["app"], {"app": remote.first}, remote.release_of(V1))
    assert mirror_ref(root, "refs/tags/v1.0^{commit}") == remote.first
    # Check mode asks the remote for the tag (ls-remote): the same commit, nothing to unpack.
    check = git_present(root, remote, "v1.0", check=True)
    assert (check["changed"], check["unpacked"], check["commits"]) == (False, [], {"app": remote.first})


@needs_git
@pytest.mark.parametrize("length", [40, 12])
def test_git_a_commit_sha_gives_the_release_of_that_commit(root: Path, remote: Remote, length: int) -> None:
    second = remote.commit(V2)
    remote.commit(V3)
    result = git_present(root, remote, second[:length])
    assert (result["unpacked"], result["commits"], result["releases"][0]["release"]) == \
        (["app"], {"app": second}, remote.release_of(V2))
    again = git_present(root, remote, second[:length])
    assert (again["changed"], again["unpacked"]) == (False, [])


@needs_git
def test_git_a_tag_moved_on_the_remote_gives_the_release_of_its_new_commit(root: Path, remote: Remote) -> None:
    """git fetch keeps a tag it has unless forced (--force): a retagged release must not stay the old one."""
    remote.tag("v1.0", remote.first, annotated=False)
    git_present(root, remote, "v1.0")
    second = remote.commit(V2)
    git(remote.work, "tag", "--force", "v1.0", second)
    git(remote.work, "push", "--quiet", "--force", str(remote.bare), "refs/tags/v1.0")
    result = git_present(root, remote, "v1.0")
    assert (result["unpacked"], result["commits"], result["releases"][0]["release"]) == \
        (["app"], {"app": second}, remote.release_of(V2))


@needs_git
def test_git_a_tag_on_a_commit_of_no_branch_is_fetched(root: Path, remote: Remote) -> None:
    """Tags are fetched whatever they point at (--tags), not only those on a fetched branch."""
    git(remote.work, "checkout", "--quiet", "--detach")
    loose = remote.commit(V3, push=False)
    remote.tag("hotfix", loose, annotated=True)
    git(remote.work, "checkout", "--quiet", "main")
    result = git_present(root, remote, "hotfix")
    assert (result["unpacked"], result["commits"], result["releases"][0]["release"]) == \
        (["app"], {"app": loose}, remote.release_of(V3))


@needs_git
def test_git_any_branch_may_be_the_version_and_a_deleted_one_is_pruned(root: Path, remote: Remote) -> None:
    git(remote.work, "checkout", "--quiet", "-b", "release/2.0")
    second = remote.commit(V2, push=False)
    git(remote.work, "push", "--quiet", str(remote.bare), "release/2.0")
    result = git_present(root, remote, "release/2.0")
    assert (result["unpacked"], result["commits"], result["releases"][0]["release"]) == \
        (["app"], {"app": second}, remote.release_of(V2))
    git(remote.bare, "branch", "-D", "release/2.0")
    gone = git_present(root, remote, "release/2.0", outcome=FailJson)
    assert gone["msg"] == "project 'app': field 'code.git.version': release/2.0 is no branch, tag or commit (on a " \
        "branch or tag) of %s" % remote.bare


@needs_git
def test_git_check_mode_with_a_commit_sha_in_the_mirror_reports_nothing_to_unpack(root: Path, remote: Remote) -> None:
    """ls-remote names no ref for a sha: the sha itself is the commit, found in the mirror."""
    release = git_present(root, remote, remote.first)["releases"][0]["release"]
    remote.commit(V2)
    result = git_present(root, remote, remote.first, check=True)
    assert (result["changed"], result["unpacked"], result["commits"], result["releases"][0]["release"]) == \
        (False, [], {"app": remote.first}, release)


@needs_git
def test_git_subdir_picks_the_folder_of_the_tree(root: Path, remote: Remote) -> None:
    files = {"src/app/__init__.py": "VERSION = 'sub'\n", "src/app/wsgi.py": "from app import VERSION\n",
             "src/bin/run": ("#!/bin/sh\n", True), "docs/index.txt": "docs\n", "README": "top\n"}
    commit = remote.commit(files)
    result = git_present(root, remote, subdir="src")
    release = remote.release_of(files, "src")
    assert (result["unpacked"], result["commits"], result["releases"][0]["release"]) == \
        (["app"], {"app": commit}, release)
    assert sorted(os.listdir(str(root / "releases" / release))) == [MARKER, "app", "bin"]
    assert mode_of(root / "releases" / release / "bin" / "run") == 0o755


@needs_git
def test_git_subdir_naming_no_folder_fails_naming_the_project_and_commit(root: Path, remote: Remote) -> None:
    result = git_present(root, remote, subdir="nowhere", outcome=FailJson)
    assert result["msg"] == "project 'app': field 'code.git': commit %s: the archive holds no files under " \
        "nowhere/" % remote.first
    assert not (root / "releases").exists()


@needs_git
def test_git_a_tree_without_the_wsgi_file_fails_and_unpacks_nothing(root: Path, remote: Remote) -> None:
    remote.commit({"app/__init__.py": ""})
    result = git_present(root, remote, outcome=FailJson)
    release = remote.release_of({"app/__init__.py": ""})
    assert result["msg"] == "project 'app': field 'code': release %s: the release holds no file %s " \
        "(field 'code.wsgi_file')" % (release, WSGI_FILE)
    assert on_host(root) == []


@needs_git
@pytest.mark.parametrize("version", ["nope", "v9.9", "feature/x", "0123456789abcdef0123456789abcdef01234567"])
def test_git_a_version_naming_nothing_fails(root: Path, remote: Remote, version: str) -> None:
    result = git_present(root, remote, version, outcome=FailJson)
    assert result["msg"] == "project 'app': field 'code.git.version': %s is no branch, tag or commit (on a branch " \
        "or tag) of %s" % (version, remote.bare)
    assert not (root / "releases").exists()


@needs_git
def test_git_a_repository_that_does_not_exist_fails_naming_the_project(
        root: Path, remote: Remote, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.git"
    args = {"state": "present",
            "releases": [dict(git_entry(root, remote), git={"repo": str(missing), "version": "main"})]}
    result = run(args, FailJson)
    assert result["msg"].startswith("project 'app': field 'code.git': git fetch failed: ")
    assert str(missing) in result["msg"]
    assert not (root / "releases").exists()


@needs_git
def test_git_a_repository_that_does_not_exist_fails_in_check_mode_too(
        root: Path, remote: Remote, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.git"
    args = {"state": "present", "_ansible_check_mode": True,
            "releases": [dict(git_entry(root, remote), git={"repo": str(missing), "version": "main"})]}
    result = run(args, FailJson)
    assert result["msg"].startswith("project 'app': field 'code.git': git ls-remote failed: ")
    assert not os.path.lexists(str(root))


@needs_git
def test_git_check_mode_on_a_fresh_root_reports_the_release_to_unpack_and_creates_nothing(
        root: Path, remote: Remote) -> None:
    result = git_present(root, remote, check=True)
    assert (result["changed"], result["unpacked"], result["missing"], result["commits"]) == \
        (True, ["app"], [], {"app": remote.first})
    assert result["releases"][0]["release"] is None  # not known without fetching
    assert not os.path.lexists(str(root))  # no repository.git, no releases


@needs_git
def test_git_check_mode_on_a_fresh_root_reports_the_project_not_current(root: Path, remote: Remote) -> None:
    assert git_present(root, remote, check=True)["not_current"] == ["app"]


@needs_git
def test_git_check_mode_after_a_fetch_reports_nothing_to_unpack(root: Path, remote: Remote) -> None:
    release = git_present(root, remote)["releases"][0]["release"]
    result = git_present(root, remote, check=True)
    assert (result["changed"], result["unpacked"], result["not_current"], result["commits"]) == \
        (False, [], ["app"], {"app": remote.first})
    assert result["releases"][0]["release"] == release


@needs_git
def test_git_check_mode_reports_a_new_commit_without_fetching_it(root: Path, remote: Remote) -> None:
    release = git_present(root, remote)["releases"][0]["release"]
    second = remote.commit(V2)
    result = git_present(root, remote, check=True)
    assert (result["changed"], result["unpacked"], result["not_current"], result["commits"]) == \
        (True, ["app"], ["app"], {"app": second})
    assert result["releases"][0]["release"] is None
    # Nothing fetched, nothing unpacked.
    assert mirror_ref(root, "refs/heads/main") == remote.first
    assert not mirror_has(root, second)
    assert on_host(root) == [release]


@needs_git
def test_git_check_mode_on_a_switched_project_with_a_new_commit_reports_it_not_current(
        root: Path, remote: Remote) -> None:
    run({"state": "current", "releases": git_present(root, remote)["releases"]})
    remote.commit(V2)
    result = git_present(root, remote, check=True)
    assert (result["unpacked"], result["not_current"]) == (["app"], ["app"])


@needs_git
def test_git_current_with_the_releases_of_present_switches_to_it(root: Path, remote: Remote) -> None:
    released = git_present(root, remote)
    release = released["releases"][0]["release"]
    result = run({"state": "current", "releases": released["releases"]})
    assert (result["changed"], result["switched"], result["current"], result["commits"]) == \
        (True, ["app"], {"app": release}, {})
    assert os.readlink(str(root / "current")) == "releases/" + release
    assert (root / "current" / "app" / "__init__.py").read_text() == "VERSION = 'v1'\n"
    assert history_of(root) == [release]
    # Then present of the same commit finds it current.
    assert git_present(root, remote)["not_current"] == []
    # And a new commit: a release to switch to, which current does.
    remote.commit(V2)
    newer = git_present(root, remote)
    assert newer["not_current"] == ["app"]
    switched = run({"state": "current", "releases": newer["releases"]})
    assert switched["current"] == {"app": remote.release_of(V2)}


@needs_git
def test_git_current_in_check_mode_with_the_unknown_release_of_check_mode_reports_the_switch(
        root: Path, remote: Remote) -> None:
    checked = git_present(root, remote, check=True)
    result = run({"state": "current", "releases": checked["releases"], "_ansible_check_mode": True})
    assert (result["changed"], result["switched"], result["current"]) == (True, ["app"], {"app": None})
    assert not os.path.lexists(str(root))

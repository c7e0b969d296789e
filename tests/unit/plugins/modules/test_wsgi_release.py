# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests of the wsgi_release module's main() on real files under pytest's tmp_path (Molecule runs it on real hosts)."""

from __future__ import annotations

import os
import stat
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

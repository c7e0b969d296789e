# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests of the wsgi_files module's main() on real files under pytest's tmp_path (Molecule runs it on real hosts)."""

from __future__ import annotations

import grp
import os
import stat
from pathlib import Path
from typing import Any, Optional

import pytest

from ansible_collections.modwsgi.fleet.plugins.modules import wsgi_files
from ansible_collections.modwsgi.fleet.tests.unit.plugins.modules.harness import ExitJson, FailJson, run_main

# The module sets the owner of every folder and script to root: only root can do that.
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="wsgi_files sets owner root on what it writes: needs root")

APP = "def application(environ, start_response):\n    start_response('200 OK', [])\n    return [b'app']\n"
OTHER = "def application(environ, start_response):\n    start_response('200 OK', [])\n    return [b'other']\n"


def run(args: dict[str, Any], outcome: type[Exception] = ExitJson) -> dict[str, Any]:
    return run_main(wsgi_files.main, args, outcome)


def entry(base: Path, project: str, content: str, **extra: Any) -> dict[str, Any]:
    return dict({"project": project, "dest": str(base / project / (project + ".wsgi")), "content": content}, **extra)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def other_group() -> Optional[grp.struct_group]:
    """A group of this host other than root, for the group tests."""
    for group in sorted(grp.getgrall(), key=lambda g: g.gr_gid):
        if group.gr_gid != 0:
            return group
    return None


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """The base_dir the module creates: not there yet."""
    return tmp_path / "wsgi"


# Writing scripts

def test_first_call_creates_base_dir_folder_and_script(base: Path) -> None:
    result = run({"base_dir": str(base), "files": [entry(base, "app", APP)]})
    dest = base / "app" / "app.wsgi"
    assert result == {
        "changed": True,
        "changed_projects": ["app"],
        "stale_venvs": [],
        "stamps": [],
        "diff": [{"before_header": str(dest), "after_header": str(dest), "before": "", "after": APP}],
    }
    assert base.is_dir() and mode_of(base) == 0o755
    assert (base / "app").is_dir() and mode_of(base / "app") == 0o755
    assert dest.read_bytes() == APP.encode()
    assert mode_of(dest) == 0o644
    assert sorted(os.listdir(str(base / "app"))) == ["app.wsgi"]  # no temporary file left behind


def test_folders_and_script_are_owned_by_root(base: Path) -> None:
    run({"base_dir": str(base), "files": [entry(base, "app", APP)]})
    for path in (base, base / "app", base / "app" / "app.wsgi"):
        info = os.stat(str(path))
        assert (info.st_uid, info.st_gid) == (0, 0), path


def test_given_group_is_set_on_the_script_and_its_folder(base: Path) -> None:
    group = other_group()
    if group is None:
        pytest.skip("this host has no group besides root")
    run({"base_dir": str(base), "files": [entry(base, "app", APP, group=group.gr_name)]})
    assert os.stat(str(base)).st_gid == 0
    assert os.stat(str(base / "app")).st_gid == group.gr_gid
    assert os.stat(str(base / "app" / "app.wsgi")).st_gid == group.gr_gid
    assert os.stat(str(base / "app" / "app.wsgi")).st_uid == 0


def test_given_mode_is_applied(base: Path) -> None:
    result = run({"base_dir": str(base), "files": [entry(base, "app", APP, mode="0640")]})
    assert result["changed"] is True
    assert mode_of(base / "app" / "app.wsgi") == 0o640
    assert mode_of(base / "app") == 0o755


def test_second_identical_call_changes_nothing_and_does_not_rewrite(base: Path) -> None:
    args = {"base_dir": str(base), "files": [entry(base, "app", APP), entry(base, "other", OTHER, mode="0640")]}
    assert run(args)["changed_projects"] == ["app", "other"]
    dest = base / "app" / "app.wsgi"
    before = os.stat(str(dest))
    result = run(args)
    assert result == {"changed": False, "changed_projects": [], "stale_venvs": [], "stamps": [], "diff": []}
    after = os.stat(str(dest))
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert mode_of(base / "other" / "other.wsgi") == 0o640


def test_changed_content_replaces_only_that_script(base: Path) -> None:
    run({"base_dir": str(base), "files": [entry(base, "app", APP), entry(base, "other", OTHER)]})
    other_inode = os.stat(str(base / "other" / "other.wsgi")).st_ino
    new = APP.replace("b'app'", "b'app v2'")
    result = run({"base_dir": str(base), "files": [entry(base, "app", new), entry(base, "other", OTHER)]})
    dest = base / "app" / "app.wsgi"
    assert result["changed"] is True
    assert result["changed_projects"] == ["app"]
    assert result["diff"] == [{"before_header": str(dest), "after_header": str(dest), "before": APP, "after": new}]
    assert dest.read_text() == new
    assert mode_of(dest) == 0o644
    assert os.stat(str(base / "other" / "other.wsgi")).st_ino == other_inode
    assert sorted(os.listdir(str(base / "app"))) == ["app.wsgi"]


def test_a_mode_change_alone_is_repaired(base: Path) -> None:
    args = {"base_dir": str(base), "files": [entry(base, "app", APP), entry(base, "other", OTHER)]}
    run(args)
    dest = base / "app" / "app.wsgi"
    os.chmod(str(dest), 0o666)
    inode = os.stat(str(dest)).st_ino
    result = run(args)
    assert (result["changed"], result["changed_projects"], result["diff"]) == (True, ["app"], [])
    assert mode_of(dest) == 0o644
    assert os.stat(str(dest)).st_ino == inode
    assert run(args)["changed"] is False


def test_a_folder_mode_change_is_repaired(base: Path) -> None:
    args = {"base_dir": str(base), "files": [entry(base, "app", APP)]}
    run(args)
    os.chmod(str(base / "app"), 0o700)
    result = run(args)
    assert (result["changed"], result["changed_projects"], result["diff"]) == (True, ["app"], [])
    assert mode_of(base / "app") == 0o755


def test_without_base_dir_the_folder_is_still_created(tmp_path: Path) -> None:
    result = run({"files": [entry(tmp_path, "app", APP)]})
    assert (result["changed"], result["changed_projects"]) == (True, ["app"])
    assert (tmp_path / "app" / "app.wsgi").read_text() == APP


def test_missing_parents_of_base_dir_are_created(tmp_path: Path) -> None:
    base = tmp_path / "opt" / "acme" / "wsgi"
    result = run({"base_dir": str(base), "files": [entry(base, "app", APP)]})
    assert (result["changed"], result["changed_projects"]) == (True, ["app"])
    assert mode_of(base) == 0o755
    assert (base / "app" / "app.wsgi").read_text() == APP


def test_missing_parents_of_a_script_folder_are_created(base: Path) -> None:
    dest = base / "deep" / "er" / "app.wsgi"
    result = run({"base_dir": str(base), "files": [{"project": "app", "dest": str(dest), "content": APP}]})
    assert (result["changed"], result["changed_projects"]) == (True, ["app"])
    assert mode_of(dest.parent) == 0o755
    assert dest.read_text() == APP


def test_nothing_to_do_does_not_create_base_dir(base: Path) -> None:
    result = run({"base_dir": str(base)})
    assert result == {"changed": False, "changed_projects": [], "stale_venvs": [], "stamps": [], "diff": []}
    assert not os.path.lexists(str(base))


def test_a_folder_that_is_a_file_is_an_error(base: Path) -> None:
    base.mkdir()
    (base / "app").write_text("in the way\n")
    result = run({"base_dir": str(base), "files": [entry(base, "app", APP)]}, FailJson)
    assert result["msg"] == "%s exists and is not a directory" % (base / "app")
    assert (base / "app").read_text() == "in the way\n"


# Check mode

def test_check_mode_on_a_fresh_tree_writes_nothing(base: Path) -> None:
    result = run({"base_dir": str(base), "files": [entry(base, "app", APP)], "_ansible_check_mode": True})
    dest = base / "app" / "app.wsgi"
    assert result == {
        "changed": True,
        "changed_projects": ["app"],
        "stale_venvs": [],
        "stamps": [],
        "diff": [{"before_header": str(dest), "after_header": str(dest), "before": "", "after": APP}],
    }
    assert not os.path.lexists(str(base))


def test_check_mode_reports_a_content_change_without_writing(base: Path) -> None:
    args = {"base_dir": str(base), "files": [entry(base, "app", APP), entry(base, "other", OTHER)]}
    run(args)
    new = APP.replace("b'app'", "b'app v2'")
    result = run({"base_dir": str(base), "files": [entry(base, "app", new), entry(base, "other", OTHER)],
                  "_ansible_check_mode": True})
    dest = base / "app" / "app.wsgi"
    assert (result["changed"], result["changed_projects"]) == (True, ["app"])
    assert result["diff"] == [{"before_header": str(dest), "after_header": str(dest), "before": APP, "after": new}]
    assert dest.read_text() == APP


def test_check_mode_reports_a_mode_change_without_repairing(base: Path) -> None:
    args = {"base_dir": str(base), "files": [entry(base, "app", APP)]}
    run(args)
    dest = base / "app" / "app.wsgi"
    os.chmod(str(dest), 0o666)
    result = run(dict(args, _ansible_check_mode=True))
    assert (result["changed"], result["changed_projects"], result["diff"]) == (True, ["app"], [])
    assert mode_of(dest) == 0o666


def test_check_mode_after_a_run_reports_nothing(base: Path) -> None:
    args = {"base_dir": str(base), "files": [entry(base, "app", APP)]}
    run(args)
    result = run(dict(args, _ansible_check_mode=True))
    assert result == {"changed": False, "changed_projects": [], "stale_venvs": [], "stamps": [], "diff": []}


# Scripts that must already be on the host

def test_an_existing_script_passes(base: Path, tmp_path: Path) -> None:
    script = tmp_path / "keystone-wsgi-public"
    script.write_text("#!/usr/bin/python3\n")
    result = run({"base_dir": str(base), "scripts": [{"project": "keystone", "path": str(script)}]})
    assert result == {"changed": False, "changed_projects": [], "stale_venvs": [], "stamps": [], "diff": []}
    assert not os.path.lexists(str(base))


def test_missing_and_directory_scripts_fail_together_and_nothing_is_written(base: Path, tmp_path: Path) -> None:
    good = tmp_path / "good-wsgi"
    good.write_text("#!/usr/bin/python3\n")
    missing = tmp_path / "no-such-wsgi"
    folder = tmp_path / "a-folder"
    folder.mkdir()
    result = run({
        "base_dir": str(base),
        "files": [entry(base, "app", APP)],
        "scripts": [{"project": "x", "path": str(missing)}, {"project": "good", "path": str(good)},
                    {"project": "y", "path": str(folder)}],
        "venvs": [{"python_home": str(base / "app" / "venv"), "packages": ["webob"]}],
    }, FailJson)
    assert result == {
        "failed": True,
        "msg": "project 'x': field 'script': %s does not exist on this host; "
               "project 'y': field 'script': %s is not a regular file" % (missing, folder),
    }
    assert not os.path.lexists(str(base))


def test_a_relative_script_path_fails(base: Path) -> None:
    result = run({"base_dir": str(base), "files": [entry(base, "app", APP)],
                  "scripts": [{"project": "x", "path": "bin/x.wsgi"}]}, FailJson)
    assert result["msg"] == "project 'x': field 'script': 'bin/x.wsgi' is not an absolute path"
    assert not os.path.lexists(str(base))


# Venvs and their stamps

def test_venv_is_stale_until_its_stamp_is_written_and_again_when_packages_change(base: Path) -> None:
    home = base / "app" / "venv"
    venv = {"python_home": str(home), "packages": ["webob", "flask==3.0"], "pip_args": "--no-index"}
    result = run({"base_dir": str(base), "venvs": [venv]})
    stamp = str(home / ".modwsgi-fleet-packages")
    content = '{"packages": ["webob", "flask==3.0"], "pip_args": "--no-index"}\n'
    assert result == {"changed": True, "changed_projects": [], "stale_venvs": [str(home)],
                      "stamps": [{"path": stamp, "content": content}], "diff": []}
    assert base.is_dir() and mode_of(base) == 0o755

    home.mkdir(parents=True)
    Path(result["stamps"][0]["path"]).write_text(result["stamps"][0]["content"])
    result = run({"base_dir": str(base), "venvs": [venv]})
    assert result == {"changed": False, "changed_projects": [], "stale_venvs": [],
                      "stamps": [{"path": stamp, "content": content}], "diff": []}

    changed = dict(venv, packages=["webob"])
    result = run({"base_dir": str(base), "venvs": [changed]})
    assert result["stale_venvs"] == [str(home)]
    assert result["stamps"] == [{"path": stamp, "content": '{"packages": ["webob"], "pip_args": "--no-index"}\n'}]
    assert result["changed"] is False


def test_venv_is_stale_when_pip_args_change(base: Path) -> None:
    home = base / "venv"
    home.mkdir(parents=True)
    venv = {"python_home": str(home), "packages": ["webob"]}
    first = run({"base_dir": str(base), "venvs": [venv]})
    assert first["stamps"] == [{"path": str(home / ".modwsgi-fleet-packages"),
                                "content": '{"packages": ["webob"], "pip_args": ""}\n'}]
    (home / ".modwsgi-fleet-packages").write_text(first["stamps"][0]["content"])
    assert run({"base_dir": str(base), "venvs": [venv]})["stale_venvs"] == []
    assert run({"base_dir": str(base), "venvs": [dict(venv, pip_args="--no-index")]})["stale_venvs"] == [str(home)]


def test_only_the_stale_venvs_are_listed_in_order(tmp_path: Path) -> None:
    homes = [tmp_path / name for name in ("a", "b", "c")]
    venvs = [{"python_home": str(h), "packages": ["webob"]} for h in homes]
    homes[1].mkdir()
    (homes[1] / ".modwsgi-fleet-packages").write_text('{"packages": ["webob"], "pip_args": ""}\n')
    result = run({"venvs": venvs})
    assert result["stale_venvs"] == [str(homes[0]), str(homes[2])]
    assert [s["path"] for s in result["stamps"]] == [str(h / ".modwsgi-fleet-packages") for h in homes]


# Entries check_entries rejects

def test_a_relative_dest_fails(base: Path) -> None:
    result = run({"base_dir": str(base),
                  "files": [{"project": "app", "dest": "app/app.wsgi", "content": APP}]}, FailJson)
    assert result == {"failed": True,
                      "msg": "project 'app': field 'dest': 'app/app.wsgi' is not a normalised absolute path"}
    assert not os.path.lexists(str(base))


def test_the_same_dest_twice_fails(base: Path) -> None:
    dest = str(base / "app" / "app.wsgi")
    result = run({"base_dir": str(base), "files": [{"project": "a", "dest": dest, "content": APP},
                                                   {"project": "b", "dest": dest, "content": OTHER}]}, FailJson)
    assert result["msg"] == "project 'b': field 'dest': %s is also written for project 'a'" % dest
    assert not os.path.lexists(str(base))


def test_a_three_digit_mode_fails(base: Path) -> None:
    result = run({"base_dir": str(base), "files": [entry(base, "app", APP, mode="644")]}, FailJson)
    assert result["msg"] == "project 'app': field 'mode': give four octal digits as a string, got '644'"
    assert not os.path.lexists(str(base))


def test_a_mode_given_as_a_yaml_number_fails(base: Path) -> None:
    """``mode: 644`` in YAML is the integer 644: the module sees '644', not 0644."""
    result = run({"base_dir": str(base), "files": [entry(base, "app", APP, mode=644)]}, FailJson)
    assert result["msg"] == "project 'app': field 'mode': give four octal digits as a string, got '644'"
    assert not os.path.lexists(str(base))


# Static folders (directories)

NOTHING = {"changed_projects": [], "stale_venvs": [], "stamps": [], "diff": []}


def test_a_missing_static_folder_is_created_with_its_parents(tmp_path: Path) -> None:
    folder = tmp_path / "srv" / "site1" / "static"
    old_umask = os.umask(0o077)  # the module sets 0755 whatever the umask
    try:
        result = run({"directories": [{"project": "site1", "path": str(folder)}]})
    finally:
        os.umask(old_umask)
    assert result == dict(NOTHING, changed=True)
    assert folder.is_dir() and os.listdir(str(folder)) == []
    assert mode_of(folder) == 0o755
    if os.geteuid() == 0:
        info = os.stat(str(folder))
        assert (info.st_uid, info.st_gid) == (0, 0)
    # Once there, it is left alone.
    assert run({"directories": [{"project": "site1", "path": str(folder)}]}) == dict(NOTHING, changed=False)


def test_an_existing_static_folder_is_left_as_it_is(tmp_path: Path) -> None:
    folder = tmp_path / "static"
    folder.mkdir()
    os.chmod(str(folder), 0o2770)
    group = other_group()
    if group is not None:
        os.chown(str(folder), -1, group.gr_gid)
    (folder / "app.css").write_text("body {}\n")
    before = os.stat(str(folder))
    result = run({"directories": [{"project": "site1", "path": str(folder)}]})
    assert result == dict(NOTHING, changed=False)
    after = os.stat(str(folder))
    assert mode_of(folder) == 0o2770
    assert (after.st_uid, after.st_gid, after.st_ino) == (before.st_uid, before.st_gid, before.st_ino)
    assert (folder / "app.css").read_text() == "body {}\n"


def test_a_static_folder_that_is_a_file_is_an_error_naming_the_project(tmp_path: Path) -> None:
    folder = tmp_path / "static"
    folder.write_text("in the way\n")
    result = run({"directories": [{"project": "site1", "path": str(folder)}]}, FailJson)
    assert result["failed"] is True
    assert result["msg"].startswith("project 'site1': ") and str(folder) in result["msg"]
    assert result["msg"].endswith("exists and is not a directory")
    assert folder.read_text() == "in the way\n"


def test_a_relative_static_folder_is_an_error(tmp_path: Path) -> None:
    result = run({"directories": [{"project": "site1", "path": "static"}]}, FailJson)
    assert result["msg"].startswith("project 'site1': ") and "'static' is not an absolute path" in result["msg"]
    assert not os.path.lexists(str(tmp_path / "static"))


def test_check_mode_reports_a_missing_static_folder_and_creates_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "srv" / "site1" / "static"
    existing = tmp_path / "existing"
    existing.mkdir()
    args = {"directories": [{"project": "site1", "path": str(folder)}, {"project": "site2", "path": str(existing)}],
            "_ansible_check_mode": True}
    assert run(args) == dict(NOTHING, changed=True)
    assert not os.path.lexists(str(tmp_path / "srv"))
    # Only the missing one counts: with it there, check mode reports nothing.
    folder.mkdir(parents=True)
    assert run(args) == dict(NOTHING, changed=False)


def test_static_folders_and_scripts_in_one_call(base: Path) -> None:
    folder = base / "app" / "static"
    args = {"base_dir": str(base), "files": [entry(base, "app", APP)],
            "directories": [{"project": "app", "path": str(folder)}]}
    result = run(args)
    assert (result["changed"], result["changed_projects"]) == (True, ["app"])
    assert folder.is_dir() and mode_of(folder) == 0o755
    assert sorted(os.listdir(str(base / "app"))) == ["app.wsgi", "static"]
    assert run(args)["changed"] is False


def test_one_static_folder_of_two_projects_is_created_once(tmp_path: Path) -> None:
    """Two projects' entries may name one folder (the plan's static_dirs then list it twice)."""
    folder = tmp_path / "srv" / "shared"
    args = {"directories": [{"project": "a", "path": str(folder)}, {"project": "b", "path": str(folder)}]}
    assert run(args) == dict(NOTHING, changed=True)
    assert folder.is_dir() and mode_of(folder) == 0o755 and os.listdir(str(folder)) == []
    assert run(args) == dict(NOTHING, changed=False)


@pytest.mark.parametrize("inner_first", [False, True], ids=["outer-first", "inner-first"])
def test_nested_static_folders_are_each_0755_in_either_order(tmp_path: Path, inner_first: bool) -> None:
    """/srv/st holds /srv/st/img, each a static folder of its own: whichever comes first, both end up 0755
    (the outer one, created as a parent of the inner one, too), whatever the umask."""
    outer = tmp_path / "srv" / "st"
    inner = outer / "img"
    directories = [{"project": "a", "path": str(outer)}, {"project": "a", "path": str(inner)}]
    if inner_first:
        directories.reverse()
    old_umask = os.umask(0o077)
    try:
        assert run({"directories": directories}) == dict(NOTHING, changed=True)
    finally:
        os.umask(old_umask)
    assert inner.is_dir() and os.listdir(str(inner)) == []
    assert (mode_of(tmp_path / "srv"), mode_of(outer), mode_of(inner)) == (0o755, 0o755, 0o755)
    assert run({"directories": directories}) == dict(NOTHING, changed=False)

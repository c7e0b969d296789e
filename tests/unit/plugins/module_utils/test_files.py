# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checking the scripts to put in place and the venv stamps, without a file (plugins/module_utils/_files.py)."""

from __future__ import annotations

import json
import stat
from typing import Any, Optional

import pytest

from ansible_collections.modwsgi.fleet.plugins.module_utils._files import (
    STAMP,
    FilesError,
    check_entries,
    script_problem,
    stale_venvs,
    stamp_path,
    stamp_text,
)


def file_entry(project: str, dest: str, mode: Any = "0644") -> dict[str, Any]:
    return {"project": project, "dest": dest, "content": "x\n", "group": "root", "mode": mode}


def check_fails(files: list[dict[str, Any]], scripts: Optional[list[dict[str, Any]]] = None) -> str:
    with pytest.raises(FilesError) as info:
        check_entries(files, scripts or [])
    return str(info.value)


# stamp_text and stamp_path

def test_stamp_text_is_sorted_json_with_a_trailing_newline() -> None:
    assert stamp_text(["webob", "flask==3.0"], "--no-index") == \
        '{"packages": ["webob", "flask==3.0"], "pip_args": "--no-index"}\n'


def test_stamp_text_is_stable_and_reads_back() -> None:
    first = stamp_text(["webob"], "")
    assert first == stamp_text(["webob"], "")
    assert json.loads(first) == {"packages": ["webob"], "pip_args": ""}


def test_stamp_text_takes_any_sequence_of_packages() -> None:
    assert stamp_text(("webob",), "") == stamp_text(["webob"], "")


def test_stamp_text_differs_with_the_packages() -> None:
    assert stamp_text(["webob"], "") != stamp_text(["webob", "flask"], "")


def test_stamp_text_differs_with_the_pip_args() -> None:
    assert stamp_text(["webob"], "") != stamp_text(["webob"], "--no-index")


def test_stamp_text_keeps_the_package_order() -> None:
    assert stamp_text(["a", "b"], "") == '{"packages": ["a", "b"], "pip_args": ""}\n'
    assert stamp_text(["b", "a"], "") == '{"packages": ["b", "a"], "pip_args": ""}\n'


def test_stamp_path_is_in_the_venv() -> None:
    assert STAMP == ".modwsgi-fleet-packages"
    assert stamp_path("/srv/wsgi/app/venv") == "/srv/wsgi/app/venv/.modwsgi-fleet-packages"


# check_entries

def test_check_entries_accepts_distinct_absolute_paths() -> None:
    files = [file_entry("a", "/srv/wsgi/a/a.wsgi"), file_entry("b", "/srv/wsgi/b/b.wsgi", "0640")]
    scripts = [{"project": "c", "path": "/usr/bin/c-wsgi"}]
    assert check_entries(files, scripts) is None


def test_check_entries_accepts_nothing() -> None:
    assert check_entries([], []) is None


def test_check_entries_rejects_a_relative_dest() -> None:
    assert check_fails([file_entry("a", "srv/a.wsgi")]) == \
        "project 'a': field 'dest': 'srv/a.wsgi' is not a normalised absolute path"


@pytest.mark.parametrize("dest", ["/a/../b", "/srv//a.wsgi", "/srv/./a.wsgi", "/srv/wsgi/"])
def test_check_entries_rejects_a_dest_that_is_not_normalised(dest: str) -> None:
    assert check_fails([file_entry("a", dest)]) == \
        "project 'a': field 'dest': %r is not a normalised absolute path" % dest


def test_check_entries_message_for_a_dotdot_dest() -> None:
    assert check_fails([file_entry("app", "/a/../b")]) == \
        "project 'app': field 'dest': '/a/../b' is not a normalised absolute path"


def test_check_entries_names_both_projects_of_a_dest_written_twice() -> None:
    files = [file_entry("first", "/srv/wsgi/x.wsgi"), file_entry("other", "/srv/wsgi/y.wsgi"),
             file_entry("second", "/srv/wsgi/x.wsgi")]
    assert check_fails(files) == \
        "project 'second': field 'dest': /srv/wsgi/x.wsgi is also written for project 'first'"


@pytest.mark.parametrize("mode, shown", [
    ("644", "'644'"),
    (644, "644"),
    ("0999", "'0999'"),
    ("0o644", "'0o644'"),
    ("u=rw", "'u=rw'"),
    ("00644", "'00644'"),
])
def test_check_entries_rejects_a_mode_that_is_not_four_octal_digits(mode: Any, shown: str) -> None:
    assert check_fails([file_entry("app", "/srv/wsgi/app.wsgi", mode)]) == \
        "project 'app': field 'mode': give four octal digits as a string, got %s" % shown


def test_check_entries_rejects_a_relative_script_path() -> None:
    files = [file_entry("a", "/srv/wsgi/a/a.wsgi")]
    scripts = [{"project": "ok", "path": "/usr/bin/ok"}, {"project": "ks", "path": "bin/keystone-wsgi"}]
    assert check_fails(files, scripts) == "project 'ks': field 'script': 'bin/keystone-wsgi' is not an absolute path"


def test_check_entries_error_is_a_value_error() -> None:
    assert issubclass(FilesError, ValueError)


# script_problem

def test_script_problem_for_a_missing_script() -> None:
    assert script_problem("ks", "/usr/bin/ks", None) == \
        "project 'ks': field 'script': /usr/bin/ks does not exist on this host"


def test_script_problem_for_a_directory() -> None:
    assert script_problem("ks", "/usr/bin", stat.S_IFDIR | 0o755) == \
        "project 'ks': field 'script': /usr/bin is not a regular file"


def test_script_problem_for_a_fifo() -> None:
    assert script_problem("ks", "/run/fifo", stat.S_IFIFO | 0o644) == \
        "project 'ks': field 'script': /run/fifo is not a regular file"


def test_script_problem_none_for_a_regular_file() -> None:
    assert script_problem("ks", "/usr/bin/ks", stat.S_IFREG | 0o755) is None


# stale_venvs

VENVS = [
    {"python_home": "/srv/wsgi/a/venv", "packages": ["webob"], "pip_args": ""},
    {"python_home": "/srv/wsgi/b/venv", "packages": ["flask", "webob"], "pip_args": "--no-index"},
]


def stale(stamps: dict[str, str]) -> list[str]:
    return stale_venvs(VENVS, stamps.get)


def test_stale_venvs_when_the_stamp_is_missing() -> None:
    assert stale({}) == ["/srv/wsgi/a/venv", "/srv/wsgi/b/venv"]


def test_stale_venvs_none_when_the_stamps_match() -> None:
    assert stale({"/srv/wsgi/a/venv": stamp_text(["webob"], ""),
                  "/srv/wsgi/b/venv": stamp_text(["flask", "webob"], "--no-index")}) == []


def test_stale_venvs_when_the_packages_differ() -> None:
    assert stale({"/srv/wsgi/a/venv": stamp_text(["webob", "flask"], ""),
                  "/srv/wsgi/b/venv": stamp_text(["flask", "webob"], "--no-index")}) == ["/srv/wsgi/a/venv"]


def test_stale_venvs_when_the_package_order_differs() -> None:
    assert stale({"/srv/wsgi/a/venv": stamp_text(["webob"], ""),
                  "/srv/wsgi/b/venv": stamp_text(["webob", "flask"], "--no-index")}) == ["/srv/wsgi/b/venv"]


def test_stale_venvs_when_the_pip_args_differ() -> None:
    assert stale({"/srv/wsgi/a/venv": stamp_text(["webob"], ""),
                  "/srv/wsgi/b/venv": stamp_text(["flask", "webob"], "")}) == ["/srv/wsgi/b/venv"]


def test_stale_venvs_when_the_stamp_lacks_its_newline() -> None:
    assert stale({"/srv/wsgi/a/venv": stamp_text(["webob"], "").rstrip("\n"),
                  "/srv/wsgi/b/venv": stamp_text(["flask", "webob"], "--no-index")}) == ["/srv/wsgi/a/venv"]


def test_stale_venvs_of_no_venv() -> None:
    assert stale_venvs([], lambda home: None) == []

# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests of the host_state module's main(): arguments in, exit_json/fail_json out."""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.modwsgi.fleet.plugins.doc_fragments.module import ModuleDocFragment
from ansible_collections.modwsgi.fleet.plugins.modules import host_state
from ansible_collections.modwsgi.fleet.tests.unit.plugins.modules.harness import ExitJson, FailJson, run_main

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
# sh -c SCRIPT sh PACKAGE: the package the module appends is $1; only apache2 and curl are installed.
QUERY = ["sh", "-c", 'case "$1" in apache2|curl) echo installed;; *) exit 1;; esac', "sh"]


def run(args: dict[str, Any], outcome: type[Exception] = ExitJson) -> dict[str, Any]:
    """Run main() with ``args``; return what it passed to exit_json or fail_json."""
    return run_main(host_state.main, args, outcome)


def sha1_of(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()  # nosec: a content checksum, as the module takes


@pytest.fixture(name="etc")
def fixture_etc(tmp_path: Path) -> Path:
    """A configuration folder: ports.conf and global.conf, 0644, and a module link."""
    etc = tmp_path / "etc"
    etc.mkdir()
    etc.chmod(0o755)
    for name, text in (("ports.conf", "Listen 80\n"), ("global.conf", "ServerTokens Prod\n")):
        (etc / name).write_text(text)
        (etc / name).chmod(0o644)
    (etc / "mpm_event.load").symlink_to("../mods-available/mpm_event.load")
    return etc


def test_everything_in_one_call(etc: Path) -> None:
    ports, conf, link = (str(etc / name) for name in ("ports.conf", "global.conf", "mpm_event.load"))
    missing = str(etc / "logrotate")
    result = run({
        "packages": ["apache2", "logrotate", "curl", "libapache2-mod-wsgi-py3"],
        "package_query": QUERY,
        "files": {
            ports: {"sha1": sha1_of("Listen 80\n"), "mode": "0644", "owner": OWNER, "group": GROUP},
            conf: {"sha1": sha1_of("ServerTokens Full\n"), "mode": "0644", "owner": OWNER, "group": GROUP},
            missing: {"sha1": sha1_of(""), "mode": "0644"},
        },
        "paths": [str(etc), link, str(etc / "absent.load")],
        "read": [conf, str(etc / "absent.conf")],
    })
    assert result == {
        "changed": False,
        "missing_packages": ["logrotate", "libapache2-mod-wsgi-py3"],
        "stale_files": sorted([conf, missing]),
        "paths": {
            str(etc): {"type": "directory", "mode": "0755", "owner": OWNER, "group": GROUP},
            link: {"type": "link", "mode": "0777", "owner": OWNER, "group": GROUP},
            str(etc / "absent.load"): None,
        },
        "contents": {conf: "ServerTokens Prod\n", str(etc / "absent.conf"): None},
        "service": {},
    }


def test_the_package_is_appended_as_the_last_argument() -> None:
    query = ["sh", "-c", 'test "$1" = apache2 && echo installed', "sh"]
    assert run({"packages": ["apache2", "apache2-bin"], "package_query": query})["missing_packages"] == ["apache2-bin"]


@pytest.mark.parametrize(
    "script",
    [
        "echo config-files",  # removed, its configuration kept
        "echo installed; exit 1",
        "echo 'dpkg-query: no packages found matching x' >&2; exit 1",
        "echo not-installed",
    ],
)
def test_a_package_not_reported_installed_is_missing(script: str) -> None:
    result = run({"packages": ["apache2"], "package_query": ["sh", "-c", script]})
    assert result["missing_packages"] == ["apache2"] and "failed" not in result


def test_an_absent_query_command_means_every_package_missing(tmp_path: Path) -> None:
    for command in (["no-such-package-query-modwsgi-fleet", "--show"], [str(tmp_path / "absent" / "dpkg-query")]):
        result = run({"packages": ["apache2", "logrotate"], "package_query": command})
        assert result["missing_packages"] == ["apache2", "logrotate"] and "failed" not in result


def test_a_file_that_matches_is_not_stale(etc: Path) -> None:
    ports = str(etc / "ports.conf")
    for wanted in ({"sha1": sha1_of("Listen 80\n"), "mode": "0644", "owner": OWNER, "group": GROUP},
                   {"sha1": sha1_of("Listen 80\n"), "mode": "644"}, {"owner": OWNER}, {}):
        assert run({"files": {ports: wanted}})["stale_files"] == [], wanted


@pytest.mark.parametrize(
    "wanted",
    [
        {"sha1": sha1_of("Listen 8080\n")},
        {"mode": "0640"},
        {"owner": "modwsgi-fleet-no-such-user"},
        {"group": "modwsgi-fleet-no-such-group"},
    ],
)
def test_a_file_that_differs_is_stale(etc: Path, wanted: dict[str, str]) -> None:
    ports = str(etc / "ports.conf")
    assert run({"files": {ports: wanted}})["stale_files"] == [ports]


def test_a_directory_or_link_where_a_file_is_wanted_is_stale(etc: Path) -> None:
    link = str(etc / "mpm_event.load")
    assert run({"files": {str(etc): {}, link: {}}})["stale_files"] == sorted([str(etc), link])


def test_nothing_asked_gives_empty_answers() -> None:
    assert run({}) == {"changed": False, "missing_packages": [], "stale_files": [], "paths": {}, "contents": {},
                       "service": {}}


def test_a_service_is_read_with_systemctl() -> None:
    # Whether or not systemctl is installed or systemd runs here, a unit that does not exist is neither.
    result = run({"service": "modwsgi-fleet-no-such-unit"})
    assert result["service"] == {"enabled": False, "active": False} and "failed" not in result


def test_check_mode_gives_the_same_answer(etc: Path) -> None:
    args = {"packages": ["apache2", "logrotate"], "package_query": QUERY,
            "files": {str(etc / "ports.conf"): {"sha1": sha1_of("Listen 81\n")}},
            "paths": [str(etc / "mpm_event.load")], "read": [str(etc / "global.conf")]}
    result = run(args)
    assert result["missing_packages"] == ["logrotate"] and result["stale_files"] == [str(etc / "ports.conf")]
    assert run(dict(args, _ansible_check_mode=True)) == result


@pytest.mark.parametrize("package_query", [[], None])
def test_packages_without_a_package_query_fail(package_query: Any) -> None:
    args: dict[str, Any] = {"packages": ["apache2"]}
    if package_query is not None:
        args["package_query"] = package_query
    result = run(args, FailJson)
    assert result == {"failed": True, "msg": "package_query: must name a command when packages are given"}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ({"packages": "apache2", "package_query": QUERY, "files": "nope"}, "files"),
        ({"paths": ["/etc"], "unknown": 1}, "unknown"),
    ],
)
def test_bad_arguments_fail(args: dict[str, Any], needle: str) -> None:
    result = run(args, FailJson)
    assert result["failed"] is True and needle in result["msg"]


def test_documentation_examples_and_return_parse_and_match_the_module(etc: Path) -> None:
    doc = yaml.safe_load(host_state.DOCUMENTATION)
    assert doc["module"] == "host_state"
    assert sorted(doc["options"]) == ["files", "package_query", "packages", "paths", "read", "service"]
    # check_mode, diff_mode and idempotent as every module that only reads (plugins/doc_fragments/module.py)
    assert doc["extends_documentation_fragment"] == ["modwsgi.fleet.module", "modwsgi.fleet.module.reads_only"]
    assert "attributes" not in doc and "author" not in doc
    assert yaml.safe_load(ModuleDocFragment.READS_ONLY)["attributes"]["check_mode"]["support"] == "full"
    examples = yaml.safe_load(host_state.EXAMPLES)
    assert examples[0]["modwsgi.fleet.host_state"]["package_query"][0] == "dpkg-query"
    assert examples[1]["when"] == "'/etc/apache2/ports.conf' in state.stale_files"
    returned = yaml.safe_load(host_state.RETURN)
    result = run({"paths": [str(etc)], "read": [str(etc / "ports.conf")]})
    assert set(returned) == set(result) - {"changed"}
    kinds = {"list": list, "dict": dict}
    for key, value in returned.items():
        assert isinstance(result[key], kinds[value["type"]]), key
        assert isinstance(value["sample"], kinds[value["type"]]), key

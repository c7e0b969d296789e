# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of what a host has against what a role would write (plugins/module_utils/_state.py)."""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
from pathlib import Path
from types import SimpleNamespace
from typing import Sequence

import pytest

from ansible_collections.modwsgi.fleet.plugins.module_utils import _state
from ansible_collections.modwsgi.fleet.plugins.module_utils._state import (
    file_differs,
    file_sha1,
    host_state,
    missing_packages,
    path_state,
    service_state,
)

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
QUERY = ["dpkg-query", "--show", "--showformat=${db:Status-Status}"]


class FakeRunner:
    """A command runner that answers from a dict keyed by the last argument, and records each argv."""

    def __init__(self, answers: dict[str, tuple[int, str]], default: tuple[int, str] = (1, "")) -> None:
        self.answers = answers
        self.default = default
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> tuple[int, str]:
        self.calls.append(list(argv))
        return self.answers.get(argv[-1], self.default)


class SystemctlRunner:
    """A fake systemctl: (rc, stdout) for is-enabled and for is-active, and each argv recorded."""

    def __init__(self, enabled: tuple[int, str], active: tuple[int, str]) -> None:
        self.answers = {"is-enabled": enabled, "is-active": active}
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> tuple[int, str]:
        self.calls.append(list(argv))
        return self.answers[argv[1]]


def no_sha1() -> str:
    raise AssertionError("the content must not be read")


def sha1_of(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()  # nosec: a content checksum, as the module takes


def test_path_state_of_an_absent_path_is_none(tmp_path: Path) -> None:
    assert path_state(str(tmp_path / "absent")) is None
    assert path_state(str(tmp_path / "absent" / "below")) is None


def test_path_state_of_a_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "ports.conf"
    path.write_text("Listen 80\n")
    path.chmod(0o640)
    assert path_state(str(path)) == {"type": "file", "mode": "0640", "owner": OWNER, "group": GROUP}


def test_path_state_of_a_directory(tmp_path: Path) -> None:
    path = tmp_path / "conf-enabled"
    path.mkdir()
    path.chmod(0o750)
    assert path_state(str(path)) == {"type": "directory", "mode": "0750", "owner": OWNER, "group": GROUP}


def test_path_state_of_a_setuid_file_keeps_the_special_bits(tmp_path: Path) -> None:
    path = tmp_path / "helper"
    path.write_text("")
    path.chmod(0o4755)
    assert path_state(str(path))["mode"] == "4755"  # type: ignore[index]


def test_path_state_of_a_link_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "mpm_event.load"
    target.write_text("LoadModule mpm_event_module x.so\n")
    target.chmod(0o600)
    link = tmp_path / "enabled.load"
    link.symlink_to(target)
    assert path_state(str(link)) == {"type": "link", "mode": "0777", "owner": OWNER, "group": GROUP}
    assert path_state(str(target))["mode"] == "0600"  # type: ignore[index]


def test_path_state_of_a_dangling_link(tmp_path: Path) -> None:
    link = tmp_path / "dangling.load"
    link.symlink_to(tmp_path / "absent.load")
    assert path_state(str(link)) == {"type": "link", "mode": "0777", "owner": OWNER, "group": GROUP}


def test_path_state_of_a_fifo_is_other(tmp_path: Path) -> None:
    path = tmp_path / "fifo"
    os.mkfifo(path, 0o600)
    path.chmod(0o600)
    assert path_state(str(path)) == {"type": "other", "mode": "0600", "owner": OWNER, "group": GROUP}


def test_path_state_names_an_unknown_owner_and_group_by_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def unknown(ident: int) -> None:
        raise KeyError(ident)

    monkeypatch.setattr(_state, "pwd", SimpleNamespace(getpwuid=unknown))
    monkeypatch.setattr(_state, "grp", SimpleNamespace(getgrgid=unknown))
    path = tmp_path / "orphan"
    path.write_text("")
    path.chmod(0o644)
    assert path_state(str(path)) == {"type": "file", "mode": "0644", "owner": str(os.getuid()),
                                     "group": str(os.getgid())}


def test_file_sha1(tmp_path: Path) -> None:
    path = tmp_path / "big"
    data = b"0123456789abcdef" * 10000  # more than one block of 64 KiB
    path.write_bytes(data)
    assert file_sha1(str(path)) == hashlib.sha1(data).hexdigest()  # nosec: as the module computes it
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert file_sha1(str(empty)) == "da39a3ee5e6b4b0d3255bfef95601890afd80709"


FOUND = {"type": "file", "mode": "0644", "owner": "root", "group": "root"}
WANTED = {"sha1": sha1_of("Listen 80\n"), "mode": "0644", "owner": "root", "group": "root"}


def test_file_differs_when_missing() -> None:
    assert file_differs(WANTED, None, no_sha1) is True


@pytest.mark.parametrize("kind", ["directory", "link", "other"])
def test_file_differs_when_not_a_regular_file(kind: str) -> None:
    assert file_differs(WANTED, dict(FOUND, type=kind), no_sha1) is True


def test_file_does_not_differ_when_all_match() -> None:
    assert file_differs(WANTED, FOUND, lambda: sha1_of("Listen 80\n")) is False


@pytest.mark.parametrize(
    ("key", "value"),
    [("mode", "0640"), ("mode", "0755"), ("owner", "www-data"), ("group", "adm")],
)
def test_file_differs_on_mode_owner_or_group_without_reading_it(key: str, value: str) -> None:
    assert file_differs(dict(WANTED, **{key: value}), FOUND, no_sha1) is True


@pytest.mark.parametrize("mode", ["644", "0644", 644])
def test_file_mode_is_compared_as_four_digits(mode: object) -> None:
    assert file_differs({"mode": mode}, FOUND, no_sha1) is False  # type: ignore[dict-item]
    assert file_differs({"mode": mode}, dict(FOUND, mode="0640"), no_sha1) is True  # type: ignore[dict-item]


def test_file_differs_on_content() -> None:
    assert file_differs(WANTED, FOUND, lambda: sha1_of("Listen 8080\n")) is True


@pytest.mark.parametrize(
    "left_out",
    [("sha1",), ("mode",), ("owner",), ("group",), ("mode", "owner", "group"), ("sha1", "mode", "owner", "group")],
)
def test_a_key_left_out_is_not_compared(left_out: tuple[str, ...]) -> None:
    other = {"mode": "0600", "owner": "nobody", "group": "nogroup"}
    found = dict(FOUND, **{key: value for key, value in other.items() if key in left_out})
    wanted = {key: value for key, value in WANTED.items() if key not in left_out}
    sha1 = no_sha1 if "sha1" in left_out else (lambda: sha1_of("Listen 80\n"))
    assert file_differs(wanted, found, sha1) is False


def test_file_content_is_read_only_when_all_else_matches() -> None:
    calls: list[int] = []

    def counted() -> str:
        calls.append(1)
        return sha1_of("Listen 80\n")

    assert file_differs(WANTED, dict(FOUND, owner="nobody"), counted) is True
    assert calls == []
    assert file_differs(WANTED, FOUND, counted) is False
    assert calls == [1]


def test_missing_packages() -> None:
    run = FakeRunner({"apache2": (0, "installed\n"), "logrotate": (0, "config-files"),
                      "libapache2-mod-wsgi-py3": (1, ""), "curl": (0, "  installed  ")})
    packages = ["apache2", "logrotate", "libapache2-mod-wsgi-py3", "curl", "absent"]
    assert missing_packages(packages, QUERY, run) == ["logrotate", "libapache2-mod-wsgi-py3", "absent"]
    assert run.calls == [QUERY + [package] for package in packages]


def test_missing_packages_needs_exit_zero() -> None:
    run = FakeRunner({"apache2": (1, "installed\n")})
    assert missing_packages(["apache2"], ["rpm", "--query", "--queryformat=installed"], run) == ["apache2"]
    assert run.calls == [["rpm", "--query", "--queryformat=installed", "apache2"]]


def test_missing_packages_of_none_runs_nothing() -> None:
    run = FakeRunner({})
    assert missing_packages([], QUERY, run) == []
    assert run.calls == []


@pytest.mark.parametrize(
    ("enabled", "active", "state"),
    [
        ((0, "enabled\n"), (0, "active\n"), {"enabled": True, "active": True}),
        ((0, "enabled\n"), (3, "inactive\n"), {"enabled": True, "active": False}),
        ((1, "disabled\n"), (0, "active\n"), {"enabled": False, "active": True}),
        ((1, "disabled\n"), (3, "failed\n"), {"enabled": False, "active": False}),
        ((0, "static\n"), (0, "active\n"), {"enabled": True, "active": True}),
        ((0, "enabled-runtime\n"), (0, "active\n"), {"enabled": True, "active": True}),
        ((0, "alias\n"), (0, "active\n"), {"enabled": True, "active": True}),
        ((0, "disabled\n"), (0, "active\n"), {"enabled": False, "active": True}),
        ((0, "masked\n"), (3, "inactive\n"), {"enabled": False, "active": False}),
        ((1, "enabled\n"), (3, "active\n"), {"enabled": False, "active": False}),
        ((127, ""), (127, ""), {"enabled": False, "active": False}),
    ],
)
def test_service_state(enabled: tuple[int, str], active: tuple[int, str], state: dict[str, bool]) -> None:
    run = SystemctlRunner(enabled, active)
    assert service_state("apache2", run) == state
    assert run.calls == [["systemctl", "is-enabled", "apache2"], ["systemctl", "is-active", "apache2"]]


def test_service_state_with_another_systemctl() -> None:
    run = SystemctlRunner((0, "enabled"), (0, "active"))
    assert service_state("httpd", run, systemctl="/usr/bin/systemctl") == {"enabled": True, "active": True}
    assert run.calls == [["/usr/bin/systemctl", "is-enabled", "httpd"], ["/usr/bin/systemctl", "is-active", "httpd"]]


@pytest.fixture(name="conf")
def fixture_conf(tmp_path: Path) -> dict[str, Path]:
    """Three configuration files as written, 0644: ports.conf, global.conf and logrotate."""
    files = {}
    for name, text in (("ports.conf", "Listen 80\n"), ("global.conf", "ServerTokens Prod\n"),
                       ("logrotate", "/var/log/apache2/*.log {\n}\n")):
        files[name] = tmp_path / name
        files[name].write_text(text)
        files[name].chmod(0o644)
    return files


def test_host_state_stale_files(conf: dict[str, Path], tmp_path: Path) -> None:
    ports, conf_file, logrotate = (str(conf[name]) for name in ("ports.conf", "global.conf", "logrotate"))
    missing = str(tmp_path / "a-missing.conf")
    files = {
        ports: {"sha1": sha1_of("Listen 80\n"), "mode": "0644", "owner": OWNER, "group": GROUP},
        conf_file: {"sha1": sha1_of("ServerTokens Full\n"), "mode": "0644", "owner": OWNER, "group": GROUP},
        logrotate: {"sha1": sha1_of("/var/log/apache2/*.log {\n}\n"), "mode": "0640"},
        missing: {"sha1": sha1_of("")},
        str(tmp_path): {"mode": "0755"},
    }
    state = host_state(files=files)
    assert state["stale_files"] == sorted([conf_file, logrotate, missing, str(tmp_path)])
    assert state == {"missing_packages": [], "stale_files": state["stale_files"], "paths": {}, "contents": {},
                     "service": {}}


def test_host_state_with_nothing_asked_runs_nothing() -> None:
    assert host_state() == {"missing_packages": [], "stale_files": [], "paths": {}, "contents": {}, "service": {}}


def test_host_state_paths_and_contents(conf: dict[str, Path], tmp_path: Path) -> None:
    link = tmp_path / "mpm_event.load"
    link.symlink_to(tmp_path / "absent.load")
    absent = str(tmp_path / "absent")
    state = host_state(paths=[str(conf["ports.conf"]), str(link), absent],
                       read=[str(conf["global.conf"]), absent])
    assert state["paths"] == {
        str(conf["ports.conf"]): {"type": "file", "mode": "0644", "owner": OWNER, "group": GROUP},
        str(link): {"type": "link", "mode": "0777", "owner": OWNER, "group": GROUP},
        absent: None,
    }
    assert state["contents"] == {str(conf["global.conf"]): "ServerTokens Prod\n", absent: None}


def test_host_state_reads_bad_utf8_with_replacement(tmp_path: Path) -> None:
    path = tmp_path / "latin1.conf"
    path.write_bytes(b"ServerAdmin caf\xe9@example.org\n")
    assert host_state(read=[str(path)])["contents"] == {str(path): "ServerAdmin caf\ufffd@example.org\n"}


def test_host_state_packages_and_service() -> None:
    answers = {"apache2": (0, "installed\n"), "is-enabled": (0, "enabled\n"), "is-active": (3, "inactive\n")}
    calls: list[list[str]] = []

    def run(argv: Sequence[str]) -> tuple[int, str]:
        calls.append(list(argv))
        return answers.get(argv[1] if argv[0] == "systemctl" else argv[-1], (1, ""))

    state = host_state(packages=["apache2", "logrotate"], package_query=QUERY, service="apache2", run=run)
    assert state == {"missing_packages": ["logrotate"], "stale_files": [], "paths": {}, "contents": {},
                     "service": {"enabled": True, "active": False}}
    assert calls == [QUERY + ["apache2"], QUERY + ["logrotate"], ["systemctl", "is-enabled", "apache2"],
                     ["systemctl", "is-active", "apache2"]]


def test_host_state_without_packages_or_service_needs_no_runner(conf: dict[str, Path]) -> None:
    state = host_state(package_query=QUERY, read=[str(conf["ports.conf"])])
    assert state["missing_packages"] == [] and state["service"] == {}
    assert state["contents"] == {str(conf["ports.conf"]): "Listen 80\n"}


def test_host_state_packages_need_a_package_query() -> None:
    run = FakeRunner({})
    with pytest.raises(ValueError, match="^package_query: must name a command when packages are given$"):
        host_state(packages=["apache2"], run=run)
    assert run.calls == []


@pytest.mark.parametrize(
    "args",
    [
        {"packages": ["apache2"], "package_query": QUERY},
        {"packages": ["apache2"]},
        {"service": "apache2"},
    ],
)
def test_host_state_packages_or_service_need_a_runner(args: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="^a command runner is needed to query packages or a service$"):
        host_state(**args)  # type: ignore[arg-type]

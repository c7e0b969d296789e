# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests of the wsgi_accounts module's main() against a fake account database (Molecule creates real accounts)."""

from __future__ import annotations

import grp
import pwd
from types import SimpleNamespace
from typing import Any

import pytest
from ansible.module_utils import basic

from ansible_collections.modwsgi.fleet.plugins.modules import wsgi_accounts
from ansible_collections.modwsgi.fleet.tests.unit.plugins.modules.harness import ExitJson, FailJson, run_main

HOME = "/srv/wsgi"
SHELL = "/usr/sbin/nologin"


def run(args: dict[str, Any], outcome: type[Exception] = ExitJson) -> dict[str, Any]:
    return run_main(wsgi_accounts.main, args, outcome)


def args(*accounts: tuple[str, str], **extra: Any) -> dict[str, Any]:
    return dict({"accounts": [{"user": u, "group": g} for u, g in accounts], "home": HOME, "shell": SHELL}, **extra)


class Host:
    """A fake account database: groupadd and useradd add to it, unless failing["useradd NAME"] holds an error."""

    def __init__(self) -> None:
        self.users: dict[str, int] = {"www-data": 33, "portal": 1001, "toor": 0}
        self.groups: dict[str, int] = {"www-data": 33, "portal": 1001}
        self.commands: list[list[str]] = []
        self.failing: dict[str, str] = {}
        self.bins: list[str] = []

    def getpwnam(self, name: str) -> Any:
        if name not in self.users:
            raise KeyError("getpwnam(): name not found: %r" % name)
        return SimpleNamespace(pw_name=name, pw_uid=self.users[name])

    def getgrnam(self, name: str) -> Any:
        if name not in self.groups:
            raise KeyError("getgrnam(): name not found: %r" % name)
        return SimpleNamespace(gr_name=name, gr_gid=self.groups[name])

    def get_bin_path(self, module: basic.AnsibleModule, name: str, required: bool = False, opt_dirs: Any = None) -> str:
        assert required is True
        self.bins.append(name)
        return "/usr/sbin/" + name

    def run_command(self, module: basic.AnsibleModule, argv: Any, **kwargs: Any) -> tuple[int, str, str]:
        assert isinstance(argv, list), "argv must be a list, not %r" % (argv,)
        self.commands.append(argv)
        command, name = argv[0].rsplit("/", 1)[-1], argv[-1]
        if "%s %s" % (command, name) in self.failing:
            return 9, "", self.failing["%s %s" % (command, name)] + "\n"
        table = self.groups if command == "groupadd" else self.users
        table[name] = 2000 + len(self.commands)
        return 0, "", ""


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> Host:
    fake = Host()
    monkeypatch.setattr(pwd, "getpwnam", fake.getpwnam)
    monkeypatch.setattr(grp, "getgrnam", fake.getgrnam)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path",
                        lambda self, name, required=False, opt_dirs=None: fake.get_bin_path(self, name, required, opt_dirs))
    monkeypatch.setattr(basic.AnsibleModule, "run_command",
                        lambda self, argv, **kwargs: fake.run_command(self, argv, **kwargs))  # pylint: disable=unnecessary-lambda
    return fake


def useradd(user: str, group: str) -> list[str]:
    return ["/usr/sbin/useradd", "--system", "--gid", group, "--home-dir", HOME, "--no-create-home",
            "--shell", SHELL, user]


def test_creates_only_the_missing_accounts_with_the_exact_commands(host: Host) -> None:
    result = run(args(("nova-api", "nova-api"), ("portal", "portal"), ("glance", "shared"), ("cinder", "shared"),
                      ("glance", "shared"), ("www-data", "www-data")))
    assert host.commands == [
        ["/usr/sbin/groupadd", "--system", "nova-api"],
        ["/usr/sbin/groupadd", "--system", "shared"],
        useradd("nova-api", "nova-api"),
        useradd("glance", "shared"),
        useradd("cinder", "shared"),
    ]
    assert result == {
        "changed": True,
        "created_groups": ["nova-api", "shared"],
        "created_users": ["nova-api", "glance", "cinder"],
        "existing_groups": ["portal", "www-data"],
        "existing_users": ["portal", "www-data"],
    }


def test_second_call_changes_nothing_and_runs_nothing(host: Host) -> None:
    accounts = args(("nova-api", "nova-api"), ("portal", "portal"))
    assert run(accounts)["changed"] is True
    host.commands.clear()
    host.bins.clear()
    result = run(accounts)
    assert host.commands == [] and host.bins == []
    assert result == {"changed": False, "created_groups": [], "created_users": [],
                      "existing_groups": ["nova-api", "portal"], "existing_users": ["nova-api", "portal"]}


def test_an_existing_user_gets_only_its_missing_group(host: Host) -> None:
    result = run(args(("portal", "portal-web")))
    assert host.commands == [["/usr/sbin/groupadd", "--system", "portal-web"]]
    assert host.bins == ["groupadd"]
    assert result["created_users"] == [] and result["existing_users"] == ["portal"]


def test_a_new_user_in_an_existing_group_needs_only_useradd(host: Host) -> None:
    result = run(args(("glance", "www-data")))
    assert host.commands == [useradd("glance", "www-data")]
    assert host.bins == ["useradd"]
    assert result["created_groups"] == [] and result["existing_groups"] == ["www-data"]


def test_check_mode_runs_nothing_and_says_what_would_be_created(host: Host) -> None:
    result = run(args(("nova-api", "nova-api"), ("portal", "portal"), _ansible_check_mode=True))
    assert host.commands == []
    assert result == {"changed": True, "created_groups": ["nova-api"], "created_users": ["nova-api"],
                      "existing_groups": ["portal"], "existing_users": ["portal"]}
    assert "nova-api" not in host.users and "nova-api" not in host.groups


def test_check_mode_with_everything_present_is_unchanged(host: Host) -> None:
    result = run(args(("portal", "portal"), _ansible_check_mode=True))
    assert result["changed"] is False and host.commands == []


def test_failing_useradd_reports_stderr_and_what_was_created(host: Host) -> None:
    host.failing["useradd nova"] = "useradd: cannot lock /etc/passwd; try again later."
    result = run(args(("glance", "glance"), ("nova", "nova"), ("cinder", "cinder")), FailJson)
    assert result["msg"] == "useradd nova failed: useradd: cannot lock /etc/passwd; try again later."
    assert result["created_groups"] == ["glance", "nova", "cinder"]
    assert result["created_users"] == ["glance"]
    assert result["changed"] is True
    # Nothing after the failure was tried.
    assert host.commands[-1] == useradd("nova", "nova") and "cinder" not in host.users


def test_failing_groupadd_stops_before_any_user(host: Host) -> None:
    host.failing["groupadd glance"] = "groupadd: group 'glance' already exists"
    result = run(args(("nova", "nova"), ("glance", "glance")), FailJson)
    assert result["msg"] == "groupadd glance failed: groupadd: group 'glance' already exists"
    assert result["created_groups"] == ["nova"] and result["created_users"] == []
    assert host.commands == [["/usr/sbin/groupadd", "--system", "nova"], ["/usr/sbin/groupadd", "--system", "glance"]]


@pytest.mark.parametrize("accounts, message", [
    ((("nova", "nova"), ("root", "nova")), "account 'root': the daemons never run as root"),
    ((("nova", "nova"), ("toor", "nova")), "account 'toor': user 'toor' exists with uid 0; the daemons never run as root"),
    ((("nova", "nova"), ("Nova", "nova")),
     "account 'Nova': user name 'Nova' is not a plain account name (it must match ^[a-z_][a-z0-9_-]{0,31}$)"),
])
def test_refusals_create_nothing(host: Host, accounts: tuple[tuple[str, str], ...], message: str) -> None:
    result = run(args(*accounts), FailJson)
    assert result["msg"] == message
    assert result["created_groups"] == [] and result["created_users"] == []
    assert host.commands == [] and host.bins == []


def test_an_existing_group_with_gid_0_is_refused(host: Host) -> None:
    host.groups["wheel0"] = 0
    result = run(args(("nova", "wheel0")), FailJson)
    assert result["msg"] == "account 'nova': group 'wheel0' exists with gid 0; the daemons never run as root"
    assert host.commands == []


def test_diff_lists_the_accounts_before_and_after(host: Host) -> None:
    result = run(args(("nova-api", "nova-api"), _ansible_diff=True))
    assert result["diff"] == {"before": "", "after": "group nova-api (system)\nuser nova-api (system, group nova-api)\n"}
    assert len(host.commands) == 2


def test_diff_in_check_mode_with_an_existing_account(host: Host) -> None:
    result = run(args(("portal", "portal"), ("glance", "portal"), _ansible_diff=True, _ansible_check_mode=True))
    assert result["diff"] == {
        "before": "group portal (exists)\nuser portal (exists)\n",
        "after": "group portal (exists)\nuser portal (exists)\nuser glance (system, group portal)\n",
    }
    assert host.commands == []


def test_no_diff_unless_asked(host: Host) -> None:
    assert "diff" not in run(args(("portal", "portal")))


def test_an_entry_without_group_is_refused_by_the_argument_spec(host: Host) -> None:
    result = run({"accounts": [{"user": "nova"}], "home": HOME, "shell": SHELL}, FailJson)
    assert "group" in result["msg"] and "accounts" in result["msg"]
    assert host.commands == []

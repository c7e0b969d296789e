# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Planning the daemon accounts and the commands that create them (plugins/module_utils/_accounts.py)."""

from __future__ import annotations

from typing import Any, Callable, Optional

import pytest

from ansible_collections.modwsgi.fleet.plugins.module_utils._accounts import (
    Account,
    AccountsError,
    describe,
    groupadd_argv,
    parse_accounts,
    plan_accounts,
    useradd_argv,
)

USERS = {"www-data": 33, "portal": 1001, "toor": 0}
GROUPS = {"www-data": 33, "portal": 1001, "wheel0": 0}


def lookup(table: dict[str, int]) -> Callable[[str], Optional[int]]:
    return table.get


def plan(raw: list[Any]) -> Any:
    return plan_accounts(raw, lookup(USERS), lookup(GROUPS))


def acc(user: str, group: str) -> dict[str, str]:
    return {"user": user, "group": group}


def test_plan_creates_only_what_is_missing() -> None:
    result = plan([acc("nova-api", "nova-api"), acc("portal", "portal"), acc("glance", "www-data"),
                   acc("www-data", "cinder")])
    assert result.create_groups == ["nova-api", "cinder"]
    assert result.create_users == [Account("nova-api", "nova-api"), Account("glance", "www-data")]
    assert result.existing_groups == ["portal", "www-data"]
    assert result.existing_users == ["portal", "www-data"]
    assert result.changed is True


def test_all_existing_changes_nothing() -> None:
    result = plan([acc("portal", "portal"), acc("www-data", "www-data")])
    assert result.create_groups == [] and result.create_users == []
    assert result.existing_groups == ["portal", "www-data"] and result.existing_users == ["portal", "www-data"]
    assert result.changed is False


def test_order_follows_the_input_and_shared_accounts_come_once() -> None:
    result = plan([acc("zeta", "zeta"), acc("alpha", "shared"), acc("zeta", "zeta"), acc("beta", "shared"),
                   acc("alpha", "shared")])
    assert result.create_groups == ["zeta", "shared"]
    assert [a.user for a in result.create_users] == ["zeta", "alpha", "beta"]
    assert parse_accounts([acc("b", "g"), acc("a", "g"), acc("b", "g")]) == [Account("b", "g"), Account("a", "g")]


def test_a_missing_group_is_created_even_for_an_existing_user() -> None:
    result = plan([acc("portal", "portal-new")])
    assert result.create_groups == ["portal-new"] and result.create_users == []
    assert result.existing_users == ["portal"]


def test_lookups_are_asked_once_per_name() -> None:
    asked: list[str] = []

    def users(name: str) -> Optional[int]:
        asked.append("u:" + name)
        return None

    def groups(name: str) -> Optional[int]:
        asked.append("g:" + name)
        return None

    plan_accounts([acc("a", "g"), acc("b", "g"), acc("a", "g")], users, groups)
    assert asked == ["g:g", "u:a", "u:b"]


def test_a_user_with_two_groups_is_created_in_the_first_and_both_groups_exist() -> None:
    result = plan([acc("nova", "nova"), acc("glance", "glance"), acc("nova", "compute")])
    assert result.create_groups == ["nova", "glance", "compute"]
    assert [(a.user, a.group) for a in result.create_users] == [("nova", "nova"), ("glance", "glance")]
    assert describe(result)["after"] == ("group nova (system)\ngroup glance (system)\ngroup compute (system)\n"
                                         "user nova (system, group nova)\nuser glance (system, group glance)\n")


@pytest.mark.parametrize("raw, message", [
    (acc("root", "daemons"), "account 'root': the daemons never run as root"),
    (acc("nova", "root"), "account 'nova': group 'root': the daemons never run as root"),
])
def test_root_is_refused(raw: dict[str, str], message: str) -> None:
    with pytest.raises(AccountsError) as info:
        plan_accounts([acc("fine", "fine"), raw], lookup({}), lookup({}))
    assert str(info.value) == message


def test_an_existing_user_with_uid_0_is_refused() -> None:
    with pytest.raises(AccountsError) as info:
        plan([acc("toor", "portal")])
    assert str(info.value) == "account 'toor': user 'toor' exists with uid 0; the daemons never run as root"


def test_an_existing_group_with_gid_0_is_refused() -> None:
    with pytest.raises(AccountsError) as info:
        plan([acc("nova", "wheel0")])
    assert str(info.value) == "account 'nova': group 'wheel0' exists with gid 0; the daemons never run as root"


def test_a_refused_account_late_in_the_list_fails_the_whole_plan() -> None:
    """The whole plan is made (and may fail) before the module creates anything."""
    with pytest.raises(AccountsError, match="^account 'toor': "):
        plan_accounts([acc("new", "new"), acc("toor", "new")], lookup({"toor": 0}), lookup({}))


@pytest.mark.parametrize("raw, label, kind, bad", [
    (acc("Nova", "nova"), "Nova", "user", "Nova"),
    (acc("nova", "Nova"), "nova", "group", "Nova"),
    (acc("9nova", "nova"), "9nova", "user", "9nova"),
    (acc("nova;id", "nova"), "nova;id", "user", "nova;id"),
    (acc("nova\n", "nova"), "nova\n", "user", "nova\n"),
    (acc("", "nova"), "", "user", ""),
    (acc("a" * 33, "nova"), "a" * 33, "user", "a" * 33),
    (acc("nova", "-g0"), "nova", "group", "-g0"),
    (acc("nova", "nova.api"), "nova", "group", "nova.api"),
    ({"user": None, "group": "nova"}, "accounts[0]", "user", None),
    ({"user": "nova"}, "nova", "group", None),
])
def test_bad_names_are_refused(raw: dict[str, Any], label: str, kind: str, bad: Any) -> None:
    with pytest.raises(AccountsError) as info:
        plan_accounts([raw], lookup({}), lookup({}))
    assert str(info.value) == ("account %r: %s name %r is not a plain account name (it must match "
                               "^[a-z_][a-z0-9_-]{0,31}$)" % (label, kind, bad))


def test_the_longest_name_is_accepted() -> None:
    name = "_" + "a" * 31
    assert parse_accounts([acc(name, name)]) == [Account(name, name)]


def test_an_entry_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(AccountsError, match=r"^accounts\[1\]: expected a mapping"):
        parse_accounts([acc("a", "a"), "a:a"])


def test_argv_lists_are_exact() -> None:
    assert groupadd_argv("/usr/sbin/groupadd", "nova-api") == ["/usr/sbin/groupadd", "--system", "nova-api"]
    assert useradd_argv("/usr/sbin/useradd", Account("nova-api", "nova"), "/srv/wsgi", "/usr/sbin/nologin") == [
        "/usr/sbin/useradd", "--system", "--gid", "nova", "--home-dir", "/srv/wsgi", "--no-create-home",
        "--shell", "/usr/sbin/nologin", "nova-api"]


def test_describe_all_new() -> None:
    assert describe(plan([acc("nova-api", "nova-api")])) == {
        "before": "",
        "after": "group nova-api (system)\nuser nova-api (system, group nova-api)\n",
    }


def test_describe_lists_existing_accounts_on_both_sides() -> None:
    result = describe(plan([acc("portal", "portal"), acc("glance", "shared"), acc("cinder", "shared")]))
    assert result == {
        "before": "group portal (exists)\nuser portal (exists)\n",
        "after": ("group portal (exists)\ngroup shared (system)\nuser portal (exists)\n"
                  "user glance (system, group shared)\nuser cinder (system, group shared)\n"),
    }
    unchanged = describe(plan([acc("portal", "portal")]))
    assert unchanged["before"] == unchanged["after"]

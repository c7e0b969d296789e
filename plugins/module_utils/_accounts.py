# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Plan the system accounts of many daemon groups at once.

Pure logic, no Ansible imports: the ``wsgi_accounts`` module is a thin wrapper.
The account database is reached through two injected lookups (a name in, its
uid or gid out, ``None`` when it does not exist), so the plan can be made and
tested without touching the host.

Accounts that exist are used as they are and never modified: an account the
role did not create keeps its shell, home and groups. Every refusal (a name
that is not a plain account name, ``root`` or any account with id 0) is
raised before anything is created. A user listed with several groups (one
project runs as ``svc:svc``, another as ``svc:www-data``) is created in the
first of them; every group listed is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

__metaclass__ = type  # pylint: disable=invalid-name

# The same rule as ACCOUNT_RE in _plan.py, kept here on purpose (defence in depth).
ACCOUNT_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
ROOT = "root"
ROOT_REASON = "the daemons never run as root"

Lookup = Callable[[str], Optional[int]]


class AccountsError(ValueError):
    """The accounts cannot be created as asked; the message names the account and says why."""


@dataclass(frozen=True)
class Account:
    user: str
    group: str


@dataclass
class AccountsPlan:
    """What exists and what is to be created, each list in input order without repeats."""

    accounts: list[Account] = field(default_factory=list)
    create_groups: list[str] = field(default_factory=list)
    create_users: list[Account] = field(default_factory=list)
    existing_groups: list[str] = field(default_factory=list)
    existing_users: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.create_groups or self.create_users)


def _check_name(account: str, kind: str, name: Any) -> str:
    if not isinstance(name, str) or not ACCOUNT_RE.fullmatch(name):
        raise AccountsError("account %r: %s name %r is not a plain account name (it must match %s)"
                            % (account, kind, name, ACCOUNT_RE.pattern))
    if name == ROOT:
        if kind == "user":
            raise AccountsError("account %r: %s" % (account, ROOT_REASON))
        raise AccountsError("account %r: group %r: %s" % (account, name, ROOT_REASON))
    return name


def parse_accounts(raw: Iterable[Any]) -> list[Account]:
    """The distinct user and group pairs, checked, in input order.

    Each entry is a mapping with ``user`` and ``group``.
    """
    accounts: list[Account] = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise AccountsError("accounts[%d]: expected a mapping with user and group, got %r" % (index, entry))
        user = entry.get("user")
        label = user if isinstance(user, str) else "accounts[%d]" % index
        user = _check_name(label, "user", user)
        group = _check_name(label, "group", entry.get("group"))
        if Account(user=user, group=group) not in accounts:
            accounts.append(Account(user=user, group=group))
    return accounts


def distinct_groups(accounts: list[Account]) -> list[str]:
    """Each group once, in the order of first mention."""
    return list(dict.fromkeys(account.group for account in accounts))


def distinct_users(accounts: list[Account]) -> list[Account]:
    """Each user once, with the first group it is listed with (the one it is created in)."""
    first: dict[str, Account] = {}
    for account in accounts:
        first.setdefault(account.user, account)
    return list(first.values())


def plan_accounts(raw: Iterable[Any], user_id: Lookup, group_id: Lookup) -> AccountsPlan:
    """Which groups and users are to be created and which exist; raises AccountsError.

    ``user_id`` and ``group_id`` give the uid or gid of an existing account, or
    None. Groups come before users, both in input order, each once; a user
    listed with several groups is created in the first.
    """
    plan = AccountsPlan(accounts=parse_accounts(raw))
    for group in distinct_groups(plan.accounts):
        gid = group_id(group)
        if gid is None:
            plan.create_groups.append(group)
        elif gid == 0:
            user = next(a.user for a in plan.accounts if a.group == group)
            raise AccountsError("account %r: group %r exists with gid 0; %s" % (user, group, ROOT_REASON))
        else:
            plan.existing_groups.append(group)
    for account in distinct_users(plan.accounts):
        uid = user_id(account.user)
        if uid is None:
            plan.create_users.append(account)
        elif uid == 0:
            raise AccountsError("account %r: user %r exists with uid 0; %s" % (account.user, account.user, ROOT_REASON))
        else:
            plan.existing_users.append(account.user)
    return plan


def groupadd_argv(groupadd: str, group: str) -> list[str]:
    """The command creating a system group."""
    return [groupadd, "--system", group]


def useradd_argv(useradd: str, account: Account, home: str, shell: str) -> list[str]:
    """The command creating a system user in its group, with a home directory that is not created."""
    return [useradd, "--system", "--gid", account.group, "--home-dir", home, "--no-create-home",
            "--shell", shell, account.user]


def describe(plan: AccountsPlan) -> dict[str, str]:
    """The ``before`` and ``after`` texts of a diff: one line per group, then one per user.

    Accounts that exist show in both, those to be created only in ``after``.
    """
    new_groups = set(plan.create_groups)
    new_users = {a.user for a in plan.create_users}
    before: list[str] = []
    after: list[str] = []
    for group in distinct_groups(plan.accounts):
        if group in new_groups:
            after.append("group %s (system)" % group)
        else:
            line = "group %s (exists)" % group
            before.append(line)
            after.append(line)
    for account in distinct_users(plan.accounts):
        if account.user in new_users:
            after.append("user %s (system, group %s)" % (account.user, account.group))
        else:
            line = "user %s (exists)" % account.user
            before.append(line)
            after.append(line)
    return {"before": "".join(line + "\n" for line in before), "after": "".join(line + "\n" for line in after)}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Find one mod_wsgi daemon process group and restart it, one process at a time.

Pure logic, no Ansible imports: the ``wsgi_restart`` module is a thin wrapper.
A daemon process is a child of Apache's parent process whose ``argv[0]`` reads
``(wsgi:GROUP)`` (``display-name=%{GROUP}``). mod_wsgi writes that name over
Apache's own ``argv[0]``, so a long group name is cut to the length of the
binary's path (``/usr/sbin/apache2``: 17 characters, 11 of them for the name);
such a cut name is only trusted together with the account the group runs as.

SIGUSR1 asks a daemon process for a graceful restart. With requests in
flight it goes on serving, new requests too, until it is idle or
``eviction-timeout`` (else ``graceful-timeout``) has passed; then it stops
taking requests, gives the ones it has ``shutdown-timeout`` to finish, exits,
and Apache's parent starts a fresh one on the same listener socket. With
neither timeout set, mod_wsgi 4.9 and 5.0 wait for the requests in flight
without end, so one hung request holds the restart: the role's production
defaults set ``graceful-timeout``. Requests that arrive meanwhile wait in the
socket's backlog or go to the group's other processes, so none is refused.
Restarting one process at a time keeps the others serving.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Callable, Optional

__metaclass__ = type  # pylint: disable=invalid-name

DISPLAY_RE = re.compile(r"^\(wsgi:(?P<name>[^)]*)(?P<end>\)?)\s*$")


class RestartError(RuntimeError):
    """The group could not be found or did not come back in time."""


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    uid: int
    state: str
    argv0: str


def parse_stat(text: str) -> tuple[str, int]:
    """(state, ppid) from /proc/PID/stat; the command name may hold spaces and parentheses."""
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1])


def parse_uid(status: str) -> int:
    """The real uid from /proc/PID/status."""
    for line in status.splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise ValueError("no Uid line")


def read_processes(proc_root: str = "/proc") -> list[Process]:
    """Every process that can still be read (processes may end while we look)."""
    found = []
    for entry in os.listdir(proc_root):
        if not entry.isdigit():
            continue
        base = os.path.join(proc_root, entry)
        try:
            with open(os.path.join(base, "stat"), encoding="utf-8", errors="replace") as handle:
                state, ppid = parse_stat(handle.read())
            with open(os.path.join(base, "status"), encoding="utf-8", errors="replace") as handle:
                uid = parse_uid(handle.read())
            with open(os.path.join(base, "cmdline"), "rb") as handle:
                argv0 = handle.read().split(b"\0", 1)[0].decode("utf-8", "replace")
        except (OSError, ValueError, IndexError):
            continue
        found.append(Process(pid=int(entry), ppid=ppid, uid=uid, state=state, argv0=argv0))
    return found


def is_daemon_of(process: Process, parent: int, group: str, uid: Optional[int]) -> bool:
    """Whether the process is a live daemon of GROUP under Apache's PARENT."""
    if process.ppid != parent or process.state in ("Z", "X"):
        return False
    match = DISPLAY_RE.match(process.argv0)
    if not match:
        return False
    name = match.group("name")
    if match.group("end"):
        return name == group and (uid is None or process.uid == uid)
    # Cut short: a prefix of the group's name, only trusted with its account.
    return bool(name) and group.startswith(name) and uid is not None and process.uid == uid


def daemon_pids(processes: list[Process], parent: int, group: str, uid: Optional[int]) -> list[int]:
    return sorted(p.pid for p in processes if is_daemon_of(p, parent, group, uid))


@dataclass
class Restart:
    group: str
    old_pids: list[int]
    new_pids: list[int]
    # Per old pid, in order: when it was signalled (the clock's time), and the
    # seconds until its successor ran (how long it drained).
    signalled_at: list[float] = field(default_factory=list)
    drained_s: list[float] = field(default_factory=list)


def restart_group(
    find: Callable[[], list[int]],
    signal_pid: Callable[[int], None],
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    group: str,
    timeout: float = 60.0,
    poll: float = 0.1,
) -> Restart:
    """Restart every process of the group in turn, each only after the last one's successor runs.

    ``find`` lists the group's live pids; ``signal_pid`` sends the graceful
    restart signal; ``sleep`` and ``clock`` pace the waits.
    """
    old = find()
    if not old:
        raise RestartError("daemon group %r has no running process under Apache (is display-name=%%{GROUP} "
                           "set and Apache running?)" % group)
    wanted = len(old)
    signalled_at: list[float] = []
    drained_s: list[float] = []
    for pid in old:
        signal_pid(pid)
        signalled_at.append(clock())
        deadline = signalled_at[-1] + timeout
        while True:
            current = find()
            if pid not in current and len(current) >= wanted:
                drained_s.append(round(clock() - signalled_at[-1], 3))
                break
            if clock() > deadline:
                raise RestartError("daemon group %r: process %d did not make way for a new one within %g s "
                                   "(running now: %s)" % (group, pid, timeout, current or "none"))
            sleep(poll)
    new = find()
    if set(new) & set(old):
        raise RestartError("daemon group %r: processes %s were not restarted" % (group, sorted(set(new) & set(old))))
    return Restart(group=group, old_pids=old, new_pids=new, signalled_at=signalled_at, drained_s=drained_s)

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Validate ``wsgi_projects`` and lay them out as Apache sees them.

Pure logic, no Ansible imports: the ``wsgi_plan`` module is a thin wrapper.
Every value that reaches Apache's configuration passes a whitelist here first,
so that inventory data can only ever be rendered as data. Each error names the
project and the field.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any, Optional

__metaclass__ = type  # pylint: disable=invalid-name

MAX_PROCESSES = 256
MAX_THREADS = 250

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ACCOUNT_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
FS_PATH_RE = re.compile(r"^(/[A-Za-z0-9_.+@-]+)+$")
URL_PATH_RE = re.compile(r"^/([A-Za-z0-9_.~-]+(/[A-Za-z0-9_.~-]+)*)?$")
HOST_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# A ServerName is compared literally, so no wildcards.
SERVER_NAME_RE = re.compile(r"^%s(\.%s)*$" % (HOST_LABEL, HOST_LABEL))
LOCALE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.@-]{0,63}$")
PIP_REQUIREMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\[\],<>=!~+-]*$")
APPLICATION_GROUP_RE = re.compile(r"^(%\{(GLOBAL|RESOURCE|SERVER)\}|[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$")

# WSGIDaemonProcess options an inventory may pass through `options`, with the
# kind of value each takes (checked here, so that a value mod_wsgi would refuse
# never reaches Apache) and the first mod_wsgi version that knows it. The
# options this module writes itself from their own fields are refused there,
# with the field to use instead.
SECONDS = "seconds"
COUNT = "count"
DAEMON_OPTIONS: dict[str, tuple[str, tuple[int, ...]]] = {
    # process life cycle, in whole seconds (0: off)
    **{name: (SECONDS, (4, 0)) for name in """
        inactivity-timeout deadlock-timeout graceful-timeout shutdown-timeout startup-timeout
        connect-timeout socket-timeout queue-timeout request-timeout response-socket-timeout
        restart-interval cpu-time-limit""".split()},
    "eviction-timeout": (SECONDS, (4, 4, 7)),
    "interrupt-timeout": (SECONDS, (6, 0)),
    # sizes and counts
    **{name: (COUNT, (4, 0)) for name in """
        maximum-requests stack-size header-buffer-size response-buffer-size receive-buffer-size
        send-buffer-size listen-backlog memory-limit virtual-memory-limit""".split()},
    "cpu-priority": ("priority", (4, 0)),
    "switch-interval": ("fraction", (6, 0)),
    "umask": ("umask", (4, 0)),
    "lang": ("locale", (4, 0)),
    "locale": ("locale", (4, 0)),
    "home": ("path", (4, 0)),
    "chroot": ("path", (4, 0)),
    "python-eggs": ("path", (4, 0)),
    "script-user": ("account", (4, 0)),
    "socket-user": ("account", (4, 0)),
    "supplementary-groups": ("accounts", (4, 0)),
    "server-metrics": ("switch", (4, 0)),
}
OWN_FIELD_OPTIONS = {
    "processes": "processes",
    "threads": "threads",
    "user": "user",
    "group": "group",
    "display-name": "name",
    "python-home": "python_home",
    "python-path": "python_path",
}

# What every WSGIDaemonProcess line carries unless the host
# (wsgi_daemon_options), the group's sizing or the project's `options` say
# otherwise: mod_wsgi's recommended starting set (the one mod_wsgi-express
# writes), each with the reason it is on. mod_wsgi leaves most of these off,
# so that a hung request or a stuck backlog is never recovered from.
PRODUCTION_DEFAULTS: dict[str, tuple[Any, str]] = {
    "lang": ("C.UTF-8", "Python's file system and I/O encoding is UTF-8, whatever Apache's own environment says "
                        "(Debian's envvars sets LANG=C); C.UTF-8 needs no locale package on Debian or EL 9"),
    "locale": ("C.UTF-8", "the same for the C library (LC_ALL) of the daemon"),
    "queue-timeout": (45, "a request that waited this long for a free thread is answered 504 when a thread "
                          "takes it, not run for a client that has likely left (sized: 100 times a request's mean "
                          "time, 5-45 s)"),
    "request-timeout": (60, "a request running this long restarts the daemon process: a hung request cannot "
                            "hold a thread for ever (with several threads mod_wsgi 4.9-5.0 compare their mean "
                            "running time; sized: 250 times a request's mean time, 60-600 s)"),
    "socket-timeout": (60, "how long Apache and the daemon wait on each other's socket (else Apache's Timeout, "
                           "300 s)"),
    "connect-timeout": (15, "how long Apache tries to reach a daemon whose backlog is full before it answers 503"),
    "listen-backlog": (100, "connections that wait for a free thread in the kernel (sized: what the group drains "
                            "within queue-timeout)"),
    "startup-timeout": (15, "a process whose app failed to load and that gets no request this long is restarted, "
                            "so that a half-imported framework (Django) loads afresh"),
    "deadlock-timeout": (60, "a process whose Python interpreter lock was held this long (a C extension stuck) is "
                             "restarted (mod_wsgi: 300 s)"),
    "graceful-timeout": (15, "a restart (wsgi_restart's SIGUSR1, or maximum-requests) lets the requests in flight "
                             "finish for up to this long, new ones still accepted; without it mod_wsgi waits for "
                             "them without end, so one hung request stops the restart"),
    "shutdown-timeout": (5, "then a process that is stopping gets this long before it is killed"),
}
# What wsgi_sizing computes, where a group is sized: option -> its field in the sizing.
SIZED_OPTIONS = {"queue-timeout": "queue_timeout", "request-timeout": "request_timeout",
                 "listen-backlog": "listen_backlog"}


def final_options(own: dict[str, Any], host: dict[str, Any],
                  sized: Optional[dict[str, Any]] = None) -> tuple[dict[str, Any], dict[str, str]]:
    """A group's WSGIDaemonProcess options and where each comes from.

    Later sources win: ``default`` (PRODUCTION_DEFAULTS), ``sized`` (the
    group's wsgi_sizing answer, for SIZED_OPTIONS), ``host``
    (wsgi_daemon_options), ``project`` (the project's own ``options``). What a
    user writes wins over what is computed. Both mappings are sorted by option.
    """
    options = {key: value for key, (value, _why) in PRODUCTION_DEFAULTS.items()}
    sources = dict.fromkeys(options, "default")
    layers: list[tuple[str, dict[str, Any]]] = [
        ("sized", {key: sized[name] for key, name in SIZED_OPTIONS.items() if sized and name in sized}),
        ("host", host),
        ("project", own),
    ]
    for source, values in layers:
        for key, value in values.items():
            options[key] = value
            sources[key] = source
    return dict(sorted(options.items())), dict(sorted(sources.items()))


PROJECT_KEYS = frozenset(
    """
    name state mode script source port path server_name user group
    python_home python_path pip_packages processes threads options daemon
    application_group pass_authorization sizing tls_certificate tls_key static code data_dirs
    """.split()
)
# What a project's `code` may give, where its tree comes from (exactly one), and the releases kept by default.
CODE_KEYS = frozenset("src archive git subdir wsgi_file keep hooks".split())
CODE_SOURCES = ("src", "archive", "git")
GIT_KEYS = frozenset("repo version".split())
# A git repository: a URL (https://, ssh://, git://, file://), scp-like user@host:path, or an absolute path.
# No spaces, quotes or control characters; no host that git could read as an option.
_GIT_CHAR = r"[^\s'\"\x00-\x1f\x7f]"
GIT_REPO_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://(?![^/]*@-)(?!-)%s+"
                         r"|[A-Za-z0-9_][A-Za-z0-9_.-]*@[A-Za-z0-9_][A-Za-z0-9_.-]*:%s+|/%s+)$"
                         % (_GIT_CHAR, _GIT_CHAR, _GIT_CHAR))
# Folders no project's account may own (data_dirs, writable static), besides / and the top-level ones:
# these, and anything in the ones of SYSTEM_TREES (what root reads or runs).
SYSTEM_FOLDERS = frozenset("/var/lib /var/log /var/cache /var/tmp /var/www /var/spool /var/backups /srv/git".split())
SYSTEM_TREES = ("/usr", "/boot", "/root", "/bin", "/sbin", "/lib", "/lib64", "/proc", "/sys", "/dev", "/run",
                "/etc/systemd", "/etc/cron.d", "/etc/cron.daily", "/etc/cron.hourly", "/etc/cron.weekly",
                "/etc/cron.monthly", "/etc/init.d", "/etc/apache2", "/etc/httpd", "/etc/ssl", "/etc/pki", "/etc/ssh",
                "/etc/sudoers.d", "/etc/pam.d", "/etc/security", "/etc/logrotate.d", "/etc/profile.d",
                "/etc/default", "/etc/sysconfig", "/etc/apt", "/etc/yum.repos.d", "/etc/ld.so.conf.d")
# A branch, tag or commit: no leading dash (git would read an option), no "..".
GIT_VERSION_RE = re.compile(r"^(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9_./+@-]{0,199}$")
HOOK_KEYS = frozenset("name command".split())
DEFAULT_KEEP = 3
RELATIVE_PATH_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+@-]*(/[A-Za-z0-9_][A-Za-z0-9_.+@-]*)*$")
# What each entry of a project's `static` may give.
STATIC_KEYS = frozenset("path directory max_age writable".split())
MAX_STATIC_AGE = 365 * 24 * 3600
# Metadata a project may give for modwsgi.fleet.wsgi_sizing; the values are
# checked there, the keys here.
SIZING_KEYS = frozenset("thread_safe cpu_ms wait_ms rss_mb peak_rps weight".split())
# Fields that describe the daemon process group rather than the mount. A group
# named after one of its projects is that project's: the others may leave these
# out or restate its values. The projects of a shared group (named after none
# of them) must agree on every value two of them set.
GROUP_FIELDS = ("user", "group", "python_home", "python_path", "processes", "threads", "options")
# What a project joining another project's group may give besides: a subset of
# the owner's pip_packages, and the owner's sizing as it is.
JOINER_FIELDS = GROUP_FIELDS + ("pip_packages", "sizing")
DAEMON_ONLY_FIELDS = ("daemon", "user", "group", "python_home", "python_path", "pip_packages", "processes", "threads",
                      "options", "sizing", "data_dirs")


class PlanError(ValueError):
    """Bad input: the message names the project and the field."""


def _fail(project: Optional[str], fieldname: str, why: str) -> PlanError:
    """The error of one field: of a project, or (project None) of a host-wide variable such as wsgi_daemon_options."""
    if project is None:
        return PlanError("%s: %s" % (fieldname, why))
    return PlanError("project %r: field %r: %s" % (project, fieldname, why))


@dataclass(frozen=True)
class Mount:
    """One project served at one URL path of one virtual host."""

    project: str
    path: str
    script: str
    group: Optional[str]  # None: embedded mode
    application_group: str
    pass_authorization: bool
    # A code project's folder, which holds the `current` link Apache must follow.
    release_root: Optional[str] = None

    @property
    def script_dir(self) -> str:
        return posixpath.dirname(self.script)


@dataclass
class DaemonGroup:
    """A WSGIDaemonProcess line and the projects it serves."""

    name: str
    user: str
    group: str
    processes: Optional[int]
    threads: int
    python_home: Optional[str]
    python_path: list[str]
    options: dict[str, Any]
    projects: list[str] = field(default_factory=list)
    threads_explicit: bool = False
    sizing: Optional[dict[str, Any]] = None
    # The project the group is named after, when it is a member; None for a shared group.
    owner: Optional[str] = None

    def sizing_request(self) -> Optional[dict[str, Any]]:
        """The entry for wsgi_sizing, or None when no project of the group gives metadata."""
        if self.sizing is None:
            return None
        request = dict(self.sizing, name=self.name)
        if self.processes is not None:
            request["processes"] = self.processes
        if self.threads_explicit:
            request["threads"] = self.threads
        return request

    @property
    def processes_explicit(self) -> bool:
        return self.processes is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "user": self.user,
            "group": self.group,
            "processes": self.processes,
            "processes_explicit": self.processes_explicit,
            "threads": self.threads,
            "python_home": self.python_home,
            "python_path": list(self.python_path),
            "options": dict(sorted(self.options.items())),
            "projects": sorted(self.projects),
            "sized": self.sizing is not None,
        }


@dataclass
class Plan:
    projects: list[dict[str, Any]]
    absent: list[str]
    groups: list[DaemonGroup]
    vhosts: list[dict[str, Any]]
    listen: list[int]
    embedded: bool
    # wsgi_daemon_options, checked: the host's own values over PRODUCTION_DEFAULTS.
    daemon_options: dict[str, Any] = field(default_factory=dict)

    @property
    def venvs(self) -> list[dict[str, Any]]:
        """Virtual environments to build: each python_home with the packages its projects list."""
        wanted: dict[str, list[str]] = {}
        # A project in another project's group lists only packages the owner lists
        # too: the owner's list, in its order, is the venv's.
        joiners = {name for g in self.groups if g.owner for name in g.projects if name != g.owner}
        for project in self.projects:
            if project["pip_packages"] and project["name"] not in joiners:
                packages = wanted.setdefault(project["python_home"], [])
                packages.extend(p for p in project["pip_packages"] if p not in packages)
        return [{"python_home": home, "packages": packages} for home, packages in sorted(wanted.items())]

    def to_dict(self) -> dict[str, Any]:
        return {
            "projects": self.projects,
            "absent": self.absent,
            "groups": [g.to_dict() for g in self.groups],
            "vhosts": self.vhosts,
            "listen": self.listen,
            "embedded": self.embedded,
            "daemon_options": dict(sorted(self.daemon_options.items())),
            "venvs": self.venvs,
            # For wsgi_files: the scripts copied from the controller, and those already on the host.
            "files": [{"project": p["name"], "src": p["source"], "dest": p["script"], "group": p["group"] or "root"}
                      for p in self.projects if p["source"]],
            "scripts": [{"project": p["name"], "path": p["script"]} for p in self.projects
                        if not p["source"] and not p["code"]],
            # For wsgi_release: each code tree, its project's folder and the releases it keeps.
            "releases": [{"project": p["name"], **{k: v for k, v in p["code"].items() if k != "hooks"}}
                         for p in self.projects if p["code"]],
            # For the hooks of a new release: each with its project's account and venv.
            "hooks": [{"project": p["name"], "hook": hook["name"], "command": hook["command"], "user": p["user"],
                       "root": p["code"]["root"], "python_home": p["python_home"]}
                      for p in self.projects if p["code"] for hook in p["code"]["hooks"]],
            # For wsgi_files: the static folders (root's, or the project's account's where a hook fills
            # them) and the data folders its daemons write, each created where missing.
            "directories": [dict({"project": e["project"], "path": e["directory"]},
                                 **({"owner": p["user"], "group": p["group"], "mode": "0755"} if e["writable"] else {}))
                            for p in self.projects for e in p["static"]]
            + [{"project": p["name"], "path": path, "owner": p["user"], "group": p["group"], "mode": "0750"}
               for p in self.projects for path in p["data_dirs"]],
            "sizing": [r for r in (g.sizing_request() for g in self.groups) if r is not None],
            "unsized_capacity": sum((g.processes or 1) * g.threads for g in self.groups if g.sizing is None),
            "accounts": [{"user": user, "group": group} for user, group in sorted({(g.user, g.group) for g in self.groups})],
        }


# --------------------------------------------------------------------------
# Field checks


def _int(project: str, name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip(" ")):
            value = int(value)
        else:
            raise _fail(project, name, "must be a whole number, got %r" % (value,))
    if not low <= value <= high:
        raise _fail(project, name, "must be from %d to %d, got %d" % (low, high, value))
    return value


def _bool(project: str, name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise _fail(project, name, "must be true or false, got %r" % (value,))


def _str(project: Optional[str], name: str, value: Any, pattern: re.Pattern[str], what: str) -> str:
    # fullmatch: "$" would let a trailing newline through.
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _fail(project, name, "must be %s, got %r" % (what, value))
    return value


def _fs_path(project: Optional[str], name: str, value: Any) -> str:
    value = _str(project, name, value, FS_PATH_RE,
                 "an absolute path of letters, digits and _ . + @ - (no spaces or quotes)")
    parts = value.split("/")[1:]
    if any(part in (".", "..") for part in parts):
        raise _fail(project, name, "must not contain '.' or '..' segments, got %r" % value)
    return value


def _url_path(project: str, value: Any, fieldname: str = "path") -> str:
    value = _str(project, fieldname, value, URL_PATH_RE,
                 "a URL path such as / or /api/v1 (letters, digits, _ . ~ -; no trailing slash)")
    if any(part in (".", "..") for part in value.split("/")[1:]):
        raise _fail(project, fieldname, "must not contain '.' or '..' segments, got %r" % value)
    return value


def _account(project: Optional[str], name: str, value: Any) -> str:
    value = _str(project, name, value, ACCOUNT_RE, "a system account name such as 'keystone'")
    if value == "root":
        raise _fail(project, name, "must not be root: daemons run unprivileged")
    return value


def parse_version(text: Any) -> Optional[tuple[int, ...]]:
    """(4, 9, 4) from '4.9.4', '4.9.4-1+b2' or '5.0.2-1'; None for an empty or odd value."""
    if not isinstance(text, str):
        return None
    match = re.match(r"^\s*(?:[0-9]+:)?([0-9]+(?:\.[0-9]+)*)", text)
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def _version_text(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


def _option_value(project: Optional[str], where: str, kind: str, val: Any) -> Any:
    """One option's value, checked for its kind; returned as it is rendered."""
    if kind in (SECONDS, COUNT):
        if isinstance(val, bool) or not isinstance(val, int):
            if isinstance(val, str) and re.fullmatch(r"[0-9]{1,10}", val):
                val = int(val)
            else:
                raise _fail(project, where, "must be a whole number%s, got %r"
                            % (" of seconds" if kind == SECONDS else "", val))
        if not 0 <= val <= 2 ** 31 - 1:
            raise _fail(project, where, "must be from 0 to %d, got %d" % (2 ** 31 - 1, val))
        return val
    if kind == "priority":
        if isinstance(val, bool) or not isinstance(val, int) or not -20 <= val <= 20:
            raise _fail(project, where, "must be a whole number from -20 to 20, got %r" % (val,))
        return val
    if kind == "fraction":
        if isinstance(val, bool) or not isinstance(val, (int, float)) or not 0 < val <= 60:
            raise _fail(project, where, "must be a number of seconds above 0 (e.g. 0.005), got %r" % (val,))
        return val
    if kind == "umask":
        # YAML reads an unquoted 0022 as the octal number 18: only a quoted string is unambiguous.
        if not isinstance(val, str) or not re.fullmatch(r"0?[0-7]{3}", val):
            raise _fail(project, where, "must be an octal umask in quotes such as '0022', got %r" % (val,))
        return val
    if kind == "locale":
        return _str(project, where, val, LOCALE_RE, "a locale such as en_US.UTF-8")
    if kind == "path":
        return _fs_path(project, where, val)
    if kind == "account":
        return _account(project, where, val)
    if kind == "accounts":
        names = val.split(",") if isinstance(val, str) else val
        if not isinstance(names, list) or not names:
            raise _fail(project, where, "must be a list of group names, got %r" % (val,))
        return ",".join(_str(project, where, name, ACCOUNT_RE, "a list of group names") for name in names)
    # switch
    if isinstance(val, bool):
        return "On" if val else "Off"
    if val in ("On", "Off"):
        return val
    raise _fail(project, where, "must be On or Off, got %r" % (val,))


def _options(project: Optional[str], value: Any, mod_wsgi: Optional[tuple[int, ...]],
             fieldname: str = "options") -> dict[str, Any]:
    """A mapping of WSGIDaemonProcess options, each checked for its kind and the host's mod_wsgi."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(project, fieldname, "must be a mapping of WSGIDaemonProcess options, got %r" % (value,))
    checked: dict[str, Any] = {}
    for key, val in value.items():
        where = "%s.%s" % (fieldname, key)
        if not isinstance(key, str) or key not in DAEMON_OPTIONS:
            if isinstance(key, str) and key in OWN_FIELD_OPTIONS:
                raise _fail(project, where, "is written from the project's field %r; set that instead"
                            % OWN_FIELD_OPTIONS[key])
            raise _fail(project, where, "is not a WSGIDaemonProcess option this role knows (known: %s)"
                        % ", ".join(sorted(DAEMON_OPTIONS)))
        kind, since = DAEMON_OPTIONS[key]
        if mod_wsgi is not None and mod_wsgi < since:
            raise _fail(project, where, "needs mod_wsgi %s or later, and this host has mod_wsgi %s"
                        % (_version_text(since), _version_text(mod_wsgi)))
        checked[key] = _option_value(project, where, kind, val)
    return checked


def _sizing(project: str, value: Any) -> Optional[dict[str, Any]]:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _fail(project, "sizing", "must be a mapping of %s, got %r" % (", ".join(sorted(SIZING_KEYS)), value))
    for key in value:
        if key not in SIZING_KEYS:
            raise _fail(project, "sizing.%s" % key, "unknown field (known: %s)" % ", ".join(sorted(SIZING_KEYS)))
    return dict(value)


def _tls(project: str, certificate: Any, key: Any) -> Optional[dict[str, str]]:
    """The certificate and key files of the project's virtual host, both or neither."""
    if certificate is None and key is None:
        return None
    if certificate is None or key is None:
        missing = "tls_certificate" if certificate is None else "tls_key"
        raise _fail(project, missing, "give both tls_certificate and tls_key (paths on the host), or neither")
    return {"certificate": _fs_path(project, "tls_certificate", certificate),
            "key": _fs_path(project, "tls_key", key)}


def _static(project: str, value: Any) -> list[dict[str, Any]]:
    """The project's static mounts: URL path -> directory on the host, served by Apache itself."""
    entries = []
    for index, entry in enumerate(_string_list(project, "static", value)):
        where = "static[%d]" % index
        if not isinstance(entry, dict):
            raise _fail(project, where, "must be a mapping of path, directory and optionally max_age and writable, "
                        "got %r" % (entry,))
        for key in entry:
            if key not in STATIC_KEYS:
                raise _fail(project, "%s.%s" % (where, key), "unknown field (known: %s)" % ", ".join(sorted(STATIC_KEYS)))
        for key in ("path", "directory"):
            if key not in entry:
                raise _fail(project, "%s.%s" % (where, key), "is required")
        path = _url_path(project, entry["path"], "%s.path" % where)
        if path == "/":
            raise _fail(project, "%s.path" % where, "must not be /: the project itself is served there or below; "
                        "give the URL prefix of its static files, such as /static")
        max_age = entry.get("max_age")
        entries.append({
            "project": project,
            "path": path,
            "directory": _fs_path(project, "%s.directory" % where, entry["directory"]),
            "max_age": None if max_age is None else _int(project, "%s.max_age" % where, max_age, 0, MAX_STATIC_AGE),
            "writable": (False if entry.get("writable") is None
                         else _bool(project, "%s.writable" % where, entry["writable"])),
        })
    return entries


def _code(project: str, value: Any) -> dict[str, Any]:
    """A code tree shipped as releases: where it comes from, the WSGI file in it, the releases kept, the hooks."""
    if not isinstance(value, dict):
        raise _fail(project, "code", "must be a mapping of src, archive or git, wsgi_file and optionally subdir, "
                    "keep and hooks, got %r" % (value,))
    for key in value:
        if key not in CODE_KEYS:
            raise _fail(project, "code.%s" % key, "unknown field (known: %s)" % ", ".join(sorted(CODE_KEYS)))
    given = [key for key in CODE_SOURCES if key in value]
    if len(given) != 1:
        raise _fail(project, "code.%s" % (given[1] if given else "src"),
                    "give exactly one of src (a directory on the controller), archive (a tar or zip file on the "
                    "controller) or git (a repository the host can fetch from)")
    if "wsgi_file" not in value:
        raise _fail(project, "code.wsgi_file", "is required")
    code: dict[str, Any] = {}
    for key in ("src", "archive"):
        if key in value:
            where = value[key]
            if not isinstance(where, str) or not where or "\n" in where or "\x00" in where:
                raise _fail(project, "code.%s" % key, "must be the path of a %s on the controller, got %r"
                            % ("directory" if key == "src" else "tar or zip file", where))
            code[key] = where
    if "git" in value:
        code["git"] = _git(project, value["git"])
    code["subdir"] = ("" if value.get("subdir") in (None, "") else _str(
        project, "code.subdir", value["subdir"], RELATIVE_PATH_RE,
        "the tree's folder inside the %s, such as src or myapp-1.0" % given[0]))
    code["wsgi_file"] = _str(project, "code.wsgi_file", value["wsgi_file"], RELATIVE_PATH_RE,
                             "a path inside the tree such as mysite/wsgi.py (letters, digits, _ . + @ -; no leading dot)")
    code["keep"] = _int(project, "code.keep", value.get("keep", DEFAULT_KEEP), 1, 100)
    code["hooks"] = _hooks(project, value.get("hooks"))
    return code


def _git(project: str, value: Any) -> dict[str, str]:
    """A git repository the host fetches from, and the branch, tag or commit that is the release."""
    if not isinstance(value, dict):
        raise _fail(project, "code.git", "must be a mapping of repo and version, got %r" % (value,))
    for key in value:
        if key not in GIT_KEYS:
            raise _fail(project, "code.git.%s" % key, "unknown field (known: %s)" % ", ".join(sorted(GIT_KEYS)))
    for key in ("repo", "version"):
        if key not in value:
            raise _fail(project, "code.git.%s" % key, "is required")
    return {
        "repo": _str(project, "code.git.repo", value["repo"], GIT_REPO_RE,
                     "a repository the host can fetch from: a URL such as https://git.example.com/shop.git, "
                     "git@git.example.com:shop.git or an absolute path (no spaces or quotes)"),
        "version": _str(project, "code.git.version", value["version"], GIT_VERSION_RE,
                        "a branch, tag or commit such as main, v1.4.2 or 4f2a9c1 (no leading dash, no '..')"),
    }


def _hooks(project: str, value: Any) -> list[dict[str, Any]]:
    """Commands run before a new release goes live: each a name and an argv (no shell)."""
    hooks = []
    names: set[str] = set()
    for index, hook in enumerate(_string_list(project, "code.hooks", value)):
        where = "code.hooks[%d]" % index
        if not isinstance(hook, dict):
            raise _fail(project, where, "must be a mapping of name and command, got %r" % (hook,))
        for key in hook:
            if key not in HOOK_KEYS:
                raise _fail(project, "%s.%s" % (where, key), "unknown field (known: %s)" % ", ".join(sorted(HOOK_KEYS)))
        name = _str(project, where + ".name", hook.get("name"), NAME_RE, "a hook name of letters, digits, _ . -")
        if name in names:
            raise _fail(project, where + ".name", "hook %r is given twice" % name)
        names.add(name)
        command = hook.get("command")
        if (not isinstance(command, list) or not command
                or not all(isinstance(arg, str) and arg and "\x00" not in arg for arg in command)):
            raise _fail(project, where + ".command", "must be a list of arguments such as [python, manage.py, "
                        "migrate, --noinput] (no shell), got %r" % (command,))
        hooks.append({"name": name, "command": list(command)})
    return hooks


def _string_list(project: str, name: str, value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(project, name, "must be a list, got %r" % (value,))
    return value


# --------------------------------------------------------------------------
# One project


def normalize_project(raw: Any, index: int, base_dir: str,
                      mod_wsgi: Optional[tuple[int, ...]] = None) -> dict[str, Any]:
    """Check one entry of ``wsgi_projects`` and fill in its defaults."""
    if not isinstance(raw, dict):
        raise PlanError("wsgi_projects[%d]: must be a mapping, got %r" % (index, raw))
    if "name" not in raw:
        raise PlanError("wsgi_projects[%d]: field 'name' is required" % index)
    name = raw["name"]
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise PlanError("wsgi_projects[%d]: field 'name': must be 1-64 letters, digits, _ . - "
                        "starting with a letter or digit, got %r" % (index, name))
    unknown = sorted(set(raw) - PROJECT_KEYS)
    if unknown:
        raise _fail(name, unknown[0], "unknown field (known: %s)" % ", ".join(sorted(PROJECT_KEYS)))

    state = raw.get("state", "present")
    if state not in ("present", "absent"):
        raise _fail(name, "state", "must be present or absent, got %r" % (state,))
    if state == "absent":
        return {"name": name, "state": "absent"}

    mode = raw.get("mode", "daemon")
    if mode not in ("daemon", "embedded"):
        raise _fail(name, "mode", "must be daemon or embedded, got %r" % (mode,))
    if mode == "embedded":
        for key in DAEMON_ONLY_FIELDS:
            if raw.get(key) not in (None, [], {}):
                raise _fail(name, key, "has no meaning with mode embedded (the app runs in Apache's own processes)")

    given = [key for key in ("script", "source", "code") if key in raw]
    if len(given) != 1:
        raise _fail(name, given[0] if given else "script",
                    "give exactly one of script (a path on the host), source (a file to copy) or code (a tree "
                    "shipped as releases)")
    code = None
    if "code" in raw:
        if mode != "daemon" or raw.get("daemon") not in (None, name):
            raise _fail(name, "code", "needs a daemon group of the project's own: the release's folder goes on "
                        "that group's python-path")
        code = dict(_code(name, raw["code"]), root="%s/%s" % (base_dir, name))
        source = None
        script = "%s/current/%s" % (code["root"], code["wsgi_file"])
    elif "source" in raw:
        source = raw["source"]
        if not isinstance(source, str) or not source or "\n" in source or "\x00" in source:
            raise _fail(name, "source", "must be the path of a file on the controller, got %r" % (source,))
        script = "%s/%s/%s.wsgi" % (base_dir, name, name)
    else:
        source = None
        script = _fs_path(name, "script", raw["script"])

    shared = raw.get("daemon") is not None
    group_name = _str(name, "daemon", raw["daemon"], NAME_RE,
                      "a daemon group name of letters, digits, _ . -") if shared else name

    pip_packages = [
        _str(name, "pip_packages[%d]" % i, req, PIP_REQUIREMENT_RE, "a pip requirement such as 'flask>=3'")
        for i, req in enumerate(_string_list(name, "pip_packages", raw.get("pip_packages")))
    ]
    python_home = raw.get("python_home")
    if python_home is not None:
        python_home = _fs_path(name, "python_home", python_home)

    user = None if raw.get("user") is None else _account(name, "user", raw["user"])
    project = {
        "name": name,
        "state": "present",
        "mode": mode,
        "script": script,
        "source": source,
        "port": _int(name, "port", raw.get("port", 80), 1, 65535),
        "path": _url_path(name, raw.get("path", "/")),
        # Apache compares host names without regard to case.
        "server_name": (None if raw.get("server_name") is None else
                        _str(name, "server_name", raw["server_name"], SERVER_NAME_RE,
                             "a host name such as api.example.com (no wildcards)").lower()),
        "user": user,
        "group": None if raw.get("group") is None else _account(name, "group", raw["group"]),
        "python_home": python_home,
        # A code tree's current release comes first on the path, where its packages are.
        "python_path": ([code["root"] + "/current"] if code else []) + [
            _fs_path(name, "python_path[%d]" % i, p)
            for i, p in enumerate(_string_list(name, "python_path", raw.get("python_path")))],
        "pip_packages": pip_packages,
        "processes": (None if raw.get("processes") is None else
                      _int(name, "processes", raw["processes"], 1, MAX_PROCESSES)),
        "threads": (None if raw.get("threads") is None else
                    _int(name, "threads", raw["threads"], 1, MAX_THREADS)),
        "options": _options(name, raw.get("options"), mod_wsgi),
        "daemon": group_name if mode == "daemon" else None,
        "application_group": _str(
            name, "application_group",
            raw.get("application_group", "%{RESOURCE}" if shared or mode == "embedded" else "%{GLOBAL}"),
            APPLICATION_GROUP_RE, "%{GLOBAL}, %{RESOURCE}, %{SERVER} or a plain name"),
        "pass_authorization": _bool(name, "pass_authorization", raw.get("pass_authorization", False)),
        "sizing": _sizing(name, raw.get("sizing")),
        "tls": _tls(name, raw.get("tls_certificate"), raw.get("tls_key")),
        "static": _static(name, raw.get("static")),
        "code": code,
        "data_dirs": [_fs_path(name, "data_dirs[%d]" % i, p)
                      for i, p in enumerate(_string_list(name, "data_dirs", raw.get("data_dirs")))],
    }
    if mode == "embedded":
        for index, entry in enumerate(project["static"]):
            if entry["writable"]:
                raise _fail(name, "static[%d].writable" % index, "needs the project's own account, which mode "
                            "embedded has not (the app runs in Apache's own processes)")
    # How the role asks the project on the host itself (wsgi_healthcheck, wsgi_restart).
    project["probe"] = {
        "name": name,
        "url": "%s://127.0.0.1:%d%s" % ("https" if project["tls"] else "http", project["port"], project["path"]),
        "host_header": project["server_name"] or "",
    }
    return project


# --------------------------------------------------------------------------
# The whole host


def _default_user(name: str, user: Any, where: str) -> str:
    if user is None:
        if not ACCOUNT_RE.fullmatch(name) or name == "root":
            raise _fail(where, "user", "defaults to the daemon group name %r, which is no valid account name "
                        "for a daemon: set user" % name)
        return name
    return user


def _owner_settings(name: str, owner: dict[str, Any], default_threads: int, base_dir: str) -> dict[str, Any]:
    """The settings of the group that ``owner`` is named after: what it sets, and the defaults."""
    user = _default_user(name, owner["user"], owner["name"])
    return {
        "user": user,
        "group": owner["group"] or user,
        "processes": owner["processes"],
        # Unset with sizing metadata: wsgi_sizing computes it.
        "threads": owner["threads"] if owner["threads"] is not None or owner["sizing"] is not None
        else default_threads,
        "python_home": owner["python_home"] or ("%s/%s/venv" % (base_dir, name) if owner["pip_packages"] else None),
        "python_path": owner["python_path"],
        "options": owner["options"],
        "pip_packages": owner["pip_packages"],
        "sizing": owner["sizing"],
    }


def _check_joiner(name: str, owner: dict[str, Any], settings: dict[str, Any], joiner: dict[str, Any]) -> None:
    """A project in another project's group may leave each group field out or restate the owner's value."""
    for key in JOINER_FIELDS:
        value, owned = joiner[key], settings[key]
        if value in (None, [], {}):
            continue
        if key == "pip_packages":
            if all(p in owned for p in value):
                continue
        elif value == owned:
            continue
        head = "daemon group %r belongs to project %r, which" % (name, owner["name"])
        if owned in (None, [], {}):
            if key in ("processes", "threads") and settings["sizing"] is not None:
                why = "has wsgi_sizing compute its %s" % key
            else:
                why = "runs it without %s" % key
            raise _fail(joiner["name"], key, "%s %s; a project that joins it must leave %r out (got %r)"
                        % (head, why, key, value))
        same = "list only packages it lists too" if key == "pip_packages" else "give the same value"
        raise _fail(joiner["name"], key, "%s runs it with %s=%r; a project that joins it may leave %r out or %s "
                    "(got %r)" % (head, key, owned, key, same, value))


def _build_group(name: str, members: list[dict[str, Any]], default_threads: int, base_dir: str,
                 owner: Optional[dict[str, Any]] = None) -> DaemonGroup:
    """One daemon group from the projects that use it.

    With ``owner`` (the member named after the group) the group has the owner's
    settings, its defaults included, and the other members may only restate
    them. Without, the members must agree on every value two of them set.
    """
    if owner is not None:
        settings = _owner_settings(name, owner, default_threads, base_dir)
        for joiner in members:
            if joiner is not owner:
                _check_joiner(name, owner, settings, joiner)
        return DaemonGroup(
            name=name, user=settings["user"], group=settings["group"],
            processes=settings["processes"],
            threads=default_threads if owner["threads"] is None else owner["threads"],
            python_home=settings["python_home"], python_path=list(settings["python_path"]),
            options=dict(settings["options"]), projects=sorted(p["name"] for p in members),
            threads_explicit=owner["threads"] is not None, sizing=settings["sizing"], owner=owner["name"],
        )

    chosen: dict[str, tuple[Any, str]] = {}
    for project in members:
        for key in GROUP_FIELDS:
            value = project[key]
            if value in (None, [], {}):
                continue
            if key in chosen and chosen[key][0] != value:
                raise _fail(project["name"], key,
                            "daemon group %r is shared with project %r, which sets %s=%r; the projects "
                            "of one group must agree (got %r)" % (name, chosen[key][1], key, chosen[key][0], value))
            chosen.setdefault(key, (value, project["name"]))

    def pick(key: str, default: Any) -> Any:
        return chosen[key][0] if key in chosen else default

    sized = [p for p in members if p["sizing"] is not None]
    if len(sized) > 1:
        raise _fail(sized[1]["name"], "sizing", "daemon group %r is sized from project %r already; give the "
                    "group's metadata on one of its projects" % (name, sized[0]["name"]))
    where = members[0]["name"] if "user" not in chosen else chosen["user"][1]
    user = _default_user(name, pick("user", None), where)
    return DaemonGroup(
        name=name, user=user, group=pick("group", user),
        processes=pick("processes", None), threads=pick("threads", default_threads),
        python_home=pick("python_home", "%s/%s/venv" % (base_dir, name)
                         if any(p["pip_packages"] for p in members) else None),
        python_path=pick("python_path", []),
        options=pick("options", {}), projects=sorted(p["name"] for p in members),
        threads_explicit="threads" in chosen, sizing=sized[0]["sizing"] if sized else None,
    )


def _group_owner(name: str, members: list[dict[str, Any]], present: dict[str, dict[str, Any]],
                 says_daemon: set[str]) -> Optional[dict[str, Any]]:
    """The project that daemon group ``name`` belongs to, or None for a group its members share.

    A project named after a group owns it when it is a member: alone in it, or
    saying ``daemon: <its name>`` when other projects join it. A project of that
    name elsewhere would show in ps as the group's (wsgi:NAME): refused.
    """
    named = present.get(name)
    if named is None or named["mode"] != "daemon":
        return None
    others = sorted(p["name"] for p in members if p is not named)
    if named["daemon"] == name:
        if others and named["name"] not in says_daemon:
            raise _fail(named["name"], "daemon", "project%s %s use%s daemon group %r (daemon: %s), which is named "
                        "after this project; set daemon: %s to own the group (the others then only restate its "
                        "settings), or give this project another name"
                        % ("s" if len(others) > 1 else "", ", ".join(repr(o) for o in others),
                           "" if len(others) > 1 else "s", name, name, name))
        return named
    raise _fail(others[0], "daemon", "daemon group %r is named after project %r, which runs in daemon group %r; "
                "ps would show this group as (wsgi:%s), that project's name: give the group another name, or "
                "set daemon: %s on project %r" % (name, name, named["daemon"], name, name, name))


def _under(path: str, prefix: str) -> bool:
    """Whether URL path ``path`` is ``prefix`` or below it."""
    return prefix == "/" or path == prefix or path.startswith(prefix + "/")


def _private_folders(projects: list[dict[str, Any]], data: bool = True) -> list[tuple[str, str, bool]]:
    """(project, folder, whether a folder below it is private too) of what Apache must never serve as files.

    A script's folder may hold a static folder beside the script; a venv, a
    code tree's releases, its `current` link, its git mirror or a data folder
    hold nothing Apache may serve.
    """
    private = [(p["name"], posixpath.dirname(p["script"]), False) for p in projects if not p["code"]]
    private += [(p["name"], p["python_home"], True) for p in projects if p["python_home"]]
    private += [(p["name"], p["code"]["root"] + folder, True) for p in projects if p["code"]
                for folder in ("/releases", "/current", "/repository.git")]
    if data:
        private += [(p["name"], path, True) for p in projects for path in p["data_dirs"]]
    return private


def _check_owned_folders(projects: list[dict[str, Any]], base_dir: str) -> None:
    """The folders a project's account is given (data_dirs, writable static) hold nothing it must not change.

    The role sets their owner on every run: such a folder must not be a
    system folder, nor hold the projects' base folder, any project's folder,
    script, venv or python-path, nor lie in a venv, a release, `current` or a
    git mirror; one folder has one owner, and it lies in no folder of another
    owner or another project (nor holds one).
    """
    holders = [(None, base_dir)] + [("the folder or script of project %r" % p["name"], "%s/%s" % (base_dir, p["name"]))
                                    for p in projects]
    holders += [("the folder or script of project %r" % p["name"], p["script"]) for p in projects]
    holders += [("the venv or python-path of project %r" % p["name"], path) for p in projects
                for path in ([p["python_home"]] if p["python_home"] else []) + p["python_path"]]
    inner = [(name, held) for name, held, below_too in _private_folders(projects, data=False) if below_too]
    owners: dict[str, tuple[str, str, Optional[str]]] = {}
    for project in projects:
        account = "%s:%s" % (project["user"], project["group"])
        given = [("static[%d].directory" % i, e["directory"], account if e["writable"] else None)
                 for i, e in enumerate(project["static"])]
        given += [("data_dirs[%d]" % i, path, account) for i, path in enumerate(project["data_dirs"])]
        for field, path, owner in given:
            seen = owners.setdefault(path, (project["name"], field, owner))
            if seen[2] != owner:
                raise _fail(project["name"], field, "%s is also given by project %r (%s), %s; one folder has one owner"
                            % (path, seen[0], seen[1], "owned by %s" % seen[2] if seen[2] else "root's"))
            for other, (name, other_field, other_owner) in owners.items():
                nested = other.startswith(path + "/") or path.startswith(other + "/")
                # Root's folders of one project may nest; so may one account's; a project's own root
                # folder and its own account's may too. Anything else could hand one owner another's files.
                if nested and other_owner != owner and not (None in (owner, other_owner) and name == project["name"]):
                    raise _fail(project["name"], field, "%s and project %r's %s (%s, %s) lie one in the other; one "
                                "account's folder must not hold another's" % (
                                    path, name, other_field, other,
                                    "owned by %s" % other_owner if other_owner else "root's"))
            if owner is None:
                continue
            if (path.count("/") < 2 or path in SYSTEM_FOLDERS
                    or any(_under(path, tree) for tree in SYSTEM_TREES)):
                raise _fail(project["name"], field, "%s is a system folder, which the project's account must not own; "
                            "give a folder of its own such as %s/%s/data" % (path, base_dir, project["name"]))
            for name, held in holders:
                if _under(held, path):  # path is no "/" here: the system-folder check refused it
                    raise _fail(project["name"], field, "%s holds %s (%s), which the project's account must not own"
                                % (path, "the projects' base folder" if name is None else name, held))
            for name, held in inner:
                if path == held or path.startswith(held + "/"):
                    raise _fail(project["name"], field, "%s lies in the venv or code of project %r (%s)"
                                % (path, name, held))


def _static_mounts(projects: list[dict[str, Any]], vhosts: dict[tuple[int, str], list[Mount]],
                   routes: dict[tuple[int, str, str], str]) -> dict[tuple[int, str], list[dict[str, Any]]]:
    """Each virtual host's static mounts, checked against its projects' paths and the host's code.

    A static path may lie below its own project's path or a project mounted at
    "/" (as Django's /static beside an app at /), never below another
    project's path nor above any project's path: Apache serves an Alias before
    any WSGIScriptAlias, so that project would lose those URLs. A static
    directory must hold no project's script or venv, which Apache would then
    serve as files.
    """
    private = _private_folders(projects)
    found: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for project in projects:
        vhost_key = (project["port"], project["server_name"] or "")
        for index, entry in enumerate(project["static"]):
            where = "static[%d]" % index
            key = vhost_key + (entry["path"],)
            on = "port %d%s" % (key[0], " server_name %s" % key[1] if key[1] else "")
            if key in routes:
                raise _fail(project["name"], where + ".path", "%s path %s is already served by project %r"
                            % (on, key[2], routes[key]))
            routes[key] = project["name"]
            hidden = [m for m in vhosts.get(vhost_key, []) if _under(m.path, entry["path"])]
            if hidden:
                raise _fail(project["name"], where + ".path", "%s path %s holds path %s of project %r, which would "
                            "lose those URLs to these static files" % (on, entry["path"], hidden[0].path,
                                                                       hidden[0].project))
            below = [m for m in vhosts.get(vhost_key, []) if _under(entry["path"], m.path)]
            owner = max(below, key=lambda m: len(m.path)) if below else None
            if owner is not None and owner.project != project["name"] and owner.path != "/":
                raise _fail(project["name"], where + ".path", "%s path %s is below path %s of project %r, which would "
                            "lose those URLs to these static files" % (on, entry["path"], owner.path, owner.project))
            directory = entry["directory"]
            for name, held, below_too in private:
                if held == directory or held.startswith(directory + "/") or (
                        below_too and directory.startswith(held + "/")):
                    raise _fail(project["name"], where + ".directory", "%s holds the code, venv or data of project %r "
                                "(%s), which Apache would then serve as files" % (directory, name, held))
            found.setdefault(vhost_key, []).append(dict(entry))
    # The cache header is set by URL (<Location>): one without max_age below
    # one with it would inherit its header, so it unsets it.
    for entries in found.values():
        cached = [e["path"] for e in entries if e["max_age"] is not None]
        for entry in entries:
            below_cached = any(_under(entry["path"], path) and entry["path"] != path for path in cached)
            entry["cache_header"] = ("set" if entry["max_age"] is not None else "unset" if below_cached else None)
    return found


def build_plan(raw_projects: Any, base_dir: str = "/srv/wsgi", default_threads: int = 15,
               reserved_ports: Optional[list[int]] = None, mod_wsgi_version: Optional[str] = None,
               daemon_options: Any = None) -> Plan:
    """Check every project, then lay out daemon groups, vhosts and ports.

    ``mod_wsgi_version`` is the host's (e.g. '4.9.4-1+b2'); options newer than it
    are refused. Empty: not installed yet, so only the values are checked.
    ``daemon_options`` (wsgi_daemon_options) are the host's own daemon options
    over PRODUCTION_DEFAULTS, checked like a project's ``options``.
    """
    mod_wsgi = parse_version(mod_wsgi_version) if mod_wsgi_version else None
    if mod_wsgi_version and mod_wsgi is None:
        raise PlanError("mod_wsgi_version: must be a version such as 4.9.4, got %r" % (mod_wsgi_version,))
    if raw_projects is None:
        raw_projects = []
    if not isinstance(raw_projects, list):
        raise PlanError("wsgi_projects: must be a list of projects, got %r" % (raw_projects,))
    if not isinstance(base_dir, str) or not FS_PATH_RE.fullmatch(base_dir) or ".." in base_dir.split("/"):
        raise PlanError("wsgi_base_dir: must be an absolute path, got %r" % (base_dir,))
    reserved = set(reserved_ports or [])
    host_options = _options(None, daemon_options, mod_wsgi, "wsgi_daemon_options")

    seen: dict[str, int] = {}
    says_daemon: set[str] = set()  # the projects that give `daemon` themselves
    projects: list[dict[str, Any]] = []
    absent: list[str] = []
    for index, raw in enumerate(raw_projects):
        project = normalize_project(raw, index, base_dir, mod_wsgi)
        if project["name"] in seen:
            raise _fail(project["name"], "name", "is given twice (entries %d and %d)"
                        % (seen[project["name"]], index))
        seen[project["name"]] = index
        if raw.get("daemon") is not None:
            says_daemon.add(project["name"])
        if project["state"] == "absent":
            absent.append(project["name"])
        else:
            projects.append(project)
    projects.sort(key=lambda p: p["name"])

    members: dict[str, list[dict[str, Any]]] = {}
    for project in projects:
        if project["mode"] == "daemon":
            members.setdefault(project["daemon"], []).append(project)
    present = {p["name"]: p for p in projects}
    groups = {name: _build_group(name, group, default_threads, base_dir,
                                 _group_owner(name, group, present, says_daemon))
              for name, group in members.items()}
    for project in projects:
        if project["mode"] == "daemon":
            group = groups[project["daemon"]]
            owner = present.get(group.owner or "")
            if owner is not None and owner["code"] and project is not owner:
                raise _fail(project["name"], "daemon", "daemon group %r belongs to project %r, which ships its code "
                            "as releases on the group's python-path: no other project may join it"
                            % (group.name, owner["name"]))
            project.update(user=group.user, group=group.group, python_home=group.python_home)

    routes: dict[tuple[int, str, str], str] = {}
    vhosts: dict[tuple[int, str], list[Mount]] = {}
    # TLS is a setting of the virtual host, and Apache cannot serve TLS and
    # plain HTTP on one port: the first project of each sets it for the others.
    tls_of_vhost: dict[tuple[int, str], tuple[Optional[dict[str, str]], str]] = {}
    tls_of_port: dict[int, tuple[bool, str]] = {}
    for project in projects:
        vhost_key = (project["port"], project["server_name"] or "")
        tls, first = tls_of_vhost.setdefault(vhost_key, (project["tls"], project["name"]))
        if project["tls"] != tls:
            raise _fail(project["name"], "tls_certificate", "project %r on the same virtual host (port %d%s) has %s; "
                        "the projects of one virtual host must agree" % (
                            first, vhost_key[0], " server_name %s" % vhost_key[1] if vhost_key[1] else "",
                            "tls_certificate %s" % tls["certificate"] if tls else "no TLS"))
        uses_tls, first = tls_of_port.setdefault(project["port"], (project["tls"] is not None, project["name"]))
        if uses_tls != (project["tls"] is not None):
            raise _fail(project["name"], "tls_certificate", "port %d is served %s TLS by project %r; one port is "
                        "either TLS or plain HTTP" % (project["port"], "with" if uses_tls else "without", first))

    for project in projects:
        key = (project["port"], project["server_name"] or "", project["path"])
        if key in routes:
            raise _fail(project["name"], "path", "port %d%s path %s is already served by project %r" % (
                key[0], " server_name %s" % key[1] if key[1] else "", key[2], routes[key]))
        routes[key] = project["name"]
        vhosts.setdefault(key[:2], []).append(Mount(
            project=project["name"], path=project["path"], script=project["script"],
            group=project["daemon"], application_group=project["application_group"],
            pass_authorization=project["pass_authorization"],
            release_root=project["code"]["root"] if project["code"] else None,
        ))

    statics = _static_mounts(projects, vhosts, routes)
    _check_owned_folders(projects, base_dir)

    vhost_list = []
    for (port, server_name), mounts in sorted(vhosts.items()):
        # Aliases match first come, first served: longer paths first. <Location>
        # sections merge in order, the later winning: shorter paths first.
        ordered = sorted(mounts, key=lambda m: (-len(m.path), m.path))
        vhost_list.append({
            "port": port,
            "server_name": server_name or None,
            "tls": tls_of_vhost[(port, server_name)][0],
            "mounts": [dict(m.__dict__, script_dir=m.script_dir) for m in ordered],
            # Alias matches first come, first served too: longer paths first.
            "static": sorted(statics.get((port, server_name), []), key=lambda e: (-len(e["path"]), e["path"])),
        })

    return Plan(
        projects=projects,
        absent=sorted(absent),
        groups=[groups[name] for name in sorted(groups)],
        vhosts=vhost_list,
        listen=sorted({p["port"] for p in projects} - reserved),
        embedded=any(p["mode"] == "embedded" for p in projects),
        daemon_options=host_options,
    )

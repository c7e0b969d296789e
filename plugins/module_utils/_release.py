# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Code trees shipped as releases: what the ``wsgi_release`` action and module decide.

No Ansible imports. A project's tree on the controller becomes one archive
whose bytes depend on the files' names, contents and executable bits alone
(sorted, no times, no owners), so the same tree always gives the same
release id: a rerun with the same code finds its release on the host and
changes nothing. On the host each release is unpacked into
``<root>/releases/<id>``, checked, marked complete, and only then can
``<root>/current`` be switched to it, by renaming a new link over the old one
(atomic: a request sees the old tree or the new one, never a mix).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import tarfile
import zlib
from typing import Optional

__metaclass__ = type  # pylint: disable=invalid-name

MARKER = ".modwsgi-fleet-release"
HISTORY = ".history"
# Left out of every release: bytecode the host compiles for itself, and a VCS's own folders.
SKIPPED_NAMES = frozenset(("__pycache__", ".git", ".hg", ".svn"))
SKIPPED_SUFFIXES = (".pyc", ".pyo")


class ReleaseError(ValueError):
    """A tree or archive that cannot be a release; the message says why."""


def _skipped(name: str) -> bool:
    return name in SKIPPED_NAMES or name.endswith(SKIPPED_SUFFIXES)


def tree_archive(root: str) -> bytes:
    """The release archive (tar.gz) of the directory ``root``: the same bytes for the same tree.

    Regular files and folders only, names sorted, mode 0755 for folders and
    executable files and 0644 for the others, no owners or times. A symbolic
    link is refused (it could point anywhere on the host).
    """
    if not os.path.isdir(root):
        raise ReleaseError("%s is not a directory" % root)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not _skipped(d))
            for name in dirs + sorted(f for f in files if not _skipped(f)):
                path = os.path.join(folder, name)
                arcname = os.path.relpath(path, root).replace(os.sep, "/")
                if os.path.islink(path):
                    raise ReleaseError("%s is a symbolic link; a release holds folders and files only" % arcname)
                info = tarfile.TarInfo(arcname)
                info.mtime = 0
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if os.path.isdir(path):
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
                elif os.path.isfile(path):
                    # The file's own bits, whoever packs it: the same tree gives the same id.
                    info.mode = 0o755 if os.stat(path).st_mode & 0o111 else 0o644
                    with open(path, "rb") as handle:
                        data = handle.read()
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
                else:
                    raise ReleaseError("%s is neither a folder nor a regular file" % arcname)
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", mtime=0, compresslevel=6) as handle:
        handle.write(raw.getvalue())
    return packed.getvalue()


RELEASE_ID_RE = re.compile(r"^[0-9a-f]{16}$")


def release_id(archive: bytes) -> str:
    """The id of the release an archive makes: the start of its sha256 (RELEASE_ID_RE)."""
    return hashlib.sha256(archive).hexdigest()[:16]


def check_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The members of an archive, each a folder or regular file inside it; raise ReleaseError otherwise."""
    members = tar.getmembers()
    for member in members:
        name = member.name
        if name.startswith("/") or "\x00" in name or any(part in ("", ".", "..") for part in name.split("/")):
            raise ReleaseError("archive member %r is no plain path inside the release" % name)
        if not (member.isdir() or member.isfile()):
            raise ReleaseError("archive member %r is neither a folder nor a regular file" % name)
    return members


def _folder(path: str) -> None:
    """Make the folder and its missing parents, each 0755 whatever the umask."""
    if os.path.isdir(path):
        return
    _folder(os.path.dirname(path))
    os.mkdir(path)
    os.chmod(path, 0o755)


def unpack(archive: bytes, dest: str, wsgi_file: str) -> None:
    """Unpack ``archive`` into the new folder ``dest`` and check that it holds ``wsgi_file``."""
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            members = check_members(tar)
            os.mkdir(dest)
            os.chmod(dest, 0o755)
            for member in members:
                target = os.path.join(dest, *member.name.split("/"))
                if member.isdir():
                    _folder(target)
                    continue
                _folder(os.path.dirname(target))
                source = tar.extractfile(member)
                if source is None:  # not for a regular file, which check_members made sure of
                    raise ReleaseError("archive member %r has no content" % member.name)
                with open(target, "wb") as handle:
                    handle.write(source.read())
                os.chmod(target, 0o755 if member.mode & 0o111 else 0o644)
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise ReleaseError("the archive cannot be read: %s" % exc) from exc
    if not os.path.isfile(os.path.join(dest, *wsgi_file.split("/"))):
        raise ReleaseError("the release holds no file %s (field 'code.wsgi_file')" % wsgi_file)


def history(text: Optional[str]) -> list[str]:
    """The release ids of a history file, oldest first, each once (the last time it went live)."""
    ids: list[str] = []
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            if line in ids:
                ids.remove(line)
            ids.append(line)
    return ids


def to_remove(present: list[str], went_live: list[str], current: Optional[str], keep: int) -> list[str]:
    """The releases to delete: all but the ``keep`` that went live last, never the current one.

    ``present`` are the complete releases on the host, ``went_live`` the
    history (oldest first). A release that never went live (unpacked, then a
    hook failed) goes first.
    """
    order = [r for r in present if r not in went_live] + [r for r in went_live if r in present]
    kept = set(order[-keep:]) if keep > 0 else set()
    if current:
        kept.add(current)
    return sorted(r for r in present if r not in kept)


def previous(went_live: list[str], current: Optional[str], present: list[str]) -> Optional[str]:
    """The release that was live before ``current`` and is still on the host, for a rollback."""
    earlier = [r for r in went_live if r != current and r in present]
    return earlier[-1] if earlier else None

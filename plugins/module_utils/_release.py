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
import lzma
import os
import re
import stat
import tarfile
import zipfile
import zlib
from typing import Optional

from ansible_collections.modwsgi.fleet.plugins.module_utils._files import make_dirs

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


# One entry of a tree: None for a folder, (content, executable) for a file.
Entry = Optional[tuple[bytes, bool]]


def _canonical(entries: dict[str, Entry]) -> bytes:
    """The release archive (tar.gz) of a tree given as path -> entry: the same bytes for the same tree.

    Folders and regular files only, in the order a top-down walk with sorted
    names gives (each folder's subfolders, then its files, then each
    subfolder's own), mode 0755 for folders and executable files and 0644 for
    the others, no owners or times. Whatever the tree came from (a folder, an
    archive, a git commit), the same files give the same release id.
    """
    children: dict[str, tuple[list[str], list[str]]] = {"": ([], [])}
    for path in sorted(entries):
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            sub = "/".join(parts[:depth])
            is_dir = depth < len(parts) or entries[path] is None
            parent = "/".join(parts[:depth - 1])
            if is_dir and sub not in children:
                children[sub] = ([], [])
                children[parent][0].append(sub)
            elif not is_dir:
                children[parent][1].append(sub)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def emit(folder: str) -> None:
            dirs, files = children[folder]
            for path in sorted(dirs) + sorted(files):
                info = tarfile.TarInfo(path)
                info.mtime = 0
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                entry = entries.get(path)
                if entry is None:
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
                else:
                    data, executable = entry
                    info.mode = 0o755 if executable else 0o644
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
            for path in sorted(dirs):
                emit(path)
        emit("")
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", mtime=0, compresslevel=6) as handle:
        handle.write(raw.getvalue())
    return packed.getvalue()


def _kept(path: str) -> bool:
    return not any(_skipped(part) for part in path.split("/"))


def tree_archive(root: str) -> bytes:
    """The release archive of the directory ``root`` (see _canonical).

    A symbolic link is refused (it could point anywhere on the host); so is
    anything but folders and regular files.
    """
    if not os.path.isdir(root):
        raise ReleaseError("%s is not a directory" % root)
    entries: dict[str, Entry] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not _skipped(d)]
        for name in dirs + [f for f in files if not _skipped(f)]:
            path = os.path.join(folder, name)
            arcname = os.path.relpath(path, root).replace(os.sep, "/")
            if os.path.islink(path):
                raise ReleaseError("%s is a symbolic link; a release holds folders and files only" % arcname)
            if os.path.isdir(path):
                entries[arcname] = None
            elif os.path.isfile(path):
                with open(path, "rb") as handle:
                    # The file's own bits, whoever packs it: the same tree gives the same id.
                    entries[arcname] = (handle.read(), bool(os.stat(path).st_mode & 0o111))
            else:
                raise ReleaseError("%s is neither a folder nor a regular file" % arcname)
    return _canonical(entries)


def _is_plain(name: str) -> bool:
    """Whether an archive member's path is a plain relative path: no /, NUL, empty, . or .. part."""
    return not (name.startswith("/") or "\x00" in name or any(part in ("", ".", "..") for part in name.split("/")))


def _plain(name: str) -> str:
    """An archive member's path without a leading ./ or trailing /; ReleaseError if it leaves the tree."""
    while name.startswith("./"):
        name = name[2:]
    name = name.rstrip("/")
    if not _is_plain(name):
        raise ReleaseError("archive member %r is no plain path inside the tree" % name)
    return name


def _members(data: bytes) -> list[tuple[str, str, Entry]]:
    """(path, kind, entry) of each member of a tar (any compression) or zip archive; kind is dir, file or other."""
    found: list[tuple[str, str, Entry]] = []
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                mode = info.external_attr >> 16
                if info.is_dir():
                    found.append((info.filename, "dir", None))
                elif stat.S_IFMT(mode) and not stat.S_ISREG(mode):  # zip tools may store no file type
                    found.append((info.filename, "other", None))
                else:
                    found.append((info.filename, "file", (archive.read(info), bool(mode & 0o111))))
        return found
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        for member in tar.getmembers():
            if member.isdir():
                found.append((member.name, "dir", None))
            elif member.isfile():
                source = tar.extractfile(member)
                found.append((member.name, "file", (source.read() if source else b"", bool(member.mode & 0o111))))
            else:
                found.append((member.name, "other", None))
    return found


def archive_tree(data: bytes, subdir: str = "") -> bytes:
    """The release archive of the tree in a tar (gz, bz2, xz) or zip archive, or of its folder ``subdir``.

    Members are checked as for a folder: plain paths inside the tree, folders
    and regular files only; bytecode and VCS folders are left out.
    """
    prefix = subdir.strip("/") + "/" if subdir.strip("/") else ""
    entries: dict[str, Entry] = {}
    try:
        members = _members(data)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError, OSError, ValueError,
            RuntimeError, NotImplementedError) as exc:  # RuntimeError: an encrypted zip; NotImplementedError: its method
        raise ReleaseError("the archive cannot be read (a tar, tar.gz, tar.bz2, tar.xz or zip file): %s" % exc) from exc
    for name, kind, entry in members:
        if name in ("", ".", "./"):
            continue
        path = _plain(name)
        if prefix:
            if not (path + "/").startswith(prefix):
                continue
            path = path[len(prefix):]
            if not path:
                continue
        if not _kept(path):
            continue
        if kind == "other":
            raise ReleaseError("archive member %r is neither a folder nor a regular file" % name)
        entries[path] = entry
    for path in entries:
        parent = path.rpartition("/")[0]
        while parent:
            if entries.get(parent, None) is not None:
                raise ReleaseError("archive member %r is a file and also holds %r" % (parent, path))
            parent = parent.rpartition("/")[0]
    if not entries:
        raise ReleaseError("the archive holds no files%s" % (" under %s" % prefix if prefix else ""))
    return _canonical(entries)


RELEASE_ID_RE = re.compile(r"^[0-9a-f]{16}$")


def release_id(archive: bytes) -> str:
    """The id of the release an archive makes: the start of its sha256 (RELEASE_ID_RE)."""
    return hashlib.sha256(archive).hexdigest()[:16]


def check_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The members of an archive, each a folder or regular file inside it; raise ReleaseError otherwise."""
    members = tar.getmembers()
    for member in members:
        name = member.name
        if not _is_plain(name):
            raise ReleaseError("archive member %r is no plain path inside the release" % name)
        if not (member.isdir() or member.isfile()):
            raise ReleaseError("archive member %r is neither a folder nor a regular file" % name)
    return members


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
                    make_dirs(target)
                    continue
                make_dirs(os.path.dirname(target))
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

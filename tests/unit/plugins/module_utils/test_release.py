# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Release archives, unpacking, history and pruning, on real files under pytest's tmp_path
(plugins/module_utils/_release.py)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import stat
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Optional

import pytest

from ansible_collections.modwsgi.fleet.plugins.module_utils._release import (
    ReleaseError,
    archive_tree,
    check_members,
    history,
    previous,
    release_id,
    to_remove,
    tree_archive,
    unpack,
)

APP = "def application(environ, start_response):\n    start_response('200 OK', [])\n    return [b'app']\n"
# A small project tree: relative path -> (content, executable).
TREE = {
    "app/__init__.py": ("", False),
    "app/wsgi.py": (APP, False),
    "app/views/index.py": ("VIEW = 1\n", False),
    "manage.py": ("#!/usr/bin/env python\n", True),
    "README": ("the app\n", False),
    "docs/index.txt": ("docs\n", False),
}


def make_tree(root: Path, tree: Optional[dict[str, tuple[str, bool]]] = None, order: int = 1) -> Path:
    """Write ``tree`` under ``root``; ``order`` -1 creates the files in reverse order."""
    for relative, (content, executable) in sorted((tree or TREE).items())[::order]:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        os.chmod(str(path), 0o755 if executable else 0o644)
    return root


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def members(archive: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return tar.getmembers()


def names(archive: bytes) -> list[str]:
    return [m.name for m in members(archive)]


def hand_made(*infos: tuple[tarfile.TarInfo, bytes]) -> bytes:
    """A tar.gz built member by member, for archives tree_archive never makes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for info, data in infos:
            if info.isfile():
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return raw.getvalue()


def regular(name: str, data: bytes = b"x\n", mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.mode = mode
    return info, data


def special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, b""


# tree_archive and release_id: the same tree, the same bytes

def test_the_same_tree_twice_gives_the_same_bytes_and_id(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "src")
    first = tree_archive(str(root))
    second = tree_archive(str(root))
    assert first == second
    assert release_id(first) == release_id(second)


def test_a_copy_with_other_times_owners_and_creation_order_gives_the_same_bytes(tmp_path: Path) -> None:
    original = make_tree(tmp_path / "one")
    copy = make_tree(tmp_path / "elsewhere" / "two", order=-1)
    for folder, dirs, files in os.walk(str(copy)):
        for name in dirs + files:
            path = os.path.join(folder, name)
            os.utime(path, (1234567890, 1234567890))
            if os.geteuid() == 0:
                os.chown(path, 65534, 65534)
    os.chmod(str(copy / "README"), 0o664)  # a write bit is no part of a release
    assert tree_archive(str(copy)) == tree_archive(str(original))


def test_the_archive_has_sorted_names_no_times_no_owners_and_modes_by_executable_bit(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "src")
    os.chmod(str(root / "app" / "views"), 0o700)
    archive = tree_archive(str(root))
    found = {m.name: m for m in members(archive)}
    # Folder by folder: its subfolders sorted, then its files sorted.
    assert names(archive) == [
        "app", "docs", "README", "manage.py", "app/views", "app/__init__.py", "app/wsgi.py", "app/views/index.py",
        "docs/index.txt",
    ]
    assert {n: (m.type, m.mode) for n, m in found.items()} == {
        "README": (tarfile.REGTYPE, 0o644),
        "app": (tarfile.DIRTYPE, 0o755),
        "manage.py": (tarfile.REGTYPE, 0o755),
        "app/__init__.py": (tarfile.REGTYPE, 0o644),
        "app/views": (tarfile.DIRTYPE, 0o755),
        "app/wsgi.py": (tarfile.REGTYPE, 0o644),
        "app/views/index.py": (tarfile.REGTYPE, 0o644),
        "docs": (tarfile.DIRTYPE, 0o755),
        "docs/index.txt": (tarfile.REGTYPE, 0o644),
    }
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in found.values()} == {(0, 0, 0, "", "")}
    assert archive[:2] == b"\x1f\x8b" and archive[4:8] == b"\x00\x00\x00\x00"  # gzip, without a time


def test_release_id_is_the_start_of_the_sha256(tmp_path: Path) -> None:
    archive = tree_archive(str(make_tree(tmp_path / "src")))
    assert release_id(archive) == hashlib.sha256(archive).hexdigest()[:16]
    assert len(release_id(archive)) == 16
    assert release_id(b"other") != release_id(archive)


def test_a_changed_file_content_gives_another_id(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "src")
    before = release_id(tree_archive(str(root)))
    (root / "app" / "wsgi.py").write_text(APP.replace("b'app'", "b'app v2'"))
    assert release_id(tree_archive(str(root))) != before


def test_an_added_file_gives_another_id(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "src")
    before = release_id(tree_archive(str(root)))
    (root / "app" / "models.py").write_text("")
    assert release_id(tree_archive(str(root))) != before


def test_an_added_empty_folder_gives_another_id(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "src")
    before = release_id(tree_archive(str(root)))
    (root / "app" / "empty").mkdir()
    assert release_id(tree_archive(str(root))) != before


def test_a_renamed_file_gives_another_id(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "src")
    before = release_id(tree_archive(str(root)))
    os.rename(str(root / "README"), str(root / "README.txt"))
    assert release_id(tree_archive(str(root))) != before


def test_a_changed_executable_bit_gives_another_id(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "src")
    before = release_id(tree_archive(str(root)))
    os.chmod(str(root / "app" / "wsgi.py"), 0o755)
    after = release_id(tree_archive(str(root)))
    assert after != before
    os.chmod(str(root / "app" / "wsgi.py"), 0o644)
    assert release_id(tree_archive(str(root))) == before


def test_bytecode_and_vcs_folders_are_left_out(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "src")
    clean = tree_archive(str(root))
    for relative in ("app/__pycache__/wsgi.cpython-311.pyc", ".git/config", ".hg/store", ".svn/entries",
                     "app/views/.git/HEAD", "app/old.pyc", "app/old.pyo", "app/views/__pycache__/x.py"):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("skipped\n")
    (root / "app" / ".git").write_text("gitdir: ../.git/worktrees/app\n")  # a worktree's .git is a file
    archive = tree_archive(str(root))
    assert archive == clean
    assert not [n for n in names(archive) if "pycache" in n or ".git" in n or n.endswith((".pyc", ".pyo"))]


def test_names_that_only_look_skipped_are_kept(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "src")
    for relative in (".gitignore", "app/pyc.py", "app/git/x.py", "app/x.pyc.txt"):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("kept\n")
    found = names(tree_archive(str(root)))
    for relative in (".gitignore", "app/pyc.py", "app/git", "app/git/x.py", "app/x.pyc.txt"):
        assert relative in found


@pytest.mark.parametrize(("target", "name"), [("/etc/passwd", "passwd"), ("views", "templates")],
                         ids=["to a file", "to a folder"])
def test_a_symbolic_link_is_refused_and_named(tmp_path: Path, target: str, name: str) -> None:
    root = make_tree(tmp_path / "src")
    os.symlink(target, str(root / "app" / name))
    with pytest.raises(ReleaseError) as info:
        tree_archive(str(root))
    assert str(info.value) == "app/%s is a symbolic link; a release holds folders and files only" % name


def test_a_special_file_is_refused_and_named(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "src")
    os.mkfifo(str(root / "app" / "pipe"))
    with pytest.raises(ReleaseError) as info:
        tree_archive(str(root))
    assert str(info.value) == "app/pipe is neither a folder nor a regular file"


def test_a_root_that_is_no_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    for root in (tmp_path / "file", tmp_path / "missing"):
        with pytest.raises(ReleaseError) as info:
            tree_archive(str(root))
        assert str(info.value) == "%s is not a directory" % root


# tree_archive: the byte format is pinned

# The release id of TREE plus the empty folder app/empty, as the collection has always computed it:
# a host keeps its releases (and skips an unchanged one) only while the same tree gives the same id.
PINNED_RELEASE_ID = "40d760734edc931a"
# The sha256 of the same archive's tar before gzip: when only the id above changes, gzip's output did
# (another zlib), not the tar format.
PINNED_TAR_SHA256 = "5d09c92b48163fe7485101f65b07d0c94399dce6831688796a2ce548e377df66"


def test_tree_archive_bytes_are_pinned_for_a_fixed_tree(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "src")
    (root / "app" / "empty").mkdir()
    archive = tree_archive(str(root))
    assert hashlib.sha256(gzip.decompress(archive)).hexdigest() == PINNED_TAR_SHA256
    assert release_id(archive) == PINNED_RELEASE_ID


# archive_tree: a tar (any compression) or zip archive, the same canonical archive as its folder

KINDS = ["tar", "tar.gz", "tar.bz2", "tar.xz", "zip"]
TAR_MODES = {"tar": "w", "tar.gz": "w:gz", "tar.bz2": "w:bz2", "tar.xz": "w:xz"}
# One member of an archive built here: name, content (None for a folder), mode bits with the file type.
Member = tuple[str, Optional[bytes], int]


def listing(root: Path, prefix: str = "", folders: bool = True) -> list[Member]:
    """The members of an archive of ``root``, each name behind ``prefix``, in reverse order (as no tool sorts).

    ``folders`` False leaves out the folder members: the folders are then only implied by the files' paths.
    With folders, the prefix's own folders are members too, first: for "./", the "." that
    ``tar -C root -cf - .`` starts with.
    """
    found: list[Member] = []
    for folder, dirs, files in os.walk(str(root)):
        for name in sorted(dirs) + sorted(files):
            path = Path(folder) / name
            arcname = prefix + path.relative_to(root).as_posix()
            st_mode = os.lstat(str(path)).st_mode
            if stat.S_ISDIR(st_mode):
                if folders:
                    found.append((arcname, None, st_mode))
            else:
                found.append((arcname, path.read_bytes(), st_mode))
    if folders and prefix:
        parts = prefix.rstrip("/").split("/")
        found += [("/".join(parts[:depth]), None, stat.S_IFDIR | 0o755) for depth in range(1, len(parts) + 1)]
    return found[::-1]


def tar_member(name: str, data: Optional[bytes], st_mode: int) -> tuple[tarfile.TarInfo, Optional[bytes]]:
    info = tarfile.TarInfo(name)
    info.mode = stat.S_IMODE(st_mode)
    # What a developer's tar records, and a release ignores: times, owners.
    info.mtime, info.uid, info.gid, info.uname, info.gname = 1700000000, 1000, 1000, "dev", "dev"
    if data is None:
        info.type = tarfile.DIRTYPE
    else:
        info.size = len(data)
    return info, data


def write_tar(path: Path, kind: str, infos: list[tuple[tarfile.TarInfo, Optional[bytes]]]) -> bytes:
    with tarfile.open(str(path), mode=TAR_MODES[kind], format=tarfile.GNU_FORMAT) as tar:
        for info, data in infos:
            tar.addfile(info, None if data is None else io.BytesIO(data))
    return path.read_bytes()


def zip_member(name: str, data: Optional[bytes], st_mode: int) -> tuple[zipfile.ZipInfo, bytes]:
    """A zip member with the Unix mode ``st_mode``; 0 gives none, as a zip made on Windows has (MS-DOS bits only)."""
    info = zipfile.ZipInfo(name + "/" if data is None and not name.endswith("/") else name,
                           date_time=time.localtime(1700000000)[:6])
    info.external_attr = (st_mode & 0xFFFF) << 16 | (0x10 if data is None else 0x20)
    if not st_mode:
        info.create_system = 0
    info.compress_type = zipfile.ZIP_DEFLATED
    return info, b"" if data is None else data


def write_zip(path: Path, infos: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    with zipfile.ZipFile(str(path), "w") as archive:
        for info, data in infos:
            archive.writestr(info, data)
    return path.read_bytes()


def write_archive(path: Path, kind: str, found: list[Member]) -> bytes:
    """The archive ``path`` of kind tar, tar.gz, tar.bz2, tar.xz or zip holding ``found``; its bytes."""
    if kind == "zip":
        return write_zip(path, [zip_member(*member) for member in found])
    return write_tar(path, kind, [tar_member(*member) for member in found])


def refusal(data: bytes, subdir: str = "") -> str:
    with pytest.raises(ReleaseError) as info:
        archive_tree(data, subdir)
    return str(info.value)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("prefix", "folders"), [("", True), ("", False), ("./", True), ("./", False)],
                         ids=["folders", "files only", "./ folders", "./ files only"])
def test_an_archive_gives_the_bytes_and_id_of_its_folder(tmp_path: Path, kind: str, prefix: str,
                                                         folders: bool) -> None:
    root = make_tree(tmp_path / "src")
    data = write_archive(tmp_path / ("app." + kind), kind, listing(root, prefix, folders))
    archive = archive_tree(data)
    assert archive == tree_archive(str(root))
    assert release_id(archive) == release_id(tree_archive(str(root)))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("prefix", "subdir"), [
    ("myapp-1.0/", "myapp-1.0"),        # a source distribution's top folder
    ("./myapp-1.0/", "myapp-1.0"),
    ("shop-main/src/", "shop-main/src"),  # a folder deeper down
])
@pytest.mark.parametrize("folders", [True, False], ids=["folders", "files only"])
def test_a_top_folder_read_through_subdir_gives_the_id_of_the_folder(
        tmp_path: Path, kind: str, prefix: str, subdir: str, folders: bool) -> None:
    root = make_tree(tmp_path / "src")
    data = write_archive(tmp_path / ("app." + kind), kind, listing(root, prefix, folders))
    assert release_id(archive_tree(data, subdir)) == release_id(tree_archive(str(root)))
    assert archive_tree(data, subdir) == tree_archive(str(root))


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_an_empty_folder_member_is_kept_as_in_the_folder(tmp_path: Path, kind: str) -> None:
    root = make_tree(tmp_path / "src")
    (root / "app" / "empty").mkdir()
    data = write_archive(tmp_path / ("app." + kind), kind, listing(root))
    assert "app/empty" in names(archive_tree(data))
    assert archive_tree(data) == tree_archive(str(root))


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_members_outside_subdir_are_ignored(tmp_path: Path, kind: str) -> None:
    root = make_tree(tmp_path / "src")
    found = listing(root, "myapp-1.0/")
    found += [
        ("README.top", b"beside the top folder\n", stat.S_IFREG | 0o644),
        ("myapp-1.0x/evil.py", b"a folder whose name starts like subdir\n", stat.S_IFREG | 0o644),
        ("myapp-1.0.egg-info/PKG-INFO", b"Name: myapp\n", stat.S_IFREG | 0o644),
    ]
    data = write_archive(tmp_path / ("app." + kind), kind, found)
    assert archive_tree(data, "myapp-1.0") == tree_archive(str(root))
    assert "README.top" in names(archive_tree(data))  # without subdir the whole archive is the tree


def test_a_link_outside_subdir_is_ignored_but_refused_without_subdir(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "src")
    infos = [tar_member(*member) for member in listing(root, "top/")]
    infos.append(special("other/passwd", tarfile.SYMTYPE, "/etc/passwd"))
    data = write_tar(tmp_path / "app.tar.gz", "tar.gz", infos)
    assert archive_tree(data, "top") == tree_archive(str(root))
    assert refusal(data) == "archive member 'other/passwd' is neither a folder nor a regular file"


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_bytecode_and_vcs_members_are_left_out(tmp_path: Path, kind: str) -> None:
    root = make_tree(tmp_path / "src")
    found = listing(root)
    for relative in ("app/__pycache__/wsgi.cpython-311.pyc", ".git/config", ".hg/store", ".svn/entries",
                     "app/views/.git/HEAD", "app/old.pyc", "app/old.pyo", "app/views/__pycache__/x.py", ".git"):
        found.append((relative, b"skipped\n", stat.S_IFREG | 0o644))
    found += [("app/__pycache__", None, stat.S_IFDIR | 0o755), (".svn", None, stat.S_IFDIR | 0o755)]
    data = write_archive(tmp_path / ("app." + kind), kind, found)
    archive = archive_tree(data)
    assert archive == tree_archive(str(root))
    assert not [n for n in names(archive) if "pycache" in n or ".git" in n or ".svn" in n or ".hg" in n
                or n.endswith((".pyc", ".pyo"))]


def test_names_that_only_look_skipped_are_kept_in_an_archive(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "src")
    found = listing(root) + [(name, b"kept\n", stat.S_IFREG | 0o644)
                             for name in (".gitignore", "app/pyc.py", "app/git/x.py", "app/x.pyc.txt")]
    kept = names(archive_tree(write_archive(tmp_path / "app.tar.gz", "tar.gz", found)))
    for name in (".gitignore", "app/pyc.py", "app/git", "app/git/x.py", "app/x.pyc.txt"):
        assert name in kept


# Members that are no folder nor regular file: links, devices, a FIFO.
SPECIAL_MEMBERS = pytest.mark.parametrize(("kind", "linkname"), [
    (tarfile.SYMTYPE, "/etc/passwd"),
    (tarfile.SYMTYPE, "wsgi.py"),
    (tarfile.LNKTYPE, "wsgi.py"),
    (tarfile.CHRTYPE, ""),
    (tarfile.BLKTYPE, ""),
    (tarfile.FIFOTYPE, ""),
], ids=["symlink out", "symlink in", "hard link", "char device", "block device", "fifo"])


@SPECIAL_MEMBERS
@pytest.mark.parametrize("compression", ["tar", "tar.gz", "tar.xz"])
def test_a_tar_with_a_link_or_special_member_is_refused(tmp_path: Path, kind: bytes, linkname: str,
                                                        compression: str) -> None:
    data = write_tar(tmp_path / ("app." + compression), compression,
                     [regular("wsgi.py"), special("app/odd", kind, linkname)])
    assert refusal(data) == "archive member 'app/odd' is neither a folder nor a regular file"


@pytest.mark.parametrize("file_type", [stat.S_IFLNK, stat.S_IFCHR, stat.S_IFIFO], ids=["symlink", "char", "fifo"])
def test_a_zip_with_a_link_or_special_member_is_refused(tmp_path: Path, file_type: int) -> None:
    data = write_zip(tmp_path / "app.zip", [zip_member("wsgi.py", b"x\n", stat.S_IFREG | 0o644),
                                            zip_member("app/odd", b"/etc/passwd", file_type | 0o777)])
    assert refusal(data) == "archive member 'app/odd' is neither a folder nor a regular file"


@pytest.mark.parametrize(("name", "shown"), [
    ("/etc/cron.d/evil", "/etc/cron.d/evil"),
    ("..", ".."),
    ("../evil", "../evil"),
    ("./../evil", "../evil"),
    ("app/../../evil", "app/../../evil"),
    ("a/../wsgi.py", "a/../wsgi.py"),  # back inside, still no plain path
    ("app/./x.py", "app/./x.py"),
    ("app//x.py", "app//x.py"),
])
@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_a_member_outside_the_tree_is_refused(tmp_path: Path, name: str, shown: str, kind: str) -> None:
    data = write_archive(tmp_path / ("app." + kind), kind, [("wsgi.py", b"x\n", stat.S_IFREG | 0o644),
                                                            (name, b"evil\n", stat.S_IFREG | 0o644)])
    assert refusal(data) == "archive member %r is no plain path inside the tree" % shown


def good_tar_gz(tmp_path: Path) -> bytes:
    return write_archive(tmp_path / "good.tar.gz", "tar.gz", listing(make_tree(tmp_path / "src")))


def flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


@pytest.mark.parametrize("damage", [
    "garbage", "empty", "gzip of garbage", "truncated tar.gz", "truncated tar.bz2", "truncated zip",
    "zip with a bad crc",
])
def test_a_corrupt_archive_is_refused(tmp_path: Path, damage: str) -> None:
    root = make_tree(tmp_path / "src")
    tar_gz = write_archive(tmp_path / "app.tar.gz", "tar.gz", listing(root))
    tar_bz2 = write_archive(tmp_path / "app.tar.bz2", "tar.bz2", listing(root))
    stored = [zip_member("wsgi.py", APP.encode(), stat.S_IFREG | 0o644)]
    stored[0][0].compress_type = zipfile.ZIP_STORED
    a_zip = write_zip(tmp_path / "app.zip", stored)
    data = {
        "garbage": b"this is no archive\n" * 50,
        "empty": b"",
        "gzip of garbage": gzip.compress(b"this is no tar\n" * 50),
        "truncated tar.gz": tar_gz[:len(tar_gz) // 2],
        "truncated tar.bz2": tar_bz2[:len(tar_bz2) // 2],
        "truncated zip": a_zip[:len(a_zip) // 2],
        "zip with a bad crc": flipped(a_zip, a_zip.index(b"def application")),
    }[damage]
    assert refusal(data).startswith("the archive cannot be read (a tar, tar.gz, tar.bz2, tar.xz or zip file): ")


@pytest.mark.parametrize(("found", "subdir", "message"), [
    ([("top/wsgi.py", b"x\n", stat.S_IFREG | 0o644)], "other", "the archive holds no files under other/"),
    # subdir must name a folder: a file of that name holds nothing.
    ([("top/wsgi.py", b"x\n", stat.S_IFREG | 0o644)], "top/wsgi.py", "the archive holds no files under top/wsgi.py/"),
    ([("topx/wsgi.py", b"x\n", stat.S_IFREG | 0o644)], "top", "the archive holds no files under top/"),
    ([("top", None, stat.S_IFDIR | 0o755)], "top", "the archive holds no files under top/"),
    ([("__pycache__/x.pyc", b"x", stat.S_IFREG | 0o644), (".git/HEAD", b"x", stat.S_IFREG | 0o644)], "",
     "the archive holds no files"),
], ids=["another folder", "a file", "a longer name", "an empty top folder", "skipped only"])
@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_an_archive_with_nothing_under_subdir_is_refused(tmp_path: Path, found: list[Member], subdir: str,
                                                         message: str, kind: str) -> None:
    assert refusal(write_archive(tmp_path / ("app." + kind), kind, found), subdir) == message


@pytest.mark.parametrize("kind", ["tar", "tar.gz", "tar.bz2", "tar.xz"])
def test_an_empty_tar_is_refused(tmp_path: Path, kind: str) -> None:
    assert refusal(write_archive(tmp_path / ("app." + kind), kind, [])) == "the archive holds no files"


@pytest.mark.parametrize(("st_mode", "mode"), [
    (stat.S_IFREG | 0o755, 0o755),
    (stat.S_IFREG | 0o744, 0o755),  # any executable bit
    (stat.S_IFREG | 0o700, 0o755),
    (stat.S_IFREG | 0o610, 0o755),
    (stat.S_IFREG | 0o601, 0o755),
    (stat.S_IFREG | 0o644, 0o644),
    (stat.S_IFREG | 0o600, 0o644),
    (stat.S_IFREG | 0o666, 0o644),
    (0, 0o644),                     # a zip made elsewhere than on Unix: no mode at all
])
def test_a_zip_member_keeps_its_executable_bit_only(tmp_path: Path, st_mode: int, mode: int) -> None:
    infos = [zip_member("wsgi.py", b"x\n", stat.S_IFREG | 0o644), zip_member("bin/run", b"#!/bin/sh\n", st_mode)]
    found = {m.name: m for m in members(archive_tree(write_zip(tmp_path / "app.zip", infos)))}
    assert (found["bin/run"].type, found["bin/run"].mode) == (tarfile.REGTYPE, mode)
    assert (found["bin"].type, found["bin"].mode) == (tarfile.DIRTYPE, 0o755)
    assert found["wsgi.py"].mode == 0o644


def test_an_archive_then_unpacked_gives_back_the_files(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "src")
    data = write_archive(tmp_path / "app.zip", "zip", listing(root, "myapp-1.0/", folders=False))
    dest = tmp_path / "release"
    unpack(archive_tree(data, "myapp-1.0"), str(dest), "app/wsgi.py")
    for relative, (content, executable) in TREE.items():
        assert (dest / relative).read_text() == content
        assert mode_of(dest / relative) == (0o755 if executable else 0o644)


# archive_tree: found while writing these tests

def test_a_zip_member_without_a_file_type_in_its_mode_is_a_file(tmp_path: Path) -> None:
    """Python's own ZipFile.writestr(name, data) stores the mode 0o600 without S_IFREG; so do other tools."""
    path = tmp_path / "app.zip"
    with zipfile.ZipFile(str(path), "w") as archive:
        archive.writestr("app/wsgi.py", APP)
    assert names(archive_tree(path.read_bytes())) == ["app", "app/wsgi.py"]


@pytest.mark.parametrize("damage", ["corrupt tar.xz", "encrypted zip", "zip compression 99"])
def test_an_unreadable_archive_of_any_kind_is_refused(tmp_path: Path, damage: str) -> None:
    root = make_tree(tmp_path / "src")
    if damage == "corrupt tar.xz":
        # Big enough that the first member reads well and the damage is met while reading the data.
        (root / "big.txt").write_bytes(b"".join(b"line %d\n" % i for i in range(20000)))
        tar_xz = write_archive(tmp_path / "app.tar.xz", "tar.xz", listing(root))
        data = tar_xz[:len(tar_xz) // 2] + bytes(b ^ 0xFF for b in tar_xz[len(tar_xz) // 2:len(tar_xz) // 2 + 8]) \
            + tar_xz[len(tar_xz) // 2 + 8:]
    else:
        a_zip = bytearray(write_archive(tmp_path / "app.zip", "zip", [("wsgi.py", b"x\n", stat.S_IFREG | 0o644)]))
        # The general purpose flags (bit 0: encrypted) or the compression method, in both headers.
        local, central = (6, 8) if damage == "encrypted zip" else (8, 10)
        value = 1 if damage == "encrypted zip" else 99
        a_zip[local:local + 2] = value.to_bytes(2, "little")
        start = a_zip.index(b"PK\x01\x02")
        a_zip[start + central:start + central + 2] = value.to_bytes(2, "little")
        data = bytes(a_zip)
    assert refusal(data).startswith("the archive cannot be read")


def test_what_archive_tree_accepts_unpacks_even_with_a_path_that_is_a_file_and_a_folder(tmp_path: Path) -> None:
    """A tar may hold app as a file and app/wsgi.py too: archive_tree must refuse it or give an archive that
    unpacks."""
    data = write_tar(tmp_path / "app.tar", "tar", [regular("app", b"a file\n"), regular("app/wsgi.py", b"x\n")])
    try:
        archive = archive_tree(data)
    except ReleaseError:
        return
    unpack(archive, str(tmp_path / "release"), "app/wsgi.py")


# unpack and check_members

def test_unpack_gives_back_the_tree_with_modes_by_executable_bit(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "src")
    os.chmod(str(root / "README"), 0o600)
    os.chmod(str(root / "manage.py"), 0o700)
    (root / "app" / "empty").mkdir()
    dest = tmp_path / "release"
    assert unpack(tree_archive(str(root)), str(dest), "app/wsgi.py") is None
    unpacked = sorted(str(p.relative_to(dest)) for p in dest.rglob("*"))
    assert unpacked == ["README", "app", "app/__init__.py", "app/empty", "app/views", "app/views/index.py",
                        "app/wsgi.py", "docs", "docs/index.txt", "manage.py"]
    for relative, (content, _executable) in TREE.items():
        assert (dest / relative).read_text() == content
    assert {relative: mode_of(dest / relative) for relative in unpacked} == {
        "README": 0o644, "app": 0o755, "app/__init__.py": 0o644, "app/empty": 0o755, "app/views": 0o755,
        "app/views/index.py": 0o644, "app/wsgi.py": 0o644, "docs": 0o755, "docs/index.txt": 0o644,
        "manage.py": 0o755,
    }


def test_unpack_modes_inside_the_release_ignore_a_restrictive_umask(tmp_path: Path, restrictive_umask: None) -> None:
    dest = tmp_path / "release"
    unpack(tree_archive(str(make_tree(tmp_path / "src"))), str(dest), "app/wsgi.py")
    assert [mode_of(dest / r) for r in ("app", "app/views", "app/wsgi.py", "manage.py", "README")] == \
        [0o755, 0o755, 0o644, 0o755, 0o644]


def test_unpack_release_folder_itself_is_0755_under_a_restrictive_umask(
        tmp_path: Path, restrictive_umask: None) -> None:
    # The daemons run unprivileged: a 0700 release folder would hide the whole tree from them.
    dest = tmp_path / "release"
    unpack(tree_archive(str(make_tree(tmp_path / "src"))), str(dest), "app/wsgi.py")
    assert mode_of(dest) == 0o755


def test_unpack_makes_missing_parent_folders_of_a_file_0755(tmp_path: Path, restrictive_umask: None) -> None:
    dest = tmp_path / "release"
    unpack(hand_made(regular("pkg/sub/wsgi.py", b"x\n", 0o600)), str(dest), "pkg/sub/wsgi.py")
    assert (dest / "pkg" / "sub" / "wsgi.py").read_bytes() == b"x\n"
    assert [mode_of(dest / "pkg"), mode_of(dest / "pkg" / "sub"), mode_of(dest / "pkg" / "sub" / "wsgi.py")] == \
        [0o755, 0o755, 0o644]


def test_unpack_makes_a_file_with_any_executable_bit_0755(tmp_path: Path) -> None:
    dest = tmp_path / "release"
    unpack(hand_made(regular("wsgi.py", b"x", 0o644), regular("run", b"y", 0o610)), str(dest), "wsgi.py")
    assert (mode_of(dest / "wsgi.py"), mode_of(dest / "run")) == (0o644, 0o755)


def test_unpack_refuses_a_tree_without_the_wsgi_file_and_names_it(tmp_path: Path) -> None:
    archive = tree_archive(str(make_tree(tmp_path / "src")))
    with pytest.raises(ReleaseError) as info:
        unpack(archive, str(tmp_path / "release"), "app/missing.py")
    assert str(info.value) == "the release holds no file app/missing.py (field 'code.wsgi_file')"


def test_unpack_refuses_a_wsgi_file_that_is_a_folder(tmp_path: Path) -> None:
    archive = tree_archive(str(make_tree(tmp_path / "src")))
    with pytest.raises(ReleaseError, match=r"^the release holds no file app/views "):
        unpack(archive, str(tmp_path / "release"), "app/views")


def test_unpack_wants_a_new_folder(tmp_path: Path) -> None:
    dest = tmp_path / "release"
    dest.mkdir()
    with pytest.raises(OSError):
        unpack(tree_archive(str(make_tree(tmp_path / "src"))), str(dest), "app/wsgi.py")


@pytest.mark.parametrize("name", ["/etc/cron.d/evil", "..", "../evil", "app/../../evil", "./../evil"])
def test_unpack_refuses_a_member_outside_the_release(tmp_path: Path, name: str) -> None:
    archive = hand_made(regular("wsgi.py"), regular(name))
    with pytest.raises(ReleaseError) as info:
        unpack(archive, str(tmp_path / "out" / "release"), "wsgi.py")
    assert str(info.value) == "archive member %r is no plain path inside the release" % name
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "evil").exists()


def test_a_member_with_dotdot_that_stays_inside_is_refused_too(tmp_path: Path) -> None:
    """tree_archive writes plain paths only: anything else is refused, not resolved."""
    dest = tmp_path / "release"
    with pytest.raises(ReleaseError, match="no plain path inside the release"):
        unpack(hand_made(regular("a/../wsgi.py", b"in\n")), str(dest), "wsgi.py")
    assert not dest.exists()


@SPECIAL_MEMBERS
def test_unpack_refuses_links_and_special_members(tmp_path: Path, kind: bytes, linkname: str) -> None:
    archive = hand_made(regular("wsgi.py"), special("app/odd", kind, linkname))
    with pytest.raises(ReleaseError) as info:
        unpack(archive, str(tmp_path / "release"), "wsgi.py")
    assert str(info.value) == "archive member 'app/odd' is neither a folder nor a regular file"
    assert not (tmp_path / "release").exists()


def test_check_members_returns_the_members_of_a_good_archive(tmp_path: Path) -> None:
    archive = tree_archive(str(make_tree(tmp_path / "src")))
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        assert [m.name for m in check_members(tar)] == names(archive)


def test_a_plain_tar_or_garbage_is_refused_before_unpacking(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info, data = regular("wsgi.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    for archive in (raw.getvalue(), b"garbage", gzip.compress(b"garbage")):
        with pytest.raises(Exception):
            unpack(archive, str(tmp_path / "release"), "wsgi.py")
        assert not (tmp_path / "release").exists()


def test_round_trip_of_a_copy_unpacked_and_packed_again_keeps_the_id(tmp_path: Path) -> None:
    archive = tree_archive(str(make_tree(tmp_path / "src")))
    unpack(archive, str(tmp_path / "release"), "app/wsgi.py")
    shutil.copytree(str(tmp_path / "release"), str(tmp_path / "again"))
    assert release_id(tree_archive(str(tmp_path / "again"))) == release_id(archive)


# history

def test_history_of_nothing_is_empty() -> None:
    assert history(None) == []
    assert history("") == []
    assert history("\n  \n") == []


def test_history_keeps_the_order_oldest_first_and_ignores_blanks() -> None:
    assert history("aaa\n\n bbb \nccc") == ["aaa", "bbb", "ccc"]


def test_history_lists_each_id_once_where_it_last_went_live() -> None:
    assert history("a\nb\nc\na\nb\n") == ["c", "a", "b"]
    assert history("a\na\na\n") == ["a"]


# to_remove

def test_to_remove_keeps_the_last_that_went_live() -> None:
    assert to_remove(["a", "b", "c", "d"], ["a", "b", "c", "d"], "d", 2) == ["a", "b"]


def test_to_remove_goes_by_when_they_went_live_not_by_name() -> None:
    assert to_remove(["a", "b", "c", "d"], ["d", "c", "b", "a"], "a", 2) == ["c", "d"]


def test_to_remove_takes_releases_that_never_went_live_first() -> None:
    assert to_remove(["a", "b", "n"], ["a", "b"], "b", 2) == ["n"]
    assert to_remove(["a", "b", "m", "n"], ["a", "b"], "b", 3) == ["m"]


def test_to_remove_never_removes_the_current_one() -> None:
    assert to_remove(["a", "b", "c"], ["c", "a", "b"], "c", 1) == ["a"]
    assert to_remove(["a", "b"], ["a", "b"], "a", 1) == []


def test_to_remove_ignores_history_entries_no_longer_present() -> None:
    assert to_remove(["b", "c"], ["a", "b", "c"], "c", 2) == []


def test_to_remove_keeps_all_when_there_are_no_more_than_keep() -> None:
    assert to_remove(["a", "b", "c"], ["a", "b", "c"], "c", 3) == []
    assert to_remove([], [], None, 3) == []


def test_to_remove_without_current_keeps_the_last_ones() -> None:
    assert to_remove(["a", "b", "c"], ["a", "b", "c"], None, 1) == ["a", "b"]


def test_to_remove_is_sorted() -> None:
    assert to_remove(["z", "y", "x", "w"], ["z", "y", "x", "w"], "w", 1) == ["x", "y", "z"]


# previous

def test_previous_is_the_one_live_before_the_current_one() -> None:
    assert previous(["a", "b", "c"], "c", ["a", "b", "c"]) == "b"


def test_previous_skips_releases_no_longer_on_the_host() -> None:
    assert previous(["a", "b", "c"], "c", ["a", "c"]) == "a"


def test_previous_after_a_rollback_is_the_one_rolled_back_from() -> None:
    went_live = history("a\nb\nc\nb\n")
    assert went_live == ["a", "c", "b"]
    assert previous(went_live, "b", ["a", "b", "c"]) == "c"


def test_previous_without_an_earlier_release_is_none() -> None:
    assert previous([], None, []) is None
    assert previous(["a"], "a", ["a"]) is None
    assert previous(["a", "b"], "b", ["b"]) is None

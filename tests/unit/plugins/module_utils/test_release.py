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
from pathlib import Path
from typing import Optional

import pytest

from ansible_collections.modwsgi.fleet.plugins.module_utils._release import (
    ReleaseError,
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


@pytest.mark.parametrize(("kind", "linkname"), [
    (tarfile.SYMTYPE, "/etc/passwd"),
    (tarfile.SYMTYPE, "wsgi.py"),
    (tarfile.LNKTYPE, "wsgi.py"),
    (tarfile.CHRTYPE, ""),
    (tarfile.BLKTYPE, ""),
    (tarfile.FIFOTYPE, ""),
], ids=["symlink out", "symlink in", "hard link", "char device", "block device", "fifo"])
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

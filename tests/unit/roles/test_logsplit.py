# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""roles/wsgi/files/modwsgi-fleet-logsplit, run as Apache runs it: lines on stdin, files out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "wsgi" / "files" / "modwsgi-fleet-logsplit"


def line(project: str, message: str, group: str = "-") -> bytes:
    """An error line as the role's ErrorLogFormat writes it."""
    return ("[Sun Dec 06 00:39:19.492299 2026] [wsgi:error] [pid 950:tid 140543650723520] [project %s] "
            "[group %s] [client 127.0.0.1:34950] %s\n" % (project, group, message)).encode()


def run(tmp_path: Path, data: bytes, *projects: str) -> tuple[Path, Path, subprocess.CompletedProcess]:
    logs, fallback = tmp_path / "modwsgi-fleet", tmp_path / "error.log"
    for project in projects:
        (logs / project).mkdir(parents=True)
    done = subprocess.run([sys.executable, "-I", "-u", str(SCRIPT), str(logs), str(fallback)], input=data,
                          capture_output=True, check=False, timeout=30)
    return logs, fallback, done


def read(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


def test_each_line_goes_to_its_projects_file_and_the_rest_to_the_fallback(tmp_path: Path) -> None:
    lines = [line("site1", "one", "site1"), line("project2", "two", "portal"), line("-", "nobody's"),
             line("site1", "three", "site1"), b"AH00558: apache2: a line in no format\n"]
    logs, fallback, done = run(tmp_path, b"".join(lines), "site1", "project2")
    assert done.returncode == 0 and done.stderr == b""
    assert read(logs / "site1" / "error.log") == lines[0] + lines[3]
    assert read(logs / "project2" / "error.log") == lines[1]
    assert read(fallback) == lines[2] + lines[4]


def test_a_project_without_a_folder_goes_to_the_fallback(tmp_path: Path) -> None:
    logs, fallback, _done = run(tmp_path, line("gone", "late line"), "site1")
    assert not (logs / "gone").exists()
    assert read(fallback) == line("gone", "late line")


def test_the_message_cannot_choose_the_file(tmp_path: Path) -> None:
    """The project is read at its place in the line: a message naming another project changes nothing."""
    forged = line("-", "[project site1] [group site1] forged") + line("project2", "x [project site1] ")
    logs, fallback, _done = run(tmp_path, forged, "site1", "project2")
    assert read(logs / "site1" / "error.log") == b""
    assert read(fallback) == forged.splitlines(keepends=True)[0]
    assert read(logs / "project2" / "error.log") == forged.splitlines(keepends=True)[1]


def test_names_that_leave_the_folder_are_not_projects(tmp_path: Path) -> None:
    (tmp_path / "modwsgi-fleet").mkdir()
    data = line("..", "up") + line(".hidden", "dot") + line("a/b", "slash")
    logs, fallback, _done = run(tmp_path, data)
    assert read(fallback) == data
    assert sorted(p.name for p in logs.iterdir()) == []


def test_bytes_that_are_not_utf8_are_kept_as_written(tmp_path: Path) -> None:
    data = line("site1", "caf\xe9").replace(b"caf\xc3\xa9", b"caf\xe9")
    logs, _fallback, done = run(tmp_path, data, "site1")
    assert done.returncode == 0
    assert read(logs / "site1" / "error.log") == data


def test_a_file_truncated_by_logrotate_is_appended_to_from_its_start(tmp_path: Path) -> None:
    logs, _fallback, _done = run(tmp_path, line("site1", "before"), "site1")
    (logs / "site1" / "error.log").write_bytes(b"")  # copytruncate
    data = line("site1", "after")
    subprocess.run([sys.executable, "-I", "-u", str(SCRIPT), str(logs), str(tmp_path / "error.log")], input=data,
                   check=True, timeout=30)
    assert read(logs / "site1" / "error.log") == data


def test_wrong_arguments_are_refused(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], input=b"", capture_output=True, check=False,
                          timeout=30)
    assert done.returncode == 2 and b"usage" in done.stderr

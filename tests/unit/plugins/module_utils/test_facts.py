# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the host facts the plan takes (plugins/module_utils/_facts.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.modwsgi.fleet.plugins.module_utils._facts import (
    host_facts,
    linked_python,
    package_version,
    read_linked_python,
)
from ansible_collections.modwsgi.fleet.plugins.module_utils._sizing import Host, SizingError

# The start of an ELF shared object and a dynamic string table, as in a real mod_wsgi.so.
ELF_HEAD = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x03\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 40
DYNSTR = (b"\x00__gmon_start__\x00_ITM_registerTMCloneTable\x00PyEval_SaveThread\x00Py_Initialize\x00"
          b"libpython3.11.so.1.0\x00libc.so.6\x00GLIBC_2.34\x00wsgi_module\x00")
MOD_WSGI_SO = ELF_HEAD + b"\x00" * 200 + DYNSTR + b"\x00" * 64 + b"mod_wsgi/4.9.4 Python/3.11\x00"

FACT_KEYS = {"cpus", "memory_mb", "cpus_from", "memory_from", "mod_wsgi_installed", "mod_wsgi_version", "mod_wsgi_python",
             "instances"}


def test_linked_python_reads_the_libpython_a_module_links() -> None:
    assert linked_python(MOD_WSGI_SO) == "3.11"


@pytest.mark.parametrize(
    ("blob", "python"),
    [
        (b"\x7fELF\x00libpython3.9.so.1.0\x00", "3.9"),
        (b"\x00libpython3.12d.so.1.0\x00", "3.12"),
        (b"\x00libpython2.7.so.1.0\x00", "2.7"),
        (b"\x00libpython3.13t.so\x00", "3.13"),
    ],
)
def test_linked_python_takes_major_and_minor(blob: bytes, python: str) -> None:
    assert linked_python(blob) == python


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        ELF_HEAD + b"\x00libc.so.6\x00libm.so.6\x00Py_Initialize\x00",
        b"\x00libpython.so\x00libpython3\x00libpython.3.11\x00",
        b"\x00LIBPYTHON3.11.so\x00",  # the soname is lower case; anything else is not it
    ],
)
def test_linked_python_is_empty_without_a_libpython(blob: bytes) -> None:
    assert linked_python(blob) == ""


def test_linked_python_takes_the_first_of_two_versions() -> None:
    blob = ELF_HEAD + b"\x00libpython3.11.so.1.0\x00" + b"\x00" * 32 + b"\x00libpython3.9.so.1.0\x00"
    assert linked_python(blob) == "3.11"
    swapped = ELF_HEAD + b"\x00libpython3.9.so.1.0\x00" + b"\x00" * 32 + b"\x00libpython3.11.so.1.0\x00"
    assert linked_python(swapped) == "3.9"


def test_read_linked_python_reads_a_file(tmp_path: Path) -> None:
    module = tmp_path / "mod_wsgi.so"
    module.write_bytes(MOD_WSGI_SO)
    assert read_linked_python(str(module)) == "3.11"
    other = tmp_path / "mod_wsgi_python3.so"
    other.write_bytes(ELF_HEAD + b"\x00libpython3.9.so.1.0\x00")
    assert read_linked_python(str(other)) == "3.9"


def test_read_linked_python_of_a_file_without_libpython_is_empty(tmp_path: Path) -> None:
    module = tmp_path / "mod_wsgi.so"
    module.write_bytes(ELF_HEAD + b"\x00libc.so.6\x00")
    assert read_linked_python(str(module)) == ""


def test_read_linked_python_of_a_missing_or_unreadable_path_is_empty(tmp_path: Path) -> None:
    assert read_linked_python(str(tmp_path / "absent" / "mod_wsgi.so")) == ""
    assert read_linked_python(str(tmp_path)) == ""  # a directory cannot be read as a file


@pytest.mark.parametrize(
    ("rc", "stdout", "version"),
    [
        (0, "4.9.4-1+b2\n", "4.9.4-1+b2"),
        (0, "4.9.4-1+b2", "4.9.4-1+b2"),
        (0, "  5.0.2-1\n", "5.0.2-1"),
        (0, "4.7.1", "4.7.1"),
        (1, "4.9.4-1+b2\n", ""),
        (1, "", ""),
        (1, "dpkg-query: no packages found matching libapache2-mod-wsgi-py3\n", ""),
        (1, "package python3-mod_wsgi is not installed\n", ""),
        (0, "", ""),
        (0, "\n", ""),
        (0, "not installed", ""),
        (0, "4.9.4 extra words", ""),
        (0, "4.9.4\n4.9.5\n", ""),
        (0, "v4.9.4", ""),
    ],
)
def test_package_version(rc: int, stdout: str, version: str) -> None:
    assert package_version(rc, stdout) == version


def test_host_facts_with_a_fake_gather(tmp_path: Path) -> None:
    module = tmp_path / "mod_wsgi.so"
    module.write_bytes(MOD_WSGI_SO)
    calls: list[bool] = []

    def gather() -> Host:
        calls.append(True)
        return Host(cpus=3, memory_mb=2900, source="gathered", cpus_from="cgroup v2 cpu.max",
                    memory_from="cgroup v2 memory.max")

    facts = host_facts(str(module), "4.9.4-1+b2", gather=gather)
    assert calls == [True]
    assert facts == {
        "cpus": 3,
        "memory_mb": 2900,
        "cpus_from": "cgroup v2 cpu.max",
        "memory_from": "cgroup v2 memory.max",
        "mod_wsgi_installed": True,
        "mod_wsgi_version": "4.9.4-1+b2",
        "mod_wsgi_python": "3.11",
        "instances": None,
    }


def test_host_facts_with_a_given_host_does_not_gather(tmp_path: Path) -> None:
    module = tmp_path / "mod_wsgi.so"
    module.write_bytes(ELF_HEAD + b"\x00libpython3.12.so.1.0\x00")

    def gather() -> Host:
        raise AssertionError("a given host must not be gathered")

    facts = host_facts(str(module), "5.0.2-1", Host(cpus=8, memory_mb=16384), gather=gather)
    assert facts == {
        "cpus": 8,
        "memory_mb": 16384,
        "cpus_from": "given",
        "memory_from": "given",
        "mod_wsgi_installed": True,
        "mod_wsgi_version": "5.0.2-1",
        "mod_wsgi_python": "3.12",
        "instances": None,
    }


def test_host_facts_before_mod_wsgi_is_installed(tmp_path: Path) -> None:
    """Not installed: no version and no Python, even if a stale module file is still there."""
    module = tmp_path / "mod_wsgi.so"
    module.write_bytes(MOD_WSGI_SO)
    facts = host_facts(str(module), "", Host(cpus=2, memory_mb=4096))
    assert facts["mod_wsgi_installed"] is False
    assert facts["mod_wsgi_version"] == ""
    assert facts["mod_wsgi_python"] == ""
    assert (facts["cpus"], facts["memory_mb"]) == (2, 4096)
    assert set(facts) == FACT_KEYS


def test_host_facts_installed_without_a_readable_module_has_no_python(tmp_path: Path) -> None:
    facts = host_facts(str(tmp_path / "missing.so"), "4.9.4-1", Host(cpus=1, memory_mb=1024))
    assert facts["mod_wsgi_installed"] is True
    assert facts["mod_wsgi_version"] == "4.9.4-1"
    assert facts["mod_wsgi_python"] == ""


def test_host_facts_turns_a_gathering_error_into_value_error(tmp_path: Path) -> None:
    def gather() -> Host:
        raise SizingError("cannot read MemTotal from /proc/meminfo: give 'host' instead")

    with pytest.raises(ValueError) as info:
        host_facts(str(tmp_path / "mod_wsgi.so"), "", gather=gather)
    assert str(info.value) == "cannot read MemTotal from /proc/meminfo: give 'host' instead"

# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module's main() in-process: arguments in, what it passed to exit_json/fail_json out.

The test modules use it with the ``module_exits`` fixture of conftest.py, which
turns exit_json and fail_json into the exceptions below.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator

import pytest
from ansible.module_utils import basic

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core before 2.19
    import contextlib

    @contextlib.contextmanager  # type: ignore[no-redef]
    def patch_module_args(args: dict[str, Any] | None = None) -> Iterator[None]:
        old = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = old


class ExitJson(Exception):
    """exit_json was called."""


class FailJson(Exception):
    """fail_json was called."""


def run_main(main: Callable[[], None], args: dict[str, Any], outcome: type[Exception] = ExitJson) -> dict[str, Any]:
    """Run ``main()`` with ``args``; return what it passed to exit_json or fail_json."""
    with patch_module_args(args), pytest.raises(outcome) as info:
        main()
    return info.value.args[0]

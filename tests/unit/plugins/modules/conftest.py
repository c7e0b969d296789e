# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""exit_json and fail_json raise instead of exiting, and warnings are recorded, for every module test."""

from __future__ import annotations

from typing import Any

import pytest
from ansible.module_utils import basic

from ansible_collections.modwsgi.fleet.tests.unit.plugins.modules.harness import ExitJson, FailJson


@pytest.fixture(autouse=True)
def module_exits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    warnings: list[str] = []

    def exit_json(self: basic.AnsibleModule, **kwargs: Any) -> None:
        raise ExitJson(kwargs)

    def fail_json(self: basic.AnsibleModule, msg: str, **kwargs: Any) -> None:
        raise FailJson(dict(kwargs, msg=msg, failed=True))

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning: warnings.append(warning))
    return warnings

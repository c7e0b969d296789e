# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """What the documentation of every module of the collection repeats."""

    # Every module: modwsgi.fleet.module
    DOCUMENTATION = r"""
author:
  - modwsgi.fleet maintainers (!UNKNOWN)
options: {}
"""

    # The modules that only read the host: modwsgi.fleet.module.reads_only
    READS_ONLY = r"""
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to show.
  idempotent:
    support: full
    description: Reading changes nothing.
options: {}
"""

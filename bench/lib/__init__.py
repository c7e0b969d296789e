# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The parts of bench/bench.py, one concern per module.

Each module imports only the ones listed before it, so data flows one way,
from the machine up to the report (bench/README.md, "Code layout"):

- ``env``: paths (this checkout, Apache, mod_wsgi, wrk, the app), ``log``,
  and the collection's ``_sizing`` and ``_model`` (plugins/module_utils);
- ``model``: load profiles, grids, targets, ``Config`` and ``Row``;
- ``procfs``: reading /proc (CPU ticks, process groups, RSS, PSS);
- ``wrk``: running wrk and parsing its output;
- ``conf``: the httpd.conf of one run, its WSGIDaemonProcess line rendered
  with the role's own template roles/wsgi/templates/wsgi.conf.j2;
- ``httpd``: one Apache instance (start, probe requests, memory, stop);
- ``measure``: one measured run, the calibration, the probe, waiting for a
  quiet machine;
- ``sweep``: one profile: the module's choice, the rules of thumb, the grid
  sweep, busy re-runs, the pairs and the checks;
- ``report``: the machine's description, RESULTS.md and the heatmaps;
- ``front``: bench/front.py's price of the front end: the configurations of a
  run in isolation shared and instance (rendered from the role's
  wsgi.conf.j2, instance.conf.j2 and front.conf.j2), one run of a mode, the
  pairs, their verdict and front-end.md.

bench/bench.py and bench/front.py (the command lines) put bench/ on sys.path
and import them as ``lib.<module>``; so do the unit tests in tests/unit/bench/.
"""

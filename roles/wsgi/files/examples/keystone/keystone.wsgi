"""Keystone's WSGI application (its own module keystone.wsgi.api), configured by keystone.conf beside this file.

Keystone (from PyPI, in the project's venv) reads its configuration files from
OS_KEYSTONE_CONFIG_FILES; mod_wsgi passes no environment of its own to the
application, so this file sets it before keystone is imported.
"""

import os

os.environ.setdefault("OS_KEYSTONE_CONFIG_FILES", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                               "keystone.conf"))

from keystone.wsgi.api import application  # noqa: E402,F401

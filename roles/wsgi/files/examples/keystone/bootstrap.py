"""The `bootstrap` hook: keystone-manage bootstrap with an admin password made once on the host.

The password is never in the inventory, a command line or Ansible's output:
it is made here the first time, into data/admin_password (mode 0600, owned by
keystone; root reads it too), and handed to keystone-manage in the
environment variable it reads (OS_BOOTSTRAP_PASSWORD). Bootstrap is
idempotent: later releases find the admin user, role and endpoint in place.
Usage: python bootstrap.py PUBLIC_URL [REGION]
"""

import os
import secrets
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "/srv/wsgi/keystone/data/admin_password"


def admin_password():
    try:
        handle = os.open(PASSWORD, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with open(PASSWORD) as existing:
            return existing.read().strip()
    password = secrets.token_urlsafe(24)
    with os.fdopen(handle, "w") as out:
        out.write(password + "\n")
    return password


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.rsplit("\n", 2)[-2])
    os.environ["OS_BOOTSTRAP_PASSWORD"] = admin_password()
    region = sys.argv[2] if len(sys.argv) == 3 else "RegionOne"
    os.execvp("keystone-manage", ["keystone-manage", "--config-file", os.path.join(HERE, "keystone.conf"),
                                  "bootstrap", "--bootstrap-public-url", sys.argv[1], "--bootstrap-region-id", region])

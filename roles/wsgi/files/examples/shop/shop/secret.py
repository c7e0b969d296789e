"""Make the shop's secret key once (the `secret` hook): data/secret_key, readable by its account only."""

import os
import secrets
from pathlib import Path

PATH = Path(__file__).resolve().parents[3] / "data" / "secret_key"

if __name__ == "__main__":
    try:
        handle = os.open(str(PATH), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(handle, "w") as out:
            out.write(secrets.token_urlsafe(50) + "\n")

"""Settings of the shop example.

The wsgi role runs the shop from <root>/current, a link to <root>/releases/<id>;
this file is <root>/releases/<id>/shop/settings.py, so the project's folder
<root> is three levels up. What outlives a release lives there: the database
and the secret key in data/ (the project's `data_dirs`, writable by its
account only) and the collected static files in static/ (its `static` folder,
`writable` so that the collectstatic hook fills it, served by Apache).
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "data"

# Made once by the `secret` hook (shop/secret.py), kept across releases.
SECRET_KEY = (DATA / "secret_key").read_text().strip()
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = ["django.contrib.staticfiles", "shop"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DATA / "db.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = ROOT / "static"

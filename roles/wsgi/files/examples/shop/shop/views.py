"""What the shop answers at /: its items (from the database the migrations filled) and how it is served."""

import os
import pwd

from django.http import JsonResponse
from django.templatetags.static import static

import shop
from shop.models import Item


def index(request):
    release = os.path.basename(os.path.dirname(os.path.dirname(os.path.realpath(shop.__file__))))
    return JsonResponse({
        "project": "shop",
        "version": shop.VERSION,
        "release": release,
        "items": list(Item.objects.order_by("name").values_list("name", flat=True)),
        "stylesheet": static("shop/site.css"),
        "pid": os.getpid(),
        "user": pwd.getpwuid(os.geteuid()).pw_name,
        "process_group": request.META.get("mod_wsgi.process_group", ""),
        "multithread": request.META["wsgi.multithread"],
        "multiprocess": request.META["wsgi.multiprocess"],
    })

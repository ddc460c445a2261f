"""In-app notifications, their e-mails and digests; the API is in services.py's docstring."""
from flask import Blueprint

from .services import (  # noqa: F401 (the package's API)
    KINDS,
    Delivery,
    NotificationKind,
    actor_name,
    notify,
    register_kind,
    send_digests,
    unread_count,
)

bp = Blueprint("notifications", __name__, url_prefix="/benachrichtigungen")

from . import kinds, routes  # noqa: E402,F401

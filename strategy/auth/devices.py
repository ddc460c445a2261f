"""The browsers an account uses: readable names for the session list, and the known-device cookie that lets
a browser that logged in to an account before past that account's login lock."""
from __future__ import annotations

import secrets

from flask import Response, current_app, has_request_context, request
from flask_babel import gettext as _
from itsdangerous import BadData, URLSafeTimedSerializer

from ..models import User

_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chromium/", "Chromium"),
             ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("Linux", "Linux"))


def describe_device(user_agent: str) -> str:
    """A readable "Firefox auf Windows" for the session list; the raw string when nothing is recognised."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    if browser and system:
        return _("%(browser)s auf %(system)s", browser=browser, system=system)
    return browser or system or user_agent[:80] or _("unbekanntes Gerät")


# --- known devices (OWASP "Slow Down Online Guessing Attacks with Device Cookies") ---------------

KNOWN_DEVICE_COOKIE = "known_device"
# Over HTTPS: only sent to this host, never set by a subdomain or over plain HTTP.
SECURE_KNOWN_DEVICE_COOKIE = "__Host-known-device"
_SALT = "known-device"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT)


def _cookie_name() -> str:
    return SECURE_KNOWN_DEVICE_COOKIE if current_app.config.get("SESSION_COOKIE_SECURE") else KNOWN_DEVICE_COOKIE


def _max_age() -> int:
    return int(current_app.config["AUTH_KNOWN_DEVICE_MAX_AGE"].total_seconds())


def known_device(user: User | None) -> str | None:
    """This browser's device id if it carries a valid cookie issued to `user` at a login, else None.

    The cookie is signed with SECRET_KEY, so it cannot be forged, and names the account, so one issued to
    another account does not count.
    """
    raw = request.cookies.get(_cookie_name()) if has_request_context() else None
    if user is None or not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=_max_age())
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("account") != user.id or not isinstance(data.get("device"), str):
        return None
    return data["device"]


def remember_device(response: Response, user: User) -> Response:
    """After a complete login: mark this browser as a known device of `user` (keeping its id if it had one)."""
    device = known_device(user) or secrets.token_urlsafe(16)
    response.set_cookie(_cookie_name(), _serializer().dumps({"account": user.id, "device": device}),
                        max_age=_max_age(), path="/", httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response

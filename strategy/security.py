"""What every response carries: security headers, a request id, caching rules; and forms that survive errors.

Registered in create_app(). Nothing here touches the database, so it works on error pages while the
database is down.

Form re-display: a view decorated with @keeps_input gets its form back, with what the user typed, when a
POST to it fails for a reason that is not the user's fault: the CSRF token expired during a long edit, the
disk is full, the database is unreachable for a moment. The view is called again in "re-display" mode, in
which every form's `validate()` (and so `validate_on_submit()`) answers False (`forms.BaseForm` sees to that),
so the view renders its form from the submitted data (with a fresh CSRF token) instead of saving. A view that
opts in must therefore only write after a form validated — which is how every form view here is written anyway.
"""
from __future__ import annotations

import os
import re
from typing import Callable, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, flash, g, make_response, redirect, request, session, url_for
from flask_login import AnonymousUserMixin

from .forms import has_control_characters

F = TypeVar("F", bound=Callable)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=()"
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def register(app: Flask) -> None:
    # No before_request hook: the request id is made on first use (request_id()), at the latest for the
    # X-Request-ID header, so a request that logs nothing pays nothing before its view runs.
    app.after_request(_secure_headers)


# --- request id ---------------------------------------------------------------------------------

def _new_request_id() -> str:
    """Ours unless a trusted proxy in front gave one (REQUEST_ID_HEADER), so logs can be joined up."""
    header = current_app.config.get("REQUEST_ID_HEADER")
    if header:
        given = request.headers.get(header, "")
        if _REQUEST_ID.match(given):
            return given
    return os.urandom(8).hex()  # 16 random hex digits, as uuid4().hex[:16] gave, without building a UUID


def request_id() -> str:
    """This request's id (made on first use, e.g. when routing failed before any before_request ran)."""
    if not request:
        return ""
    if "request_id" not in g:
        g.request_id = _new_request_id()
    return g.request_id


# --- headers --------------------------------------------------------------------------------------

_SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", PERMISSIONS_POLICY),
    ("X-Frame-Options", "DENY"),  # for browsers that predate frame-ancestors
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
_SECURITY_HEADER_NAMES = frozenset(name.lower() for name, _value in _SECURITY_HEADERS) | {"x-request-id"}


def _secure_headers(response: Response) -> Response:
    headers = response.headers
    # Ours win over a view's own value for one of these names; when the view set none (nearly always), the
    # pairs are appended in one go instead of searching the header list for each name.
    if any(name.lower() in _SECURITY_HEADER_NAMES for name, _value in headers):
        for name, value in _SECURITY_HEADERS:
            headers[name] = value
    else:
        headers.extend(_SECURITY_HEADERS)
    headers["X-Request-ID"] = request_id()
    if current_app.config.get("SECURITY_HSTS"):
        headers["Strict-Transport-Security"] = f"max-age={int(current_app.config['SECURITY_HSTS_MAX_AGE'])}"
    if request.endpoint != "static" and (_viewer_is_signed_in() or not _view_is_public()):
        # What a signed-in user sees stays in no cache: not the browser's back button after logout,
        # not a shared proxy.
        response.headers["Cache-Control"] = "no-store, private"
        response.headers.pop("Expires", None)
        response.vary.add("Cookie")
    return response


def _viewer_is_signed_in() -> bool:
    """Without touching the database: a loaded user object, or a login recorded in the session."""
    user = g.get("_login_user")
    if user is not None and not isinstance(user, AnonymousUserMixin):
        return True
    return "_user_id" in session


def _view_is_public() -> bool:
    if request.endpoint is None:  # 404 / 405 from routing: no view, the error page is public
        return True
    view = current_app.view_functions.get(request.endpoint)
    return bool(getattr(view, "is_public", False))


# --- redirects to a target the user gave ---------------------------------------------------------

def safe_target(target: str | None) -> str:
    """`target` if it is a path on this site, else the start page.

    Refused: other hosts (`https://…`, `//host`), backslashes (browsers read `/\\host` as `//host`) and
    control characters (a CR/LF cannot go into a Location header; browsers drop tabs and line breaks from a
    URL, which would turn `/<TAB>/host` into `//host`).
    """
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not has_control_characters(target)):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("core.landing")


def safe_redirect(target: str | None) -> Response:
    """The one redirect to a user-given target (`next`): same-site paths only (see `safe_target`)."""
    return redirect(safe_target(target))


# --- keeping form input when a POST fails --------------------------------------------------------

def keeps_input(view: F) -> F:
    """Opt a form view in to re-display with the typed input when its POST fails (see module docstring)."""
    view.keeps_input = True  # type: ignore[attr-defined]
    return view


def may_redisplay() -> bool:
    """Whether this request's POST can be answered with its form, filled with what was sent."""
    if request.method != "POST" or request.endpoint is None or g.get("redisplaying_form"):
        return False
    view = current_app.view_functions.get(request.endpoint)
    if not getattr(view, "keeps_input", False):
        return False
    # The deny-by-default gate may not have run yet (CSRF is checked before it): ask it again here.
    if getattr(view, "is_public", False):
        return True
    from flask_login import current_user

    try:
        return bool(current_user.is_authenticated)
    except Exception:  # the database is gone as well: no form to give back
        return False


def redisplay_form(message: str, status: int) -> Response:
    """Call the view again in re-display mode: it renders its form from the submitted data, saves nothing."""
    g.redisplaying_form = True
    flash(message, "error")
    view = current_app.view_functions[request.endpoint]
    response = make_response(current_app.ensure_sync(view)(**(request.view_args or {})))
    response.status_code = status  # a redirect or 200 would hide that nothing was saved
    return response


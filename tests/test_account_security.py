"""API tokens end with deactivation and (if asked) a password change; two-factor setup ends other sessions; a
login lock never stops the right password from a known device (on SQLite and PostgreSQL, over HTTP)."""
from __future__ import annotations

import re

import pyotp
import pytest
from itsdangerous import URLSafeTimedSerializer

from strategy.api.auth import create_token
from strategy.auth.devices import KNOWN_DEVICE_COOKIE
from strategy.extensions import db
from strategy.models import AuditEvent, UserSession
from tests.support.factories import PASSWORD

WRONG = "ganz-falsches-passwort"
NEW_PASSWORD = "neue-lange-wanderung-am-phoenixsee"
API = "/api/v1/strategies"


@pytest.fixture
def app_config(clock) -> dict:
    return {"CLOCK": clock}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def login(client, email, password=PASSWORD):
    return client.post("/anmelden", data={"email": email, "password": password})


def _token(user) -> str:
    _row, token = create_token(user, "Auswertung")
    db.session.commit()
    return token


# --- API tokens (#12.7) --------------------------------------------------------------------------------

def test_deactivating_an_account_revokes_its_api_tokens_for_good(app, client, make):
    admin = make.user(admin=True)
    user = make.user()
    token = _token(user)
    api = app.test_client()
    assert api.get(API, headers=bearer(token)).status_code == 200
    login(client, admin.email)

    assert client.post(f"/verwaltung/konten/{user.id}/deaktivieren").status_code == 302
    assert api.get(API, headers=bearer(token)).status_code == 401
    assert client.post(f"/verwaltung/konten/{user.id}/reaktivieren").status_code == 302
    assert api.get(API, headers=bearer(token)).status_code == 401


def test_a_password_change_revokes_the_api_tokens_when_asked(app, client, make):
    user = make.user()
    token = _token(user)
    login(client, user.email)
    page = client.get("/konto").get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*name="revoke_api_tokens"|<input[^>]*name="revoke_api_tokens"[^>]*checked',
                     page), "the box is ticked by default"

    assert client.post("/konto/passwort", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                "confirm_password": NEW_PASSWORD,
                                                "revoke_api_tokens": "y"}).status_code == 302
    assert app.test_client().get(API, headers=bearer(token)).status_code == 401


def test_a_password_change_keeps_the_api_tokens_when_the_box_is_cleared(app, client, make):
    user = make.user()
    token = _token(user)
    login(client, user.email)
    assert client.post("/konto/passwort", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                "confirm_password": NEW_PASSWORD}).status_code == 302
    assert app.test_client().get(API, headers=bearer(token)).status_code == 200


def test_enabling_two_factor_login_ends_the_other_sessions_of_the_account(app, client, make, clock):
    user = make.user()
    elsewhere = app.test_client()
    login(elsewhere, user.email)
    login(client, user.email)
    assert elsewhere.get("/konto").status_code == 200

    client.get("/konto/zwei-faktor")
    secret = db.session.scalar(db.select(UserSession.totp_setup_secret).filter(
        UserSession.totp_setup_secret.is_not(None)))
    assert client.post("/konto/zwei-faktor", data={"code": pyotp.TOTP(secret).at(clock.now)}).status_code == 302

    assert elsewhere.get("/konto").status_code == 302  # back to the login page
    assert client.get("/konto").status_code == 200  # the browser that set it up stays logged in


# --- login lock and known devices (#12.9) --------------------------------------------------------------

def _lock(app, clock, email) -> None:
    """Ten wrong passwords from another browser, waiting out each delay: the account is locked for 15 minutes."""
    attacker = app.test_client()
    for _ in range(10):
        clock.advance(seconds=61)
        assert login(attacker, email, WRONG).status_code == 200
    assert login(attacker, email, PASSWORD).status_code == 429


def _events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(AuditEvent).filter_by(action=action)))


def test_a_known_device_logs_in_with_the_right_password_while_the_account_is_locked(app, client, make, clock):
    admin = make.user(admin=True)
    assert login(client, admin.email).status_code == 302
    client.post("/abmelden")

    _lock(app, clock, admin.email)

    assert login(client, admin.email).status_code == 302
    assert client.get("/verwaltung/").status_code == 200
    assert [e.object_id for e in _events("account_locked")] == [str(admin.id)]
    assert [e.object_id for e in _events("login_known_device_during_lock")] == [str(admin.id)]


def test_a_locked_account_refuses_the_right_password_from_an_unknown_device(app, make, clock):
    user = make.user()
    _lock(app, clock, user.email)
    assert login(app.test_client(), user.email).status_code == 429


def test_a_known_device_gets_only_its_own_ten_tries_during_a_lock(app, client, make, clock):
    user = make.user()
    login(client, user.email)
    client.post("/abmelden")
    _lock(app, clock, user.email)
    for _ in range(10):
        clock.advance(seconds=61)
        assert login(client, user.email, WRONG).status_code == 200
    assert login(client, user.email).status_code == 429


def test_a_forged_known_device_cookie_does_not_count(app, make, clock):
    user = make.user()
    _lock(app, clock, user.email)
    forged = app.test_client()
    forged.set_cookie(KNOWN_DEVICE_COOKIE, URLSafeTimedSerializer("another-secret", salt="known-device").dumps(
        {"account": user.id, "device": "nachgemacht"}))
    assert login(forged, user.email).status_code == 429
    garbage = app.test_client()
    garbage.set_cookie(KNOWN_DEVICE_COOKIE, "kein-gueltiger-wert")
    assert login(garbage, user.email).status_code == 429


def test_a_known_device_of_another_account_does_not_count(app, client, make, clock):
    user, other = make.user(), make.user()
    login(client, other.email)
    client.post("/abmelden")
    _lock(app, clock, user.email)
    assert login(client, user.email).status_code == 429


def test_the_known_device_cookie_is_http_only_and_same_site_lax(client, make):
    user = make.user()
    response = login(client, user.email)
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(KNOWN_DEVICE_COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=" in cookie
    assert "Secure" not in cookie  # SESSION_COOKIE_SECURE is off in tests; production sets both


def test_over_https_the_known_device_cookie_is_secure_and_host_only(app, make):
    app.config["SESSION_COOKIE_SECURE"] = True
    user = make.user()
    response = login(app.test_client(), user.email)
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("__Host-known-device="))
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie

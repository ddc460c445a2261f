"""Accounts, login and sessions: throttling, revocable sessions, timeouts, set-password links, TOTP, policy, CLI."""
from __future__ import annotations

import hashlib
import re

import argon2
import pyotp
import pytest
from argon2 import PasswordHasher

from strategy import create_app, settings
from strategy.auth.links import create_set_password_link
from strategy.auth.passwords import common_passwords, validate_new_password
from strategy.auth.sessions import SESSION_TOKEN_KEY, end_all_sessions
from strategy.extensions import db
from strategy.models import AuditEvent, LoginThrottle, Role, SetPasswordToken, User, UserSession
from tests.conftest import IsolatedClient, _test_config
from tests.support.factories import PASSWORD

WRONG = "ganz-falsches-passwort"
NEW_PASSWORD = "neue-lange-wanderung-am-phoenixsee"



@pytest.fixture(autouse=True)
def _collect_garbage_here():
    """A connection left open is reported by the test that left it, not by whichever test runs the GC."""
    yield
    import gc

    gc.collect()


@pytest.fixture
def app_config(clock) -> dict:
    return {"CLOCK": clock}


@pytest.fixture
def second_app(app, clock):
    """Another create_app() on the same database: what a second process or host sees."""
    other = create_app(_test_config(app.config["SQLALCHEMY_DATABASE_URI"], CLOCK=clock))
    other.test_client_class = IsolatedClient
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def login(client, email, password=PASSWORD, **kwargs):
    return client.post("/anmelden", data={"email": email, "password": password}, **kwargs)


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def replay(app, cookie: str):
    """A fresh browser that presents an old cookie."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def lands_on_login(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/anmelden")


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(AuditEvent).filter_by(action=action)))


def link_token(link: str) -> str:
    return re.search(r"token=([^&]+)", link).group(1)


def new_link(app, user, created_by=None) -> str:
    with app.test_request_context():
        link = create_set_password_link(user, created_by=created_by)
    db.session.commit()
    return link


def relative(link: str) -> str:
    return link.replace("http://localhost", "")


# --- login ----------------------------------------------------------------------------------------

def test_login_with_email_and_password_shows_the_users_name(client, make):
    user = make.user(name="Ada Beispiel")
    response = login(client, user.email.upper())
    assert response.status_code == 302
    assert "Ada Beispiel" in client.get("/").get_data(as_text=True)
    assert events("login")[0].actor_id == user.id


def test_unknown_account_and_wrong_password_give_the_same_page_and_run_the_same_check(app, client, make, monkeypatch):
    app.config["PASSWORD_HASH_PARAMETERS"] = None  # production's argon2 parameters, not the tests' cheap ones
    user = make.user()
    verified = []
    original = PasswordHasher.verify

    def counting_verify(self, hash, password):  # spies on argon2, calls through
        verified.append(hash)
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    wrong_password = login(client, user.email, WRONG)
    unknown_account = login(client, "niemand@example.org", WRONG)

    assert wrong_password.status_code == unknown_account.status_code == 200
    assert wrong_password.get_data(as_text=True).replace(user.email, "X") == \
        unknown_account.get_data(as_text=True).replace("niemand@example.org", "X")
    assert "E-Mail-Adresse oder Passwort ist falsch." in wrong_password.get_data(as_text=True)
    # one argon2 verification each: the real hash, and for the unknown account a dummy hash of the same cost
    assert len(verified) == 2 and verified[0] == user.password_hash and verified[1] != user.password_hash
    assert PasswordHasher().check_needs_rehash(verified[1]) is False


def test_inactive_account_with_the_right_password_is_refused_like_a_wrong_password(client, make):
    user = make.user(active=False)
    response = login(client, user.email)
    assert "E-Mail-Adresse oder Passwort ist falsch." in response.get_data(as_text=True)
    assert lands_on_login(client.get("/konto"))


def test_a_password_longer_than_128_characters_is_rejected_before_hashing(client, make, monkeypatch):
    user = make.user()
    monkeypatch.setattr(PasswordHasher, "verify", lambda *a: pytest.fail("hashed an over-long password"))
    response = login(client, user.email, "x" * 129)
    assert "Das Passwort ist zu lang." in response.get_data(as_text=True)


def test_login_keeps_the_typed_email_and_shows_the_error_next_to_the_password(client, make):
    user = make.user()
    page = login(client, user.email, WRONG).get_data(as_text=True)
    assert f'value="{user.email}"' in page
    assert 'id="password-error"' in page and 'aria-invalid="true"' in page


def test_a_hash_with_old_parameters_is_replaced_at_login(app, client, make):
    app.config["PASSWORD_HASH_PARAMETERS"] = None  # production's argon2 parameters, not the tests' cheap ones
    user = make.user()
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    db.session.commit()
    login(client, user.email)
    db.session.refresh(user)
    assert not PasswordHasher().check_needs_rehash(user.password_hash)
    assert PasswordHasher().verify(user.password_hash, PASSWORD)


def test_logged_in_user_visiting_the_login_page_is_sent_on(client, auth, make):
    auth.login(make.user())
    assert client.get("/anmelden").status_code == 302


# --- throttling -----------------------------------------------------------------------------------

def test_failed_logins_first_slow_down_then_lock_the_account_and_the_lock_runs_out(client, make, clock):
    user = make.user()
    for _ in range(3):
        assert login(client, user.email, WRONG).status_code == 200
    slowed = login(client, user.email)  # even the right password waits
    assert slowed.status_code == 429
    assert "Bitte warten Sie 2 Sekunden" in slowed.get_data(as_text=True)
    assert slowed.headers["Retry-After"] == "2"

    for _ in range(7):
        clock.advance(seconds=61)
        login(client, user.email, WRONG)
    locked = login(client, user.email)
    assert locked.status_code == 429
    assert "vorübergehend gesperrt" in locked.get_data(as_text=True)
    assert len(events("account_locked")) == 1

    clock.advance(minutes=15, seconds=1)
    assert login(client, user.email).status_code == 302
    db.session.refresh(user)
    assert user.failed_login_count == 0 and user.locked_until is None


def test_an_account_lock_holds_across_two_app_instances_sharing_the_database(client, make, clock, second_app):
    email = make.user().email
    for _ in range(10):
        login(client, email, WRONG)
        clock.advance(seconds=61)
    clock.advance(seconds=-61)
    with second_app.app_context():
        elsewhere = login(second_app.test_client(), email)
    assert elsewhere.status_code == 429
    assert "vorübergehend gesperrt" in elsewhere.get_data(as_text=True)


def test_failures_counted_on_two_app_instances_add_up(client, make, clock, second_app):
    user = make.user()
    email = user.email
    other = second_app.test_client()
    for attempt in range(10):
        with second_app.app_context():
            login(other, email, WRONG) if attempt % 2 else None
        if attempt % 2 == 0:
            login(client, email, WRONG)
        clock.advance(seconds=61)
    db.session.refresh(user)
    assert user.failed_login_count == 10
    assert user.locked_until > clock.now


def test_failures_made_at_the_same_moment_are_all_counted(app, make):
    import threading

    user = make.user()
    email = user.email
    app.config.update(AUTH_ACCOUNT_DELAY_AFTER=100, AUTH_ACCOUNT_LOCK_AFTER=100)
    start = threading.Barrier(6)
    answers = []

    def attempt(n):
        browser = app.test_client()
        start.wait()
        answers.append(login(browser, email, WRONG, environ_base={"REMOTE_ADDR": f"192.0.2.{n}"}).status_code)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * 6
    db.session.refresh(user)
    assert user.failed_login_count == 6


def test_an_unknown_email_is_locked_exactly_like_a_real_account(client, make, clock):
    """Lockouts must not reveal which accounts exist."""
    user = make.user()
    for email in (user.email, "gibt-es-nicht@example.org"):
        answers = []
        for _ in range(11):
            answers.append(login(client, email, WRONG).status_code)
            clock.advance(seconds=61)
        clock.advance(seconds=-61)
        assert answers == [200] * 10 + [429], email
    assert db.session.scalar(db.select(LoginThrottle).filter(LoginThrottle.key.startswith("email:"))) is not None
    assert not db.session.scalars(db.select(LoginThrottle.key).filter(LoginThrottle.key.contains("gibt-es"))).all()


def test_many_failures_from_one_client_address_lock_that_address_only(app, client, make, clock):
    app.config.update(AUTH_ADDRESS_DELAY_AFTER=100, AUTH_ADDRESS_LOCK_AFTER=5)
    user = make.user()
    for n in range(5):
        login(client, f"rate{n}@example.org", WRONG, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    blocked = login(client, user.email, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert blocked.status_code == 429
    assert len(events("address_locked")) == 1
    assert login(client, user.email, environ_base={"REMOTE_ADDR": "192.0.2.8"}).status_code == 302


def test_without_trusted_proxies_a_forwarded_header_is_ignored(client, make):
    login(client, "x@example.org", WRONG, headers={"X-Forwarded-For": "203.0.113.9"},
          environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert events("login_failed")[0].ip_address == "10.0.0.1"


def test_behind_one_trusted_proxy_the_client_address_is_the_last_forwarded_entry(app, clock):
    proxied = create_app(_test_config(app.config["SQLALCHEMY_DATABASE_URI"], PROXY_FIX_X_FOR=1, CLOCK=clock))
    proxied.test_client_class = IsolatedClient
    with proxied.app_context():
        # the client forged the first entry; our one proxy appended the real peer
        login(proxied.test_client(), "x@example.org", WRONG,
              headers={"X-Forwarded-For": "198.51.100.66, 203.0.113.9"}, environ_base={"REMOTE_ADDR": "10.0.0.1"})
        db.session.remove()
        db.engine.dispose()
    assert events("login_failed")[0].ip_address == "203.0.113.9"
    assert db.session.get(LoginThrottle, "address:203.0.113.9").failed_login_count == 1


# --- server-side sessions -------------------------------------------------------------------------

def test_the_cookie_carries_only_a_random_token_and_the_database_only_its_hash(app, client, make):
    user = make.user()
    login(client, user.email)
    data = app.session_interface.get_signing_serializer(app).loads(session_cookie(client))
    token = data[SESSION_TOKEN_KEY]
    assert set(data) <= {SESSION_TOKEN_KEY, "_user_id", "_fresh", "_id", "csrf_token"}
    row = db.session.scalar(db.select(UserSession).filter_by(user_id=user.id))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
    assert row.ip_address == "127.0.0.1" and row.user_agent


def test_each_login_gets_a_new_session_token(app, client, make):
    user = make.user()
    client.get("/anmelden")
    with client.session_transaction() as sess:
        sess["planted"] = "by-an-attacker"
    login(client, user.email)
    first = app.session_interface.get_signing_serializer(app).loads(session_cookie(client))
    assert "planted" not in first
    client.post("/abmelden")
    login(client, user.email)
    second = app.session_interface.get_signing_serializer(app).loads(session_cookie(client))
    assert first[SESSION_TOKEN_KEY] != second[SESSION_TOKEN_KEY]


def _session_cookie_header(response, name: str) -> str:
    """The session cookie's Set-Cookie header (a login also sets the known-device cookie)."""
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "="))


def test_session_cookie_is_httponly_and_samesite_lax_and_not_persistent(client, make):
    response = login(client, make.user().email)
    cookie = _session_cookie_header(response, "session")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Expires" not in cookie and "remember_token" not in response.headers.get_all("Set-Cookie")[-1]


def test_in_production_the_cookie_is_secure_and_host_prefixed(app, make):
    email = make.user().email  # read here: inside the other app's context it would load through its engine
    secure = create_app(_test_config(app.config["SQLALCHEMY_DATABASE_URI"], SESSION_COOKIE_SECURE=True))
    secure.test_client_class = IsolatedClient
    assert secure.config["SESSION_COOKIE_NAME"] == "__Host-session"
    with secure.app_context():
        response = login(secure.test_client(), email, base_url="https://localhost")
        db.session.remove()
        db.engine.dispose()
    cookie = _session_cookie_header(response, "__Host-session")
    assert cookie.startswith("__Host-session=") and "Secure" in cookie and "Path=/" in cookie
    assert "Domain" not in cookie


def test_logout_ends_every_session_of_the_account_and_an_old_cookie_lands_on_login(app, make):
    user = make.user()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user.email)
    login(phone, user.email)
    captured = session_cookie(laptop)
    assert laptop.get("/konto").status_code == 200

    laptop.post("/abmelden")
    assert lands_on_login(replay(app, captured).get("/konto"))
    assert lands_on_login(phone.get("/konto"))
    assert db.session.scalar(db.select(db.func.count(UserSession.id))) == 0


def test_changing_the_password_ends_all_other_sessions_and_keeps_this_browser_in(app, make):
    user = make.user()
    browser, other = app.test_client(), app.test_client()
    login(browser, user.email)
    login(other, user.email)
    captured = session_cookie(browser)

    response = browser.post("/konto/passwort", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                     "confirm_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert browser.get("/konto").status_code == 200  # a fresh session for the one who changed it
    assert lands_on_login(replay(app, captured).get("/konto"))
    assert lands_on_login(other.get("/konto"))
    assert len(events("password_changed")) == 1
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 302


def test_password_change_needs_the_current_password_and_a_good_new_one(client, auth, make):
    user = make.user()
    auth.login(user)
    wrong = client.post("/konto/passwort", data={"current_password": WRONG, "new_password": NEW_PASSWORD,
                                                 "confirm_password": NEW_PASSWORD}).get_data(as_text=True)
    assert "Das aktuelle Passwort stimmt nicht." in wrong
    weak = client.post("/konto/passwort", data={"current_password": PASSWORD, "new_password": "kurz",
                                                "confirm_password": "kurz"}).get_data(as_text=True)
    assert "mindestens 12 Zeichen" in weak
    mismatch = client.post("/konto/passwort", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                    "confirm_password": NEW_PASSWORD + "x"}).get_data(as_text=True)
    assert "stimmen nicht überein" in mismatch
    assert login(client.application.test_client(), user.email).status_code == 302


def test_deactivating_an_account_shuts_out_its_old_cookie(app, make):
    user = make.user()
    browser = app.test_client()
    login(browser, user.email)
    captured = session_cookie(browser)
    user.active = False
    end_all_sessions(user)
    db.session.commit()
    assert lands_on_login(replay(app, captured).get("/konto"))


def test_a_deactivated_account_is_shut_out_even_before_its_sessions_are_ended(app, make):
    user = make.user()
    browser = app.test_client()
    login(browser, user.email)
    user.active = False
    db.session.commit()
    assert lands_on_login(browser.get("/konto"))


def test_ending_all_sessions_on_one_instance_ends_them_on_the_other(client, make, second_app):
    user_id = make.user().id
    login(client, db.session.get(User, user_id).email)
    with second_app.app_context():
        end_all_sessions(db.session.get(User, user_id))
        db.session.commit()
    assert lands_on_login(client.get("/konto"))


def test_a_session_ends_after_two_idle_hours(client, make, clock):
    login(client, make.user().email)
    clock.advance(hours=1, minutes=59)
    assert client.get("/konto").status_code == 200
    clock.advance(hours=1, minutes=59)  # the visit above counted as activity
    assert client.get("/konto").status_code == 200
    clock.advance(hours=2, seconds=1)
    assert lands_on_login(client.get("/konto"))


def test_a_session_ends_after_twelve_hours_however_active(client, make, clock):
    login(client, make.user().email)
    for _ in range(12):
        clock.advance(hours=1)
        assert client.get("/konto").status_code == 200
    clock.advance(seconds=1)
    assert lands_on_login(client.get("/konto"))


def test_timed_out_sessions_of_closed_browsers_are_swept_at_the_next_login(app, make, clock):
    user = make.user()
    login(app.test_client(), user.email)  # a browser that is closed and never comes back
    clock.advance(hours=2, seconds=1)
    login(app.test_client(), user.email)
    assert db.session.scalar(db.select(db.func.count(UserSession.id))) == 1


def test_last_seen_is_written_at_most_once_a_minute(client, make, clock, count_queries):
    login(client, make.user().email)
    clock.advance(seconds=30)
    with count_queries() as quiet:
        client.get("/konto")
    clock.advance(seconds=31)
    with count_queries() as touched:
        client.get("/konto")
    def updates(counter):
        return [s for s in counter.statements if s.lstrip().upper().startswith("UPDATE USER_SESSION")]

    assert updates(quiet) == []
    assert len(updates(touched)) == 1


def test_the_account_page_lists_sessions_and_ends_another_one(app, make):
    user = make.user()
    browser, other = app.test_client(), app.test_client()
    phone = "Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0"
    login(other, user.email, headers={"User-Agent": phone})
    login(browser, user.email, headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/131.0 Safari/537.36"})
    page = browser.get("/konto").get_data(as_text=True)
    assert "Firefox auf Android" in page and "Chrome auf Windows" in page and "dieses Gerät" in page
    other_id = db.session.scalar(db.select(UserSession.id).filter_by(user_agent=phone))
    assert browser.post(f"/konto/sitzungen/{other_id}/beenden").status_code == 302
    assert lands_on_login(other.get("/konto"))
    assert browser.get("/konto").status_code == 200


def test_nobody_can_end_someone_elses_session(app, make):
    owner, intruder = make.user(), make.user()
    owners_browser, intruders_browser = app.test_client(), app.test_client()
    login(owners_browser, owner.email)
    login(intruders_browser, intruder.email)
    owners_session = db.session.scalar(db.select(UserSession.id).filter_by(user_id=owner.id))
    assert intruders_browser.post(f"/konto/sitzungen/{owners_session}/beenden").status_code == 404
    assert owners_browser.get("/konto").status_code == 200


def test_ending_all_other_sessions_keeps_this_one(app, make):
    user = make.user()
    browser, others = app.test_client(), [app.test_client(), app.test_client()]
    for other in others:
        login(other, user.email)
    login(browser, user.email)
    browser.post("/konto/sitzungen/andere-beenden")
    assert browser.get("/konto").status_code == 200
    assert all(lands_on_login(other.get("/konto")) for other in others)


# --- set-password links ---------------------------------------------------------------------------

def test_a_set_password_link_works_once(app, client, make):
    admin, user = make.user(admin=True), make.user()
    link = new_link(app, user, created_by=admin)
    assert link.startswith("http://localhost/passwort-setzen?token=")
    assert db.session.scalar(db.select(SetPasswordToken.token_hash)) == \
        hashlib.sha256(link_token(link).encode()).hexdigest()

    assert client.get(relative(link)).status_code == 200
    done = client.post(relative(link), data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert lands_on_login(done)
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 302

    again = client.get(relative(link))
    assert again.status_code == 410
    assert "bereits benutzt" in again.get_data(as_text=True)
    assert client.post(relative(link), data={"new_password": "noch-ein-anderes-passwort",
                                              "confirm_password": "noch-ein-anderes-passwort"}).status_code == 410
    assert [e.actor_id for e in events("set_password_link_created")] == [admin.id]
    assert len(events("password_set_by_link")) == 1


def test_using_someone_elses_link_while_logged_in_keeps_this_login(app, client, auth, make):
    admin, user = make.user(admin=True), make.user()
    auth.login(admin)
    link = new_link(app, user, created_by=admin)
    client.post(relative(link), data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert client.get("/konto").status_code == 200
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 302


def test_a_set_password_link_expires_after_72_hours(app, client, make, clock):
    link = new_link(app, make.user())
    clock.advance(hours=71, minutes=59)
    assert client.get(relative(link)).status_code == 200
    clock.advance(minutes=1)
    expired = client.get(relative(link))
    assert expired.status_code == 410 and "abgelaufen" in expired.get_data(as_text=True)


def test_a_newer_link_replaces_the_older_one(app, client, make):
    user = make.user()
    older, newer = new_link(app, user), new_link(app, user)
    replaced = client.get(relative(older))
    assert replaced.status_code == 410 and "neuerer Link" in replaced.get_data(as_text=True)
    assert client.get(relative(newer)).status_code == 200


def test_an_unknown_link_is_refused(client):
    assert client.get("/passwort-setzen?token=erfunden").status_code == 410
    assert client.get("/passwort-setzen").status_code == 410


def test_a_weak_password_on_the_link_page_keeps_the_link_usable(app, client, make):
    link = new_link(app, make.user())
    page = client.post(relative(link), data={"new_password": "passwort1234", "confirm_password": "passwort1234"})
    assert page.status_code == 200 and "zu leicht zu erraten" in page.get_data(as_text=True)
    assert client.get(relative(link)).status_code == 200


def test_setting_a_password_by_link_ends_sessions_and_lifts_a_lock(app, make, clock):
    user = make.user()
    browser = app.test_client()
    login(browser, user.email)
    for _ in range(10):
        login(app.test_client(), user.email, WRONG)
        clock.advance(seconds=61)
    link = new_link(app, user)
    app.test_client().post(relative(link), data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert lands_on_login(browser.get("/konto"))
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 302


def test_the_forgotten_password_page_explains_to_ask_the_admin(client):
    page = client.get("/passwort-vergessen")
    assert page.status_code == 200 and "Administration" in page.get_data(as_text=True)
    assert 'href="/passwort-vergessen"' in client.get("/anmelden").get_data(as_text=True)


def test_set_password_tokens_never_reach_the_request_log(app, make):
    import logging

    from strategy.auth import RedactSecretLinks

    link = new_link(app, make.user())
    record = logging.LogRecord("werkzeug", logging.INFO, "", 0, '%s - - "%s" %s -',
                               ("127.0.0.1", f"GET {relative(link)} HTTP/1.1", "200"), None)
    RedactSecretLinks().filter(record)
    assert link_token(link) not in record.getMessage() and "token=[…]" in record.getMessage()



def test_set_password_tokens_never_reach_gunicorns_access_log(app, tmp_path):
    """The real server with the deployment's settings (gunicorn.conf.py) and an access log switched on."""
    import http.client
    import os
    import socket
    import subprocess
    import sys
    import time

    from strategy import PROJECT_ROOT

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "access.log"
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "test",
           "STRATEGY_INSTANCE_PATH": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
         "--access-logfile", str(log), "--access-logformat",
         '%(h)s "%(r)s" %(s)s "%(f)s" %(U)s?%(q)s', "wsgi:app"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        path = "/passwort-setzen?token=geheim-123"
        # A busy machine (parallel test workers) may take a minute to boot gunicorn and its renderers.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                connection.request("GET", path, headers={"Referer": f"http://127.0.0.1:{port}{path}"})
                assert connection.getresponse().status == 410  # an unknown token: answered, and logged
                break
            except OSError:  # not listening yet
                time.sleep(0.1)
            finally:
                connection.close()
        for _ in range(300):
            if log.exists() and log.read_text():
                break
            time.sleep(0.1)
        line = log.read_text()
    finally:
        server.terminate()
        try:
            errors = server.communicate(timeout=60)[1].decode()
        except subprocess.TimeoutExpired:
            server.kill()
            errors = server.communicate()[1].decode()
    assert "/passwort-setzen?token=[…]" in line and "410" in line
    assert "geheim-123" not in line
    assert "Logging error" not in errors

# --- two-factor login -----------------------------------------------------------------------------

def enable_two_factor(client, clock) -> str:
    client.get("/konto/zwei-faktor")
    secret = db.session.scalar(db.select(UserSession.totp_setup_secret).filter(
        UserSession.totp_setup_secret.is_not(None)))
    response = client.post("/konto/zwei-faktor", data={"code": pyotp.TOTP(secret).at(clock.now)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return secret


def test_two_factor_setup_shows_qr_code_and_secret_and_needs_a_right_code(client, auth, make, clock):
    user = make.user()
    auth.login(user)
    page = client.get("/konto/zwei-faktor").get_data(as_text=True)
    secret = db.session.scalar(db.select(UserSession.totp_setup_secret).filter_by(user_id=user.id))
    assert "<svg" in page and secret in page and "otpauth://totp/" in page
    assert client.get("/konto/zwei-faktor").get_data(as_text=True).count(secret) >= 1  # same secret on reload
    wrong = client.post("/konto/zwei-faktor", data={"code": "000000"})
    assert "Der Code passt nicht" in wrong.get_data(as_text=True)
    client.post("/konto/zwei-faktor", data={"code": pyotp.TOTP(secret).at(clock.now)})
    db.session.refresh(user)
    assert user.totp_secret == secret
    assert len(events("two_factor_enabled")) == 1


def test_login_with_two_factor_asks_for_a_code_and_refuses_a_reused_one(app, client, auth, make, clock):
    user = make.user()
    auth.login(user)
    secret = enable_two_factor(client, clock)
    totp = pyotp.TOTP(secret)
    clock.advance(seconds=30)

    browser = app.test_client()
    first_step = login(browser, user.email)
    assert first_step.headers["Location"] == "/anmelden/code"
    assert lands_on_login(browser.get("/konto"))  # the password alone is not a login
    code = totp.at(clock.now)
    assert browser.post("/anmelden/code", data={"code": code}).status_code == 302
    assert browser.get("/konto").status_code == 200

    thief = app.test_client()
    login(thief, user.email)
    reused = thief.post("/anmelden/code", data={"code": code})
    assert "schon benutzt" in reused.get_data(as_text=True)
    assert lands_on_login(thief.get("/konto"))
    assert len(events("login_two_factor_failed")) == 1

    clock.advance(seconds=30)
    assert thief.post("/anmelden/code", data={"code": totp.at(clock.now)}).status_code == 302


def test_the_code_used_to_set_up_two_factor_cannot_log_in(app, client, auth, make, clock):
    user = make.user()
    auth.login(user)
    secret = enable_two_factor(client, clock)
    browser = app.test_client()
    login(browser, user.email)
    response = browser.post("/anmelden/code", data={"code": pyotp.TOTP(secret).at(clock.now)})
    assert response.status_code == 200


def test_wrong_codes_count_towards_the_account_lock(app, client, auth, make, clock):
    user = make.user()
    auth.login(user)
    enable_two_factor(client, clock)
    browser = app.test_client()
    for _ in range(10):
        login(browser, user.email)
        browser.post("/anmelden/code", data={"code": "123456"})
        clock.advance(seconds=61)
    clock.advance(seconds=-61)
    assert login(browser, user.email).status_code == 429


def test_the_pending_code_step_expires(app, client, auth, make, clock):
    user = make.user()
    auth.login(user)
    secret = enable_two_factor(client, clock)
    browser = app.test_client()
    login(browser, user.email)
    clock.advance(minutes=5, seconds=1)
    response = browser.post("/anmelden/code", data={"code": pyotp.TOTP(secret).at(clock.now)})
    assert lands_on_login(response)


def test_turning_two_factor_off_needs_the_password(client, auth, make, clock):
    user = make.user()
    auth.login(user)
    enable_two_factor(client, clock)
    refused = client.post("/konto/zwei-faktor/ausschalten", data={"password": WRONG})
    assert "Das Passwort stimmt nicht." in refused.get_data(as_text=True)
    client.post("/konto/zwei-faktor/ausschalten", data={"password": PASSWORD})
    db.session.refresh(user)
    assert user.totp_secret is None
    assert len(events("two_factor_disabled")) == 1


def test_mandatory_two_factor_sends_admins_and_steering_to_set_it_up(app, make, clock):
    strategy = make.strategy()
    admin = make.user(admin=True)
    steering = make.user(role=Role.STEERING, strategy=strategy)
    partner = make.user(role=Role.PARTNER, strategy=strategy)
    settings.set_two_factor_required(True, by=admin)
    db.session.commit()
    assert events("setting_changed")[0].detail == {"before": None, "after": True}

    for user in (admin, steering):
        browser = app.test_client()
        assert login(browser, user.email).headers["Location"] == "/konto/zwei-faktor"
        assert browser.get("/konto").headers["Location"] == "/konto/zwei-faktor"
        enable_two_factor(browser, clock)
        assert browser.get("/konto").status_code == 200
        refused = browser.post("/konto/zwei-faktor/ausschalten", data={"password": PASSWORD}, follow_redirects=True)
        assert "vorgeschrieben" in refused.get_data(as_text=True)

    browser = app.test_client()
    assert login(browser, partner.email).headers["Location"] == "/"
    assert browser.get("/konto").status_code == 200


def test_settings_are_read_from_the_database_by_every_instance(make, second_app):
    admin = make.user(admin=True)
    assert settings.two_factor_required_for_privileged() is False
    settings.set_two_factor_required(True, by=admin)
    db.session.commit()
    with second_app.app_context():
        assert settings.two_factor_required_for_privileged() is True


# --- audit log and secrets ------------------------------------------------------------------------

def test_audit_log_records_the_account_events_without_any_secret(app, client, auth, make, clock):
    user = make.user()
    auth.login(user)
    secret = enable_two_factor(client, clock)
    client.post("/konto/passwort", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                         "confirm_password": NEW_PASSWORD})
    link = new_link(app, user, created_by=user)
    login(app.test_client(), user.email, WRONG)
    cookie = session_cookie(client)

    db.session.expire_all()
    logged = db.session.scalars(db.select(AuditEvent)).all()
    actions = {e.action for e in logged}
    assert {"login", "two_factor_enabled", "password_changed", "set_password_link_created",
            "login_failed"} <= actions
    text = " ".join(f"{e.action} {e.actor_label} {e.object_id} {e.detail}" for e in logged)
    for secret_value in (PASSWORD, NEW_PASSWORD, WRONG, secret, link_token(link), cookie):
        assert secret_value not in text


# --- password policy ------------------------------------------------------------------------------

@pytest.mark.parametrize(("password", "message"), [
    ("korrekt-pferd-batterie", None),
    ("Demo-Zugang-2026", None),
    ("zwölf zeichen", None),
    ("Ölkännchen auf dem Westfalendamm", None),
    ("x" * 128, "zu leicht zu erraten"),
    ("abcdefghijk", "mindestens 12 Zeichen"),
    ("", "mindestens 12 Zeichen"),
    ("y" * 129, "höchstens 128 Zeichen"),
    ("1234567890123", "zu leicht zu erraten"),
    ("passwort1234", "zu leicht zu erraten"),
    ("Dortmund2026!!", "zu leicht zu erraten"),
    ("Gesamtstrategie1", "zu leicht zu erraten"),
    ("1q2w3e4r5t6y", "zu leicht zu erraten"),
    ("Qwerty123456", "zu leicht zu erraten"),
    ("abababababababab", "zu leicht zu erraten"),
])
def test_password_policy(app, password, message):
    with app.test_request_context():
        problems = validate_new_password(password)
    if message is None:
        assert problems == []
    else:
        assert len(problems) == 1 and message in problems[0]


def test_a_password_may_not_be_the_users_own_email_or_name(app, make):
    user = make.user(email="maria.musterfrau@example.org", name="Maria Musterfrau")
    with app.test_request_context():
        assert validate_new_password("maria.musterfrau@example.org", user=user)
        assert validate_new_password("MariaMusterfrau!!", user=user)
        assert validate_new_password("maria.musterfrau", user=user)
        assert validate_new_password("Maria wandert gern am Phoenixsee", user=user) == []


def test_the_common_password_list_is_bundled_and_large():
    assert len(common_passwords()) > 19_000
    assert "passwort" in common_passwords() and "123456789123" in common_passwords()


# --- CLI ------------------------------------------------------------------------------------------

def test_create_admin_reads_the_password_from_stdin(runner):
    result = runner.invoke(args=["create-admin", "--email", "chefin@example.org", "--name", "Die Chefin",
                                 "--password-stdin"], input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).filter_by(email="chefin@example.org"))
    assert user.is_admin and argon2.PasswordHasher().verify(user.password_hash, NEW_PASSWORD)


def test_create_admin_asks_twice_when_interactive(runner):
    result = runner.invoke(args=["create-admin", "--email", "chef@example.org", "--name", "Der Chef"],
                           input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(db.select(User).filter_by(email="chef@example.org")) is not None


@pytest.mark.parametrize(("password", "message"), [
    ("kurz", "mindestens 12 Zeichen"),
    ("passwort1234", "zu leicht zu erraten"),
])
def test_create_admin_refuses_a_weak_password(runner, password, message):
    result = runner.invoke(args=["create-admin", "--email", "a@example.org", "--name", "A", "--password-stdin"],
                           input=password + "\n")
    assert result.exit_code != 0 and message in result.output
    assert db.session.scalar(db.select(User).filter_by(email="a@example.org")) is None


def test_create_admin_refuses_an_existing_email(runner, make):
    make.user(email="da@example.org")
    result = runner.invoke(args=["create-admin", "--email", "DA@example.org", "--name", "A", "--password-stdin"],
                           input=NEW_PASSWORD + "\n")
    assert result.exit_code != 0 and "Es gibt schon ein Konto" in result.output


def test_set_password_link_command_prints_a_working_link(runner, client, make):
    user = make.user(admin=True)
    result = runner.invoke(args=["set-password-link", user.email, "--base-url", "https://strategie.example/"])
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert link.startswith("https://strategie.example/passwort-setzen?token=")
    assert client.get("/passwort-setzen?token=" + link_token(link)).status_code == 200

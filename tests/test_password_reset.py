""""Passwort vergessen?": a one-time link by e-mail (through a real SMTP server), the same answer for known and
unknown addresses, throttled, recorded in the audit log."""
from __future__ import annotations

import re

import pytest

from strategy.audit import AuditAction
from strategy.extensions import db
from strategy.models import AuditEvent, OutgoingMail, User
from tests.support.factories import PASSWORD

NEW_PASSWORD = "ein-ganz-neues-passwort"


@pytest.fixture
def app_config(smtp, clock):
    return {**smtp.config, "BASE_URL": "https://strategie.example/", "CLOCK": clock}


def _ask(client, email):
    return client.post("/passwort-vergessen", data={"email": email})


def _link(message) -> str:
    return re.search(r"https://strategie\.example/passwort-setzen\?token=[\w-]+", message.text).group(0)


def _events(action):
    return db.session.scalars(db.select(AuditEvent).filter_by(action=action.value)).all()


def test_the_login_page_links_to_the_form(client):
    page = client.get("/anmelden").get_data(as_text=True)
    assert 'href="/passwort-vergessen"' in page
    form = client.get("/passwort-vergessen").get_data(as_text=True)
    assert 'name="email"' in form and "Link zuschicken" in form


def test_a_known_address_gets_a_link_that_sets_the_password_once(app, client, make, smtp):
    user = make.user(email="ada@example.org", name="Ada Muster")
    response = _ask(client, "ADA@example.org ")
    assert response.status_code == 200
    [message] = smtp.wait_for(1)
    assert message.envelope_to == ["ada@example.org"]
    assert message.subject == "Neues Passwort setzen"
    assert "72 Stunden" in message.text
    link = _link(message)
    assert link in message.html
    path = link.removeprefix("https://strategie.example")
    assert client.post(path, data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}).status_code == 302
    assert client.post("/anmelden", data={"email": user.email, "password": NEW_PASSWORD}).status_code == 302
    assert client.get(path).status_code == 410  # once only
    [event] = _events(AuditAction.PASSWORD_RESET_REQUESTED)
    assert event.object_type == "user" and event.object_id == str(user.id) and event.actor_id is None
    assert len(_events(AuditAction.PASSWORD_SET_BY_LINK)) == 1


def test_known_and_unknown_addresses_get_the_same_answer(app, client, make, smtp):
    make.user(email="known@example.org")
    known = _ask(client, "known@example.org")
    unknown = _ask(client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200

    def answer(response, email):
        return response.get_data(as_text=True).replace(email, "ADDRESS")

    assert answer(known, "known@example.org") == answer(unknown, "nobody@example.org")
    smtp.wait_for(1)
    assert [m.envelope_to for m in smtp.messages] == [["known@example.org"]]
    unknown_event = [e for e in _events(AuditAction.PASSWORD_RESET_REQUESTED) if e.object_type == ""]
    assert unknown_event[0].detail == {"account": "unknown"}  # the typed address is not stored


def test_a_deactivated_account_gets_no_mail(app, client, make, smtp):
    make.user(email="gone@example.org", active=False)
    assert _ask(client, "gone@example.org").status_code == 200
    assert db.session.scalar(db.select(db.func.count(OutgoingMail.id))) == 0


def test_a_new_reset_link_replaces_the_admins_link_and_older_ones(app, client, make, smtp):
    make.user(email="ada@example.org")
    _ask(client, "ada@example.org")
    _ask(client, "ada@example.org")
    first, second = smtp.wait_for(2)
    assert client.get(_link(first).removeprefix("https://strategie.example")).status_code == 410
    assert client.get(_link(second).removeprefix("https://strategie.example")).status_code == 200


def test_the_link_expires_after_72_hours(app, client, make, smtp, clock):
    make.user(email="ada@example.org")
    _ask(client, "ada@example.org")
    [message] = smtp.wait_for(1)
    clock.advance(hours=72, seconds=1)
    page = client.get(_link(message).removeprefix("https://strategie.example"))
    assert page.status_code == 410
    assert "abgelaufen" in page.get_data(as_text=True)


@pytest.mark.parametrize("email", ["ada@example.org", "nobody@example.org"])
def test_requests_are_throttled_per_address_asked_for_alike(app, client, make, smtp, clock, email):
    make.user(email="ada@example.org")
    for _ in range(3):
        assert _ask(client, email).status_code == 200
    throttled = _ask(client, email)
    assert throttled.status_code == 429
    assert "Zu viele Anfragen" in throttled.get_data(as_text=True)
    assert int(throttled.headers["Retry-After"]) <= 3600
    clock.advance(hours=1, seconds=1)
    assert _ask(client, email).status_code == 200
    sent = db.session.scalar(db.select(db.func.count(OutgoingMail.id)))
    assert sent == (4 if email == "ada@example.org" else 0)
    assert any(e.detail.get("throttled") for e in _events(AuditAction.PASSWORD_RESET_REQUESTED))


def test_requests_are_throttled_per_client_address(app, client, make, smtp):
    app.config["AUTH_RESET_PER_ADDRESS"] = 5
    for n in range(5):
        assert _ask(client, f"person{n}@example.org").status_code == 200
    assert _ask(client, "person9@example.org").status_code == 429


def test_an_empty_or_overlong_address_is_answered_next_to_the_field(client):
    empty = _ask(client, "")
    assert empty.status_code == 200
    assert "Bitte geben Sie Ihre E-Mail-Adresse ein." in empty.get_data(as_text=True)
    long = _ask(client, "a" * 250 + "@example.org")
    assert "Die E-Mail-Adresse ist zu lang." in long.get_data(as_text=True)


def test_the_mail_is_in_english_for_someone_who_reads_english(app, client, make, smtp):
    user = make.user(email="grace@example.org", name="Grace Example")
    user.language = "en"
    db.session.commit()
    _ask(client, "grace@example.org")
    [message] = smtp.wait_for(1)
    assert message.subject == "Set a new password"
    assert "Dear Grace Example," in message.text and "72 hours" in message.text


def test_choosing_a_language_in_the_app_is_remembered_for_mail(app, client, auth, make):
    user = make.user()
    auth.login(user)
    client.get("/sprache/en?next=/")
    db.session.expire_all()
    assert db.session.get(User, user.id).language == "en"


def test_the_old_password_keeps_working_until_the_link_is_used(app, client, make, smtp):
    user = make.user(email="ada@example.org")
    _ask(client, "ada@example.org")
    assert client.post("/anmelden", data={"email": user.email, "password": PASSWORD}).status_code == 302

"""E-mail through a real SMTP server (aiosmtpd on a loopback port): queued in the transaction, sent after commit,
in the recipient's language, with absolute links and attachments; without SMTP settings kept for the admin."""
from __future__ import annotations

import logging

import pytest

from strategy import mail
from strategy.extensions import db
from strategy.models import MailStatus, OutgoingMail
from tests.support.smtp import SmtpServer

BASE_URL = "https://strategie.example/"


@pytest.fixture
def app_config(smtp):
    return {**smtp.config, "BASE_URL": BASE_URL}


def _reset_mail(user, **kwargs):
    return mail.send_mail(user, "password_reset", hours=72,
                          link=mail.absolute_url("auth.set_password", token="abc"), **kwargs)


def test_a_mail_is_sent_only_after_the_transaction_commits(app, make, smtp):
    user = make.user(name="Ada Muster", email="ada@example.org")
    _reset_mail(user)
    db.session.flush()
    assert smtp.messages == []
    db.session.commit()
    [received] = smtp.wait_for(1)
    assert received.envelope_to == ["ada@example.org"]
    assert received.to == "Ada Muster <ada@example.org>"
    assert received.message["From"] == "Gesamtstrategie <noreply@strategie.example>"
    assert received.message["Auto-Submitted"] == "auto-generated"
    assert received.subject == "Neues Passwort setzen"
    assert "Guten Tag Ada Muster," in received.text
    assert "https://strategie.example/passwort-setzen?token=abc" in received.text
    assert 'href="https://strategie.example/passwort-setzen?token=abc"' in received.html
    assert '<html lang="de">' in received.html
    row = db.session.scalar(db.select(OutgoingMail))
    db.session.refresh(row)
    assert row.status == MailStatus.SENT and row.sent_at is not None
    assert row.text_body == "" and row.html_body == ""  # its links do not stay readable in the database


def test_nothing_is_sent_when_the_transaction_rolls_back(app, make, smtp):
    user = make.user()
    _reset_mail(user)
    db.session.rollback()
    db.session.commit()
    assert smtp.messages == []
    assert db.session.scalar(db.select(db.func.count(OutgoingMail.id))) == 0


def test_a_mail_is_written_in_the_recipients_language(app, make, smtp):
    german = make.user(email="de@example.org")
    english = make.user(email="en@example.org", name="Grace Example")
    english.language = "en"
    _reset_mail(german)
    _reset_mail(english)
    db.session.commit()
    smtp.wait_for(2)
    [message] = smtp.to("en@example.org")
    assert message.subject == "Set a new password"
    assert "Dear Grace Example," in message.text
    assert '<html lang="en">' in message.html
    assert smtp.to("de@example.org")[0].subject == "Neues Passwort setzen"


def test_attachments_arrive_with_their_type(app, make, smtp):
    user = make.user()
    ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    _reset_mail(user, attachments=[mail.Attachment("frist.ics", "text/calendar; method=PUBLISH", ics)])
    db.session.commit()
    [received] = smtp.wait_for(1)
    [(filename, content_type, data)] = received.attachments
    assert filename == "frist.ics"
    assert content_type.startswith("text/calendar") and "method=" in content_type
    assert data == ics
    assert received.text  # the text and HTML parts are still there
    assert received.html


def test_a_key_queues_a_message_only_once(app, make, smtp):
    user = make.user()
    assert _reset_mail(user, key="reminder:1:2:3") is not None
    db.session.commit()
    assert _reset_mail(user, key="reminder:1:2:3") is None
    db.session.commit()
    smtp.wait_for(1)
    assert len(smtp.messages) == 1
    assert db.session.scalar(db.select(db.func.count(OutgoingMail.id))) == 1


def test_links_are_absolute_from_base_url_even_outside_a_request(app):
    assert mail.absolute_url("auth.login") == "https://strategie.example/anmelden"
    app.config["BASE_URL"] = "https://example.org/strategie"
    assert mail.absolute_url("auth.login", next="/x") == "https://example.org/strategie/anmelden?next=/x"


@pytest.mark.parametrize("app_config", [{"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": 1, "MAIL_SECURITY": "none",
                                         "MAIL_TIMEOUT": 2}])
def test_an_unreachable_server_leaves_the_mail_failed_and_send_mail_delivers_it_later(app, make, runner):
    user = make.user(email="later@example.org")
    _reset_mail(user)
    db.session.commit()  # no 500, no exception: the mail is marked failed
    row = db.session.scalar(db.select(OutgoingMail))
    db.session.refresh(row)
    assert row.status == MailStatus.FAILED and row.attempts == 1
    assert "ConnectionRefusedError" in row.error
    with SmtpServer() as later:
        app.config.update(later.config)
        result = runner.invoke(args=["send-mail"])
        assert result.exit_code == 0, result.output
        assert "1 E-Mail(s) zugestellt." in result.output
        [received] = later.wait_for(1)
        assert received.envelope_to == ["later@example.org"]
    db.session.refresh(row)
    assert row.status == MailStatus.SENT and row.attempts == 2
    assert runner.invoke(args=["send-mail"]).output.startswith("0 E-Mail(s)")  # sent once, never again


def test_starttls_and_the_server_login_are_used_when_configured(app, make):
    with SmtpServer(starttls_login=True) as server:
        app.config.update(server.config)
        _reset_mail(make.user())
        db.session.commit()
        server.wait_for(1)
        app.config["MAIL_PASSWORD"] = "falsch"  # noqa: S105 (a wrong password on purpose)
        _reset_mail(make.user())
        db.session.commit()
    failed = db.session.scalars(db.select(OutgoingMail).filter_by(status=MailStatus.FAILED)).all()
    assert len(failed) == 1 and "SMTPAuthenticationError" in failed[0].error


@pytest.mark.parametrize("app_config", [{"MAIL_DELIVERY": "background", "BASE_URL": BASE_URL}])
def test_background_delivery_sends_on_a_thread_after_commit(app, make):
    with SmtpServer() as server:
        app.config.update(server.config, MAIL_DELIVERY="background")
        _reset_mail(make.user(email="thread@example.org"))
        db.session.commit()
        [received] = server.wait_for(1)
        mail.wait_for_delivery(app)
    assert received.envelope_to == ["thread@example.org"]


# --- without an SMTP server: the log and the admin area ------------------------------------------

@pytest.mark.parametrize("app_config", [{"BASE_URL": BASE_URL}])
def test_without_smtp_settings_mails_go_to_the_log_and_the_admin_area(app, make, client, auth, caplog):
    user = make.user(name="Ada Muster")
    admin = make.user(admin=True)
    with caplog.at_level(logging.INFO, logger="strategy.mail"):
        _reset_mail(user)
        db.session.commit()
    row = db.session.scalar(db.select(OutgoingMail))
    db.session.refresh(row)
    assert row.status == MailStatus.LOGGED
    [record] = [r for r in caplog.records if r.name == "strategy.mail"]
    assert record.subject == "Neues Passwort setzen" and "Guten Tag Ada Muster" in record.text
    auth.login(admin)
    listing = client.get("/verwaltung/e-mails").get_data(as_text=True)
    assert "Es ist kein SMTP-Server eingerichtet" in listing
    assert user.email in listing and "Neues Passwort setzen" in listing
    detail = client.get(f"/verwaltung/e-mails/{row.id}").get_data(as_text=True)
    assert "https://strategie.example/passwort-setzen?token=abc" in detail


@pytest.mark.parametrize("app_config", [{}])
def test_only_admins_read_the_mails(app, make, client, auth):
    _reset_mail(make.user())
    db.session.commit()
    auth.login(make.user())
    assert client.get("/verwaltung/e-mails").status_code == 403
    assert client.get("/verwaltung/e-mails/1").status_code == 403

"""E-mail: queued in the transaction that causes it, delivered through SMTP only after that transaction commits.

The API is small:

    send_mail(to, template, *, attachments=(), key=None, language=None, **context) -> OutgoingMail | None
        Render templates/mail/<template>.txt (extends mail/_layout.txt; blocks `subject` and `body`) and
        templates/mail/<template>.html (extends mail/_layout.html; block `content`)
        in the recipient's language (`User.language`, else the app's default) and queue the message as an
        `OutgoingMail` row in the current transaction. `to` is a `User` (or a bare address with `language=`).
        The caller commits; nothing is sent if it rolls back. With `key` the message is queued at most once,
        ever (e.g. "reminder:<round>:<stage>:<user>"): a second call with the same key returns None.
        In the templates, `url(endpoint, **values)` builds an absolute link from BASE_URL.
    Attachment(filename, content_type, data)
        e.g. Attachment("frist.ics", "text/calendar; method=PUBLISH", ics_bytes).
    absolute_url(endpoint, **values) -> str
        An absolute link for a mail (BASE_URL, or the current request's address, or http://localhost:5000/).
    deliver_pending() -> int
        Deliver what is queued or failed (`flask send-mail`, e.g. after the SMTP server was down).

Delivery: after the commit, the rows queued by it are delivered on a background thread (MAIL_DELIVERY =
"background", so a request never waits for the SMTP server and a known and an unknown address answer alike),
or before the request returns (MAIL_DELIVERY = "inline"; the tests use it). Each row is claimed with a
compare-and-swap on its status, so two processes never send it twice; the state lives only in the database.

Without MAIL_SERVER (the embedded default) nothing is sent: each message is written to the log and kept, to be
read under /verwaltung/e-mails, so the demo works on a machine without a mail server. A message accepted by
the SMTP server keeps its subject and recipient but not its text (its links, e.g. to set a password, should not
stay readable in the database).
"""
from __future__ import annotations

import base64
import email.policy
import logging
import smtplib
import ssl
import threading
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Iterable
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, request
from flask_babel import force_locale
from sqlalchemy.orm import Session

from .extensions import db
from .models import MailStatus, OutgoingMail, User, dialect_insert, utcnow

logger = logging.getLogger("strategy.mail")

_QUEUED_KEY = "strategy.queued_mail"
# A claimed row whose process died is taken up again after this long.
STUCK_AFTER = timedelta(minutes=10)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "text/calendar; method=PUBLISH"
    data: bytes


# --- links and language --------------------------------------------------------------------------

def base_url() -> str:
    configured = current_app.config.get("BASE_URL")
    if configured:
        return configured.rstrip("/") + "/"
    if has_request_context():
        return request.url_root
    return "http://localhost:5000/"


def absolute_url(endpoint: str, **values) -> str:
    """An absolute link built from BASE_URL, whatever request (or none) is being served."""
    parts = urlsplit(base_url())
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path.rstrip("/") or "/",
                                       url_scheme=parts.scheme)
    anchor = values.pop("_anchor", None)
    url = adapter.build(endpoint, values, force_external=True)
    return f"{url}#{anchor}" if anchor else url


def language_of(user: User | None) -> str:
    languages = tuple(current_app.config["LANGUAGES"])
    chosen = getattr(user, "language", None)
    return chosen if chosen in languages else languages[0]


def babel_locale(language: str) -> str:
    # As the app's locale selector: English with British dates.
    return "en_GB" if language == "en" else language


def render_mail(template: str, language: str, **context) -> tuple[str, str, str]:
    """(subject, text, html) of templates/mail/<template>.txt and .html in `language`."""
    # flask_babel keeps a forced locale in `g`, and ignores force_locale while `g` is still empty.
    g.setdefault("mail_rendering", True)
    env = current_app.jinja_env
    values = {"url": absolute_url, "language": language, "base_url": base_url(), **context}
    with force_locale(babel_locale(language)):
        text_template = env.get_template(f"mail/{template}.txt")
        # The subject is a block the layout never prints; the text is the whole template.
        subject = " ".join("".join(text_template.blocks["subject"](text_template.new_context(values))).split())
        text = text_template.render(values).strip() + "\n"
        html = env.get_template(f"mail/{template}.html").render(subject=subject, **values)
    return subject, text, html


# --- queueing ------------------------------------------------------------------------------------

def send_mail(to: User | str, template: str, *, attachments: Iterable[Attachment] = (), key: str | None = None,
              language: str | None = None, **context) -> OutgoingMail | None:
    """Queue a message in the current transaction; it is delivered once the caller commits."""
    user = to if isinstance(to, User) else None
    address = user.email if user else str(to)
    language = language or language_of(user)
    subject, text, html = render_mail(template, language, recipient=user, **context)
    values = dict(
        key=key, created_at=utcnow(), recipient_id=user.id if user else None, to_address=address,
        language=language, template=template, subject=subject[:300], text_body=text, html_body=html,
        attachments=[{"filename": a.filename, "content_type": a.content_type,
                      "data": base64.b64encode(a.data).decode("ascii")} for a in attachments],
        status=MailStatus.QUEUED, attempts=0, error="",
    )
    if key is None:
        row = OutgoingMail(**values)
        db.session.add(row)
        db.session.flush()
    else:
        inserted = db.session.execute(
            dialect_insert(OutgoingMail).values(**values).on_conflict_do_nothing(index_elements=["key"])
            .returning(OutgoingMail.id)
        ).scalar()
        if inserted is None:
            return None
        row = db.session.get(OutgoingMail, inserted)
    db.session.info.setdefault(_QUEUED_KEY, []).append(row.id)
    return row


@sa.event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    ids = session.info.pop(_QUEUED_KEY, None)
    if not ids:
        return
    app = current_app._get_current_object()
    if app.config.get("MAIL_DELIVERY", "background") == "inline":
        deliver(ids)
        return
    thread = threading.Thread(target=_deliver_in_background, args=(app, ids), name="mail-delivery", daemon=True)
    app.extensions.setdefault("mail_threads", []).append(thread)
    thread.start()


@sa.event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_QUEUED_KEY, None)


def _deliver_in_background(app: Flask, ids: list[int]) -> None:
    with app.app_context():
        try:
            deliver(ids)
        except Exception:  # a thread's exception would vanish; the rows stay queued for `flask send-mail`
            logger.exception("mail delivery failed")
        finally:
            db.session.remove()


def wait_for_delivery(app: Flask, timeout: float = 10) -> None:
    """Wait for background deliveries started so far (tests, and the CLI before it exits)."""
    threads = app.extensions.get("mail_threads", [])
    while threads:
        threads.pop().join(timeout)


# --- delivery ------------------------------------------------------------------------------------

def deliver(ids: Iterable[int]) -> int:
    """Deliver the given rows that are still queued or failed, each on its own session; returns how many."""
    done = 0
    for mail_id in ids:
        with Session(db.engine) as session:
            done += _deliver_one(session, mail_id)
    return done


def deliver_pending() -> int:
    """Deliver everything queued, failed (fewer than MAX_ATTEMPTS tries) or stuck in "sending"."""
    moment = utcnow()
    with Session(db.engine) as session:
        ids = list(session.scalars(
            sa.select(OutgoingMail.id).where(sa.or_(
                OutgoingMail.status == MailStatus.QUEUED,
                sa.and_(OutgoingMail.status == MailStatus.FAILED, OutgoingMail.attempts < MAX_ATTEMPTS),
                sa.and_(OutgoingMail.status == MailStatus.SENDING, OutgoingMail.last_attempt_at < moment - STUCK_AFTER),
            )).order_by(OutgoingMail.id)
        ))
    return deliver(ids)


def _claim(session: Session, mail_id: int) -> bool:
    moment = utcnow()
    claimed = session.execute(
        sa.update(OutgoingMail)
        .where(OutgoingMail.id == mail_id, sa.or_(
            OutgoingMail.status.in_((MailStatus.QUEUED, MailStatus.FAILED)),
            sa.and_(OutgoingMail.status == MailStatus.SENDING, OutgoingMail.last_attempt_at < moment - STUCK_AFTER)))
        .values(status=MailStatus.SENDING, attempts=OutgoingMail.attempts + 1, last_attempt_at=moment)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return claimed == 1


def _deliver_one(session: Session, mail_id: int) -> int:
    if not _claim(session, mail_id):
        return 0
    row = session.get(OutgoingMail, mail_id)
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        logger.info("e-mail not sent (no MAIL_SERVER set); shown under /verwaltung/e-mails",
                    extra={"mail_id": row.id, "to": row.to_address, "subject": row.subject, "text": row.text_body})
        row.status = MailStatus.LOGGED
        row.sent_at = utcnow()
        session.commit()
        return 1
    try:
        _smtp_send(config, build_message(row, config))
    except (OSError, smtplib.SMTPException) as error:
        row.status = MailStatus.FAILED
        row.error = f"{type(error).__name__}: {error}"[:500]
        session.commit()
        logger.warning("e-mail could not be sent", extra={"mail_id": row.id, "error": row.error})
        return 0
    row.status = MailStatus.SENT
    row.sent_at = utcnow()
    row.error = ""
    row.text_body = row.html_body = ""
    row.attachments = [{"filename": a["filename"], "content_type": a["content_type"]} for a in row.attachments]
    session.commit()
    return 1


# Headers are folded only past RFC 5322's 998 characters: the standard library's folding at 78 drops the space
# between an encoded word and the plain word after it ("„Handlungsfeld 1“zur"), so a subject stays on one line.
_POLICY = email.policy.SMTP.clone(max_line_length=998)


def build_message(row: OutgoingMail, config) -> EmailMessage:
    message = EmailMessage(policy=_POLICY)
    message["Subject"] = row.subject
    message["From"] = config["MAIL_SENDER"]
    name = row.recipient.name if row.recipient_id and (row.recipient is not None) else ""
    message["To"] = formataddr((name, row.to_address))
    message["Date"] = formatdate(utcnow().timestamp(), localtime=False)
    message["Message-ID"] = make_msgid(domain=urlsplit(base_url()).hostname or "localhost")
    message["Content-Language"] = row.language
    message["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to a notification
    message.set_content(row.text_body)
    message.add_alternative(row.html_body, subtype="html")
    for attachment in row.attachments:
        kind, *parameters = [part.strip() for part in attachment["content_type"].split(";")]
        maintype, subtype = kind.split("/", 1)
        params = dict(part.split("=", 1) for part in parameters if "=" in part)
        message.add_attachment(base64.b64decode(attachment["data"]), maintype=maintype, subtype=subtype,
                               filename=attachment["filename"], params=params)
    return message


def _smtp_send(config, message: EmailMessage) -> None:
    host, port = config["MAIL_SERVER"], int(config["MAIL_PORT"])
    security = (config.get("MAIL_SECURITY") or "starttls").lower()
    timeout = config.get("MAIL_TIMEOUT", 30)
    context = ssl.create_default_context(cafile=config.get("MAIL_CA_FILE") or None)
    if security == "tls":
        connection: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        connection = smtplib.SMTP(host, port, timeout=timeout)
    with connection:
        if security == "starttls":
            connection.starttls(context=context)
        if config.get("MAIL_USERNAME"):
            connection.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        connection.send_message(message)

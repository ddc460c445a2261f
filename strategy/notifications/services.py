"""Notifications: who hears about what, in the app and by e-mail. An extensible registry of kinds.

A kind says how a notification reads and where it leads; the built-in ones (notifications/kinds.py) cover
review (a field submitted, returned, approved; a comment or reply) and a step assigned to a person. Another
part of the app adds its own (e.g. "round opened", "deadline near") like this:

    from strategy.notifications import Delivery, NotificationKind, notify, register_kind

    ROUND_OPENED = register_kind(NotificationKind(
        key="round_opened",                                   # stored in notification.kind (≤ 40 chars)
        label=_l("Eine Berichtsrunde wurde eröffnet"),        # the preferences page
        text=lambda n: _("%(actor)s hat die Berichtsrunde „%(title)s“ eröffnet.",
                         actor=actor_name(n), title=n.params["title"]),
        target=lambda n: ("rounds.board", {"round_id": int(n.object_id)}),   # endpoint and values, or None
        default=Delivery.IMMEDIATELY,                         # until the person chooses otherwise
    ))

    notify(ROUND_OPENED, recipients, actor=user, may_read=lambda u: can_view_round(u, round_),
           strategy=round_.strategy, object_type="round", object_id=round_.id, params={"title": round_.title})

`notify` (in the caller's transaction; the caller commits) leaves out the actor (nobody is notified of
their own action), inactive accounts, everyone `may_read` refuses (ask permissions.py / reading.py) and everyone
who switched the kind off; it writes one `Notification` per remaining person and, for those who chose
"immediately", queues the e-mail (strategy/mail.py, template mail/notification). `text` and `target` run
when the notification is shown or mailed, in the reader's language; `params` holds what they need that
the objects do not (a comment as it was written). `n.params.get("quote")` is shown as a quotation.

`send_digests()` (`flask send-digests`, once a day from cron or a systemd timer) mails each person who chose
"daily digest" for some kind one message listing their unread notifications of those kinds not mailed yet;
a notification read in the app stays out of it. Idempotent: the digest mail's key is the person and the day
(`OutgoingMail.key`, unique), so a second run, or two at once, send nothing more that day.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import sqlalchemy as sa
from flask_babel import gettext as _

from ..days import local_today
from ..extensions import db
from ..mail import absolute_url, send_mail
from ..models import Delivery, Field, Notification, NotificationPreference, Strategy, User, utcnow

Target = tuple[str, dict[str, Any]] | None


@dataclass(frozen=True)
class NotificationKind:
    key: str
    label: Any  # a lazy string
    text: Callable[[Notification], str]
    target: Callable[[Notification], Target]
    default: Delivery = Delivery.IMMEDIATELY


KINDS: dict[str, NotificationKind] = {}


def register_kind(kind: NotificationKind) -> NotificationKind:
    if kind.key in KINDS and KINDS[kind.key] != kind:
        raise ValueError(f"notification kind {kind.key!r} registered twice")
    KINDS[kind.key] = kind
    return kind


def kind_of(notification: Notification) -> NotificationKind | None:
    return KINDS.get(notification.kind)


def actor_name(notification: Notification) -> str:
    actor = notification.actor
    return actor.name if actor is not None else _("Jemand")


# --- preferences ---------------------------------------------------------------------------------

def preferences(user: User) -> dict[str, Delivery]:
    """Every kind's delivery for this person (their choice, else the kind's default)."""
    chosen = {row.kind: row.delivery for row in db.session.scalars(
        sa.select(NotificationPreference).filter_by(user_id=user.id))}
    return {key: chosen.get(key, kind.default) for key, kind in KINDS.items()}


def set_preferences(user: User, choices: dict[str, Delivery]) -> None:
    """Store the person's choices (the caller commits)."""
    rows = {row.kind: row for row in db.session.scalars(
        sa.select(NotificationPreference).filter_by(user_id=user.id))}
    for key, delivery in choices.items():
        if key not in KINDS:
            continue
        row = rows.get(key)
        if row is None:
            db.session.add(NotificationPreference(user_id=user.id, kind=key, delivery=delivery))
        else:
            row.delivery = delivery


# --- writing -------------------------------------------------------------------------------------

def notify(kind: NotificationKind, recipients: Iterable[User], *, actor: User | None,
           may_read: Callable[[User], bool], strategy: Strategy | None = None, field: Field | None = None,
           object_type: str = "", object_id: int | str = "", params: dict | None = None,
           mail: bool = True) -> list[Notification]:
    """Notify each recipient who may read it, except the actor and those who switched the kind off.

    `mail=False`: the caller mails the notifications itself (a round's reminder digest, with its .ics, is the
    "deadline near" notification's e-mail) and sets their `emailed_at`."""
    if kind.key not in KINDS:
        raise ValueError(f"unknown notification kind {kind.key!r}")
    seen: set[int] = set()
    written = []
    moment = utcnow()
    for user in recipients:
        if user is None or user.id in seen or not user.active or (actor is not None and user.id == actor.id):
            continue
        seen.add(user.id)
        if not may_read(user):
            continue
        delivery = preferences(user)[kind.key]
        if delivery == Delivery.OFF:
            continue
        notification = Notification(user=user, kind=kind.key, actor=actor, strategy=strategy or (field.strategy if field else None),
                                    field=field, object_type=object_type, object_id=str(object_id),
                                    params=params or {}, created_at=moment)
        db.session.add(notification)
        written.append(notification)
        if delivery == Delivery.IMMEDIATELY and mail:
            db.session.flush()
            send_mail(user, "notification", notification=notification, kind=kind,
                      link=absolute_url("notifications.open", notification_id=notification.id))
            notification.emailed_at = moment
    return written


# --- reading -------------------------------------------------------------------------------------

def unread_count(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count(Notification.id))
                             .where(Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def notifications_of(user: User, *, page: int):
    query = (sa.select(Notification).where(Notification.user_id == user.id)
             .order_by(Notification.created_at.desc(), Notification.id.desc())
             .options(sa.orm.selectinload(Notification.actor), sa.orm.selectinload(Notification.field)))
    return db.paginate(query, page=page, per_page=50, error_out=False)


def own_notification(user: User, notification_id: int) -> Notification | None:
    notification = db.session.get(Notification, notification_id)
    return notification if notification is not None and notification.user_id == user.id else None


def mark_read(notification: Notification) -> None:
    if notification.read_at is None:
        notification.read_at = utcnow()


def mark_all_read(user: User) -> int:
    return db.session.execute(
        sa.update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount


def target_path(notification: Notification) -> str | None:
    """Where the notification leads, as a path of this app (None: nowhere any more)."""
    from flask import url_for

    kind = kind_of(notification)
    target = kind.target(notification) if kind else None
    if target is None:
        return None
    endpoint, values = target
    return url_for(endpoint, **values)


def describe(notification: Notification) -> str:
    kind = kind_of(notification)
    return kind.text(notification) if kind else notification.kind


# --- digests -------------------------------------------------------------------------------------

def send_digests() -> int:
    """One digest mail per person with unread, unmailed notifications of kinds they get daily; returns how
    many were queued. Each person is one transaction; the mail's key (person, day) makes it idempotent."""
    day = local_today().isoformat()
    digest_kinds = _digest_kinds_by_user()
    sent = 0
    for user_id, kinds in digest_kinds.items():
        user = db.session.get(User, user_id)
        if user is None or not user.active:
            continue
        items = db.session.scalars(
            sa.select(Notification).where(Notification.user_id == user_id, Notification.kind.in_(kinds),
                                          Notification.read_at.is_(None), Notification.emailed_at.is_(None))
            .order_by(Notification.created_at, Notification.id)
        ).all()
        if not items:
            continue
        queued = send_mail(user, "digest", key=f"digest:{user_id}:{day}",
                           items=[(n, absolute_url("notifications.open", notification_id=n.id)) for n in items],
                           describe=describe, notifications_url=absolute_url("notifications.index"),
                           preferences_url=absolute_url("notifications.preferences"))
        if queued is not None:
            moment = utcnow()
            for n in items:
                n.emailed_at = moment
            sent += 1
        db.session.commit()
    return sent


def _digest_kinds_by_user() -> dict[int, set[str]]:
    """For each person with unmailed unread notifications: the kinds they get as a digest."""
    candidates = db.session.execute(
        sa.select(Notification.user_id, Notification.kind).distinct()
        .where(Notification.read_at.is_(None), Notification.emailed_at.is_(None))
    ).all()
    chosen = {(row.user_id, row.kind): row.delivery for row in db.session.scalars(
        sa.select(NotificationPreference).where(
            NotificationPreference.user_id.in_({user_id for user_id, _kind in candidates})))}
    result: dict[int, set[str]] = {}
    for user_id, key in candidates:
        kind = KINDS.get(key)
        if kind is not None and chosen.get((user_id, key), kind.default) == Delivery.DIGEST:
            result.setdefault(user_id, set()).add(key)
    return result

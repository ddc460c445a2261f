"""Reminders of a round's deadlines (`flask send-reminders`, run daily by a systemd timer or cron).

One digest per person per stage, listing only that person's items, never one mail per item:
- "Aktualisierung bis": each coordinator, with their fields whose task is still offen or aktualisiert;
- "Prüfung bis": each steering member, with the submitted fields they may review (never their own);
- "Fassung": each steering member, while the round has no edition yet, with the fields not yet approved.
A digest goes out once a stage's deadline is REMINDER_WORKING_DAYS working days away or nearer (and on the
day itself), with an .ics of the deadline.

Each digest is also a "deadline near" notification in the app (rounds/notices.py): the person's choice
for that kind decides whether the digest is mailed now (immediately, the default), left to the
notifications' daily digest, or not sent at all (off).

Idempotent: each digest first claims its `ReminderSent` row (unique per person, round, stage and kind; an
INSERT that does nothing when the row exists) and queues its mail in the same transaction, under the same key.
On PostgreSQL the run also holds a transaction-level advisory lock, so a second run started at the same
moment waits for the first to commit and then finds every digest claimed. Mail is delivered after the commit
(strategy.mail).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app, g
from flask_babel import force_locale
from icalendar import Calendar, Event
from sqlalchemy.orm import selectinload

from ..days import working_days_between
from ..extensions import db
from ..mail import Attachment, absolute_url, babel_locale, base_url, language_of, send_mail
from ..models import (
    Delivery,
    Field,
    Membership,
    ReminderKind,
    ReminderSent,
    ReportingRound,
    Role,
    RoundStage,
    RoundStatus,
    StageKind,
    TaskState,
    User,
    dialect_insert,
    utcnow,
)
from ..notifications.services import preferences
from ..permissions import can_edit_field, can_review_field
from .notices import DEADLINE_NEAR, deadline_near
from .services import task_state, tasks_of

# How many working days before a deadline its digest goes out.
REMINDER_WORKING_DAYS = 3
# The advisory lock's key: a fixed number, the same in every process (crc32 of the command's name).
ADVISORY_LOCK_KEY = zlib.crc32(b"strategy.send-reminders")


@dataclass
class Item:
    field: Field
    state: TaskState


@dataclass
class Digest:
    user: User
    round: ReportingRound
    stage: RoundStage
    items: list[Item]
    kind: ReminderKind = ReminderKind.DEADLINE_NEAR

    @property
    def key(self) -> str:
        return f"reminder:{self.round.id}:{self.stage.kind.value}:{self.kind.value}:{self.user.id}"


def _steering(reporting_round: ReportingRound) -> list[User]:
    return list(db.session.scalars(
        sa.select(User).join(Membership).where(Membership.strategy_id == reporting_round.strategy_id,
                                               Membership.role == Role.STEERING, User.active.is_(True))
        .order_by(User.id)
    ))


def _near(stage: RoundStage, today: date, bundesland: str) -> bool:
    if stage.due_on < today:
        return False
    return working_days_between(today, stage.due_on, bundesland) <= REMINDER_WORKING_DAYS


def digests(today: date) -> list[Digest]:
    """Every digest that is due today (claimed or not), one per person per stage."""
    found: list[Digest] = []
    rounds = db.session.scalars(
        sa.select(ReportingRound).where(ReportingRound.status == RoundStatus.OPEN)
        .options(selectinload(ReportingRound.stages), selectinload(ReportingRound.strategy))
        .order_by(ReportingRound.id)
    )
    for reporting_round in rounds:
        stages = [s for s in reporting_round.stages if _near(s, today, reporting_round.strategy.bundesland)]
        if not stages:
            continue
        tasks = [(task, task_state(task)) for task in tasks_of(reporting_round) if not task.field.is_archived]
        steering = _steering(reporting_round)
        for stage in stages:
            per_user: dict[int, Digest] = {}

            def add(user: User, item: Item, stage=stage, per_user=per_user, reporting_round=reporting_round) -> None:
                digest = per_user.setdefault(user.id, Digest(user, reporting_round, stage, []))
                digest.items.append(item)

            for task, state in tasks:
                if stage.kind == StageKind.UPDATE and state in (TaskState.OPEN, TaskState.UPDATED):
                    for assignment in task.field.assignments:
                        if assignment.user.active and can_edit_field(assignment.user, task.field):
                            add(assignment.user, Item(task.field, state))
                elif stage.kind == StageKind.REVIEW and state == TaskState.SUBMITTED:
                    for user in steering:
                        if can_review_field(user, task.field):
                            add(user, Item(task.field, state))
                elif (stage.kind == StageKind.EDITION and reporting_round.edition_id is None
                      and state != TaskState.APPROVED):
                    for user in steering:
                        add(user, Item(task.field, state))
            if stage.kind == StageKind.EDITION and reporting_round.edition_id is None and not per_user:
                # everything is approved: the edition itself is what is due
                for user in steering:
                    per_user[user.id] = Digest(user, reporting_round, stage, [])
            found.extend(per_user.values())
    return found


def deadline_ics(digest: Digest) -> bytes:
    """The stage's deadline as an all-day event, in the recipient's language."""
    reporting_round, stage = digest.round, digest.stage
    calendar = Calendar()
    calendar.add("prodid", "-//Gesamtstrategie//Berichtsrunden//DE")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    host = base_url().split("//", 1)[-1].split("/", 1)[0] or "localhost"
    event.add("uid", f"round-{reporting_round.id}-{stage.kind.value}@{host}")
    event.add("dtstamp", utcnow())
    event.add("dtstart", stage.due_on)
    event.add("dtend", stage.due_on + timedelta(days=1))
    event.add("summary", f"{stage.kind.label}: {reporting_round.title}")
    event.add("description", absolute_url("rounds.round_page", slug=reporting_round.strategy.slug,
                                          round_id=reporting_round.id))
    event.add("transp", "TRANSPARENT")
    calendar.add_component(event)
    return calendar.to_ical()


def _claim(digest: Digest) -> bool:
    """Insert the digest's unique row; False when another run (or an earlier one) already has it."""
    claimed = db.session.execute(
        dialect_insert(ReminderSent).values(user_id=digest.user.id, round_id=digest.round.id, stage=digest.stage.kind,
                                    kind=digest.kind, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id", "round_id", "stage", "kind"])
        .returning(ReminderSent.id)
    ).scalar()
    return claimed is not None


def send_reminders(today: date) -> int:
    """Queue every due digest not yet sent; returns how many. The caller commits (then mail goes out)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    sent = 0
    for digest in digests(today):
        if not _claim(digest):
            continue
        # The "deadline near" notification in the app; its e-mail is this digest, if the person wants it now.
        written = deadline_near(digest.user, digest.round, digest.stage.kind, digest.stage.due_on,
                                len(digest.items))
        if not written or preferences(digest.user)[DEADLINE_NEAR.key] != Delivery.IMMEDIATELY:
            continue  # switched off, or left for the notifications' daily digest
        for notification in written:
            notification.emailed_at = utcnow()
        g.setdefault("mail_rendering", True)  # flask_babel ignores force_locale while `g` is empty (mail.py)
        with force_locale(babel_locale(language_of(digest.user))):
            ics = deadline_ics(digest)
        send_mail(digest.user, "round_reminder", key=digest.key,
                  attachments=[Attachment("frist.ics", "text/calendar; method=PUBLISH; charset=utf-8", ics)],
                  round=digest.round, stage=digest.stage, items=digest.items, today=today,
                  days_left=(digest.stage.due_on - today).days, for_steering=digest.stage.kind != StageKind.UPDATE)
        sent += 1
    current_app.logger.info("send-reminders: %d digest(s) queued for %s", sent, today.isoformat())
    return sent

"""The notification kinds of reporting rounds, registered with strategy.notifications: "a round was opened"
(to its coordinators and the strategy's steering) and "a deadline is near" (written by `flask send-reminders`;
its e-mail is the reminder digest with the .ics, so the person's choice decides: immediately = the digest now,
daily digest = in the notifications' daily digest, off = nothing)."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import FieldAssignment, Membership, Notification, ReportingRound, Role, StageKind, User
from ..notifications import NotificationKind, actor_name, notify, register_kind
from ..permissions import can_view_rounds


def _round_page(notification: Notification):
    strategy = notification.strategy
    if strategy is None or not notification.object_id.isdigit():
        return None
    return "rounds.round_page", {"slug": strategy.slug, "round_id": int(notification.object_id)}


def _day(value: str) -> str:
    return format_date(date.fromisoformat(value))


ROUND_OPENED = register_kind(NotificationKind(
    key="round_opened", label=_l("Eine Berichtsrunde wurde eröffnet"),
    text=lambda n: _("%(actor)s hat die Berichtsrunde „%(title)s“ eröffnet (Sitzung am %(day)s).",
                     actor=actor_name(n), title=n.params.get("title", ""), day=_day(n.params["meeting_on"])),
    target=_round_page,
))
DEADLINE_NEAR = register_kind(NotificationKind(
    key="deadline_near", label=_l("Eine Frist einer Berichtsrunde rückt näher"),
    text=lambda n: ngettext(
        "„%(stage)s“ %(day)s (Berichtsrunde „%(title)s“): %(num)d Handlungsfeld steht bei Ihnen noch aus.",
        "„%(stage)s“ %(day)s (Berichtsrunde „%(title)s“): %(num)d Handlungsfelder stehen bei Ihnen noch aus.",
        n.params.get("count", 0), stage=StageKind(n.params["stage"]).label, day=_day(n.params["due_on"]),
        title=n.params.get("title", "")),
    target=_round_page,
))


def round_opened(reporting_round: ReportingRound, actor: User) -> list[Notification]:
    """To the coordinators of the round's fields and the strategy's steering (not to whoever opened it)."""
    field_ids = [task.field_id for task in reporting_round.tasks]
    coordinators = db.session.scalars(
        sa.select(User).join(FieldAssignment).where(FieldAssignment.field_id.in_(field_ids)).order_by(User.id)
    ) if field_ids else []
    steering = db.session.scalars(
        sa.select(User).join(Membership).where(Membership.strategy_id == reporting_round.strategy_id,
                                                Membership.role == Role.STEERING).order_by(User.id))
    strategy = reporting_round.strategy
    return notify(ROUND_OPENED, [*coordinators, *steering], actor=actor,
                  may_read=lambda user: can_view_rounds(user, strategy), strategy=strategy,
                  object_type="round", object_id=reporting_round.id,
                  params={"title": reporting_round.title, "meeting_on": reporting_round.meeting_on.isoformat()})


def deadline_near(user: User, reporting_round: ReportingRound, stage_kind: StageKind, due_on: date,
                  count: int) -> list[Notification]:
    """The in-app side of a reminder digest; the caller mails it (or leaves it to the daily digest)."""
    strategy = reporting_round.strategy
    return notify(DEADLINE_NEAR, [user], actor=None, may_read=lambda u: can_view_rounds(u, strategy),
                  strategy=strategy, object_type="round", object_id=reporting_round.id, mail=False,
                  params={"title": reporting_round.title, "stage": stage_kind.value, "due_on": due_on.isoformat(),
                          "count": count})

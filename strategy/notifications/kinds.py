"""The built-in notification kinds and the domain actions that raise them (called by review and records services).

Each hook decides the recipients and asks permissions.py whether each may read what the notification shows;
notify() leaves out the actor and whoever switched the kind off.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Field, FieldAssignment, Membership, NextStep, ReviewComment, Role, User
from ..permissions import can_review_field, can_view_drafts, can_view_review
from .services import Delivery, NotificationKind, actor_name, notify, register_kind

QUOTE_MAX = 500


def _field_name(notification) -> str:
    field = notification.field
    if field is None:
        return _("ein Handlungsfeld")
    return _("HF %(number)d „%(title)s“", number=field.number, title=field.title)


def _field_review(notification):
    field = notification.field
    if field is None:
        return None
    return "fields.field_page", {"slug": field.strategy.slug, "number": field.number, "_anchor": "pruefung"}


def _field_steps(notification):
    field = notification.field
    if field is None:
        return None
    return "fields.field_page", {"slug": field.strategy.slug, "number": field.number,
                                 "_anchor": f"schritt-{notification.object_id}"}


FIELD_SUBMITTED = register_kind(NotificationKind(
    key="field_submitted", label=_l("Ein Handlungsfeld wurde zur Prüfung eingereicht"),
    text=lambda n: _("%(actor)s hat %(field)s zur Prüfung eingereicht.", actor=actor_name(n), field=_field_name(n)),
    target=_field_review,
))
FIELD_RETURNED = register_kind(NotificationKind(
    key="field_returned", label=_l("Mein Handlungsfeld wurde zurückgegeben"),
    text=lambda n: _("%(actor)s hat %(field)s zur Überarbeitung zurückgegeben.", actor=actor_name(n),
                     field=_field_name(n)),
    target=_field_review,
))
FIELD_APPROVED = register_kind(NotificationKind(
    key="field_approved", label=_l("Mein Handlungsfeld wurde freigegeben"),
    text=lambda n: _("%(actor)s hat %(field)s freigegeben.", actor=actor_name(n), field=_field_name(n)),
    target=_field_review,
))
REVIEW_COMMENT = register_kind(NotificationKind(
    key="review_comment", label=_l("Kommentare und Antworten in der Prüfung"),
    text=lambda n: (_("%(actor)s hat auf einen Kommentar zu %(field)s geantwortet.", actor=actor_name(n),
                      field=_field_name(n)) if n.params.get("reply")
                    else _("%(actor)s hat %(field)s kommentiert.", actor=actor_name(n), field=_field_name(n))),
    target=_field_review, default=Delivery.DIGEST,
))
STEP_ASSIGNED = register_kind(NotificationKind(
    key="step_assigned", label=_l("Mir wurde ein Schritt zugewiesen"),
    text=lambda n: _("%(actor)s hat Ihnen in %(field)s einen Schritt zugewiesen.", actor=actor_name(n),
                     field=_field_name(n)),
    target=_field_steps,
))


def _quote(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= QUOTE_MAX else text[:QUOTE_MAX - 1] + "…"


def _steering(field: Field) -> list[User]:
    return list(db.session.scalars(
        sa.select(User).join(Membership).where(Membership.strategy_id == field.strategy_id,
                                                Membership.role == Role.STEERING)
        .order_by(User.id)))


def _coordinators(field: Field) -> list[User]:
    return list(db.session.scalars(
        sa.select(User).join(FieldAssignment).where(FieldAssignment.field_id == field.id).order_by(User.id)))


def field_submitted(field: Field, actor: User) -> None:
    """To the strategy's steering members who may review this field (not those who coordinate it)."""
    notify(FIELD_SUBMITTED, _steering(field), actor=actor, may_read=lambda u: can_review_field(u, field),
           field=field, object_type="field", object_id=field.id)


def field_returned(field: Field, actor: User, comment: ReviewComment) -> None:
    notify(FIELD_RETURNED, _coordinators(field), actor=actor, may_read=lambda u: can_view_review(u, field),
           field=field, object_type="review_comment", object_id=comment.id, params={"quote": _quote(comment.body)})


def field_approved(field: Field, actor: User) -> None:
    notify(FIELD_APPROVED, _coordinators(field), actor=actor, may_read=lambda u: can_view_review(u, field),
           field=field, object_type="field", object_id=field.id)


def review_comment(comment: ReviewComment, actor: User) -> None:
    """A new thread: to the field's coordinators. A reply: to everyone who wrote in the thread, and them."""
    db.session.flush()  # the comment's id, for the notification to name it
    field = comment.field
    recipients = _coordinators(field)
    root = comment.parent
    if root is not None:
        authors = [root.author, *(reply.author for reply in root.replies)]
        recipients = [author for author in authors if author is not None] + recipients
    notify(REVIEW_COMMENT, recipients, actor=actor, may_read=lambda u: can_view_review(u, field), field=field,
           object_type="review_comment", object_id=comment.id,
           params={"quote": _quote(comment.body), **({"reply": True} if root is not None else {})})


def step_assigned(step: NextStep, actor: User) -> None:
    """To the step's responsible person if they have an account and may read the live row the step is in."""
    person = step.responsible_person
    user = person.user if person is not None else None
    if user is None:
        return
    field = step.field
    notify(STEP_ASSIGNED, [user], actor=actor, may_read=lambda u: can_view_drafts(u, field.strategy), field=field,
           object_type="next_step", object_id=step.id, params={"quote": _quote(step.description)})

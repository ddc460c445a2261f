"""Review of a field's row (submit, return, approve), its comment thread, and editions.

Every transition is a compare-and-swap on review_state, so two people acting at once cannot both win,
and writes a Revision of kind REVIEW, so it is part of the field's history. Views commit.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import ngettext

from ..audit import AuditAction, record_event
from ..comparison import FieldComparison, compare_fields, current_approved_content
from ..extensions import db
from ..fields.services import load_field_row
from ..framework import COLUMN_LABELS
from ..models import Edition, Field, ReviewComment, ReviewState, Revision, RevisionKind, Strategy, User, utcnow
from ..notifications import kinds as notices
from ..revisions import record_change
from ..snapshots import Snapshot, field_snapshot
from ..summaries import Summary, summary

COMMENT_MAX = 5000


class ReviewError(Exception):
    """A transition or comment that is not possible now; the message is for the user (German)."""


def content_fingerprint(snapshot: Snapshot | None) -> str:
    """A short hash of a row's content: the approval form carries it, so steering approves what it read."""
    data = json.dumps(snapshot or {}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:32]


def _transition(field: Field, allowed_from: tuple[ReviewState, ...], to: ReviewState) -> None:
    result = db.session.execute(
        db.update(Field)
        .where(Field.id == field.id, Field.review_state.in_(allowed_from))
        .values(review_state=to)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(field)
        raise ReviewError(_("Das ist im Status „%(state)s“ nicht möglich. Die Seite zeigt jetzt den aktuellen Stand.",
                            state=field.review_state.label))
    field.review_state = to


def _review_revision(field: Field, author: User, step: Summary) -> Revision:
    """The review step as a revision of the row as it now stands (the approved snapshot, for an approval)."""
    return record_change(field, author, RevisionKind.REVIEW, None, step)


def _clean(text: str | None) -> str:
    return (text or "").replace("\x00", "").strip()


def submit(field: Field, user: User) -> Revision:
    """Entwurf or zurückgegeben → zur Prüfung."""
    _transition(field, (ReviewState.DRAFT, ReviewState.RETURNED), ReviewState.SUBMITTED)
    record_event(AuditAction.FIELD_SUBMITTED, user, object_type="field", object_id=str(field.id))
    notices.field_submitted(field, user)
    return _review_revision(field, user, summary("submitted"))


def return_field(field: Field, user: User, comment: str, column: str | None = None) -> ReviewComment:
    """zur Prüfung → zurückgegeben, with a comment that says what to change."""
    body = _clean(comment)
    if not body:
        raise ReviewError(_("Bitte schreiben Sie, was geändert werden soll."))
    _check_column(column)
    _transition(field, (ReviewState.SUBMITTED,), ReviewState.RETURNED)
    thread = _new_comment(field, user, body, column)
    record_event(AuditAction.FIELD_RETURNED, user, object_type="field", object_id=str(field.id))
    db.session.flush()
    notices.field_returned(field, user, thread)
    _review_revision(field, user, summary("returned", comment=body[:400]))
    return thread


def approve(field: Field, user: User, seen_fingerprint: str) -> Revision:
    """zur Prüfung → freigegeben: the row as it stands (and as the reviewer read it) becomes public."""
    snapshot = field_snapshot(load_field_row(field.id))
    if seen_fingerprint != content_fingerprint(snapshot):
        raise ReviewError(_("Der Inhalt hat sich geändert, seit Sie die Seite geladen haben. "
                            "Bitte prüfen Sie den aktuellen Stand und geben Sie ihn dann frei."))
    _transition(field, (ReviewState.SUBMITTED,), ReviewState.APPROVED)
    field.approved_content = snapshot
    field.approved_at = utcnow()
    field.approved_by = user
    record_event(AuditAction.FIELD_APPROVED, user, object_type="field", object_id=str(field.id))
    notices.field_approved(field, user)
    return _review_revision(field, user, summary("approved"))


# --- comments ------------------------------------------------------------------------------------

def _check_column(column: str | None) -> None:
    if column and column not in COLUMN_LABELS:
        raise ReviewError(_("Diese Spalte gibt es nicht."))


def _check_body(body: str) -> str:
    body = _clean(body)
    if not body:
        raise ReviewError(_("Bitte geben Sie einen Kommentar ein."))
    if len(body) > COMMENT_MAX:
        raise ReviewError(_("Ein Kommentar darf höchstens %(max)d Zeichen lang sein.", max=COMMENT_MAX))
    return body


def _new_comment(field: Field, user: User, body: str, column: str | None,
                 parent: ReviewComment | None = None) -> ReviewComment:
    comment = ReviewComment(field=field, parent=parent, column=column or None, body=body, author=user,
                            author_name=user.name)
    db.session.add(comment)
    return comment


def add_comment(field: Field, user: User, body: str, column: str | None = None) -> ReviewComment:
    _check_column(column)
    comment = _new_comment(field, user, _check_body(body), column)
    notices.review_comment(comment, user)
    return comment


def reply(comment: ReviewComment, user: User, body: str) -> ReviewComment:
    """Answer a thread; an answer to an answer joins the same thread (threads are one level deep)."""
    root = comment.parent or comment
    answer = _new_comment(root.field, user, _check_body(body), None, parent=root)
    notices.review_comment(answer, user)
    return answer


def resolve(comment: ReviewComment, user: User) -> None:
    root = comment.parent or comment
    if root.resolved_at is None:
        root.resolved_at = utcnow()
        root.resolved_by = user
        root.resolved_by_name = user.name


def reopen(comment: ReviewComment) -> None:
    root = comment.parent or comment
    root.resolved_at = None
    root.resolved_by = None
    root.resolved_by_name = ""


def threads(field: Field) -> list[ReviewComment]:
    """The field's comment threads, open ones first, newest first within each, with their answers."""
    roots = db.session.scalars(
        db.select(ReviewComment)
        .filter_by(field_id=field.id, parent_id=None)
        .order_by(ReviewComment.created_at.desc(), ReviewComment.id.desc())
        .options(db.selectinload(ReviewComment.replies))
    ).all()
    return sorted(roots, key=lambda c: c.is_resolved)


# --- what differs from the approved version ------------------------------------------------------

@dataclass
class ReviewChanges:
    """The live row against its approved snapshot, keyed by framework column for the row's markers."""

    comparison: FieldComparison
    by_column: dict[str, dict]

    @property
    def has_changes(self) -> bool:
        return self.comparison.has_changes

    def record_lines(self) -> list[tuple[str, str]]:
        """(text, column key) per kind of step and financing change ("2 Schritte hinzugefügt"), for the
        review box; the column key names the column whose "geändert seit Freigabe" shows the diff."""
        lines = []
        for column, records, texts in (("next_steps", self.comparison.steps, _STEP_COUNTS),
                                       ("financing_notes", self.comparison.financing_items, _FINANCING_COUNTS)):
            for kind, text in texts.items():
                count = sum(1 for record in records if record.kind == kind)
                if count:
                    lines.append((text(count), column))
        return lines


# Spelled out per kind, so each phrase is translated whole (ngettext needs literal strings).
_STEP_COUNTS = {
    "added": lambda n: ngettext("%(num)d Schritt hinzugefügt", "%(num)d Schritte hinzugefügt", n),
    "changed": lambda n: ngettext("%(num)d Schritt geändert", "%(num)d Schritte geändert", n),
    "closed": lambda n: ngettext("%(num)d Schritt abgeschlossen", "%(num)d Schritte abgeschlossen", n),
    "removed": lambda n: ngettext("%(num)d Schritt entfernt", "%(num)d Schritte entfernt", n),
}
_FINANCING_COUNTS = {
    "added": lambda n: ngettext("%(num)d Finanzierung hinzugefügt", "%(num)d Finanzierungen hinzugefügt", n),
    "changed": lambda n: ngettext("%(num)d Finanzierung geändert", "%(num)d Finanzierungen geändert", n),
    "removed": lambda n: ngettext("%(num)d Finanzierung entfernt", "%(num)d Finanzierungen entfernt", n),
}


def changes_since_approval(field: Field, live_row: Snapshot) -> ReviewChanges | None:
    """None when there is no approved version to compare with."""
    if not field.approved_content:
        return None
    comparison = compare_fields(field.approved_content, live_row)
    by_column: dict[str, dict] = {}
    for change in comparison.columns:
        by_column.setdefault(change.key, {"text": None, "records": []})["text"] = change
    if comparison.steps:
        by_column.setdefault("next_steps", {"text": None, "records": []})["records"] = comparison.steps
    if comparison.financing_items:
        by_column.setdefault("financing_notes", {"text": None, "records": []})["records"] = comparison.financing_items
    return ReviewChanges(comparison, by_column)


# --- editions ------------------------------------------------------------------------------------

def create_edition(strategy: Strategy, user: User, title: str, decided_on: date) -> Edition:
    """Freeze today's approved state of every field; drafts never go into an edition."""
    content = current_approved_content(strategy)
    if not content["fields"]:
        raise ReviewError(_("Es ist noch kein Handlungsfeld freigegeben; eine Fassung wäre leer."))
    edition = Edition(strategy=strategy, title=_clean(title), decided_on=decided_on, content=content,
                      created_by=user, created_by_name=user.name)
    db.session.add(edition)
    record_event(AuditAction.EDITION_CREATED, user, object_type="strategy", object_id=str(strategy.id),
                 detail={"title": edition.title})
    return edition


def editions_of(strategy: Strategy) -> list[Edition]:
    return list(db.session.scalars(
        db.select(Edition).filter_by(strategy_id=strategy.id).order_by(Edition.created_at.desc(), Edition.id.desc())
    ))

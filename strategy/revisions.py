"""Writing a field's history. Every change to anything a row shows goes through record_change(), and so does
every step of its review (submitted, returned, approved): the history and "what changed recently" read one table.
"""
from __future__ import annotations

import sqlalchemy as sa

from .extensions import db
from .models import Field, ReviewState, Revision, RevisionKind, User, utcnow
from .snapshots import Snapshot, changed_keys, field_snapshot
from .summaries import LEGACY_APPROVED_TEXT, NOTE, Summary


def record_change(field: Field, author: User | None, kind: RevisionKind, before: Snapshot | None,
                  summary: Summary | str | None = None) -> Revision | None:
    """Write an immutable revision if the row's content differs from `before`; a no-op change writes nothing.

    `summary` says what the change was: a Summary (stored as meaning, read in the reader's language), or a
    plain note stored and shown as written (scripts and tests; nothing in it is translated).
    A review step (kind REVIEW) changes no content: it is always written, with the row as it then stood, and
    leaves the review state to the review services. Call it after changing the field (or its steps, financing
    items, indicators) and before the commit, so the change and its revision land in one transaction.
    """
    db.session.flush()
    db.session.expire(field)
    after = field_snapshot(field)
    if kind == RevisionKind.REVIEW:
        return _write(field, author, kind, summary, [], after)
    changed = changed_keys(before, after)
    if not changed:
        return None
    field.updated_at = utcnow()
    field.updated_by = author
    if field.review_state in (ReviewState.APPROVED, ReviewState.SUBMITTED):
        # The one place of this rule: changing approved or submitted content starts a new draft. The
        # approved snapshot (approved_content) stays what partners and the public see until the draft is
        # approved; a submission is withdrawn, since steering would otherwise approve what it has not read.
        field.review_state = ReviewState.DRAFT
    return _write(field, author, kind, summary, changed, after)


def _write(field: Field, author: User | None, kind: RevisionKind, summary: Summary | str | None,
           changed: list[str], content: Snapshot) -> Revision:
    if isinstance(summary, str):
        summary = None if not summary else Summary(NOTE, {"text": summary})
    revision = Revision(
        field=field,
        kind=kind,
        author=author,
        author_name=author.name if author is not None else "",
        summary_key=summary.key if summary is not None else None,
        summary_args=dict(summary.args) if summary is not None else None,
        summary=summary.stored_text()[:500] if summary is not None else "",
        changed_columns=changed,
        content=content,
    )
    db.session.add(revision)
    return revision


def is_approval():
    """The SQL condition of an approval's revision, including those written before summaries had keys."""
    return sa.and_(Revision.kind == RevisionKind.REVIEW, sa.or_(
        Revision.summary_key == "approved",
        sa.and_(Revision.summary_key.is_(None), Revision.summary == LEGACY_APPROVED_TEXT)))

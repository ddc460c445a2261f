"""Writing a field's history. Every change to anything a row shows goes through record_change()."""
from __future__ import annotations

from .extensions import db
from .models import Field, ReviewState, Revision, RevisionKind, User, utcnow
from .snapshots import Snapshot, changed_keys, field_snapshot


def record_change(field: Field, author: User | None, kind: RevisionKind, before: Snapshot | None,
                  summary: str = "") -> Revision | None:
    """Write an immutable revision if the row's content differs from `before`; a no-op change writes nothing.

    Call it after changing the field (or its steps, financing items, indicators) and before the commit,
    so the change and its revision land in one transaction.
    """
    db.session.flush()
    db.session.expire(field)
    after = field_snapshot(field)
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
    revision = Revision(
        field=field,
        kind=kind,
        author=author,
        author_name=author.name if author is not None else "",
        summary=summary[:500],
        changed_columns=changed,
        content=after,
    )
    db.session.add(revision)
    return revision

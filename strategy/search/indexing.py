"""Keeping the search index in step with the content, in the same transaction as the change.

Every change to a row writes a Revision (strategy.revisions.record_change); approvals, archiving and the
GDPR clean-up change the Field; comments and editions are new rows. A session hook notes these objects as
they are flushed, and just before the transaction commits re-indexes what they touched: the field's live
and approved rows (deleted and written anew: a few dozen entries), the new revision's changed columns,
the new comment, the new edition. A rolled-back change leaves the index as it was, since the index rows are
part of the same transaction. `reindex_all` (`flask search reindex`) rebuilds everything.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Iterator

import sqlalchemy as sa
from flask_sqlalchemy.session import Session

from ..extensions import db
from ..framework import TEXT_COLUMNS
from ..models import (
    Edition,
    Field,
    FundingSource,
    ReviewComment,
    Revision,
    SearchEntry,
    SearchKind,
    SearchLayer,
    utcnow,
)
from ..reading import BLOCK_KEYS, approved_title
from ..snapshots import Snapshot
from .text import fold, terms

# The block each snapshot key belongs to; keys of no block (title, goal) are readable by all who read the row.
KEY_BLOCK: dict[str, str] = {key: block for block, keys in BLOCK_KEYS.items() for key in keys}
ROW_LAYERS = (SearchLayer.LIVE, SearchLayer.APPROVED)


def _entry(*, strategy_id: int, field_id: int | None, number: int | None, layer: SearchLayer, kind: SearchKind,
           column: str, title: str, occurred_at: datetime, heading: str = "", body: str = "",
           source_id: int | None = None) -> dict[str, Any] | None:
    heading, body = (heading or "").strip(), (body or "").strip()
    if not heading and not body:
        return None
    return {
        "strategy_id": strategy_id, "field_id": field_id, "field_number": number, "layer": layer.value,
        "kind": kind.value, "block": KEY_BLOCK.get(column), "column": column, "source_id": source_id,
        "occurred_at": occurred_at, "title": (title or "")[:500],
        # The heading is part of what a hit shows: it leads the body, which snippets are cut from.
        "body": f"{heading}\n{body}".strip() if heading else body,
        "heading_terms": terms(heading), "body_terms": terms(body), "folded": fold(f"{heading} {body}"),
    }


def _lines(*parts: Any) -> str:
    return "\n".join(str(part) for part in parts if part)


def row_pieces(row: Snapshot, keys: Iterable[str] | None = None) -> Iterator[tuple[str, SearchKind, str, str, int | None]]:
    """The searchable pieces of a snapshot: (key, kind, heading, body, id of the step/item/indicator)."""
    keys = set(row) if keys is None else set(keys)
    if "title" in keys:
        yield "title", SearchKind.COLUMN, row.get("title", ""), "", None
    if "goal_text" in keys:
        yield "goal_text", SearchKind.COLUMN, "", row.get("goal_text", ""), None
    if "working_groups" in keys:
        groups = row.get("working_groups") or []
        yield "working_groups", SearchKind.COLUMN, "", _lines(*(
            _lines(group.get("name"), ", ".join(m.get("label", "") for m in group.get("members", [])))
            for group in groups)), None
    if "responsible" in keys:
        yield "responsible", SearchKind.COLUMN, "", ", ".join(r.get("label", "") for r in row.get("responsible") or []), None
    for column in TEXT_COLUMNS:
        if column in keys:
            yield column, SearchKind.COLUMN, "", row.get(column) or "", None
    if "next_steps" in keys:
        for step in row.get("next_steps") or []:
            yield "next_steps", SearchKind.STEP, "", _lines(step.get("description"), step.get("progress_note"),
                                                            step.get("responsible")), step.get("id")
    if "financing_items" in keys:
        for item in row.get("financing_items") or []:
            source = item.get("source")
            label = FundingSource(source).label if source in FundingSource._value2member_map_ else source
            yield "financing_items", SearchKind.FINANCING, item.get("programme") or "", _lines(
                label, item.get("note"), ", ".join(item.get("pays_for") or [])), item.get("id")
    if "indicators" in keys:
        for indicator in row.get("indicators") or []:
            notes = sorted({v.get("source_note") for v in indicator.get("values") or [] if v.get("source_note")})
            yield "indicators", SearchKind.INDICATOR, indicator.get("name") or "", _lines(*notes), indicator.get("id")


def row_entries(row: Snapshot, *, strategy_id: int, field_id: int, layer: SearchLayer, title: str,
                occurred_at: datetime, keys: Iterable[str] | None = None, kind: SearchKind | None = None,
                source_id: int | None = None) -> list[dict]:
    """Index entries of one snapshot. History and editions pass `kind` (every piece is then a revision's or
    an edition's) and `source_id` (the revision or edition the link opens)."""
    entries = []
    for key, piece_kind, heading, body, piece_id in row_pieces(row, keys):
        entry = _entry(strategy_id=strategy_id, field_id=field_id, number=row.get("number"), layer=layer,
                       kind=kind or piece_kind, column=key, title=title, occurred_at=occurred_at,
                       heading=heading, body=body, source_id=source_id if kind else piece_id)
        if entry:
            entries.append(entry)
    return entries


# --- what one change re-indexes ------------------------------------------------------------------

def field_entries(field: Field, live_row: Snapshot | None = None) -> list[dict]:
    """The live row (for draft readers) and the approved row (for everyone else) of a field; none while it
    is archived (it left the framework; its history and editions stay findable). `live_row`: the row as a
    revision of this transaction recorded it (record_change's snapshot), which saves loading it again."""
    from ..fields.services import load_field_row
    from ..snapshots import field_snapshot

    if field.is_archived:
        return []
    if live_row is None:
        field = load_field_row(field.id)
        live_row = field_snapshot(field)
    entries = row_entries(live_row, strategy_id=field.strategy_id, field_id=field.id,
                          layer=SearchLayer.LIVE, title=field.title, occurred_at=field.updated_at or utcnow())
    if field.approved_content:
        entries += row_entries(field.approved_content, strategy_id=field.strategy_id, field_id=field.id,
                               layer=SearchLayer.APPROVED,
                               title=approved_title(field.number, field.approved_content),
                               occurred_at=field.approved_at or field.updated_at or utcnow())
    return entries


def revision_entries(revision: Revision, strategy_id: int, number: int, title: str) -> list[dict]:
    """An older state of a row: the columns this revision changed, as they read after it. Named by the
    field's number now (the history page's address), not the number stored in the revision."""
    changed = [key for key in revision.changed_columns or [] if key not in ("phase",)]
    if not changed:
        return []
    content = {**(revision.content or {}), "number": number}
    return row_entries(content, strategy_id=strategy_id, field_id=revision.field_id, layer=SearchLayer.HISTORY,
                       title=content.get("title") or title, occurred_at=revision.created_at, keys=changed,
                       kind=SearchKind.REVISION, source_id=revision.id)


def comment_entry(comment: ReviewComment, field: Field) -> dict | None:
    column = comment.column or (comment.parent.column if comment.parent is not None else None) or "comment"
    return _entry(strategy_id=field.strategy_id, field_id=field.id, number=field.number, layer=SearchLayer.COMMENT,
                  kind=SearchKind.COMMENT, column=column, title=field.title,
                  occurred_at=comment.created_at or utcnow(), body=comment.body, source_id=comment.id)


def edition_entries(edition: Edition) -> list[dict]:
    entries = []
    field_ids = {row.get("number"): row.get("id") for row in edition.content.get("fields", [])}
    for row in edition.content.get("fields", []):
        entries += row_entries(row, strategy_id=edition.strategy_id, field_id=field_ids.get(row.get("number")),
                               layer=SearchLayer.EDITION, title=row.get("title") or "",
                               occurred_at=edition.created_at or utcnow(), kind=SearchKind.EDITION,
                               source_id=edition.id)
    return entries


def _insert(entries: list[dict]) -> None:
    if entries:
        db.session.execute(sa.insert(SearchEntry), entries)


def reindex_field(field: Field, live_row: Snapshot | None = None) -> None:
    db.session.execute(sa.delete(SearchEntry).where(SearchEntry.field_id == field.id,
                                                    SearchEntry.layer.in_([layer.value for layer in ROW_LAYERS])))
    _insert(field_entries(field, live_row))
    # Comments are named by the field's live title, which may just have changed; comments and history are
    # found under the field's number now (fields can be renumbered), editions under the number they froze.
    db.session.execute(sa.update(SearchEntry).where(SearchEntry.field_id == field.id,
                                                    SearchEntry.layer == SearchLayer.COMMENT.value)
                       .values(title=field.title[:500]))
    db.session.execute(sa.update(SearchEntry).where(
        SearchEntry.field_id == field.id,
        SearchEntry.layer.in_([SearchLayer.COMMENT.value, SearchLayer.HISTORY.value]),
        SearchEntry.field_number != field.number).values(field_number=field.number))


# --- the session hook ----------------------------------------------------------------------------

_PENDING = "search_pending"


def _pending(session) -> dict[str, dict]:
    return session.info.setdefault(_PENDING, {"fields": {}, "revisions": {}, "comments": {}, "editions": {}})


def _note(session, flush_context, instances) -> None:
    pending = _pending(session)
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Field):
            pending["fields"][id(obj)] = obj
        elif isinstance(obj, Revision) and obj in session.new:
            pending["revisions"][id(obj)] = obj
        elif isinstance(obj, ReviewComment) and obj in session.new:
            pending["comments"][id(obj)] = obj
        elif isinstance(obj, Edition) and obj in session.new:
            pending["editions"][id(obj)] = obj


def _apply(session) -> None:
    """Index what the transaction changed; runs inside it, before the commit."""
    for _ in range(5):  # indexing loads rows; a flush it causes may note more (bounded, never expected > 2)
        session.flush()
        pending = session.info.pop(_PENDING, None)
        if not pending or not any(pending.values()):
            return
        fields = {f.id: f for f in pending["fields"].values() if f.id is not None}
        live_rows: dict[int, Snapshot] = {}
        for revision in sorted(pending["revisions"].values(), key=lambda r: r.id):
            field = session.get(Field, revision.field_id)
            fields.setdefault(field.id, field)
            live_rows[field.id] = revision.content  # the latest revision holds the row as it now stands
            _insert(revision_entries(revision, field.strategy_id, field.number, field.title))
        for comment in pending["comments"].values():
            entry = comment_entry(comment, session.get(Field, comment.field_id))
            _insert([entry] if entry else [])
        for edition in pending["editions"].values():
            _insert(edition_entries(edition))
        for field in fields.values():
            if sa.inspect(field).deleted or sa.inspect(field).was_deleted:
                continue
            reindex_field(field, live_rows.get(field.id))


def _forget(session, *args) -> None:
    session.info.pop(_PENDING, None)


def register() -> None:
    """Listen on every session of the app (once per process)."""
    if not sa.event.contains(Session, "before_flush", _note):
        sa.event.listen(Session, "before_flush", _note)
        sa.event.listen(Session, "before_commit", _apply)
        sa.event.listen(Session, "after_rollback", _forget)


# --- rebuilding everything -----------------------------------------------------------------------

def reindex_all(batch: int = 2000, echo=None) -> dict[str, int]:
    """Delete the whole index and build it again from the content (`flask search reindex`)."""
    from .engines import engine_for

    engine = engine_for(db.engine.dialect.name)
    counts = {"fields": 0, "revisions": 0, "comments": 0, "editions": 0, "entries": 0}
    db.session.execute(sa.delete(SearchEntry))
    engine.before_bulk_load(db.session.connection())

    buffer: list[dict] = []

    def add(entries: list[dict]) -> None:
        buffer.extend(entries)
        if len(buffer) >= batch:
            flush()

    def flush() -> None:
        counts["entries"] += len(buffer)
        _insert(buffer)
        buffer.clear()

    field_ids = db.session.scalars(sa.select(Field.id).order_by(Field.id)).all()
    named = {row.id: row for row in db.session.execute(sa.select(Field.id, Field.strategy_id, Field.number, Field.title))}
    for number, field_id in enumerate(field_ids, 1):
        add(field_entries(db.session.get(Field, field_id)))
        counts["fields"] += 1
        if number % 200 == 0:
            db.session.expunge_all()
    last = 0
    while True:  # in pages by id: the inserts share the connection, so no cursor stays open across them
        page = db.session.execute(
            sa.select(Revision.id, Revision.field_id, Revision.created_at, Revision.changed_columns, Revision.content)
            .where(Revision.id > last, Revision.kind != "review").order_by(Revision.id).limit(batch)
        ).all()
        if not page:
            break
        for row in page:
            f = named[row.field_id]
            add(revision_entries(row, f.strategy_id, f.number, f.title))
        counts["revisions"] += len(page)
        last = page[-1].id
        if echo and counts["revisions"] % 100_000 < batch:
            echo(f"  {counts['revisions']} revisions")
    for comment in db.session.scalars(sa.select(ReviewComment).order_by(ReviewComment.id)):
        entry = comment_entry(comment, db.session.get(Field, comment.field_id))
        add([entry] if entry else [])
        counts["comments"] += 1
    for edition in db.session.scalars(sa.select(Edition).order_by(Edition.id)):
        add(edition_entries(edition))
        counts["editions"] += 1
    flush()
    engine.after_bulk_load(db.session.connection())
    db.session.info.pop(_PENDING, None)
    return counts


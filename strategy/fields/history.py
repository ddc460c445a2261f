"""A field's history: its revisions and readable per-column differences between them."""
from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from flask_babel import gettext as _

from ..diffing import Piece, has_changes, word_diff
from ..extensions import db
from ..framework import key_label
from ..models import Field, Revision
from ..snapshots import Snapshot
from ..templating import enum_label


def revisions_of(field: Field) -> list[Revision]:
    """Newest first; authors are kept as text on the revision, so no join is needed."""
    return list(db.session.scalars(
        db.select(Revision).filter_by(field_id=field.id).order_by(Revision.id.desc())))


def get_revision_or_404(field: Field, revision_id: int) -> Revision:
    revision = db.session.get(Revision, revision_id)
    if revision is None or revision.field_id != field.id:
        abort(404)
    return revision


def previous_revision(revision: Revision) -> Revision | None:
    return db.session.scalar(
        db.select(Revision).filter(Revision.field_id == revision.field_id, Revision.id < revision.id)
        .order_by(Revision.id.desc()).limit(1))


def next_revision(revision: Revision) -> Revision | None:
    return db.session.scalar(
        db.select(Revision).filter(Revision.field_id == revision.field_id, Revision.id > revision.id)
        .order_by(Revision.id.asc()).limit(1))


def _party_line(entry: dict) -> str:
    lead = f" ({_('FF')})" if entry.get("role") == "lead" else ""
    return f"{entry.get('label', '')}{lead}"


def as_text(key: str, value) -> str:
    """A snapshot value as lines of text, so every column can be shown as a word diff."""
    if value is None:
        return ""
    if isinstance(value, str):
        return enum_label(value, "phase") if key == "phase" else value
    if key == "working_groups":
        return "\n".join(
            f"{group['name']}: " + ", ".join(_party_line(m) for m in group.get("members", []))
            if group.get("members") else group["name"]
            for group in value)
    if key == "responsible":
        return "\n".join(_party_line(entry) for entry in value)
    if key == "next_steps":
        return "\n".join(
            " – ".join(part for part in (
                step.get("description", ""), step.get("responsible", ""), step.get("due_date") or "",
                enum_label(step["status"], "step_status") if step.get("status") else "") if part)
            for step in value)
    if key == "financing_items":
        return "\n".join(
            " – ".join(str(part) for part in (
                enum_label(item["source"], "funding_source") if item.get("source") else "",
                item.get("programme"), item.get("amount") and f"{item['amount']} €",
                "–".join(d for d in (item.get("start_date"), item.get("end_date")) if d),
                enum_label(item["status"], "funding_status") if item.get("status") else "",
                item.get("note")) if part)
            for item in value)
    if key == "indicators":
        lines = []
        for indicator in value:
            values = "; ".join(f"{v.get('observed_on')}: {v.get('value')}" for v in indicator.get("values", []))
            lines.append(f"{indicator.get('name')}: {values}" if values else str(indicator.get("name")))
        return "\n".join(lines)
    return str(value)


@dataclass
class ColumnDiff:
    key: str
    label: str
    pieces: list[Piece]
    old_text: str
    new_text: str


def diff_snapshots(old: Snapshot | None, new: Snapshot, keys: list[str] | None = None) -> list[ColumnDiff]:
    """Per-column word differences from `old` to `new` (all changed keys unless `keys` is given)."""
    old = old or {}
    keys = keys if keys is not None else [k for k in new if k not in ("id", "number") and old.get(k) != new.get(k)]
    diffs = []
    for key in keys:
        old_text, new_text = as_text(key, old.get(key)), as_text(key, new.get(key))
        pieces = word_diff(old_text, new_text)
        if has_changes(pieces):
            diffs.append(ColumnDiff(key, key_label(key), pieces, old_text, new_text))
    return diffs

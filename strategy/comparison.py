"""What changed between two states of a framework: two editions, or an edition and today's approved state.

Works on edition-shaped content only (plain dicts, see `edition_content_shape`):

    {"strategy": {"title", "subtitle", "framework_title", "description", "owner", "slug"},
     "fields": [approved field snapshots (strategy.snapshots.field_snapshot), ordered by number],
     "fields_without_approval": [{"id", "number"}]}  (older editions also stored a "title")

so the same comparison serves the comparison page, the change-report PDF and tests on constructed dicts.
Fields are matched by their id (a renumbered or renamed field is still the same field); next steps,
financing items and indicators by their ids; indicator values by (indicator id, date).
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from flask import has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .diffing import Piece, has_changes, word_diff
from .framework import FRAMEWORK, SNAPSHOT_KEY_LABELS
from .snapshots import Snapshot

Content = dict[str, Any]

# The step statuses that close a step (StepStatus.is_open is False for them).
CLOSED_STEP_STATUSES = ("done", "dropped")


@dataclass(frozen=True)
class ColumnChange:
    """A column whose text differs: `pieces` is the word diff from before to after."""

    key: str
    label: object
    before: str
    after: str
    pieces: list[Piece]


@dataclass(frozen=True)
class RecordChange:
    """A next step, financing item or indicator value that was added, changed, closed or removed.

    `changes` lists the attributes that differ (for "changed" and "closed"), as (key, before, after).
    """

    kind: str  # "added" | "changed" | "closed" | "removed"
    label: str
    before: dict | None
    after: dict | None
    changes: list[tuple[str, Any, Any]] = dc_field(default_factory=list)
    pieces: list[Piece] = dc_field(default_factory=list)  # word diff of the description / name
    context: str = ""  # e.g. the indicator a value belongs to
    observed_on: str | None = None  # an indicator value's day (ISO); pages show it through the |date filter
    value: str | None = None  # an indicator value as stored


@dataclass
class FieldComparison:
    field_id: int | None
    number: int
    title: str
    status: str  # "changed" | "unchanged" | "added" | "removed"
    columns: list[ColumnChange] = dc_field(default_factory=list)
    steps: list[RecordChange] = dc_field(default_factory=list)
    financing_items: list[RecordChange] = dc_field(default_factory=list)
    indicator_values: list[RecordChange] = dc_field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return self.status != "unchanged"


@dataclass
class Comparison:
    strategy_columns: list[ColumnChange]
    fields: list[FieldComparison]

    @property
    def changed(self) -> list[FieldComparison]:
        return [f for f in self.fields if f.has_changes]

    @property
    def unchanged(self) -> list[FieldComparison]:
        """Fields without changes, for the one-line summary."""
        return [f for f in self.fields if not f.has_changes]

    @property
    def has_changes(self) -> bool:
        return bool(self.strategy_columns) or bool(self.changed)


# --- column texts --------------------------------------------------------------------------------

def _lead(role: str) -> str:
    return f" ({_('FF')})" if role == "lead" else ""


def column_text(row: Snapshot | None, key: str) -> str:
    """A column of a snapshot as plain text for a word diff; structured columns one entry per line."""
    if not row:
        return ""
    if key == "working_groups":
        lines = []
        for group in row.get("working_groups", []):
            members = ", ".join(m["label"] + _lead(m.get("role", "")) for m in group.get("members", []))
            lines.append(f"{group['name']}: {members}" if members else group["name"])
        return "\n".join(lines)
    if key == "responsible":
        return "\n".join(r["label"] + _lead(r.get("role", "")) for r in row.get("responsible", []))
    if key == "phase":
        return _phase_label(row.get("phase") or "")
    return row.get(key) or ""


def _phase_label(value: str) -> str:
    from .models.strategy import PHASE_LABELS, FieldPhase

    try:
        label = PHASE_LABELS[FieldPhase(value)]
    except ValueError:
        return value
    if has_request_context():
        return str(label)
    # Outside a request (a PDF worker, a CLI command) there is no reader's locale: the German source text.
    return str(getattr(label, "_args", (label,))[0])


def diffable_columns() -> list[tuple[str, object]]:
    """(key, label) of every column compared word by word: the head, then the framework's columns in order.

    Next steps are compared as records, not as text."""
    keys = ["title", "goal_text", "phase"] + [column.key for phase in FRAMEWORK for column in phase.columns
                                              if column.kind != "next_steps"]
    return [(key, SNAPSHOT_KEY_LABELS[key]) for key in keys]


def column_changes(before: Snapshot | None, after: Snapshot | None) -> list[ColumnChange]:
    """The columns whose text differs between two snapshots of one field, with their word diffs."""
    changes = []
    for key, label in diffable_columns():
        old, new = column_text(before, key), column_text(after, key)
        if old != new:
            changes.append(ColumnChange(key, label, old, new, word_diff(old, new)))
    return changes


# --- records -------------------------------------------------------------------------------------

STEP_KEYS = ("description", "responsible", "due_date", "status", "progress_note", "done_on", "also_serves")
FINANCING_KEYS = ("source", "programme", "amount", "start_date", "end_date", "status", "note", "has_follow_up")


def _attribute_changes(before: dict, after: dict, keys: tuple[str, ...]) -> list[tuple[str, Any, Any]]:
    return [(key, before.get(key), after.get(key)) for key in keys if before.get(key) != after.get(key)]


def _by_id(items: list[dict]) -> dict[Any, dict]:
    return {item["id"]: item for item in items if item.get("id") is not None}


def step_changes(before: Snapshot | None, after: Snapshot | None) -> list[RecordChange]:
    old = _by_id((before or {}).get("next_steps", []))
    new_steps = (after or {}).get("next_steps", [])
    changes = []
    for step in new_steps:
        previous = old.get(step["id"])
        if previous is None:
            changes.append(RecordChange("added", step["description"], None, step))
            continue
        diff = _attribute_changes(previous, step, STEP_KEYS)
        if not diff:
            continue
        closed = step["status"] in CLOSED_STEP_STATUSES and previous["status"] not in CLOSED_STEP_STATUSES
        changes.append(RecordChange("closed" if closed else "changed", step["description"], previous, step, diff,
                                    word_diff(previous["description"], step["description"])))
    present = {step["id"] for step in new_steps}
    changes.extend(RecordChange("removed", step["description"], step, None)
                   for step_id, step in old.items() if step_id not in present)
    return changes


def _financing_label(item: dict) -> str:
    return item.get("programme") or item.get("source") or ""


def financing_changes(before: Snapshot | None, after: Snapshot | None) -> list[RecordChange]:
    old = _by_id((before or {}).get("financing_items", []))
    new_items = (after or {}).get("financing_items", [])
    changes = []
    for item in new_items:
        previous = old.get(item["id"])
        if previous is None:
            changes.append(RecordChange("added", _financing_label(item), None, item))
            continue
        diff = _attribute_changes(previous, item, FINANCING_KEYS)
        if diff:
            changes.append(RecordChange("changed", _financing_label(item), previous, item, diff,
                                        word_diff(previous.get("programme"), item.get("programme"))))
    present = {item["id"] for item in new_items}
    changes.extend(RecordChange("removed", _financing_label(item), item, None)
                   for item_id, item in old.items() if item_id not in present)
    return changes


def _values(row: Snapshot | None) -> dict[tuple, tuple[dict, dict]]:
    """Every indicator value of a row, keyed by (indicator id, date), with its indicator."""
    found = {}
    for indicator in (row or {}).get("indicators", []):
        for value in indicator.get("values", []):
            found[(indicator["id"], value["observed_on"])] = (indicator, value)
    return found


def indicator_value_changes(before: Snapshot | None, after: Snapshot | None) -> list[RecordChange]:
    old, new = _values(before), _values(after)
    changes = []
    for key, (indicator, value) in new.items():
        if key not in old:
            changes.append(_value_change("added", indicator, None, value))
            continue
        previous = old[key][1]
        diff = _attribute_changes(previous, value, ("value", "source_note"))
        if diff:
            changes.append(_value_change("changed", indicator, previous, value, diff))
    changes.extend(_value_change("removed", indicator, value, None)
                   for key, (indicator, value) in old.items() if key not in new)
    return changes


def _value_change(kind: str, indicator: dict, before: dict | None, after: dict | None,
                  diff: list | None = None) -> RecordChange:
    value = after or before or {}
    return RecordChange(kind, f"{value['observed_on']}: {value['value']}", before, after, diff or [],
                        context=indicator["name"], observed_on=value["observed_on"], value=str(value["value"]))


# --- whole framework -----------------------------------------------------------------------------

STRATEGY_KEYS = {"title": _l("Titel der Strategie"), "subtitle": _l("Untertitel"),
                 "framework_title": _l("Titel des Handlungsrahmens")}


def compare_fields(before: Snapshot | None, after: Snapshot | None) -> FieldComparison:
    """One field in two states; either side may be None (the field was added or left the framework)."""
    current = after or before or {}
    comparison = FieldComparison(
        field_id=current.get("id"),
        number=current.get("number", 0),
        title=current.get("title", ""),
        status="added" if before is None else "removed" if after is None else "unchanged",
        columns=column_changes(before, after),
        steps=step_changes(before, after),
        financing_items=financing_changes(before, after),
        indicator_values=indicator_value_changes(before, after),
    )
    if comparison.status == "unchanged" and (
        comparison.columns or comparison.steps or comparison.financing_items or comparison.indicator_values
    ):
        comparison.status = "changed"
    return comparison


def _field_key(row: Snapshot):
    return row.get("id") if row.get("id") is not None else ("number", row.get("number"))


def compare_editions(before: Content, after: Content) -> Comparison:
    """Per field and per column, what changed from `before` to `after` (both edition-shaped)."""
    old = {_field_key(row): row for row in before.get("fields", [])}
    fields = []
    seen = set()
    for row in after.get("fields", []):
        key = _field_key(row)
        seen.add(key)
        fields.append(compare_fields(old.get(key), row))
    fields.extend(compare_fields(row, None) for key, row in old.items() if key not in seen)
    fields.sort(key=lambda f: (f.number, f.status == "removed"))

    head_before, head_after = before.get("strategy", {}), after.get("strategy", {})
    strategy_columns = []
    for key, label in STRATEGY_KEYS.items():
        a, b = head_before.get(key) or "", head_after.get(key) or ""
        if a != b:
            strategy_columns.append(ColumnChange(key, label, a, b, word_diff(a, b)))
    return Comparison(strategy_columns=strategy_columns, fields=fields)


# --- today's approved state ----------------------------------------------------------------------

def strategy_header(strategy) -> dict[str, Any]:
    """The strategy's own texts as an edition freezes them."""
    return {
        "slug": strategy.slug,
        "title": strategy.title,
        "subtitle": strategy.subtitle or "",
        "framework_title": strategy.framework_title or "",
        "description": strategy.description or "",
        "owner": strategy.owner.name if strategy.owner is not None else "",
    }


def current_approved_content(strategy) -> Content:
    """Today's approved state of a strategy in edition shape: what an edition made now would freeze.

    Only approved snapshots go in (never a draft); live fields without an approved state are listed by id
    and number in `fields_without_approval` (not by their draft title: strategy.reading names them)."""
    from .extensions import db
    from .models import Field

    fields = db.session.scalars(
        db.select(Field).filter_by(strategy_id=strategy.id, is_archived=False).order_by(Field.number)
    ).all()
    return {
        "strategy": strategy_header(strategy),
        "fields": [field.approved_content for field in fields if field.approved_content],
        "fields_without_approval": [
            {"id": field.id, "number": field.number} for field in fields if not field.approved_content
        ],
    }


__all__ = [
    "ColumnChange", "Comparison", "FieldComparison", "RecordChange", "column_changes", "column_text",
    "compare_editions", "compare_fields", "current_approved_content", "diffable_columns", "has_changes",
    "strategy_header",
]

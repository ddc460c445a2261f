"""A field's whole row as plain, JSON-serialisable data.

One shape serves revisions (the content after a change), approval (what partners see), editions (the
frozen framework) and comparisons, so names are resolved to text: a snapshot stays readable after
people, organisations or fields are renamed or removed.
"""
from __future__ import annotations

from typing import Any

from .framework import TEXT_COLUMNS
from .models import Field, NextStep

Snapshot = dict[str, Any]

# Keys of a snapshot that are not text columns, in the order a comparison reports them.
STRUCTURE_KEYS = ("title", "goal_text", "phase", "working_groups", "responsible", "next_steps",
                  "financing_items", "indicators")


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _decimal(value) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def step_snapshot(step: NextStep) -> dict[str, Any]:
    return {
        "id": step.id,
        "field_number": step.field.number if step.field is not None else None,
        "description": step.description,
        "responsible": step.responsible_label,
        "due_date": _iso(step.due_date),
        "status": step.status.value,
        "progress_note": step.progress_note,
        "done_on": _iso(step.done_on),
        "also_serves": [f.number for f in step.also_serves],
    }


def field_snapshot(field: Field) -> Snapshot:
    """Everything the row shows, in framework order. Load the field with fields.services.load_field_row."""
    snapshot: Snapshot = {
        "id": field.id,
        "number": field.number,
        "title": field.title,
        "goal_text": field.goal_text,
        "phase": field.phase.value,
        "working_groups": [
            {"name": wg.name, "members": [{"label": m.label, "role": m.role.value} for m in wg.members]}
            for wg in field.working_groups
        ],
        "responsible": [{"label": r.label, "role": r.role.value} for r in field.responsibilities],
        "next_steps": [step_snapshot(step) for step in field.next_steps],
        "financing_items": [
            {
                "id": item.id,
                "source": item.source.value,
                "programme": item.programme,
                "amount": _decimal(item.amount),
                "start_date": _iso(item.start_date),
                "end_date": _iso(item.end_date),
                "status": item.status.value,
                "note": item.note,
                "has_follow_up": item.has_follow_up,
                # The steps this money pays for, by description (a snapshot names things in words).
                "pays_for": [step.description for step in item.next_steps],
            }
            for item in field.financing_items
        ],
        "indicators": [
            {
                "id": indicator.id,
                "name": indicator.name,
                "unit": indicator.unit.value,
                "direction": indicator.direction.value,
                "baseline": _decimal(indicator.baseline),
                "target": _decimal(indicator.target),
                "target_date": _iso(indicator.target_date),
                "is_key": indicator.is_key,
                "values": [
                    {"observed_on": _iso(v.observed_on), "value": _decimal(v.value), "source_note": v.source_note}
                    for v in indicator.values
                ],
            }
            for indicator in field.indicators
        ],
    }
    for column in TEXT_COLUMNS:
        snapshot[column] = getattr(field, column) or ""
    return snapshot


def changed_keys(before: Snapshot | None, after: Snapshot) -> list[str]:
    """The top-level keys whose content differs, in a stable order."""
    if before is None:
        return [key for key in after if key not in ("id", "number")]
    return [key for key in after if before.get(key) != after.get(key)]

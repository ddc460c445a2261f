"""What a reader may read: the one place that decides which content of a strategy a person gets.

The rule, for every page, PDF export and API answer:

- Whoever may view drafts (`permissions.can_view_drafts`) reads the live row; everyone else reads the
  approved snapshot (`Field.approved_content`), and a field never approved has no row for them.
- Only the blocks `permissions.visible_blocks` gives the reader are in a row: the keys of a hidden block
  are left out of the snapshot (never an error), and `hidden_blocks` names the blocks left out.
- Readers of approved content see the approved title; a field never approved is named by a neutral
  placeholder with its number (`pending_title`), never by its draft title.

Start here for anything that shows content to someone (notifications, search, import): `reader_of` tells
how a person reads a strategy, `readable_row` / `readable_title` answer for one field, `readable_fields`
and `readable_framework` for a whole strategy, `readable_edition` for frozen content.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from flask_babel import gettext as _

from .framework import FRAMEWORK, Phase
from .models import Field, Strategy
from .permissions import can_view_drafts, visibility_blocks, visible_blocks
from .snapshots import Snapshot, field_snapshot

# Which keys of a snapshot belong to which block (framework phase or indicators).
BLOCK_KEYS: dict[str, tuple[str, ...]] = {
    **{
        phase.key: tuple(
            key
            for column in phase.columns
            for key in ((column.key, "financing_items") if column.kind == "financing" else (column.key,))
        )
        for phase in FRAMEWORK
    },
    "indicators": ("indicators",),
}


@dataclass(frozen=True)
class Reader:
    """How one person reads one strategy: the live drafts or the approved state, and which blocks."""

    drafts: bool
    blocks: frozenset[str]

    @property
    def sees_every_block(self) -> bool:
        return self.blocks >= frozenset(visibility_blocks())

    @property
    def framework(self) -> tuple[Phase, ...]:
        """The framework's phases this reader may see, for templates that walk FRAMEWORK."""
        return visible_framework(self.blocks)


def reader_of(user, strategy: Strategy) -> Reader:
    return Reader(drafts=can_view_drafts(user, strategy), blocks=visible_blocks(user, strategy))


# --- rows ----------------------------------------------------------------------------------------

def visible_part(row: Snapshot, blocks: Iterable[str]) -> Snapshot:
    """A copy of a snapshot without the keys of hidden blocks; `hidden_blocks` names what was left out."""
    blocks = frozenset(blocks)
    hidden = [block for block in BLOCK_KEYS if block not in blocks]
    dropped = {key for block in hidden for key in BLOCK_KEYS[block]}
    visible = {key: value for key, value in row.items() if key not in dropped}
    visible["hidden_blocks"] = hidden
    return visible


def visible_framework(blocks: Iterable[str]) -> tuple[Phase, ...]:
    blocks = frozenset(blocks)
    return tuple(phase for phase in FRAMEWORK if phase.key in blocks)


def approved_row(content: Snapshot | None, blocks: Iterable[str]) -> Snapshot | None:
    """An approved snapshot reduced to the visible blocks; None for a field never approved."""
    return visible_part(content, blocks) if content else None


def readable_row(user, field: Field, reader: Reader | None = None) -> Snapshot | None:
    """What this reader may read of a field's row: the live row for draft readers, else the approved
    snapshot (None until approved), either way only the visible blocks. Load the field with
    fields.services.load_field_row or framework_fields, so the live row costs no further queries."""
    reader = reader or reader_of(user, field.strategy)
    if reader.drafts:
        row = field_snapshot(field)
        return row if reader.sees_every_block else visible_part(row, reader.blocks)
    return approved_row(field.approved_content, reader.blocks)


# --- titles --------------------------------------------------------------------------------------

def pending_title(number: int) -> str:
    """The name of a field never approved, for readers of approved content: its number, no draft text."""
    return _("Handlungsfeld %(num)d – in Erarbeitung", num=number)


def approved_title(number: int, content: Snapshot | None) -> str:
    return content["title"] if content and content.get("title") else pending_title(number)


def readable_title(user, field: Field, reader: Reader | None = None) -> str:
    """The field's title as this reader may read it: live for draft readers, else the approved title."""
    reader = reader or reader_of(user, field.strategy)
    return field.title if reader.drafts else approved_title(field.number, field.approved_content)


# --- a whole strategy ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ReadableField:
    """One live field as a reader may read it: the model (for links, dates, review state), the row (None:
    nothing the reader may read yet) and the title to show."""

    field: Field
    row: Snapshot | None
    title: str


def readable_fields(user, strategy: Strategy, fields: list[Field] | None = None,
                    reader: Reader | None = None) -> list[ReadableField]:
    """Every live field of the strategy in order, as this reader may read it."""
    from .fields.services import framework_fields

    reader = reader or reader_of(user, strategy)
    fields = framework_fields(strategy) if fields is None else fields
    return [ReadableField(f, readable_row(user, f, reader), readable_title(user, f, reader)) for f in fields]


def without_approval(fields: Iterable[dict]) -> list[dict]:
    """Entries of fields never approved, named by their placeholder (whatever title was stored)."""
    return [{"id": f.get("id"), "number": f["number"], "title": pending_title(f["number"])} for f in fields]


def readable_framework(user, strategy: Strategy, fields: list[Field] | None = None) -> tuple[dict, Reader]:
    """The framework as this reader may read it, edition-shaped (see strategy.comparison), and how they read
    it (whether it is the live draft, which blocks)."""
    from .comparison import strategy_header

    reader = reader_of(user, strategy)
    readable = readable_fields(user, strategy, fields, reader)
    return {
        "strategy": strategy_header(strategy),
        "fields": [item.row for item in readable if item.row is not None],
        "fields_without_approval": without_approval(
            {"id": item.field.id, "number": item.field.number} for item in readable if item.row is None),
    }, reader


def readable_edition(content: dict[str, Any], blocks: Iterable[str]) -> dict[str, Any]:
    """Edition-shaped content (an edition, or today's approved state) as a reader of these blocks may read
    it: rows without hidden blocks, fields never approved by their placeholder."""
    blocks = frozenset(blocks)
    rows = content.get("fields", [])
    if not blocks >= frozenset(visibility_blocks()):
        rows = [visible_part(row, blocks) for row in rows]
    return {**content, "fields": rows,
            "fields_without_approval": without_approval(content.get("fields_without_approval", []))}


def steps_serving_in(rows: Iterable[Snapshot], number: int) -> list[dict]:
    """Steps of other rows that also serve field `number`, from the same kind of rows (live or approved);
    none from rows whose steps the reader may not see."""
    return [
        step
        for row in rows
        if row["number"] != number
        for step in row.get("next_steps", [])
        if number in step.get("also_serves", [])
    ]


__all__ = [
    "BLOCK_KEYS", "ReadableField", "Reader", "approved_row", "approved_title", "pending_title", "readable_edition",
    "readable_fields", "readable_framework", "readable_row", "readable_title", "reader_of", "steps_serving_in",
    "visible_framework", "visible_part", "without_approval",
]

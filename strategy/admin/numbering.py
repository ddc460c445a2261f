"""The numbers of a strategy's fields: their place in the goal system. Changes are serialised per strategy."""
from __future__ import annotations

import sqlalchemy as sa

from ..audit import AuditAction, record_event
from ..extensions import db
from ..models import Field, Strategy, User


class StaleStructure(Exception):
    """The fields changed since the admin loaded the page (another admin added, moved or archived one)."""


def lock_structure(strategy: Strategy) -> None:
    """Serialise structure changes (numbering) of one strategy between admins and processes.

    A write that changes nothing, as the transaction's first statement: PostgreSQL locks the strategy's row
    until commit; SQLite takes its write lock at once (waiting up to the busy timeout), so what is read after
    it is current and no other writer can slip in between reading the numbers and writing them.
    """
    db.session.execute(
        sa.update(Strategy).where(Strategy.id == strategy.id)
        .values(settings_changed_at=Strategy.settings_changed_at)
        .execution_options(synchronize_session=False)
    )


def _renumber(targets: dict[Field, int]) -> dict[int, int]:
    """Give fields new numbers without ever breaking the unique (strategy, number) constraint.

    Neither SQLite nor PostgreSQL (for a non-deferrable constraint) lets two rows hold one number even
    for a moment, so a swap goes through temporary numbers: first every moving field gets a negative
    number of its own (-id, never used by a real field), then its target. Both steps are flushed inside
    the caller's transaction, so a failure leaves the old numbering in place.
    """
    moving = {field: number for field, number in targets.items() if field.number != number}
    if not moving:
        return {}
    old = {field: field.number for field in moving}
    for field in moving:
        field.number = -field.id
    db.session.flush()
    for field, number in moving.items():
        field.number = number
        if field.approved_content is not None:
            # The number is the field's place in the goal system, not content under review.
            field.approved_content = {**field.approved_content, "number": number}
    db.session.flush()
    return {old[field]: field.number for field in moving}


def _locked_fields(strategy: Strategy) -> list[Field]:
    lock_structure(strategy)
    return list(db.session.scalars(
        sa.select(Field).filter_by(strategy_id=strategy.id).order_by(Field.number)
        .execution_options(populate_existing=True)
    ))


def reorder_fields(actor: User, strategy: Strategy, ordered_ids: list[int]) -> dict[int, int]:
    """Put the live fields in the given order. They take over the numbers the live fields hold now, so
    archived fields keep theirs and only the fields that move change their number."""
    live = [field for field in _locked_fields(strategy) if not field.is_archived]
    if sorted(ordered_ids) != sorted(field.id for field in live):
        raise StaleStructure()
    by_id = {field.id: field for field in live}
    slots = [field.number for field in live]
    moved = _renumber({by_id[field_id]: slots[position] for position, field_id in enumerate(ordered_ids)})
    if moved:
        record_event(AuditAction.FIELD_REORDER, actor, object_type="strategy", object_id=strategy.id,
                     detail={"strategy": strategy.slug, "numbers": {str(a): b for a, b in moved.items()}})
    return moved


def move_field(actor: User, field: Field, offset: int) -> dict[int, int]:
    """Move a live field up (offset -1) or down (+1) among the live fields."""
    live = [f for f in _locked_fields(field.strategy) if not f.is_archived]
    ids = [f.id for f in live]
    if field.id not in ids:
        raise StaleStructure()
    position = ids.index(field.id)
    target = position + offset
    if not 0 <= target < len(ids):
        return {}
    ids[position], ids[target] = ids[target], ids[position]
    return reorder_fields(actor, field.strategy, ids)


def close_number_gaps(actor: User, strategy: Strategy) -> dict[int, int]:
    """Number the live fields 1…n in their order; archived fields follow them."""
    fields = _locked_fields(strategy)
    ordered = [f for f in fields if not f.is_archived] + [f for f in fields if f.is_archived]
    moved = _renumber({field: position for position, field in enumerate(ordered, start=1)})
    if moved:
        record_event(AuditAction.FIELD_RENUMBER, actor, object_type="strategy", object_id=strategy.id,
                     detail={"strategy": strategy.slug, "numbers": {str(a): b for a, b in moved.items()}})
    return moved

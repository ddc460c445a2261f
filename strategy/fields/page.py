"""The field page, composed in Python: `build_field_page` gathers everything templates/fields/field.html
renders (the readable row, what the reader may do, the review panel, the record forms), so the templates
only render what they are given and call nothing back."""
from __future__ import annotations

from dataclasses import dataclass, fields
from dataclasses import field as dc_field
from datetime import date
from typing import TYPE_CHECKING, Any

from ..days import local_today
from ..framework import Phase
from ..models import Field, Strategy
from ..permissions import can_edit_field, can_export_field, can_view_history
from ..reading import readable_fields, reader_of, steps_serving_in
from ..snapshots import Snapshot

if TYPE_CHECKING:  # records imports this module for its routes
    from ..records.editor import RecordEditor, Submission


@dataclass
class FieldPage:
    """Everything the field page shows one reader."""

    strategy: Strategy
    field: Field
    title: str  # strategy.reading.readable_title
    row: Snapshot | None  # strategy.reading.readable_row: None when the reader may read nothing of it yet
    framework: tuple[Phase, ...]  # the phases whose blocks the reader may see
    serving_steps: list[dict]  # steps of other fields that also serve this one
    today: date
    shows_drafts: bool
    may_edit: bool
    may_see_history: bool
    may_export: bool
    # The review panel (review.routes.review_context): empty for those who may not see drafts.
    review: dict[str, Any] | None = None
    review_changes: dict[str, Any] = dc_field(default_factory=dict)
    # The record forms for the field's coordinators, prefilled or as last submitted; None for readers.
    editor: RecordEditor | None = None

    def context(self) -> dict[str, Any]:
        """The page as template variables."""
        return {item.name: getattr(self, item.name) for item in fields(self)}


def build_field_page(user, strategy: Strategy, number: int, submission: Submission | None = None) -> FieldPage:
    """The field page of live field `number` for `user`; `submission` is a record form that failed
    validation or met a conflict, shown again open with the typed values and its messages."""
    from ..records.editor import RecordEditor
    from ..review.routes import review_context

    reader = reader_of(user, strategy)
    readable = readable_fields(user, strategy, reader=reader)
    this = next(item for item in readable if item.field.number == number)
    field = this.field
    may_edit = can_edit_field(user, field)
    review = review_context(user, field, this.row)
    return FieldPage(
        strategy=strategy,
        field=field,
        title=this.title,
        row=this.row,
        framework=reader.framework,
        serving_steps=steps_serving_in((item.row for item in readable if item.row is not None), number),
        today=local_today(),
        shows_drafts=reader.drafts,
        may_edit=may_edit,
        may_see_history=can_view_history(user, field),
        may_export=can_export_field(user, field),
        review=review.get("review"),
        review_changes=review.get("review_changes", {}),
        editor=RecordEditor(field, submission) if may_edit else None,
    )

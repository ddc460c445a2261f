"""The shapes of the API's answers, once: the endpoints serialise through these models and the OpenAPI
description's components are generated from them (openapi.py).

Pydantic v2 rather than apispec + marshmallow: one library instead of two, the models are the serialisers
and `models_json_schema` writes JSON Schema 2020-12, which OpenAPI 3.1 uses as it is.

Two kinds of object: answers the API composes (Strategy, Field, NextStep, ...) list exactly their declared
properties; an approved row is the stored snapshot (snapshots.field_snapshot) passed through as it is, so
`Row` and its parts only describe it: keys an older or newer snapshot has that the model does not declare
are kept, and keys a snapshot lacks stay absent. (Validating and re-serialising a full row through the
models cost about 5 ms, several times the rest of its answer.)

Dates, times and decimals arrive as the strings the snapshots and `isoformat` already hold; the models
describe their format but do not re-parse them, so an answer's values are exactly what was stored.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, create_model
from pydantic.json_schema import SkipJsonSchema, WithJsonSchema

from ..framework import TEXT_COLUMNS
from ..models import (
    Direction,
    FieldPhase,
    FundingSource,
    FundingStatus,
    IndicatorUnit,
    ResponsibilityRole,
    StepStatus,
    Visibility,
)
from ..status.services import BLOCK_KEYS, PlainStatus

Date = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]
DateTime = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
DecimalText = Annotated[str, WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d+)?$",
                                             "description": "Decimal number as a string."})]
Url = Annotated[str, WithJsonSchema({"type": "string", "format": "uri"})]
Text = Annotated[str, WithJsonSchema({"type": "string", "description": "Markdown-lite text."})]
Block = Literal[tuple(BLOCK_KEYS)]  # type: ignore[valid-type]


class Answer(BaseModel):
    """An object the API composes: exactly its declared properties."""

    model_config = ConfigDict(json_schema_extra={"additionalProperties": False})


REF_TEMPLATE = "#/components/schemas/{model}"


class Stored(BaseModel):
    """Describes part of a stored snapshot; further keys are allowed."""

    model_config = ConfigDict(extra="allow")


# --- parts of an approved row --------------------------------------------------------------------

class Labelled(Stored):
    label: str
    role: ResponsibilityRole = ResponsibilityRole.MEMBER


class WorkingGroup(Stored):
    name: str
    members: list[Labelled] = []


class StepInRow(Stored):
    id: int
    field_number: int | None = None
    description: str
    responsible: str = ""
    due_date: Date | None = None
    status: StepStatus
    progress_note: str = ""
    done_on: Date | None = None
    also_serves: list[int] = []


class FinancingInRow(Stored):
    id: int
    source: FundingSource
    programme: str = ""
    amount: DecimalText | None = None
    start_date: Date | None = None
    end_date: Date | None = None
    status: FundingStatus
    note: str = ""
    has_follow_up: bool = False


class ValueInRow(Stored):
    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": False})

    observed_on: Date
    value: DecimalText
    source_note: str = ""


class IndicatorInRow(Stored):
    id: int
    name: str
    unit: IndicatorUnit
    direction: Direction = Direction.HIGHER_IS_BETTER
    baseline: DecimalText | None = None
    target: DecimalText | None = None
    target_date: Date | None = None
    is_key: bool = False
    values: list[ValueInRow]


# The approved row: the snapshot's keys in its order (snapshots.field_snapshot), text columns last.
Row = create_model(
    "Row",
    __base__=Stored,
    __doc__="The approved row of a field (blocks the reader may not see are left out, see hidden_blocks).",
    id=(int, 0),
    number=(int, ...),
    title=(str, ...),
    goal_text=(str, ""),
    phase=(FieldPhase, ...),
    working_groups=(list[WorkingGroup], []),
    responsible=(list[Labelled], []),
    next_steps=(list[StepInRow], []),
    financing_items=(list[FinancingInRow], []),
    indicators=(list[IndicatorInRow], []),
    **{column: (Text, "") for column in TEXT_COLUMNS},
)


# In an answer, a row is the stored dictionary, described by Row. (A $ref in WithJsonSchema is not resolved
# by pydantic, so the description puts it in place of this marker: openapi.components.)
STORED_AS = "x-stored-as"
RowAsStored = Annotated[dict[str, Any], WithJsonSchema({STORED_AS: Row.__name__})]


def row(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The row of a visible part of a snapshot (status.services.visible_part): all but its `hidden_blocks`."""
    return {key: value for key, value in snapshot.items() if key != "hidden_blocks"}


# --- what the endpoints answer -------------------------------------------------------------------

class PageLinks(Answer):
    self: Url
    next: Url | None
    prev: Url | None


class Strategy(Answer):
    id: int
    slug: str
    title: str
    subtitle: str = ""
    description: str = ""
    visibility: Visibility
    owner: str | None = None
    last_approved_at: DateTime | None = None
    links: dict[str, Url]


class Field(Answer):
    id: int
    number: int
    title: str
    approved_at: DateTime | None
    status: PlainStatus
    status_label: str
    hidden_blocks: list[Block]
    row: RowAsStored | None
    links: dict[str, Url]


class NextStep(Answer):
    id: int
    field_id: int
    field_number: int
    description: str
    responsible: str = ""
    due_date: Date | None = None
    status: StepStatus
    progress_note: str = ""
    done_on: Date | None = None
    also_serves: list[int] = []
    is_open: bool
    is_overdue: bool


class FinancingItem(Answer):
    id: int
    field_id: int
    field_number: int
    source: FundingSource
    programme: str = ""
    amount: DecimalText | None = None
    currency: Literal["EUR"]
    start_date: Date | None = None
    end_date: Date | None = None
    status: FundingStatus
    note: str = ""
    has_follow_up: bool = False


class IndicatorValue(Answer):
    observed_on: Date
    value: DecimalText
    source_note: str = ""


class Indicator(Answer):
    id: int
    field_id: int
    field_number: int
    name: str
    unit: IndicatorUnit
    direction: Direction = Direction.HIGHER_IS_BETTER
    baseline: DecimalText | None = None
    target: DecimalText | None = None
    target_date: Date | None = None
    is_key: bool = False
    values: list[IndicatorValue]


class EditionField(Answer):
    number: int
    title: str
    row: RowAsStored


class Edition(Answer):
    id: int
    title: str
    decided_on: Date
    created_at: DateTime | None = None
    fields: list[EditionField]


class ErrorDetail(Answer):
    status: int
    code: str
    message: str
    incident: str | SkipJsonSchema[None] = None


class Error(Answer):
    error: ErrorDetail


Count = Annotated[int, pydantic.Field(ge=0)]


def _page(item: type[BaseModel]) -> type[BaseModel]:
    return create_model(f"{item.__name__}Page", __base__=Answer, items=(list[item], ...), total=(Count, ...),
                        limit=(Annotated[int, pydantic.Field(ge=1)], ...), offset=(Count, ...),
                        links=(PageLinks, ...))


StrategyPage = _page(Strategy)
FieldPage = _page(Field)
NextStepPage = _page(NextStep)
FinancingItemPage = _page(FinancingItem)
IndicatorPage = _page(Indicator)
EditionPage = _page(Edition)

# What the description lists under components/schemas (everything they refer to comes along).
COMPONENTS = (Error, Row, StrategyPage, Strategy, FieldPage, Field, NextStepPage, FinancingItemPage, IndicatorPage,
              EditionPage)

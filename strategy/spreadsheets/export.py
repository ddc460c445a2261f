"""The workbook of a strategy as one reader may read it: the same content the pages and PDFs show.

Rows come from strategy.reading (the live draft for draft readers, the approved state for everyone else,
hidden blocks left out); ids and versions fill the hidden columns only for draft readers, whose rows are
the live ones an import can compare against.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ..extensions import db
from ..fields.services import framework_fields
from ..models import (
    FieldPhase,
    FinancingItem,
    FundingSource,
    FundingStatus,
    Indicator,
    IndicatorUnit,
    NextStep,
    StepStatus,
    Strategy,
)
from ..reading import BLOCK_KEYS, readable_framework
from .columns import FINANCING_SHEET, FRAMEWORK_SHEET, INDICATORS_SHEET, STEPS_SHEET, VALUES_SHEET, SheetSpec


@dataclass
class Sheet:
    """One sheet as written: its definition, the columns present (hidden blocks leave theirs out), the rows."""

    spec: SheetSpec
    keys: list[str]
    rows: list[list[Any]]
    # A name of its own (the open steps: an import of that sheet adds and changes, never removes).
    title: str | None = None

    @property
    def name(self) -> str:
        return self.title or self.spec.name

    @property
    def headers(self) -> list[str]:
        return [str(self.spec.column(key).label) for key in self.keys]

    def hidden(self, key: str) -> bool:
        return self.spec.column(key).hidden

    def kind(self, key: str) -> str:
        return self.spec.column(key).kind


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _number(value: str | None) -> Decimal | None:
    return Decimal(value) if value not in (None, "") else None


def _people(entries: list[dict]) -> str:
    return "; ".join(entry["label"] for entry in entries if entry.get("label"))


def _groups(groups: list[dict]) -> str:
    return "; ".join(group["name"] for group in groups)


def _versions(model, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    return dict(db.session.execute(db.select(model.id, model.version).where(model.id.in_(ids))).all())


def workbook(user, strategy: Strategy) -> list[Sheet]:
    """The sheets of this reader's workbook: the framework, then steps, financing items, indicators and their
    values, each only where the reader may see its block."""
    content, reader = readable_framework(user, strategy, framework_fields(strategy))
    rows = content["fields"]
    visible_keys = {key for block in reader.blocks for key in BLOCK_KEYS[block]} | {"title", "goal_text", "phase"}
    field_versions = _versions_of_fields(strategy) if reader.drafts else {}

    framework_keys = [c.key for c in FRAMEWORK_SHEET.columns if c.key in ("id", "version", "number")
                      or c.key in visible_keys]
    sheets = [Sheet(FRAMEWORK_SHEET, framework_keys, [
        [_framework_cell(row, key, field_versions) for key in framework_keys] for row in rows])]

    if "workshop_2" in reader.blocks:
        steps = [(row["number"], step) for row in rows for step in row.get("next_steps", [])]
        versions = _versions(NextStep, [s["id"] for _, s in steps]) if reader.drafts else {}
        sheets.append(Sheet(STEPS_SHEET, [c.key for c in STEPS_SHEET.columns], [
            [step["id"] if reader.drafts else None, versions.get(step["id"]), number, step["description"],
             step["responsible"], _day(step["due_date"]), StepStatus(step["status"]).label,
             step["progress_note"], _day(step["done_on"])]
            for number, step in steps]))
    if "financing" in reader.blocks:
        items = [(row["number"], item) for row in rows for item in row.get("financing_items", [])]
        versions = _versions(FinancingItem, [i["id"] for _, i in items]) if reader.drafts else {}
        sheets.append(Sheet(FINANCING_SHEET, [c.key for c in FINANCING_SHEET.columns], [
            [item["id"] if reader.drafts else None, versions.get(item["id"]), number,
             FundingSource(item["source"]).label, item["programme"], _number(item["amount"]),
             _day(item["start_date"]), _day(item["end_date"]), FundingStatus(item["status"]).label, item["note"],
             bool(item["has_follow_up"])]
            for number, item in items]))
    if "indicators" in reader.blocks:
        indicators = [(row["number"], ind) for row in rows for ind in row.get("indicators", [])]
        versions = _versions(Indicator, [i["id"] for _, i in indicators]) if reader.drafts else {}
        sheets.append(Sheet(INDICATORS_SHEET, [c.key for c in INDICATORS_SHEET.columns], [
            [ind["id"] if reader.drafts else None, versions.get(ind["id"]), number, ind["name"],
             IndicatorUnit(ind["unit"]).label, _number(ind["baseline"]), _number(ind["target"]),
             _day(ind["target_date"])]
            for number, ind in indicators]))
        sheets.append(Sheet(VALUES_SHEET, [c.key for c in VALUES_SHEET.columns], [
            [number, ind["name"], _day(value["observed_on"]), _number(value["value"]), value["source_note"]]
            for number, ind in indicators for value in ind["values"]]))
    return sheets


def _versions_of_fields(strategy: Strategy) -> dict[int, int]:
    from ..models import Field

    return dict(db.session.execute(db.select(Field.id, Field.version).filter_by(strategy_id=strategy.id)).all())


def _framework_cell(row: dict, key: str, versions: dict[int, int]) -> Any:
    if key == "id":
        return row["id"] if versions else None
    if key == "version":
        return versions.get(row["id"])
    if key == "working_groups":
        return _groups(row.get(key, []))
    if key == "responsible":
        return _people(row.get(key, []))
    if key == "phase":
        return FieldPhase(row[key]).label if row.get(key) else ""
    return row.get(key) if key == "number" else (row.get(key) or "")

"""The editing forms on a field page: prefilled from the records, or as the user submitted them.

A POST that fails validation (or meets a conflict) hands its bound form to the field page's builder
(fields.page.build_field_page) as a `Submission`; the page is rendered again and the same form appears
with the user's typed values and the messages next to the fields.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from flask_wtf import FlaskForm

from ..models import Field, FinancingItem, Indicator, NextStep
from .forms import FinancingForm, IndicatorForm, IndicatorValueForm, StepForm, choices
from .services import known_names


@dataclass
class Conflict:
    key: str
    saved: dict[str, Any] | None
    deleted: bool = False


@dataclass
class Submission:
    """A record form as the user submitted it (it failed validation, or met `conflict`)."""

    key: str
    form: FlaskForm
    conflict: Conflict | None = None


class RecordEditor:
    """The record forms of one field's page (steps, financing, indicators, values)."""

    def __init__(self, field: Field, submission: Submission | None = None):
        self.field = field
        self.submitted: dict[str, FlaskForm] = {submission.key: submission.form} if submission else {}
        self.conflict: Conflict | None = submission.conflict if submission else None

    def is_open(self, key: str) -> bool:
        return key in self.submitted

    def conflict_for(self, key: str) -> Conflict | None:
        return self.conflict if self.conflict is not None and self.conflict.key == key else None

    @cached_property
    def _names(self) -> tuple[list[str], list[str]]:
        return known_names()

    @property
    def people(self) -> list[str]:
        return self._names[0]

    @property
    def organisations(self) -> list[str]:
        return self._names[1]

    @cached_property
    def other_fields(self) -> list[tuple[int, str]]:
        return [(f.id, f.label) for f in self.field.strategy.fields if f.id != self.field.id]

    def _form(self, key: str, cls, **kwargs) -> FlaskForm:
        form = self.submitted.get(key)
        if form is None:
            form = cls(formdata=None, prefix=key, **kwargs)
        return form

    # next steps
    def step(self, step: NextStep | None = None) -> StepForm:
        key = step_key(step)
        data = {}
        if step is not None:
            data = {
                "description": step.description,
                "person_name": step.responsible_person.label if step.responsible_person else "",
                "organisation_name": step.responsible_organisation.label if step.responsible_organisation else "",
                "due_date": step.due_date, "status": step.status.value, "progress_note": step.progress_note,
                "done_on": step.done_on, "also_serves": [f.id for f in step.also_serves],
                "version": step.version,
            }
        form = self._form(key, StepForm, data=data)
        form.also_serves.choices = choices(self.other_fields)
        return form

    # financing
    def financing(self, item: FinancingItem | None = None) -> FinancingForm:
        key = financing_key(item)
        data = {}
        if item is not None:
            data = {
                "source": item.source.value, "programme": item.programme, "amount": item.amount,
                "start_date": item.start_date, "end_date": item.end_date, "status": item.status.value,
                "note": item.note, "has_follow_up": item.has_follow_up,
                "next_steps": [s.id for s in item.next_steps], "version": item.version,
            }
        form = self._form(key, FinancingForm, data=data)
        form.next_steps.choices = choices((s.id, s.description) for s in self.field.next_steps)
        return form

    # indicators
    def indicator(self, indicator: Indicator | None = None) -> IndicatorForm:
        key = indicator_key(indicator)
        data = {}
        if indicator is not None:
            data = {
                "name": indicator.name, "unit": indicator.unit.value,
                "direction": indicator.direction.value, "baseline": indicator.baseline,
                "target": indicator.target, "target_date": indicator.target_date, "is_key": indicator.is_key,
                "version": indicator.version,
            }
        return self._form(key, IndicatorForm, data=data)

    def value(self, indicator: Indicator) -> IndicatorValueForm:
        return self._form(value_key(indicator), IndicatorValueForm, unit=indicator.unit.value)


def step_key(step: NextStep | None) -> str:
    return f"schritt-{step.id}" if step is not None else "schritt-neu"


def financing_key(item: FinancingItem | None) -> str:
    return f"finanzierung-{item.id}" if item is not None else "finanzierung-neu"


def indicator_key(indicator: Indicator | None) -> str:
    return f"kennzahl-{indicator.id}" if indicator is not None else "kennzahl-neu"


def value_key(indicator: Indicator) -> str:
    return f"wert-{indicator.id}"

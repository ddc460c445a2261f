"""Next steps, financing items and indicators: changed on the field page (POST, then back to it), plus the
open-steps page and the funding timeline of a strategy."""
from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from ..charts import funding_timeline_svg
from ..days import local_today
from ..extensions import db
from ..fields.page import build_field_page
from ..models import (
    Direction,
    Field,
    FinancingItem,
    FundingSource,
    FundingStatus,
    Indicator,
    IndicatorUnit,
    IndicatorValue,
    NextStep,
    StepStatus,
)
from ..permissions import (
    can_edit_field,
    can_view_funding,
    can_view_open_steps,
    get_field_or_404,
    get_strategy_or_404,
    public,
    require,
)
from ..reading import readable_fields
from ..security import keeps_input
from . import bp
from .editor import (
    Conflict,
    Submission,
    financing_key,
    indicator_key,
    step_key,
    value_key,
)
from .forms import ActionForm, FinancingForm, IndicatorForm, IndicatorValueForm, StepForm, choices
from .services import (
    DUE_WINDOWS,
    ConflictError,
    FinancingData,
    IndicatorData,
    StepData,
    StepFilter,
    add_indicator_value,
    close_step,
    delete_financing,
    delete_indicator,
    delete_indicator_value,
    delete_step,
    due_date_in_the_past,
    funding_periods,
    horizon_months,
    move_step,
    open_steps,
    save_financing,
    save_indicator,
    save_step,
    step_filter_choices,
)

FIELD_URL = "/<slug>/handlungsfelder/<id:number>"


# --- loading, answering --------------------------------------------------------------------------

def _editable_field(slug: str, number: int) -> Field:
    strategy = get_strategy_or_404(slug)
    field = get_field_or_404(strategy, number)
    require(can_edit_field(current_user, field))
    return field


def _record_or_none(model, record_id: int, field: Field):
    """The field's record, or None when it was removed meanwhile; another field's record is a 404."""
    record = db.session.get(model, record_id)
    if record is not None and record.field_id != field.id:
        abort(404)
    return record


def _record(model, record_id: int, field: Field):
    record = _record_or_none(model, record_id, field)
    if record is None:
        abort(404)
    return record


def _back(field: Field, anchor: str, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("fields.field_page", slug=field.strategy.slug, number=field.number) + f"#{anchor}",
                    code=303)


def _again(field: Field, key: str, form, conflict: Conflict | None = None):
    """The field page once more, with this form open, the user's input and the messages next to the fields."""
    db.session.rollback()
    page = build_field_page(current_user, field.strategy, field.number, Submission(key, form, conflict))
    if conflict is not None:
        flash(_("Jemand hat diesen Eintrag inzwischen geändert. Ihre Eingaben sind noch im Formular; bitte prüfen "
                "Sie den gespeicherten Stand und speichern Sie erneut."), "error")
    else:
        flash(_("Bitte prüfen Sie die markierten Angaben. Es wurde nichts gespeichert."), "error")
    return render_template("fields/field.html", **page.context()), 409 if conflict else 422


def _conflict(field: Field, key: str, form, error: ConflictError):
    if error.version is not None:
        form.version.data = str(error.version)  # saving again is a deliberate overwrite
    return _again(field, key, form, Conflict(key, error.saved, deleted=False))


def _gone(field: Field, anchor: str):
    """The record was removed meanwhile (stale page): say so instead of a bare 404."""
    db.session.rollback()
    flash(_("Dieser Eintrag wurde inzwischen von jemand anderem entfernt."), "error")
    return redirect(url_for("fields.field_page", slug=field.strategy.slug, number=field.number) + f"#{anchor}",
                    code=303)


def _action_form() -> ActionForm:
    form = ActionForm()
    if not form.validate():
        abort(400)
    return form


# --- next steps ----------------------------------------------------------------------------------

def _step_data(form: StepForm, field: Field) -> StepData:
    chosen = set(form.also_serves.data or [])
    serves = [f for f in field.strategy.fields if f.id in chosen]
    return StepData(
        description=form.description.data, person_name=form.person_name.data or "",
        organisation_name=form.organisation_name.data or "", due_date=form.due_date.data,
        status=StepStatus(form.status.data), progress_note=form.progress_note.data or "",
        done_on=form.done_on.data, also_serves=serves,
    )


def _step_form(field: Field, key: str) -> StepForm:
    form = StepForm(prefix=key)
    form.also_serves.choices = choices((f.id, f.label) for f in field.strategy.fields if f.id != field.id)
    return form


@bp.route(f"{FIELD_URL}/schritte", methods=["POST"])
@keeps_input
def add_step(slug: str, number: int):
    field = _editable_field(slug, number)
    key = step_key(None)
    form = _step_form(field, key)
    if not form.validate():
        return _again(field, key, form)
    data = _step_data(form, field)
    step = save_step(field, current_user, data)
    response = _back(field, f"schritt-{step.id}" if step.id else "schritte", _("Der Schritt wurde hinzugefügt."))
    _tell_if_past_due(data)
    return response


@bp.route(f"{FIELD_URL}/schritte/<id:step_id>", methods=["POST"])
@keeps_input
def edit_step(slug: str, number: int, step_id: int):
    field = _editable_field(slug, number)
    step = _record_or_none(NextStep, step_id, field)
    if step is None:
        return _gone(field, "schritte")
    key = step_key(step)
    form = _step_form(field, key)
    if not form.validate():
        return _again(field, key, form)
    data, due_before = _step_data(form, field), step.due_date
    try:
        save_step(field, current_user, data, step, form.version_number)
    except ConflictError as error:
        return _conflict(field, key, form, error)
    response = _back(field, key, _("Der Schritt wurde gespeichert."))
    _tell_if_past_due(data, due_before)
    return response


def _tell_if_past_due(data: StepData, before: date | None = None) -> None:
    """After the "saved" message: a due date in the past is kept, but said (it may be a typo)."""
    if due_date_in_the_past(data, local_today(), before):
        flash(_("Das Fälligkeitsdatum %(date)s liegt in der Vergangenheit – der Schritt wird deshalb als überfällig "
                "angezeigt. Wenn das nicht gemeint war, korrigieren Sie das Datum bitte.",
                date=format_date(data.due_date, "medium")), "warning")


@bp.route(f"{FIELD_URL}/schritte/<id:step_id>/erledigt", methods=["POST"])
def finish_step(slug: str, number: int, step_id: int):
    field = _editable_field(slug, number)
    step = _record(NextStep, step_id, field)
    form = _action_form()
    try:
        close_step(field, current_user, step, form.version_number)
    except ConflictError:
        db.session.rollback()
        flash(_("Jemand hat diesen Schritt inzwischen geändert; bitte prüfen Sie den aktuellen Stand."), "error")
        return redirect(url_for("fields.field_page", slug=slug, number=number) + f"#{step_key(step)}", code=303)
    return _back(field, step_key(step), _("Der Schritt ist als erledigt markiert."))


@bp.route(f"{FIELD_URL}/schritte/<id:step_id>/verschieben", methods=["POST"])
def reorder_step(slug: str, number: int, step_id: int):
    field = _editable_field(slug, number)
    step = _record(NextStep, step_id, field)
    form = _action_form()
    if form.direction.data not in ("up", "down"):
        abort(400)
    move_step(field, current_user, step, form.direction.data)
    return _back(field, step_key(step), _("Die Reihenfolge wurde geändert."))


@bp.route(f"{FIELD_URL}/schritte/<id:step_id>/entfernen", methods=["POST"])
def remove_step(slug: str, number: int, step_id: int):
    field = _editable_field(slug, number)
    step = _record_or_none(NextStep, step_id, field)
    if step is None:
        return _gone(field, "schritte")
    form = _action_form()
    try:
        delete_step(field, current_user, step, form.version_number)
    except ConflictError:
        db.session.rollback()
        flash(_("Jemand hat diesen Schritt inzwischen geändert; er wurde nicht entfernt."), "error")
        return redirect(url_for("fields.field_page", slug=slug, number=number) + f"#{step_key(step)}", code=303)
    return _back(field, "schritte", _("Der Schritt wurde entfernt."))


# --- financing -----------------------------------------------------------------------------------

def _financing_form(field: Field, key: str) -> FinancingForm:
    form = FinancingForm(prefix=key)
    form.next_steps.choices = choices((s.id, s.description) for s in field.next_steps)
    return form


def _financing_data(form: FinancingForm, field: Field) -> FinancingData:
    chosen = set(form.next_steps.data or [])
    return FinancingData(
        source=FundingSource(form.source.data), programme=form.programme.data, amount=form.amount.number,
        start_date=form.start_date.data, end_date=form.end_date.data, status=FundingStatus(form.status.data),
        note=form.note.data or "", has_follow_up=bool(form.has_follow_up.data),
        next_steps=[s for s in field.next_steps if s.id in chosen],
    )


@bp.route(f"{FIELD_URL}/finanzierung", methods=["POST"])
@keeps_input
def add_financing(slug: str, number: int):
    field = _editable_field(slug, number)
    key = financing_key(None)
    form = _financing_form(field, key)
    if not form.validate():
        return _again(field, key, form)
    item = save_financing(field, current_user, _financing_data(form, field))
    return _back(field, financing_key(item), _("Die Finanzierung wurde hinzugefügt."))


@bp.route(f"{FIELD_URL}/finanzierung/<id:item_id>", methods=["POST"])
@keeps_input
def edit_financing(slug: str, number: int, item_id: int):
    field = _editable_field(slug, number)
    item = _record_or_none(FinancingItem, item_id, field)
    if item is None:
        return _gone(field, "finanzierung")
    key = financing_key(item)
    form = _financing_form(field, key)
    if not form.validate():
        return _again(field, key, form)
    try:
        save_financing(field, current_user, _financing_data(form, field), item, form.version_number)
    except ConflictError as error:
        return _conflict(field, key, form, error)
    return _back(field, key, _("Die Finanzierung wurde gespeichert."))


@bp.route(f"{FIELD_URL}/finanzierung/<id:item_id>/entfernen", methods=["POST"])
def remove_financing(slug: str, number: int, item_id: int):
    field = _editable_field(slug, number)
    item = _record_or_none(FinancingItem, item_id, field)
    if item is None:
        return _gone(field, "finanzierung")
    form = _action_form()
    try:
        delete_financing(field, current_user, item, form.version_number)
    except ConflictError:
        db.session.rollback()
        flash(_("Jemand hat diese Finanzierung inzwischen geändert; sie wurde nicht entfernt."), "error")
        return redirect(url_for("fields.field_page", slug=slug, number=number) + "#finanzierung", code=303)
    return _back(field, "finanzierung", _("Die Finanzierung wurde entfernt."))


# --- indicators ----------------------------------------------------------------------------------

def _indicator_data(form: IndicatorForm) -> IndicatorData:
    return IndicatorData(
        name=form.name.data, unit=IndicatorUnit(form.unit.data), direction=Direction(form.direction.data),
        baseline=form.baseline.number, target=form.target.number,
        target_date=form.target_date.data, is_key=bool(form.is_key.data),
    )


@bp.route(f"{FIELD_URL}/kennzahlen", methods=["POST"])
@keeps_input
def add_indicator(slug: str, number: int):
    field = _editable_field(slug, number)
    key = indicator_key(None)
    form = IndicatorForm(prefix=key)
    if not form.validate():
        return _again(field, key, form)
    indicator = save_indicator(field, current_user, _indicator_data(form))
    return _back(field, indicator_key(indicator), _("Die Kennzahl wurde angelegt."))


@bp.route(f"{FIELD_URL}/kennzahlen/<id:indicator_id>", methods=["POST"])
@keeps_input
def edit_indicator(slug: str, number: int, indicator_id: int):
    field = _editable_field(slug, number)
    indicator = _record_or_none(Indicator, indicator_id, field)
    if indicator is None:
        return _gone(field, "kennzahlen")
    key = indicator_key(indicator)
    form = IndicatorForm(prefix=key)
    if form.validate():
        # Values already recorded must still fit a changed unit (e.g. no 120 in a percentage).
        unit = form.unit.data
        if unit == IndicatorUnit.PERCENT.value and any(v.value > 100 or v.value < 0 for v in indicator.values):
            form.unit.errors.append(_("Erfasste Werte liegen außerhalb von 0 bis 100; die Einheit Prozent passt "
                                      "nicht zu ihnen."))
        elif unit in (IndicatorUnit.COUNT.value, IndicatorUnit.EUR.value) and any(v.value < 0 for v in indicator.values):
            form.unit.errors.append(_("Es sind negative Werte erfasst; diese Einheit lässt sie nicht zu."))
    if form.errors:
        return _again(field, key, form)
    try:
        save_indicator(field, current_user, _indicator_data(form), indicator, form.version_number)
    except ConflictError as error:
        return _conflict(field, key, form, error)
    return _back(field, key, _("Die Kennzahl wurde gespeichert."))


@bp.route(f"{FIELD_URL}/kennzahlen/<id:indicator_id>/entfernen", methods=["POST"])
def remove_indicator(slug: str, number: int, indicator_id: int):
    field = _editable_field(slug, number)
    indicator = _record_or_none(Indicator, indicator_id, field)
    if indicator is None:
        return _gone(field, "kennzahlen")
    form = _action_form()
    try:
        delete_indicator(field, current_user, indicator, form.version_number)
    except ConflictError:
        db.session.rollback()
        flash(_("Jemand hat diese Kennzahl inzwischen geändert; sie wurde nicht entfernt."), "error")
        return redirect(url_for("fields.field_page", slug=slug, number=number) + "#kennzahlen", code=303)
    return _back(field, "kennzahlen", _("Die Kennzahl wurde entfernt."))


@bp.route(f"{FIELD_URL}/kennzahlen/<id:indicator_id>/werte", methods=["POST"])
@keeps_input
def add_value(slug: str, number: int, indicator_id: int):
    field = _editable_field(slug, number)
    indicator = _record(Indicator, indicator_id, field)
    key = value_key(indicator)
    form = IndicatorValueForm(prefix=key, unit=indicator.unit.value)
    if not form.validate():
        return _again(field, key, form)
    add_indicator_value(field, current_user, indicator, form.observed_on.data, form.value.number,
                        form.source_note.data)
    return _back(field, indicator_key(indicator), _("Der Wert wurde erfasst."))


@bp.route(f"{FIELD_URL}/kennzahlen/<id:indicator_id>/werte/<id:value_id>/entfernen", methods=["POST"])
def remove_value(slug: str, number: int, indicator_id: int, value_id: int):
    field = _editable_field(slug, number)
    indicator = _record(Indicator, indicator_id, field)
    value = db.session.get(IndicatorValue, value_id)
    if value is None:
        return _gone(field, indicator_key(indicator))
    if value.indicator_id != indicator.id:
        abort(404)
    _action_form()
    delete_indicator_value(field, current_user, value)
    return _back(field, indicator_key(indicator), _("Der Wert wurde entfernt."))


# --- pages across fields -------------------------------------------------------------------------

def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else None


@bp.route("/<slug>/offene-schritte")
def open_steps_page(slug: str):
    strategy = get_strategy_or_404(slug)
    require(can_view_open_steps(current_user, strategy))
    status = request.args.get("status", "")
    due = request.args.get("faellig", "")
    wanted = StepFilter(
        field_number=_int_arg("hf"),
        organisation_id=_int_arg("organisation"),
        person_id=_int_arg("person"),
        status=StepStatus(status) if status in {s.value for s in StepStatus if s.is_open} else None,
        due=due if due in DUE_WINDOWS else None,
    )
    today = local_today()
    steps = open_steps(strategy, wanted, today)
    organisations, people = step_filter_choices(strategy)
    return render_template("records/open_steps.html", strategy=strategy, steps=steps, wanted=wanted,
                           organisations=organisations, people=people, today=today,
                           statuses=[s for s in StepStatus if s.is_open], due_windows=DUE_WINDOWS,
                           filtered=any(vars(wanted).values()))


@bp.route("/<slug>/finanzierung")
@public
def funding_page(slug: str):
    strategy = get_strategy_or_404(slug)
    require(can_view_funding(current_user, strategy))
    today = local_today()
    rows = [item.row for item in readable_fields(current_user, strategy) if item.row is not None]
    periods = funding_periods(rows, today)
    periods.sort(key=lambda p: (p["field_number"], p.get("start_date") or "9999", p.get("end_date") or "9999"))
    return render_template("records/funding.html", strategy=strategy, periods=periods, today=today,
                           horizon_months=horizon_months(), timeline=funding_timeline_svg(periods, today=today))

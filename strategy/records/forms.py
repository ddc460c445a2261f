"""Forms for next steps, financing items and indicators. Messages are German and sit next to the field."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms import (
    Field as FormField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from ..days import local_today
from ..forms import BaseForm
from ..models import Direction, FundingStatus, IndicatorUnit, StepStatus
from ..models.records import FUNDING_SOURCE_LABELS, FUNDING_STATUS_LABELS, INDICATOR_UNIT_LABELS, STEP_STATUS_LABELS

DIRECTION_LABELS = {Direction.HIGHER_IS_BETTER: _l("höher ist besser"), Direction.LOWER_IS_BETTER: _l("niedriger ist besser")}
_DATE_MESSAGE = _l("Bitte ein gültiges Datum angeben (TT.MM.JJJJ).")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
MAX_NUMBER = Decimal("99999999999999")


def parse_decimal(text: str, english: bool = False) -> Decimal:
    """A number as Germans and others type it: '12.500,50', '12500.5', '1 234 €', '22,5 %'.

    Readers of the English UI write '12,500.50': the comma separates thousands, the point is the decimal point.
    """
    cleaned = text.strip().replace("€", "").replace("%", "").replace("EUR", "").replace("\u00a0", "").replace(" ", "")
    if english:
        cleaned = cleaned.replace(",", "")
    elif "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    elif cleaned.count(".") > 1 or re.fullmatch(r"-?\d{1,3}(\.\d{3})+", cleaned):
        cleaned = cleaned.replace(".", "")  # 12.500 is twelve thousand five hundred in German
    if not _NUMBER.match(cleaned):
        raise ValueError(text)
    return Decimal(cleaned)


class DecimalInput(StringField):
    """A text input for a number in German notation; empty means None."""

    widget = TextInput()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(*args, **kwargs)
        self.number: Decimal | None = None

    def process_data(self, value):
        self.number = value
        self.data = "" if value is None else _format_number(value)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.number = None

    def pre_validate(self, form):
        text = (self.data or "").strip()
        self.number = None
        if not text:
            return
        try:
            number = parse_decimal(text, english=_reads_english())
        except (ValueError, InvalidOperation):
            raise ValidationError(_l("Bitte eine Zahl angeben, z. B. 1.250 oder 22,5.")) from None
        if abs(number) > MAX_NUMBER or number.as_tuple().exponent < -4:
            raise ValidationError(_l("Diese Zahl ist zu groß oder hat zu viele Nachkommastellen."))
        self.number = number


def _format_number(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if _reads_english() else text.replace(".", ",")


def _reads_english() -> bool:
    return get_locale().language == "en"


class DayField(DateField):
    """A date input (yyyy-mm-dd from the browser) whose parse error speaks German."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("format", "%Y-%m-%d")
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(_DATE_MESSAGE) from None


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class _VersionedForm(BaseForm):
    version = HiddenField()

    @property
    def version_number(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


def _enum_choices(labels):
    """Choices of an enum, labelled in the reader's language (evaluated when the form is built)."""
    return lambda: [SelectChoice(member.value, str(label)) for member, label in labels.items()]


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _not_in_future(form, field: FormField) -> None:
    if field.data and field.data > local_today():
        raise ValidationError(_l("Dieses Datum liegt in der Zukunft."))


class StepForm(_VersionedForm):
    description = TextAreaField(_l("Schritt"), validators=[
        DataRequired(_l("Bitte beschreiben Sie den Schritt.")), Length(max=2000, message=_l("Höchstens 2.000 Zeichen."))])
    person_name = StringField(_l("Verantwortliche Person"), validators=[
        Length(max=200, message=_l("Höchstens 200 Zeichen."))], render_kw={"list": "known-people", "autocomplete": "off"})
    organisation_name = StringField(_l("Verantwortliche Organisation"), validators=[
        Length(max=200, message=_l("Höchstens 200 Zeichen."))],
        render_kw={"list": "known-organisations", "autocomplete": "off"})
    due_date = DayField(_l("Fällig bis"), validators=[Optional()])
    status = SelectField(_l("Status"), choices=_enum_choices(STEP_STATUS_LABELS), default=StepStatus.PLANNED.value)
    progress_note = StringField(_l("Stand der Umsetzung (kurz)"), validators=[
        Length(max=500, message=_l("Höchstens 500 Zeichen."))])
    done_on = DayField(_l("Erledigt am"), validators=[Optional(), _not_in_future])
    also_serves = MultiCheckboxField(_l("Dient auch den Handlungsfeldern"), coerce=int, choices=[],
                                     validate_choice=True)

    def validate_done_on(self, field):
        if field.data and self.status.data != StepStatus.DONE.value:
            raise ValidationError(_l("Ein Erledigt-Datum gibt es nur für erledigte Schritte."))


class FinancingForm(_VersionedForm):
    source = SelectField(_l("Förderquelle"), choices=_enum_choices(FUNDING_SOURCE_LABELS))
    programme = StringField(_l("Programm / Projekt"), validators=[
        DataRequired(_l("Bitte nennen Sie Programm oder Projekt.")), Length(max=300, message=_l("Höchstens 300 Zeichen."))])
    amount = DecimalInput(_l("Betrag in Euro (optional)"))
    start_date = DayField(_l("Beginn"), validators=[Optional()])
    end_date = DayField(_l("Ende"), validators=[Optional()])
    status = SelectField(_l("Status"), choices=_enum_choices(FUNDING_STATUS_LABELS), default=FundingStatus.OPEN.value)
    note = TextAreaField(_l("Anmerkung"), validators=[Length(max=1000, message=_l("Höchstens 1.000 Zeichen."))])
    has_follow_up = BooleanField(_l("Anschlussfinanzierung geklärt"))
    next_steps = MultiCheckboxField(_l("Finanziert diese Schritte"), coerce=int, choices=[])

    def validate_amount(self, field):
        if field.number is not None and field.number < 0:
            raise ValidationError(_l("Der Betrag darf nicht negativ sein."))

    def validate_end_date(self, field):
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_l("Das Ende darf nicht vor dem Beginn liegen."))


def _check_unit(unit: str, number: Decimal | None):
    if number is None:
        return
    if unit == IndicatorUnit.PERCENT.value and not (0 <= number <= 100):
        raise ValidationError(_l("Ein Prozentwert liegt zwischen 0 und 100."))
    if unit in (IndicatorUnit.EUR.value, IndicatorUnit.COUNT.value) and number < 0:
        raise ValidationError(_l("Dieser Wert darf nicht negativ sein."))


class IndicatorForm(_VersionedForm):
    name = StringField(_l("Name der Kennzahl"), validators=[
        DataRequired(_l("Bitte geben Sie der Kennzahl einen Namen.")), Length(max=300, message=_l("Höchstens 300 Zeichen."))])
    unit = SelectField(_l("Einheit"), choices=_enum_choices(INDICATOR_UNIT_LABELS), default=IndicatorUnit.COUNT.value)
    direction = SelectField(_l("Richtung"), choices=_enum_choices(DIRECTION_LABELS),
                            default=Direction.HIGHER_IS_BETTER.value)
    baseline = DecimalInput(_l("Ausgangswert (optional)"))
    target = DecimalInput(_l("Zielwert (optional)"))
    target_date = DayField(_l("Ziel bis (optional)"), validators=[Optional()])
    is_key = BooleanField(_l("Schlüsselkennzahl dieses Handlungsfelds (in der Übersicht gezeigt)"))

    def validate_baseline(self, field):
        _check_unit(self.unit.data, field.number)

    def validate_target(self, field):
        _check_unit(self.unit.data, field.number)

    def validate_target_date(self, field):
        if field.data and self.target.number is None and not self.target.errors:
            raise ValidationError(_l("Ein Zieldatum braucht einen Zielwert."))


class IndicatorValueForm(BaseForm):
    observed_on = DayField(_l("Stand (Datum)"), validators=[DataRequired(_DATE_MESSAGE), _not_in_future])
    value = DecimalInput(_l("Wert"))
    source_note = StringField(_l("Quelle, Stand"), validators=[
        DataRequired(_l("Bitte nennen Sie die Quelle, z. B. „Jobcenter-Statistik, Stand 03/2026“.")),
        Length(max=500, message=_l("Höchstens 500 Zeichen."))])

    def __init__(self, *args, unit: str = IndicatorUnit.COUNT.value, **kwargs):
        super().__init__(*args, **kwargs)
        self.unit = unit

    def validate_value(self, field):
        if field.number is None and not field.errors:
            raise ValidationError(_l("Bitte einen Wert angeben."))
        _check_unit(self.unit, field.number)


class ActionForm(BaseForm):
    """Buttons that change one record: move, close, delete; they carry the version the user saw."""

    version = HiddenField()
    direction = HiddenField()

    @property
    def version_number(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


__all__ = ["ActionForm", "choices", "DIRECTION_LABELS", "FinancingForm", "IndicatorForm", "IndicatorValueForm", "StepForm",
           "parse_decimal"]

"""Forms of the field pages: editing a field's row and restoring a revision."""
from __future__ import annotations

from flask import current_app
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, FieldList, FormField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from ..forms import BaseForm, BaseSubform
from ..framework import FRAMEWORK
from ..models import FieldPhase, ResponsibilityRole
from ..models.strategy import PHASE_LABELS

NAME_LENGTH = 200  # the String(200) columns: titles, names of groups, people and organisations
MAX_GROUPS = 40
MAX_MEMBERS = 60
MAX_RESPONSIBLE = 40

def normalise_newlines(value: str | None) -> str | None:
    """Browsers send CRLF; stored text uses LF, so an unchanged textarea compares equal."""
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


def strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def max_text_length(form, field) -> None:
    """Prose columns: at most MAX_TEXT_LENGTH characters (configurable per site)."""
    limit = current_app.config["MAX_TEXT_LENGTH"]
    length = len(field.data or "")
    if length > limit:
        raise ValidationError(_l("Der Text ist zu lang: %(length)s Zeichen, erlaubt sind höchstens %(limit)s. "
                                 "Bitte kürzen Sie ihn.", length=format_decimal(length), limit=format_decimal(limit)))


def _name_length(max_length: int = NAME_LENGTH) -> Length:
    return Length(max=max_length, message=_l("Höchstens %(max)d Zeichen.", max=max_length))


ROLE_CHOICES = [
    SelectChoice(ResponsibilityRole.LEAD.value, _l("federführend (FF)")),
    SelectChoice(ResponsibilityRole.MEMBER.value, _l("beteiligt")),
]


class ChoiceField(SelectField):
    """A select whose "not on the list" message is ours (subforms have no translations of their own)."""

    def pre_validate(self, form) -> None:
        if self.data not in {choice.value for choice in self.choices}:
            raise ValidationError(_l("Bitte wählen Sie einen Eintrag aus der Liste."))


class PartyForm(BaseSubform):
    """A person and/or an organisation, picked from those known or typed as a new name."""

    person = StringField(_l("Person"), filters=[strip], validators=[_name_length()])
    organisation = StringField(_l("Organisation"), filters=[strip],
                               validators=[_name_length()])
    role = ChoiceField(_l("Rolle"), choices=ROLE_CHOICES, default=ResponsibilityRole.LEAD.value)
    remove = BooleanField(_l("Entfernen"))

    @property
    def is_blank(self) -> bool:
        return not (self.person.data or self.organisation.data)


class MemberForm(PartyForm):
    role = ChoiceField(_l("Rolle"), choices=ROLE_CHOICES, default=ResponsibilityRole.MEMBER.value)


class WorkingGroupForm(BaseSubform):
    name = StringField(_l("Name der Fachgruppe"), filters=[strip],
                       validators=[_name_length()])
    remove = BooleanField(_l("Fachgruppe entfernen"))
    members = FieldList(FormField(MemberForm), max_entries=MAX_MEMBERS)

    def validate_name(self, field) -> None:
        if not field.data and not self.remove.data and any(not m.form.is_blank for m in self.members):
            raise ValidationError(_l("Bitte geben Sie der Fachgruppe einen Namen."))


class FieldEditForm(BaseForm):
    """The whole row of a field; the text columns are added below by walking the framework."""

    # The content version the user started from, and the row as it was then (signed): the base of a
    # three-way merge when someone else saved in between.
    version = HiddenField()
    base = HiddenField()

    title = StringField(_l("Titel des Handlungsfelds"), filters=[strip],
                        validators=[DataRequired(message=_l("Bitte geben Sie einen Titel ein.")), _name_length()])
    goal_text = TextAreaField(_l("Ziel (Leitziel)"), filters=[normalise_newlines],
                              validators=[max_text_length])
    phase = ChoiceField(_l("Aktuelle Phase"), choices=[SelectChoice(p.value, PHASE_LABELS[p]) for p in FieldPhase])
    working_groups = FieldList(FormField(WorkingGroupForm), max_entries=MAX_GROUPS)
    responsible = FieldList(FormField(PartyForm), max_entries=MAX_RESPONSIBLE)


for _phase in FRAMEWORK:
    for _column in _phase.columns:
        if _column.kind in ("text", "financing"):
            setattr(FieldEditForm, _column.key, TextAreaField(
                _column.label, filters=[normalise_newlines], validators=[max_text_length]))


class RestoreForm(BaseForm):
    """Restoring a revision; carries the content version the user saw (compare-and-swap)."""

    version = HiddenField()

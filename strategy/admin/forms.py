"""Admin forms. Each declares exactly the attributes it may change; `values()` hands only those to a service."""
from __future__ import annotations

import re
from typing import Any, Iterable

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..days import BUNDESLAENDER
from ..forms import BaseForm
from ..models import Field, Organisation, OrganisationKind, Role, Strategy, User, Visibility
from ..models.organisation import ORGANISATION_KIND_LABELS

# Deliberately simple: one @, no spaces, a dot in the domain. The set-password link proves the address.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

VISIBILITY_LABELS = {
    Visibility.INTERNAL.value: _l("Intern – nur Verwaltung, Lenkung und Koordination"),
    Visibility.PARTNERS.value: _l("Partner – zusätzlich angemeldete Partner"),
    Visibility.PUBLIC.value: _l("Öffentlich – alle, auch ohne Anmeldung"),
}
ROLE_LABELS = {
    Role.STEERING: _l("Lenkung (Koordinierungsgruppe)"),
    Role.COORDINATOR: _l("Handlungsfeld-Koordination"),
    Role.PARTNER: _l("Partner"),
}


def choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms wants them; labels are resolved in the reader's language now."""
    return [SelectChoice(value, str(label)) for value, label in pairs]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _none_if_empty(value):
    value = _strip(value)
    return value or None


def optional_id(value) -> int | None:
    """Coerce a select's value to an id; the empty choice is None."""
    if value in (None, "", "None"):
        return None
    return int(value)


def _required(message):
    return InputRequired(message=message)


def _max(length: int):
    return Length(max=length, message=_l("Bitte höchstens %(max)d Zeichen.", max=length))


class MaxTextLength:
    """Prose length limit from the configuration (MAX_TEXT_LENGTH)."""

    def __call__(self, form, field):
        limit = current_app.config["MAX_TEXT_LENGTH"]
        if field.data and len(field.data) > limit:
            raise ValidationError(_l("Bitte höchstens %(max)d Zeichen (jetzt: %(now)d).", max=limit,
                                     now=len(field.data)))


class AdminForm(BaseForm):
    """Hands services only the declared fields."""

    def values(self) -> dict[str, Any]:
        return {field.name: field.data for field in self if field.name != "csrf_token"}


def organisation_choices(empty_label) -> list[tuple[Any, Any]]:
    from .people import organisations

    return choices([("", empty_label)] + [(o.id, o.name) for o in organisations()])


class StrategyForm(AdminForm):
    title = StringField(_l("Titel"), filters=[_strip], validators=[
        _required(_l("Bitte geben Sie einen Titel ein.")), _max(200)])
    slug = StringField(_l("Kurzname für die Adresse"), filters=[_strip], validators=[
        _required(_l("Bitte geben Sie einen Kurznamen ein.")), _max(80),
        Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", message=_l(
            "Nur Kleinbuchstaben (a–z), Ziffern und einzelne Bindestriche, z. B. „dortmund-neuzuwanderung“."))])
    subtitle = StringField(_l("Untertitel"), filters=[_strip], validators=[_max(300)])
    framework_title = StringField(_l("Titel des Handlungsrahmens"), filters=[_strip], validators=[_max(300)])
    description = TextAreaField(_l("Beschreibung"), filters=[_strip], validators=[MaxTextLength()])
    owner_organisation_id = SelectField(_l("Verantwortliche Organisation"), coerce=optional_id,
                                        validate_choice=True)
    visibility = SelectField(_l("Sichtbarkeit"), choices=lambda: choices(VISIBILITY_LABELS.items()),
                             coerce=Visibility, default=Visibility.INTERNAL.value)
    bundesland = SelectField(_l("Bundesland (Feiertage für die Fristen der Berichtsrunden)"),
                             choices=lambda: choices(sorted(BUNDESLAENDER.items(), key=lambda item: item[1])),
                             default="NW")

    def __init__(self, *args, strategy: Strategy | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._strategy = strategy
        self.owner_organisation_id.choices = organisation_choices(_l("– keine –"))

    def validate_slug(self, field):
        from ..extensions import db

        query = db.select(Strategy.id).filter_by(slug=field.data)
        if self._strategy is not None:
            query = query.where(Strategy.id != self._strategy.id)
        if db.session.scalar(query) is not None:
            raise ValidationError(_l("Diesen Kurznamen hat schon eine andere Strategie."))


class FieldForm(AdminForm):
    title = StringField(_l("Titel des Handlungsfelds"), filters=[_strip], validators=[
        _required(_l("Bitte geben Sie einen Titel ein.")), _max(200)])
    goal_text = TextAreaField(_l("Ziel (Leitziel)"), filters=[_strip], validators=[MaxTextLength()])


class OrganisationForm(AdminForm):
    name = StringField(_l("Name"), filters=[_strip], validators=[
        _required(_l("Bitte geben Sie den Namen der Organisation ein.")), _max(200)])
    short_name = StringField(_l("Kurzname"), filters=[_none_if_empty], validators=[Optional(), _max(60)])
    kind = SelectField(_l("Art"), coerce=OrganisationKind, default=OrganisationKind.OTHER.value,
                       choices=lambda: choices((kind.value, label) for kind, label in ORGANISATION_KIND_LABELS.items()))

    def __init__(self, *args, organisation: Organisation | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._organisation = organisation

    def validate_name(self, field):
        from ..extensions import db

        query = db.select(Organisation.id).where(db.func.lower(Organisation.name) == field.data.lower())
        if self._organisation is not None:
            query = query.where(Organisation.id != self._organisation.id)
        if db.session.scalar(query) is not None:
            raise ValidationError(_l("Eine Organisation mit diesem Namen gibt es schon."))


def _check_email(field):
    if field.data and not _EMAIL.match(field.data):
        raise ValidationError(_l("Bitte geben Sie eine gültige E-Mail-Adresse ein, z. B. name@stadt.example."))


class PersonForm(AdminForm):
    name = StringField(_l("Name"), filters=[_strip], validators=[
        _required(_l("Bitte geben Sie einen Namen ein.")), _max(200)])
    organisation_id = SelectField(_l("Organisation"), coerce=optional_id)
    email = StringField(_l("E-Mail-Adresse"), filters=[_none_if_empty], validators=[Optional(), _max(254)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation_id.choices = organisation_choices(_l("– keine –"))

    def validate_email(self, field):
        _check_email(field)


class AccountForm(AdminForm):
    email = StringField(_l("E-Mail-Adresse"), filters=[_strip], validators=[
        _required(_l("Bitte geben Sie die E-Mail-Adresse ein.")), _max(254)])
    name = StringField(_l("Name"), filters=[_strip], validators=[
        _required(_l("Bitte geben Sie einen Namen ein.")), _max(200)])
    person_id = SelectField(_l("Verknüpfte Person"), coerce=optional_id)
    is_admin = BooleanField(_l("Verwaltungsrechte (Admin)"))

    def __init__(self, *args, account: User | None = None, may_change_admin: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self._account = account
        self._may_change_admin = may_change_admin
        from .people import people

        # A person has at most one account; deleted people are not offered.
        self.person_id.choices = choices([("", _l("– keine –"))] + [
            (p.id, p.label) for p in people()
            if not p.is_deleted and (p.user is None or (account is not None and p.user.id == account.id))
        ])

    def validate_email(self, field):
        from .accounts import email_taken

        _check_email(field)
        if email_taken(field.data, except_id=self._account.id if self._account else None):
            raise ValidationError(_l("Für diese E-Mail-Adresse gibt es schon ein Konto."))

    def validate_is_admin(self, field):
        if self._account is not None and not self._may_change_admin and field.data != self._account.is_admin:
            raise ValidationError(_l("Ihre eigenen Verwaltungsrechte können Sie nicht selbst ändern."))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def access_form(strategies: Iterable[Strategy], fields: dict[int, list[Field]], account: User, **kwargs):
    """One role select and one group of field checkboxes per strategy, prefilled from the account."""

    class AccessForm(AdminForm):
        def validate(self, extra_validators=None) -> bool:
            valid = super().validate(extra_validators)
            for strategy_id in self.strategy_ids:
                chosen = self[f"fields_{strategy_id}"]
                if chosen.data and self[f"role_{strategy_id}"].data != Role.COORDINATOR:
                    chosen.errors = list(chosen.errors) + [_l(
                        "Handlungsfelder koordinieren nur Personen mit der Rolle „Handlungsfeld-Koordination“. "
                        "Wählen Sie diese Rolle oder entfernen Sie die Haken.")]
                    valid = False
            return valid

        def roles(self) -> dict[int, Role | None]:
            return {sid: self[f"role_{sid}"].data for sid in self.strategy_ids}

        def field_ids(self) -> dict[int, set[int]]:
            return {sid: set(self[f"fields_{sid}"].data or ()) for sid in self.strategy_ids}

    strategies = list(strategies)
    AccessForm.strategy_ids = [s.id for s in strategies]
    role_of = {m.strategy_id: m.role.value for m in account.memberships}
    assigned = {a.field_id for a in account.assignments}
    data: dict[str, Any] = {}
    for strategy in strategies:
        setattr(AccessForm, f"role_{strategy.id}", SelectField(
            _l("Rolle"), coerce=_optional_role,
            choices=choices([("", _l("keine Rolle"))] + [(role.value, label) for role, label in ROLE_LABELS.items()])))
        offered = [
            (f.id, f.label + (" " + str(_l("(archiviert)")) if f.is_archived else ""))
            for f in sorted(fields.get(strategy.id, []), key=lambda f: f.number)
            if not f.is_archived or f.id in assigned
        ]
        setattr(AccessForm, f"fields_{strategy.id}", MultiCheckboxField(
            _l("Koordinierte Handlungsfelder"), coerce=int, choices=choices(offered)))
        data[f"role_{strategy.id}"] = role_of.get(strategy.id, "")
        data[f"fields_{strategy.id}"] = [field_id for field_id, _label in offered if field_id in assigned]
    return AccessForm(data=data, **kwargs)


def _optional_role(value) -> Role | None:
    if value in (None, "", "None"):
        return None
    return Role(value)


class AuditFilterForm(BaseForm):
    """The audit log's filters: a GET form (no CSRF token, it changes nothing)."""

    class Meta:
        csrf = False

    action = SelectField(_l("Aktion"), coerce=lambda value: value or "", default="")
    user = SelectField(_l("Benutzerkonto"), coerce=optional_id)

    def __init__(self, *args, actions: list[tuple[str, Any]], users: list[User], **kwargs):
        super().__init__(*args, **kwargs)
        self.action.choices = choices([("", _l("alle Aktionen"))] + actions)
        self.user.choices = choices([("", _l("alle Konten"))] + [(u.id, f"{u.name} <{u.email}>") for u in users])


class SettingsForm(AdminForm):
    two_factor_required = BooleanField(_l("Zwei-Faktor-Anmeldung für Admins und Lenkung verpflichtend"))

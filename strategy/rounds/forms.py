"""Forms of reporting rounds: opening one, moving its deadlines, answering a task, reopening a field."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange

from ..forms import BaseForm
from ..records.forms import DayField
from .services import DEFAULT_OFFSETS, REASON_MAX

_DATE_MESSAGE = _l("Bitte geben Sie ein Datum ein.")
_DAYS_MESSAGE = _l("Bitte geben Sie eine ganze Zahl von 0 bis 60 ein.")


class WorkingDaysField(IntegerField):
    """A number of working days; a parse error speaks the reader's language like every other message."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(_DAYS_MESSAGE) from None


def _offset(label, kind):
    return WorkingDaysField(label, default=DEFAULT_OFFSETS[kind],
                            validators=[InputRequired(_DAYS_MESSAGE), NumberRange(0, 60, _DAYS_MESSAGE)])


class OpenRoundForm(BaseForm):
    title = StringField(_l("Titel der Runde"), filters=[lambda v: (v or "").strip()],
                        validators=[InputRequired(_l("Bitte geben Sie einen Titel ein.")), Length(max=200)])
    meeting_on = DayField(_l("Datum der Sitzung"), validators=[InputRequired(_DATE_MESSAGE)])
    update_days = _offset(_l("Aktualisierung bis: Arbeitstage vor der Sitzung"), "update")
    review_days = _offset(_l("Prüfung bis: Arbeitstage vor der Sitzung"), "review")
    edition_days = _offset(_l("Fassung: Arbeitstage vor der Sitzung"), "edition")


class DeadlinesForm(BaseForm):
    update = DayField(_l("Aktualisierung bis"), validators=[InputRequired(_DATE_MESSAGE)])
    review = DayField(_l("Prüfung bis"), validators=[InputRequired(_DATE_MESSAGE)])
    edition = DayField(_l("Fassung"), validators=[InputRequired(_DATE_MESSAGE)])


class ActionForm(BaseForm):
    """A one-click action (nothing changed, freeze the edition, close the round, lock again)."""


class ReopenForm(BaseForm):
    reason = TextAreaField(_l("Grund"), filters=[lambda v: (v or "").strip()],
                           validators=[InputRequired(_l("Bitte geben Sie einen Grund an.")),
                                       Length(max=REASON_MAX)])

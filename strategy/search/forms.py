"""The search form: a GET form (bookmarkable, no CSRF token: it changes nothing) with its filters."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SearchField, SelectField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from ..forms import BaseForm
from ..models import SearchKind
from ..records.forms import DayField
from .services import KIND_LABELS, Filters

QUERY_MAX = 200


class NumberField(IntegerField):
    """A whole number whose parse error speaks German (WTForms' own says "Not a valid integer value")."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(_l("Bitte eine ganze Zahl eingeben, z. B. 4.")) from None


class SearchForm(BaseForm):
    class Meta(BaseForm.Meta):
        csrf = False

    q = SearchField(_l("Suchbegriff"), validators=[Optional(), Length(max=QUERY_MAX)])
    strategie = SelectField(_l("Strategie"), choices=[], validate_choice=False)
    feld = NumberField(_l("Handlungsfeld (Nummer)"), validators=[
        Optional(), NumberRange(min=1, max=999, message=_l("Bitte eine Nummer zwischen 1 und 999."))])
    art = SelectField(_l("Art"), choices=[], validate_choice=False)
    von = DayField(_l("Geändert ab"), validators=[Optional()], render_kw={"type": "date"})
    bis = DayField(_l("Geändert bis"), validators=[Optional()], render_kw={"type": "date"})
    verlauf = BooleanField(_l("Auch in älteren Ständen und Fassungen suchen"))
    seite = NumberField(validators=[Optional(), NumberRange(min=1, max=10_000)])

    def __init__(self, *args, strategies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.strategie.choices = [("", _l("alle Strategien"))] + [(s.slug, s.title) for s in strategies]
        self.art.choices = [("", _l("alle Arten"))] + [(kind.value, KIND_LABELS[kind]) for kind in SearchKind]

    def validate_art(self, field) -> None:
        # Missing means "alle Arten"; an unknown value (an edited address) is said, not silently ignored.
        if field.data and field.data not in SearchKind._value2member_map_:
            raise ValidationError(_l("Diese Art gibt es nicht; gesucht wird in allen Arten."))

    def validate_bis(self, field) -> None:
        if field.data and self.von.data and field.data < self.von.data:
            raise ValidationError(_l("Das Ende des Zeitraums liegt vor seinem Anfang."))

    def filters(self) -> Filters:
        kind = self.art.data if self.art.data in SearchKind._value2member_map_ else None
        return Filters(
            strategy=self.strategie.data or None,
            field_number=self.feld.data if not self.feld.errors else None,
            kinds=frozenset({SearchKind(kind)}) if kind else frozenset(),
            since=self.von.data if not self.von.errors else None,
            until=self.bis.data if not self.bis.errors else None,
            history=bool(self.verlauf.data),
            page=(self.seite.data or 1) if not self.seite.errors else 1,
        )

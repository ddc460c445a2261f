from wtforms import RadioField
from wtforms.fields.choices import SelectChoice

from ..forms import BaseForm
from ..models import Delivery
from .services import KINDS


class MarkReadForm(BaseForm):
    """A button that needs only the CSRF token."""


def preferences_form(current: dict[str, Delivery], **kwargs) -> BaseForm:
    """One choice per registered kind (kinds added by other parts of the app appear here by themselves)."""

    class PreferencesForm(BaseForm):
        pass

    for key, kind in KINDS.items():
        setattr(PreferencesForm, key, RadioField(
            kind.label, default=current[key].value,
            choices=[SelectChoice(delivery.value, delivery.label) for delivery in Delivery]))
    return PreferencesForm(**kwargs)

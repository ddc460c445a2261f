from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from ..forms import BaseForm
from ..models import Strategy, Visibility
from .services import AUDIENCE_LABELS, BLOCK_LABELS

HINT = _l("Wer einen Block mindestens lesen darf. Was die Strategie selbst nicht zeigt, zeigt auch kein Block.")


def visibility_form(strategy: Strategy) -> BaseForm:
    """One select per block of a row: who may read it at least (public, partners, internal only)."""
    from ..permissions import block_audience, visibility_blocks

    class BlockVisibilityForm(BaseForm):
        pass

    choices = [SelectChoice(audience.value, str(AUDIENCE_LABELS[audience]))
               for audience in (Visibility.PUBLIC, Visibility.PARTNERS, Visibility.INTERNAL)]
    for block in visibility_blocks():
        setattr(BlockVisibilityForm, f"block_{block}", SelectField(
            BLOCK_LABELS[block], choices=choices, default=block_audience(strategy, block).value))
    return BlockVisibilityForm()

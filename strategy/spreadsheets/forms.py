"""Forms of the import: the upload (into a strategy, or as a new one) and the column mapping."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired

from ..admin.forms import StrategyForm
from ..forms import BaseForm

ACCEPT = ".xlsx,.xls,.ods,.csv,.docx"


class UploadForm(BaseForm):
    file = FileField(_l("Datei"), validators=[FileRequired(_l("Bitte wählen Sie eine Datei aus."))],
                     render_kw={"accept": ACCEPT})


class NewStrategyUploadForm(StrategyForm):
    """A new strategy from a file: its title and address as in the admin area, and the file."""

    file = FileField(_l("Datei"), validators=[FileRequired(_l("Bitte wählen Sie eine Datei aus."))],
                     render_kw={"accept": ACCEPT})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the title and the address are asked here; the rest is set in the admin area afterwards.
        for name in ("subtitle", "framework_title", "description", "owner_organisation_id", "visibility"):
            delattr(self, name)


class MappingForm(BaseForm):
    """The mapping's selects are built from the file (one per column), so they are read in routes; this form
    carries the CSRF token."""

"""Revision summaries: stored as meaning (a key and its arguments), shown in the reader's language.

A revision's summary is written once and read for years by people who chose German or English, so a revision
stores what happened (`Revision.summary_key`, e.g. "step_added", and `summary_args`, e.g. {"what": "<step>"})
and every page renders it through Babel when it is read (`revision_summary`). Dates and times in the arguments
are ISO strings, formatted for the reader. The German text is stored beside it (`Revision.summary`) for
exports, backups and readers of the raw table; revisions written before keys existed have only that text and
are shown as it stands (their readable fallback), never parsed back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime
from typing import Any

from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _


@dataclass(frozen=True)
class Summary:
    """What a change was, as a key of SUMMARY_TEXTS and the arguments its text needs."""

    key: str
    args: Mapping[str, Any] = dc_field(default_factory=dict)

    def text(self) -> str:
        """In the reader's language."""
        return SUMMARY_TEXTS[self.key](self.args)

    def stored_text(self) -> str:
        """In German, whatever language the writer reads: the text column kept beside the key."""
        with force_locale("de"):
            return self.text()


def summary(key: str, **args: Any) -> Summary:
    """`summary("step_added", what=step.description)`; an unknown key fails here, not when someone reads it."""
    if key not in SUMMARY_TEXTS:
        raise KeyError(f"no revision summary {key!r}")
    return Summary(key, args)


def format_day(value: str) -> str:
    from .templating import _date  # the one date filter; templating registers this module's filter

    return _date(value)


def _when(value: str) -> str:
    return format_datetime(datetime.fromisoformat(value), "short")


# Every summary a revision can carry. A new kind of change adds its key here, with its text.
SUMMARY_TEXTS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "step_added": lambda a: _("Schritt hinzugefügt: %(what)s", what=a["what"]),
    "step_changed": lambda a: _("Schritt geändert: %(what)s", what=a["what"]),
    "step_done": lambda a: _("Schritt erledigt: %(what)s", what=a["what"]),
    "step_removed": lambda a: _("Schritt entfernt: %(what)s", what=a["what"]),
    "steps_reordered": lambda a: _("Reihenfolge der Schritte geändert"),
    "financing_added": lambda a: _("Finanzierung hinzugefügt: %(what)s", what=a["what"]),
    "financing_changed": lambda a: _("Finanzierungsposten geändert: %(what)s", what=a["what"]),
    "financing_removed": lambda a: _("Finanzierung entfernt: %(what)s", what=a["what"]),
    "indicator_added": lambda a: _("Kennzahl hinzugefügt: %(what)s", what=a["what"]),
    "indicator_changed": lambda a: _("Kennzahl geändert: %(what)s", what=a["what"]),
    "indicator_removed": lambda a: _("Kennzahl entfernt: %(what)s", what=a["what"]),
    "value_recorded": lambda a: _("Wert erfasst: %(what)s (%(day)s)", what=a["what"], day=format_day(a["day"])),
    "value_removed": lambda a: _("Wert entfernt: %(what)s (%(day)s)", what=a["what"], day=format_day(a["day"])),
    "field_created": lambda a: _("Handlungsfeld angelegt"),
    "head_changed_by_admin": lambda a: _("Titel/Ziel in der Verwaltung geändert"),
    "organisation_renamed": lambda a: _("Organisation umbenannt"),
    "person_changed": lambda a: _("Angaben zu einer Person geändert"),
    "person_deleted": lambda a: _("Person gelöscht"),
    "restored": lambda a: _("Stand vom %(when)s wiederhergestellt", when=_when(a["when"])),
    "submitted": lambda a: _("Zur Prüfung eingereicht"),
    "returned": lambda a: _("Zurückgegeben: %(comment)s", comment=a["comment"]),
    "approved": lambda a: _("Freigegeben"),
    "imported": lambda a: _("Aus Datei importiert: %(file)s", file=a["file"]),
    "demo_loaded": lambda a: _("Zielsystem Dortmund geladen"),
    "demo_partners_loaded": lambda a: _("Demo-Partnerstrategie geladen"),
    # A note in the writer's own words, shown as written.
    "note": lambda a: a["text"],
}
NOTE = "note"

# The German text approvals carried before summaries had keys: how status.services finds those approvals.
LEGACY_APPROVED_TEXT = "Freigegeben"


def revision_summary(revision) -> str:
    """A revision's summary in the reader's language; a revision from before keys, as its text was stored."""
    key = getattr(revision, "summary_key", None)
    if key in SUMMARY_TEXTS:
        return SUMMARY_TEXTS[key](revision.summary_args or {})
    return getattr(revision, "summary", "") or ""

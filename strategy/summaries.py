"""Revision summaries: stored in German, shown in the reader's language.

A revision's summary is written once and read for years by people who chose German or English. It is stored in
German (the strategy's working language; tests and exports rely on it), so code that writes one builds it with
`stored_text(lambda: _(...))`; the history shows it through the `revision_summary` filter, which translates the known lead phrase
("Schritt hinzugefügt: <step>") and leaves the quoted content as it was typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

# The fixed phrases that start a stored summary (before ": " or on their own).
LEADS = {
    "Schritt hinzugefügt": _l("Schritt hinzugefügt"),
    "Schritt geändert": _l("Schritt geändert"),
    "Schritt erledigt": _l("Schritt erledigt"),
    "Schritt entfernt": _l("Schritt entfernt"),
    "Reihenfolge der Schritte geändert": _l("Reihenfolge der Schritte geändert"),
    "Finanzierung hinzugefügt": _l("Finanzierung hinzugefügt"),
    # Not the revision kind's label "Finanzierung geändert", which English writes in lower case on a badge.
    "Finanzierung geändert": _l("Finanzierungsposten geändert"),
    "Finanzierung entfernt": _l("Finanzierung entfernt"),
    "Kennzahl hinzugefügt": _l("Kennzahl hinzugefügt"),
    "Kennzahl geändert": _l("Kennzahl geändert"),
    "Kennzahl entfernt": _l("Kennzahl entfernt"),
    "Wert erfasst": _l("Wert erfasst"),
    "Wert entfernt": _l("Wert entfernt"),
    "Handlungsfeld angelegt": _l("Handlungsfeld angelegt"),
    "Titel/Ziel in der Verwaltung geändert": _l("Titel/Ziel in der Verwaltung geändert"),
    "Organisation umbenannt": _l("Organisation umbenannt"),
    "Angaben zu einer Person geändert": _l("Angaben zu einer Person geändert"),
    "Person gelöscht": _l("Person gelöscht"),
    "Zur Prüfung eingereicht": _l("Zur Prüfung eingereicht"),
    "Zurückgegeben": _l("Zurückgegeben"),
    "Freigegeben": _l("Freigegeben"),
    "Zielsystem Dortmund geladen": _l("Zielsystem Dortmund geladen"),
    "Demo-Partnerstrategie geladen": _l("Demo-Partnerstrategie geladen"),
}
_RESTORED = re.compile(r"Stand vom (?P<when>.+) wiederhergestellt")


def stored_text(build: Callable[[], str]) -> str:
    """What `build()` says in German, whatever language the writer reads: `stored_text(lambda: _("..."))`."""
    with force_locale("de"):
        return str(build())


def revision_summary(summary: str | None) -> str:
    """A stored summary in the reader's language: the lead phrase translated, the quoted content unchanged."""
    if not summary:
        return ""
    locale = get_locale()
    if locale is None or locale.language == "de":
        return summary
    restored = _RESTORED.fullmatch(summary)
    if restored:
        return _("Stand vom %(when)s wiederhergestellt", when=restored["when"])
    lead, separator, rest = summary.partition(": ")
    if lead in LEADS:
        return f"{LEADS[lead]}{separator}{rest}"
    return summary

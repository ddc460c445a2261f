"""The sheets of a framework workbook and their columns: what export writes and what import maps onto.

Each column has a key (a snapshot key or a record attribute), a label in the UI language and the header
variants a city's own table may use ("IST", "Weitere Schritte", English labels). Hidden columns carry the
ids and versions that let an exported file come back without creating duplicates or overwriting newer work.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from ..framework import COLUMN_LABELS, TEXT_COLUMNS


@dataclass(frozen=True)
class SheetColumn:
    key: str
    label: object  # a lazy string
    kind: str = "text"  # text | id | version | number | date | decimal | status | source | funding | unit | bool
    #                     | phase
    variants: tuple[str, ...] = ()
    hidden: bool = False
    required: bool = False


@dataclass(frozen=True)
class SheetSpec:
    key: str
    label: object
    columns: tuple[SheetColumn, ...]
    # The block (strategy.reading.BLOCK_KEYS) this sheet belongs to; None: the framework sheet itself.
    block: str | None = None

    def column(self, key: str) -> SheetColumn:
        return next(c for c in self.columns if c.key == key)

    @property
    def name(self) -> str:
        return str(self.label)


ID = SheetColumn("id", _l("ID"), "id", ("id", "kennung"), hidden=True)
VERSION = SheetColumn("version", _l("Version"), "version", ("version", "stand-nr"), hidden=True)
FIELD_NUMBER = SheetColumn("field_number", _l("HF-Nr."), "number",
                           ("hf", "hf-nr", "hf nr", "handlungsfeld", "handlungsfeld-nr", "field", "field no",
                            "nr", "nr.", "no", "number"), required=True)

_TEXT_VARIANTS: dict[str, tuple[str, ...]] = {
    "current_state": ("ausgangslage", "ist", "ist-stand", "ist stand", "ausgangssituation", "current state",
                      "situation"),
    "central_processes": ("zentrale prozesse", "zentraler prozess", "prozesse", "central processes", "processes"),
    "vision": ("vision", "wo wollen wir in 10 jahren stehen", "leitbild"),
    "strategic_goals": ("strategische ziele", "ziele", "strategic goals", "goals"),
    "future_challenges": ("zukunftige herausforderungen", "herausforderungen", "future challenges", "challenges"),
    "what_worked": ("was hat sich bewahrt", "bewahrt", "what worked", "what has worked"),
    "gaps": ("was fehlt", "lucken", "bedarfe", "gaps", "what is missing"),
    "financing_notes": ("finanzierung", "finanzierung text", "finanzierung?", "financing", "funding",
                        "financing text"),
}

FRAMEWORK_SHEET = SheetSpec("framework", _l("Handlungsrahmen"), (
    ID, VERSION,
    SheetColumn("number", _l("Nr."), "number", ("nr", "nr.", "hf", "hf-nr", "no", "number", "nummer"),
                required=True),
    SheetColumn("title", _l("Handlungsfeld"), variants=("thema", "titel", "title", "field", "ziel / handlungsfeld",
                                                         "handlungsfeld (hf)")),
    SheetColumn("goal_text", _l("Ziel"), variants=("leitziel", "goal", "ziel des handlungsfelds")),
    SheetColumn("working_groups", COLUMN_LABELS["working_groups"], variants=("fachgruppe", "fachgruppen", "fg",
                                                                             "working groups")),
    SheetColumn("responsible", COLUMN_LABELS["responsible"], variants=("verantwortlich", "zustandigkeit",
                                                                       "responsible")),
    *(SheetColumn(key, _l("Finanzierung (Text)") if key == "financing_notes" else COLUMN_LABELS[key],
                  variants=_TEXT_VARIANTS.get(key, ())) for key in TEXT_COLUMNS),
    # Last, so a file written before it came still lines up; blank leaves the phase as it is.
    SheetColumn("phase", _l("Phase"), "phase", ("arbeitsphase", "stand", "phase")),
))

STEPS_SHEET = SheetSpec("steps", _l("Schritte"), (
    ID, VERSION, FIELD_NUMBER,
    SheetColumn("description", _l("Schritt"), variants=("schritt", "weitere schritte", "weitere konkrete schritte",
                                                         "massnahme", "beschreibung", "step", "next step",
                                                         "description"), required=True),
    SheetColumn("responsible", _l("Verantwortlich"), variants=("wer", "wer ist verantwortlich", "zustandig",
                                                               "responsible", "who")),
    SheetColumn("due_date", _l("Fällig bis"), "date", ("fallig", "bis wann", "termin", "frist", "due", "due date")),
    SheetColumn("status", _l("Status"), "status", ("stand", "state")),
    SheetColumn("progress_note", _l("Fortschritt"), variants=("notiz", "bemerkung", "progress", "note")),
    SheetColumn("done_on", _l("Erledigt am"), "date", ("erledigt", "done", "done on", "completed")),
), block="workshop_2")

FINANCING_SHEET = SheetSpec("financing", _l("Finanzierung"), (
    ID, VERSION, FIELD_NUMBER,
    SheetColumn("source", _l("Quelle"), "source", ("geldgeber", "mittelgeber", "source", "funder"), required=True),
    SheetColumn("programme", _l("Programm"), variants=("forderprogramm", "projekt", "programme", "program")),
    SheetColumn("amount", _l("Betrag (EUR)"), "decimal", ("betrag", "summe", "euro", "amount", "amount (eur)")),
    SheetColumn("start_date", _l("Beginn"), "date", ("von", "start", "laufzeit von", "start date")),
    SheetColumn("end_date", _l("Ende"), "date", ("bis", "end", "laufzeit bis", "end date")),
    SheetColumn("status", _l("Status"), "funding", ("stand", "state")),
    SheetColumn("note", _l("Notiz"), variants=("bemerkung", "hinweis", "note")),
    SheetColumn("has_follow_up", _l("Verstetigung geklärt"), "bool", ("verstetigung", "follow-up", "follow up")),
), block="financing")

INDICATORS_SHEET = SheetSpec("indicators", _l("Kennzahlen"), (
    ID, VERSION, FIELD_NUMBER,
    SheetColumn("name", _l("Kennzahl"), variants=("indikator", "indicator", "name"), required=True),
    SheetColumn("unit", _l("Einheit"), "unit", ("unit",)),
    SheetColumn("baseline", _l("Ausgangswert"), "decimal", ("baseline",)),
    SheetColumn("target", _l("Zielwert"), "decimal", ("ziel", "target")),
    SheetColumn("target_date", _l("Zieldatum"), "date", ("target date",)),
), block="indicators")

VALUES_SHEET = SheetSpec("values", _l("Kennzahlwerte"), (
    FIELD_NUMBER,
    SheetColumn("indicator", _l("Kennzahl"), variants=("indikator", "indicator", "name"), required=True),
    SheetColumn("observed_on", _l("Datum"), "date", ("stichtag", "stand", "date", "observed on"), required=True),
    SheetColumn("value", _l("Wert"), "decimal", ("wert", "value"), required=True),
    SheetColumn("source_note", _l("Quelle"), variants=("quelle, stand", "source", "note")),
), block="indicators")

SHEETS: tuple[SheetSpec, ...] = (FRAMEWORK_SHEET, STEPS_SHEET, FINANCING_SHEET, INDICATORS_SHEET, VALUES_SHEET)
SHEETS_BY_KEY = {sheet.key: sheet for sheet in SHEETS}


def normalise(text: str) -> str:
    """A header as compared: lower case, without accents, punctuation or doubled spaces ("Ausgangslage / IST"
    → "ausgangslage ist")."""
    text = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def header_names(sheet: SheetSpec) -> dict[str, str]:
    """Every header text that names a column of this sheet (both languages and the variants) → its key."""
    names: dict[str, str] = {}
    for column in sheet.columns:
        for variant in column.variants:
            names.setdefault(normalise(variant), column.key)
    for language in ("en", "de"):  # labels win over variants; German last, so it wins over English
        with force_locale(language):
            for column in sheet.columns:
                names[normalise(str(column.label))] = column.key
    return names


def sheet_names(sheet: SheetSpec) -> set[str]:
    names = set()
    for language in ("de", "en"):
        with force_locale(language):
            names.add(normalise(str(sheet.label)))
    return names

"""The structure of the action framework (Handlungsrahmen): phases and their columns, in order.

Pages, forms, PDFs and diffs all walk this one definition, so a column added here appears everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Column:
    key: str
    label: object  # a lazy string
    kind: str = "text"  # text | working_groups | responsible | next_steps | financing
    help: object = ""


@dataclass(frozen=True)
class Phase:
    key: str
    label: object
    description: object = ""
    columns: tuple[Column, ...] = ()


FRAMEWORK: tuple[Phase, ...] = (
    Phase(
        "head",
        _l("Thema"),
        columns=(
            Column("working_groups", _l("Fachgruppe(n)"), "working_groups"),
            Column("responsible", _l("Verantwortlich"), "responsible"),
        ),
    ),
    Phase(
        "preparation",
        _l("Vorgelagerte Vorbereitungsphase"),
        _l(
            "Zusammentragen der grundlegenden Eckpunkte und Abstimmung mit den Akteuren im "
            "Handlungsfeld als Grundlage für den folgenden Prozess."
        ),
        (
            Column("current_state", _l("Ausgangslage / IST")),
            Column("central_processes", _l("Zentrale(r) Prozess(e) (FF)"),
                   help=_l("Prozesse, die das Handlungsfeld tragen, und wer sie federführend (FF) leitet.")),
        ),
    ),
    Phase(
        "workshop_1",
        _l("Workshop-Prozess-Phase I"),
        _l("Auf Grundlage der Ausgangslage: Diskussion und Erarbeitung der Leitlinien und -ziele."),
        (
            Column("vision", _l("Vision: Wo wollen wir in 10 Jahren stehen?")),
            Column("strategic_goals", _l("Strategische Ziele")),
        ),
    ),
    Phase(
        "workshop_2",
        _l("Workshop-Prozess-Phase II"),
        _l("Auf Grundlage der Ausgangslage und der Leitlinien und -ziele: Entwickeln der Lösungsszenarien."),
        (
            Column("future_challenges", _l("Zukünftige Herausforderungen")),
            Column("what_worked", _l("Was hat sich bewährt?")),
            Column("gaps", _l("Was fehlt?")),
            Column("next_steps", _l("Weitere konkrete Schritte – wer ist verantwortlich?"), "next_steps"),
        ),
    ),
    Phase(
        "financing",
        _l("Finanzierung"),
        columns=(Column("financing_notes", _l("Finanzierung?"), "financing"),),
    ),
)

# The free-text columns stored on Field, in framework order.
TEXT_COLUMNS: tuple[str, ...] = tuple(
    column.key for phase in FRAMEWORK for column in phase.columns if column.kind in ("text", "financing")
)

COLUMN_LABELS: dict[str, object] = {column.key: column.label for phase in FRAMEWORK for column in phase.columns}

# The one name of every key of a field snapshot (strategy.snapshots) that a page or PDF reports as changed:
# history, comparison pages, the change report and the public "Was hat sich geändert?" all ask key_label().
SNAPSHOT_KEY_LABELS: dict[str, object] = {
    "title": _l("Titel"),
    "goal_text": _l("Ziel"),
    "phase": _l("Phase"),
    **COLUMN_LABELS,
    # Told apart from the financing items: both belong to the block "Finanzierung".
    "financing_notes": _l("Finanzierung (Text)"),
    "financing_items": _l("Finanzierungsposten"),
    "indicators": _l("Kennzahlen"),
}


def key_label(key: str) -> str:
    """The label of a snapshot key in the reader's language; an unknown key is shown as it is."""
    return str(SNAPSHOT_KEY_LABELS.get(key, key))

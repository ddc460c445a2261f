"""The round's board as a spreadsheet (.xlsx, .ods, .csv) through the spreadsheet export's writers, so it is
formula-safe and opens in German Excel the same way as every other sheet of the product."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..spreadsheets.columns import SheetColumn, SheetSpec
from ..spreadsheets.export import Sheet
from .services import BoardRow

BOARD_SHEET = SheetSpec("round_board", _l("Berichtsrunde"), (
    SheetColumn("field_number", _l("Nr."), "number"),
    SheetColumn("title", _l("Handlungsfeld")),
    SheetColumn("state", _l("Status"), "status"),
    SheetColumn("deadline", _l("Frist"), "date"),
    SheetColumn("days_left", _l("Tage übrig"), "number"),
    SheetColumn("updated_at", _l("Letzte Änderung"), "date"),
    SheetColumn("updated_by", _l("geändert von")),
    SheetColumn("responsible", _l("Koordination")),
    SheetColumn("unchanged", _l("Nichts geändert bestätigt"), "bool"),
))


def board_sheet(rows: list[BoardRow]) -> Sheet:
    return Sheet(BOARD_SHEET, [column.key for column in BOARD_SHEET.columns], [[
        row.field.number, row.field.title, str(row.state.label), row.deadline, row.days_left,
        row.field.updated_at.date() if row.field.updated_at else None,
        row.field.updated_by.name if row.field.updated_by else "", row.coordinator_names,
        row.task.unchanged_at is not None,
    ] for row in rows])

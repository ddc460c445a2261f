"""Sheets to files: .xlsx (XlsxWriter, constant-memory mode), .ods (odfpy) and .csv (UTF-8 with BOM, ";").

User text is always written as text, never as a formula: XlsxWriter's write_string and ODF string cells
store "=SUMME(...)" as the characters it is; a CSV has no cell types, so a cell starting with a formula
character gets a leading apostrophe there (OWASP's advice, OpenProject #23475), which import takes off again.
"""
from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any, Iterable

from flask_babel import get_locale

from .export import Sheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Excel's limit; longer text would be cut by the spreadsheet program without a word.
MAX_CELL_CHARS = 32_767

MIMETYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "csv": "text/csv; charset=utf-8",
}


def _width(kind: str, key: str) -> int:
    if kind in ("id", "version", "number", "bool"):
        return 8
    if kind in ("date", "decimal", "status", "funding", "source", "unit"):
        return 14
    return 60 if key not in ("title", "name", "responsible", "programme", "indicator") else 30


def _yes_no(value: bool) -> str:
    from flask_babel import gettext as _

    return _("ja") if value else _("nein")


def write_xlsx(sheets: Iterable[Sheet]) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "in_memory": True,
                                     "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#E8EEF4"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    day = book.add_format({"num_format": "dd.mm.yyyy" if get_locale().language == "de" else "yyyy-mm-dd",
                           "valign": "top"})
    amount = book.add_format({"num_format": "#,##0.00", "valign": "top"})
    for sheet in sheets:
        ws = book.add_worksheet(sheet.name[:31])
        # Columns and the frozen header come first: constant-memory mode writes each row as it is finished.
        for index, key in enumerate(sheet.keys):
            kind = sheet.kind(key)
            ws.set_column(index, index, _width(kind, key), wrap if kind == "text" else None,
                          {"hidden": sheet.hidden(key)})
        ws.freeze_panes(1, 0)
        for col, header in enumerate(sheet.headers):
            ws.write_string(0, col, header, bold)
        for r, row in enumerate(sheet.rows, start=1):
            for col, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, bool):
                    ws.write_string(r, col, _yes_no(value))
                elif isinstance(value, date):
                    ws.write_datetime(r, col, value, day)
                elif isinstance(value, Decimal):
                    ws.write_number(r, col, float(value), amount)
                elif isinstance(value, int):
                    ws.write_number(r, col, value)
                else:
                    ws.write_string(r, col, str(value)[:MAX_CELL_CHARS], wrap)
        ws.autofilter(0, 0, max(len(sheet.rows), 1), len(sheet.keys) - 1)
    book.close()
    return out.getvalue()


def write_ods(sheets: Iterable[Sheet]) -> bytes:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.style import Style, TableColumnProperties
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    for sheet in sheets:
        table = Table(name=sheet.name[:31])
        for index, key in enumerate(sheet.keys):
            style = Style(name=f"co{id(sheet)}{index}", family="table-column")
            style.addElement(TableColumnProperties(columnwidth=f"{_width(sheet.kind(key), key) * 0.2:.1f}cm"))
            doc.automaticstyles.addElement(style)
            attrs = {"stylename": style}
            if sheet.hidden(key):
                attrs["visibility"] = "collapse"
            table.addElement(TableColumn(**attrs))
        for row in [sheet.headers, *sheet.rows]:
            tr = TableRow()
            for value in row:
                tr.addElement(_ods_cell(value, TableCell, P))
            table.addElement(tr)
        doc.spreadsheet.addElement(table)
    out = io.BytesIO()
    doc.write(out)
    return out.getvalue()


def _ods_cell(value: Any, TableCell, P):  # noqa: N803 (odfpy's element classes)
    if value is None or value == "":
        return TableCell()
    if isinstance(value, bool):
        value = _yes_no(value)
    if isinstance(value, date):
        cell = TableCell(valuetype="date", datevalue=value.isoformat())
        cell.addElement(P(text=value.strftime("%d.%m.%Y")))
        return cell
    if isinstance(value, int | Decimal):
        cell = TableCell(valuetype="float", value=str(value))
        cell.addElement(P(text=str(value)))
        return cell
    cell = TableCell(valuetype="string")
    for line in str(value)[:MAX_CELL_CHARS].split("\n"):
        cell.addElement(P(text=line))
    return cell


def csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _yes_no(value)
    german = get_locale().language == "de"
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y") if german else value.isoformat()
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.replace(".", ",") if german else text
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(sheet: Sheet) -> bytes:
    """One sheet as what German Excel opens by double-click: UTF-8 with BOM, ";" between cells."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(sheet.headers)
    for row in sheet.rows:
        writer.writerow([csv_text(value) for value in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")

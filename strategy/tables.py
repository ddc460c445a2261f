"""Tables for spreadsheets: CSV that Excel and LibreOffice open as they are, and that cannot run formulas.

- UTF-8 with a byte-order mark, so Excel reads umlauts; `;` between cells, as German Excel expects.
- A cell that begins with = + - @, a tab or a carriage return would be read as a formula (CSV injection,
  OWASP): such a cell is prefixed with an apostrophe, which spreadsheets show as text.
"""
from __future__ import annotations

import csv
import io
from typing import Iterable, Sequence
from urllib.parse import quote

from flask import Response

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return "\ufeff" + buffer.getvalue()


def csv_response(header: Sequence[str], rows: Iterable[Sequence], filename: str) -> Response:
    response = Response(csv_text(header, rows).encode("utf-8"), mimetype="text/csv")
    response.charset = "utf-8"
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}")
    return response

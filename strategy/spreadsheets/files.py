"""Reading an uploaded file into plain sheets (rows of cell values), or saying clearly why not.

.xlsx/.xls/.ods are read by python-calamine (no formulas evaluated, no macros run, values as stored), .csv by
the csv module, a Word .docx by python-docx (each table one sheet). Before any library sees the bytes, the
container is checked: size, encryption, macros and the unpacked size of the zip (a zip bomb is refused
before it is inflated). Limits are settings (IMPORT_MAX_BYTES, IMPORT_MAX_ROWS, IMPORT_MAX_UNPACKED_BYTES).
"""
from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext as _

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2: old .xls/.doc, and every password-protected OOXML file
ZIP_MAGIC = b"PK\x03\x04"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
# A zip entry that unpacks to more than this many times its packed size is not a spreadsheet but a bomb.
MAX_COMPRESSION_RATIO = 200


class BadFile(Exception):
    """A file that cannot be imported; the message says why, in the reader's language."""


@dataclass
class RawSheet:
    name: str
    rows: list[list[Any]]
    # Ranges of merged cells as "B3:D3" (a merged cell holds its text in the first cell only).
    merged: list[str] = field(default_factory=list)


def limit(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.0f}"


def check_size(size: int) -> None:
    maximum = limit("IMPORT_MAX_BYTES", 20_000_000)
    if size > maximum:
        raise BadFile(_("Die Datei ist zu groß (%(size)s MB); höchstens %(max)s MB sind möglich.",
                        size=_megabytes(size), max=_megabytes(maximum)))


def read_upload(filename: str, data: bytes) -> list[RawSheet]:
    check_size(len(data))
    if not data.strip():
        raise BadFile(_("Die Datei ist leer."))
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if data.startswith(CFB_MAGIC):
        if b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P\x00a\x00c\x00k\x00a\x00g\x00e" in data:
            raise BadFile(_("Die Datei ist mit einem Kennwort geschützt. Bitte speichern Sie sie ohne Kennwort "
                            "und laden Sie sie erneut hoch."))
        if suffix == "xls":
            return _calamine(data)
        raise BadFile(_("Die Datei ist keine Tabelle im Format .xlsx, .ods, .csv oder .docx."))
    if data.startswith(ZIP_MAGIC):
        return _zipped(data)
    if suffix in ("csv", "txt", "") or _looks_like_text(data):
        return [_csv(filename, data)]
    raise BadFile(_("Die Datei ist keine Tabelle im Format .xlsx, .ods, .csv oder .docx."))


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    return b"\x00" not in sample


def _zipped(data: bytes) -> list[RawSheet]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise BadFile(_("Die Datei ist beschädigt und kann nicht gelesen werden.")) from error
    names = {entry.filename for entry in entries}
    if any(entry.flag_bits & 0x1 for entry in entries):
        raise BadFile(_("Die Datei ist mit einem Kennwort geschützt. Bitte speichern Sie sie ohne Kennwort "
                        "und laden Sie sie erneut hoch."))
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > limit("IMPORT_MAX_UNPACKED_BYTES", 200_000_000) or any(
            entry.file_size > MAX_COMPRESSION_RATIO * max(entry.compress_size, 1) and entry.file_size > 1_000_000
            for entry in entries):
        raise BadFile(_("Die Datei entpackt sich auf ein Vielfaches ihrer Größe und wird deshalb nicht gelesen "
                        "(Schutz vor Zip-Bomben)."))
    if any(name.lower().endswith("vbaproject.bin") for name in names) or any(
            name.startswith("Basic/") and name.endswith(".xml") and "script-lc" not in name for name in names):
        raise BadFile(_("Die Datei enthält Makros. Bitte speichern Sie sie ohne Makros (als .xlsx oder .ods) "
                        "und laden Sie sie erneut hoch."))
    if "word/document.xml" in names:
        return _docx(data)
    if "xl/workbook.xml" in names:
        return _calamine(data)
    if "mimetype" in names and archive.read("mimetype").strip() == ODS_MIMETYPE:
        return _calamine(data)
    raise BadFile(_("Die Datei ist keine Tabelle im Format .xlsx, .ods, .csv oder .docx."))


def _check_rows(name: str, count: int) -> None:
    maximum = limit("IMPORT_MAX_ROWS", 20_000)
    if count > maximum:
        raise BadFile(_("Das Blatt „%(sheet)s“ hat %(rows)s Zeilen; höchstens %(max)s sind möglich.",
                        sheet=name, rows=f"{count:,}".replace(",", "."), max=f"{maximum:,}".replace(",", ".")))


def _calamine(data: bytes) -> list[RawSheet]:
    from python_calamine import CalamineError, CalamineWorkbook, PasswordError

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = []
        for name in book.sheet_names:
            sheet = book.get_sheet_by_name(name)
            _check_rows(name, sheet.total_height + 1)  # calamine's total_height is the last row's index
            merged = [_range(r) for r in (sheet.merged_cell_ranges or [])]
            sheets.append(RawSheet(name, sheet.to_python(skip_empty_area=False), merged))
        return sheets
    except PasswordError as error:
        raise BadFile(_("Die Datei ist mit einem Kennwort geschützt. Bitte speichern Sie sie ohne Kennwort "
                        "und laden Sie sie erneut hoch.")) from error
    except (CalamineError, ValueError, OSError, Exception) as error:  # any reader failure is a bad file, not a 500
        if isinstance(error, BadFile):
            raise
        raise BadFile(_("Die Datei ist beschädigt und kann nicht gelesen werden.")) from error


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _range(cells) -> str:
    (r1, c1), (r2, c2) = cells
    return f"{column_letter(c1)}{r1 + 1}:{column_letter(c2)}{r2 + 1}"


def _csv(filename: str, data: bytes) -> RawSheet:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # what German Excel writes as "CSV (Trennzeichen-getrennt)"
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    _check_rows(filename, len(rows))
    return RawSheet(filename.rsplit(".", 1)[0] or "CSV", rows)


def _docx(data: bytes) -> list[RawSheet]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError) as error:
        raise BadFile(_("Die Datei ist beschädigt und kann nicht gelesen werden.")) from error
    sheets = []
    for number, table in enumerate(document.tables, start=1):
        name = _("Tabelle %(num)d", num=number)
        _check_rows(name, len(table.rows))
        rows = []
        for row in table.rows:
            values, seen = [], set()
            for cell in row.cells:
                # A cell merged across columns appears once per grid column: keep its text in the first only.
                key = id(cell._tc)
                values.append("" if key in seen else "\n".join(p.text for p in cell.paragraphs).strip())
                seen.add(key)
            rows.append(values)
        sheets.append(RawSheet(name, rows))
    if not sheets:
        raise BadFile(_("Das Word-Dokument enthält keine Tabelle. Der Handlungsrahmen muss als Tabelle "
                        "vorliegen (eine Zeile je Handlungsfeld)."))
    return sheets

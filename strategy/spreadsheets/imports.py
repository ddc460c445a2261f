"""Importing a framework from a file: map the columns, check every cell, plan the changes, then apply them.

The flow a user sees: upload → the mapping of the file's columns (guessed from their headers, changeable) →
a preview of every change (word diffs per column; steps, financing items and indicator values new, changed
or removed) with every problem at once → confirm. `plan_import` is pure reading: it stores nothing, so the
preview and the confirmation run the same code, and the confirmation plans again against the state of that
moment. `apply_plan` stores all of it in one transaction, one revision of kind `import` per changed field
through revisions.record_change (so approved content starts a new draft as with any edit); a file that
changes nothing writes nothing. A row whose hidden version is older than the stored one is a conflict: shown,
never overwritten.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache, partial
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from ..diffing import word_diff
from ..extensions import db
from ..fields.services import framework_fields, load_field_row
from ..framework import TEXT_COLUMNS
from ..models import (
    Field,
    FieldPhase,
    FinancingItem,
    FundingSource,
    FundingStatus,
    Indicator,
    IndicatorUnit,
    IndicatorValue,
    NextStep,
    Responsibility,
    ResponsibilityRole,
    RevisionKind,
    StepStatus,
    Strategy,
    User,
    WorkingGroup,
    name_key,
    utcnow,
)
from ..revisions import record_change
from ..snapshots import field_snapshot
from ..summaries import summary
from .columns import (
    FINANCING_SHEET,
    FRAMEWORK_SHEET,
    INDICATORS_SHEET,
    SHEETS,
    SHEETS_BY_KEY,
    STEPS_SHEET,
    VALUES_SHEET,
    SheetSpec,
    header_names,
    normalise,
    sheet_names,
)
from .files import RawSheet, column_letter

# Sheets written for one page (the open steps) hold only some records: nothing absent from them is removed.
PARTIAL_SHEET_NAMES = {"offene schritte", "open steps"}
HEADER_SEARCH_ROWS = 6


# --- mapping ----------------------------------------------------------------------------------------

@dataclass
class SheetMapping:
    """How one sheet of the file is read: as which kind of sheet (or not at all), where its header is, and
    which column of the file fills which column of the framework."""

    kind: str  # a SheetSpec key, or "" to leave the sheet out
    header_row: int
    columns: dict[int, str]
    partial: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "header_row": self.header_row, "partial": self.partial,
                "columns": {str(k): v for k, v in self.columns.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SheetMapping:
        return cls(data.get("kind", ""), int(data.get("header_row", 0)),
                   {int(k): v for k, v in (data.get("columns") or {}).items()}, bool(data.get("partial")))


def _match_headers(row: list[Any], spec: SheetSpec) -> dict[int, str]:
    names = header_names(spec)
    found: dict[int, str] = {}
    for index, cell in enumerate(row):
        key = names.get(normalise(cell)) if cell not in (None, "") else None
        if key is None and cell not in (None, ""):
            # "Vision: Wo wollen wir in 10 Jahren stehen? (Leitbild)": a known name at the start is enough.
            text = normalise(cell)
            key = next((k for name, k in sorted(names.items(), key=lambda item: -len(item[0]))
                        if len(name) >= 4 and text.startswith(name)), None)
        if key is not None and key not in found.values():
            found[index] = key
    return found


def guess_sheet(sheet: RawSheet) -> SheetMapping:
    """The kind of sheet (by its name, else by the headers that match best) and the column of each header."""
    by_name = next((spec for spec in SHEETS if normalise(sheet.name) in sheet_names(spec)), None)
    partial = normalise(sheet.name) in PARTIAL_SHEET_NAMES
    if partial:
        by_name = STEPS_SHEET
    best: tuple[int, int, SheetSpec | None, dict[int, str]] = (0, 0, None, {})
    for spec in ([by_name] if by_name else SHEETS):
        for index, row in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
            found = _match_headers(row, spec)
            required = all(c.key in found.values() for c in spec.columns if c.required)
            score = len(found) + (3 if required else 0)
            if len(found) >= 2 and score > best[0]:  # one match alone is as likely a data cell
                best = (score, index, spec, found)
    score, header_row, spec, columns = best
    if spec is None and by_name is not None:
        return SheetMapping(by_name.key, 0, {}, partial)  # named like one of ours: say what its header lacks
    if spec is None or (by_name is None and score < 4):
        return SheetMapping("", 0, {}, partial)
    return SheetMapping(spec.key, header_row, columns, partial)


def guess_mapping(sheets: list[RawSheet]) -> dict[str, SheetMapping]:
    return {sheet.name: guess_sheet(sheet) for sheet in sheets}


# --- problems and cell values -------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    place: str
    message: str

    def __str__(self) -> str:
        return f"{self.place}: {self.message}"


class CellError(ValueError):
    pass


def place(sheet: RawSheet, row: int, column: int) -> str:
    return f"{sheet.name}!{column_letter(column)}{row + 1}"


_FORMULA_GUARD = re.compile(r"^'(?=[=+\-@\t\r])")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        value = value.strftime("%d.%m.%Y")
    text = _FORMULA_GUARD.sub("", str(value))  # the apostrophe the CSV export put before a formula character
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def cell_text(value: Any) -> str:
    """A cell as the mapping page shows it for an example: 4 rather than 4.0, dates as 31.12.2026."""
    return _text(value)


def _integer(value: Any, *, what: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise CellError(_("„%(value)s“ ist keine Zahl", value=value))
    if isinstance(value, int | float) and float(value).is_integer():
        return int(value)
    match = re.fullmatch(r"\D{0,4}?(\d{1,9})\.?", str(value).strip())
    if match is None:
        raise CellError(_("„%(value)s“ ist keine %(what)s", value=_text(value), what=what))
    return int(match.group(1))


_DATE_FORMATS = ("%d.%m.%Y", "%d.%m.%y", "%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y")


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 < value < 2_958_466:
        return date(1899, 12, 30) + timedelta(days=int(value))  # a spreadsheet's day number
    text = str(value).strip()
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise CellError(_("„%(value)s“ ist kein Datum", value=text))


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise CellError(_("„%(value)s“ ist keine Zahl", value=value))
    if isinstance(value, int | float):
        return Decimal(str(value))
    text = re.sub(r"[\s €%]|EUR", "", str(value))
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})+(,\d+)?|-?\d+,\d+", text):  # German: 12.500,50 or 3,5
        text = text.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text):  # English: 12,500.50
        text = text.replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation as error:
        raise CellError(_("„%(value)s“ ist keine Zahl", value=str(value).strip())) from error
    if not number.is_finite():
        raise CellError(_("„%(value)s“ ist keine Zahl", value=str(value).strip()))
    return number


@lru_cache(maxsize=16)
def _choices(members) -> dict[str, Any]:
    """Every name of an enum's members (value, German and English label) → member; the same in any language,
    so made once per process (switching the locale per cell would cost a second on 2,000 rows)."""
    names: dict[str, Any] = {}
    for member in members:
        names[normalise(member.value)] = member
        for language in ("en", "de"):
            with force_locale(language):
                names[normalise(str(member.label))] = member
    return names


def _choice(value: Any, members, what: str):
    names = _choices(members)
    found = names.get(normalise(_text(value)))
    if found is None:
        allowed = ", ".join(str(member.label) for member in members)
        raise CellError(_("„%(value)s“ ist kein gültiger Wert für %(what)s (möglich: %(allowed)s)",
                          value=_text(value), what=what, allowed=allowed))
    return found


_YES = {"ja", "j", "x", "yes", "y", "true", "wahr", "1"}
_NO = {"nein", "n", "no", "false", "falsch", "0", ""}


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = normalise(_text(value))
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise CellError(_("„%(value)s“ ist weder „ja“ noch „nein“", value=_text(value)))


def parse_cell(kind: str, value: Any) -> Any:
    """A cell's value as the column's kind needs it; CellError says what is wrong, in the reader's language."""
    if kind == "text":
        text = _text(value)
        if len(text) > current_app.config.get("MAX_TEXT_LENGTH", 20_000):
            raise CellError(_("Der Text ist länger als %(max)d Zeichen", max=current_app.config["MAX_TEXT_LENGTH"]))
        return text
    if kind in ("id", "version"):
        return _integer(value, what=_("Kennung"))
    if kind == "number":
        return _integer(value, what=_("Nummer eines Handlungsfelds"))
    if kind == "date":
        return _date(value)
    if kind == "decimal":
        return _decimal(value)
    if kind == "bool":
        return _bool(value)
    if kind == "status":
        return _choice(value, StepStatus, _("Status")) if _text(value) else StepStatus.PLANNED
    if kind == "funding":
        return _choice(value, FundingStatus, _("Status")) if _text(value) else FundingStatus.OPEN
    if kind == "source":
        return _choice(value, FundingSource, _("Quelle"))
    if kind == "phase":
        return _choice(value, FieldPhase, _("Phase")) if _text(value) else None
    if kind == "unit":
        return _choice(value, IndicatorUnit, _("Einheit")) if _text(value) else IndicatorUnit.COUNT
    return value


@dataclass
class Row:
    """One data row of a sheet: its values by column key and where each came from."""

    number: int  # 1-based, as the spreadsheet shows it
    values: dict[str, Any]
    places: dict[str, str]
    bad: bool = False  # a cell of it has a problem (reported): it is checked further, never planned

    def where(self, key: str, sheet: RawSheet) -> str:
        return self.places.get(key) or f"{sheet.name}!{self.number}"


def read_rows(sheet: RawSheet, mapping: SheetMapping, problems: list[Problem]) -> list[Row]:
    spec = SHEETS_BY_KEY[mapping.kind]
    kinds = {column.key: column for column in spec.columns}
    rows = []
    for index in range(mapping.header_row + 1, len(sheet.rows)):
        cells = sheet.rows[index]
        if all(cell in (None, "") or (isinstance(cell, str) and not cell.strip()) for cell in cells):
            continue
        row = Row(index + 1, {}, {})
        for col, key in mapping.columns.items():
            if key not in kinds:
                continue
            raw = cells[col] if col < len(cells) else None
            row.places[key] = place(sheet, index, col)
            try:
                row.values[key] = parse_cell(kinds[key].kind, raw)
            except CellError as error:
                problems.append(Problem(row.places[key], str(error)))
                row.bad = True
        for column in spec.columns:
            if column.required and column.key in mapping.columns.values() and row.values.get(column.key) in (None, ""):
                if column.key in row.places and not any(p.place == row.places[column.key] for p in problems):
                    problems.append(Problem(row.places[column.key], _("Hier fehlt ein Wert (%(column)s)",
                                                                      column=str(column.label))))
                row.bad = True
        rows.append(row)
    return rows


def check_mapping(sheets: list[RawSheet], mapping: dict[str, SheetMapping]) -> list[Problem]:
    """Problems of the file as a whole: merged cells, a missing header, a required column not mapped."""
    problems = []
    used = [sheet for sheet in sheets if mapping.get(sheet.name) and mapping[sheet.name].kind]
    if not used:
        problems.append(Problem(_("Datei"), _("Keine Tabelle der Datei passt zum Handlungsrahmen: keine "
                                                "Spaltenüberschrift wurde erkannt. Bitte ordnen Sie die Spalten "
                                                "zu oder prüfen Sie die Kopfzeile.")))
    kinds = [mapping[sheet.name].kind for sheet in used]
    for kind in set(kinds):
        if kinds.count(kind) > 1:
            problems.append(Problem(_("Datei"), _("Mehrere Blätter sind als „%(sheet)s“ zugeordnet; bitte nur "
                                                    "eines.", sheet=SHEETS_BY_KEY[kind].name)))
    for sheet in used:
        sheet_mapping = mapping[sheet.name]
        spec = SHEETS_BY_KEY[sheet_mapping.kind]
        header = sheet.rows[sheet_mapping.header_row] if sheet.rows else []
        if not any(cell not in (None, "") for cell in header):
            problems.append(Problem(f"{sheet.name}!{sheet_mapping.header_row + 1}",
                                    _("Die Kopfzeile ist leer: die Spalten brauchen Überschriften.")))
        for col, key in sheet_mapping.columns.items():
            if col < len(header) and header[col] in (None, "") and key:
                continue
        for column in spec.columns:
            if column.required and column.key not in sheet_mapping.columns.values():
                problems.append(Problem(sheet.name, _("Die Spalte „%(column)s“ fehlt oder ist nicht zugeordnet.",
                                                      column=str(column.label))))
        for cells in sheet.merged:
            problems.append(Problem(f"{sheet.name}!{cells}", _(
                "Verbundene Zellen: bitte die Verbindung aufheben und den Wert in jede Zelle schreiben.")))
    return problems


# --- the plan ---------------------------------------------------------------------------------------

@dataclass
class TextChange:
    key: str
    label: str
    before: str
    after: str
    value: Any = None  # what is stored, where the text shown is not it (the phase)

    @property
    def pieces(self):
        return word_diff(self.before, self.after)


@dataclass
class RecordChange:
    """A step, financing item, indicator or indicator value that is new, changed, removed, or in conflict."""

    action: str  # new | changed | removed | conflict
    label: str
    changed: list[str] = dc_field(default_factory=list)  # the changed columns' labels
    row: Row | None = None
    record: Any = None


@dataclass
class FieldPlan:
    number: int
    title: str
    field: Field | None  # None: a new field
    texts: list[TextChange] = dc_field(default_factory=list)
    steps: list[RecordChange] = dc_field(default_factory=list)
    financing: list[RecordChange] = dc_field(default_factory=list)
    indicators: list[RecordChange] = dc_field(default_factory=list)
    values: list[RecordChange] = dc_field(default_factory=list)
    conflict: str = ""  # the field's own row is older in the file than in the app: its texts stay as they are

    @property
    def records(self) -> list[RecordChange]:
        return self.steps + self.financing + self.indicators + self.values

    @property
    def changes(self) -> list[RecordChange]:
        return [c for c in self.records if c.action != "conflict"]

    @property
    def conflicts(self) -> list[RecordChange]:
        return [c for c in self.records if c.action == "conflict"]

    @property
    def changes_groups(self) -> bool:
        return any(t.key == "working_groups" for t in self.texts)

    @property
    def changed(self) -> bool:
        return bool(self.texts or self.changes or self.field is None)


@dataclass
class Plan:
    problems: list[Problem]
    fields: list[FieldPlan]

    @property
    def changed_fields(self) -> list[FieldPlan]:
        return [f for f in self.fields if f.changed]

    @property
    def conflicts(self) -> int:
        return sum(bool(f.conflict) + len(f.conflicts) for f in self.fields)

    @property
    def ok(self) -> bool:
        return not self.problems


def _label(spec: SheetSpec, key: str) -> str:
    return str(spec.column(key).label)


def _sheet_of(kind: str, sheets: list[RawSheet], mapping: dict[str, SheetMapping]):
    for sheet in sheets:
        if mapping.get(sheet.name) and mapping[sheet.name].kind == kind:
            return sheet, mapping[sheet.name]
    return None, None


def plan_import(strategy: Strategy | None, sheets: list[RawSheet], mapping: dict[str, SheetMapping]) -> Plan:
    """Everything the file would change, and every problem in it; stores nothing."""
    problems = check_mapping(sheets, mapping)
    fields = framework_fields(strategy) if strategy is not None else []
    by_number = {f.number: f for f in fields}
    by_id = {f.id: f for f in fields}
    plans: dict[int, FieldPlan] = {}

    def plan_for(number: int, row: Row, sheet: RawSheet, key: str) -> FieldPlan | None:
        if number in plans:
            return plans[number]
        if number in by_number:
            plans[number] = FieldPlan(number, by_number[number].title, by_number[number])
            return plans[number]
        problems.append(Problem(row.where(key, sheet), _("Handlungsfeld %(num)d gibt es nicht", num=number)))
        return None

    sheet, sheet_mapping = _sheet_of("framework", sheets, mapping)
    if sheet is not None:
        _plan_framework(sheet, sheet_mapping, problems, plans, by_number, by_id)
    sheet, sheet_mapping = _sheet_of("steps", sheets, mapping)
    if sheet is not None:
        _plan_records(sheet, sheet_mapping, problems, plans, plan_for, fields, STEPS_SHEET)
    sheet, sheet_mapping = _sheet_of("financing", sheets, mapping)
    if sheet is not None:
        _plan_records(sheet, sheet_mapping, problems, plans, plan_for, fields, FINANCING_SHEET)
    # Values name their indicator: an indicator new or renamed in the same file is one they may name.
    named: dict[tuple[int, str], Indicator | None] = {}
    sheet, sheet_mapping = _sheet_of("indicators", sheets, mapping)
    if sheet is not None:
        named = _plan_indicators(sheet, sheet_mapping, problems, plans, plan_for, fields)
    sheet, sheet_mapping = _sheet_of("values", sheets, mapping)
    if sheet is not None:
        _plan_values(sheet, sheet_mapping, problems, plans, plan_for, fields, named)
    return Plan(problems, [plans[n] for n in sorted(plans)])


_FIELD_TEXT_KEYS = ("title", "goal_text", *TEXT_COLUMNS)
# The head of a row as names in one cell, "; " between them, as the export writes it. A working group keeps
# its members while its name stays; people are found by the label the app shows ("Name (Organisation)").
_NAME_LIST_KEYS = ("working_groups", "responsible")


def _name_list(text: str) -> list[str]:
    names: list[str] = []
    for part in re.split(r"[;\n]", text or ""):
        name = " ".join(part.split())
        if name and name_key(name) not in {name_key(n) for n in names}:
            names.append(name)
    return names


def _names_of(field: Field, key: str) -> list[str]:
    if key == "working_groups":
        return [" ".join(group.name.split()) for group in field.working_groups]
    return [" ".join(r.label.split()) for r in field.responsibilities if r.label]


def _name_changes(field: Field | None, row: Row) -> list[TextChange]:
    """The head's lists of names and the phase, as changes shown like a text's (the preview's word diff)."""
    changes = []
    phase = row.values.get("phase")
    if phase is not None and (field is None or phase != field.phase):
        changes.append(TextChange("phase", _label(FRAMEWORK_SHEET, "phase"),
                                  str(field.phase.label) if field is not None else "", str(phase.label), phase))
    for key in _NAME_LIST_KEYS:
        if key not in row.values:
            continue
        before, after = (_names_of(field, key) if field is not None else []), _name_list(row.values[key])
        if before != after:
            changes.append(TextChange(key, _label(FRAMEWORK_SHEET, key), "; ".join(before), "; ".join(after)))
    return changes


def _plan_framework(sheet, sheet_mapping, problems, plans, by_number, by_id) -> None:
    seen: dict[int, int] = {}
    for row in read_rows(sheet, sheet_mapping, problems):
        number, field_id = row.values.get("number"), row.values.get("id")
        if number is None:
            continue
        if number in seen:
            problems.append(Problem(row.where("number", sheet), _("Handlungsfeld %(num)d steht zweimal in der "
                                                                  "Datei (auch in Zeile %(row)d)", num=number,
                                                                  row=seen[number])))
            continue
        seen[number] = row.number
        if row.bad:
            continue
        field = by_id.get(field_id) if field_id is not None else by_number.get(number)
        if field_id is not None and field is None:
            field = by_number.get(number)  # an export of another strategy: its numbers still name the fields
        if field is not None and field.number != number:
            problems.append(Problem(row.where("number", sheet), _(
                "Die Nummer %(num)d passt nicht zur Kennung dieser Zeile (Handlungsfeld %(actual)d); Nummern "
                "werden in der Verwaltung geändert", num=number, actual=field.number)))
            continue
        if field is None:
            title = row.values.get("title") or ""
            if not title:
                problems.append(Problem(row.where("title", sheet), _("Ein neues Handlungsfeld braucht einen Titel")))
                continue
            plan = plans.setdefault(number, FieldPlan(number, title, None))
            plan.texts = [TextChange(k, _label(FRAMEWORK_SHEET, k), "", row.values[k]) for k in _FIELD_TEXT_KEYS
                          if row.values.get(k)] + _name_changes(None, row)
            continue
        plan = plans.setdefault(number, FieldPlan(number, field.title, field))
        version = row.values.get("version")
        texts = [TextChange(k, _label(FRAMEWORK_SHEET, k), getattr(field, k) or "", row.values[k])
                 for k in _FIELD_TEXT_KEYS if k in row.values and _clean(getattr(field, k)) != row.values[k]]
        texts += _name_changes(field, row)
        if k_title := next((t for t in texts if t.key == "title" and not t.after), None):
            problems.append(Problem(row.where("title", sheet), _("Der Titel darf nicht leer sein")))
            texts.remove(k_title)
        if texts and version is not None and version < field.version:
            plan.conflict = _("In der Datei steht Version %(file)d, gespeichert ist inzwischen Version %(stored)d: "
                              "jemand hat die Zeile seit dem Export geändert. Die Texte dieser Zeile werden nicht "
                              "überschrieben.", file=version, stored=field.version)
            plan.texts = []
        else:
            plan.texts = texts


def _clean(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").strip()


def _step_values(step: NextStep) -> dict[str, Any]:
    return {"description": _clean(step.description), "responsible": step.responsible_label,
            "due_date": step.due_date, "status": step.status, "progress_note": _clean(step.progress_note),
            "done_on": step.done_on}


def _financing_values(item: FinancingItem) -> dict[str, Any]:
    return {"source": item.source, "programme": _clean(item.programme), "amount": item.amount,
            "start_date": item.start_date, "end_date": item.end_date, "status": item.status,
            "note": _clean(item.note), "has_follow_up": item.has_follow_up}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return (a is None and b is None) or (a is not None and b is not None and Decimal(a) == Decimal(b))
    return (a or None) == (b or None) if isinstance(a, str | type(None)) and isinstance(b, str | type(None)) else a == b


@dataclass
class _Walked:
    """What walking a sheet of records gathers for the removals afterwards."""

    seen_ids: set[int] = dc_field(default_factory=set)
    numbers: set[int] = dc_field(default_factory=set)


def _record_rows(sheet, sheet_mapping, problems, plan_for, walked: _Walked):
    """The rows of a sheet of records that name a field, with the field's plan; each row learns its position
    within its field (new records are put in the file's order)."""
    positions: dict[int, int] = {}
    for row in read_rows(sheet, sheet_mapping, problems):
        number = row.values.get("field_number")
        if number is None:
            continue
        plan = plan_for(number, row, sheet, "field_number")
        if plan is None:
            continue
        walked.numbers.add(number)
        positions[number] = positions.get(number, -1) + 1
        row.values["_position"] = positions[number]
        if row.values.get("id") is not None:
            walked.seen_ids.add(row.values["id"])  # a bad row of a record is not a removal of it
        yield row, plan, number


def _stored_record(row: Row, sheet: RawSheet, number: int, stored: dict, planned: set[int], problems):
    """The stored record a row's id names, or None with the problem said: unknown, twice in the file, or of
    another field."""
    record_id = row.values["id"]
    found = stored.get(record_id)
    if found is None or record_id in planned:
        problems.append(Problem(row.where("id", sheet), _("Die Kennung %(id)d gehört zu keinem Eintrag dieser "
                                                          "Strategie (oder steht zweimal in der Datei)", id=record_id)))
        return None
    planned.add(record_id)
    owner, record = found
    if owner.number != number:
        problems.append(Problem(row.where("field_number", sheet), _(
            "Dieser Eintrag gehört zu Handlungsfeld %(actual)d; Einträge werden nicht zwischen Handlungsfeldern "
            "verschoben", actual=owner.number)))
        return None
    return record


def _plan_records(sheet, sheet_mapping, problems, plans, plan_for, fields, spec: SheetSpec) -> None:
    steps = spec is STEPS_SHEET
    records = {r.id: (f, r) for f in fields for r in (f.next_steps if steps else f.financing_items)}
    values_of = _step_values if steps else _financing_values
    label_key = "description" if steps else "programme"
    planned: set[int] = set()
    walked = _Walked()
    for row, plan, number in _record_rows(sheet, sheet_mapping, problems, plan_for, walked):
        record_id = row.values.get("id")
        problem = _record_problem(row, sheet, steps)
        if problem:
            problems.append(problem)
            continue
        if row.bad:
            continue
        target = plan.steps if steps else plan.financing
        if record_id is None or plan.field is None:  # a new field's records are new, whatever file they came from
            label = row.values.get(label_key) or (str(row.values.get("source").label) if not steps else "")
            target.append(RecordChange("new", label, row=row))
            continue
        record = _stored_record(row, sheet, number, records, planned, problems)
        if record is None:
            continue
        current = values_of(record)
        changed = [k for k in current if k in row.values and not _same(current[k], row.values[k])]
        label = (row.values.get(label_key) or getattr(record, label_key)
                 or str(record.source.label if not steps else ""))
        if not changed:
            continue
        version = row.values.get("version")
        if version is not None and version < record.version:
            target.append(RecordChange("conflict", label, [_label(spec, k) for k in changed], row, record))
        else:
            target.append(RecordChange("changed", label, [_label(spec, k) for k in changed], row, record))
    if sheet_mapping.partial or "id" not in sheet_mapping.columns.values():
        return  # a sheet without ids (a city's own table) or of one page only adds and changes, never removes
    for record_id, (owner, record) in records.items():
        if record_id not in walked.seen_ids and owner.number in walked.numbers | _numbers_of_framework(plans):
            plan = plans.setdefault(owner.number, FieldPlan(owner.number, owner.title, owner))
            label = getattr(record, label_key) or str(record.source.label if not steps else "")
            (plan.steps if steps else plan.financing).append(RecordChange("removed", label, record=record))


def _numbers_of_framework(plans: dict[int, FieldPlan]) -> set[int]:
    return {n for n, p in plans.items() if p.field is not None}


def _record_problem(row: Row, sheet: RawSheet, steps: bool) -> Problem | None:
    values = row.values
    if steps:
        if values.get("status") == StepStatus.DONE and values.get("done_on") is None and "done_on" in row.places:
            return None  # closed today when stored, as the step form does
        return None
    amount = values.get("amount")
    if amount is not None and amount < 0:
        return Problem(row.where("amount", sheet), _("Der Betrag darf nicht negativ sein"))
    if amount is not None and abs(amount) >= Decimal("1e12"):
        return Problem(row.where("amount", sheet), _("Der Betrag ist zu groß"))
    start, end = values.get("start_date"), values.get("end_date")
    if start and end and start > end:
        return Problem(row.where("end_date", sheet), _("Das Ende liegt vor dem Beginn"))
    return None


def _indicator_values(indicator: Indicator) -> dict[str, Any]:
    return {"name": _clean(indicator.name), "unit": indicator.unit, "baseline": indicator.baseline,
            "target": indicator.target, "target_date": indicator.target_date}


def _plan_indicators(sheet, sheet_mapping, problems, plans, plan_for, fields) -> dict[tuple[int, str], Any]:
    """Indicators new, changed, removed or in conflict. Returns the names values may use afterwards: (field
    number, name) → the stored indicator, or None for one the file brings."""
    stored = {i.id: (f, i) for f in fields for i in f.indicators}
    by_name = {(f.number, normalise(i.name)): i for f in fields for i in f.indicators}
    named: dict[tuple[int, str], Any] = dict(by_name)
    names_in_file: set[tuple[int, str]] = set()
    planned: set[int] = set()
    walked = _Walked()
    for row, plan, number in _record_rows(sheet, sheet_mapping, problems, plan_for, walked):
        name, record_id = row.values.get("name"), row.values.get("id")
        if row.bad or not name:
            continue
        if len(name) > 300:
            problems.append(Problem(row.where("name", sheet), _("Der Name ist länger als %(max)d Zeichen", max=300)))
            continue
        key = (number, normalise(name))
        if plan.field is None:
            record = None
        elif record_id is not None:
            record = _stored_record(row, sheet, number, stored, planned, problems)
            if record is None:
                continue
        else:
            record = by_name.get(key)  # a city's own sheet without ids: the name names the indicator
            if record is not None:
                walked.seen_ids.add(record.id)
        if key in names_in_file or (key in named and named[key] is not record):
            problems.append(Problem(row.where("name", sheet), _(
                "Die Kennzahl „%(name)s“ steht in Handlungsfeld %(num)d zweimal", name=name, num=number)))
            continue
        names_in_file.add(key)
        if record is None:
            named[key] = None
            plan.indicators.append(RecordChange("new", name, row=row))
            continue
        named[key] = record
        current = _indicator_values(record)
        changed = [k for k in current if k in row.values and not _same(current[k], row.values[k])]
        if not changed:
            continue
        version = row.values.get("version")
        action = "conflict" if version is not None and version < record.version else "changed"
        plan.indicators.append(RecordChange(action, name, [_label(INDICATORS_SHEET, k) for k in changed], row,
                                            record))
    if sheet_mapping.partial or "id" not in sheet_mapping.columns.values():
        return named
    for record_id, (owner, indicator) in stored.items():
        if record_id not in walked.seen_ids and owner.number in walked.numbers | _numbers_of_framework(plans):
            plan = plans.setdefault(owner.number, FieldPlan(owner.number, owner.title, owner))
            plan.indicators.append(RecordChange("removed", indicator.name, record=indicator))
            named.pop((owner.number, normalise(indicator.name)), None)
    return named


def _plan_values(sheet, sheet_mapping, problems, plans, plan_for, fields, named) -> None:
    indicators = dict(named) if named else {(f.number, normalise(i.name)): i for f in fields for i in f.indicators}
    removed = {c.record.id for p in plans.values() for c in p.indicators if c.action == "removed"}
    seen: set[tuple[int, date]] = set()
    numbers_in_file: set[int] = set()
    for row in read_rows(sheet, sheet_mapping, problems):
        number, name, day = row.values.get("field_number"), row.values.get("indicator"), row.values.get("observed_on")
        if number is None or not name or day is None:
            continue
        plan = plan_for(number, row, sheet, "field_number")
        if plan is None:
            continue
        key = (number, normalise(name))
        if key not in indicators:
            problems.append(Problem(row.where("indicator", sheet), _(
                "Die Kennzahl „%(name)s“ gibt es in Handlungsfeld %(num)d nicht; legen Sie sie im Blatt "
                "„Kennzahlen“ oder auf der Seite des Handlungsfelds an", name=name, num=number)))
            continue
        indicator = indicators[key]  # None: new in this file
        numbers_in_file.add(number)
        ident = indicator.id if indicator is not None else key
        if row.bad or row.values.get("value") is None:
            seen.add((ident, day))
            continue
        if (ident, day) in seen:
            problems.append(Problem(row.where("observed_on", sheet), _("Für diese Kennzahl steht dieser Tag zweimal "
                                                                       "in der Datei")))
            continue
        seen.add((ident, day))
        label = f"{indicator.name if indicator is not None else name} ({day.strftime('%d.%m.%Y')})"
        existing = next((v for v in indicator.values if v.observed_on == day), None) if indicator else None
        if existing is None:
            row.values["_indicator"] = key
            plan.values.append(RecordChange("new", label, row=row, record=indicator))
            continue
        changed = [_label(VALUES_SHEET, "value")] if not _same(existing.value, row.values["value"]) else []
        if "source_note" in row.values and _clean(existing.source_note) != row.values["source_note"]:
            changed.append(_label(VALUES_SHEET, "source_note"))
        if changed:
            plan.values.append(RecordChange("changed", label, changed, row, existing))
    for f in fields:
        if f.number not in numbers_in_file:
            continue
        for indicator in f.indicators:
            if indicator.id in removed:
                continue  # its values go with it
            for value in indicator.values:
                if (indicator.id, value.observed_on) not in seen:
                    plan = plans.setdefault(f.number, FieldPlan(f.number, f.title, f))
                    plan.values.append(RecordChange("removed", f"{indicator.name} ({value.observed_on:%d.%m.%Y})",
                                                    record=value))


# --- applying -----------------------------------------------------------------------------------------

@dataclass
class Outcome:
    revisions: int = 0
    fields_created: int = 0
    counts: dict[str, int] = dc_field(default_factory=dict)


def _responsible(text: str, known: dict[str, tuple]):
    """The person and organisation a cell names ("Name – Organisation", or one of them), resolved once per
    import: 2,000 steps of the same Jobcenter look it up once."""
    if text not in known:
        known[text] = _resolve_responsible(text)
    return known[text]


def _resolve_responsible(text: str):
    from ..records.services import resolve_organisation, resolve_person

    parts = [p.strip() for p in (text or "").split(" – ") if p.strip()]
    if not parts:
        return None, None
    if len(parts) == 1:
        organisation = _known_organisation(parts[0])
        return (None, organisation) if organisation is not None else (resolve_person(parts[0], None), None)
    organisation = resolve_organisation(parts[1])
    return resolve_person(parts[0], organisation), organisation


def _known_organisation(name: str):
    from ..models import Organisation

    key = name_key(name)
    return next((o for o in db.session.scalars(db.select(Organisation)) if key in (name_key(o.name),
                                                                                   name_key(o.short_name))), None)


def _apply_working_groups(field: Field, names: list[str]) -> None:
    """The groups by these names, in this order: a group whose name stays keeps its members."""
    kept = {name_key(group.name): group for group in field.working_groups}
    wanted = []
    for position, name in enumerate(names):
        group = kept.pop(name_key(name), None) or WorkingGroup(name=name[:200])
        group.name, group.position = name[:200], position
        wanted.append(group)
    field.working_groups[:] = wanted  # the groups no longer named go, with their members (delete-orphan)


def _apply_responsible(field: Field, labels: list[str], known: dict[str, tuple]) -> None:
    """Who is responsible, by the labels of the cell: someone named before keeps their role; someone new is
    federführend (FF), as the Verantwortlich column of a city's table means."""
    kept = {name_key(r.label): r for r in field.responsibilities if r.label}
    wanted = []
    for label in labels:
        responsibility = kept.pop(name_key(label), None)
        if responsibility is None:
            person, organisation = _party(label, known)
            if person is None and organisation is None:
                continue
            responsibility = Responsibility(person=person, organisation=organisation, role=ResponsibilityRole.LEAD)
        responsibility.position = len(wanted)
        wanted.append(responsibility)
    field.responsibilities[:] = wanted


_LABEL_WITH_ORGANISATION = re.compile(r"^(?P<name>[^()]+?)\s*\((?P<organisation>[^()]+)\)$")


def _party(label: str, known: dict[str, tuple]):
    """The person and organisation of a label as the app writes it: "Name (Organisation)", an organisation's
    name, or "Name – Organisation" as steps have it."""
    from ..records.services import resolve_organisation, resolve_person

    if label in known:
        return known[label]
    match = _LABEL_WITH_ORGANISATION.match(label)
    if match is not None:
        organisation = resolve_organisation(match["organisation"])
        found = (resolve_person(match["name"], organisation), organisation)
    else:
        found = _resolve_responsible(label)
    known[label] = found
    return found


def _apply_step(field: Field, change: RecordChange, today: date, known: dict[str, tuple]) -> None:
    values = change.row.values
    step = change.record
    if step is None:
        step = NextStep(field=field, position=len(field.next_steps) + values["_position"], description="")
        db.session.add(step)
    if "description" in values:
        step.description = values["description"]
    if "responsible" in values and (change.record is None or values["responsible"] != step.responsible_label):
        step.responsible_person, step.responsible_organisation = _responsible(values["responsible"], known)
    for key in ("due_date", "progress_note"):
        if key in values:
            setattr(step, key, values[key] if key != "progress_note" else values[key][:500])
    if "status" in values:
        step.status = values["status"]
    if "done_on" in values:
        step.done_on = values["done_on"]
    if step.status == StepStatus.DONE and step.done_on is None:
        step.done_on = today
    if step.status != StepStatus.DONE:
        step.done_on = None
    step.updated_at = utcnow()


def _apply_financing(field: Field, change: RecordChange) -> None:
    values = change.row.values
    item = change.record
    if item is None:
        item = FinancingItem(field=field, position=len(field.financing_items) + values["_position"],
                             source=values["source"])
        db.session.add(item)
    for key in ("source", "amount", "start_date", "end_date", "status", "has_follow_up"):
        if key in values:
            setattr(item, key, values[key])
    if "programme" in values:
        item.programme = values["programme"][:300]
    if "note" in values:
        item.note = values["note"][:1000]
    item.updated_at = utcnow()


def _apply_indicator(field: Field, change: RecordChange, created: dict[tuple[int, str], Indicator]) -> None:
    values = change.row.values
    indicator = change.record
    if indicator is None:
        indicator = Indicator(field=field, position=len(field.indicators) + values["_position"], name="")
        db.session.add(indicator)
        created[(field.number, normalise(values["name"]))] = indicator
    for key in ("name", "unit", "baseline", "target", "target_date"):
        if key in values:
            setattr(indicator, key, values[key])


def _apply_value(change: RecordChange, created: dict[tuple[int, str], Indicator]) -> None:
    values = change.row.values
    if change.action == "new":
        indicator = change.record if change.record is not None else created[values["_indicator"]]
        indicator.values.append(IndicatorValue(observed_on=values["observed_on"], value=values["value"],
                                                   source_note=values.get("source_note", "")[:500]))
        return
    change.record.value = values["value"]
    if "source_note" in values:
        change.record.source_note = values["source_note"][:500]


def apply_plan(plan: Plan, strategy: Strategy, user: User, filename: str, today: date) -> Outcome:
    """Store every change of a plan without problems; one revision of kind import per changed field. The
    caller commits (or rolls back: nothing of a failed import stays)."""
    if not plan.ok:
        raise ValueError("a plan with problems is never applied")
    outcome = Outcome(counts={"steps": 0, "financing": 0, "indicators": 0, "values": 0, "texts": 0})
    note = summary("imported", file=filename[:200])
    known: dict[str, tuple] = {}
    created: dict[tuple[int, str], Indicator] = {}
    for item in plan.changed_fields:
        field = item.field
        if field is None:
            field = Field(strategy=strategy, number=item.number, title=item.title[:200])
            db.session.add(field)
            db.session.flush()
            before = None
            outcome.fields_created += 1
        else:
            field = load_field_row(field.id)
            before = field_snapshot(field)
        for text in item.texts:
            if text.key == "working_groups":
                _apply_working_groups(field, _name_list(text.after))
            elif text.key == "responsible":
                _apply_responsible(field, _name_list(text.after), known)
            elif text.key == "phase":
                field.phase = text.value
            else:
                setattr(field, text.key, text.after[:200] if text.key == "title" else text.after)
        if item.texts and before is not None:
            field.version = field.version + 1  # the row's own content moved: an open edit form must notice
        outcome.counts["texts"] += len(item.texts)
        # Indicators before their values: a value may belong to an indicator the file brings.
        for kind, changes, store in (
                ("steps", item.steps, partial(_apply_step, field, today=today, known=known)),
                ("financing", item.financing, partial(_apply_financing, field)),
                ("indicators", item.indicators, partial(_apply_indicator, field, created=created)),
                ("values", item.values, partial(_apply_value, created=created))):
            for change in changes:
                if change.action == "removed":
                    db.session.delete(change.record)
                elif change.action in ("new", "changed"):
                    store(change)
                outcome.counts[kind] += change.action != "conflict"
        db.session.flush()
        if record_change(field, user, RevisionKind.IMPORT, before, note) is not None:
            outcome.revisions += 1
    return outcome


"""Spreadsheet export: exactly what the reader may read, in .xlsx, .ods and .csv, with the hidden id and
version columns an import needs, and user text that never becomes a formula. Files are read back with
openpyxl and python-calamine (the library the import reads with)."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from strategy.extensions import db
from strategy.models import FinancingItem, FundingSource, FundingStatus, NextStep, Role, StepStatus, Visibility


def sheets_of(data: bytes) -> dict[str, list[list]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


@pytest.fixture
def strategy(make):
    strategy = make.strategy(fields=2, visibility=Visibility.PUBLIC)
    first, second = strategy.fields
    first.current_state = "Die Lage ist gut."
    first.next_steps.append(NextStep(description="Treffen planen", due_date=date(2026, 5, 31),
                                     status=StepStatus.PLANNED))
    first.next_steps.append(NextStep(description="Bericht schreiben", status=StepStatus.DONE,
                                     done_on=date(2026, 1, 15), position=1))
    first.financing_items.append(FinancingItem(source=FundingSource.ESF_PLUS, programme="Ankommen",
                                               amount=Decimal("12500.50"), status=FundingStatus.SECURED))
    second.vision = "Alle sind angekommen."
    db.session.commit()
    return strategy


def hidden_column(sheet, number: int) -> bool:
    """openpyxl keeps neighbouring columns of equal width as one range."""
    return any(d.min <= number <= d.max and d.hidden for d in sheet.column_dimensions.values())


def url(strategy, fmt="xlsx", page="handlungsrahmen"):
    return f"/strategien/{strategy.slug}/{page}.{fmt}"


def test_steering_gets_the_live_draft_with_every_sheet_and_hidden_ids(client, auth, make, strategy):
    auth.login(make.user(role=Role.STEERING, strategy=strategy))
    response = client.get(url(strategy))
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    sheets = sheets_of(response.data)
    assert list(sheets) == ["Handlungsrahmen", "Schritte", "Finanzierung", "Kennzahlen", "Kennzahlwerte"]
    framework = sheets["Handlungsrahmen"]
    assert framework[0][:5] == ["ID", "Version", "Nr.", "Handlungsfeld", "Ziel"]
    first = framework[1]
    assert first[0] == strategy.fields[0].id and first[1] == 1 and first[2] == 1
    assert "Die Lage ist gut." in first
    steps = sheets["Schritte"]
    assert [row[3] for row in steps[1:]] == ["Treffen planen", "Bericht schreiben"]
    assert steps[1][5] == date(2026, 5, 31) and steps[1][6] == "geplant"
    assert sheets["Finanzierung"][1][3:6] == ["ESF Plus", "Ankommen", 12500.5]
    # The id and version columns are there for the import, hidden from people reading the sheet.
    sheet = openpyxl.load_workbook(io.BytesIO(response.data))["Handlungsrahmen"]
    assert [hidden_column(sheet, n) for n in (1, 2, 3, 4)] == [True, True, False, False]


def test_the_public_gets_only_approved_fields_and_visible_blocks_without_ids(client, make, strategy):
    first, second = strategy.fields
    make.approve(first)
    first.current_state = "Noch nicht freigegebener Entwurf."
    strategy.block_visibility = {"financing": "internal"}
    db.session.commit()
    sheets = sheets_of(client.get(url(strategy)).data)
    assert "Finanzierung" not in sheets
    framework = sheets["Handlungsrahmen"]
    assert "Finanzierung (Text)" not in framework[0]
    assert len(framework) == 2  # the field never approved has no row for the public
    row = framework[1]
    assert "Die Lage ist gut." in row and "Noch nicht freigegebener Entwurf." not in row
    assert row[0] == "" and row[1] == ""  # no ids or versions for readers of approved content
    assert [r[3] for r in sheets["Schritte"][1:]] == ["Treffen planen", "Bericht schreiben"]


def test_a_hidden_strategy_is_not_found(client, make):
    strategy = make.strategy(visibility=Visibility.INTERNAL)
    assert client.get(url(strategy)).status_code == 404
    assert client.get(url(strategy, "ods")).status_code == 404
    assert client.get(url(strategy, "doc")).status_code == 404


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://evil.example\";\"klick\")", "+1+2", "-3+4", "@SUM(A1)"])
def test_text_that_looks_like_a_formula_stays_text_in_every_format(client, auth, make, strategy, text):
    strategy.fields[0].gaps = text
    db.session.commit()
    auth.login(make.user(admin=True))
    xlsx = openpyxl.load_workbook(io.BytesIO(client.get(url(strategy)).data))["Handlungsrahmen"]
    cell = next(c for c in xlsx[2] if c.value == text)
    assert cell.data_type == "s"
    ods = sheets_of(client.get(url(strategy, "ods")).data)["Handlungsrahmen"]
    assert text in ods[1]
    csv_text = client.get(url(strategy, "csv")).data.decode("utf-8-sig")
    assert f"'{text}" in csv_text or f"\"'{text.replace(chr(34), chr(34) * 2)}\"" in csv_text


def test_csv_is_utf8_with_bom_and_semicolons_one_sheet_per_file(client, auth, make, strategy):
    auth.login(make.user(admin=True))
    response = client.get(url(strategy, "csv"))
    assert response.data.startswith("\ufeff".encode())
    header = response.data.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("ID;Version;Nr.;Handlungsfeld;Ziel")
    steps = client.get(url(strategy, "csv") + "?blatt=schritte").data.decode("utf-8-sig").splitlines()
    assert steps[0].startswith("ID;Version;HF-Nr.;Schritt") and "31.05.2026" in steps[1]
    assert client.get(url(strategy, "csv") + "?blatt=unbekannt").status_code == 404


def test_english_readers_get_english_headers(client, auth, make, strategy):
    auth.login(make.user(admin=True))
    client.get("/sprache/en")
    sheets = sheets_of(client.get(url(strategy)).data)
    assert list(sheets)[0] == "Action framework"
    assert sheets["Action framework"][0][2:5] == ["No.", "Field", "Goal"]


def test_open_steps_as_a_spreadsheet_hold_only_open_steps(client, auth, make, strategy):
    assert client.get(url(strategy, page="offene-schritte")).status_code in (302, 303)
    auth.login(make.user(role=Role.COORDINATOR, strategy=strategy))
    sheets = sheets_of(client.get(url(strategy, page="offene-schritte")).data)
    assert list(sheets) == ["Offene Schritte"]
    assert [row[3] for row in sheets["Offene Schritte"][1:]] == ["Treffen planen"]


def test_funding_as_a_spreadsheet_follows_the_financing_block(client, auth, make, strategy):
    make.approve(strategy.fields[0])
    sheets = sheets_of(client.get(url(strategy, "ods", page="finanzierung")).data)
    assert list(sheets) == ["Finanzierung"]
    assert sheets["Finanzierung"][1][4] == "Ankommen"
    strategy.block_visibility = {"financing": "internal"}
    db.session.commit()
    assert client.get(url(strategy, page="finanzierung")).status_code == 403

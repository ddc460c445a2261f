"""Steering brings a changed workbook back in, in a real Chromium: download, edit, upload, check the mapping,
read the preview, confirm, and see the field changed."""
from __future__ import annotations

import io
import os

import openpyxl
import pytest
from playwright.sync_api import expect

from strategy.demo import DEMO_SLUG
from tests.conftest import BACKENDS
from tests.support.browser import assert_accessible, log_in

pytestmark = pytest.mark.browser

OVERVIEW = f"/strategien/{DEMO_SLUG}/"
SHOTS = os.environ.get("SCREENSHOTS")  # a folder: the journey's pages are saved there to be looked at


@pytest.mark.parametrize("live_server", BACKENDS, indirect=True)  # the one journey on both engines
def test_steering_imports_an_edited_workbook_after_reading_the_preview(live_server, page, tmp_path):
    log_in(page, live_server.url, "lenkung@demo.dortmund.example")
    page.goto(live_server.url + OVERVIEW)
    with page.expect_download() as download:
        page.get_by_role("link", name="Excel (.xlsx)").click()
    path = tmp_path / "export.xlsx"
    download.value.save_as(path)
    book = openpyxl.load_workbook(path)
    sheet = book["Handlungsrahmen"]
    header = [cell.value for cell in sheet[1]]
    sheet.cell(row=5, column=header.index("Was fehlt?") + 1, value="Mehr Sprachkurse am Abend.")
    groups = sheet.cell(row=5, column=header.index("Fachgruppe(n)") + 1)
    groups.value = f"{groups.value}; FG Abendkurse" if groups.value else "FG Abendkurse"
    book.save(path)

    page.goto(live_server.url + OVERVIEW)
    page.get_by_role("link", name="Aus Datei importieren").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Handlungsrahmen aus Datei importieren")
    assert_accessible(page)
    page.get_by_label("Datei").set_input_files(str(path))
    page.get_by_role("button", name="Hochladen").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Spalten zuordnen")
    expect(page.get_by_role("heading", name="Blatt „Handlungsrahmen“")).to_be_visible()
    expect(page.get_by_role("combobox", name="Was fehlt?")).to_have_value("gaps")
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "import-mapping.png"), full_page=True)
    assert_accessible(page)
    page.get_by_role("button", name="Weiter zur Vorschau").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Vorschau des Imports")
    expect(page.locator(".notice")).to_contain_text("1 Handlungsfeld wird geändert")
    change = page.locator(".comparison-field", has=page.get_by_role("heading", name="Handlungsfeld 4", exact=False))
    expect(change.locator("ins", has_text="FG Abendkurse")).to_have_count(1)
    expect(change.locator("ins", has_text="Mehr Sprachkurse am Abend.")).to_have_count(1)
    expect(page.get_by_text("behält ihre Mitglieder", exact=False)).to_be_visible()
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "import-preview.png"), full_page=True)
    assert_accessible(page)
    page.get_by_role("button", name="Import übernehmen").click()

    expect(page.locator(".flash--success")).to_have_text("Import abgeschlossen: 1 Handlungsfeld geändert.")
    page.goto(live_server.url + OVERVIEW + "handlungsfelder/4")
    expect(page.locator("main")).to_contain_text("Mehr Sprachkurse am Abend.")
    expect(page.locator("main")).to_contain_text("FG Abendkurse")


def test_a_bad_cell_is_shown_with_its_place_and_nothing_can_be_confirmed(live_server, page, tmp_path):
    log_in(page, live_server.url, "lenkung@demo.dortmund.example")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Schritte"
    sheet.append(["HF-Nr.", "Schritt", "Fällig bis"])
    sheet.append([4, "Elternabend planen", "31.02.2026"])
    out = io.BytesIO()
    book.save(out)
    page.goto(live_server.url + f"/strategien/{DEMO_SLUG}/import")
    page.get_by_label("Datei").set_input_files({"name": "schritte.xlsx", "mimeType": "application/octet-stream",
                                                "buffer": out.getvalue()})
    page.get_by_role("button", name="Hochladen").click()
    page.get_by_role("button", name="Weiter zur Vorschau").click()
    expect(page.locator(".import-problems")).to_contain_text("Schritte!C2: „31.02.2026“ ist kein Datum")
    expect(page.get_by_role("button", name="Import übernehmen")).to_have_count(0)
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "import-problems.png"), full_page=True)

"""The review journey in a real Chromium: submit, return, fix, resubmit, approve, edition, comparison."""
from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import log_in

pytestmark = pytest.mark.browser

FIELD4 = "/strategien/dortmund-neuzuwanderung/handlungsfelder/4"
SCREENSHOTS = os.environ.get("REVIEW_SCREENSHOTS")  # a folder to keep screenshots in, for looking at them


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        os.makedirs(SCREENSHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def logout(page) -> None:
    page.get_by_role("button", name="Abmelden").click()


def edit_column(page, server, label: str, text: str) -> None:
    page.goto(server.url + FIELD4)
    page.get_by_role("link", name="Bearbeiten").click()
    page.get_by_label(label).fill(text)
    page.get_by_role("button", name="Speichern").click()
    expect(page.locator(".flash--success")).to_be_visible()


def test_submit_return_fix_resubmit_approve_edition_and_compare(live_server, page):
    server = live_server
    vision_label = "Vision: Wo wollen wir in 10 Jahren stehen?"

    # The coordinator of field 4 changes the vision and submits the field.
    log_in(page, server.url, "hf4@demo.dortmund.example")
    edit_column(page, server, vision_label, "Dortmund lebt Diversität. Alle reden mit.")
    panel = page.locator("#pruefung")
    expect(panel.locator(".badge--review-draft")).to_have_text("Entwurf")
    page.get_by_role("button", name="Zur Prüfung einreichen").click()
    expect(panel.locator(".badge--review-submitted")).to_have_text("zur Prüfung")
    expect(page.get_by_role("button", name="Freigeben")).to_have_count(0)
    logout(page)

    # Steering sees what differs from the approved version and returns it with a comment.
    log_in(page, server.url, "lenkung@demo.dortmund.example")
    page.goto(server.url + FIELD4)
    vision = page.locator("section.cell", has=page.get_by_role("heading", name=vision_label))
    vision.get_by_text("geändert seit Freigabe").click()
    expect(vision.locator(".since-approval ins")).to_contain_text("Alle reden mit.")
    shot(page, "01-field-submitted-steering")
    page.get_by_text("Zurückgeben mit Kommentar …").click()
    page.get_by_role("button", name="Zurückgeben").click()  # without a comment: refused, nothing lost
    expect(page.get_by_text("Bitte schreiben Sie, was geändert werden soll.")).to_be_visible()
    page.get_by_label("Was soll geändert werden?").fill("Bitte die Vision konkreter fassen: wer redet wo mit?")
    page.get_by_label("Spalte").select_option("vision")
    page.get_by_role("button", name="Zurückgeben").click()
    expect(page.locator("#pruefung .badge--review-returned")).to_have_text("zurückgegeben")
    expect(page.locator(".comment")).to_contain_text("wer redet wo mit?")
    logout(page)

    # The coordinator answers, fixes the row, marks the comment done and resubmits.
    log_in(page, server.url, "hf4@demo.dortmund.example")
    page.goto(server.url + FIELD4)
    thread = page.locator(".comment").first
    thread.get_by_text("Antworten").click()
    thread.get_by_label("Antwort").fill("Ist ergänzt: in den Quartiersrunden.")
    thread.get_by_role("button", name="Antwort senden").click()
    expect(page.locator(".comment--reply")).to_contain_text("Quartiersrunden")
    edit_column(page, server, vision_label, "Dortmund lebt Diversität. Alle reden mit – in den Quartiersrunden.")
    expect(page.locator("#pruefung .badge--review-returned")).to_be_visible()
    page.get_by_role("button", name="Kommentar als erledigt markieren").click()
    expect(page.locator(".comment .badge--resolved")).to_be_visible()
    page.get_by_role("button", name="Zur Prüfung einreichen").click()
    expect(page.locator("#pruefung .badge--review-submitted")).to_be_visible()
    logout(page)

    # Steering approves and makes an edition.
    log_in(page, server.url, "lenkung@demo.dortmund.example")
    page.goto(server.url + FIELD4)
    shot(page, "02-field-resubmitted-with-thread")
    page.get_by_role("button", name="Freigeben").click()
    expect(page.locator("#pruefung .badge--review-approved")).to_have_text("freigegeben")
    page.goto(server.url + "/strategien/dortmund-neuzuwanderung/")
    page.get_by_role("link", name="Fassungen", exact=True).click()
    page.get_by_role("link", name="Neue Fassung anlegen").click()
    shot(page, "03-new-edition")
    page.get_by_label("Titel der Fassung").fill("Beschluss Koordinierungsgruppe 03/2026")
    page.get_by_label("Beschlossen am").fill("2026-03-12")
    page.get_by_role("button", name="Fassung anlegen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Beschluss Koordinierungsgruppe 03/2026")
    shot(page, "04-edition")
    page.get_by_role("link", name=re.compile("Konsens für Partizipation")).click()
    expect(page.locator("section.cell", has=page.get_by_role("heading", name=vision_label))).to_contain_text(
        "in den Quartiersrunden")
    shot(page, "05-edition-field")
    logout(page)

    # Later edits, approved: the comparison with the edition shows exactly those.
    log_in(page, server.url, "hf4@demo.dortmund.example")
    edit_column(page, server, "Was fehlt?", "Mehr Dolmetschende in den Beratungsstellen.")
    page.get_by_role("button", name="Zur Prüfung einreichen").click()
    logout(page)
    log_in(page, server.url, "lenkung@demo.dortmund.example")
    page.goto(server.url + FIELD4)
    page.get_by_role("button", name="Freigeben").click()
    expect(page.locator("#pruefung .badge--review-approved")).to_be_visible()
    page.goto(server.url + "/strategien/dortmund-neuzuwanderung/fassungen/")
    shot(page, "06-editions-list")
    page.get_by_role("link", name="Änderungen seither").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Änderungen seit „Beschluss Koordinierungsgruppe 03/2026“")
    changed = page.locator(".comparison-field")
    expect(changed).to_have_count(1)
    expect(changed).to_contain_text("Handlungsfeld 4")
    expect(changed.locator("dt")).to_have_text(["Was fehlt?"])
    inserted = re.sub(r"\[eingefügt: |\]", "", " ".join(changed.locator("ins").all_inner_texts()))
    assert "Mehr Dolmetschende" in inserted and "Beratungsstellen." in inserted
    expect(page.locator(".comparison-unchanged")).to_contain_text("13. ")
    shot(page, "07-comparison")
    logout(page)

    # The partner reads the approved content, and nothing of the review.
    log_in(page, server.url, "partner@demo.dortmund.example")
    page.goto(server.url + FIELD4)
    expect(page.locator("#pruefung")).to_have_count(0)
    expect(page.get_by_text("Mehr Dolmetschende in den Beratungsstellen.")).to_be_visible()

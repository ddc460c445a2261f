"""Editing a field's row in a real Chromium (demo data, CSRF on): save, history, 403 elsewhere, conflicts."""
import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import assert_accessible, log_in

pytestmark = pytest.mark.browser

FIELD = "/strategien/dortmund-neuzuwanderung/handlungsfelder/{}"


def vision_cell(page):
    return page.locator("section.cell", has=page.get_by_role("heading", name=re.compile("^Vision")))


def test_coordinator_edits_the_vision_of_field_4_and_finds_it_on_the_page_and_in_the_history(live_server, page):
    base = live_server.url
    log_in(page, base, "hf4@demo.dortmund.example")
    page.goto(base + FIELD.format(4))
    page.get_by_role("link", name="Bearbeiten").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Zeile bearbeiten")
    assert_accessible(page)

    vision = page.get_by_label("Vision: Wo wollen wir in 10 Jahren stehen?")
    expect(vision).to_have_value(re.compile("Dortmund lebt Diversität"))
    vision.fill("Dortmund lebt Vielfalt. Alle Neuzugewanderten finden Beteiligungswege.")
    page.get_by_role("button", name="Speichern").click()

    expect(page).to_have_url(base + FIELD.format(4))
    expect(page.get_by_role("status")).to_contain_text("Ihre Änderungen wurden gespeichert.")
    expect(vision_cell(page)).to_contain_text("Alle Neuzugewanderten finden Beteiligungswege.")

    page.get_by_role("link", name="Verlauf").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Verlauf")
    newest = page.locator("tbody tr").first
    expect(newest).to_contain_text("Güntürk")
    expect(newest).to_contain_text("bearbeitet")
    expect(newest).to_contain_text("Vision")
    assert_accessible(page)
    newest.get_by_role("link", name=re.compile("Änderungen ansehen")).click()
    diff = page.locator("section.diff-column", has=page.get_by_role("heading", name=re.compile("^Vision")))
    expect(diff.locator("ins").filter(has_text="Alle Neuzugewanderten finden Beteiligungswege.")).to_have_count(1)
    expect(diff.locator("del").filter(has_text="Diversität")).to_have_count(1)
    assert_accessible(page)


def test_coordinator_of_field_4_is_refused_the_edit_page_of_field_9(live_server, page):
    base = live_server.url
    log_in(page, base, "hf4@demo.dortmund.example")
    page.goto(base + FIELD.format(9))
    expect(page.get_by_role("link", name="Verlauf")).to_be_visible()
    expect(page.get_by_role("link", name="Bearbeiten")).to_have_count(0)

    response = page.goto(base + FIELD.format(9) + "/bearbeiten")

    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Kein Zugriff")


def test_second_editor_sees_the_conflict_keeps_their_text_merges_and_saves(live_server, browser):
    base = live_server.url
    first = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900}).new_page()
    second = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900}).new_page()
    try:
        log_in(first, base, "hf4@demo.dortmund.example")
        log_in(second, base, "admin@demo.dortmund.example")
        first.goto(base + FIELD.format(4) + "/bearbeiten")
        second.goto(base + FIELD.format(4) + "/bearbeiten")

        first.get_by_label("Vision: Wo wollen wir in 10 Jahren stehen?").fill("Vision der Koordination.")
        first.get_by_role("button", name="Speichern").click()
        expect(first.get_by_role("status")).to_contain_text("gespeichert")

        second.get_by_label("Vision: Wo wollen wir in 10 Jahren stehen?").fill("Vision der Verwaltung.")
        second.get_by_label("Was fehlt?").fill("Ein fester Ort für Begegnung.")
        second.get_by_role("button", name="Speichern").click()

        alert = second.get_by_role("alert")
        expect(alert).to_contain_text("Inzwischen hat jemand anderes gespeichert")
        expect(alert).to_contain_text("Güntürk")
        conflict = second.locator("#conflict-vision")
        expect(conflict.locator(".edit-conflict__text")).to_have_text("Vision der Koordination.")
        own = second.get_by_label("Vision: Wo wollen wir in 10 Jahren stehen?")
        expect(own).to_have_value("Vision der Verwaltung.")  # the user's own text is kept
        expect(second.get_by_label("Was fehlt?")).to_have_value("Ein fester Ort für Begegnung.")
        expect(conflict.locator(".diff del")).to_contain_text(["Koordination."])
        expect(conflict.locator(".diff ins")).to_contain_text(["Verwaltung."])
        assert_accessible(second)

        conflict.get_by_role("button", name="Gespeicherte Fassung in mein Feld übernehmen").click()
        expect(own).to_have_value("Vision der Koordination.")
        own.press("End")
        own.type(" Ergänzt von der Verwaltung.")
        second.get_by_role("button", name="Speichern").click()

        expect(second).to_have_url(base + FIELD.format(4))
        expect(vision_cell(second)).to_contain_text("Vision der Koordination. Ergänzt von der Verwaltung.")
        gaps = second.locator("section.cell", has=second.get_by_role("heading", name="Was fehlt?"))
        expect(gaps).to_contain_text("Ein fester Ort für Begegnung.")
    finally:
        first.context.close()
        second.context.close()


def test_without_javascript_a_coordinator_adds_a_responsible_organisation_and_restores_an_older_state(
        live_server, browser):
    base = live_server.url
    context = browser.new_context(locale="de-DE", java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        log_in(page, base, "hf4@demo.dortmund.example")
        page.goto(base + FIELD.format(4) + "/bearbeiten")
        page.get_by_label("Was fehlt?").fill("Zwischenstand ohne JavaScript.")
        page.get_by_role("button", name="+ Weitere Person oder Organisation").click()
        expect(page.get_by_label("Was fehlt?")).to_have_value("Zwischenstand ohne JavaScript.")
        page.get_by_label("Organisation (Verantwortlich, Zeile 4)").fill("Jobcenter")
        page.get_by_label("Rolle (Verantwortlich, Zeile 4)").select_option(label="beteiligt")
        page.get_by_role("button", name="Speichern").click()

        responsible = page.get_by_role("region", name="Verantwortlich", exact=True)
        expect(responsible).to_contain_text("Jobcenter")

        page.goto(base + FIELD.format(4) + "/verlauf")
        page.locator("tbody tr").nth(1).get_by_role("link", name=re.compile("Änderungen ansehen")).click()
        page.get_by_role("button", name=re.compile("wiederherstellen")).click()
        expect(page.get_by_role("status")).to_contain_text("wurde wiederhergestellt")
        expect(page.locator("tbody tr").first).to_contain_text("wiederhergestellt")
        page.goto(base + FIELD.format(4))
        gaps = page.locator("section.cell", has=page.get_by_role("heading", name="Was fehlt?"))
        expect(gaps).not_to_contain_text("Zwischenstand ohne JavaScript.")
    finally:
        context.close()

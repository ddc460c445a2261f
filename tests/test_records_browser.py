"""Coordinators keep next steps, financing and indicators up to date on the field page, in a real Chromium."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from strategy.demo import DEMO_SLUG
from strategy.records.services import add_months
from tests.support.browser import log_in

pytestmark = pytest.mark.browser

OVERVIEW = f"/strategien/{DEMO_SLUG}/"


def field_path(number: int) -> str:
    return f"/strategien/{DEMO_SLUG}/handlungsfelder/{number}"


def field_card(page: Page, number: int):
    return page.locator(".field-card", has=page.locator(f"#field-{number}-title"))


def test_coordinator_adds_an_overdue_step_and_sees_it_marked_on_the_overview(live_server, page):
    log_in(page, live_server.url, "hf11@demo.dortmund.example")
    page.goto(live_server.url + field_path(11))
    page.locator("#schritt-neu > summary").click()
    page.locator("#schritt-neu-description").fill("Arbeitgeberfrühstück mit der IHK organisieren")
    page.locator("#schritt-neu-person_name").fill("Frau Demir")
    page.locator("#schritt-neu-organisation_name").fill("Jobcenter")
    page.locator("#schritt-neu-due_date").fill((date.today() - timedelta(days=10)).isoformat())
    page.locator("#schritt-neu").get_by_role("button", name="Schritt hinzufügen").click()

    expect(page.locator(".flash--success")).to_have_text("Der Schritt wurde hinzugefügt.")
    step = page.locator("#schritte .record", has_text="Arbeitgeberfrühstück mit der IHK organisieren")
    expect(step).to_have_class(re.compile("is-overdue"))
    expect(step).to_contain_text("überfällig")
    expect(step).to_contain_text("Frau Demir – Jobcenter")

    page.goto(live_server.url + OVERVIEW)
    card = field_card(page, 11)
    expect(card.locator(".badge--overdue")).to_have_text("1 überfällig")
    expect(field_card(page, 4).locator(".badge--overdue")).to_have_count(0)


def test_coordinator_adds_funding_that_ends_in_six_months_and_sees_verstetigung_offen(live_server, page):
    log_in(page, live_server.url, "hf11@demo.dortmund.example")
    page.goto(live_server.url + field_path(11))
    page.locator("#finanzierung-neu > summary").click()
    form = page.locator("#finanzierung-neu")
    form.get_by_label("Förderquelle").select_option(label="ESF Plus")
    form.get_by_label("Programm / Projekt").fill("Modellvorhaben Erwerbsintegration")
    form.get_by_label("Betrag in Euro (optional)").fill("480.000")
    form.get_by_label("Status").select_option(label="gesichert")
    form.get_by_label("Beginn").fill("2024-05-01")
    form.get_by_label("Ende").fill(add_months(date.today(), 6).isoformat())
    form.get_by_role("button", name="Finanzierung hinzufügen").click()

    expect(page.locator(".flash--success")).to_have_text("Die Finanzierung wurde hinzugefügt.")
    item = page.locator("#finanzierung .record", has_text="Modellvorhaben Erwerbsintegration")
    expect(item.locator(".badge--follow-up")).to_have_text("Verstetigung offen")
    expect(item).to_contain_text("480.000,00 €")

    page.goto(live_server.url + OVERVIEW)
    expect(field_card(page, 11).locator(".funding-state")).to_have_text("Verstetigung offen")
    page.get_by_role("link", name="Finanzierung im Zeitverlauf").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Finanzierung im Zeitverlauf")
    expect(page.locator("svg.chart--timeline rect.chart__bar--flagged")).to_have_count(1)
    expect(page.get_by_role("row", name=re.compile("Modellvorhaben Erwerbsintegration"))).to_contain_text(
        "Verstetigung offen")


def test_an_invalid_period_is_refused_next_to_the_field_and_the_input_stays(live_server, page):
    log_in(page, live_server.url, "hf11@demo.dortmund.example")
    page.goto(live_server.url + field_path(9))
    page.locator("#finanzierung-neu > summary").click()
    form = page.locator("#finanzierung-neu")
    form.get_by_label("Programm / Projekt").fill("Beratungsstelle Arbeitsausbeutung")
    form.get_by_label("Betrag in Euro (optional)").fill("-100")
    form.get_by_label("Beginn").fill("2026-01-01")
    form.get_by_label("Ende").fill("2025-12-31")
    form.get_by_role("button", name="Finanzierung hinzufügen").click()

    expect(page.locator("#finanzierung-neu-amount-error")).to_have_text("Der Betrag darf nicht negativ sein.")
    expect(page.locator("#finanzierung-neu-end_date-error")).to_have_text("Das Ende darf nicht vor dem Beginn liegen.")
    expect(page.locator("#finanzierung-neu-programme")).to_have_value("Beratungsstelle Arbeitsausbeutung")
    expect(page.locator("#finanzierung-neu-amount")).to_be_focused()  # the first field to fix
    expect(page.locator("#finanzierung .record")).to_have_count(0)


def test_coordinator_adds_an_indicator_value_and_the_chart_changes(live_server, page):
    log_in(page, live_server.url, "hf11@demo.dortmund.example")
    page.goto(live_server.url + field_path(11))
    key = page.locator("details.indicator", has=page.locator(".badge--key"))
    chart = key.locator("svg.chart--indicator")
    before = chart.evaluate("svg => svg.outerHTML")
    expect(chart.locator("circle.chart__point")).to_have_count(1)

    key.locator("details.record-add > summary", has_text="Wert erfassen").click()
    key.get_by_label("Stand (Datum)").fill("2024-12-31")
    key.get_by_label("Wert", exact=True).fill("87")
    key.get_by_label("Quelle, Stand").fill("Jobcenter Dortmund, Stand 12/2024")
    key.get_by_role("button", name="Wert speichern").click()

    expect(page.locator(".flash--success")).to_have_text("Der Wert wurde erfasst.")
    key = page.locator("details.indicator", has=page.locator(".badge--key"))
    chart = key.locator("svg.chart--indicator")
    expect(chart.locator("circle.chart__point")).to_have_count(2)
    after = chart.evaluate("svg => svg.outerHTML")
    assert after != before
    assert chart.locator("polyline.chart__line").count() == 1
    dates = chart.locator("circle.chart__point").evaluate_all("cs => cs.map(c => c.dataset.date)")
    assert dates == ["2024-12-31", "2025-12-31"]
    expect(chart.locator("desc")).to_contain_text("steigend")
    expect(key.get_by_role("table")).to_contain_text("Jobcenter Dortmund, Stand 12/2024")

    page.goto(live_server.url + OVERVIEW)
    spark = field_card(page, 11).locator("svg.chart--sparkline")
    expect(spark).to_have_count(1)
    expect(spark.locator("title")).to_contain_text("222")


def test_without_javascript_a_coordinator_adds_and_closes_a_step(live_server, browser):
    context = browser.new_context(java_script_enabled=False, locale="de-DE", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        log_in(page, live_server.url, "hf4@demo.dortmund.example")
        page.goto(live_server.url + field_path(4))
        page.locator("#schritt-neu > summary").click()
        page.locator("#schritt-neu-person_name").fill("Güntürk (MIA-DO-KI)")
        page.locator("#schritt-neu").get_by_role("button", name="Schritt hinzufügen").click()

        # Nothing was typed into the description: the page comes back with the message and the input kept.
        expect(page.locator("#schritt-neu-description-error")).to_have_text("Bitte beschreiben Sie den Schritt.")
        expect(page.locator("#schritt-neu-person_name")).to_have_value("Güntürk (MIA-DO-KI)")
        expect(page.locator("#schritt-neu")).to_have_attribute("open", "")

        page.locator("#schritt-neu-description").fill("Beteiligungswerkstatt mit MSO vorbereiten")
        page.locator("#schritt-neu").get_by_role("button", name="Schritt hinzufügen").click()
        expect(page.locator(".flash--success")).to_have_text("Der Schritt wurde hinzugefügt.")
        expect(page).to_have_url(re.compile(r"/handlungsfelder/4#schritt-\d+$"))
        step = page.locator("#schritte .record", has_text="Beteiligungswerkstatt mit MSO vorbereiten")
        expect(step).to_contain_text("Güntürk – MIA-DO-KI")

        step.get_by_role("button", name=re.compile("Als erledigt markieren")).click()
        expect(page.locator(".flash--success")).to_have_text("Der Schritt ist als erledigt markiert.")
        step = page.locator("#schritte .record", has_text="Beteiligungswerkstatt mit MSO vorbereiten")
        expect(step.locator(".badge--done")).to_have_text("erledigt")
    finally:
        context.close()


def test_steering_filters_the_open_steps_by_field_and_due_window(live_server, page):
    log_in(page, live_server.url, "lenkung@demo.dortmund.example")
    page.goto(live_server.url + OVERVIEW)
    page.get_by_role("link", name="Offene Schritte aller Handlungsfelder").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Offene Schritte aller Handlungsfelder")
    total = page.locator("tbody tr").count()
    assert total > 0
    page.get_by_label("Handlungsfeld", exact=True).select_option("4")
    page.get_by_role("button", name="Filtern").click()
    rows = page.locator("tbody tr")
    assert 0 < rows.count() <= total
    for link in rows.locator("td:first-child a").all():
        assert link.inner_text().strip() == "4"
    page.get_by_label("Fälligkeit").select_option("overdue")
    page.get_by_role("button", name="Filtern").click()
    expect(page.get_by_role("status")).to_contain_text("(gefiltert)")


def test_two_coordinators_edit_the_same_step_and_the_second_sees_the_conflict(live_server, browser, page):
    log_in(page, live_server.url, "hf11@demo.dortmund.example")
    page.goto(live_server.url + field_path(11))
    page.locator("#schritt-neu > summary").click()
    page.locator("#schritt-neu-description").fill("Kooperationsvertrag mit Träger schließen")
    page.locator("#schritt-neu").get_by_role("button", name="Schritt hinzufügen").click()
    expect(page.locator(".flash--success")).to_have_text("Der Schritt wurde hinzugefügt.")

    other = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
    second = other.new_page()
    second.set_default_timeout(15_000)
    try:
        log_in(second, live_server.url, "hf11@demo.dortmund.example")
        second.goto(live_server.url + field_path(11))
        for tab in (page, second):
            tab.locator("#schritte .record summary", has_text="Bearbeiten").click()

        page.locator("#schritte .record").get_by_label("Stand der Umsetzung (kurz)").fill("Entwurf beim Träger")
        page.locator("#schritte .record").get_by_role("button", name="Schritt speichern").click()
        expect(page.locator(".flash--success")).to_have_text("Der Schritt wurde gespeichert.")

        second.locator("#schritte .record").get_by_label("Stand der Umsetzung (kurz)").fill("Unterschrift fehlt")
        second.locator("#schritte .record").get_by_role("button", name="Schritt speichern").click()
        conflict = second.locator("#schritte .conflict")
        expect(conflict).to_contain_text("Speicherkonflikt")
        expect(conflict).to_contain_text("Entwurf beim Träger")
        expect(second.locator("#schritte .record").get_by_label("Stand der Umsetzung (kurz)")).to_have_value(
            "Unterschrift fehlt")
        expect(conflict).to_be_focused()

        second.locator("#schritte .record").get_by_role("button", name="Schritt speichern").click()
        expect(second.locator(".flash--success")).to_have_text("Der Schritt wurde gespeichert.")
        expect(second.locator("#schritte .record")).to_contain_text("Unterschrift fehlt")
    finally:
        other.close()


def test_moving_a_step_keeps_the_keyboard_on_the_same_button(live_server, page):
    log_in(page, live_server.url, "hf4@demo.dortmund.example")
    page.goto(live_server.url + field_path(4))
    first = page.locator("#schritte .record").first.locator(".record__title").inner_text()
    page.locator("#schritte .record").first.get_by_role("button", name=re.compile("^Nach unten")).click()
    expect(page.locator(".flash--success")).to_have_text("Die Reihenfolge wurde geändert.")
    expect(page.locator("#schritte .record").nth(1).locator(".record__title")).to_have_text(first)
    focused = page.locator("#schritte .record").nth(1).get_by_role("button", name=re.compile("^Nach unten"))
    if focused.is_disabled():  # it became the last one: the entry itself holds the focus
        expect(page.locator("#schritte .record").nth(1)).to_be_focused()
    else:
        expect(focused).to_be_focused()

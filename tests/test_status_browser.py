"""Status pages in a real Chromium: the public, a partner, a visitor who must not see; axe-core WCAG checks."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from strategy.demo import DEMO_SLUG
from strategy.demo_partners import PARTNER_SLUG
from tests.support.browser import assert_accessible, log_in

pytestmark = pytest.mark.browser

def assert_fits_the_screen(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} scrolls sideways ({width}px)"


def test_anonymous_visitor_reads_the_public_status_page_and_a_field(live_server, page):
    page.goto(live_server.url + "/")
    page.locator(".card", has_text="Gesamtstrategie Neuzuwanderung").get_by_role(
        "link", name="Stand der Umsetzung").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gesamtstrategie Neuzuwanderung")
    fields = page.get_by_role("table", name="Handlungsfelder mit Phase und Stand")
    expect(fields.locator("tbody tr")).to_have_count(13)
    row4 = fields.get_by_role("row", name=re.compile("Konsens für Partizipation"))
    expect(row4).to_contain_text("Lösungen in Arbeit")
    expect(page.get_by_role("img", name=re.compile("Teilnehmende im Modellvorhaben"))).to_be_visible()
    assert_accessible(page)

    row4.get_by_role("link", name="Konsens für Partizipation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Konsens für Partizipation")
    vision = page.locator("section.cell", has=page.get_by_role("heading", name=re.compile("^Vision")))
    expect(vision).to_contain_text("Dortmund lebt Diversität.")
    assert_accessible(page)

    page.get_by_role("navigation", name="Brotkrumen-Navigation").get_by_role(
        "link", name="Gesamtstrategie Neuzuwanderung").click()
    page.get_by_role("link", name="Was hat sich geändert?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Was hat sich geändert?")
    page.get_by_label("Zeitraum").select_option("52")
    page.get_by_role("button", name="Anzeigen").click()
    expect(page).to_have_url(re.compile(r"wochen=52"))
    expect(page.locator(".change-list > li")).to_have_count(13)  # the demo was approved when it was loaded
    assert_accessible(page)


def test_anonymous_visitor_switches_the_status_page_to_english(live_server, page):
    page.goto(f"{live_server.url}/strategien/{DEMO_SLUG}/status")
    page.get_by_role("button", name="EN", exact=True).click()  # not "Such-en" of the search box
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(f"{live_server.url}/strategien/{DEMO_SLUG}/status")
    page.get_by_role("button", name="DE", exact=True).click()
    expect(page.get_by_role("heading", name="Handlungsfelder")).to_be_visible()


def test_partner_reads_the_partners_only_strategy_on_a_phone(live_server, browser):
    context = browser.new_context(locale="de-DE", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        log_in(page, live_server.url, "partner@demo.dortmund.example")
        page.goto(live_server.url + "/")
        # The start page lists the partner's strategies' status pages.
        page.get_by_role("link", name="Arbeitsmarktintegration Neuzugewanderter: Stand der Umsetzung").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Arbeitsmarktintegration Neuzugewanderter")
        overdue = page.locator("section", has=page.get_by_role("heading", name=re.compile("Überfällige Schritte")))
        expect(overdue).to_contain_text("Bedarfsabfrage bei den Kursträgern auswerten")
        funding = page.locator("section", has=page.get_by_role("heading", name=re.compile("^Finanzierung")))
        expect(funding).to_contain_text("Berufssprachkurse plus")
        expect(funding).to_contain_text("Verstetigung offen")
        expect(page.get_by_role("img", name=re.compile("Teilnehmende in Berufssprachkursen"))).to_be_visible()
        # Field 3 was never approved: partners read a placeholder with its number, never its draft title.
        expect(page.get_by_text("Handlungsfeld 3 – in Erarbeitung")).to_be_visible()
        expect(page.get_by_text("Übergang Schule – Beruf")).to_have_count(0)
        expect(page.get_by_text("noch nicht freigegeben")).to_be_visible()
        assert_fits_the_screen(page)
        assert_accessible(page)

        page.get_by_role("link", name="Sprache und Qualifizierung").first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Sprache und Qualifizierung")
        expect(page.get_by_role("img", name=re.compile("Teilnehmende in Berufssprachkursen")).first).to_be_visible()
        assert_fits_the_screen(page)
        assert_accessible(page)
    finally:
        context.close()


def test_partner_creates_and_revokes_an_api_token(live_server, page):
    log_in(page, live_server.url, "partner@demo.dortmund.example")
    page.goto(live_server.url + "/konto/api-zugang")
    page.get_by_role("button", name="Schlüssel erstellen").click()
    expect(page.get_by_text("Bitte geben Sie eine Bezeichnung ein")).to_be_visible()
    expect(page.get_by_label("Bezeichnung")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Bezeichnung").fill("Auswertung Agentur")
    page.get_by_role("button", name="Schlüssel erstellen").click()
    token = page.locator(".token-value").inner_text()
    assert token.startswith("gst_")
    assert_accessible(page)

    answer = page.request.get(f"{live_server.url}/api/v1/strategies", headers={"Authorization": f"Bearer {token}"})
    assert {s["slug"] for s in answer.json()["items"]} == {DEMO_SLUG, PARTNER_SLUG}
    page.get_by_role("button", name=re.compile("^Widerrufen.*Auswertung Agentur")).click()
    expect(page.get_by_text("ist widerrufen")).to_be_visible()
    again = page.request.get(f"{live_server.url}/api/v1/strategies", headers={"Authorization": f"Bearer {token}"})
    assert again.status == 401


def test_visitor_without_a_role_does_not_learn_that_a_partners_strategy_exists(live_server, page):
    page.goto(live_server.url + "/")
    expect(page.get_by_role("link", name=re.compile("Gesamtstrategie Neuzuwanderung")).first).to_be_visible()
    expect(page.get_by_text("Arbeitsmarktintegration Neuzugewanderter")).to_have_count(0)
    for path in ("/status", "/status/handlungsfelder/1", "/status/aenderungen", "/"):
        response = page.goto(f"{live_server.url}/strategien/{PARTNER_SLUG}{path}")
        assert response.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Seite nicht gefunden")
        expect(page.get_by_text("Arbeitsmarktintegration")).to_have_count(0)
    assert_accessible(page)


def test_coordinator_of_another_strategy_gets_404_for_it(live_server, page):
    log_in(page, live_server.url, "hf4@demo.dortmund.example")  # a coordinator in Dortmund only
    response = page.goto(f"{live_server.url}/strategien/{PARTNER_SLUG}/status")
    assert response.status == 404


@pytest.mark.parametrize("path", ["/", f"/strategien/{DEMO_SLUG}/", f"/strategien/{DEMO_SLUG}/handlungsfelder/4",
                                  f"/strategien/{DEMO_SLUG}/handlungsfelder/11"])
def test_overview_and_field_pages_have_no_wcag_violations(live_server, page, path):
    page.goto(live_server.url + path)
    assert_accessible(page)


def test_steering_sees_overview_and_field_pages_without_wcag_violations(live_server, page):
    log_in(page, live_server.url, "lenkung@demo.dortmund.example")
    for path in (f"/strategien/{DEMO_SLUG}/", f"/strategien/{DEMO_SLUG}/handlungsfelder/4",
                 f"/strategien/{PARTNER_SLUG}/status"):
        page.goto(live_server.url + path)
        assert_accessible(page)


def test_status_page_prints_without_navigation(live_server, page):
    page.goto(f"{live_server.url}/strategien/{DEMO_SLUG}/status")
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".status-nav")).to_be_hidden()
    expect(page.get_by_role("heading", name="Handlungsfelder")).to_be_visible()

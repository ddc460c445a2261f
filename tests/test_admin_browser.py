"""Admin journeys in a real Chromium (demo data, CSRF on)."""
import re

import pytest
from playwright.sync_api import expect

from strategy.demo import DEMO_PASSWORD
from tests.support.browser import assert_accessible, log_in

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Sonnenblumen-am-Phoenix-See"


def _log_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(base_url + "/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort", exact=True).fill(password)
    page.get_by_role("button", name="Anmelden").click()


def test_admin_creates_a_coordinator_of_field_5_whose_link_sets_a_password_once(live_server, page, browser):
    base = live_server.url
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    _log_in(page, base, "admin@demo.dortmund.example", DEMO_PASSWORD)

    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Verwaltung").click()
    page.get_by_role("navigation", name="Verwaltungsbereiche").get_by_role("link", name="Benutzerkonten").click()
    page.get_by_role("link", name="Neues Konto").click()
    page.get_by_label("E-Mail-Adresse").fill("hf5@demo.dortmund.example")
    page.get_by_label("Name").fill("Koordination Ressourcen")
    page.get_by_role("button", name="Konto anlegen").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Konto angelegt")
    link_field = page.get_by_role("textbox", name=re.compile("Einmaliger Link zum Passwort-Setzen"))
    page.get_by_role("button", name="Link kopieren").click()
    expect(page.get_by_role("status").filter(has_text="Zwischenablage")).to_be_visible()
    link = page.evaluate("navigator.clipboard.readText()")
    assert link == link_field.input_value()
    assert link.startswith(base + "/passwort-setzen?token=")

    page.get_by_role("link", name="Weiter zu Rollen und Handlungsfeldern").click()
    strategy = page.get_by_role("group", name="Gesamtstrategie Neuzuwanderung")
    strategy.get_by_label("Rolle").select_option(label="Handlungsfeld-Koordination")
    strategy.get_by_label("5. Ressourcen gezielt einsetzen").check()
    page.get_by_role("button", name="Rollen und Handlungsfelder speichern").click()
    expect(page.get_by_text("Rollen und Handlungsfelder sind gespeichert.")).to_be_visible()
    expect(page.get_by_role("group", name="Gesamtstrategie Neuzuwanderung")
           .get_by_label("5. Ressourcen gezielt einsetzen")).to_be_checked()

    # The new coordinator, in a browser of their own.
    newcomer = browser.new_context(locale="de-DE")
    try:
        other = newcomer.new_page()
        other.goto(link)
        expect(other.get_by_role("heading", level=1)).to_have_text("Passwort festlegen")
        other.get_by_label("Neues Passwort", exact=True).fill(NEW_PASSWORD)
        other.get_by_label("Neues Passwort wiederholen").fill(NEW_PASSWORD)
        other.get_by_role("button", name="Passwort speichern").click()
        expect(other.get_by_text("Ihr Passwort ist gespeichert.")).to_be_visible()

        _log_in(other, base, "hf5@demo.dortmund.example", NEW_PASSWORD)
        expect(other.get_by_role("button", name="Abmelden")).to_be_visible()
        other.goto(base + "/strategien/dortmund-neuzuwanderung/handlungsfelder/5")
        expect(other.get_by_role("link", name="Bearbeiten", exact=True)).to_be_visible()
        other.goto(base + "/strategien/dortmund-neuzuwanderung/handlungsfelder/4")
        expect(other.get_by_role("link", name="Bearbeiten", exact=True)).to_have_count(0)

        # The link does not work a second time.
        other.goto(link)
        expect(other.get_by_role("heading", level=1)).to_have_text("Link nicht mehr gültig")
        expect(other.get_by_role("alert")).to_contain_text("bereits benutzt")
    finally:
        newcomer.close()

    # The admin sees it all in the audit log.
    page.goto(base + "/verwaltung/protokoll")
    log = page.get_by_role("table")
    expect(log).to_contain_text("Konto angelegt")
    expect(log).to_contain_text("Rollen/Handlungsfelder geändert")
    expect(log).to_contain_text("Passwort über Link gesetzt")


def test_admin_moves_a_field_and_a_typo_in_the_form_keeps_what_was_typed(live_server, page):
    base = live_server.url
    _log_in(page, base, "admin@demo.dortmund.example", DEMO_PASSWORD)
    page.goto(base + "/verwaltung/strategien")
    page.get_by_role("link", name=re.compile(r"^Handlungsfelder\s*: Gesamtstrategie Neuzuwanderung")).click()
    rows = page.locator("table.admin-fields tbody tr")
    expect(rows.nth(4)).to_contain_text("Ressourcen gezielt einsetzen")
    page.get_by_role("button", name=re.compile(r"^nach oben\s+Handlungsfeld 5$")).click()
    expect(page.get_by_text("Die Reihenfolge ist gespeichert: 4 → 5, 5 → 4.")).to_be_visible()
    expect(rows.nth(3)).to_contain_text("Ressourcen gezielt einsetzen")

    page.get_by_role("link", name=re.compile(r"^Titel\/Ziel bearbeiten\s*: Handlungsfeld 4$")).click()
    page.get_by_label("Titel des Handlungsfelds").fill("")
    page.get_by_label("Ziel (Leitziel)").fill("Ein neues Leitziel, das nicht verloren gehen darf.")
    page.get_by_role("button", name="Speichern").click()
    title = page.get_by_label("Titel des Handlungsfelds")
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#title-error")).to_have_text("Bitte geben Sie einen Titel ein.")
    expect(page.get_by_label("Ziel (Leitziel)")).to_have_value("Ein neues Leitziel, das nicht verloren gehen darf.")


def _links(page, pattern: str) -> list[str]:
    hrefs = page.eval_on_selector_all("main a[href]", "links => links.map(a => a.getAttribute('href'))")
    return sorted({href for href in hrefs if re.fullmatch(pattern, href)})


def test_admin_pages_pass_axe_also_when_a_form_comes_back_with_errors(live_server, page):
    """axe over every admin page (WCAG 2.1 A/AA), and over the forms in their invalid state (#12.10)."""
    base = live_server.url
    log_in(page, base, "admin@demo.dortmund.example")
    pages = ["/verwaltung/", "/verwaltung/strategien", "/verwaltung/strategien/neu", "/verwaltung/organisationen",
             "/verwaltung/organisationen/neu", "/verwaltung/personen", "/verwaltung/personen/neu",
             "/verwaltung/konten", "/verwaltung/konten/neu", "/verwaltung/einstellungen", "/verwaltung/protokoll"]
    page.goto(base + "/verwaltung/strategien")
    strategy = _links(page, r"/verwaltung/strategien/\d+/handlungsfelder")[0]
    pages += [strategy, strategy + "/neu", _links(page, r"/verwaltung/strategien/\d+/bearbeiten")[0]]
    page.goto(base + strategy)
    pages.append(_links(page, r"/verwaltung/handlungsfelder/\d+/bearbeiten")[0])
    page.goto(base + "/verwaltung/personen")
    pages.append(_links(page, r"/verwaltung/personen/\d+/bearbeiten")[0])
    page.goto(base + "/verwaltung/konten")
    accounts = _links(page, r"/verwaltung/konten/\d+")
    pages += accounts[:2]
    for url in pages:
        response = page.goto(base + url)
        assert response.status == 200, url
        assert_accessible(page)

    # Invalid: a new account without address or name, ...
    page.goto(base + "/verwaltung/konten/neu")
    page.get_by_role("button", name="Konto anlegen").click()
    expect(page.locator("#email-error")).to_be_visible()
    assert_accessible(page)
    # ... fields ticked for someone whose role does not coordinate (the checkbox group is invalid) ...
    page.goto(base + accounts[0])
    group = page.locator("fieldset.access-strategy", has=page.locator("input[type=checkbox]")).first
    group.get_by_label("Rolle").select_option(label="Partner")
    group.locator(".checkbox-group input[type=checkbox]").first.check()
    page.get_by_role("button", name="Rollen und Handlungsfelder speichern").click()
    invalid = page.locator(".checkbox-group.form-row--error")
    expect(invalid).to_have_count(1)
    expect(invalid.locator("input[aria-invalid=true]").first).to_be_attached()
    assert page.locator("[aria-invalid=None], [aria-describedby=None]").count() == 0
    assert_accessible(page)
    # ... and a strategy whose short name is not an address.
    page.goto(base + "/verwaltung/strategien/neu")
    page.get_by_label("Kurzname für die Adresse").fill("Groß Buchstaben")
    page.get_by_role("button", name="Strategie anlegen").click()
    expect(page.locator("#slug-error")).to_be_visible()
    assert_accessible(page)

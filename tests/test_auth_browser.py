"""Login, logout and set-password links in a real Chromium (CSRF on)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from strategy.auth.links import create_set_password_link
from strategy.demo import DEMO_PASSWORD
from strategy.extensions import db
from strategy.models import User

pytestmark = pytest.mark.browser

NEW_PASSWORD = "sieben-brücken-über-die-emscher"


def log_in(page, base_url, email, password):
    page.goto(base_url + "/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort", exact=True).fill(password)
    page.get_by_role("button", name="Anmelden").click()


def test_a_coordinator_logs_in_sees_their_name_and_logs_out(live_server, page):
    log_in(page, live_server.url, "hf4@demo.dortmund.example", DEMO_PASSWORD)
    expect(page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Güntürk")).to_be_visible()

    page.get_by_role("button", name="Abmelden").click()
    expect(page.get_by_text("Sie sind abgemeldet")).to_be_visible()
    expect(page.get_by_role("link", name="Anmelden")).to_be_visible()
    page.goto(live_server.url + "/konto")
    expect(page).to_have_url(live_server.url + "/anmelden?next=%2Fkonto")


def test_a_wrong_password_shows_the_error_next_to_the_field_and_keeps_the_email(live_server, page):
    log_in(page, live_server.url, "hf4@demo.dortmund.example", "leider-ganz-falsch")
    password = page.get_by_label("Passwort", exact=True)
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#password-error")).to_have_text("E-Mail-Adresse oder Passwort ist falsch.")
    expect(page.get_by_label("E-Mail-Adresse")).to_have_value("hf4@demo.dortmund.example")


def test_a_set_password_link_works_once_in_the_browser(live_server, page):
    with live_server.app.app_context():
        user = db.session.scalar(db.select(User).filter_by(email="partner@demo.dortmund.example"))
        with live_server.app.test_request_context(base_url=live_server.url):
            link = create_set_password_link(user, created_by=None)
        db.session.commit()
        db.session.remove()

    page.goto(link)
    expect(page.get_by_role("heading", name="Passwort festlegen")).to_be_visible()
    page.get_by_label("Neues Passwort", exact=True).fill("zu-kurz")
    page.get_by_label("Neues Passwort wiederholen").fill("zu-kurz")
    page.get_by_role("button", name="Passwort speichern").click()
    expect(page.locator("#new_password-error")).to_contain_text("mindestens 12 Zeichen")

    page.get_by_label("Neues Passwort", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Neues Passwort wiederholen").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Passwort speichern").click()
    expect(page.get_by_text("Ihr Passwort ist gespeichert.")).to_be_visible()

    log_in(page, live_server.url, "partner@demo.dortmund.example", NEW_PASSWORD)
    expect(page.get_by_role("link", name="Agentur für Arbeit (Demo)")).to_be_visible()

    page.goto(link)
    expect(page.get_by_role("heading", name="Link nicht mehr gültig")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("bereits benutzt")


def test_the_account_page_changes_the_password_and_lists_this_device(live_server, page):
    log_in(page, live_server.url, "lenkung@demo.dortmund.example", DEMO_PASSWORD)
    page.get_by_role("link", name="Koordinierungsgruppe (Demo)").click()
    expect(page.get_by_role("heading", name="Mein Konto")).to_be_visible()
    expect(page.get_by_text("dieses Gerät")).to_be_visible()

    page.get_by_label("Aktuelles Passwort").fill(DEMO_PASSWORD)
    page.get_by_label("Neues Passwort", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Neues Passwort wiederholen").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Passwort ändern").click()
    expect(page.get_by_text("Ihr Passwort wurde geändert.")).to_be_visible()
    expect(page.get_by_role("heading", name="Mein Konto")).to_be_visible()


def test_a_steering_member_sets_up_two_factor_login_and_then_logs_in_with_a_code(live_server, page):
    import pyotp

    from tests.support.clock import Clock

    clock = Clock()
    live_server.app.config["CLOCK"] = clock  # codes depend on time; the test moves it, never sleeps
    log_in(page, live_server.url, "lenkung@demo.dortmund.example", DEMO_PASSWORD)
    page.goto(live_server.url + "/konto")
    page.get_by_role("link", name="Einrichten").click()
    expect(page.locator(".totp-qr svg")).to_be_visible()
    page.get_by_text("Schlüssel von Hand eingeben").click()
    secret = page.locator(".totp-secret").inner_text()
    page.get_by_label("Sechsstelliger Code").fill(pyotp.TOTP(secret).at(clock.now))
    page.get_by_role("button", name="Einrichten").click()
    expect(page.get_by_text("Die Anmeldung in zwei Schritten ist eingerichtet.")).to_be_visible()
    expect(page.get_by_text("eingeschaltet")).to_be_visible()

    page.get_by_role("button", name="Abmelden", exact=True).click()
    clock.advance(seconds=30)
    log_in(page, live_server.url, "lenkung@demo.dortmund.example", DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="Anmeldung bestätigen")).to_be_visible()
    page.get_by_label("Sechsstelliger Code").fill("000000")
    page.get_by_role("button", name="Bestätigen").click()
    expect(page.locator("#code-error")).to_contain_text("Der Code stimmt nicht")
    page.get_by_label("Sechsstelliger Code").fill(pyotp.TOTP(secret).at(clock.now))
    page.get_by_role("button", name="Bestätigen").click()
    expect(page.get_by_role("link", name="Koordinierungsgruppe (Demo)")).to_be_visible()

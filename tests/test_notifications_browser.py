"""Notifications and mail in a real Chromium, against the demo data and a real SMTP server: a coordinator submits,
steering sees the unread count and opens the notification, returns the field; the coordinator gets the
notification and the mail; a forgotten password is set again through the mailed link."""
from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from strategy.demo import DEMO_PASSWORD
from strategy.extensions import db
from tests.conftest import LiveServer, fresh_database, make_test_app
from tests.support.browser import assert_accessible, log_in

pytestmark = pytest.mark.browser

FIELD4 = "/strategien/dortmund-neuzuwanderung/handlungsfelder/4"
SCREENSHOTS = os.environ.get("NOTIFICATION_SCREENSHOTS")  # a folder to keep screenshots in, for looking at them


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        os.makedirs(SCREENSHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


@pytest.fixture
def server(tmp_path, monkeypatch, request, smtp):
    """The demo on SQLite with CSRF on, mailing to the test's SMTP server; BASE_URL is the server's address."""
    with fresh_database("sqlite", request, tmp_path) as url:
        monkeypatch.setenv("STRATEGY_INSTANCE_PATH", str(tmp_path / "instance"))
        app = make_test_app(url, WTF_CSRF_ENABLED=True, **smtp.config)
        with app.app_context():
            from strategy.demo import load_demo

            load_demo()
            db.session.remove()
        live = LiveServer(app)
        app.config["BASE_URL"] = live.url + "/"
        live.start()
        try:
            yield live
        finally:
            live.stop()
            with app.app_context():
                db.engine.dispose()


def logout(page) -> None:
    page.get_by_role("button", name="Abmelden").click()


def test_submit_notify_open_return_and_the_coordinator_gets_notification_and_mail(server, page, smtp):
    log_in(page, server.url, "hf4@demo.dortmund.example")
    page.goto(server.url + FIELD4)
    page.get_by_role("link", name="Bearbeiten").click()
    page.get_by_label("Vision: Wo wollen wir in 10 Jahren stehen?").fill("Dortmund lebt Diversität. Alle reden mit.")
    page.get_by_role("button", name="Speichern").click()
    expect(page.locator(".flash--success")).to_be_visible()
    page.goto(server.url + FIELD4)
    page.get_by_role("button", name="Zur Prüfung einreichen").click()
    expect(page.locator("#pruefung .badge--review-submitted")).to_be_visible()
    # Nobody is notified of their own action: no count for the coordinator.
    expect(page.get_by_role("link", name="Benachrichtigungen", exact=True)).to_be_visible()
    logout(page)

    log_in(page, server.url, "lenkung@demo.dortmund.example")
    bell = page.get_by_role("link", name="Benachrichtigungen (1 ungelesen)")
    expect(bell).to_be_visible()
    shot(page, "01-header-unread")
    bell.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Benachrichtigungen")
    item = page.get_by_role("link", name=re.compile("Güntürk hat HF 4 .* zur Prüfung eingereicht"))
    expect(item).to_be_visible()
    assert_accessible(page)
    shot(page, "02-notifications-page")
    item.click()
    expect(page).to_have_url(re.compile(re.escape(FIELD4) + "#pruefung$"))
    expect(page.get_by_role("link", name="Benachrichtigungen", exact=True)).to_be_visible()  # read now
    page.get_by_text("Zurückgeben mit Kommentar …").click()
    page.get_by_label("Was soll geändert werden?").fill("Bitte die Vision konkreter fassen.")
    page.get_by_role("button", name="Zurückgeben").click()
    expect(page.locator("#pruefung .badge--review-returned")).to_be_visible()
    logout(page)

    [mail] = [m for m in smtp.wait_for(2) if m.subject.endswith("zur Überarbeitung zurückgegeben.")]
    assert mail.envelope_to == ["hf4@demo.dortmund.example"]
    assert "„Bitte die Vision konkreter fassen.“" in mail.text
    link = re.search(re.escape(server.url) + r"/benachrichtigungen/\d+", mail.text).group(0)

    # The coordinator follows the mail's link: asked to log in, then taken to the field, the notification read.
    page.goto(link)
    page.get_by_label("E-Mail-Adresse").fill("hf4@demo.dortmund.example")
    page.get_by_label("Passwort", exact=True).fill(DEMO_PASSWORD)
    page.locator("main").get_by_role("button", name="Anmelden").click()
    expect(page).to_have_url(re.compile(re.escape(FIELD4) + "#pruefung$"))
    page.goto(server.url + "/benachrichtigungen/")
    expect(page.locator(".notification").first).to_contain_text("Bitte die Vision konkreter fassen.")
    expect(page.locator(".notification--unread")).to_have_count(0)
    page.get_by_role("link", name=re.compile("Einstellungen")).click()
    assert_accessible(page)
    shot(page, "03-preferences")


def test_a_forgotten_password_is_set_again_through_the_mailed_link(server, page, smtp):
    page.goto(server.url + "/anmelden")
    page.get_by_role("link", name="Passwort vergessen?").click()
    assert_accessible(page)
    page.get_by_label("E-Mail-Adresse Ihres Kontos").fill("hf4@demo.dortmund.example")
    page.get_by_role("button", name="Link zuschicken").click()
    expect(page.get_by_role("status")).to_contain_text("Wenn es zu hf4@demo.dortmund.example ein Konto gibt")
    shot(page, "04-forgot-password-sent")
    [mail] = smtp.wait_for(1)
    link = re.search(re.escape(server.url) + r"/passwort-setzen\?token=[\w-]+", mail.text).group(0)
    page.goto(link)
    page.get_by_label("Neues Passwort", exact=True).fill("ein-ganz-neues-passwort")
    page.get_by_label("Neues Passwort wiederholen").fill("ein-ganz-neues-passwort")
    page.get_by_role("button", name="Passwort speichern").click()
    expect(page.get_by_text("Ihr Passwort ist gespeichert.")).to_be_visible()
    log_in(page, server.url, "hf4@demo.dortmund.example", "ein-ganz-neues-passwort")

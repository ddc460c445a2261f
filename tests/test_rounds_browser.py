"""A reporting round in a real Chromium: steering opens it, a coordinator finds the task on the start page,
updates the row and submits it, steering sees the board change and approves.

The coordinator's way from the login page to a saved update of their own row is counted: every click that
sends a form or follows a link is one interaction (typing into a field is not)."""
from __future__ import annotations

import os
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from strategy.days import local_today
from strategy.demo import DEMO_PASSWORD
from tests.support.browser import assert_accessible, log_in

pytestmark = pytest.mark.browser

SLUG = "dortmund-neuzuwanderung"
SCREENSHOTS = os.environ.get("ROUNDS_SCREENSHOTS")  # a folder to keep screenshots in, for looking at them
VISION = "Vision: Wo wollen wir in 10 Jahren stehen?"


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        os.makedirs(SCREENSHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def logout(page) -> None:
    page.get_by_role("button", name="Abmelden").click()


class Interactions:
    """Counts the clicks of a journey that send a form or follow a link."""

    def __init__(self):
        self.count = 0

    def click(self, locator) -> None:
        self.count += 1
        locator.click()


def board_row(page, number: int):
    return page.locator("table.round-board tbody tr", has=page.locator(f'th a[href$="/handlungsfelder/{number}"]'))


def test_a_round_from_opening_to_approval(live_server, page):
    server = live_server
    with server.app.app_context():
        meeting = local_today() + timedelta(days=60)

    # Steering opens a round from the date of the next meeting.
    log_in(page, server.url, "lenkung@demo.dortmund.example")
    expect(page.get_by_role("heading", level=1)).to_have_text("Meine Aufgaben")
    page.goto(f"{server.url}/strategien/{SLUG}/")
    page.get_by_role("link", name="Berichtsrunden").click()
    page.get_by_role("link", name="Neue Berichtsrunde eröffnen").click()
    page.get_by_label("Titel der Runde").fill("Koordinierungsgruppe Februar")
    page.get_by_label("Datum der Sitzung").fill(meeting.isoformat())
    page.get_by_role("button", name="Berichtsrunde eröffnen").click()
    expect(page.locator(".flash--success")).to_contain_text("ist eröffnet")
    expect(board_row(page, 4).locator(".badge--task-open")).to_have_text("offen")
    round_url = page.url
    assert_accessible(page)
    shot(page, "01-board-opened")
    logout(page)

    # The coordinator of field 4: login page → start page → edit form → saved.
    steps = Interactions()
    page.goto(server.url + "/anmelden")
    page.get_by_label("E-Mail-Adresse").fill("hf4@demo.dortmund.example")
    page.get_by_label("Passwort", exact=True).fill(DEMO_PASSWORD)
    steps.click(page.locator("main").get_by_role("button", name="Anmelden"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Meine Aufgaben")
    card = page.locator(".task-card", has=page.get_by_role("heading", name="4. "))
    expect(card).to_contain_text("Berichtsrunde „Koordinierungsgruppe Februar“")
    expect(card.locator(".badge--task-open")).to_have_text("offen")
    assert_accessible(page)
    shot(page, "02-start-page-coordinator")
    steps.click(card.get_by_role("link", name="Zeile bearbeiten"))
    page.get_by_label(VISION).fill("Dortmund lebt Diversität – gemeinsam mit allen Quartieren.")
    steps.click(page.get_by_role("button", name="Speichern"))
    expect(page.locator(".flash--success")).to_contain_text("gespeichert")
    assert steps.count <= 4, steps.count  # the bound
    assert steps.count == 3
    steps.click(page.get_by_role("button", name="Zur Prüfung einreichen"))
    expect(page.locator("#pruefung .badge--review-submitted")).to_be_visible()
    logout(page)

    # Steering sees the board change and approves from the start page's review list.
    log_in(page, server.url, "lenkung@demo.dortmund.example")
    page.goto(round_url)
    expect(board_row(page, 4).locator(".badge--task-submitted")).to_have_text("eingereicht")
    page.get_by_label("Status").select_option("submitted")
    page.get_by_role("button", name="Filtern").click()
    expect(page.locator("table.round-board tbody tr")).to_have_count(1)
    shot(page, "03-board-submitted-filtered")
    page.goto(server.url + "/")
    assert_accessible(page)
    shot(page, "04-start-page-steering")
    page.locator("#review-heading + .task-list").get_by_role("link", name="4. ").click()
    page.get_by_role("button", name="Freigeben").click()
    expect(page.locator("#pruefung .badge--review-approved")).to_be_visible()
    page.goto(round_url)
    expect(board_row(page, 4).locator(".badge--task-approved")).to_have_text("freigegeben")
    shot(page, "05-board-approved")

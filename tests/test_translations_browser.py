"""The English UI in a real Chromium: each demo role switches to EN and no German UI text is left on its pages.

German UI text is any catalogue message (or the text between its placeholders) of at least three words and 20
characters, so that it cannot be a piece of the German demo content by chance, whose English translation differs. A hit means a string was rendered without going
through the catalogue: built outside _(), evaluated at import time, or a label kept in the database.
"""
from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import expect

from strategy.demo import DEMO_PASSWORD
from tests.test_translations import PO_PATH, _ids, _strings

pytestmark = pytest.mark.browser

S = "/strategien/dortmund-neuzuwanderung"
PAGES = {
    "steering": ["/", S + "/", S + "/handlungsfelder/4", S + "/handlungsfelder/4/verlauf", S + "/fassungen/",
                 S + "/fassungen/neu", S + "/vergleich", S + "/status", S + "/status/aenderungen",
                 S + "/offene-schritte", S + "/finanzierung", "/konto"],
    "coordinator": [S + "/handlungsfelder/4", S + "/handlungsfelder/4/bearbeiten", S + "/handlungsfelder/4/verlauf",
                    "/konto", "/konto/zwei-faktor", "/konto/api-zugang"],
    "partner": [S + "/status", S + "/status/handlungsfelder/4", S + "/handlungsfelder/4"],
    "admin": ["/verwaltung/", "/verwaltung/strategien", "/verwaltung/organisationen", "/verwaltung/personen",
              "/verwaltung/konten", "/verwaltung/protokoll", "/verwaltung/einstellungen", "/verwaltung/konten/neu"],
    "anonymous": ["/anmelden", "/passwort-vergessen", S + "/status", "/gibt-es-nicht"],
}
EMAILS = {"steering": "lenkung", "coordinator": "hf4", "partner": "partner", "admin": "admin"}


def _german_ui_texts() -> list[str]:
    with PO_PATH.open("rb") as handle:
        catalog = read_po(handle)
    texts = set()
    for message in catalog:
        if not message.id:
            continue
        for german, english in zip(_ids(message), _strings(message), strict=False):
            for piece in re.split(r"%\(\w+\)[sd]", german):
                piece = piece.strip(" .,:;")
                if len(piece) >= 20 and piece.count(" ") >= 2 and piece not in english:
                    texts.add(piece)
    return sorted(texts)


GERMAN = _german_ui_texts()


@pytest.mark.parametrize("role", list(PAGES))
def test_english_pages_show_no_german_ui_text(live_server, page, role):
    base = live_server.url
    page.goto(base + "/sprache/en")
    if role in EMAILS:
        page.goto(base + "/anmelden")
        page.get_by_label("E-mail address").fill(f"{EMAILS[role]}@demo.dortmund.example")
        page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
        page.locator("main").get_by_role("button", name="Log in").click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
    leftovers = {}
    for path in PAGES[role]:
        page.goto(base + path)
        expect(page.locator("html")).to_have_attribute("lang", "en")
        text = page.evaluate("""() => document.body.innerText + '\\n' + Array.from(
            document.querySelectorAll('[aria-label],[title],[placeholder],[alt]')).map(e =>
            ['aria-label', 'title', 'placeholder', 'alt'].map(a => e.getAttribute(a) || '').join('\\n')).join('\\n')""")
        found = [german for german in GERMAN if german in text]
        if found:
            leftovers[path] = found
    assert leftovers == {}

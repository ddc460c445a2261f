"""What a person sees on a phone and on paper: every main page fits 390 px, a printed field page is its content."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from strategy.demo import DEMO_SLUG
from strategy.extensions import db
from strategy.models import (
    Direction,
    Field,
    FundingSource,
    FundingStatus,
    IndicatorUnit,
    Revision,
    StepStatus,
    Strategy,
    User,
)
from strategy.records.services import (
    FinancingData,
    IndicatorData,
    StepData,
    add_indicator_value,
    save_financing,
    save_indicator,
    save_step,
)
from strategy.review.services import add_comment, create_edition
from tests.support.browser import log_in
from tests.support.factories import Factory

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
S = f"/strategien/{DEMO_SLUG}"
FIELD = f"{S}/handlungsfelder/4"

# The main pages of each demo role: what the role reads, keeps and reviews (all answer 200 for it).
READING = ["/", f"{S}/", FIELD, f"{S}/status", f"{S}/status/handlungsfelder/4", f"{S}/status/aenderungen",
           f"{S}/fassungen/", f"{S}/fassungen/{{edition}}/", f"{S}/fassungen/{{edition}}/handlungsfelder/4", f"{S}/vergleich"]
INTERNAL = [f"{FIELD}/verlauf", f"{FIELD}/verlauf/{{revision}}", f"{S}/offene-schritte", f"{S}/finanzierung"]
ACCOUNT = ["/konto", "/konto/api-zugang", "/konto/zwei-faktor"]
ADMIN = ["/verwaltung/", "/verwaltung/strategien", "/verwaltung/strategien/1/bearbeiten",
         "/verwaltung/strategien/1/handlungsfelder", "/verwaltung/handlungsfelder/4/bearbeiten",
         "/verwaltung/organisationen", "/verwaltung/personen", "/verwaltung/konten", "/verwaltung/konten/1",
         "/verwaltung/konten/neu", "/verwaltung/einstellungen", "/verwaltung/protokoll", f"{S}/sichtbarkeit"]
ROLES = {
    "anonymous": (None, ["/", f"{S}/", FIELD, f"{S}/status", f"{S}/status/handlungsfelder/4",
                         f"{S}/status/aenderungen", "/anmelden"]),
    "partner": ("partner@demo.dortmund.example", READING + ACCOUNT),
    "coordinator": ("hf4@demo.dortmund.example", READING + INTERNAL + ACCOUNT + [f"{FIELD}/bearbeiten"]),
    "steering": ("lenkung@demo.dortmund.example", READING + INTERNAL + ACCOUNT),
    "admin": ("admin@demo.dortmund.example", READING + INTERNAL + ACCOUNT + ADMIN + [f"{FIELD}/bearbeiten"]),
}

FITS = "document.documentElement.scrollWidth <= window.innerWidth"
# Names what sticks out, so a failure says where to look.
STICKING_OUT = """() => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > window.innerWidth + 0.5)
  .slice(0, 5).map(el => el.tagName.toLowerCase() + '.' + el.className)"""


@pytest.fixture
def filled_field(live_server):
    """Field 4 with what makes a page wide: step cards with long names, financing, an indicator with values, a
    comment, approved and then changed (so "geändert seit Freigabe" shows), and an edition of it."""
    with live_server.app.app_context():
        strategy = db.session.scalar(db.select(Strategy).filter_by(slug=DEMO_SLUG))
        field = db.session.scalar(db.select(Field).filter_by(strategy_id=strategy.id, number=4))
        admin = db.session.scalar(db.select(User).filter_by(email="admin@demo.dortmund.example"))
        steering = db.session.scalar(db.select(User).filter_by(email="lenkung@demo.dortmund.example"))
        save_step(field, admin, StepData(
            "Qualifizierungsreihe für Migrant*innenselbstorganisationen zur Antragstellung bei "
            "Landesförderprogrammen", person_name="Dr. Aleksandra Wiśniewska-Kowalczyk",
            organisation_name="Integrationsnetzwerk Dortmund-Nordstadt", due_date=date.today() - timedelta(days=20),
            status=StepStatus.IN_PROGRESS, progress_note="Erste Termine sind abgestimmt."))
        save_financing(field, admin, FinancingData(
            FundingSource.ESF_PLUS, programme="Landesprogramm Interkulturelle Öffnung und Partizipationsförderung",
            amount=Decimal("1250000"), start_date=date(2024, 1, 1), end_date=date.today() + timedelta(days=120),
            status=FundingStatus.SECURED, note="Verlängerung beantragt"))
        indicator = save_indicator(field, admin, IndicatorData(
            "Anzahl der in Gremien vertretenen Migrant*innenorganisationen", IndicatorUnit.COUNT,
            Direction.HIGHER_IS_BETTER, baseline=Decimal(12), target=Decimal(30), target_date=date(2028, 12, 31),
            is_key=True))
        for year, value in ((2023, 12), (2024, 15), (2025, 18)):
            add_indicator_value(field, admin, indicator, date(year, 6, 30), Decimal(value), "Integrationsbericht")
        db.session.commit()
        Factory().approve(field)
        edition = create_edition(strategy, steering, "Beschluss der Lenkungsgruppe zur Neuzuwanderungsstrategie",
                                 date.today())
        save_step(field, admin, StepData("Beteiligungswerkstatt mit Vertreter*innen der Integrationsagenturen"))
        add_comment(field, steering, "Bitte die Zuständigkeit für die Beteiligungswerkstatt ergänzen.")
        db.session.commit()
        revision = db.session.scalar(db.select(Revision.id).filter_by(field_id=field.id).order_by(Revision.id.desc()))
        return {"edition": edition.id, "revision": revision}


@pytest.mark.parametrize("role", ROLES)
def test_every_main_page_of_the_role_fits_a_390_px_viewport(live_server, browser, filled_field, role):
    email, paths = ROLES[role]
    context = browser.new_context(locale="de-DE", viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        if email:
            log_in(page, live_server.url, email)
        for path in (path.format(**filled_field) for path in paths):
            response = page.goto(live_server.url + path)
            assert response.status == 200, path
            assert page.url == live_server.url + path, f"{path} was redirected to {page.url}"
            assert page.evaluate(FITS), f"{path} scrolls sideways for {role}: {page.evaluate(STICKING_OUT)}"
    finally:
        context.close()


def test_step_cards_keep_their_actions_inside_the_card_at_390_px(live_server, browser, filled_field):
    context = browser.new_context(locale="de-DE", viewport=PHONE)
    page = context.new_page()
    try:
        log_in(page, live_server.url, "hf4@demo.dortmund.example")
        page.goto(live_server.url + FIELD)
        cards = page.locator("#schritte .record")
        expect(cards).to_have_count(4)
        for index in range(cards.count()):
            card = cards.nth(index).bounding_box()
            actions = cards.nth(index).locator(".record__actions").bounding_box()
            assert actions["x"] + actions["width"] <= card["x"] + card["width"]
            assert card["x"] + card["width"] <= PHONE["width"]
    finally:
        context.close()


# The review controls differ: steering and admins start comments, the field's coordinator answers them.
REVIEW_CONTROLS = {
    "hf4@demo.dortmund.example": ["Antworten", "Kommentar als erledigt markieren", "Zur Prüfung einreichen"],
    "admin@demo.dortmund.example": ["Kommentar schreiben", "Antworten", "Zur Prüfung einreichen"],
}


@pytest.mark.parametrize("email", REVIEW_CONTROLS)
def test_a_printed_field_page_shows_its_content_without_the_controls(live_server, page, filled_field, email):
    log_in(page, live_server.url, email)
    page.goto(live_server.url + FIELD)
    main = page.locator("main")
    controls = [
        main.locator("button", has_text="↑").first, main.locator("button", has_text="↓").first,
        main.locator("button", has_text=re.compile("^Erledigt$")).first,
        main.locator("summary", has_text="Bearbeiten").first,
        main.get_by_role("link", name="Bearbeiten", exact=True),
        main.get_by_role("link", name="Verlauf", exact=True),
        main.locator("summary", has_text="Schritt hinzufügen"),
        main.locator("summary", has_text="Finanzierung hinzufügen"),
        main.locator("summary", has_text="Kennzahl anlegen"),
        main.locator("summary", has_text="Wert erfassen"),
        main.locator("button", has_text=re.compile("^Entfernen$")).first,
        main.get_by_text("Unterschied anzeigen").first,
    ] + [main.locator("summary, button", has_text=label).first for label in REVIEW_CONTROLS[email]]
    for control in controls:  # on screen they are all there
        expect(control).to_be_visible()

    page.emulate_media(media="print")
    for control in controls:
        expect(control).to_be_hidden()
    # The content stays: the goal, the steps with who and until when, financing, indicators, the comment.
    for text in ("Qualifizierungsreihe für Migrant*innenselbstorganisationen", "Wer? Dr. Aleksandra",
                 "Landesprogramm Interkulturelle Öffnung", "Anzahl der in Gremien vertretenen",
                 "Bitte die Zuständigkeit für die Beteiligungswerkstatt ergänzen.", "geändert seit Freigabe"):
        expect(main.get_by_text(text).first).to_be_visible()
    expect(page.locator(".goal__text")).to_be_visible()

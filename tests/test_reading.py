"""What a reader may read (strategy.reading): one rule for pages, PDFs and the API.

The live row for those who may view drafts, the approved snapshot for everyone else, only the blocks
permissions.visible_blocks gives them, and never a draft title for readers of approved content."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from flask_login import AnonymousUserMixin
from pypdf import PdfReader

from strategy.comparison import current_approved_content
from strategy.extensions import db
from strategy.fields.services import load_field_row
from strategy.models import Edition, FinancingItem, FundingSource, NextStep, Role, Visibility
from strategy.reading import readable_row, readable_title
from strategy.review.services import create_edition


@pytest.fixture
def app_config() -> dict:
    # PDFs are rendered for real on a shared, busy machine (as in test_exports).
    return {"PDF_RENDER_TIMEOUT": 900}


# Phase II (next steps and the rest of workshop II) for internal readers, Finanzierung for partners.
BLOCKS = {"workshop_2": "internal", "financing": "partners"}


@pytest.fixture
def strategy(make):
    """One public strategy: field 1 approved with an overdue step and a financing item, then changed in
    draft; field 2 never approved, with a draft title; field 3 approved as it is."""
    strategy = make.strategy(fields=3, visibility=Visibility.PUBLIC)
    first, second = make.field(strategy, 1), make.field(strategy, 2)
    first.vision = "Freigegebene Vision"
    first.gaps = "Interne Lücke"
    first.next_steps.append(NextStep(description="Interner Schritt", due_date=date.today() - timedelta(days=30)))
    first.financing_items.append(FinancingItem(source=FundingSource.ESF_PLUS, programme="Partnerprogramm"))
    db.session.commit()
    make.approve(first, make.field(strategy, 3))
    first.vision = "Entwurfsvision"
    first.title = "Neuer Entwurfstitel"
    second.title = "Geheimer Entwurfstitel"
    strategy.block_visibility = dict(BLOCKS)
    db.session.commit()
    return strategy


def _reader(make, strategy, who: str):
    if who == "anonymous":
        return AnonymousUserMixin()
    if who == "admin":
        return make.user(admin=True)
    role = {"partner": Role.PARTNER, "coordinator": Role.COORDINATOR, "steering": Role.STEERING}[who]
    fields = (make.field(strategy, 1),) if who == "coordinator" else ()
    return make.user(role=role, strategy=strategy, fields=fields)


# --- the rule as a table -------------------------------------------------------------------------

@pytest.mark.parametrize("who, drafts, sees_steps, sees_financing", [
    ("anonymous", False, False, False),
    ("partner", False, False, True),
    ("coordinator", True, True, True),
    ("steering", True, True, True),
    ("admin", True, True, True),
])
def test_a_reader_gets_the_row_and_blocks_their_role_allows(make, strategy, who, drafts, sees_steps,
                                                            sees_financing):
    user = _reader(make, strategy, who)
    row = readable_row(user, load_field_row(make.field(strategy, 1).id))
    assert row["vision"] == ("Entwurfsvision" if drafts else "Freigegebene Vision")
    assert row["title"] == ("Neuer Entwurfstitel" if drafts else "Handlungsfeld 1")
    assert ("next_steps" in row and "gaps" in row) is sees_steps
    assert ("financing_items" in row and "financing_notes" in row) is sees_financing
    assert "working_groups" in row and "indicators" in row  # blocks without a setting: everyone
    hidden = set(row.get("hidden_blocks", []))
    assert ("workshop_2" in hidden) is not sees_steps and ("financing" in hidden) is not sees_financing


@pytest.mark.parametrize("who, title", [
    ("anonymous", "Handlungsfeld 2 – in Erarbeitung"),
    ("partner", "Handlungsfeld 2 – in Erarbeitung"),
    ("steering", "Geheimer Entwurfstitel"),
])
def test_a_field_never_approved_has_no_row_and_no_draft_title_for_readers_of_approved_content(
        make, strategy, who, title):
    user = _reader(make, strategy, who)
    second = load_field_row(make.field(strategy, 2).id)
    assert readable_title(user, second) == title
    assert (readable_row(user, second) is None) is (who != "steering")


# --- #12.1: the field page and the overview use the same filter -----------------------------------

def _page(client, strategy, rest: str = "") -> str:
    response = client.get(f"/strategien/{strategy.slug}/{rest}")
    assert response.status_code == 200, (rest, response.status_code)
    return response.get_data(as_text=True)


def test_anonymous_visitors_get_neither_internal_steps_nor_partner_financing_on_the_field_page(client, strategy):
    html = _page(client, strategy, "handlungsfelder/1")
    assert "Freigegebene Vision" in html
    assert "Interner Schritt" not in html and "Interne Lücke" not in html
    assert "Partnerprogramm" not in html and "Weitere konkrete Schritte" not in html


def test_partners_get_the_financing_but_not_the_internal_steps_on_the_field_page(client, auth, make, strategy):
    auth.login(make.user(role=Role.PARTNER, strategy=strategy))
    html = _page(client, strategy, "handlungsfelder/1")
    assert "Partnerprogramm" in html
    assert "Interner Schritt" not in html and "Interne Lücke" not in html


def test_steering_reads_every_block_of_the_draft_on_the_field_page(client, auth, make, strategy):
    auth.login(make.user(role=Role.STEERING, strategy=strategy))
    html = _page(client, strategy, "handlungsfelder/1")
    assert "Interner Schritt" in html and "Partnerprogramm" in html and "Entwurfsvision" in html


def test_the_overview_shows_anonymous_visitors_no_counts_of_steps_they_may_not_see(client, auth, make, strategy):
    html = _page(client, strategy)
    assert "überfällig" not in html and "1 offen" not in html and "Nächste Schritte" not in html
    auth.login(make.user(role=Role.STEERING, strategy=strategy))
    html = _page(client, strategy)
    assert "1 überfällig" in html and "1 offen" in html


# --- #12.2: edition field pages leave hidden blocks out ------------------------------------------

@pytest.mark.parametrize("who", ["anonymous", "partner"])
def test_an_edition_field_page_with_hidden_steps_is_served_without_them(client, auth, make, strategy, who):
    steering = make.user(role=Role.STEERING, strategy=strategy)
    edition = create_edition(strategy, steering, "Fassung Juni", date(2026, 6, 1))
    db.session.commit()
    if who == "partner":
        auth.login(make.user(role=Role.PARTNER, strategy=strategy))
    html = _page(client, strategy, f"fassungen/{edition.id}/handlungsfelder/1")
    assert "Freigegebene Vision" in html and "Interner Schritt" not in html
    assert ("Partnerprogramm" in html) is (who == "partner")


# --- #12.3: a field never approved shows no draft title ------------------------------------------

def test_pages_name_a_field_never_approved_by_its_placeholder(client, make, strategy):
    steering = make.user(role=Role.STEERING, strategy=strategy)
    edition = create_edition(strategy, steering, "Fassung Juni", date(2026, 6, 1))
    db.session.commit()
    for rest in ("", "handlungsfelder/2", "handlungsfelder/1", "status", "status/handlungsfelder/2",
                 f"fassungen/{edition.id}/"):
        html = _page(client, strategy, rest)
        assert "Geheimer Entwurfstitel" not in html and "Neuer Entwurfstitel" not in html, rest
    for rest in ("", "handlungsfelder/2", "status", "status/handlungsfelder/2", f"fassungen/{edition.id}/"):
        assert "Handlungsfeld 2 – in Erarbeitung" in _page(client, strategy, rest), rest


def test_editions_freeze_no_draft_title_of_a_field_never_approved(make, strategy):
    edition = create_edition(strategy, make.user(admin=True), "Fassung Juni", date(2026, 6, 1))
    assert edition.content["fields_without_approval"] == [{"id": make.field(strategy, 2).id, "number": 2}]


def test_an_older_edition_that_stored_a_draft_title_shows_the_placeholder(client, make, strategy):
    content = current_approved_content(strategy)
    content["fields_without_approval"] = [{"id": make.field(strategy, 2).id, "number": 2,
                                           "title": "Geheimer Entwurfstitel"}]
    edition = Edition(strategy=strategy, title="Alte Fassung", decided_on=date(2026, 3, 3), content=content,
                      created_by_name="Test")
    db.session.add(edition)
    db.session.commit()
    html = _page(client, strategy, f"fassungen/{edition.id}/")
    assert "Geheimer Entwurfstitel" not in html and "Handlungsfeld 2 – in Erarbeitung" in html


def test_the_api_names_a_field_never_approved_by_its_placeholder(client, strategy):
    answer = client.get(f"/api/v1/strategies/{strategy.id}/fields").get_json()
    titles = {item["number"]: item["title"] for item in answer["items"]}
    assert titles == {1: "Handlungsfeld 1", 2: "Handlungsfeld 2 – in Erarbeitung", 3: "Handlungsfeld 3"}
    second = client.get(f"/api/v1/strategies/{strategy.id}/fields/{answer['items'][1]['id']}").get_json()
    assert second["title"] == "Handlungsfeld 2 – in Erarbeitung" and second["row"] is None


def _pdf_text(response) -> str:
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)


def test_pdfs_name_a_field_never_approved_by_its_placeholder(client, make, strategy):
    edition = create_edition(strategy, make.user(admin=True), "Fassung Juni", date(2026, 6, 1))
    db.session.commit()
    base = f"/strategien/{strategy.slug}"
    for address in (f"{base}/handlungsrahmen.pdf", f"{base}/fassungen/{edition.id}/handlungsrahmen.pdf",
                    f"{base}/fassungen/{edition.id}/aenderungen.pdf"):
        text = " ".join(_pdf_text(client.get(address)).split())
        assert "Geheimer Entwurfstitel" not in text and "Neuer Entwurfstitel" not in text, address
        assert "Handlungsfeld 2 – in Erarbeitung" in text, address

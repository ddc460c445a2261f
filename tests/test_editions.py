"""Editions stay exactly as frozen; comparisons report exactly what changed in between."""
from __future__ import annotations

import copy
import re
from datetime import date
from decimal import Decimal

import pytest

from strategy.comparison import compare_editions, current_approved_content
from strategy.extensions import db
from strategy.fields.services import load_field_row
from strategy.models import (
    Edition,
    EditionIsImmutable,
    Field,
    IndicatorValue,
    NextStep,
    Person,
    RevisionKind,
    Role,
    StepStatus,
    User,
)
from strategy.review.services import create_edition
from strategy.revisions import record_change
from strategy.snapshots import field_snapshot
from tests.support.factories import Factory

BASE = "/strategien/dortmund-neuzuwanderung"


def steering() -> User:
    return db.session.scalar(db.select(User).filter_by(email="lenkung@demo.dortmund.example"))


def field(strategy, number: int) -> Field:
    return db.session.scalar(db.select(Field).filter_by(strategy_id=strategy.id, number=number))


def change_and_approve(row: Field, change) -> None:
    """Change a row through record_change and approve the result through the review (Factory.approve)."""
    before = field_snapshot(load_field_row(row.id))
    change(row)
    record_change(row, steering(), RevisionKind.EDIT, before)
    db.session.commit()
    Factory().approve(row, by=steering())


def frozen_part(html: str) -> str:
    """The edition's own content on a page (everything but the site's chrome and the live navigation)."""
    match = re.search(r'<div class="edition-content".*?<!-- /edition-content -->', html, re.S)
    assert match, "edition content not found"
    return match.group(0)


@pytest.fixture
def edition(demo) -> Edition:
    made = create_edition(demo, steering(), "Beschluss Koordinierungsgruppe 03/2026", date(2026, 3, 12))
    db.session.commit()
    return made


def edition_pages(client, edition) -> dict[str, str]:
    urls = [f"{BASE}/fassungen/{edition.id}/"] + [
        f"{BASE}/fassungen/{edition.id}/handlungsfelder/{n}" for n in (1, 4, 9, 11, 13)]
    pages = {}
    for address in urls:
        response = client.get(address)
        assert response.status_code == 200, address
        pages[address] = frozen_part(response.get_data(as_text=True))
    return pages


# --- editions are frozen -------------------------------------------------------------------------

def test_an_edition_renders_byte_for_byte_the_same_after_the_live_data_changed(client, demo, edition):
    before = edition_pages(client, edition)
    assert "Konsens für Partizipation" in before[f"{BASE}/fassungen/{edition.id}/handlungsfelder/4"]
    assert "Güntürk" in before[f"{BASE}/fassungen/{edition.id}/handlungsfelder/4"]

    four, nine, eleven = field(demo, 4), field(demo, 9), field(demo, 11)
    # rename fields and the strategy, delete a person, archive a field, add and close steps
    change_and_approve(four, lambda f: setattr(f, "title", "Ganz neuer Titel"))
    change_and_approve(four, lambda f: setattr(f, "vision", "Eine neue Vision."))
    demo.title = "Umbenannte Strategie"
    person = db.session.scalar(db.select(Person).filter_by(name="Güntürk"))
    for user in db.session.scalars(db.select(User).filter_by(person_id=person.id)):
        user.person = None
    db.session.delete(person)
    db.session.commit()
    change_and_approve(four, lambda f: None)  # re-approve the row without the person
    change_and_approve(eleven, lambda f: f.next_steps.append(NextStep(description="Neuer Schritt", position=99)))
    change_and_approve(four, lambda f: setattr(f.next_steps[0], "status", StepStatus.DONE))
    nine.is_archived = True
    db.session.commit()

    after = edition_pages(client, edition)
    assert after == before
    assert "Güntürk" not in client.get(f"{BASE}/handlungsfelder/4").get_data(as_text=True)


def test_an_edition_holds_approved_content_never_a_draft(client, demo):
    four = field(demo, 4)
    before = field_snapshot(load_field_row(four.id))
    four.vision = "Ein Entwurf, der nicht in die Fassung gehört"
    record_change(four, steering(), RevisionKind.EDIT, before)
    db.session.commit()
    made = create_edition(demo, steering(), "Fassung", date(2026, 3, 1))
    db.session.commit()
    assert made.content["fields"][3]["vision"] == four.approved_content["vision"]
    assert "nicht in die Fassung" not in client.get(f"{BASE}/fassungen/{made.id}/handlungsfelder/4").get_data(
        as_text=True)


def test_an_edition_lists_who_made_it_and_when(client, demo, edition):
    html = client.get(f"{BASE}/fassungen/").get_data(as_text=True)
    assert "Beschluss Koordinierungsgruppe 03/2026" in html
    assert "Koordinierungsgruppe (Demo)" in html
    assert "12.03.2026" in html


def test_an_edition_cannot_be_changed_or_deleted(demo, edition):
    edition.title = "Nachträglich geändert"
    with pytest.raises(EditionIsImmutable):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(Edition, edition.id))
    with pytest.raises(EditionIsImmutable):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(Edition, edition.id).title == "Beschluss Koordinierungsgruppe 03/2026"


@pytest.mark.parametrize("method", ["put", "patch", "delete", "post"])
def test_there_is_no_route_that_edits_or_deletes_an_edition(client, auth, demo, edition, method):
    auth.login("admin@demo.dortmund.example", "Demo-Zugang-2026")
    response = getattr(client, method)(f"{BASE}/fassungen/{edition.id}/", data={"title": "x"})
    assert response.status_code == 405


def test_a_bad_edition_form_says_what_is_wrong_and_keeps_the_input(client, auth, demo):
    auth.login("lenkung@demo.dortmund.example", "Demo-Zugang-2026")
    response = client.post(f"{BASE}/fassungen/neu", data={"title": "Mein Titel", "decided_on": "31.02.2026"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'value="Mein Titel"' in html
    assert 'aria-invalid="true"' in html
    response = client.post(f"{BASE}/fassungen/neu", data={"title": "", "decided_on": "2026-03-01"})
    assert "Bitte geben Sie einen Titel ein." in response.get_data(as_text=True)
    response = client.post(f"{BASE}/fassungen/neu", data={"title": "x" * 201, "decided_on": "2026-03-01"})
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count(Edition.id))) == 0


def test_an_edition_without_any_approved_field_is_refused(client, auth, make):
    strategy = make.strategy(fields=2)
    user = make.user(role=Role.STEERING, strategy=strategy)
    auth.login(user)
    response = client.post(f"/strategien/{strategy.slug}/fassungen/neu",
                           data={"title": "Leer", "decided_on": "2026-03-01"})
    assert response.status_code == 400
    assert "noch kein Handlungsfeld freigegeben" in response.get_data(as_text=True)


def test_unknown_edition_and_field_urls_are_404(client, demo, edition):
    assert client.get(f"{BASE}/fassungen/999999/").status_code == 404
    assert client.get(f"{BASE}/fassungen/{edition.id}/handlungsfelder/14").status_code == 404
    assert client.get(f"{BASE}/fassungen/99999999999/").status_code == 404


# --- comparison on constructed content -----------------------------------------------------------

def row(**overrides) -> dict:
    base = {
        "id": 10, "number": 1, "title": "Sprache", "goal_text": "Alle sprechen Deutsch.", "phase": "workshop_1",
        "working_groups": [{"name": "FG Sprache", "members": [{"label": "A. Muster (VHS)", "role": "lead"}]}],
        "responsible": [{"label": "Stadt", "role": "lead"}],
        "current_state": "Es gibt Kurse.", "central_processes": "", "vision": "Alle lernen gemeinsam.",
        "strategic_goals": "", "future_challenges": "", "what_worked": "", "gaps": "", "financing_notes": "",
        "next_steps": [
            {"id": 1, "field_number": 1, "description": "Kurse ausbauen", "responsible": "VHS", "due_date": None,
             "status": "planned", "progress_note": "", "done_on": None, "also_serves": []},
            {"id": 2, "field_number": 1, "description": "Lotsen schulen", "responsible": "", "due_date": None,
             "status": "in_progress", "progress_note": "", "done_on": None, "also_serves": []},
        ],
        "financing_items": [
            {"id": 7, "source": "esf_plus", "programme": "Sprachbrücke", "amount": "1000", "start_date": None,
             "end_date": None, "status": "applied", "note": "", "has_follow_up": False},
        ],
        "indicators": [
            {"id": 3, "name": "Teilnehmende", "unit": "count", "direction": "higher", "baseline": None,
             "target": None, "target_date": None, "is_key": True,
             "values": [{"observed_on": "2025-12-31", "value": "100", "source_note": "VHS"}]},
        ],
    }
    base.update(overrides)
    return base


def content(*rows) -> dict:
    return {"strategy": {"title": "S", "subtitle": "", "framework_title": ""}, "fields": list(rows)}


def test_comparison_gives_word_diffs_per_column(app):
    before = content(row())
    after = content(row(vision="Alle lernen gemeinsam und voneinander.", phase="workshop_2"))
    result = compare_editions(before, after)
    [changed] = result.changed
    assert [c.key for c in changed.columns] == ["phase", "vision"]
    vision = changed.columns[1]
    assert [(p.op, p.text) for p in vision.pieces] == [
        ("equal", "Alle lernen "), ("delete", "gemeinsam."), ("insert", "gemeinsam und voneinander.")]
    assert changed.columns[0].before == "Workshop-Phase I" and changed.columns[0].after == "Workshop-Phase II"


def test_comparison_reports_working_groups_and_responsible_as_text(app):
    after = row(working_groups=[{"name": "FG Sprache", "members": [{"label": "B. Neu (VHS)", "role": "member"}]}])
    [changed] = compare_editions(content(row()), content(after)).changed
    [groups] = changed.columns
    assert groups.key == "working_groups"
    assert groups.before == "FG Sprache: A. Muster (VHS) (FF)" and groups.after == "FG Sprache: B. Neu (VHS)"


def test_comparison_reports_steps_added_changed_closed_and_removed(app):
    steps = copy.deepcopy(row()["next_steps"])
    steps[0]["status"] = "done"
    steps[1]["description"] = "Lotsen schulen und begleiten"
    steps.append({"id": 5, "field_number": 1, "description": "Elternkurse", "responsible": "", "due_date": None,
                  "status": "planned", "progress_note": "", "done_on": None, "also_serves": []})
    after = row(next_steps=steps[1:] + [steps[0]])
    [changed] = compare_editions(content(row()), content(after)).changed
    assert {(c.kind, c.label) for c in changed.steps} == {
        ("closed", "Kurse ausbauen"), ("changed", "Lotsen schulen und begleiten"), ("added", "Elternkurse")}
    closed = next(c for c in changed.steps if c.kind == "closed")
    assert closed.changes == [("status", "planned", "done")]
    removed = compare_editions(content(row()), content(row(next_steps=steps[1:2]))).changed[0].steps
    assert ("removed", "Kurse ausbauen") in {(c.kind, c.label) for c in removed}


def test_comparison_reports_financing_items_and_indicator_values(app):
    financing = [dict(row()["financing_items"][0], status="secured", amount="1500"),
                 {"id": 8, "source": "municipal", "programme": "Kommunal", "amount": None, "start_date": None,
                  "end_date": None, "status": "open", "note": "", "has_follow_up": False}]
    indicators = copy.deepcopy(row()["indicators"])
    indicators[0]["values"][0]["value"] = "110"
    indicators[0]["values"].append({"observed_on": "2026-06-30", "value": "140", "source_note": "VHS"})
    [changed] = compare_editions(content(row()), content(row(financing_items=financing,
                                                                 indicators=indicators))).changed
    assert [(c.kind, c.label) for c in changed.financing_items] == [("changed", "Sprachbrücke"), ("added", "Kommunal")]
    assert changed.financing_items[0].changes == [("amount", "1000", "1500"), ("status", "applied", "secured")]
    assert [(c.kind, c.context, c.label) for c in changed.indicator_values] == [
        ("changed", "Teilnehmende", "2025-12-31: 110"), ("added", "Teilnehmende", "2026-06-30: 140")]


def test_comparison_matches_fields_by_id_and_summarises_unchanged_ones(app):
    other = row(id=11, number=2, title="Arbeit")
    renumbered = row(number=3, title="Sprache und Bildung")
    result = compare_editions(content(row(), other), content(other, renumbered))
    assert [f.number for f in result.unchanged] == [2]
    [changed] = result.changed
    assert changed.status == "changed" and changed.number == 3
    assert [c.key for c in changed.columns] == ["title"]


def test_comparison_reports_fields_that_came_or_went(app):
    new = row(id=12, number=2, title="Wohnen")
    result = compare_editions(content(row()), content(new))
    assert {(f.status, f.title) for f in result.changed} == {("added", "Wohnen"), ("removed", "Sprache")}
    assert not compare_editions(content(row()), content(row())).has_changes


# --- comparison end to end -----------------------------------------------------------------------

def test_the_comparison_page_shows_exactly_the_approved_changes_since_an_edition(client, demo, edition):
    four, eleven = field(demo, 4), field(demo, 11)
    change_and_approve(four, lambda f: setattr(f, "gaps", f.gaps + " Mehr Dolmetschende."))
    change_and_approve(four, lambda f: f.next_steps.append(NextStep(description="Dolmetschpool aufbauen",
                                                                       position=50)))
    change_and_approve(eleven, lambda f: f.indicators[0].values.append(
        IndicatorValue(observed_on=date(2026, 6, 30), value=Decimal(120), source_note="Jobcenter")))
    # A draft on field 13 must not show up in a comparison with the approved state.
    thirteen = field(demo, 13)
    before = field_snapshot(load_field_row(thirteen.id))
    thirteen.vision = "Entwurf, nicht freigegeben"
    record_change(thirteen, steering(), RevisionKind.EDIT, before)
    db.session.commit()

    result = compare_editions(edition.content, current_approved_content(demo))
    assert [f.number for f in result.changed] == [4, 11]
    assert [c.key for c in result.changed[0].columns] == ["gaps"]
    assert [(c.kind, c.label) for c in result.changed[0].steps] == [("added", "Dolmetschpool aufbauen")]
    assert [c.kind for c in result.changed[1].indicator_values] == ["added"]

    html = client.get(f"{BASE}/vergleich?von={edition.id}&bis=heute").get_data(as_text=True)
    assert "Änderungen seit „Beschluss Koordinierungsgruppe 03/2026“" in html
    assert "Dolmetschende." in html and "Dolmetschpool aufbauen" in html
    assert "Entwurf, nicht freigegeben" not in html
    assert re.search(r"Ohne Änderungen:.*13\. ", html, re.S)


def test_two_editions_can_be_compared(client, demo, edition):
    change_and_approve(field(demo, 4), lambda f: setattr(f, "title", "Konsens für Teilhabe"))
    second = create_edition(demo, steering(), "Beschluss 06/2026", date(2026, 6, 1))
    db.session.commit()
    html = client.get(f"{BASE}/vergleich?von={edition.id}&bis={second.id}").get_data(as_text=True)
    assert "<ins><span class=\"visually-hidden\">[eingefügt: </span>Teilhabe<span class=\"visually-hidden\">]</span></ins>" in html


@pytest.mark.parametrize("query", ["von=abc", "von=999&bis=heute", "bis=999999"])
def test_a_bad_comparison_choice_answers_with_a_message(client, demo, edition, query):
    response = client.get(f"{BASE}/vergleich?{query}")
    assert response.status_code == 400
    assert "Bitte wählen Sie" in response.get_data(as_text=True)


def test_comparison_page_query_count_is_bounded(client, demo, edition, count_queries):
    with count_queries() as counter:
        assert client.get(f"{BASE}/vergleich?von={edition.id}&bis=heute").status_code == 200
    assert counter.n <= 12


def test_editions_and_comparisons_respect_the_blocks_a_reader_may_see(client, auth, demo, edition):
    four = field(demo, 4)
    change_and_approve(four, lambda f: setattr(f, "financing_notes", "Interne Finanzierungsnotiz"))
    change_and_approve(four, lambda f: setattr(f, "vision", "Öffentliche neue Vision"))
    demo.block_visibility = {"financing": "partners"}
    db.session.commit()
    later = create_edition(demo, steering(), "Fassung mit Finanzen", date(2026, 6, 1))
    db.session.commit()
    pages = [f"{BASE}/fassungen/{later.id}/handlungsfelder/4", f"{BASE}/vergleich?von={edition.id}&bis=heute",
             f"{BASE}/vergleich?von={edition.id}&bis={later.id}"]
    for address in pages:  # anonymous: the public audience
        html = client.get(address).get_data(as_text=True)
        assert "Interne Finanzierungsnotiz" not in html, address
    assert "Öffentliche neue Vision" in client.get(pages[1]).get_data(as_text=True)
    auth.login("partner@demo.dortmund.example", "Demo-Zugang-2026")
    for address in pages:
        assert "Interne Finanzierungsnotiz" in client.get(address).get_data(as_text=True), address


def test_an_edition_field_page_leads_to_its_neighbours_in_the_edition(client, demo, edition):
    html = client.get(f"{BASE}/fassungen/{edition.id}/handlungsfelder/4").get_data(as_text=True)
    assert f'rel="prev" href="{BASE}/fassungen/{edition.id}/handlungsfelder/3"' in html
    assert f'rel="next" href="{BASE}/fassungen/{edition.id}/handlungsfelder/5"' in html
    first = client.get(f"{BASE}/fassungen/{edition.id}/handlungsfelder/1").get_data(as_text=True)
    assert 'rel="prev"' not in first

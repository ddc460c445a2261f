"""Spreadsheet and Word import: mapping, preview, all-or-nothing, revisions of kind import, conflicts, a new
strategy from a file, and bad files. Files are made the way a city's staff would: exported by the app and
edited with openpyxl, or built with python-docx, XlsxWriter and zipfile."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import date

import docx
import openpyxl
import pytest

from strategy.extensions import db
from strategy.fields.services import load_field_row
from strategy.framework import TEXT_COLUMNS
from strategy.models import (
    AuditEvent,
    Field,
    FieldPhase,
    NextStep,
    ReviewState,
    Revision,
    RevisionKind,
    Role,
    StepStatus,
    Strategy,
    Visibility,
)
from tests.test_editing import payload_for


@pytest.fixture
def strategy(make):
    strategy = make.strategy(fields=3, visibility=Visibility.INTERNAL)
    for f in strategy.fields:
        f.current_state = f"Ausgangslage von Feld {f.number}."
        f.vision = f"Vision {f.number}."
    strategy.fields[0].next_steps.append(NextStep(description="Treffen planen", due_date=date(2026, 5, 31)))
    db.session.commit()
    return strategy


@pytest.fixture
def steering(make, strategy):
    return make.user(role=Role.STEERING, strategy=strategy, name="Lena Lenkung")


def export(client, strategy, fmt="xlsx", sheet="") -> bytes:
    response = client.get(f"/strategien/{strategy.slug}/handlungsrahmen.{fmt}" + (f"?blatt={sheet}" if sheet else ""))
    assert response.status_code == 200
    return response.data


def upload(client, strategy, data: bytes, filename="handlungsrahmen.xlsx"):
    return client.post(f"/strategien/{strategy.slug}/import", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def preview_of(client, strategy, data: bytes, filename="handlungsrahmen.xlsx"):
    response = upload(client, strategy, data, filename)
    assert response.status_code == 302, response.data.decode()[:2000]
    return response.headers["Location"], client.get(response.headers["Location"] + "/vorschau")


def edit(data: bytes, changes: dict[str, dict[str, object]]) -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(data))
    for sheet, cells in changes.items():
        for cell, value in cells.items():
            book[sheet][cell] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def problems(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", item) for item in re.findall(r"<li><strong>.*?</li>", html)]


def import_revisions(strategy) -> list[Revision]:
    return list(db.session.scalars(db.select(Revision).join(Field).where(
        Field.strategy_id == strategy.id, Revision.kind == RevisionKind.IMPORT).order_by(Revision.id)))


def all_revisions() -> int:
    return db.session.scalar(db.select(db.func.count(Revision.id)))


def column_of(key: str) -> str:
    """The letter of a framework column in an export (ID, Version, Nr., title, goal, groups, responsible, texts)."""
    return "ABCDEFGHIJKLMNOP"[7 + TEXT_COLUMNS.index(key)]


@pytest.mark.parametrize("fmt", ["xlsx", "ods", "csv"])
def test_reimporting_an_unchanged_export_changes_nothing(client, auth, strategy, steering, fmt):
    auth.login(steering)
    data = export(client, strategy, fmt)
    before = all_revisions()
    location, preview = preview_of(client, strategy, data, f"export.{fmt}")
    assert preview.status_code == 200
    assert "0 Handlungsfelder werden geändert" in preview.data.decode()
    assert "Import übernehmen" not in preview.data.decode()
    client.post(location + "/vorschau")
    assert all_revisions() == before


def test_three_edited_cells_give_exactly_three_changes_attributed_to_the_importer(client, auth, strategy, steering):
    auth.login(steering)
    edited = edit(export(client, strategy), {"Handlungsrahmen": {
        f"{column_of('current_state')}2": "Die Lage hat sich verbessert.",
        f"{column_of('vision')}3": "Eine neue Vision.",
        f"{column_of('gaps')}4": "Es fehlen Sprachkurse.",
    }})
    location, preview = preview_of(client, strategy, edited)
    html = preview.data.decode()
    assert "3 Handlungsfelder werden geändert" in html
    assert "<ins>" in html and "Sprachkurse" in html  # the word diff the history shows
    response = client.post(location + "/vorschau")
    assert response.status_code == 302
    revisions = import_revisions(strategy)
    assert [(r.field.number, r.changed_columns) for r in revisions] == [
        (1, ["current_state"]), (2, ["vision"]), (3, ["gaps"])]
    assert {r.author_id for r in revisions} == {steering.id}
    assert {r.author_name for r in revisions} == {"Lena Lenkung"}
    assert load_field_row(strategy.fields[2].id).gaps == "Es fehlen Sprachkurse."
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="strategy.import"))
    assert event.actor_id == steering.id and event.detail["revisions"] == 3
    # Nothing of the upload is left behind.
    assert client.get(location + "/vorschau").status_code == 404


def test_importing_into_approved_content_starts_a_new_draft(client, auth, make, strategy, steering):
    field = strategy.fields[0]
    make.approve(field)
    approved = dict(field.approved_content)
    auth.login(steering)
    edited = edit(export(client, strategy), {"Handlungsrahmen": {f"{column_of('vision')}2": "Neu."}})
    location, _ = preview_of(client, strategy, edited)
    client.post(location + "/vorschau")
    db.session.expire_all()
    field = db.session.get(Field, field.id)
    assert field.vision == "Neu."
    assert field.review_state == ReviewState.DRAFT
    assert field.approved_content == approved  # partners still read the approved state


def test_steps_financing_and_values_are_added_changed_and_removed(client, auth, make, strategy, steering):
    from decimal import Decimal

    from strategy.models import Indicator, IndicatorValue

    first = strategy.fields[0]
    first.next_steps.append(NextStep(description="Wird gestrichen", position=1))
    first.indicators.append(Indicator(name="Teilnehmende", values=[IndicatorValue(observed_on=date(2025, 12, 31),
                                                                                  value=Decimal(10))]))
    db.session.commit()
    auth.login(steering)
    book = openpyxl.load_workbook(io.BytesIO(export(client, strategy)))
    steps = book["Schritte"]
    steps["D2"] = "Treffen planen und einladen"  # changed
    steps.delete_rows(3)  # "Wird gestrichen" is removed
    steps.append([None, None, 2, "Neuer Schritt", "Jobcenter", "30.06.2026", "in Arbeit"])
    book["Finanzierung"].append([None, None, 1, "Land NRW", "KOMM-AN", "12.500,50", "01.01.2026", "31.12.2026",
                                 "beantragt", "", "nein"])
    book["Kennzahlwerte"].append([1, "Teilnehmende", date(2026, 6, 30), 25, "Stand 06/2026"])
    out = io.BytesIO()
    book.save(out)
    location, preview = preview_of(client, strategy, out.getvalue())
    html = preview.data.decode()
    for expected in ("Treffen planen und einladen", "Wird gestrichen", "Neuer Schritt", "KOMM-AN",
                     "Teilnehmende (30.06.2026)"):
        assert expected in html
    client.post(location + "/vorschau")
    db.session.expire_all()
    first, second = db.session.get(Field, first.id), strategy.fields[1]
    assert [s.description for s in first.next_steps] == ["Treffen planen und einladen"]
    new = db.session.scalar(db.select(NextStep).filter_by(description="Neuer Schritt"))
    assert new.field_id == second.id and new.due_date == date(2026, 6, 30) and new.status == StepStatus.IN_PROGRESS
    assert new.responsible_label.startswith("Jobcenter")
    assert first.financing_items[0].amount == Decimal("12500.50")
    assert [v.value for v in first.indicators[0].values] == [Decimal(10), Decimal(25)]
    assert [r.field.number for r in import_revisions(strategy)] == [1, 2]


def test_working_groups_and_responsible_are_imported_and_a_kept_group_keeps_its_members(client, auth, make,
                                                                                        strategy, steering):
    from strategy.models import Organisation, Person, Responsibility, WorkingGroup, WorkingGroupMember

    first = strategy.fields[0]
    member = Person(name="Maria Mitglied")
    first.working_groups.append(WorkingGroup(name="FG Sprache", members=[WorkingGroupMember(person=member)]))
    first.working_groups.append(WorkingGroup(name="FG Alt", position=1))
    first.responsibilities.append(Responsibility(organisation=Organisation(name="Jobcenter Musterstadt")))
    db.session.commit()
    auth.login(steering)
    edited = edit(export(client, strategy), {"Handlungsrahmen": {
        "F2": "FG Sprache; FG Arbeit",  # FG Alt goes, FG Arbeit comes
        "G2": "Jobcenter Musterstadt; Güntürk (MIA-DO-KI)",
        "F3": "FG Wohnen",
        "P3": "Workshop-Phase II",
    }})
    assert openpyxl.load_workbook(io.BytesIO(edited))["Handlungsrahmen"]["P1"].value == "Phase"
    location, preview = preview_of(client, strategy, edited)
    html = preview.data.decode()
    assert "2 Handlungsfelder werden geändert" in html, problems(html)
    assert "Workshop-Phase II" in html
    assert "behält ihre Mitglieder" in html
    assert "<ins>Arbeit</ins>" in html or "FG Arbeit</ins>" in html or "Arbeit" in html
    client.post(location + "/vorschau")
    db.session.expire_all()
    first, second = load_field_row(strategy.fields[0].id), load_field_row(strategy.fields[1].id)
    assert [g.name for g in first.working_groups] == ["FG Sprache", "FG Arbeit"]
    assert [m.label for m in first.working_groups[0].members] == ["Maria Mitglied"]
    assert [r.label for r in first.responsibilities] == ["Jobcenter Musterstadt", "Güntürk (MIA-DO-KI)"]
    added = first.responsibilities[1]
    assert added.person.name == "Güntürk" and added.organisation.name == "MIA-DO-KI"
    assert [g.name for g in second.working_groups] == ["FG Wohnen"]
    assert second.phase == FieldPhase.WORKSHOP_2
    revisions = import_revisions(strategy)
    assert [(r.field.number, sorted(r.changed_columns)) for r in revisions] == [
        (1, ["responsible", "working_groups"]), (2, ["phase", "working_groups"])]
    assert db.session.scalar(db.select(db.func.count(WorkingGroup.id)).filter_by(name="FG Alt")) == 0
    # The same file again changes nothing.
    before = all_revisions()
    location, preview = preview_of(client, strategy, export(client, strategy))
    assert "0 Handlungsfelder werden geändert" in preview.data.decode()
    assert all_revisions() == before


def test_indicators_are_added_changed_and_removed_and_values_may_name_a_new_one(client, auth, strategy, steering):
    from decimal import Decimal

    from strategy.models import Indicator, IndicatorUnit, IndicatorValue

    first = strategy.fields[0]
    first.indicators.append(Indicator(name="Teilnehmende", baseline=Decimal(5), values=[
        IndicatorValue(observed_on=date(2025, 12, 31), value=Decimal(10))]))
    first.indicators.append(Indicator(name="Wird gestrichen", position=1, values=[
        IndicatorValue(observed_on=date(2025, 12, 31), value=Decimal(1))]))
    db.session.commit()
    auth.login(steering)
    book = openpyxl.load_workbook(io.BytesIO(export(client, strategy)))
    indicators = book["Kennzahlen"]
    assert [c.value for c in indicators[1]][3:] == ["Kennzahl", "Einheit", "Ausgangswert", "Zielwert", "Zieldatum"]
    indicators["D2"] = "Teilnehmende insgesamt"  # renamed: its values follow it
    indicators["G2"] = 40  # a target
    indicators.delete_rows(3)  # "Wird gestrichen" goes with its value
    indicators.append([None, None, 2, "Quote der Vermittlungen", "Prozent", "12,5", 30, "31.12.2030"])
    values = book["Kennzahlwerte"]
    values.delete_rows(2, values.max_row)
    values.append([1, "Teilnehmende insgesamt", date(2025, 12, 31), 10, ""])
    values.append([1, "Teilnehmende insgesamt", date(2026, 6, 30), 25, "Stand 06/2026"])
    values.append([2, "Quote der Vermittlungen", date(2026, 6, 30), "18,5", "Jobcenter"])
    out = io.BytesIO()
    book.save(out)
    location, preview = preview_of(client, strategy, out.getvalue())
    html = preview.data.decode()
    assert preview.status_code == 200 and not problems(html), problems(html)
    for expected in ("Kennzahlen", "Teilnehmende insgesamt", "Wird gestrichen", "Quote der Vermittlungen",
                     "Quote der Vermittlungen (30.06.2026)"):
        assert expected in html
    client.post(location + "/vorschau")
    db.session.expire_all()
    first, second = load_field_row(strategy.fields[0].id), load_field_row(strategy.fields[1].id)
    assert [(i.name, i.target) for i in first.indicators] == [("Teilnehmende insgesamt", Decimal(40))]
    assert [v.value for v in first.indicators[0].values] == [Decimal(10), Decimal(25)]
    [quote] = second.indicators
    assert (quote.unit, quote.baseline, quote.target, quote.target_date) == (
        IndicatorUnit.PERCENT, Decimal("12.5"), Decimal(30), date(2030, 12, 31))
    assert [(v.observed_on, v.value, v.source_note) for v in quote.values] == [
        (date(2026, 6, 30), Decimal("18.5"), "Jobcenter")]
    assert db.session.scalar(db.select(db.func.count(Indicator.id)).filter_by(name="Wird gestrichen")) == 0
    assert [r.field.number for r in import_revisions(strategy)] == [1, 2]


def test_a_value_of_an_indicator_named_nowhere_is_a_problem_with_its_place(client, auth, strategy, steering):
    auth.login(steering)
    book = openpyxl.load_workbook(io.BytesIO(export(client, strategy)))
    book["Kennzahlwerte"].append([1, "Unbekannt", date(2026, 6, 30), 3, ""])
    book["Kennzahlen"].append([None, None, 2, "Doppelt", "", "", "", ""])
    book["Kennzahlen"].append([None, None, 2, "doppelt", "", "", "", ""])
    out = io.BytesIO()
    book.save(out)
    before = all_revisions()
    _, preview = preview_of(client, strategy, out.getvalue())
    found = problems(preview.data.decode())
    assert any(p.startswith("Kennzahlwerte!B2") and "Unbekannt" in p for p in found), found
    assert any(p.startswith("Kennzahlen!D3") and "zweimal" in p for p in found), found
    assert all_revisions() == before


def test_a_row_changed_since_the_export_is_a_conflict_and_is_not_overwritten(client, auth, make, app, strategy,
                                                                            steering):
    auth.login(steering)
    exported = export(client, strategy)
    field = strategy.fields[0]
    admin = app.test_client()
    type(auth)(admin).login(make.user(admin=True))
    saved = admin.post(f"/strategien/{strategy.slug}/handlungsfelder/1/bearbeiten",
                       data=payload_for(field, vision="Die Vision der Kollegin."))
    assert saved.status_code in (302, 303)
    edited = edit(exported, {"Handlungsrahmen": {f"{column_of('vision')}2": "Meine Vision.",
                                                 f"{column_of('vision')}3": "Vision zwei, neu."}})
    location, preview = preview_of(client, strategy, edited)
    html = preview.data.decode()
    assert "1 Konflikt" in html and "nicht überschrieben" in html
    client.post(location + "/vorschau")
    db.session.expire_all()
    assert db.session.get(Field, field.id).vision == "Die Vision der Kollegin."
    assert db.session.get(Field, strategy.fields[1].id).vision == "Vision zwei, neu."


def test_five_bad_cells_are_all_reported_with_their_places_and_nothing_is_stored(client, auth, strategy, steering):
    auth.login(steering)
    book = openpyxl.load_workbook(io.BytesIO(export(client, strategy)))
    book["Schritte"]["F2"] = "31.02.2026"
    book["Schritte"]["G2"] = "vielleicht"
    book["Schritte"].append([None, None, 9, "Schritt in einem Feld, das es nicht gibt"])
    book["Finanzierung"].append([None, None, 1, "Lotto", "", "viel"])
    book["Handlungsrahmen"][f"{column_of('vision')}2"] = "Eine Änderung, die nicht gespeichert wird."
    book["Kennzahlwerte"].append([1, "Unbekannte Kennzahl", date(2026, 1, 1), 3])
    out = io.BytesIO()
    book.save(out)
    before = all_revisions()
    location, preview = preview_of(client, strategy, out.getvalue())
    assert preview.status_code == 422
    found = problems(preview.data.decode())
    assert found[:2] == ["Schritte!F2: „31.02.2026“ ist kein Datum",
                         "Schritte!G2: „vielleicht“ ist kein gültiger Wert für Status (möglich: geplant, in Arbeit, "
                         "erledigt, blockiert, verworfen)"]
    assert "Schritte!C3: Handlungsfeld 9 gibt es nicht" in found
    assert any(p.startswith("Finanzierung!D2: „Lotto“ ist kein gültiger Wert für Quelle") for p in found)
    assert "Finanzierung!F2: „viel“ ist keine Zahl" in found
    assert any(p.startswith("Kennzahlwerte!B2: Die Kennzahl „Unbekannte Kennzahl“") for p in found)
    assert len(found) == 6
    confirmed = client.post(location + "/vorschau")
    assert confirmed.status_code == 422
    assert all_revisions() == before
    assert load_field_row(strategy.fields[0].id).vision == "Vision 1."
    listing = client.get(location + "/probleme.csv").data.decode("utf-8-sig").splitlines()
    assert listing[0] == "Ort;Problem" and len(listing) == 7 and listing[1].startswith("Schritte!F2;")


def test_problems_are_reported_in_english_for_english_readers(client, auth, strategy, steering):
    auth.login(steering)
    client.get("/sprache/en")
    book = openpyxl.load_workbook(io.BytesIO(export(client, strategy)))
    book["Steps"]["F2"] = "31.02.2026"
    out = io.BytesIO()
    book.save(out)
    _, preview = preview_of(client, strategy, out.getvalue())
    assert "Steps!F2: “31.02.2026” is not a date" in problems(preview.data.decode())


def test_the_mapping_is_guessed_from_headers_and_can_be_changed(client, auth, strategy, steering):
    auth.login(steering)
    table = (b"Nr.;Thema;IST;Weitere Notizen\r\n"
             b"1;Handlungsfeld 1;Neue Lage.;Vision aus der Notizspalte\r\n")
    response = upload(client, strategy, table, "stadt.csv")
    location = response.headers["Location"]
    mapping = client.get(location).data.decode()
    assert re.search(r'name="col-0-2".*?<option value="current_state" selected', mapping, re.S)
    assert not re.search(r'name="col-0-3".*?selected>', mapping.split('name="col-0-3"')[1].split("</select>")[0])
    html = client.get(location + "/vorschau").data.decode()
    assert "Neue Lage." in html and "Notizspalte" not in html
    client.post(location, data={"sheet-0": "framework", "col-0-0": "number", "col-0-1": "title",
                                "col-0-2": "current_state", "col-0-3": "vision", "action": "preview"})
    html = client.get(location + "/vorschau").data.decode()
    assert "Notizspalte" in html


@pytest.mark.parametrize("who, expected", [("coordinator", 403), ("partner", 404), ("other_steering", 404)])
def test_only_steering_and_admins_import_and_an_upload_is_its_uploaders_own(client, auth, make, strategy, steering,
                                                                          who, expected):
    auth.login(steering)
    location = upload(client, strategy, export(client, strategy)).headers["Location"]
    auth.logout()
    users = {"coordinator": make.user(role=Role.COORDINATOR, strategy=strategy, fields=(strategy.fields[0],)),
             "partner": make.user(role=Role.PARTNER, strategy=strategy),
             "other_steering": make.user(role=Role.STEERING, strategy=strategy)}
    auth.login(users[who])
    if who != "other_steering":
        assert client.get(f"/strategien/{strategy.slug}/import").status_code == expected
    assert client.get(location + "/vorschau").status_code in (expected, 404)
    assert client.post(location + "/vorschau").status_code in (expected, 404)


# --- Word ---------------------------------------------------------------------------------------

DORTMUND_HEADER = ["Nr.", "Thema", "Verantwortlich", "Ausgangslage / IST", "Zentrale(r) Prozess(e) (FF)",
                   "Vision: Wo wollen wir in 10 Jahren stehen?", "Strategische Ziele", "Zukünftige Herausforderungen",
                   "Was hat sich bewährt?", "Was fehlt?", "Finanzierung?"]


def dortmund_docx(titles: list[str]) -> bytes:
    """A Word document like Dortmund's: a title, a phase row with merged cells over the column headers, then
    one row per field."""
    document = docx.Document()
    document.add_heading("Handlungsrahmen zur Umsetzung der Gesamtstrategie Neuzuwanderung", 1)
    table = document.add_table(rows=2, cols=len(DORTMUND_HEADER))
    phases = table.rows[0].cells
    phases[0].merge(phases[2]).text = "Thema"
    phases[3].merge(phases[4]).text = "Vorgelagerte Vorbereitungsphase"
    phases[5].merge(phases[6]).text = "Workshop-Prozess-Phase I"
    phases[7].merge(phases[9]).text = "Workshop-Prozess-Phase II"
    phases[10].text = "Finanzierung"
    for cell, text in zip(table.rows[1].cells, DORTMUND_HEADER, strict=True):
        cell.text = text
    for number, title in enumerate(titles, start=1):
        cells = table.add_row().cells
        cells[0].text, cells[1].text, cells[2].text = f"{number}.", title, "Dezernat 5"
        cells[3].text = f"Die Ausgangslage im Handlungsfeld {number}.\nZweiter Absatz."
        cells[5].text = f"In zehn Jahren ist Handlungsfeld {number} erreicht."
        cells[9].text = "Mehr Personal."
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_a_word_table_like_dortmunds_imports_into_the_13_fields(client, auth, demo, make):
    admin = make.user(admin=True)
    auth.login(admin)
    titles = [f.title for f in demo.fields]
    location, preview = preview_of(client, demo, dortmund_docx(titles), "Handlungsrahmen Dortmund.docx")
    html = preview.data.decode()
    assert preview.status_code == 200, problems(html)
    assert "13 Handlungsfelder werden geändert" in html
    assert "Verantwortlich" in html  # the column "Verantwortlich" of the table is imported too
    client.post(location + "/vorschau")
    revisions = import_revisions(demo)
    assert len(revisions) == 13
    field = load_field_row(demo.fields[12].id)
    assert field.current_state == "Die Ausgangslage im Handlungsfeld 13.\nZweiter Absatz."
    assert field.vision == "In zehn Jahren ist Handlungsfeld 13 erreicht."
    assert [r.label for r in field.responsibilities] == ["Dezernat 5"]
    assert set(revisions[0].changed_columns) == {"current_state", "vision", "gaps", "responsible"} | (
        {"central_processes", "strategic_goals", "future_challenges", "what_worked", "financing_notes"}
        & set(revisions[0].changed_columns))


def test_a_new_strategy_is_created_from_a_word_file(client, auth, make):
    admin = make.user(admin=True)
    auth.login(admin)
    titles = [f"Feld {n}" for n in range(1, 14)]
    response = client.post("/strategien/neu-aus-datei", data={
        "title": "Integrationsstrategie Musterstadt", "slug": "musterstadt",
        "file": (io.BytesIO(dortmund_docx(titles)), "musterstadt.docx")}, content_type="multipart/form-data")
    assert response.status_code == 302, response.data.decode()[:3000]
    location = response.headers["Location"]
    assert client.get(location).status_code == 200
    html = client.get(location + "/vorschau").data.decode()
    assert "13 Handlungsfelder werden geändert" in html
    assert client.post(location + "/vorschau").headers["Location"].endswith("/strategien/musterstadt/")
    strategy = db.session.scalar(db.select(Strategy).filter_by(slug="musterstadt"))
    assert strategy.visibility == Visibility.INTERNAL
    assert [f.title for f in strategy.fields] == titles
    assert len(import_revisions(strategy)) == 13
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="strategy.create")) is not None
    assert [r.label for r in strategy.fields[0].responsibilities] == ["Dezernat 5"]


def test_a_new_strategy_from_an_export_brings_groups_people_indicators_and_values(client, auth, make, strategy):
    from decimal import Decimal

    from strategy.models import Indicator, IndicatorValue, Organisation, Responsibility, WorkingGroup

    first = strategy.fields[0]
    first.working_groups.append(WorkingGroup(name="FG Sprache"))
    first.responsibilities.append(Responsibility(organisation=Organisation(name="Jobcenter Musterstadt")))
    first.indicators.append(Indicator(name="Teilnehmende", target=Decimal(50), values=[
        IndicatorValue(observed_on=date(2025, 12, 31), value=Decimal(10), source_note="Stand 12/2025")]))
    db.session.commit()
    admin = make.user(admin=True)
    auth.login(admin)
    data = export(client, strategy)
    response = client.post("/strategien/neu-aus-datei", data={
        "title": "Kopie", "slug": "kopie", "file": (io.BytesIO(data), "export.xlsx")},
        content_type="multipart/form-data")
    assert response.status_code == 302, response.data.decode()[:3000]
    html = client.get(response.headers["Location"] + "/vorschau").data.decode()
    assert not problems(html), problems(html)
    client.post(response.headers["Location"] + "/vorschau")
    copy = db.session.scalar(db.select(Strategy).filter_by(slug="kopie"))
    field = load_field_row(copy.fields[0].id)
    assert [g.name for g in field.working_groups] == ["FG Sprache"]
    assert [r.label for r in field.responsibilities] == ["Jobcenter Musterstadt"]
    assert [(i.name, i.target) for i in field.indicators] == [("Teilnehmende", Decimal(50))]
    assert [(v.value, v.source_note) for v in field.indicators[0].values] == [(Decimal(10), "Stand 12/2025")]
    assert [s.description for s in field.next_steps] == ["Treffen planen"]


def test_only_admins_create_a_strategy_from_a_file(client, auth, make, strategy, steering):
    auth.login(steering)
    assert client.get("/strategien/neu-aus-datei").status_code == 403


# --- bad files ----------------------------------------------------------------------------------

def zipped(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def encrypted_office_file() -> bytes:
    """What Excel writes for a password-protected workbook: an OLE2 container holding "EncryptedPackage"."""
    name = "EncryptedPackage".encode("utf-16-le")
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + name + bytes(2048)


def workbook_with(fill) -> bytes:
    book = openpyxl.Workbook()
    fill(book.active)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _merged(sheet):
    sheet.title = "Handlungsrahmen"
    sheet.append(["Nr.", "Handlungsfeld", "Ausgangslage / IST", "Vision"])
    sheet.append([1, "Handlungsfeld 1", "Lage", "Vision"])
    sheet.merge_cells("C2:D2")


def _empty_header(sheet):
    sheet.title = "Handlungsrahmen"
    sheet.append([None, None, None])
    sheet.append([1, "Handlungsfeld 1", "Lage"])


BAD_FILES = {
    "not a spreadsheet": ("bild.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(100), "keine Tabelle"),
    "encrypted": ("geheim.xlsx", encrypted_office_file(), "Kennwort"),
    "zip bomb": ("bombe.xlsx", zipped({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": bytes(20_000_000)}),
                 "Zip-Bomben"),
    "macros": ("makros.xlsx", zipped({"xl/workbook.xml": b"<workbook/>", "xl/vbaProject.bin": b"VBA"}), "Makros"),
    "broken zip": ("kaputt.xlsx", b"PK\x03\x04" + bytes(200), "beschädigt"),
    "broken xlsx": ("kaputt.xlsx", zipped({"xl/workbook.xml": b"<kein xml"}), "beschädigt"),
    "empty": ("leer.csv", b"", "leer"),
    "word without a table": ("brief.docx", None, "keine Tabelle"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_get_a_clear_message_next_to_the_field(client, auth, strategy, steering, case):
    filename, data, message = BAD_FILES[case]
    if data is None:
        document = docx.Document()
        document.add_paragraph("Sehr geehrte Damen und Herren")
        out = io.BytesIO()
        document.save(out)
        data = out.getvalue()
    auth.login(steering)
    response = upload(client, strategy, data, filename)
    assert response.status_code == 422
    html = response.data.decode()
    assert 'class="form-error"' in html and message in html


def test_a_sheet_with_too_many_rows_is_refused(client, auth, strategy, steering):
    auth.login(steering)
    rows = "Nr.;Handlungsfeld\r\n" + "1;x\r\n" * 100_000
    response = upload(client, strategy, rows.encode(), "riesig.csv")
    assert response.status_code == 422
    assert "100.001 Zeilen; höchstens 20.000" in response.data.decode()


def test_a_workbook_with_too_many_rows_is_refused(client, auth, strategy, steering):
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"constant_memory": True})
    sheet = book.add_worksheet("Schritte")
    sheet.write_row(0, 0, ["Nr.", "Schritt"])
    for row in range(1, 20_001):
        sheet.write_row(row, 0, [1, f"Schritt {row}"])
    book.close()
    auth.login(steering)
    response = upload(client, strategy, out.getvalue(), "riesig.xlsx")
    assert response.status_code == 422
    assert "20.001 Zeilen; höchstens 20.000" in response.data.decode()


def test_a_workbook_excel_protected_with_a_password_is_refused(client, auth, strategy, steering):
    from msoffcrypto.format.ooxml import OOXMLFile

    auth.login(steering)
    encrypted = io.BytesIO()
    OOXMLFile(io.BytesIO(export(client, strategy))).encrypt("Geheim123", encrypted)
    before = all_revisions()
    response = upload(client, strategy, encrypted.getvalue(), "geschuetzt.xlsx")
    assert response.status_code == 422
    html = response.data.decode()
    assert 'class="form-error"' in html and "Kennwort" in html
    assert all_revisions() == before


def test_an_old_excel_xls_file_imports(client, auth, strategy, steering):
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Handlungsrahmen")
    for col, header in enumerate(["Nr.", "Handlungsfeld", "Ausgangslage / IST", "Vision"]):
        sheet.write(0, col, header)
    for number, f in enumerate(strategy.fields, start=1):
        sheet.write(number, 0, number)
        sheet.write(number, 1, f.title)
        sheet.write(number, 2, f.current_state if number != 2 else "Aus der alten Excel-Datei.")
        sheet.write(number, 3, f.vision)
    out = io.BytesIO()
    book.save(out)
    auth.login(steering)
    location, preview = preview_of(client, strategy, out.getvalue(), "alt.xls")
    html = preview.data.decode()
    assert "1 Handlungsfeld wird geändert" in html, problems(html)
    client.post(location + "/vorschau")
    assert [(r.field.number, r.changed_columns) for r in import_revisions(strategy)] == [(2, ["current_state"])]
    assert load_field_row(strategy.fields[1].id).current_state == "Aus der alten Excel-Datei."


def test_an_upload_over_the_limit_is_refused_with_a_message(client, auth, strategy, steering):
    auth.login(steering)
    boundary = "grenze"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"gross.xlsx\"\r\n\r\n"
            .encode() + bytes(50_000_000) + f"\r\n--{boundary}--\r\n".encode())
    # Sent as bytes (the test client would spool a file of this size to disk).
    response = client.post(f"/strategien/{strategy.slug}/import", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert "höchstens 20 MB" in response.data.decode()


@pytest.mark.parametrize("fill, expected", [(_merged, "Handlungsrahmen!C2:D2: Verbundene Zellen"),
                                            (_empty_header, "Kopfzeile ist leer")])
def test_merged_cells_and_an_empty_header_are_named_in_the_preview(client, auth, strategy, steering, fill,
                                                                  expected):
    auth.login(steering)
    location, preview = preview_of(client, strategy, workbook_with(fill))
    assert preview.status_code == 422
    assert any(expected in problem for problem in problems(preview.data.decode()))


def test_an_open_steps_sheet_adds_and_changes_but_never_removes_the_closed_steps(client, auth, strategy, steering):
    first = strategy.fields[0]
    first.next_steps.append(NextStep(description="Schon erledigt", status=StepStatus.DONE, done_on=date(2026, 1, 5),
                                     position=1))
    db.session.commit()
    auth.login(steering)
    exported = client.get(f"/strategien/{strategy.slug}/offene-schritte.xlsx").data
    edited = edit(exported, {"Offene Schritte": {"D2": "Treffen planen, mit Einladung"}})
    location, preview = preview_of(client, strategy, edited)
    assert "entfällt" not in preview.data.decode()
    client.post(location + "/vorschau")
    db.session.expire_all()
    assert [s.description for s in db.session.get(Field, first.id).next_steps] == [
        "Treffen planen, mit Einladung", "Schon erledigt"]

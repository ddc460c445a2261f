"""Next steps, financing items and indicators: forms, rules, history, conflicts and permissions.

Every test runs on SQLite and PostgreSQL (the `app` fixture). Requests go through the real views with
JavaScript's help absent, i.e. plain POST → 303 back to the field page, or the page again with messages.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from strategy.extensions import db
from strategy.models import (
    FinancingItem,
    FundingSource,
    FundingStatus,
    Indicator,
    IndicatorUnit,
    IndicatorValue,
    NextStep,
    Organisation,
    Person,
    Revision,
    RevisionKind,
    Role,
    StepStatus,
)
from strategy.records.forms import parse_decimal
from strategy.records.services import add_months, follow_up_open, funding_state

TODAY = date.today()


# --- helpers -------------------------------------------------------------------------------------

@pytest.fixture
def world(make):
    """A strategy of three fields; field 1 is coordinated by `coordinator`, field 2 by someone else."""
    strategy = make.strategy(fields=3)
    f1, f2, f3 = (make.field(strategy, n) for n in (1, 2, 3))

    class World:
        pass

    w = World()
    w.strategy, w.f1, w.f2, w.f3 = strategy, f1, f2, f3
    w.coordinator = make.user(role=Role.COORDINATOR, strategy=strategy, fields=(f1,))
    w.other_coordinator = make.user(role=Role.COORDINATOR, strategy=strategy, fields=(f2,))
    w.steering = make.user(role=Role.STEERING, strategy=strategy)
    w.partner = make.user(role=Role.PARTNER, strategy=strategy)
    w.admin = make.user(admin=True)
    return w


def field_url(w, number: int = 1) -> str:
    return f"/strategien/{w.strategy.slug}/handlungsfelder/{number}"


def add_step(client, w, number=1, **data):
    form = {"schritt-neu-description": "Kooperationsvereinbarung abschließen", "schritt-neu-status": "planned"}
    form.update({f"schritt-neu-{k}": v for k, v in data.items()})
    return client.post(field_url(w, number) + "/schritte", data=form)


def step_form(step: NextStep, **changes) -> dict:
    prefix = f"schritt-{step.id}-"
    data = {
        "description": step.description, "person_name": "", "organisation_name": "",
        "due_date": step.due_date.isoformat() if step.due_date else "", "status": step.status.value,
        "progress_note": step.progress_note, "done_on": step.done_on.isoformat() if step.done_on else "",
        "version": str(step.version),
    }
    data.update(changes)
    return {prefix + k: v for k, v in data.items()}


def add_financing(client, w, number=1, **data):
    form = {"source": "esf_plus", "programme": "Willkommen Europa", "amount": "", "start_date": "2025-01-01",
            "end_date": "2027-12-31", "status": "secured", "note": ""}
    form.update(data)
    return client.post(field_url(w, number) + "/finanzierung",
                       data={f"finanzierung-neu-{k}": v for k, v in form.items() if v is not None})


def add_indicator(client, w, number=1, **data):
    form = {"name": "Teilnehmende", "unit": "count", "direction": "higher", "baseline": "", "target": "",
            "target_date": ""}
    form.update(data)
    return client.post(field_url(w, number) + "/kennzahlen",
                       data={f"kennzahl-neu-{k}": v for k, v in form.items() if v is not None})


def add_value(client, w, indicator: Indicator, number=1, **data):
    form = {"observed_on": "2025-12-31", "value": "222", "source_note": "Jobcenter Dortmund, Stand 12/2025"}
    form.update(data)
    return client.post(f"{field_url(w, number)}/kennzahlen/{indicator.id}/werte",
                       data={f"wert-{indicator.id}-{k}": v for k, v in form.items()})


def steps_of(field) -> list[NextStep]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(NextStep).filter_by(field_id=field.id).order_by(NextStep.position)))


def revisions_of(field) -> list[Revision]:
    return list(db.session.scalars(db.select(Revision).filter_by(field_id=field.id).order_by(Revision.id)))


def html(response) -> str:
    return response.get_data(as_text=True)


# --- next steps ----------------------------------------------------------------------------------

def test_coordinator_adds_a_step_and_returns_to_it_on_the_field_page(client, auth, world):
    auth.login(world.coordinator)
    response = add_step(client, world, due_date="2026-03-31", person_name="Frau Yilmaz",
                        organisation_name="Jobcenter Dortmund", progress_note="Entwurf liegt vor")
    (step,) = steps_of(world.f1)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{field_url(world)}#schritt-{step.id}")
    assert step.description == "Kooperationsvereinbarung abschließen"
    assert step.due_date == date(2026, 3, 31) and step.status == StepStatus.PLANNED
    assert step.responsible_person.name == "Frau Yilmaz"
    assert step.responsible_organisation.name == "Jobcenter Dortmund"
    assert step.progress_note == "Entwurf liegt vor"
    page = html(client.get(field_url(world)))
    assert "Kooperationsvereinbarung abschließen" in page and "Der Schritt wurde hinzugefügt." in page


def test_adding_a_step_is_a_next_step_revision_of_its_field_by_its_author(client, auth, world):
    auth.login(world.coordinator)
    add_step(client, world)
    (revision,) = revisions_of(world.f1)
    assert revision.kind == RevisionKind.NEXT_STEP
    assert revision.author_id == world.coordinator.id
    assert revision.changed_columns == ["next_steps"]
    assert revision.content["next_steps"][0]["description"] == "Kooperationsvereinbarung abschließen"
    db.session.refresh(world.f1)
    assert world.f1.updated_by_id == world.coordinator.id


def test_known_people_and_organisations_are_reused_not_duplicated(client, auth, world, make):
    org = make.organisation("Agentur für Arbeit Dortmund", short_name="Agentur für Arbeit")
    make.person("Herr Schulte", organisation=org)
    auth.login(world.coordinator)
    add_step(client, world, person_name="Herr Schulte (Agentur für Arbeit)", organisation_name="agentur für arbeit")
    (step,) = steps_of(world.f1)
    assert step.responsible_person.name == "Herr Schulte"
    assert step.responsible_organisation_id == org.id
    assert db.session.scalar(db.select(db.func.count(Organisation.id))) == 1
    assert db.session.scalar(db.select(db.func.count(Person.id))) == 1


def test_a_step_needs_a_description_and_nothing_is_saved_without_one(client, auth, world):
    auth.login(world.coordinator)
    response = add_step(client, world, description="   ", person_name="Neu Angelegt", due_date="2026-05-01")
    assert response.status_code == 422
    page = html(response)
    assert "Bitte beschreiben Sie den Schritt." in page
    assert 'value="Neu Angelegt"' in page and 'value="2026-05-01"' in page  # typed values kept
    assert 'aria-invalid="true"' in page
    assert steps_of(world.f1) == []
    assert db.session.scalar(db.select(db.func.count(Person.id))) == 0
    assert revisions_of(world.f1) == []


def test_closing_a_step_sets_the_done_date_to_today(client, auth, world):
    auth.login(world.coordinator)
    add_step(client, world)
    (step,) = steps_of(world.f1)
    response = client.post(f"{field_url(world)}/schritte/{step.id}/erledigt", data={"version": step.version})
    assert response.status_code == 303
    (step,) = steps_of(world.f1)
    assert step.status == StepStatus.DONE and step.done_on == TODAY


def test_done_date_is_editable_and_cleared_when_the_step_is_reopened(client, auth, world):
    auth.login(world.coordinator)
    add_step(client, world)
    (step,) = steps_of(world.f1)
    client.post(f"{field_url(world)}/schritte/{step.id}", data=step_form(step, status="done", done_on="2025-11-03"))
    (step,) = steps_of(world.f1)
    assert step.done_on == date(2025, 11, 3)
    client.post(f"{field_url(world)}/schritte/{step.id}", data=step_form(step, status="in_progress", done_on=""))
    (step,) = steps_of(world.f1)
    assert step.status == StepStatus.IN_PROGRESS and step.done_on is None


def test_a_done_date_in_the_future_or_on_an_open_step_is_refused(client, auth, world):
    auth.login(world.coordinator)
    add_step(client, world)
    (step,) = steps_of(world.f1)
    future = (TODAY + timedelta(days=3)).isoformat()
    response = client.post(f"{field_url(world)}/schritte/{step.id}", data=step_form(step, status="done", done_on=future))
    assert response.status_code == 422 and "Dieses Datum liegt in der Zukunft." in html(response)
    response = client.post(f"{field_url(world)}/schritte/{step.id}",
                           data=step_form(step, status="planned", done_on="2025-01-01"))
    assert "Ein Erledigt-Datum gibt es nur für erledigte Schritte." in html(response)
    (step,) = steps_of(world.f1)
    assert step.status == StepStatus.PLANNED and step.done_on is None


def test_a_step_serving_another_field_is_shown_there_and_recorded_on_its_own_field(client, auth, world):
    auth.login(world.coordinator)
    add_step(client, world, description="Gemeinsame Jobmesse", also_serves=str(world.f3.id))
    (step,) = steps_of(world.f1)
    assert [f.number for f in step.also_serves] == [3]
    assert revisions_of(world.f3) == [] and len(revisions_of(world.f1)) == 1
    page = html(client.get(field_url(world, 3)))
    assert "Gemeinsame Jobmesse" in page and "aus Handlungsfeld 1" in page


def test_steps_are_reordered_with_up_and_down(client, auth, world):
    auth.login(world.coordinator)
    for text in ("Erster", "Zweiter", "Dritter"):
        add_step(client, world, description=text)
    first, second, third = steps_of(world.f1)
    response = client.post(f"{field_url(world)}/schritte/{third.id}/verschieben", data={"direction": "up"})
    assert response.status_code == 303
    assert [s.description for s in steps_of(world.f1)] == ["Erster", "Dritter", "Zweiter"]
    client.post(f"{field_url(world)}/schritte/{first.id}/verschieben", data={"direction": "down"})
    assert [s.description for s in steps_of(world.f1)] == ["Dritter", "Erster", "Zweiter"]
    assert revisions_of(world.f1)[-1].kind == RevisionKind.NEXT_STEP
    assert client.post(f"{field_url(world)}/schritte/{first.id}/verschieben",
                       data={"direction": "sideways"}).status_code == 400


def test_a_stale_edit_shows_the_conflict_with_both_versions_and_saves_nothing(client, auth, world, make):
    second = make.user(role=Role.COORDINATOR, strategy=world.strategy, fields=(world.f1,))
    auth.login(world.coordinator)
    add_step(client, world)
    (step,) = steps_of(world.f1)
    opened = step_form(step)  # the first person opens the form (version 1)
    client.post(f"{field_url(world)}/schritte/{step.id}",
                data=step_form(step, progress_note="Termin mit Jobcenter am 12.03. steht"))
    auth.logout()
    auth.login(second)
    mine = dict(opened)
    mine[f"schritt-{step.id}-progress_note"] = "Vereinbarung unterschrieben"
    response = client.post(f"{field_url(world)}/schritte/{step.id}", data=mine)
    assert response.status_code == 409
    page = html(response)
    assert "Speicherkonflikt" in page
    assert "Termin mit Jobcenter am 12.03. steht" in page  # the other person's saved value
    assert 'value="Vereinbarung unterschrieben"' in page  # the user's own input, kept
    (step,) = steps_of(world.f1)
    assert step.progress_note == "Termin mit Jobcenter am 12.03. steht"
    # The form now carries the current version: saving again is a deliberate overwrite.
    assert f'name="schritt-{step.id}-version" type="hidden" value="{step.version}"' in page
    mine[f"schritt-{step.id}-version"] = str(step.version)
    assert client.post(f"{field_url(world)}/schritte/{step.id}", data=mine).status_code == 303
    assert steps_of(world.f1)[0].progress_note == "Vereinbarung unterschrieben"


def test_removing_a_step_that_someone_already_removed_says_so(client, auth, world):
    auth.login(world.coordinator)
    add_step(client, world)
    (step,) = steps_of(world.f1)
    url = f"{field_url(world)}/schritte/{step.id}/entfernen"
    assert client.post(url, data={"version": step.version}).status_code == 303
    response = client.post(url, data={"version": step.version}, follow_redirects=True)
    assert "Dieser Eintrag wurde inzwischen von jemand anderem entfernt." in html(response)


def test_a_record_of_another_field_cannot_be_reached_through_ones_own_field(client, auth, world, make):
    foreign = NextStep(field=world.f2, description="Fremder Schritt")
    db.session.add(foreign)
    db.session.commit()
    auth.login(world.coordinator)
    response = client.post(f"{field_url(world)}/schritte/{foreign.id}", data=step_form(foreign))
    assert response.status_code == 404
    assert client.post(f"{field_url(world)}/schritte/{foreign.id}/erledigt", data={}).status_code == 404
    assert steps_of(world.f2)[0].status == StepStatus.PLANNED


def test_overdue_steps_are_marked_on_the_field_page_and_overview(client, auth, world):
    auth.login(world.coordinator)
    add_step(client, world, description="Längst fällig", due_date=(TODAY - timedelta(days=2)).isoformat())
    add_step(client, world, description="Noch Zeit", due_date=(TODAY + timedelta(days=20)).isoformat())
    field_page = html(client.get(field_url(world)))
    overdue, not_overdue = steps_of(world.f1)
    assert f'id="schritt-{overdue.id}" class="record is-overdue"' in field_page
    assert f'id="schritt-{not_overdue.id}" class="record"' in field_page
    overview = html(client.get(f"/strategien/{world.strategy.slug}/"))
    assert "2 offen" in overview and "1 überfällig" in overview


# --- financing -----------------------------------------------------------------------------------

def test_coordinator_adds_a_financing_item_with_a_german_amount(client, auth, world):
    auth.login(world.coordinator)
    add_step(client, world)
    (step,) = steps_of(world.f1)
    response = add_financing(client, world, amount="12.500,50", note="Kofinanzierung Stadt",
                             has_follow_up="y", next_steps=str(step.id))
    assert response.status_code == 303
    item = db.session.scalar(db.select(FinancingItem))
    assert item.amount == Decimal("12500.50") and item.source == FundingSource.ESF_PLUS
    assert item.status == FundingStatus.SECURED and item.has_follow_up
    assert [s.id for s in item.next_steps] == [step.id]
    assert revisions_of(world.f1)[-1].kind == RevisionKind.FINANCING


@pytest.mark.parametrize("data, message", [
    ({"amount": "-5"}, "Der Betrag darf nicht negativ sein."),
    ({"amount": "zwölf"}, "Bitte eine Zahl angeben"),
    ({"start_date": "2026-06-01", "end_date": "2026-05-31"}, "Das Ende darf nicht vor dem Beginn liegen."),
    ({"programme": ""}, "Bitte nennen Sie Programm oder Projekt."),
    ({"source": "lotto"}, "Keine gültige Auswahl"),  # WTForms' own message, in German
])
def test_invalid_financing_is_refused_with_a_message_and_nothing_saved(client, auth, world, data, message):
    auth.login(world.coordinator)
    response = add_financing(client, world, **data)
    assert response.status_code == 422
    page = html(response)
    assert message in page
    assert "Es wurde nichts gespeichert." in page
    assert db.session.scalar(db.select(db.func.count(FinancingItem.id))) == 0
    assert revisions_of(world.f1) == []


def test_funding_ending_within_the_horizon_without_follow_up_is_flagged(client, auth, world):
    auth.login(world.coordinator)
    ends_soon = add_months(TODAY, 6).isoformat()
    add_financing(client, world, programme="Projekt endet bald", start_date="2024-01-01", end_date=ends_soon)
    page = html(client.get(field_url(world)))
    assert "Verstetigung offen" in page
    overview = html(client.get(f"/strategien/{world.strategy.slug}/"))
    assert "Verstetigung offen" in overview
    item = db.session.scalar(db.select(FinancingItem))
    # With the follow-up settled, the flag goes away and the field counts as funded.
    form = {"source": "esf_plus", "programme": item.programme, "start_date": "2024-01-01", "end_date": ends_soon,
            "status": "secured", "has_follow_up": "y", "version": str(item.version)}
    client.post(f"{field_url(world)}/finanzierung/{item.id}", data={f"finanzierung-{item.id}-{k}": v for k, v in form.items()})
    assert "Verstetigung offen" not in html(client.get(f"/strategien/{world.strategy.slug}/"))
    assert "finanziert" in html(client.get(f"/strategien/{world.strategy.slug}/"))


def test_follow_up_flag_and_funding_state_rules():
    today = date(2026, 3, 1)
    item = {"end_date": "2026-09-01", "has_follow_up": False, "status": "secured", "start_date": "2025-01-01"}
    assert follow_up_open(item, today, months=12)
    assert not follow_up_open(item, today, months=3)
    assert not follow_up_open({**item, "has_follow_up": True}, today, months=12)
    assert not follow_up_open({**item, "end_date": "2026-02-28"}, today, months=12)  # already over
    assert not follow_up_open({**item, "end_date": None}, today, months=12)
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)


def test_funding_state_per_field(app):
    today = date.today()
    running = {"status": "secured", "start_date": "2020-01-01", "end_date": add_months(today, 30).isoformat(),
               "has_follow_up": False}
    assert funding_state({"financing_items": []}, today) == "none"
    assert funding_state({"financing_items": [running]}, today) == "funded"
    assert funding_state({"financing_items": [{**running, "status": "applied"}]}, today) == "unfunded"
    ending = {**running, "end_date": add_months(today, 2).isoformat()}
    assert funding_state({"financing_items": [ending]}, today) == "ending"
    assert funding_state({"financing_items": [{**ending, "has_follow_up": True}]}, today) == "funded"


def test_funding_timeline_lists_every_period_across_fields(client, auth, world):
    auth.login(world.coordinator)
    add_financing(client, world, programme="ESF-Projekt Ankommen", end_date=add_months(TODAY, 6).isoformat())
    item = FinancingItem(field=world.f2, source=FundingSource.FOUNDATION, programme="Stiftungsprojekt",
                         start_date=date(2025, 1, 1), end_date=date(2029, 12, 31), status=FundingStatus.APPLIED)
    db.session.add(item)
    db.session.commit()
    page = html(client.get(f"/strategien/{world.strategy.slug}/finanzierung"))
    assert page.count('class="chart__bar') == 2
    assert "ESF-Projekt Ankommen" in page and "Stiftungsprojekt" in page
    assert 'role="img"' in page and "<caption>Förderzeiträume nach Handlungsfeld</caption>" in page
    assert page.count("Verstetigung offen") >= 2  # the legend and the flagged row


# --- indicators ----------------------------------------------------------------------------------

def test_coordinator_creates_an_indicator_and_records_a_value(client, auth, world):
    auth.login(world.coordinator)
    assert add_indicator(client, world, baseline="0", target="400", target_date="2026-12-31", is_key="y").status_code == 303
    indicator = db.session.scalar(db.select(Indicator))
    assert indicator.is_key and indicator.target == Decimal("400")
    response = add_value(client, world, indicator)
    assert response.status_code == 303
    value = db.session.scalar(db.select(IndicatorValue))
    assert value.value == Decimal("222") and value.source_note == "Jobcenter Dortmund, Stand 12/2025"
    kinds = [r.kind for r in revisions_of(world.f1)]
    assert kinds == [RevisionKind.INDICATOR, RevisionKind.INDICATOR]
    page = html(client.get(field_url(world)))
    assert 'data-value="222"' in page and "Jobcenter Dortmund, Stand 12/2025" in page
    assert "<caption>Werte: Teilnehmende</caption>" in page


@pytest.mark.parametrize("unit, value, message", [
    ("percent", "120", "Ein Prozentwert liegt zwischen 0 und 100."),
    ("percent", "-1", "Ein Prozentwert liegt zwischen 0 und 100."),
    ("count", "-3", "Dieser Wert darf nicht negativ sein."),
    ("eur", "-10,00", "Dieser Wert darf nicht negativ sein."),
    ("count", "", "Bitte einen Wert angeben."),
])
def test_values_that_do_not_fit_the_unit_are_refused(client, auth, world, unit, value, message):
    auth.login(world.coordinator)
    add_indicator(client, world, unit=unit)
    indicator = db.session.scalar(db.select(Indicator))
    response = add_value(client, world, indicator, value=value, source_note="Eigene Zählung")
    assert response.status_code == 422
    page = html(response)
    assert message in page
    assert 'value="Eigene Zählung"' in page
    assert db.session.scalar(db.select(db.func.count(IndicatorValue.id))) == 0


def test_a_value_needs_a_source_and_a_date_not_in_the_future(client, auth, world):
    auth.login(world.coordinator)
    add_indicator(client, world)
    indicator = db.session.scalar(db.select(Indicator))
    page = html(add_value(client, world, indicator, source_note="",
                          observed_on=(TODAY + timedelta(days=1)).isoformat()))
    assert "Bitte nennen Sie die Quelle" in page and "Dieses Datum liegt in der Zukunft." in page


def test_percent_targets_over_100_are_refused(client, auth, world):
    auth.login(world.coordinator)
    response = add_indicator(client, world, unit="percent", target="101")
    assert response.status_code == 422 and "Ein Prozentwert liegt zwischen 0 und 100." in html(response)
    assert db.session.scalar(db.select(db.func.count(Indicator.id))) == 0


def test_changing_the_unit_to_percent_is_refused_when_values_do_not_fit(client, auth, world):
    auth.login(world.coordinator)
    add_indicator(client, world)
    indicator = db.session.scalar(db.select(Indicator))
    add_value(client, world, indicator, value="222")
    form = {"name": "Teilnehmende", "unit": "percent", "direction": "higher", "version": str(indicator.version)}
    response = client.post(f"{field_url(world)}/kennzahlen/{indicator.id}",
                           data={f"kennzahl-{indicator.id}-{k}": v for k, v in form.items()})
    assert response.status_code == 422 and "die Einheit Prozent passt" in html(response)
    db.session.expire_all()
    assert db.session.get(Indicator, indicator.id).unit == IndicatorUnit.COUNT


def test_only_one_key_indicator_per_field(client, auth, world):
    auth.login(world.coordinator)
    add_indicator(client, world, name="Erste", is_key="y")
    add_indicator(client, world, name="Zweite", is_key="y")
    db.session.expire_all()
    keys = db.session.scalars(db.select(Indicator.name).where(Indicator.is_key.is_(True))).all()
    assert keys == ["Zweite"]


def test_removing_a_value_is_recorded_in_history(client, auth, world):
    auth.login(world.coordinator)
    add_indicator(client, world)
    indicator = db.session.scalar(db.select(Indicator))
    add_value(client, world, indicator)
    value = db.session.scalar(db.select(IndicatorValue))
    url = f"{field_url(world)}/kennzahlen/{indicator.id}/werte/{value.id}/entfernen"
    assert client.post(url, data={}).status_code == 303
    assert db.session.scalar(db.select(db.func.count(IndicatorValue.id))) == 0
    assert revisions_of(world.f1)[-1].summary.startswith("Wert entfernt")


@pytest.mark.parametrize("text, expected", [
    ("12.500,50", "12500.50"), ("12500.5", "12500.5"), ("1.250", "1250"), ("22,5 %", "22.5"),
    ("250.000 €", "250000"), ("-3", "-3"), ("1 234", "1234"),
])
def test_numbers_are_read_as_germans_write_them(text, expected):
    assert parse_decimal(text) == Decimal(expected)


# --- permissions ---------------------------------------------------------------------------------

def _actions(w):
    """(name, method) pairs: each a change a coordinator makes on field 1 or 2."""
    step = {1: None, 2: None}
    for number, field in ((1, w.f1), (2, w.f2)):
        s = NextStep(field=field, description=f"Schritt {number}")
        i = Indicator(field=field, name=f"Kennzahl {number}")
        db.session.add_all([s, i])
        db.session.commit()
        step[number] = (s, i)
    return step


ACTIONS = ["add_step", "edit_step", "close_step", "move_step", "add_financing", "add_indicator", "add_value"]


def _do(client, w, action, number, step, indicator):
    base = field_url(w, number)
    if action == "add_step":
        return add_step(client, w, number)
    if action == "edit_step":
        return client.post(f"{base}/schritte/{step.id}", data=step_form(step, description="Neu"))
    if action == "close_step":
        return client.post(f"{base}/schritte/{step.id}/erledigt", data={"version": step.version})
    if action == "move_step":
        return client.post(f"{base}/schritte/{step.id}/verschieben", data={"direction": "down"})
    if action == "add_financing":
        return add_financing(client, w, number)
    if action == "add_indicator":
        return add_indicator(client, w, number)
    return add_value(client, w, indicator, number)


# who, field number → expected status. Who may edit is tested as a table in test_permissions.py; this proves each
# change route asks: the coordinator on their own field and on another, steering (who reads drafts, edits none),
# an admin on a field they do not coordinate, and anonymous visitors sent to log in.
PERMISSION_MATRIX = [
    ("coordinator", 1, 303),
    ("coordinator", 2, 403),
    ("steering", 1, 403),
    ("admin", 2, 303),
    ("anonymous", 1, 302),
]


@pytest.mark.parametrize("action", ACTIONS)
def test_only_coordinators_of_the_field_and_admins_change_its_records(client, auth, world, action):
    records = _actions(world)
    for who, number, expected in PERMISSION_MATRIX:
        auth.logout()
        if who != "anonymous":
            auth.login(getattr(world, who))
        step, indicator = records[number]
        db.session.refresh(step)
        response = _do(client, world, action, number, step, indicator)
        assert response.status_code == expected, (who, number, action)
        if expected == 302:
            assert "/anmelden" in response.headers["Location"]


def test_nothing_changes_when_permission_is_refused(client, auth, world):
    records = _actions(world)
    auth.login(world.steering)
    step, indicator = records[1]
    for action in ACTIONS:
        _do(client, world, action, 1, step, indicator)
    db.session.expire_all()
    assert [s.description for s in steps_of(world.f1)] == ["Schritt 1"]
    assert db.session.scalar(db.select(db.func.count(FinancingItem.id))) == 0
    assert revisions_of(world.f1) == []


def test_an_archived_field_takes_no_changes(client, auth, world):
    world.f1.is_archived = True
    db.session.commit()
    auth.login(world.coordinator)
    assert add_step(client, world).status_code == 404


def test_editing_controls_appear_only_for_those_who_may_edit(client, auth, world):
    auth.login(world.coordinator)
    assert "Schritt hinzufügen" in html(client.get(field_url(world, 1)))
    assert "Schritt hinzufügen" not in html(client.get(field_url(world, 2)))
    auth.logout()
    auth.login(world.steering)
    assert "Schritt hinzufügen" not in html(client.get(field_url(world, 1)))


def test_get_on_a_change_url_is_not_allowed(client, auth, world):
    auth.login(world.coordinator)
    assert client.get(field_url(world) + "/schritte").status_code == 405


# --- open steps page -----------------------------------------------------------------------------

@pytest.mark.parametrize("who, expected", [  # the other draft readers: test_permissions.py
    ("coordinator", 200), ("partner", 403), ("anonymous", 302),
])
def test_open_steps_page_is_for_those_who_read_drafts(client, auth, world, who, expected):
    if who != "anonymous":
        auth.login(getattr(world, who))
    assert client.get(f"/strategien/{world.strategy.slug}/offene-schritte").status_code == expected


def test_open_steps_are_filtered_by_field_organisation_person_status_and_due_window(client, auth, world, make):
    org = make.organisation("Jobcenter Dortmund")
    person = make.person("Frau Acar", organisation=org)
    steps = [
        NextStep(field=world.f1, description="A überfällig", due_date=TODAY - timedelta(days=1),
                 responsible_person=person),
        NextStep(field=world.f1, description="B in 20 Tagen", due_date=TODAY + timedelta(days=20),
                 status=StepStatus.IN_PROGRESS),
        NextStep(field=world.f2, description="C in 60 Tagen", due_date=TODAY + timedelta(days=60),
                 responsible_organisation=org, also_serves=[world.f3]),
        NextStep(field=world.f2, description="D blockiert ohne Datum", status=StepStatus.BLOCKED),
        NextStep(field=world.f3, description="E erledigt", status=StepStatus.DONE),
    ]
    db.session.add_all(steps)
    db.session.commit()
    auth.login(world.steering)
    url = f"/strategien/{world.strategy.slug}/offene-schritte"

    def listed(**query) -> list[str]:
        page = html(client.get(url, query_string=query))
        return [s.description for s in steps if s.description in page]

    assert listed() == ["A überfällig", "B in 20 Tagen", "C in 60 Tagen", "D blockiert ohne Datum"]
    assert listed(hf=2) == ["C in 60 Tagen", "D blockiert ohne Datum"]
    assert listed(hf=3) == ["C in 60 Tagen"]  # serves field 3
    assert listed(organisation=org.id) == ["A überfällig", "C in 60 Tagen"]  # the person's organisation too
    assert listed(person=person.id) == ["A überfällig"]
    assert listed(status="in_progress") == ["B in 20 Tagen"]
    assert listed(faellig="overdue") == ["A überfällig"]
    assert listed(faellig="30") == ["B in 20 Tagen"]
    assert listed(faellig="90") == ["B in 20 Tagen", "C in 60 Tagen"]
    assert listed(status="done", hf="x", faellig="morgen") == listed()  # unknown filters are ignored
    assert 'class="is-overdue"' in html(client.get(url))


def test_open_steps_page_query_count_does_not_grow_with_the_steps(client, auth, world, make, count_queries):
    org = make.organisation("Träger")
    auth.login(world.steering)
    url = f"/strategien/{world.strategy.slug}/offene-schritte"
    db.session.add(NextStep(field=world.f1, description="Eins", responsible_organisation=org,
                            responsible_person=Person(name="Erste Person", organisation=org), also_serves=[world.f2]))
    db.session.commit()
    with count_queries() as few:
        assert client.get(url).status_code == 200
    for n in range(30):
        person = Person(name=f"Person {n}", organisation=org)
        db.session.add(NextStep(field=(world.f1, world.f2, world.f3)[n % 3], description=f"Schritt {n}",
                                responsible_person=person, also_serves=[world.f3]))
    db.session.commit()
    with count_queries() as many:
        assert client.get(url).status_code == 200
    assert many.n == few.n


# --- overview roll-ups ---------------------------------------------------------------------------

def _fill(strategy, make):
    today = date.today()
    for field in strategy.fields:
        field.next_steps.append(NextStep(description="Überfällig", due_date=today - timedelta(days=3)))
        field.financing_items.append(FinancingItem(
            source=FundingSource.ESF_PLUS, programme="ESF", status=FundingStatus.SECURED,
            start_date=date(2024, 1, 1), end_date=add_months(today, 4)))
        indicator = Indicator(name=f"Kennzahl {field.number}", is_key=True)
        indicator.values = [IndicatorValue(observed_on=date(2024, 12, 31), value=Decimal(10), source_note="Q"),
                            IndicatorValue(observed_on=date(2025, 12, 31), value=Decimal(15), source_note="Q")]
        field.indicators.append(indicator)
    db.session.commit()


def test_overview_rolls_up_steps_funding_and_key_indicator_without_a_query_per_field(
        client, auth, make, count_queries):
    small, large = make.strategy(fields=2), make.strategy(fields=26)
    _fill(small, make)
    _fill(large, make)
    steering = make.user(role=Role.STEERING, strategy=small)
    steering.memberships.append(type(steering.memberships[0])(strategy=large, role=Role.STEERING))
    db.session.commit()
    auth.login(steering)
    with count_queries() as few:
        page_small = html(client.get(f"/strategien/{small.slug}/"))
    with count_queries() as many:
        page_large = html(client.get(f"/strategien/{large.slug}/"))
    assert many.n == few.n
    assert page_large.count("1 überfällig") == 26
    assert page_large.count('<span class="badge badge--ending">Verstetigung offen</span>') == 26
    assert page_large.count('class="chart chart--sparkline"') == 26
    assert "Kennzahl 26" in page_large and "steigend" in page_large
    assert page_small.count('class="chart chart--sparkline"') == 2


def test_partners_see_the_approved_records_not_the_draft(client, auth, world, make):
    db.session.add(NextStep(field=world.f1, description="Freigegebener Schritt"))
    db.session.commit()
    make.approve(world.f1)
    db.session.add(NextStep(field=world.f1, description="Entwurfsschritt"))
    db.session.commit()
    auth.login(world.partner)
    page = html(client.get(field_url(world)))
    assert "Freigegebener Schritt" in page and "Entwurfsschritt" not in page


def test_field_page_with_the_editors_costs_the_same_queries_for_few_and_many_records(
        client, auth, world, count_queries):
    def fill(start, count):
        for n in range(start, start + count):
            step = NextStep(description=f"Schritt {n}", also_serves=[world.f3],
                            responsible_person=Person(name=f"P{n}", organisation=Organisation(name=f"O{n}")))
            world.f1.next_steps.append(step)
            world.f1.financing_items.append(FinancingItem(source=FundingSource.OTHER, programme=f"F{n}",
                                                          next_steps=[step]))
            indicator = Indicator(name=f"K{n}")
            indicator.values = [IndicatorValue(observed_on=date(2025, 1, 1), value=Decimal(n), source_note="Q")]
            world.f1.indicators.append(indicator)
        db.session.commit()

    auth.login(world.coordinator)
    fill(0, 1)
    with count_queries() as few:
        assert "Schritt hinzufügen" in html(client.get(field_url(world)))
    fill(1, 12)
    with count_queries() as many:
        page = html(client.get(field_url(world)))
    assert "Schritt 11" in page and "F11" in page and "K11" in page
    assert many.n == few.n


def test_the_funding_horizon_is_configurable(app, client, auth, world):
    auth.login(world.coordinator)
    add_financing(client, world, programme="Endet in sechs Monaten", end_date=add_months(TODAY, 6).isoformat())
    assert "Verstetigung offen" in html(client.get(field_url(world)))
    app.config["FUNDING_HORIZON_MONTHS"] = 3
    assert "Verstetigung offen" not in html(client.get(field_url(world)))


def test_a_stale_financing_edit_keeps_the_input_and_shows_the_saved_amount(client, auth, world):
    auth.login(world.coordinator)
    add_financing(client, world, amount="1000")
    item = db.session.scalar(db.select(FinancingItem))
    form = {"source": "esf_plus", "programme": "Willkommen Europa", "start_date": "2025-01-01",
            "end_date": "2027-12-31", "status": "secured", "version": str(item.version)}
    prefixed = lambda data: {f"finanzierung-{item.id}-{k}": v for k, v in data.items()}  # noqa: E731
    client.post(f"{field_url(world)}/finanzierung/{item.id}", data=prefixed({**form, "amount": "2.000"}))
    response = client.post(f"{field_url(world)}/finanzierung/{item.id}", data=prefixed({**form, "amount": "3.500"}))
    assert response.status_code == 409
    page = html(response)
    assert "<dd>2.000,00\xa0€</dd>" in page and 'value="3.500"' in page
    db.session.expire_all()
    assert db.session.get(FinancingItem, item.id).amount == Decimal("2000")


def test_linking_a_financing_item_to_a_step_is_recorded_in_history(client, auth, world):
    auth.login(world.coordinator)
    add_step(client, world, description="Lotsenschulung")
    add_financing(client, world)
    (step,) = steps_of(world.f1)
    item = db.session.scalar(db.select(FinancingItem))
    form = {"source": "esf_plus", "programme": "Willkommen Europa", "start_date": "2025-01-01",
            "end_date": "2027-12-31", "status": "secured", "next_steps": str(step.id), "version": str(item.version)}
    client.post(f"{field_url(world)}/finanzierung/{item.id}", data={f"finanzierung-{item.id}-{k}": v for k, v in form.items()})
    latest = revisions_of(world.f1)[-1]
    assert latest.kind == RevisionKind.FINANCING
    assert latest.content["financing_items"][0]["pays_for"] == ["Lotsenschulung"]


def test_an_impossible_date_is_refused_in_german(client, auth, world):
    auth.login(world.coordinator)
    response = add_step(client, world, due_date="2026-02-31")
    assert response.status_code == 422
    assert "Bitte ein gültiges Datum angeben (TT.MM.JJJJ)." in html(response)
    assert steps_of(world.f1) == []


# --- a due date in the past (#12.6) ---------------------------------------------------------------

PAST_DUE = "liegt in der Vergangenheit"


def test_a_past_due_date_is_saved_and_the_coordinator_is_told(client, auth, world):
    auth.login(world.coordinator)
    response = add_step(client, world, due_date="2020-01-01")
    assert response.status_code == 303
    (step,) = steps_of(world.f1)
    assert step.due_date == date(2020, 1, 1)
    page = html(client.get(response.headers["Location"]))
    assert "Der Schritt wurde hinzugefügt." in page
    notice = page.split('class="flash flash--warning"', 1)[1].split("</p>", 1)[0]
    assert PAST_DUE in notice and "01.01.2020" in notice
    # Once said is enough: saving the step again with the same date says nothing more.
    response = client.post(field_url(world) + f"/schritte/{step.id}", data=step_form(step, progress_note="läuft"))
    assert response.status_code == 303
    assert PAST_DUE not in html(client.get(response.headers["Location"]))


@pytest.mark.parametrize("data", [
    {"due_date": (TODAY + timedelta(days=30)).isoformat()},
    {"due_date": TODAY.isoformat()},
    {"due_date": ""},
    {"due_date": "2020-01-01", "status": "done", "done_on": "2020-01-02"},
])
def test_no_past_due_notice_for_a_date_ahead_or_a_step_already_done(client, auth, world, data):
    auth.login(world.coordinator)
    response = add_step(client, world, **data)
    assert response.status_code == 303
    assert len(steps_of(world.f1)) == 1
    assert PAST_DUE not in html(client.get(response.headers["Location"]))


def test_changing_a_step_to_a_past_due_date_is_told_too(client, auth, world):
    auth.login(world.coordinator)
    add_step(client, world, due_date=(TODAY + timedelta(days=30)).isoformat())
    (step,) = steps_of(world.f1)
    response = client.post(field_url(world) + f"/schritte/{step.id}", data=step_form(step, due_date="2021-06-30"))
    assert response.status_code == 303
    assert PAST_DUE in html(client.get(response.headers["Location"]))
    assert steps_of(world.f1)[0].due_date == date(2021, 6, 30)

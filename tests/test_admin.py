"""The admin area: who may enter it, and the rules its services keep (on SQLite and PostgreSQL)."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from types import SimpleNamespace

import pyotp
import pytest
import sqlalchemy as sa
from flask import url_for

from strategy import audit
from strategy.admin import numbering, strategies
from strategy.admin.gdpr import PERSON_PLACEHOLDER
from strategy.extensions import db
from strategy.fields.services import load_field_row
from strategy.mail import send_mail
from strategy.models import (
    AuditEvent,
    Field,
    FieldAssignment,
    NextStep,
    Organisation,
    OrganisationKind,
    Person,
    Responsibility,
    ResponsibilityRole,
    Revision,
    RevisionKind,
    Role,
    SetPasswordToken,
    Strategy,
    User,
    Visibility,
    WorkingGroup,
    WorkingGroupMember,
    utcnow,
)
from strategy.revisions import record_change
from strategy.snapshots import field_snapshot

# --- a small world to act on ---------------------------------------------------------------------------

@pytest.fixture
def world(make):
    strategy = make.strategy(fields=4, visibility=Visibility.PUBLIC)
    fields = sorted(strategy.all_fields, key=lambda f: f.number)
    organisation = make.organisation("Jobcenter Musterstadt", short_name="Jobcenter")
    person = make.person("Erika Beispiel", organisation=organisation, email="erika@example.org")
    admin = make.user(admin=True, name="Ada Admin", email="ada@example.org")
    coordinator = make.user(role=Role.COORDINATOR, strategy=strategy, fields=(fields[0],), name="Kai Koordination")
    mail = send_mail(coordinator, "password_reset", hours=72, link="https://strategie.example/passwort-setzen")
    db.session.commit()
    return SimpleNamespace(
        strategy=strategy, fields=fields, field=fields[0], organisation=organisation, person=person, admin=admin,
        coordinator=coordinator, mail=mail,
        steering=make.user(role=Role.STEERING, strategy=strategy),
        partner=make.user(role=Role.PARTNER, strategy=strategy),
    )


def _sample_values(world) -> dict[str, int]:
    """A value for every URL argument the admin blueprint uses; a new argument name fails the matrix loudly."""
    return {
        "strategy_id": world.strategy.id,
        "field_id": world.field.id,
        "organisation_id": world.organisation.id,
        "person_id": world.person.id,
        "account_id": world.coordinator.id,
        "mail_id": world.mail.id,
    }


def admin_routes(app, world) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every route of the admin blueprint, walked from the URL map."""
    values = _sample_values(world)
    routes = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith("admin."):
                continue
            missing = rule.arguments - values.keys()
            assert not missing, f"{rule.endpoint}: add sample values for {missing} to _sample_values"
            url = url_for(rule.endpoint, **{name: values[name] for name in rule.arguments})
            method = "GET" if "GET" in rule.methods else "POST"
            routes.append((rule.endpoint, method, url))
    assert len(routes) >= 25
    return routes


# --- who may enter: the access matrix ------------------------------------------------------------------

# role → expected status of every admin URL (GET and POST alike); the admin's own row is tested below. That only
# admins manage is tested for every role in test_permissions.py; here anonymous visitors are sent to log in and
# a coordinator is refused on every route, the account routes included, where the sample account is their own.
ACCESS = [
    ("anonymous", 302),
    ("coordinator", 403),
]


@pytest.mark.parametrize("role, status", ACCESS)
def test_only_admins_reach_any_admin_url(app, client, auth, world, role, status):
    if role != "anonymous":
        assert auth.login(getattr(world, role)).status_code == 302
    audit_before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    for endpoint, method, url in admin_routes(app, world):
        response = client.open(url, method=method, data={"title": "Übernahme", "is_admin": "y"})
        assert response.status_code == status, (role, endpoint, method, url)
        if status == 302:
            assert response.headers["Location"].startswith("/anmelden"), endpoint
    db.session.expire_all()
    # Nothing changed: no audit event beyond the login itself, the coordinator is still no admin.
    audit_after = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    assert audit_after == audit_before
    assert not db.session.get(User, world.coordinator.id).is_admin
    assert db.session.get(User, world.coordinator.id).active


def test_admin_reaches_every_admin_page(app, client, auth, world):
    auth.login(world.admin)
    pages = [(endpoint, url) for endpoint, method, url in admin_routes(app, world) if method == "GET"]
    for endpoint, url in pages:
        response = client.get(url)
        assert response.status_code == 200, (endpoint, url)
        assert 'aria-current="page"' in response.get_data(as_text=True)


def _archive(target) -> None:
    target.field.is_archived = True


def _deactivate(target) -> None:
    target.account.active = False


def _lock(target) -> None:
    target.account.failed_login_count = 10
    target.account.locked_until = utcnow() + timedelta(minutes=15)


def _two_factor(target) -> None:
    target.account.totp_secret = pyotp.random_base32()


def _gap(target) -> None:
    target.first.is_archived = True  # numbers 1 (archived), 2, 3: the live fields start at 2


def _downloaded(response) -> dict:
    assert response.mimetype == "application/json"
    return json.loads(response.data)


# POST-only admin route → (what makes the action do something, form data, status, the effect it must have).
# Each runs on fresh objects, so an action that answered without doing anything fails here.
POST_ACTIONS = {
    "admin.field_move": (None, {"direction": "up"}, 302, lambda t, r: t.field.number == 1 and t.first.number == 2),
    "admin.field_renumber": (_gap, {}, 302, lambda t, r: (t.field.number, t.first.number) == (1, 3)),
    "admin.field_archive": (None, {}, 302, lambda t, r: t.field.is_archived),
    "admin.field_unarchive": (_archive, {}, 302, lambda t, r: not t.field.is_archived),
    "admin.person_export": (None, {}, 200, lambda t, r: _downloaded(r)["person"]["name"] == t.person.name),
    "admin.account_access": (None, {"role": Role.STEERING.value}, 302,
                             lambda t, r: [m.role for m in t.account.memberships] == [Role.STEERING]),
    "admin.account_password_link": (None, {}, 200, lambda t, r: "/passwort-setzen?token=" in r.get_data(as_text=True)
                                    and db.session.scalar(sa.select(sa.func.count(SetPasswordToken.id))
                                                          .filter_by(user_id=t.account.id)) == 1),
    "admin.account_deactivate": (None, {}, 302, lambda t, r: not t.account.active),
    "admin.account_reactivate": (_deactivate, {}, 302, lambda t, r: t.account.active),
    "admin.account_unlock": (_lock, {}, 302,
                             lambda t, r: t.account.failed_login_count == 0 and t.account.locked_until is None),
    "admin.account_disable_two_factor": (_two_factor, {}, 302, lambda t, r: t.account.totp_secret is None),
    "admin.account_export": (None, {}, 200, lambda t, r: _downloaded(r)["account"]["email"] == t.account.email),
}


def test_admin_can_use_every_admin_action(app, client, auth, world, make):
    """Every POST-only admin route does what it says, and writes one audit event."""
    auth.login(world.admin)
    actions = [endpoint for endpoint, method, _url in admin_routes(app, world) if method == "POST"]
    assert sorted(actions) == sorted(POST_ACTIONS), "a POST-only admin route needs its effect in POST_ACTIONS"
    for endpoint in actions:
        prepare, data, status, effect = POST_ACTIONS[endpoint]
        strategy = make.strategy(fields=3)
        first, second, _third = sorted(strategy.all_fields, key=lambda f: f.number)
        target = SimpleNamespace(strategy=strategy, first=first, field=second,
                                 person=make.person(organisation=world.organisation),
                                 account=make.user(role=Role.COORDINATOR, strategy=strategy))
        if prepare:
            prepare(target)
            db.session.commit()
        values = {"strategy_id": strategy.id, "field_id": second.id, "organisation_id": world.organisation.id,
                  "person_id": target.person.id, "account_id": target.account.id}
        with app.test_request_context():
            rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
            url = url_for(endpoint, **{name: values[name] for name in rule.arguments})
        if "role" in data:  # the access form has one role select per strategy
            data = {f"role_{strategy.id}": data["role"]}
        events_before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
        response = client.post(url, data=data)
        assert response.status_code == status, (endpoint, response.status_code)
        db.session.expire_all()
        assert effect(target, response), endpoint
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == events_before + 1, endpoint


def test_main_navigation_shows_the_admin_link_to_admins_only(client, auth, world):
    assert "/verwaltung/" not in client.get("/").get_data(as_text=True)
    auth.login(world.coordinator)
    assert "/verwaltung/" not in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login(world.admin)
    assert 'href="/verwaltung/"' in client.get("/").get_data(as_text=True)


# --- strategies ----------------------------------------------------------------------------------------

def test_admin_creates_a_strategy_and_the_audit_log_says_who(client, auth, world):
    auth.login(world.admin)
    response = client.post("/verwaltung/strategien/neu", data={
        "title": "Gesamtstrategie Arbeit", "slug": "arbeit", "subtitle": "", "framework_title": "",
        "description": "Eine zweite Strategie.", "owner_organisation_id": str(world.organisation.id),
        "visibility": "partners"})
    assert response.status_code == 302
    strategy = db.session.scalar(sa.select(Strategy).filter_by(slug="arbeit"))
    assert strategy.visibility == Visibility.PARTNERS
    assert strategy.owner_organisation_id == world.organisation.id
    event = _last_event("strategy.create")
    assert event.actor_id == world.admin.id and event.object_id == str(strategy.id)
    assert event.detail["slug"] == "arbeit"


def test_strategy_form_errors_are_german_next_to_the_field_and_keep_what_was_typed(client, auth, world):
    auth.login(world.admin)
    response = client.post("/verwaltung/strategien/neu", data={
        "title": "", "slug": world.strategy.slug, "description": "Mein langer Text, der bleiben muss.",
        "owner_organisation_id": "", "visibility": "public"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="title-error"' in html and "Bitte geben Sie einen Titel ein." in html
    assert 'id="slug-error"' in html and "Diesen Kurznamen hat schon eine andere Strategie." in html
    assert 'aria-invalid="true"' in html
    assert "Mein langer Text, der bleiben muss." in html
    assert db.session.scalar(sa.select(sa.func.count(Strategy.id))) == 1


@pytest.mark.parametrize("field, value, message", [
    ("slug", "Groß Buchstaben", "Nur Kleinbuchstaben"),
    ("title", "Titel\x00mit NUL", "unzulässige Steuerzeichen"),
    ("description", "x" * 1_000_000, "Bitte höchstens 20000 Zeichen"),
    ("visibility", "geheim", None),
    ("owner_organisation_id", "999999", None),
    ("owner_organisation_id", "keine-zahl", None),
])
def test_hostile_strategy_input_gets_a_message_and_stores_nothing(client, auth, world, field, value, message):
    auth.login(world.admin)
    data = {"title": "Neue Strategie", "slug": "neu", "subtitle": "", "framework_title": "", "description": "",
            "owner_organisation_id": "", "visibility": "internal", field: value}
    response = client.post("/verwaltung/strategien/neu", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    if message:
        assert message in html
    assert db.session.scalar(sa.select(Strategy).filter_by(slug="neu")) is None


def test_changing_visibility_touches_the_status_pages_cache_validator(client, auth, world):
    before = world.strategy.settings_changed_at
    auth.login(world.admin)
    client.post(f"/verwaltung/strategien/{world.strategy.id}/bearbeiten", data={
        "title": world.strategy.title, "slug": world.strategy.slug, "subtitle": "", "framework_title": "",
        "description": "", "owner_organisation_id": "", "visibility": "internal"})
    db.session.expire_all()
    strategy = db.session.get(Strategy, world.strategy.id)
    assert strategy.visibility == Visibility.INTERNAL
    assert strategy.settings_changed_at > before
    assert _last_event("strategy.edit").detail["visibility"] == {"before": "public", "after": "internal"}


# --- fields: numbering ---------------------------------------------------------------------------------

def _numbers(strategy_id: int) -> dict[str, int]:
    db.session.expire_all()
    return {f.title: f.number for f in db.session.scalars(sa.select(Field).filter_by(strategy_id=strategy_id))}


def test_moving_a_field_up_swaps_it_with_its_neighbour(client, auth, world):
    auth.login(world.admin)
    third = world.fields[2]
    response = client.post(f"/verwaltung/handlungsfelder/{third.id}/verschieben", data={"direction": "up"})
    assert response.status_code == 302
    assert _numbers(world.strategy.id) == {"Handlungsfeld 1": 1, "Handlungsfeld 2": 3, "Handlungsfeld 3": 2,
                                           "Handlungsfeld 4": 4}
    assert _last_event("field.reorder").detail["numbers"] == {"3": 2, "2": 3}


def test_a_move_past_either_end_changes_nothing(client, auth, world):
    auth.login(world.admin)
    client.post(f"/verwaltung/handlungsfelder/{world.fields[0].id}/verschieben", data={"direction": "up"})
    client.post(f"/verwaltung/handlungsfelder/{world.fields[3].id}/verschieben", data={"direction": "down"})
    assert sorted(_numbers(world.strategy.id).values()) == [1, 2, 3, 4]
    assert _numbers(world.strategy.id)["Handlungsfeld 1"] == 1


def test_an_unknown_direction_is_a_bad_request(client, auth, world):
    auth.login(world.admin)
    assert client.post(f"/verwaltung/handlungsfelder/{world.field.id}/verschieben",
                       data={"direction": "sideways"}).status_code == 400


def test_reordering_a_whole_cycle_never_breaks_the_unique_number(world):
    first, second, third, fourth = world.fields
    # Every field moves: 4→1, 1→2, 2→3, 3→4; a naive UPDATE would collide on (strategy, number) at once.
    moved = numbering.reorder_fields(world.admin, world.strategy, [fourth.id, first.id, second.id, third.id])
    db.session.commit()
    assert moved == {4: 1, 1: 2, 2: 3, 3: 4}
    assert _numbers(world.strategy.id) == {"Handlungsfeld 4": 1, "Handlungsfeld 1": 2, "Handlungsfeld 2": 3,
                                           "Handlungsfeld 3": 4}


def test_admins_moving_fields_at_the_same_time_keep_the_numbering_whole(app, world):
    """Four admins (threads with their own connections) move four fields at once: every move lands, one after
    the other, and the numbers stay 1…4 without a constraint error or a lost update."""
    import threading

    field_ids = [f.id for f in world.fields]
    admin_id = world.admin.id
    db.session.commit()
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(field_ids))

    def move(field_id: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                numbering.move_field(db.session.get(User, admin_id), db.session.get(Field, field_id), 1)
                db.session.commit()
            except BaseException as error:  # reported below, in the test's own thread
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=move, args=(field_id,)) for field_id in field_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(_numbers(world.strategy.id).values()) == [1, 2, 3, 4]
    # three of the four moves changed something (the last field cannot move down); each was logged
    events = db.session.scalars(sa.select(AuditEvent).filter_by(action="field.reorder")).all()
    assert 3 <= len(events) <= 4


def test_a_stale_order_changes_nothing(world):
    with pytest.raises(numbering.StaleStructure):
        numbering.reorder_fields(world.admin, world.strategy, [f.id for f in world.fields[:3]])
    db.session.rollback()
    assert sorted(_numbers(world.strategy.id).values()) == [1, 2, 3, 4]


def test_renumbering_keeps_the_approved_snapshot_in_step(world, make):
    make.approve(*world.fields)
    numbering.move_field(world.admin, world.fields[1], -1)
    db.session.commit()
    db.session.expire_all()
    moved = db.session.get(Field, world.fields[1].id)
    assert moved.number == 1 and moved.approved_content["number"] == 1
    assert moved.approved_content["title"] == "Handlungsfeld 2"


def test_archived_fields_keep_their_number_and_moves_skip_them(world):
    strategies.set_field_archived(world.admin, world.fields[1], True)  # field 2
    numbering.move_field(world.admin, world.fields[2], -1)  # field 3 moves before field 1
    db.session.commit()
    assert _numbers(world.strategy.id) == {"Handlungsfeld 1": 3, "Handlungsfeld 2": 2, "Handlungsfeld 3": 1,
                                           "Handlungsfeld 4": 4}


def test_closing_gaps_numbers_live_fields_first_and_archived_after(client, auth, world):
    strategies.set_field_archived(world.admin, world.fields[1], True)
    db.session.commit()
    auth.login(world.admin)
    page = client.get(f"/verwaltung/strategien/{world.strategy.id}/handlungsfelder").get_data(as_text=True)
    assert "Lückenlos nummerieren" in page
    client.post(f"/verwaltung/strategien/{world.strategy.id}/handlungsfelder/nummerierung")
    assert _numbers(world.strategy.id) == {"Handlungsfeld 1": 1, "Handlungsfeld 3": 2, "Handlungsfeld 4": 3,
                                           "Handlungsfeld 2": 4}
    assert _last_event("field.renumber").actor_id == world.admin.id


def test_a_new_field_takes_the_next_free_number_and_starts_its_history(client, auth, world):
    strategies.set_field_archived(world.admin, world.fields[3], True)  # number 4 stays taken
    db.session.commit()
    auth.login(world.admin)
    response = client.post(f"/verwaltung/strategien/{world.strategy.id}/handlungsfelder/neu",
                           data={"title": "Zugang zu Gesundheit", "goal_text": "Alle haben Zugang."})
    assert response.status_code == 302
    field = db.session.scalar(sa.select(Field).filter_by(strategy_id=world.strategy.id, title="Zugang zu Gesundheit"))
    assert field.number == 5
    revision = db.session.scalar(sa.select(Revision).filter_by(field_id=field.id))
    assert revision.kind == RevisionKind.CREATE and revision.author_id == world.admin.id
    assert _last_event("field.create").detail["number"] == 5


# --- fields: title, goal, archive ----------------------------------------------------------------------

def test_renaming_a_field_writes_a_revision_into_its_history(client, auth, world):
    auth.login(world.admin)
    response = client.post(f"/verwaltung/handlungsfelder/{world.field.id}/bearbeiten",
                           data={"title": "Konsens über alle Ebenen", "goal_text": "Ziel 1"})
    assert response.status_code == 302
    revision = db.session.scalars(sa.select(Revision).filter_by(field_id=world.field.id)
                                  .order_by(Revision.id.desc())).first()
    assert revision.changed_columns == ["title"]
    assert revision.content["title"] == "Konsens über alle Ebenen"
    assert revision.author_id == world.admin.id
    assert _last_event("field.edit").detail["title"] == {"before": "Handlungsfeld 1",
                                                         "after": "Konsens über alle Ebenen"}


def test_saving_an_unchanged_field_writes_no_revision_and_no_event(client, auth, world):
    auth.login(world.admin)
    client.post(f"/verwaltung/handlungsfelder/{world.field.id}/bearbeiten",
                data={"title": "Handlungsfeld 1", "goal_text": "Ziel 1"})
    assert db.session.scalar(sa.select(sa.func.count(Revision.id)).filter_by(field_id=world.field.id)) == 0
    assert _last_event("field.edit") is None


def test_archiving_keeps_the_history_and_takes_the_field_out_of_the_framework(client, auth, world, make):
    field = load_field_row(world.fields[1].id)
    before = field_snapshot(field)
    field.vision = "Eine Vision mit Geschichte."
    record_change(field, world.coordinator, RevisionKind.EDIT, before)
    db.session.commit()
    make.approve(field)
    auth.login(world.admin)

    assert client.post(f"/verwaltung/handlungsfelder/{field.id}/archivieren").status_code == 302
    db.session.expire_all()
    assert db.session.get(Field, field.id).is_archived
    # the edit and the approval's two review steps (submitted, approved) stay; archiving writes none
    assert db.session.scalars(sa.select(Revision.kind).filter_by(field_id=field.id).order_by(Revision.id)).all() \
        == [RevisionKind.EDIT, RevisionKind.REVIEW, RevisionKind.REVIEW]
    overview = client.get(f"/strategien/{world.strategy.slug}/").get_data(as_text=True)
    assert "/handlungsfelder/2\"" not in overview and "/handlungsfelder/3\"" in overview
    assert client.get(f"/strategien/{world.strategy.slug}/handlungsfelder/2").status_code == 404
    admin_page = client.get(f"/verwaltung/strategien/{world.strategy.id}/handlungsfelder").get_data(as_text=True)
    assert "Archivierte Handlungsfelder" in admin_page and "Wiederherstellen" in admin_page
    assert _last_event("field.archive").object_id == str(field.id)
    # its history stays readable (the field keeps its number), but nobody edits or restores it
    history = client.get(f"/strategien/{world.strategy.slug}/handlungsfelder/2/verlauf")
    assert history.status_code == 200
    revision_id = db.session.scalar(sa.select(Revision.id).filter_by(field_id=field.id))
    revision_page = client.get(f"/strategien/{world.strategy.slug}/handlungsfelder/2/verlauf/{revision_id}")
    assert revision_page.status_code == 200 and "Eine Vision mit Geschichte." in revision_page.get_data(as_text=True)
    assert client.get(f"/strategien/{world.strategy.slug}/handlungsfelder/2/bearbeiten").status_code == 404

    assert client.post(f"/verwaltung/handlungsfelder/{field.id}/wiederherstellen").status_code == 302
    assert "/handlungsfelder/2\"" in client.get(f"/strategien/{world.strategy.slug}/").get_data(as_text=True)
    assert _last_event("field.unarchive").object_id == str(field.id)


def test_the_field_list_costs_the_same_queries_for_more_coordinators(client, auth, world, make, count_queries):
    auth.login(world.admin)
    url = f"/verwaltung/strategien/{world.strategy.id}/handlungsfelder"
    client.get(url)
    with count_queries() as few:
        client.get(url)
    for field in world.fields:
        make.user(role=Role.COORDINATOR, strategy=world.strategy, fields=(field,))
    with count_queries() as many:
        assert client.get(url).status_code == 200
    assert many.n == few.n


# --- organisations and people --------------------------------------------------------------------------

def test_organisation_names_are_unique_regardless_of_case(client, auth, world):
    auth.login(world.admin)
    response = client.post("/verwaltung/organisationen/neu",
                           data={"name": "jobcenter musterstadt", "short_name": "", "kind": "jobcentre"})
    assert "Eine Organisation mit diesem Namen gibt es schon." in response.get_data(as_text=True)
    client.post("/verwaltung/organisationen/neu", data={"name": "MSO Verbund", "short_name": "MSO",
                                                         "kind": "migrant_org"})
    organisation = db.session.scalar(sa.select(Organisation).filter_by(name="MSO Verbund"))
    assert organisation.kind == OrganisationKind.MIGRANT_ORG
    assert _last_event("organisation.create").object_id == str(organisation.id)


def test_renaming_an_organisation_shows_in_the_history_of_the_rows_that_name_it(client, auth, world):
    world.field.responsibilities.append(Responsibility(person=world.person, role=ResponsibilityRole.LEAD))
    db.session.commit()
    auth.login(world.admin)
    client.post(f"/verwaltung/organisationen/{world.organisation.id}/bearbeiten",
                data={"name": "Jobcenter Musterstadt", "short_name": "JC", "kind": "jobcentre"})
    revision = db.session.scalar(sa.select(Revision).filter_by(field_id=world.field.id))
    assert revision.changed_columns == ["responsible"]
    assert revision.content["responsible"][0]["label"] == "Erika Beispiel (JC)"
    assert _last_event("organisation.edit").detail["short_name"] == {"before": "Jobcenter", "after": "JC"}


def test_person_changes_are_logged_without_personal_data(client, auth, world):
    auth.login(world.admin)
    client.post(f"/verwaltung/personen/{world.person.id}/bearbeiten",
                data={"name": "Erika Muster", "organisation_id": "", "email": ""})
    db.session.expire_all()
    person = db.session.get(Person, world.person.id)
    assert (person.name, person.organisation_id, person.email) == ("Erika Muster", None, None)
    event = _last_event("person.edit")
    assert event.detail == {"changed": ["email", "name", "organisation_id"]}
    assert "Erika" not in json.dumps(event.detail)


@pytest.fixture
def named_person(world, make):
    """Erika is responsible for field 1, a member (with her organisation) of its working group, and owns a
    next step; the field is approved and has a revision that names her."""
    field = world.field
    field.responsibilities.append(Responsibility(person=world.person, role=ResponsibilityRole.LEAD))
    group = WorkingGroup(name="FG Beteiligung")
    group.members.append(WorkingGroupMember(person=world.person, organisation=world.organisation))
    field.working_groups.append(group)
    field.next_steps.append(NextStep(description="Workshop planen", responsible_person=world.person))
    db.session.commit()
    record_change(load_field_row(field.id), world.admin, RevisionKind.EDIT, None, "angelegt")
    db.session.commit()
    make.approve(field)
    account = make.user(role=Role.COORDINATOR, strategy=world.strategy, fields=(field,), email="erika@konto.example")
    account.person = world.person
    db.session.commit()
    return SimpleNamespace(person=world.person, field=field, account=account)


def test_deleting_a_person_keeps_history_readable_with_a_placeholder(client, auth, world, named_person):
    auth.login(world.admin)
    confirm = client.get(f"/verwaltung/personen/{named_person.person.id}/loeschen").get_data(as_text=True)
    assert "Handlungsfeld 1" in confirm and "erika@konto.example" in confirm
    old_revision = db.session.scalar(sa.select(Revision).filter_by(field_id=named_person.field.id))

    assert client.post(f"/verwaltung/personen/{named_person.person.id}/loeschen").status_code == 302
    db.session.expire_all()
    person = db.session.get(Person, named_person.person.id)
    assert (person.name, person.email, person.organisation_id, person.is_deleted) == (
        PERSON_PLACEHOLDER, None, None, True)
    # links in responsibilities and working groups are gone; a member that also named an organisation keeps it
    assert db.session.scalar(sa.select(Responsibility).filter_by(person_id=person.id)) is None
    member = db.session.scalar(sa.select(WorkingGroupMember))
    assert member.person_id is None and member.organisation_id == world.organisation.id
    step = db.session.scalar(sa.select(NextStep))
    assert step.responsible_person_id is None and step.responsible_organisation_id == world.organisation.id
    assert db.session.get(User, named_person.account.id).person_id is None
    # old revisions keep their text; the change itself is a new revision that no longer names her
    assert db.session.get(Revision, old_revision.id).content["responsible"][0]["label"].startswith("Erika Beispiel")
    latest = db.session.scalars(sa.select(Revision).filter_by(field_id=named_person.field.id)
                                .order_by(Revision.id.desc())).first()
    assert latest.id != old_revision.id and "Erika" not in json.dumps(latest.content)
    # partners and the public no longer read her name
    field = db.session.get(Field, named_person.field.id)
    assert "Erika" not in json.dumps(field.approved_content)
    public_page = client.get(f"/strategien/{world.strategy.slug}/handlungsfelder/1").get_data(as_text=True)
    assert "Erika" not in public_page
    # the list shows the placeholder, and the person cannot be edited or deleted again
    assert "gelöschte Person" in client.get("/verwaltung/personen").get_data(as_text=True)
    assert client.get(f"/verwaltung/personen/{person.id}/bearbeiten").status_code == 404
    assert client.post(f"/verwaltung/personen/{person.id}/loeschen").status_code == 404
    event = _last_event("person.delete")
    assert event.actor_id == world.admin.id and "Erika" not in json.dumps(event.detail)


def test_gdpr_export_holds_everything_about_the_person_and_their_account(app, client, auth, world, named_person):
    her_browser = app.test_client()  # her own login: an audit event and a session of hers
    assert her_browser.post("/anmelden", data={"email": named_person.account.email,
                                               "password": "korrekt-pferd-batterie"}).status_code == 302
    auth.login(world.admin)
    response = client.post(f"/verwaltung/personen/{named_person.person.id}/auskunft")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="auskunft-person-{named_person.person.id}.json"')
    assert "no-store" in response.headers["Cache-Control"]
    data = json.loads(response.get_data(as_text=True))
    person = data["person"]
    assert (person["name"], person["email"], person["organisation"]) == (
        "Erika Beispiel", "erika@example.org", "Jobcenter Musterstadt")
    assert person["responsible_for_fields"][0]["number"] == 1
    assert person["working_groups"][0]["working_group"] == "FG Beteiligung"
    assert person["next_steps"][0]["description"] == "Workshop planen"
    assert person["named_in_field_history"]
    account = data["account"]
    assert account["email"] == "erika@konto.example"
    assert account["roles"] == [{"strategy": world.strategy.slug, "role": "coordinator"}]
    assert account["coordinates_fields"][0]["number"] == 1
    assert "login" in {event["action"] for event in account["audit_events"]}
    assert account["password_set"] is True and account["two_factor_enabled"] is False
    assert account["sessions"] and account["sessions"][0]["ip_address"] == "127.0.0.1"
    text = json.dumps(data)
    assert "argon2" not in text and "password_hash" not in text
    assert _last_event("person.export").object_id == str(named_person.person.id)


def test_gdpr_export_of_an_account_without_a_person(client, auth, world):
    auth.login(world.admin)
    response = client.post(f"/verwaltung/konten/{world.coordinator.id}/auskunft")
    data = json.loads(response.get_data(as_text=True))
    assert data["person"] is None
    assert data["account"]["email"] == world.coordinator.email
    assert _last_event("account.export").object_id == str(world.coordinator.id)


# --- mass assignment: forms change only what they declare ----------------------------------------------

def test_extra_fields_posted_to_field_edit_change_nothing_else(client, auth, world, make):
    other = make.strategy(fields=1)
    auth.login(world.admin)
    client.post(f"/verwaltung/handlungsfelder/{world.field.id}/bearbeiten", data={
        "title": "Neuer Titel", "goal_text": "Ziel 1", "id": "999", "number": "77",
        "strategy_id": str(other.id), "is_archived": "y", "review_state": "approved", "version": "42",
        "vision": "eingeschmuggelt", "approved_content": "{}", "updated_by_id": str(world.coordinator.id)})
    db.session.expire_all()
    field = db.session.get(Field, world.field.id)
    assert field.title == "Neuer Titel"
    assert (field.number, field.strategy_id, field.is_archived, field.version, field.vision) == (
        1, world.strategy.id, False, 1, "")
    assert field.review_state.value == "draft" and field.approved_content is None
    assert db.session.get(Field, 999) is None


def test_extra_fields_posted_to_person_and_organisation_forms_change_nothing_else(client, auth, world):
    auth.login(world.admin)
    client.post(f"/verwaltung/personen/{world.person.id}/bearbeiten", data={
        "name": "Erika Beispiel", "organisation_id": str(world.organisation.id), "email": "erika@example.org",
        "is_deleted": "y", "id": "4711", "is_admin": "y"})
    client.post(f"/verwaltung/organisationen/{world.organisation.id}/bearbeiten", data={
        "name": "Jobcenter Musterstadt", "short_name": "Jobcenter", "kind": "jobcentre", "id": "4712"})
    db.session.expire_all()
    assert not db.session.get(Person, world.person.id).is_deleted
    assert db.session.get(Person, 4711) is None and db.session.get(Organisation, 4712) is None


def test_extra_fields_posted_to_account_forms_change_nothing_else(client, auth, world):
    auth.login(world.admin)
    client.post("/verwaltung/konten/neu", data={
        "email": "neu@example.org", "name": "Neu", "person_id": "", "password_hash": "x", "active": "",
        "failed_login_count": "9", "totp_secret": "ABC", "id": "4713"})
    account = db.session.scalar(sa.select(User).filter_by(email="neu@example.org"))
    assert account.password_hash is None and account.active and account.failed_login_count == 0
    assert account.totp_secret is None and account.id != 4713 and not account.is_admin
    client.post(f"/verwaltung/konten/{world.coordinator.id}", data={
        "email": world.coordinator.email, "name": "Kai", "person_id": "", "active": "", "password_hash": "x",
        "memberships": "steering"})
    db.session.expire_all()
    coordinator = db.session.get(User, world.coordinator.id)
    assert coordinator.name == "Kai" and coordinator.active and coordinator.password_hash != "x"
    assert [m.role for m in coordinator.memberships] == [Role.COORDINATOR]


def test_extra_fields_posted_to_strategy_edit_change_nothing_else(client, auth, world):
    auth.login(world.admin)
    created = world.strategy.created_at
    client.post(f"/verwaltung/strategien/{world.strategy.id}/bearbeiten", data={
        "title": "Neu", "slug": world.strategy.slug, "subtitle": "", "framework_title": "", "description": "",
        "owner_organisation_id": "", "visibility": "public", "block_visibility": '{"head": "internal"}',
        "id": "4714", "created_at": "2000-01-01"})
    db.session.expire_all()
    strategy = db.session.get(Strategy, world.strategy.id)
    assert strategy.title == "Neu" and not strategy.block_visibility and strategy.created_at == created


# --- accounts ------------------------------------------------------------------------------------------

def test_a_new_account_gets_a_one_time_link_that_sets_its_password(app, client, auth, world):
    auth.login(world.admin)
    response = client.post("/verwaltung/konten/neu", data={
        "email": "neue.koordination@example.org", "name": "Neue Koordination", "person_id": ""})
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    html = response.get_data(as_text=True)
    link = re.search(r'id="set-password-link" value="([^"]+)"', html).group(1)
    assert "/passwort-setzen?token=" in link
    account = db.session.scalar(sa.select(User).filter_by(email="neue.koordination@example.org"))
    assert account.password_hash is None
    assert _last_event("account.create").actor_id == world.admin.id
    assert _last_event("set_password_link_created").actor_id == world.admin.id
    assert link.split("token=")[1] not in json.dumps([e.detail for e in db.session.scalars(sa.select(AuditEvent))])

    newcomer = app.test_client()
    path = link.split("localhost", 1)[1]
    password = "ein-langes-neues-Passwort-2026"
    response = newcomer.post(path, data={"new_password": password, "confirm_password": password})
    assert response.status_code == 302
    assert newcomer.post("/anmelden", data={"email": account.email, "password": password}).status_code == 302
    assert newcomer.post(path, data={"new_password": password, "confirm_password": password}).status_code == 410


def test_account_email_must_be_new_regardless_of_case(client, auth, world):
    auth.login(world.admin)
    response = client.post("/verwaltung/konten/neu", data={"email": world.coordinator.email.upper(), "name": "X"})
    html = response.get_data(as_text=True)
    assert "Für diese E-Mail-Adresse gibt es schon ein Konto." in html and 'id="email-error"' in html
    response = client.post("/verwaltung/konten/neu", data={"email": "keine-adresse", "name": "X"})
    assert "Bitte geben Sie eine gültige E-Mail-Adresse ein" in response.get_data(as_text=True)


def test_a_new_link_replaces_the_old_one(app, client, auth, world):
    auth.login(world.admin)
    first = re.search(r'value="([^"]*passwort-setzen[^"]*)"', client.post(
        f"/verwaltung/konten/{world.coordinator.id}/passwort-link").get_data(as_text=True)).group(1)
    second = re.search(r'value="([^"]*passwort-setzen[^"]*)"', client.post(
        f"/verwaltung/konten/{world.coordinator.id}/passwort-link").get_data(as_text=True)).group(1)
    assert first != second
    other = app.test_client()
    assert other.get(first.split("localhost", 1)[1]).status_code == 410
    assert other.get(second.split("localhost", 1)[1]).status_code == 200


def test_deactivating_an_account_ends_its_sessions_at_once(app, client, auth, world):
    coordinator_browser = app.test_client()
    coordinator_browser.post("/anmelden", data={"email": world.coordinator.email,
                                                "password": "korrekt-pferd-batterie"})
    assert coordinator_browser.get("/").status_code == 200
    assert "Abmelden" in coordinator_browser.get("/").get_data(as_text=True)

    auth.login(world.admin)
    assert client.post(f"/verwaltung/konten/{world.coordinator.id}/deaktivieren").status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, world.coordinator.id).active
    assert _last_event("account.deactivate").object_id == str(world.coordinator.id)
    response = coordinator_browser.get(f"/strategien/{world.strategy.slug}/handlungsfelder/1/bearbeiten")
    assert response.status_code == 302 and response.headers["Location"].startswith("/anmelden")

    client.post(f"/verwaltung/konten/{world.coordinator.id}/reaktivieren")
    db.session.expire_all()
    assert db.session.get(User, world.coordinator.id).active
    assert _last_event("account.reactivate").object_id == str(world.coordinator.id)


def test_an_admin_cannot_lock_themselves_out(client, auth, world):
    auth.login(world.admin)
    assert client.post(f"/verwaltung/konten/{world.admin.id}/deaktivieren").status_code == 403
    response = client.post(f"/verwaltung/konten/{world.admin.id}", data={
        "email": world.admin.email, "name": world.admin.name, "person_id": ""})  # is_admin unticked
    assert "Ihre eigenen Verwaltungsrechte können Sie nicht selbst ändern." in response.get_data(as_text=True)
    db.session.expire_all()
    admin = db.session.get(User, world.admin.id)
    assert admin.is_admin and admin.active


def test_roles_and_field_assignments_are_set_per_strategy(client, auth, world, make):
    second = make.strategy(fields=2)
    auth.login(world.admin)
    f1, f2 = world.fields[0], world.fields[1]
    response = client.post(f"/verwaltung/konten/{world.steering.id}/rollen", data={
        f"role_{world.strategy.id}": "coordinator", f"fields_{world.strategy.id}": [str(f1.id), str(f2.id)],
        f"role_{second.id}": "partner"})
    assert response.status_code == 302
    db.session.expire_all()
    account = db.session.get(User, world.steering.id)
    assert {(m.strategy_id, m.role) for m in account.memberships} == {
        (world.strategy.id, Role.COORDINATOR), (second.id, Role.PARTNER)}
    assert {a.field_id for a in account.assignments} == {f1.id, f2.id}
    # field 1 now has two coordinators
    assert db.session.scalar(sa.select(sa.func.count(FieldAssignment.id)).filter_by(field_id=f1.id)) == 2
    event = _last_event("account.access")
    assert event.detail["fields_added"] == [1, 2]
    assert event.detail["roles"][world.strategy.slug] == {"before": "steering", "after": "coordinator"}

    # taking the coordinator role away takes the fields with it
    client.post(f"/verwaltung/konten/{world.steering.id}/rollen", data={
        f"role_{world.strategy.id}": "steering", f"role_{second.id}": ""})
    db.session.expire_all()
    account = db.session.get(User, world.steering.id)
    assert [(m.strategy_id, m.role) for m in account.memberships] == [(world.strategy.id, Role.STEERING)]
    assert account.assignments == []


def test_fields_need_the_coordinator_role(client, auth, world):
    auth.login(world.admin)
    response = client.post(f"/verwaltung/konten/{world.partner.id}/rollen", data={
        f"role_{world.strategy.id}": "partner", f"fields_{world.strategy.id}": [str(world.field.id)]})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="fields_{world.strategy.id}-error"' in html
    assert "Handlungsfelder koordinieren nur Personen mit der Rolle" in html
    assert db.session.scalar(sa.select(FieldAssignment).filter_by(user_id=world.partner.id)) is None


def test_a_field_of_another_strategy_cannot_be_assigned(client, auth, world, make):
    other = make.strategy(fields=1)
    auth.login(world.admin)
    response = client.post(f"/verwaltung/konten/{world.coordinator.id}/rollen", data={
        f"role_{world.strategy.id}": "coordinator", f"fields_{world.strategy.id}": [str(other.all_fields[0].id)],
        f"role_{other.id}": ""})
    assert response.status_code == 200
    assert f'id="fields_{world.strategy.id}-error"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert {a.field_id for a in db.session.get(User, world.coordinator.id).assignments} == {world.field.id}


def test_the_account_list_costs_the_same_queries_for_more_accounts(client, auth, world, make, count_queries):
    auth.login(world.admin)
    client.get("/verwaltung/konten")
    with count_queries() as few:
        client.get("/verwaltung/konten")
    for _ in range(5):
        make.user(role=Role.COORDINATOR, strategy=world.strategy, fields=tuple(world.fields[:2]))
    with count_queries() as many:
        assert client.get("/verwaltung/konten").status_code == 200
    assert many.n == few.n


# --- audit log -----------------------------------------------------------------------------------------

def test_audit_log_is_newest_first_paginated_and_filterable(client, auth, world):
    from strategy.audit import record_event

    for n in range(audit.PAGE_SIZE + 5):
        record_event("strategy.edit", world.admin, object_type="strategy", object_id=str(n))
    record_event("field.archive", world.coordinator, object_type="field", object_id="x")
    db.session.commit()
    auth.login(world.admin)

    strategy_rows = re.compile(r">Strategie \d+</a>")
    first = client.get("/verwaltung/protokoll").get_data(as_text=True)
    assert first.index("Handlungsfeld x") < first.index(f">Strategie {audit.PAGE_SIZE + 4}</a>")
    assert "Seite 1 von 2" in first
    assert len(strategy_rows.findall(first)) == audit.PAGE_SIZE - 2  # + field event + admin login
    second = client.get("/verwaltung/protokoll?page=2").get_data(as_text=True)
    assert ">Strategie 0</a>" in second and "Seite 2 von 2" in second

    by_action = client.get("/verwaltung/protokoll?action=field.archive").get_data(as_text=True)
    assert "Handlungsfeld x" in by_action and not strategy_rows.search(by_action)
    by_user = client.get(f"/verwaltung/protokoll?user={world.coordinator.id}").get_data(as_text=True)
    assert "Handlungsfeld x" in by_user and not strategy_rows.search(by_user)
    invalid = client.get("/verwaltung/protokoll?user=abc&page=-3")
    assert invalid.status_code == 200
    assert "Dieser Filter ist ungültig" in invalid.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/verwaltung/protokoll", "/verwaltung/personen", "/verwaltung/strategien"])
def test_admin_lists_cost_the_same_queries_for_more_rows(client, auth, world, make, count_queries, url):
    auth.login(world.admin)
    client.get(url)
    with count_queries() as few:
        client.get(url)
    for _ in range(4):
        account = make.user(name="Noch jemand")
        auth.login(account)
        make.person(organisation=make.organisation(), user=account)
        make.strategy(fields=2)
    auth.login(world.admin)
    with count_queries() as many:
        assert client.get(url).status_code == 200
    assert many.n == few.n


# --- settings, locks, hostile names --------------------------------------------------------------------

def test_admin_makes_two_factor_login_mandatory_for_privileged_accounts(client, auth, world):
    from strategy.settings import two_factor_required_for_privileged

    auth.login(world.admin)
    assert client.post("/verwaltung/einstellungen", data={"two_factor_required": "y"}).status_code == 302
    assert two_factor_required_for_privileged()
    event = _last_event("setting_changed")
    assert event.actor_id == world.admin.id and event.detail["after"] is True
    assert 'checked' in client.get("/verwaltung/einstellungen").get_data(as_text=True)


def test_admin_lifts_a_login_lock(client, auth, world):
    from datetime import timedelta

    from strategy.models import utcnow

    world.coordinator.locked_until = utcnow() + timedelta(minutes=30)
    world.coordinator.failed_login_count = 10
    db.session.commit()
    auth.login(world.admin)
    assert "Sperre aufheben" in client.get(f"/verwaltung/konten/{world.coordinator.id}").get_data(as_text=True)
    client.post(f"/verwaltung/konten/{world.coordinator.id}/entsperren")
    db.session.expire_all()
    coordinator = db.session.get(User, world.coordinator.id)
    assert coordinator.locked_until is None and coordinator.failed_login_count == 0
    assert _last_event("account_unlocked").actor_id == world.admin.id


def test_names_with_markup_are_shown_as_text(client, auth, world, make):
    make.person("<script>alert(1)</script>", organisation=world.organisation)
    make.organisation("<b>fett</b> e.V.")
    auth.login(world.admin)
    for url in ("/verwaltung/personen", "/verwaltung/organisationen",
                f"/verwaltung/konten/{world.coordinator.id}"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in html and "<b>fett</b>" not in html
    person = db.session.scalar(sa.select(Person).filter_by(name="<script>alert(1)</script>"))
    html = client.get(f"/verwaltung/personen/{person.id}/loeschen").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; löschen?" in html


# --- CSRF: an expired token keeps the typed text, and never opens an admin page to others ----------------

CSRF_ON = {"WTF_CSRF_ENABLED": True, "WTF_CSRF_TIME_LIMIT": 1}


def _csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def _log_in_with_csrf(client, user) -> None:
    token = _csrf_token(client.get("/anmelden").get_data(as_text=True))
    response = client.post("/anmelden", data={"email": user.email, "password": "korrekt-pferd-batterie",
                                               "csrf_token": token})
    assert response.status_code == 302


@pytest.mark.parametrize("app_config", [CSRF_ON])
def test_an_expired_csrf_token_gives_the_admin_form_back_with_the_text_kept(client, world):
    import time

    _log_in_with_csrf(client, world.admin)
    url = f"/verwaltung/handlungsfelder/{world.field.id}/bearbeiten"
    token = _csrf_token(client.get(url).get_data(as_text=True))
    typed = "Ein Leitziel, an dem lange gefeilt wurde."
    time.sleep(2.1)  # the token lives one second in this configuration
    response = client.post(url, data={"csrf_token": token, "title": "Handlungsfeld 1", "goal_text": typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Ihre Eingaben sind erhalten" in html and typed in html
    db.session.expire_all()
    assert db.session.get(Field, world.field.id).goal_text == "Ziel 1"
    # The page's new token works; a lifetime of a second would make that depend on the machine's speed.
    client.application.config["WTF_CSRF_TIME_LIMIT"] = 3600
    response = client.post(url, data={"csrf_token": _csrf_token(html), "title": "Handlungsfeld 1",
                                      "goal_text": typed})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Field, world.field.id).goal_text == typed


@pytest.mark.parametrize("app_config", [CSRF_ON])
def test_a_non_admin_without_a_token_never_sees_an_admin_form(client, world):
    _log_in_with_csrf(client, world.coordinator)
    for url in (f"/verwaltung/konten/{world.admin.id}", "/verwaltung/konten/neu", "/verwaltung/einstellungen",
                f"/verwaltung/konten/{world.admin.id}/rollen"):
        response = client.post(url, data={"email": "x@example.org", "name": "Übernahme", "is_admin": "y"})
        html = response.get_data(as_text=True)
        # CSRF is checked before access: the answer is the expired-form page, which shows no admin form
        assert response.status_code == 400, url
        assert world.admin.email not in html and 'name="is_admin"' not in html, url
        assert "Kein Zugriff" in html and "Formular" in html, url


def _last_event(action: str) -> AuditEvent | None:
    db.session.expire_all()
    return db.session.scalars(sa.select(AuditEvent).filter_by(action=action).order_by(AuditEvent.id.desc())).first()

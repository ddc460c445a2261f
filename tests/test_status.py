"""Status pages for partners and the public: approved content only, per-block visibility, access, caching."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from strategy.extensions import db
from strategy.models import (
    AuditEvent,
    FieldPhase,
    FinancingItem,
    FundingSource,
    NextStep,
    RevisionKind,
    Role,
    StepStatus,
    Visibility,
)
from strategy.status.services import plain_status


def status_url(strategy, *rest: str) -> str:
    return f"/strategien/{strategy.slug}/status" + "".join(rest)


# --- the plain-language status: one rule ----------------------------------------------------------

@pytest.mark.parametrize("row, expected", [
    (None, "not_approved"),
    ({"phase": "preparation", "strategic_goals": "", "next_steps": []}, "preparing"),
    ({"phase": "preparation", "strategic_goals": "- Ziel", "next_steps": []}, "goals_agreed"),
    ({"phase": "workshop_1", "next_steps": []}, "goals_agreed"),
    ({"phase": "workshop_2", "strategic_goals": "- Ziel", "next_steps": [{"status": "planned"}]}, "solutions"),
    ({"phase": "workshop_2", "next_steps": [{"status": "in_progress"}]}, "implementing"),
    ({"phase": "preparation", "next_steps": [{"status": "done"}]}, "implementing"),
    ({"phase": "implementation", "next_steps": []}, "implementing"),
    # a reader who may not see workshop II (no next_steps key) still gets the phase-based status
    ({"phase": "workshop_2"}, "solutions"),
])
def test_plain_status(row, expected):
    assert plain_status(row) == expected


def test_every_plain_status_has_a_label_and_keeps_its_value_in_json():
    import json

    from strategy.status.services import PlainStatus

    assert {status: str(status.label) for status in PlainStatus}  # a member without a label raises KeyError
    assert json.dumps([plain_status(None)]) == '["not_approved"]'



# --- the status page -----------------------------------------------------------------------------

def test_status_page_lists_the_13_fields_with_phase_and_plain_status(client, demo):
    response = client.get(status_url(demo))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    positions = [html.index(field.title) for field in demo.fields]
    assert positions == sorted(positions)
    assert html.count("in Vorbereitung") == 12 and "Lösungen in Arbeit" in html
    assert "Workshop-Phase II" in html
    assert "letzte freigegebene Änderung am" in html
    assert 'role="img"' in html and "Teilnehmende im Modellvorhaben" in html  # the key indicator's chart


def test_only_approved_content_is_shown_even_to_steering(client, auth, make):
    strategy = make.strategy(fields=2)
    field = strategy.fields[0]
    field.vision = "Freigegebene Vision"
    db.session.commit()
    make.approve(field)
    field.vision = "Entwurf der Vision"
    db.session.commit()
    auth.login(make.user(role=Role.STEERING, strategy=strategy))
    page = client.get(status_url(strategy, "/handlungsfelder/1")).get_data(as_text=True)
    assert "Freigegebene Vision" in page and "Entwurf der Vision" not in page
    overview = client.get(status_url(strategy)).get_data(as_text=True)
    assert "noch nicht freigegeben" in overview  # field 2 was never approved
    unapproved = client.get(status_url(strategy, "/handlungsfelder/2")).get_data(as_text=True)
    assert "noch kein Stand freigegeben" in unapproved


def test_due_overdue_and_ending_funding_are_listed(client, make):
    today = date.today()
    strategy = make.strategy(fields=2)
    one, two = strategy.fields
    one.next_steps.extend([
        NextStep(description="Längst überfällig", due_date=today - timedelta(days=10), status=StepStatus.PLANNED),
        NextStep(description="Erledigt und alt", due_date=today - timedelta(days=10), status=StepStatus.DONE),
        NextStep(description="Bald fällig", due_date=today + timedelta(days=20), status=StepStatus.IN_PROGRESS),
        NextStep(description="Fällig im nächsten Jahr", due_date=today + timedelta(days=300)),
    ])
    two.financing_items.extend([
        FinancingItem(source=FundingSource.ESF_PLUS, programme="Läuft bald aus", end_date=today + timedelta(days=60)),
        FinancingItem(source=FundingSource.MUNICIPAL, programme="Läuft lange", end_date=today + timedelta(days=900)),
    ])
    db.session.commit()
    make.approve(one, two)
    html = client.get(status_url(strategy)).get_data(as_text=True)
    overdue = html.split('id="overdue-heading"')[1].split("</section>")[0]
    due = html.split('id="due-heading"')[1].split("</section>")[0]
    funding = html.split('id="funding-heading"')[1].split("</section>")[0]
    assert "Längst überfällig" in overdue and "Erledigt und alt" not in html
    assert "Bald fällig" in due and "Fällig im nächsten Jahr" not in html
    assert "Läuft bald aus" in funding and "Verstetigung offen" in funding and "Läuft lange" not in funding


# --- access: 404 for what a visitor may not know exists ------------------------------------------

PAGES = ["", "/handlungsfelder/1", "/aenderungen"]

# viewer → strategy visibility → status code
ACCESS = {
    "anonymous": {Visibility.PUBLIC: 200, Visibility.PARTNERS: 404, Visibility.INTERNAL: 404},
    "partner": {Visibility.PUBLIC: 200, Visibility.PARTNERS: 200, Visibility.INTERNAL: 404},
    "partner_elsewhere": {Visibility.PUBLIC: 200, Visibility.PARTNERS: 404, Visibility.INTERNAL: 404},
    "coordinator": {Visibility.PUBLIC: 200, Visibility.PARTNERS: 200, Visibility.INTERNAL: 200},
    "admin": {Visibility.PUBLIC: 200, Visibility.PARTNERS: 200, Visibility.INTERNAL: 200},
}


@pytest.mark.parametrize("viewer", list(ACCESS))
def test_access_matrix(client, auth, make, viewer):
    strategies = {v: make.strategy(fields=1, visibility=v) for v in Visibility}
    for strategy in strategies.values():
        make.approve(*strategy.fields)
    elsewhere = make.strategy(fields=1)
    if viewer == "admin":
        auth.login(make.user(admin=True))
    elif viewer == "partner_elsewhere":
        auth.login(make.user(role=Role.PARTNER, strategy=elsewhere))
    elif viewer != "anonymous":
        user = make.user(role=Role.PARTNER if viewer == "partner" else Role.COORDINATOR,
                         strategy=strategies[Visibility.PARTNERS])
        if viewer == "coordinator":
            from strategy.models import Membership

            user.memberships.extend(Membership(strategy=strategies[v], role=Role.COORDINATOR)
                                    for v in (Visibility.PUBLIC, Visibility.INTERNAL))
            db.session.commit()
        auth.login(user)
    for visibility, expected in ACCESS[viewer].items():
        for page in PAGES:
            response = client.get(status_url(strategies[visibility], page))
            assert response.status_code == expected, (viewer, visibility, page)


def test_unknown_field_numbers_are_404(client, make):
    strategy = make.strategy(fields=1)
    assert client.get(status_url(strategy, "/handlungsfelder/2")).status_code == 404
    assert client.get(status_url(strategy, "/handlungsfelder/99999999999")).status_code == 404


# --- per-block visibility ------------------------------------------------------------------------

@pytest.fixture
def financed(make):
    strategy = make.strategy(fields=1, visibility=Visibility.PUBLIC)
    field = strategy.fields[0]
    field.vision = "Die Vision für alle"
    field.financing_items.append(FinancingItem(source=FundingSource.ESF_PLUS, programme="Geheimes Programm",
                                               end_date=date.today() + timedelta(days=30)))
    db.session.commit()
    make.approve(field)
    strategy.block_visibility = {"financing": "partners", "workshop_1": "internal"}
    db.session.commit()
    return strategy


@pytest.mark.parametrize("viewer, sees_financing, sees_vision", [
    ("anonymous", False, False),
    ("partner", True, False),
    ("steering", True, True),
])
def test_blocks_are_shown_to_their_audience_only(client, auth, make, financed, viewer, sees_financing, sees_vision):
    if viewer != "anonymous":
        role = Role.PARTNER if viewer == "partner" else Role.STEERING
        auth.login(make.user(role=role, strategy=financed))
    for page in ("", "/handlungsfelder/1"):
        html = client.get(status_url(financed, page)).get_data(as_text=True)
        assert ("Geheimes Programm" in html) is sees_financing, page
    field_page = client.get(status_url(financed, "/handlungsfelder/1")).get_data(as_text=True)
    assert ("Die Vision für alle" in field_page) is sees_vision
    if not sees_vision:
        assert "Nicht für alle sichtbar" in field_page


def test_admin_sets_block_visibility_and_it_is_recorded(client, auth, make):
    strategy = make.strategy(fields=1)
    admin = make.user(admin=True)
    auth.login(admin)
    form = client.get(f"/strategien/{strategy.slug}/sichtbarkeit")
    assert form.status_code == 200 and "Finanzierung" in form.get_data(as_text=True)
    data = {f"block_{b}": "public" for b in ("head", "preparation", "workshop_1", "workshop_2", "indicators")}
    data["block_financing"] = "partners"
    response = client.post(f"/strategien/{strategy.slug}/sichtbarkeit", data=data)
    assert response.status_code == 302
    db.session.refresh(strategy)
    assert strategy.block_visibility["financing"] == "partners"
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="block_visibility_changed"))
    assert event.actor_id == admin.id and event.detail["after"]["financing"] == "partners"


def test_an_unknown_audience_is_refused_next_to_the_field(client, auth, make):
    strategy = make.strategy(fields=1)
    auth.login(make.user(admin=True))
    data = {f"block_{b}": "public" for b in ("head", "preparation", "workshop_1", "workshop_2", "indicators")}
    data["block_financing"] = "alle-welt"
    response = client.post(f"/strategien/{strategy.slug}/sichtbarkeit", data=data)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    db.session.refresh(strategy)
    assert not strategy.block_visibility


@pytest.mark.parametrize("role", [Role.STEERING])  # the highest role below admin; all roles: test_permissions.py
def test_only_admins_choose_block_visibility(client, auth, make, role):
    strategy = make.strategy(fields=1)
    auth.login(make.user(role=role, strategy=strategy))
    assert client.get(f"/strategien/{strategy.slug}/sichtbarkeit").status_code == 403
    assert client.post(f"/strategien/{strategy.slug}/sichtbarkeit", data={"block_financing": "public"}).status_code == 403


def test_visibility_page_of_a_hidden_strategy_is_a_login_or_404(client, auth, make):
    strategy = make.strategy(fields=1, visibility=Visibility.INTERNAL)
    assert client.get(f"/strategien/{strategy.slug}/sichtbarkeit").status_code == 302  # deny by default: login
    auth.login(make.user(role=Role.PARTNER, strategy=make.strategy(fields=1)))
    assert client.get(f"/strategien/{strategy.slug}/sichtbarkeit").status_code == 404


# --- caching -------------------------------------------------------------------------------------

def test_anonymous_answer_is_shared_cacheable_and_carries_nothing_of_the_viewer(client, demo):
    response = client.get(status_url(demo))
    assert "public" in response.headers["Cache-Control"] and "no-cache" in response.headers["Cache-Control"]
    assert "Cookie" in response.headers["Vary"]
    assert "Set-Cookie" not in response.headers
    assert "csrf_token" not in response.get_data(as_text=True)
    assert response.headers["ETag"] and response.headers["Last-Modified"]


def test_logged_in_answer_is_private(client, auth, make):
    strategy = make.strategy(fields=1)
    user = make.user(role=Role.PARTNER, strategy=strategy, name="Paula Partner")
    auth.login(user)
    response = client.get(status_url(strategy))
    assert "Paula Partner" in response.get_data(as_text=True)
    assert "private" in response.headers["Cache-Control"] and "public" not in response.headers["Cache-Control"]


def test_revalidation_is_a_304_without_rendering(client, demo, count_queries):
    first = client.get(status_url(demo))
    with count_queries() as counter:
        again = client.get(status_url(demo), headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert counter.n <= 2
    by_date = client.get(status_url(demo), headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert by_date.status_code == 304


def test_an_approval_or_a_visibility_change_makes_a_new_etag(client, make):
    strategy = make.strategy(fields=2)
    make.approve(strategy.fields[0])
    etag = client.get(status_url(strategy)).headers["ETag"]
    make.approve(strategy.fields[1])
    after_approval = client.get(status_url(strategy), headers={"If-None-Match": etag})
    assert after_approval.status_code == 200
    etag = after_approval.headers["ETag"]
    strategy.block_visibility = {"financing": "partners"}
    strategy.settings_changed_at = datetime.now(timezone.utc)
    db.session.commit()
    assert client.get(status_url(strategy), headers={"If-None-Match": etag}).status_code == 200


def test_each_language_has_its_own_etag(client, demo):
    german = client.get(status_url(demo))
    assert client.get(f"/sprache/en?next={status_url(demo)}").status_code == 302
    english = client.get(status_url(demo), headers={"If-None-Match": german.headers["ETag"]})
    assert english.status_code == 200 and '<html lang="en">' in english.get_data(as_text=True)


def test_a_stale_etag_wins_over_a_current_date_and_an_old_date_is_stale(client, demo):
    first = client.get(status_url(demo))
    stale_tag = client.get(status_url(demo), headers={"If-None-Match": '"stale"',
                                                      "If-Modified-Since": first.headers["Last-Modified"]})
    assert stale_tag.status_code == 200
    old_date = client.get(status_url(demo), headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert old_date.status_code == 200


def test_an_if_match_header_is_no_revalidation(client, demo):
    # Werkzeug's environ helper would answer a mismatching If-Match with 304; the page is sent in full.
    assert client.get(status_url(demo), headers={"If-Match": '"another"'}).status_code == 200


def test_render_cache_keeps_the_most_recently_used_pages():
    from strategy.status.caching import RenderCache

    cache, renders = RenderCache(size=2), []

    def render(key):
        renders.append(key)
        return f"<p>{key}</p>"

    for key in ("a", "b", "a", "c", "a", "b"):
        assert cache.get_or_render(key, lambda key=key: render(key)) == f"<p>{key}</p>"
    # "b" fell out when "c" came in ("a" had been used since), so it is rendered again.
    assert renders == ["a", "b", "c", "b"]


def test_status_page_costs_a_bounded_number_of_queries(client, make, count_queries):
    counts = []
    for size in (2, 13):
        strategy = make.strategy(fields=size)
        for field in strategy.fields:
            field.next_steps.append(NextStep(description="Schritt", due_date=date.today()))
        db.session.commit()
        make.approve(*strategy.fields)
        with count_queries() as counter:
            assert client.get(status_url(strategy)).status_code == 200
        counts.append(counter.n)
    assert counts[0] == counts[1] <= 4


# --- what changed recently -----------------------------------------------------------------------

def test_recent_changes_name_what_changed_since_the_state_approved_before(app, client, make):
    from strategy.fields.services import load_field_row
    from strategy.review.services import approve, content_fingerprint, submit
    from strategy.revisions import record_change
    from strategy.snapshots import field_snapshot

    strategy = make.strategy(fields=3)
    steering = make.user(role=Role.STEERING, strategy=strategy)
    changed, untouched, new = strategy.fields
    changed.vision = "Alte Vision"
    db.session.commit()
    # Both approved ten weeks ago, through the review workflow (its audit events and revisions carry that time).
    long_ago = datetime.now(timezone.utc) - timedelta(weeks=10)
    app.config["CLOCK"] = lambda: long_ago
    try:
        make.approve(changed, untouched, by=steering)
    finally:
        app.config["CLOCK"] = None
    # Now, through the review workflow: field 1 gets a new vision, field 3 its first approval.
    with app.test_request_context():  # the review services write translated summaries and audit events
        before = field_snapshot(load_field_row(changed.id))
        changed.vision = "Neue Vision"
        changed.phase = FieldPhase.WORKSHOP_1
        record_change(changed, steering, RevisionKind.EDIT, before)
        db.session.commit()
        for field in (changed, new):
            submit(field, steering)
            approve(field, steering, content_fingerprint(field_snapshot(load_field_row(field.id))))
        db.session.commit()

    html = client.get(status_url(strategy, "/aenderungen?wochen=4")).get_data(as_text=True)
    items = html.split('class="change-list"')[1]
    assert "1. Handlungsfeld 1" in items and "3. Handlungsfeld 3" in items
    assert "2. Handlungsfeld 2" not in items  # approved ten weeks ago, not within four
    first = items.split("1. Handlungsfeld 1")[1].split("</li>")[0]
    assert "Phase" in first and "Vision" in first
    assert "Stand freigegeben" in items.split("3. Handlungsfeld 3")[1].split("</li>")[0]
    older = client.get(status_url(strategy, "/aenderungen?wochen=13")).get_data(as_text=True)
    assert "2. Handlungsfeld 2" in older


def test_a_field_approved_several_times_within_the_period_names_what_changed_with_the_diff_one_click_away(
        app, client, make):
    from strategy.fields.services import load_field_row
    from strategy.review.services import approve, content_fingerprint, submit
    from strategy.revisions import record_change
    from strategy.snapshots import field_snapshot

    strategy = make.strategy(fields=1)
    strategy.block_visibility = {"financing": "internal"}  # the public does not read the financing block
    steering = make.user(role=Role.STEERING, strategy=strategy)
    [field] = strategy.fields
    db.session.commit()

    def approve_with(**columns):
        with app.test_request_context():
            before = field_snapshot(load_field_row(field.id))
            for key, value in columns.items():
                setattr(field, key, value)
            record_change(field, steering, RevisionKind.EDIT, before)
            submit(field, steering)
            approve(field, steering, content_fingerprint(field_snapshot(load_field_row(field.id))))
            db.session.commit()

    approve_with(vision="Alle lernen Deutsch.", financing_notes="Geheim: Mittel beantragt")
    approve_with(vision="Alle lernen Deutsch und Englisch.")
    approve_with(gaps="Kitaplätze", financing_notes="Geheim: Mittel bewilligt")

    html = client.get(status_url(strategy, "/aenderungen")).get_data(as_text=True)
    item = html.split('class="change-list"')[1].split("</ol>")[0]
    named = item.split("Erstmals freigegeben, seither geändert:")[1].split("</p>")[0]
    assert "Vision" in named and "Was fehlt?" in named
    assert "Finanzierung" not in named
    assert "Stand freigegeben." not in item
    details = item.split("<details")[1].split("</details>")[0]
    assert "Unterschied anzeigen" in details
    assert 'Englisch.<span class="visually-hidden">]</span></ins>' in details  # the word diff of the vision
    assert "Kitaplätze" in details
    assert "Geheim" not in html  # neither the hidden block's text nor its diff reaches the public

"""Review of a field's row: the state machine by role, comments, and that drafts never reach partners."""
from __future__ import annotations

import pytest

from strategy.extensions import db
from strategy.fields.services import load_field_row
from strategy.models import Edition, Field, ReviewComment, ReviewState, Revision, RevisionKind, Role, Visibility
from strategy.review.services import content_fingerprint
from strategy.revisions import record_change
from strategy.snapshots import field_snapshot

DRAFT_TEXT = "Geheimer Entwurfssatz zur Vision"


@pytest.fixture
def setting(make):
    """A public strategy with two approved fields; field 1 has a draft on top of its approved content."""
    strategy = make.strategy(fields=2, visibility=Visibility.PUBLIC)
    one, two = make.field(strategy, 1), make.field(strategy, 2)
    one.vision = "Freigegebene Vision"
    db.session.commit()
    make.approve(one, two)
    users = {
        "partner": make.user(role=Role.PARTNER, strategy=strategy),
        "steering": make.user(role=Role.STEERING, strategy=strategy),
        "coordinator_own": make.user(role=Role.COORDINATOR, strategy=strategy, fields=(one,)),
        "coordinator_other": make.user(role=Role.COORDINATOR, strategy=strategy, fields=(two,)),
        "admin": make.user(admin=True),
        # Steering who also coordinate field 1 (an assignment besides their role): never approve it.
        "steering_own": make.user(role=Role.STEERING, strategy=strategy, fields=(one,)),
    }
    edit(one, users["coordinator_own"], vision=DRAFT_TEXT)
    return strategy, one, users


def edit(field: Field, author, **columns) -> None:
    """Change the row the way every editor does: through record_change."""
    before = field_snapshot(load_field_row(field.id))
    for key, value in columns.items():
        setattr(field, key, value)
    record_change(field, author, RevisionKind.EDIT, before)
    db.session.commit()


def set_state(field: Field, state: ReviewState) -> None:
    field.review_state = state
    db.session.commit()


def reload(field: Field) -> Field:
    db.session.expire_all()
    return db.session.get(Field, field.id)


def url(strategy, number=1, tail="") -> str:
    return f"/strategien/{strategy.slug}/handlungsfelder/{number}{tail}"


def outcome(response) -> str | int:
    """'ok' for a redirect back after success, 'login' for the login redirect, else the status code."""
    if response.status_code == 302:
        return "login" if "/anmelden" in response.location else "ok"
    return response.status_code


def cases(answers: dict, *roles: str) -> list[str]:
    """The roles an HTTP test of a route family tries. Who may do what is tested as a table in
    test_permissions.py; per route these prove it is asked: anonymous visitors are sent to log in, partners get
    the answer they get (a 404 where the review is hidden from them), and at least one role is let through and
    one refused."""
    assert {"ok"} < {answers[role] for role in roles} and len({answers[role] for role in roles}) >= 3
    return list(roles)


def act_as(client, auth, users, role):
    if role != "anonymous":
        auth.login(users[role])


# --- transitions ---------------------------------------------------------------------------------

SUBMIT = {"anonymous": "login", "partner": 404, "steering": 403, "coordinator_own": "ok",
          "coordinator_other": 403, "admin": "ok"}
REVIEW = {"anonymous": "login", "partner": 404, "steering": "ok", "coordinator_own": 403,
          "coordinator_other": 403, "admin": "ok", "steering_own": 403}


@pytest.mark.parametrize("role", cases(SUBMIT, "anonymous", "partner", "coordinator_own", "coordinator_other"))
def test_submit_by_role(client, auth, setting, role):
    strategy, field, users = setting
    act_as(client, auth, users, role)
    response = client.post(url(strategy, tail="/pruefung/einreichen"))
    assert outcome(response) == SUBMIT[role]
    expected = ReviewState.SUBMITTED if SUBMIT[role] == "ok" else ReviewState.DRAFT
    assert reload(field).review_state == expected


@pytest.mark.parametrize("role", cases(REVIEW, "anonymous", "partner", "steering", "coordinator_own", "steering_own"))
def test_approve_by_role(client, auth, setting, role):
    strategy, field, users = setting
    set_state(field, ReviewState.SUBMITTED)
    fingerprint = content_fingerprint(field_snapshot(load_field_row(field.id)))
    act_as(client, auth, users, role)
    response = client.post(url(strategy, tail="/pruefung/freigeben"), data={"fingerprint": fingerprint})
    assert outcome(response) == REVIEW[role]
    field = reload(field)
    if REVIEW[role] == "ok":
        assert field.review_state == ReviewState.APPROVED
        assert field.approved_content["vision"] == DRAFT_TEXT
        assert field.approved_by_id == users[role].id
    else:
        assert field.review_state == ReviewState.SUBMITTED
        assert field.approved_content["vision"] == "Freigegebene Vision"


@pytest.mark.parametrize("role", cases(REVIEW, "anonymous", "partner", "steering", "coordinator_own", "steering_own"))
def test_return_by_role(client, auth, setting, role):
    strategy, field, users = setting
    set_state(field, ReviewState.SUBMITTED)
    act_as(client, auth, users, role)
    response = client.post(url(strategy, tail="/pruefung/zurueckgeben"),
                           data={"comment": "Bitte die Vision kürzen.", "column": "vision"})
    assert outcome(response) == REVIEW[role]
    field = reload(field)
    comments = db.session.scalars(db.select(ReviewComment).filter_by(field_id=field.id)).all()
    if REVIEW[role] == "ok":
        assert field.review_state == ReviewState.RETURNED
        assert [(c.body, c.column) for c in comments] == [("Bitte die Vision kürzen.", "vision")]
    else:
        assert field.review_state == ReviewState.SUBMITTED
        assert comments == []


def test_a_coordinator_cannot_approve_their_own_field_even_as_steering(client, auth, setting):
    strategy, field, users = setting
    set_state(field, ReviewState.SUBMITTED)
    auth.login(users["steering_own"])
    page = client.get(url(strategy)).get_data(as_text=True)
    assert "/pruefung/freigeben" not in page
    assert "können es deshalb nicht selbst freigeben" in page
    fingerprint = content_fingerprint(field_snapshot(load_field_row(field.id)))
    assert client.post(url(strategy, tail="/pruefung/freigeben"), data={"fingerprint": fingerprint}).status_code == 403
    assert reload(field).review_state == ReviewState.SUBMITTED


FORBIDDEN_TRANSITIONS = [
    # (state before, action, answer) that the state machine refuses, even for an admin: approving and
    # submitting go back to the field with a message (302); returning shows its form again with the error (409)
    (ReviewState.DRAFT, "freigeben", 302),
    (ReviewState.DRAFT, "zurueckgeben", 409),
    (ReviewState.RETURNED, "freigeben", 302),
    (ReviewState.APPROVED, "freigeben", 302),
    (ReviewState.APPROVED, "zurueckgeben", 409),
    (ReviewState.APPROVED, "einreichen", 302),
    (ReviewState.SUBMITTED, "einreichen", 302),
]


@pytest.mark.parametrize("state, action, status", FORBIDDEN_TRANSITIONS)
def test_transitions_the_state_machine_refuses(client, auth, setting, state, action, status):
    strategy, field, users = setting
    set_state(field, state)
    revisions = db.session.scalar(db.select(db.func.count(Revision.id)).filter_by(field_id=field.id))
    auth.login(users["admin"])
    data = {"comment": "Kommentar", "fingerprint": content_fingerprint(field_snapshot(load_field_row(field.id)))}
    response = client.post(url(strategy, tail=f"/pruefung/{action}"), data=data)
    assert response.status_code == status
    assert reload(field).review_state == state
    assert db.session.scalar(db.select(db.func.count(Revision.id)).filter_by(field_id=field.id)) == revisions
    if response.status_code == 302:
        assert "nicht möglich" in client.get(response.location).get_data(as_text=True)


def test_allowed_transitions_in_order_each_leave_a_review_revision(client, auth, setting):
    strategy, field, users = setting
    auth.login(users["coordinator_own"])
    assert outcome(client.post(url(strategy, tail="/pruefung/einreichen"))) == "ok"
    auth.logout()
    auth.login(users["steering"])
    client.post(url(strategy, tail="/pruefung/zurueckgeben"), data={"comment": "Bitte ergänzen."})
    assert reload(field).review_state == ReviewState.RETURNED
    auth.logout()
    auth.login(users["coordinator_own"])
    edit(reload(field), users["coordinator_own"], gaps="Ergänzt")
    assert reload(field).review_state == ReviewState.RETURNED  # editing a returned row keeps it returned
    client.post(url(strategy, tail="/pruefung/einreichen"))
    auth.logout()
    auth.login(users["steering"])
    fingerprint = content_fingerprint(field_snapshot(load_field_row(field.id)))
    client.post(url(strategy, tail="/pruefung/freigeben"), data={"fingerprint": fingerprint})
    field = reload(field)
    assert field.review_state == ReviewState.APPROVED
    assert field.approved_content["gaps"] == "Ergänzt"
    summaries = [r.summary for r in db.session.scalars(
        db.select(Revision).filter_by(field_id=field.id, kind=RevisionKind.REVIEW).order_by(Revision.id))]
    # The setting's first approval (submitted, approved), then this round's four steps.
    assert summaries == ["Zur Prüfung eingereicht", "Freigegeben",
                         "Zur Prüfung eingereicht", "Zurückgegeben: Bitte ergänzen.", "Zur Prüfung eingereicht",
                         "Freigegeben"]
    review = list(db.session.scalars(
        db.select(Revision).filter_by(field_id=field.id, kind=RevisionKind.REVIEW).order_by(Revision.id)))
    # Stored as meaning (strategy.summaries), the approval with the snapshot it made public.
    assert [(r.summary_key, r.summary_args) for r in review] == [
        ("submitted", {}), ("approved", {}),
        ("submitted", {}), ("returned", {"comment": "Bitte ergänzen."}), ("submitted", {}), ("approved", {})]
    assert review[-1].content == field.approved_content and review[-1].changed_columns == []


def test_returning_needs_a_comment_and_keeps_nothing_half_done(client, auth, setting):
    strategy, field, users = setting
    set_state(field, ReviewState.SUBMITTED)
    auth.login(users["steering"])
    response = client.post(url(strategy, tail="/pruefung/zurueckgeben"), data={"comment": "  ", "column": "gaps"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Bitte schreiben Sie, was geändert werden soll." in html
    assert 'aria-invalid="true"' in html
    assert reload(field).review_state == ReviewState.SUBMITTED


def test_approval_refuses_content_that_changed_after_the_reviewer_loaded_it(client, auth, setting):
    strategy, field, users = setting
    set_state(field, ReviewState.SUBMITTED)
    seen = content_fingerprint(field_snapshot(load_field_row(field.id)))
    # The coordinator changes the row in between: that withdraws the submission (back to draft) ...
    edit(field, users["coordinator_own"], gaps="Nachträglich geändert")
    assert reload(field).review_state == ReviewState.DRAFT
    set_state(field, ReviewState.SUBMITTED)  # ... and even if it were submitted again meanwhile:
    auth.login(users["steering"])
    response = client.post(url(strategy, tail="/pruefung/freigeben"), data={"fingerprint": seen})
    assert "hat sich geändert" in client.get(response.location).get_data(as_text=True)
    assert reload(field).review_state == ReviewState.SUBMITTED


# --- the draft rule inside record_change ---------------------------------------------------------

@pytest.mark.parametrize("state", [ReviewState.APPROVED, ReviewState.SUBMITTED])
def test_editing_approved_or_submitted_content_starts_a_new_draft(setting, state):
    _strategy, field, users = setting
    set_state(field, state)
    edit(field, users["coordinator_own"], gaps="Neu")
    field = reload(field)
    assert field.review_state == ReviewState.DRAFT
    assert field.approved_content["vision"] == "Freigegebene Vision"


def test_a_change_that_changes_nothing_keeps_the_approval(setting):
    _strategy, field, users = setting
    set_state(field, ReviewState.APPROVED)
    edit(field, users["coordinator_own"], vision=DRAFT_TEXT)  # same text as before
    assert reload(field).review_state == ReviewState.APPROVED


# --- comments ------------------------------------------------------------------------------------

COMMENT = {"anonymous": "login", "partner": 404, "steering": "ok", "coordinator_own": 403,
           "coordinator_other": 403, "admin": "ok"}
ANSWER = {"anonymous": "login", "partner": 404, "steering": "ok", "coordinator_own": "ok",
          "coordinator_other": 403, "admin": "ok"}


def _thread(field, users) -> ReviewComment:
    comment = ReviewComment(field=field, body="Was heißt das genau?", author=users["steering"],
                            author_name=users["steering"].name, column="vision")
    db.session.add(comment)
    db.session.commit()
    return comment


@pytest.mark.parametrize("role", cases(COMMENT, "anonymous", "partner", "steering", "coordinator_own"))
def test_comment_by_role(client, auth, setting, role):
    strategy, field, users = setting
    act_as(client, auth, users, role)
    response = client.post(url(strategy, tail="/kommentare"), data={"body": "Bitte Quelle nennen.", "column": "gaps"})
    assert outcome(response) == COMMENT[role]
    count = db.session.scalar(db.select(db.func.count(ReviewComment.id)).filter_by(field_id=field.id))
    assert count == (1 if COMMENT[role] == "ok" else 0)


@pytest.mark.parametrize("role", cases(ANSWER, "anonymous", "partner", "coordinator_own", "coordinator_other"))
def test_reply_by_role(client, auth, setting, role):
    strategy, field, users = setting
    thread = _thread(field, users)
    act_as(client, auth, users, role)
    response = client.post(url(strategy, tail=f"/kommentare/{thread.id}/antworten"), data={"body": "Gemeint ist …"})
    assert outcome(response) == ANSWER[role]
    db.session.expire_all()
    assert len(db.session.get(ReviewComment, thread.id).replies) == (1 if ANSWER[role] == "ok" else 0)


@pytest.mark.parametrize("role", cases(ANSWER, "anonymous", "partner", "coordinator_own", "coordinator_other"))
def test_resolve_by_role(client, auth, setting, role):
    strategy, field, users = setting
    thread = _thread(field, users)
    act_as(client, auth, users, role)
    response = client.post(url(strategy, tail=f"/kommentare/{thread.id}/erledigt"))
    assert outcome(response) == ANSWER[role]
    db.session.expire_all()
    assert db.session.get(ReviewComment, thread.id).is_resolved == (ANSWER[role] == "ok")


def test_threads_are_one_level_deep_and_show_on_the_field_page(client, auth, setting):
    strategy, field, users = setting
    thread = _thread(field, users)
    auth.login(users["coordinator_own"])
    client.post(url(strategy, tail=f"/kommentare/{thread.id}/antworten"), data={"body": "Erste Antwort"})
    answer = db.session.scalar(db.select(ReviewComment).filter_by(parent_id=thread.id))
    client.post(url(strategy, tail=f"/kommentare/{answer.id}/antworten"), data={"body": "Antwort auf Antwort"})
    db.session.expire_all()
    assert [r.body for r in db.session.get(ReviewComment, thread.id).replies] == ["Erste Antwort", "Antwort auf Antwort"]
    html = client.get(url(strategy)).get_data(as_text=True)
    assert "Was heißt das genau?" in html and "Antwort auf Antwort" in html
    assert "zu „Vision: Wo wollen wir in 10 Jahren stehen?“" in html


def test_an_empty_reply_answers_with_a_message_and_a_comment_of_another_field_is_a_404(client, auth, setting, make):
    strategy, field, users = setting
    thread = _thread(field, users)
    auth.login(users["steering"])
    response = client.post(url(strategy, tail=f"/kommentare/{thread.id}/antworten"), data={"body": ""})
    assert response.status_code == 400
    assert "Bitte geben Sie eine Antwort ein." in response.get_data(as_text=True)
    assert client.post(url(strategy, 2, f"/kommentare/{thread.id}/erledigt")).status_code == 404
    assert client.post(url(strategy, tail="/kommentare/999999/erledigt")).status_code == 404


def test_a_comment_on_an_unknown_column_is_refused(client, auth, setting):
    strategy, field, users = setting
    auth.login(users["steering"])
    response = client.post(url(strategy, tail="/kommentare"), data={"body": "x", "column": "password_hash"})
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count(ReviewComment.id))) == 0


# --- what steering sees, and what partners never see ---------------------------------------------

def test_steering_sees_what_differs_from_the_approved_version(client, auth, setting):
    strategy, field, users = setting
    auth.login(users["steering"])
    html = client.get(url(strategy)).get_data(as_text=True)
    assert "geändert seit Freigabe" in html
    assert "<del><span class=\"visually-hidden\">[entfernt: </span>Freigegebene" in html
    assert DRAFT_TEXT.split()[0] in html
    assert html.count('class="since-approval"') == 1  # only the vision column differs


def test_the_review_box_tells_added_from_changed_shows_dates_through_the_date_filter_and_links_each_line(
        client, auth, setting):
    from datetime import date
    from decimal import Decimal

    from strategy.models import Indicator, IndicatorValue, NextStep

    strategy, field, users = setting
    before = field_snapshot(load_field_row(field.id))
    field.next_steps.extend([NextStep(description="Kurs planen"), NextStep(description="Träger einladen")])
    field.indicators.append(Indicator(name="Beteiligte Migrant*innenorganisationen",
                                      values=[IndicatorValue(observed_on=date(2026, 11, 30), value=Decimal(18))]))
    record_change(field, users["coordinator_own"], RevisionKind.NEXT_STEP, before)
    db.session.commit()
    auth.login(users["steering"])

    html = client.get(url(strategy)).get_data(as_text=True)
    box = html.split('class="review-panel__changes"')[1].split('class="review-panel__actions"')[0]
    assert "2 Schritte hinzugefügt" in box and "geändert" not in box.split("Schritte")[1].split("</li>")[0]
    assert '<a href="#col-next_steps">2 Schritte hinzugefügt</a>' in box
    assert '<a href="#col-vision">' in box  # a changed column links to its diff as well
    assert "Beteiligte Migrant*innenorganisationen:</span> 30.11.2026: 18" in box
    assert "2026-11-30" not in box


def test_field_page_with_a_review_thread_stays_within_a_query_budget(client, auth, setting, count_queries):
    strategy, field, users = setting
    for _ in range(5):
        _thread(field, users)
    auth.login(users["steering"])
    with count_queries() as counter:
        assert client.get(url(strategy)).status_code == 200
    assert counter.n <= 30


def _draft_urls(strategy, field, edition_id, revision_id, comment_id):
    base = f"/strategien/{strategy.slug}"
    return [
        f"{base}/",
        url(strategy),
        url(strategy, tail="/verlauf"),
        url(strategy, tail=f"/verlauf/{revision_id}"),
        url(strategy, tail="/pruefung/zurueckgeben"),
        url(strategy, tail=f"/kommentare/{comment_id}/antworten"),
        f"{base}/fassungen/",
        f"{base}/fassungen/{edition_id}/",
        f"{base}/fassungen/{edition_id}/handlungsfelder/1",
        f"{base}/vergleich",
        f"{base}/vergleich?von={edition_id}&bis=heute",
        f"/api/v1/strategies/{strategy.slug}",
    ]


@pytest.mark.parametrize("role", ["anonymous", "partner"])
def test_no_draft_text_reaches_partners_or_visitors_through_any_url(client, auth, setting, role, make):
    strategy, field, users = setting
    # An edition made while the draft exists, a comment quoting the draft, the draft in the history.
    from datetime import date

    from strategy.review.services import create_edition

    edition = create_edition(strategy, users["steering"], "Fassung 1", date(2026, 3, 1))
    comment = ReviewComment(field=field, body=f"Zum Satz „{DRAFT_TEXT}“", author=users["steering"],
                            author_name="Lenkung")
    db.session.add(comment)
    db.session.commit()
    revision = db.session.scalar(db.select(Revision).filter_by(field_id=field.id).order_by(Revision.id.desc()))
    assert DRAFT_TEXT in str(revision.content)
    act_as(client, auth, users, role)
    for address in _draft_urls(strategy, field, edition.id, revision.id, comment.id):
        response = client.get(address)
        body = response.get_data(as_text=True)
        assert DRAFT_TEXT not in body, address
        assert "Geheimer" not in body, address
    assert "Freigegebene Vision" in client.get(url(strategy)).get_data(as_text=True)


def test_the_review_panel_is_only_for_those_who_may_see_drafts(client, auth, setting):
    strategy, field, users = setting
    auth.login(users["partner"])
    html = client.get(url(strategy)).get_data(as_text=True)
    assert 'id="pruefung"' not in html and "geändert seit Freigabe" not in html
    auth.logout()
    auth.login(users["coordinator_own"])
    html = client.get(url(strategy)).get_data(as_text=True)
    assert 'id="pruefung"' in html and "Zur Prüfung einreichen" in html


# --- editions by role ----------------------------------------------------------------------------

CREATE_EDITION = {"anonymous": "login", "partner": 403, "steering": "ok", "coordinator_own": 403,
                  "coordinator_other": 403, "admin": "ok"}


@pytest.mark.parametrize("role", cases(CREATE_EDITION, "anonymous", "partner", "steering"))
def test_create_edition_by_role(client, auth, setting, role):
    strategy, field, users = setting
    act_as(client, auth, users, role)
    response = client.post(f"/strategien/{strategy.slug}/fassungen/neu",
                           data={"title": "Beschluss Koordinierungsgruppe 03/2026", "decided_on": "2026-03-12"})
    assert outcome(response) == CREATE_EDITION[role]
    assert db.session.scalar(db.select(db.func.count(Edition.id))) == (1 if CREATE_EDITION[role] == "ok" else 0)


@pytest.mark.parametrize("role", ["anonymous", "partner"])  # the rest read it too: test_permissions.py
def test_everyone_who_reads_the_strategy_reads_its_editions(client, auth, setting, role):
    strategy, field, users = setting
    from datetime import date

    from strategy.review.services import create_edition

    edition = create_edition(strategy, users["steering"], "Fassung 1", date(2026, 3, 1))
    db.session.commit()
    act_as(client, auth, users, role)
    assert client.get(f"/strategien/{strategy.slug}/fassungen/{edition.id}/").status_code == 200


def test_editions_of_an_internal_strategy_are_a_404_for_partners_of_other_strategies(client, auth, make):
    strategy = make.strategy(fields=1, visibility=Visibility.INTERNAL)
    steering = make.user(role=Role.STEERING, strategy=strategy)
    make.approve(make.field(strategy, 1))
    from datetime import date

    from strategy.review.services import create_edition

    edition = create_edition(strategy, steering, "Intern", date(2026, 1, 1))
    db.session.commit()
    outsider = make.user(role=Role.PARTNER, strategy=make.strategy(fields=1))
    auth.login(outsider)
    for address in (f"/strategien/{strategy.slug}/fassungen/", f"/strategien/{strategy.slug}/fassungen/{edition.id}/",
                    f"/strategien/{strategy.slug}/vergleich"):
        assert client.get(address).status_code == 404


def test_the_overview_shows_review_states_to_steering_only(client, auth, setting):
    strategy, field, users = setting
    set_state(field, ReviewState.SUBMITTED)
    auth.login(users["steering"])
    html = client.get(f"/strategien/{strategy.slug}/").get_data(as_text=True)
    assert 'badge--review-submitted">zur Prüfung' in html
    auth.logout()
    auth.login(users["partner"])
    html = client.get(f"/strategien/{strategy.slug}/").get_data(as_text=True)
    assert "badge--review" not in html

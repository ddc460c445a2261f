"""Editing a field's row: who may do what, saving with compare-and-swap and three-way merge, history, restore,
and what hostile or broken input gets as an answer."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest

from strategy.extensions import db
from strategy.fields.editing import editable_state, sign_base
from strategy.fields.services import load_field_row
from strategy.models import Field, Organisation, Person, Revision, RevisionKind, Role, Visibility
from strategy.revisions import record_change
from strategy.snapshots import field_snapshot

# --- helpers: read a form as a browser would submit it -------------------------------------------

class _FormReader(HTMLParser):
    def __init__(self, form_class: str):
        super().__init__(convert_charrefs=True)
        self.form_class = form_class
        self.inside = False
        self.values: dict[str, list[str]] = {}
        self._textarea: str | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.form_class in (a.get("class") or "").split():
            self.inside = True
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button"):
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            self.values.setdefault(name, []).append(a.get("value", "y" if a.get("type") == "checkbox" else ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = [""]
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, False
        elif tag == "option" and self._select:
            if self._select_first is None:
                self._select_first = a.get("value")
            if "selected" in a:
                self.values[self._select] = [a.get("value")]
                self._select_chosen = True

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select:
            if not self._select_chosen:
                self.values[self._select] = [self._select_first]
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea][0] += data


def form_values(html: str, form_class: str = "edit-form") -> dict[str, str]:
    reader = _FormReader(form_class)
    reader.feed(html)
    # A textarea drops one leading newline, as browsers do.
    return {name: _drop_first_newline(v[0]) if v else "" for name, v in reader.values.items()}


def _drop_first_newline(text: str) -> str:
    for newline in ("\r\n", "\n"):
        if text.startswith(newline):
            return text[len(newline):]
    return text


def field_url(strategy, number: int, suffix: str = "") -> str:
    return f"/strategien/{strategy.slug}/handlungsfelder/{number}{suffix}"


def open_form(client, strategy, number: int) -> dict[str, str]:
    response = client.get(field_url(strategy, number, "/bearbeiten"))
    assert response.status_code == 200
    return form_values(response.get_data(as_text=True))


def two_editors(app, auth, world):
    """The field's coordinator and an admin, each signed in on their own client with field 1's form open."""
    first, second = app.test_client(), app.test_client()
    type(auth)(first).login(world["users"]["coordinator"])
    type(auth)(second).login(world["users"]["admin"])
    strategy = world["strategy"]
    return first, second, open_form(first, strategy, 1), open_form(second, strategy, 1)


def payload_for(field: Field, **changes) -> dict[str, str]:
    """A complete, valid edit form for `field` as it is now (for actors who cannot open the form)."""
    state = editable_state(load_field_row(field.id))
    data = {"version": str(field.version), "base": sign_base(state), "title": state["title"],
            "goal_text": state["goal_text"], "phase": state["phase"]}
    for key in ("current_state", "central_processes", "vision", "strategic_goals", "future_challenges",
                "what_worked", "gaps", "financing_notes"):
        data[key] = state[key]
    data["responsible-0-person"] = ""
    data.update(changes)
    return data


def revisions(field: Field) -> list[Revision]:
    return list(db.session.scalars(db.select(Revision).filter_by(field_id=field.id).order_by(Revision.id)))


def edits(field: Field) -> list[Revision]:
    """The revisions that changed the row's content, without the review steps between them."""
    return [revision for revision in revisions(field) if revision.kind != RevisionKind.REVIEW]


def reload(field: Field) -> Field:
    db.session.expire_all()
    return db.session.get(Field, field.id)


# --- a small strategy with one user per role ----------------------------------------------------

@pytest.fixture
def world(make):
    strategy = make.strategy(fields=2, visibility=Visibility.PUBLIC)
    own, other = make.field(strategy, 1), make.field(strategy, 2)
    for field in (own, other):
        field.vision = f"Vision {field.number}, erste Fassung."
        record_change(load_field_row(field.id), None, RevisionKind.CREATE, None)
        db.session.commit()
        before = field_snapshot(load_field_row(field.id))
        field.vision = f"Vision {field.number}, dritte Fassung."
        record_change(field, None, RevisionKind.EDIT, before)
        db.session.commit()
    make.approve(own, other)  # each field's history: created, edited, submitted, approved
    users = {
        "partner": make.user(role=Role.PARTNER, strategy=strategy),
        "steering": make.user(role=Role.STEERING, strategy=strategy),
        "coordinator": make.user(role=Role.COORDINATOR, strategy=strategy, fields=(own,), name="Koordination HF1"),
        "admin": make.user(admin=True, name="Administration"),
    }
    return {"strategy": strategy, "own": own, "other": other, "users": users}


# --- the permission matrix ------------------------------------------------------------------------

ACTIONS = ("view page", "open edit form", "save", "view history", "view revision", "restore")

# Who may do what is tested as a table in test_permissions.py; this smaller HTTP matrix proves each route asks:
# per action anonymous visitors are sent to log in, and at least one actor is let through and one refused,
# the coordinator on their own field ("own" = field 1) and on another ("other" = field 2).
# (actor, whose field, action, expected status)
CASES = [
    ("anonymous", "own", "view page", 200),
    *[("anonymous", "own", action, 302) for action in ACTIONS[1:]],
    ("coordinator", "own", "open edit form", 200),
    ("coordinator", "other", "open edit form", 403),
    ("coordinator", "own", "save", 302),
    ("coordinator", "other", "save", 403),
    ("steering", "own", "save", 403),
    ("admin", "other", "save", 302),  # admins edit every field, without an assignment
    ("steering", "own", "view history", 200),
    ("partner", "own", "view history", 403),
    ("steering", "own", "view revision", 200),
    ("partner", "own", "view revision", 403),
    ("coordinator", "own", "restore", 302),
    ("coordinator", "other", "restore", 403),
    ("steering", "own", "restore", 403),  # reads the history, may not restore
]


def _do(client, world, which: str, action: str):
    strategy, field = world["strategy"], world[which]
    first_revision = revisions(field)[0]
    if action == "view page":
        return client.get(field_url(strategy, field.number))
    if action == "open edit form":
        return client.get(field_url(strategy, field.number, "/bearbeiten"))
    if action == "save":
        return client.post(field_url(strategy, field.number, "/bearbeiten"),
                           data=payload_for(field, vision="Von wem auch immer geändert."))
    if action == "view history":
        return client.get(field_url(strategy, field.number, "/verlauf"))
    if action == "view revision":
        return client.get(field_url(strategy, field.number, f"/verlauf/{first_revision.id}"))
    if action == "restore":
        return client.post(field_url(strategy, field.number, f"/verlauf/{first_revision.id}/wiederherstellen"),
                           data={"version": str(field.version)})
    raise AssertionError(action)


@pytest.mark.parametrize(("actor", "which", "action", "expected"), CASES,
                         ids=[f"{a}-{w}-{x.replace(' ', '_')}" for a, w, x, _e in CASES])
def test_permission_matrix(client, auth, world, actor, which, action, expected):
    if actor != "anonymous":
        auth.login(world["users"][actor])
    field = world[which]
    version, count = field.version, len(revisions(field))

    response = _do(client, world, which, action)

    assert response.status_code == expected
    if actor == "anonymous" and expected == 302:
        assert "/anmelden" in response.headers["Location"]
    changed = reload(field)
    if action in ("save", "restore") and expected == 302 and actor != "anonymous":
        assert (changed.version, len(revisions(changed))) == (version + 1, count + 1)
    else:
        assert (changed.version, len(revisions(changed))) == (version, count)  # nothing written


@pytest.mark.parametrize(("actor", "sees_edit", "sees_history"), [
    ("anonymous", False, False), ("partner", False, False), ("steering", False, True),
    ("coordinator", True, True), ("admin", True, True),
])
def test_field_page_offers_edit_only_to_those_who_may(client, auth, world, actor, sees_edit, sees_history):
    if actor != "anonymous":
        auth.login(world["users"][actor])
    strategy = world["strategy"]
    own = client.get(field_url(strategy, 1)).get_data(as_text=True)
    other = client.get(field_url(strategy, 2)).get_data(as_text=True)
    assert (field_url(strategy, 1, "/bearbeiten") in own) is sees_edit
    assert (field_url(strategy, 1, "/verlauf") in own) is sees_history
    # a coordinator's "Bearbeiten" is on their own field only; admins have it everywhere
    assert (field_url(strategy, 2, "/bearbeiten") in other) is (actor == "admin")


def test_revision_of_another_field_or_strategy_is_not_found(client, auth, world, make):
    auth.login(world["users"]["coordinator"])
    strategy = world["strategy"]
    elsewhere = make.strategy(fields=1)
    foreign = make.field(elsewhere, 1)
    record_change(load_field_row(foreign.id), None, RevisionKind.CREATE, None)
    db.session.commit()
    other_field_revision = revisions(world["other"])[0]
    foreign_revision = revisions(foreign)[0]
    for revision in (other_field_revision, foreign_revision):
        assert client.get(field_url(strategy, 1, f"/verlauf/{revision.id}")).status_code == 404
        response = client.post(field_url(strategy, 1, f"/verlauf/{revision.id}/wiederherstellen"),
                               data={"version": str(world["own"].version)})
        assert response.status_code == 404
    assert client.get(field_url(strategy, 1, "/verlauf/999999")).status_code == 404
    assert client.get(field_url(strategy, 1, "/verlauf/99999999999")).status_code == 404
    assert client.get(field_url(strategy, 7, "/bearbeiten")).status_code == 404


def test_internal_strategy_is_not_found_for_outsiders(client, auth, make):
    strategy = make.strategy(fields=1, visibility=Visibility.INTERNAL)
    outsider = make.user(role=Role.COORDINATOR, strategy=make.strategy(fields=1), fields=())
    auth.login(outsider)
    for suffix in ("/bearbeiten", "/verlauf"):
        assert client.get(field_url(strategy, 1, suffix)).status_code == 404


def test_archived_field_cannot_be_edited(client, auth, world):
    auth.login(world["users"]["admin"])
    world["own"].is_archived = True
    db.session.commit()
    assert client.get(field_url(world["strategy"], 1, "/bearbeiten")).status_code == 404


# --- saving ---------------------------------------------------------------------------------------

def test_coordinator_saves_the_vision_and_a_revision_records_it(client, auth, world):
    user, strategy, field = world["users"]["coordinator"], world["strategy"], world["own"]
    auth.login(user)
    data = open_form(client, strategy, 1)
    data["vision"] = "Dortmund lebt Vielfalt – gemeinsam."

    response = client.post(field_url(strategy, 1, "/bearbeiten"), data=data)

    assert response.status_code == 302
    assert response.headers["Location"].endswith(field_url(strategy, 1))
    field = reload(field)
    assert field.vision == "Dortmund lebt Vielfalt – gemeinsam."
    assert field.version == 2
    latest = revisions(field)[-1]
    assert (latest.kind, latest.changed_columns, latest.author_id) == (RevisionKind.EDIT, ["vision"], user.id)
    assert latest.content["vision"] == "Dortmund lebt Vielfalt – gemeinsam."
    page = client.get(field_url(strategy, 1)).get_data(as_text=True)
    assert "Dortmund lebt Vielfalt – gemeinsam." in page
    assert "Ihre Änderungen wurden gespeichert." in page


def test_browser_line_endings_do_not_count_as_a_change(client, auth, world):
    auth.login(world["users"]["coordinator"])
    world["own"].gaps = "Erste Zeile\nZweite Zeile"
    db.session.commit()
    data = open_form(client, world["strategy"], 1)
    data["gaps"] = data["gaps"].replace("\n", "\r\n")
    count = len(revisions(world["own"]))

    client.post(field_url(world["strategy"], 1, "/bearbeiten"), data=data)

    assert len(revisions(world["own"])) == count


def test_a_save_that_changes_nothing_writes_no_revision_and_says_so(client, auth, world):
    auth.login(world["users"]["coordinator"])
    field = world["own"]
    count, version = len(revisions(field)), field.version
    data = open_form(client, world["strategy"], 1)

    response = client.post(field_url(world["strategy"], 1, "/bearbeiten"), data=data, follow_redirects=True)

    assert "Sie haben nichts geändert; es wurde keine neue Version angelegt." in response.get_data(as_text=True)
    field = reload(field)
    assert (len(revisions(field)), field.version) == (count, version)


def test_working_groups_and_responsible_are_edited_with_known_and_new_names(client, auth, world, make):
    auth.login(world["users"]["coordinator"])
    known_org = make.organisation("Jobcenter Dortmund", short_name="Jobcenter")
    known_person = make.person("Aylin Demir", organisation=known_org)
    data = open_form(client, world["strategy"], 1)
    data.update({
        "working_groups-0-name": "FG Sprache",
        "working_groups-0-members-0-person": "aylin demir",  # a known person, typed in another case
        "working_groups-0-members-0-organisation": "",
        "working_groups-0-members-0-role": "lead",
        "responsible-0-person": "Neue Person",
        "responsible-0-organisation": "jobcenter",  # the known organisation by its short name
        "responsible-0-role": "lead",
    })

    response = client.post(field_url(world["strategy"], 1, "/bearbeiten"), data=data)

    assert response.status_code == 302
    snapshot = field_snapshot(load_field_row(world["own"].id))
    assert snapshot["working_groups"] == [
        {"name": "FG Sprache", "members": [{"label": "Aylin Demir (Jobcenter)", "role": "lead"}]}]
    assert snapshot["responsible"] == [{"label": "Neue Person (Jobcenter)", "role": "lead"}]
    assert db.session.scalar(db.select(db.func.count()).select_from(Person).filter_by(name="Aylin Demir")) == 1
    new_person = db.session.scalar(db.select(Person).filter_by(name="Neue Person"))
    assert new_person.organisation_id == known_org.id
    assert known_person.id != new_person.id
    assert revisions(world["own"])[-1].changed_columns == ["working_groups", "responsible"]

    # removing the group again
    data = open_form(client, world["strategy"], 1)
    data["working_groups-0-remove"] = "y"
    client.post(field_url(world["strategy"], 1, "/bearbeiten"), data=data)
    assert field_snapshot(load_field_row(world["own"].id))["working_groups"] == []


def test_rows_that_stay_keep_their_links_even_to_an_erased_person(client, auth, world, make):
    from strategy.models import Responsibility

    erased = make.person("Gelöschte Person", is_deleted=True)
    world["own"].responsibilities.append(Responsibility(person=erased, position=0))
    db.session.commit()
    auth.login(world["users"]["coordinator"])
    data = open_form(client, world["strategy"], 1)
    assert data["responsible-0-person"] == "Gelöschte Person"
    data.update({"responsible-1-organisation": "Neue Organisation", "responsible-1-role": "member"})

    assert client.post(field_url(world["strategy"], 1, "/bearbeiten"), data=data).status_code == 302

    people = db.session.scalars(db.select(Person).filter_by(name="Gelöschte Person")).all()
    assert [p.id for p in people] == [erased.id]
    links = load_field_row(world["own"].id).responsibilities
    assert [r.person_id for r in links] == [erased.id, None]


def test_a_new_organisation_is_created_from_a_typed_name(client, auth, world):
    auth.login(world["users"]["coordinator"])
    data = open_form(client, world["strategy"], 1)
    data.update({"responsible-0-organisation": "Quartiersbüro Nordstadt", "responsible-0-role": "member"})
    client.post(field_url(world["strategy"], 1, "/bearbeiten"), data=data)
    assert db.session.scalar(db.select(Organisation).filter_by(name="Quartiersbüro Nordstadt")) is not None
    assert field_snapshot(load_field_row(world["own"].id))["responsible"] == [
        {"label": "Quartiersbüro Nordstadt", "role": "member"}]


def test_add_row_buttons_work_without_javascript_and_save_nothing(client, auth, world):
    auth.login(world["users"]["coordinator"])
    data = open_form(client, world["strategy"], 1)
    data["vision"] = "Noch nicht gespeichert"
    data["add"] = "responsible"

    response = client.post(field_url(world["strategy"], 1, "/bearbeiten"), data=data)

    assert response.status_code == 200
    again = form_values(response.get_data(as_text=True))
    assert "responsible-1-person" in again
    assert again["vision"] == "Noch nicht gespeichert"
    assert reload(world["own"]).vision == "Vision 1, dritte Fassung."


def test_edit_page_costs_a_bounded_number_of_queries(client, auth, world, count_queries, make):
    auth.login(world["users"]["coordinator"])
    for n in range(30):
        make.person(f"Person {n}", organisation=make.organisation(f"Org {n}"))
    with count_queries() as counter:
        assert client.get(field_url(world["strategy"], 1, "/bearbeiten")).status_code == 200
    assert counter.n <= 25, counter.statements


# --- two people, one row: compare-and-swap and three-way merge ----------------------------------

def test_second_save_of_the_same_column_shows_the_conflict_and_keeps_what_was_typed(app, auth, world):
    strategy, field = world["strategy"], world["own"]
    first, second, form_a, form_b = two_editors(app, auth, world)

    form_a["vision"] = "Fassung von A."
    assert first.post(field_url(strategy, 1, "/bearbeiten"), data=form_a).status_code == 302
    form_b["vision"] = "Fassung von B."
    form_b["gaps"] = "Lücken, nur von B."
    response = second.post(field_url(strategy, 1, "/bearbeiten"), data=form_b)

    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Inzwischen hat jemand anderes gespeichert" in html
    assert "Fassung von A." in html  # the other person's saved text
    conflict_form = form_values(html)
    assert conflict_form["vision"] == "Fassung von B."  # the user's own text is kept in the form
    assert conflict_form["gaps"] == "Lücken, nur von B."
    assert conflict_form["version"] == str(reload(field).version)
    assert "<del>" in html and "<ins>" in html  # a word diff between the two
    assert reload(field).vision == "Fassung von A."  # nothing of B stored yet
    assert reload(field).gaps == ""

    conflict_form["vision"] = "Fassung von A. Ergänzt um B."  # the user merges by hand
    assert second.post(field_url(strategy, 1, "/bearbeiten"), data=conflict_form).status_code == 302
    field = reload(field)
    assert (field.vision, field.gaps) == ("Fassung von A. Ergänzt um B.", "Lücken, nur von B.")
    assert [r.changed_columns for r in revisions(field)[-2:]] == [["vision"], ["vision", "gaps"]]


def test_the_stored_text_of_a_conflict_keeps_its_lines_and_lists_as_the_field_page_shows_them(app, auth, world):
    strategy = world["strategy"]
    first, second, form_a, form_b = two_editors(app, auth, world)
    form_a["vision"] = "Zwei Ziele:\n\n- Sprachkurse ausbauen\n- Beratung bündeln"
    assert first.post(field_url(strategy, 1, "/bearbeiten"), data=form_a).status_code == 302
    form_b["vision"] = "Eine andere Fassung."

    response = second.post(field_url(strategy, 1, "/bearbeiten"), data=form_b)

    assert response.status_code == 409
    theirs = response.get_data(as_text=True).split('id="theirs-vision"')[1].split("</div>\n")[0]
    field_page = first.get(field_url(strategy, 1)).get_data(as_text=True)
    assert "<li>Sprachkurse ausbauen</li>" in theirs and "<li>Beratung bündeln</li>" in theirs
    assert "<p>Zwei Ziele:</p>" in theirs
    assert "<li>Sprachkurse ausbauen</li>" in field_page  # the same rendering as the field page


def test_columns_changed_by_only_one_side_are_merged_without_a_conflict(app, auth, world):
    strategy, field = world["strategy"], world["own"]
    first, second, form_a, form_b = two_editors(app, auth, world)

    form_a["vision"] = "Vision von A."
    form_a["responsible-0-organisation"] = "Stadt Dortmund"
    assert first.post(field_url(strategy, 1, "/bearbeiten"), data=form_a).status_code == 302
    form_b["gaps"] = "Lücken von B."
    form_b["phase"] = "workshop_1"
    response = second.post(field_url(strategy, 1, "/bearbeiten"), data=form_b, follow_redirects=True)

    assert "wurden übernommen" in response.get_data(as_text=True), response.get_data(as_text=True)[-6000:]
    field = reload(field)
    assert (field.vision, field.gaps, field.phase.value) == ("Vision von A.", "Lücken von B.", "workshop_1")
    assert field_snapshot(load_field_row(field.id))["responsible"] == [{"label": "Stadt Dortmund", "role": "lead"}]
    assert field.version == 3
    assert revisions(field)[-1].changed_columns == ["phase", "gaps"]


def test_both_changing_the_responsible_differently_is_a_conflict_shown_as_lists(app, auth, world):
    strategy, field = world["strategy"], world["own"]
    first, second, form_a, form_b = two_editors(app, auth, world)
    form_a["responsible-0-organisation"] = "Jobcenter Dortmund"
    assert first.post(field_url(strategy, 1, "/bearbeiten"), data=form_a).status_code == 302
    form_b["responsible-0-organisation"] = "Agentur für Arbeit Dortmund"

    response = second.post(field_url(strategy, 1, "/bearbeiten"), data=form_b)

    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert 'id="conflict-responsible"' in html
    assert "Jobcenter Dortmund (FF)" in html  # the stored list, as text
    assert form_values(html)["responsible-0-organisation"] == "Agentur für Arbeit Dortmund"
    assert field_snapshot(load_field_row(field.id))["responsible"] == [{"label": "Jobcenter Dortmund", "role": "lead"}]


def test_the_compare_and_swap_refuses_a_stale_version(world):
    from strategy.fields.editing import _compare_and_swap

    field = world["own"]
    assert not _compare_and_swap(field.id, field.version - 1 if field.version > 1 else 99, {"vision": "x"})
    assert _compare_and_swap(field.id, field.version, {"vision": "neu"})
    db.session.commit()
    assert (reload(field).vision, reload(field).version) == ("neu", 2)


# --- history and restore --------------------------------------------------------------------------

def test_history_lists_who_when_what_and_which_columns(client, auth, world):
    auth.login(world["users"]["steering"])
    html = client.get(field_url(world["strategy"], 1, "/verlauf")).get_data(as_text=True)
    assert html.count("Änderungen ansehen") == 4  # created, edited, and the approval's two review steps
    assert "bearbeitet" in html and "angelegt" in html
    assert "Zur Prüfung eingereicht" in html and "Freigegeben" in html
    assert "Vision: Wo wollen wir in 10 Jahren stehen?" in html


def test_revision_page_shows_a_word_diff_with_text_markers(client, auth, world):
    auth.login(world["users"]["steering"])
    latest = edits(world["own"])[-1]
    html = client.get(field_url(world["strategy"], 1, f"/verlauf/{latest.id}")).get_data(as_text=True)
    assert '<del><span class="visually-hidden">[entfernt: </span>erste' in html
    assert '<ins><span class="visually-hidden">[eingefügt: </span>dritte' in html
    assert "/wiederherstellen" not in html  # steering may not restore


def test_restore_brings_back_an_older_revision_as_a_new_revision(client, auth, world):
    auth.login(world["users"]["coordinator"])
    field = world["own"]
    first = revisions(field)[0]
    page = client.get(field_url(world["strategy"], 1, f"/verlauf/{first.id}")).get_data(as_text=True)
    data = form_values(page, "restore-form")

    response = client.post(field_url(world["strategy"], 1, f"/verlauf/{first.id}/wiederherstellen"), data=data,
                           follow_redirects=True)

    assert "wurde wiederhergestellt" in response.get_data(as_text=True)
    field = reload(field)
    assert field.vision == "Vision 1, erste Fassung."
    latest = revisions(field)[-1]
    assert (latest.kind, latest.changed_columns) == (RevisionKind.RESTORE, ["vision"])
    assert field.version == 2


def test_restore_with_a_stale_version_changes_nothing(client, auth, world):
    auth.login(world["users"]["coordinator"])
    field = world["own"]
    first = revisions(field)[0]
    stale = str(field.version)
    data = open_form(client, world["strategy"], 1)
    data["vision"] = "Inzwischen geändert."
    client.post(field_url(world["strategy"], 1, "/bearbeiten"), data=data)

    response = client.post(field_url(world["strategy"], 1, f"/verlauf/{first.id}/wiederherstellen"),
                           data={"version": stale}, follow_redirects=True)

    assert "inzwischen von jemand anderem geändert" in response.get_data(as_text=True)
    assert reload(field).vision == "Inzwischen geändert."


def test_history_page_costs_a_bounded_number_of_queries(client, auth, world, count_queries):
    auth.login(world["users"]["coordinator"])
    for n in range(15):
        before = field_snapshot(load_field_row(world["own"].id))
        world["own"].gaps = f"Stand {n}"
        record_change(world["own"], None, RevisionKind.EDIT, before)
        db.session.commit()
    with count_queries() as counter:
        assert client.get(field_url(world["strategy"], 1, "/verlauf")).status_code == 200
    assert counter.n <= 12, counter.statements


# --- hostile and broken input ---------------------------------------------------------------------

def _post_edit(client, world, **changes):
    data = open_form(client, world["strategy"], 1)
    data.update(changes)
    return client.post(field_url(world["strategy"], 1, "/bearbeiten"), data=data)


def _unchanged(world) -> bool:
    field = reload(world["own"])
    return field.version == 1 and field.vision == "Vision 1, dritte Fassung." and \
        [r.kind for r in revisions(field)] == [RevisionKind.CREATE, RevisionKind.EDIT, RevisionKind.REVIEW,
                                               RevisionKind.REVIEW]


def test_html_and_script_are_stored_as_text_and_shown_escaped(client, auth, world):
    auth.login(world["users"]["coordinator"])
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)> & <b>fett</b>'
    assert _post_edit(client, world, vision=hostile, title='Titel <i>kursiv</i>').status_code == 302
    assert reload(world["own"]).vision == hostile
    for url in (field_url(world["strategy"], 1), field_url(world["strategy"], 1, "/verlauf"),
                field_url(world["strategy"], 1, f"/verlauf/{revisions(world['own'])[-1].id}"),
                field_url(world["strategy"], 1, "/bearbeiten")):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html and "<i>kursiv</i>" not in html, url
        assert "&lt;i&gt;kursiv" in html, url  # the title, on every page
        if not url.endswith("/verlauf"):  # the history list names changes; it does not show the vision
            assert "&lt;script&gt;" in html, url


@pytest.mark.parametrize(("changes", "message", "input_id"), [
    ({"vision": "x" * 1_000_000}, "Der Text ist zu lang: 1.000.000 Zeichen, erlaubt sind höchstens 20.000.", "vision"),
    ({"gaps": "Text mit \x00 Nullbyte"}, "unzulässige Steuerzeichen", "gaps"),
    ({"vision": "Glocke \x07 im Text"}, "unzulässige Steuerzeichen", "vision"),
    ({"title": "   "}, "Bitte geben Sie einen Titel ein.", "title"),
    ({"title": "T" * 201}, "Höchstens 200 Zeichen.", "title"),
    ({"phase": "fertig"}, "Bitte wählen Sie einen Eintrag aus der Liste.", "phase"),
    ({"responsible-0-person": "Name\x00mit Null"}, "unzulässige Steuerzeichen", "responsible-0-person"),
    ({"responsible-0-person": "P", "responsible-0-role": "chef"}, "Bitte wählen Sie einen Eintrag aus der Liste.",
     "responsible-0-role"),
    ({"working_groups-0-name": "", "working_groups-0-members-0-person": "Jemand"},
     "Bitte geben Sie der Fachgruppe einen Namen.", "working_groups-0-name"),
])
def test_bad_input_gets_a_german_message_next_to_the_field_and_nothing_is_stored(client, auth, world, changes,
                                                                                  message, input_id):
    auth.login(world["users"]["coordinator"])
    response = _post_edit(client, world, **{"vision": "Meine neue Vision, noch nicht gespeichert.", **changes})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{input_id}-error"' in html
    assert message in html
    assert f'href="#{input_id}"' in html  # the summary links to the field
    typed = form_values(html)
    for key, value in changes.items():
        if key in ("vision", "gaps", "title", "working_groups-0-members-0-person"):
            assert typed[key] == (value.strip() if key == "title" else value)  # what was typed is still there
    if "vision" not in changes:
        assert typed["vision"] == "Meine neue Vision, noch nicht gespeichert."
    assert _unchanged(world)


def test_a_forged_or_missing_merge_base_is_refused(client, auth, world):
    auth.login(world["users"]["coordinator"])
    for base in ("gefälscht", ""):
        response = _post_edit(client, world, vision="Neu", base=base)
        assert response.status_code == 400
        assert "Das Formular ist unvollständig" in response.get_data(as_text=True)
    assert _unchanged(world)


def test_wrong_dates_in_the_url_or_form_are_not_a_server_error(client, auth, world):
    # The row form has no date inputs (dates belong to next steps and financing); junk in ids and extra
    # date-like fields must still be answered calmly.
    auth.login(world["users"]["coordinator"])
    assert client.get(field_url(world["strategy"], 1, "/verlauf/2026-13-45")).status_code == 404
    response = _post_edit(client, world, due_date="31.02.2026", version="gestern")
    assert response.status_code == 400
    assert _unchanged(world)
    assert client.get(field_url(world["strategy"], 1)).status_code == 200


class TestWithCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    @staticmethod
    def _login(client, user):
        page = client.get("/anmelden").get_data(as_text=True)
        token = _first_token(page)
        response = client.post("/anmelden", data={"email": user.email, "password": "korrekt-pferd-batterie",
                                                   "csrf_token": token})
        assert response.status_code == 302

    @pytest.mark.parametrize("token", [None, "", "veraltet.abc.def"])
    def test_missing_or_stale_token_keeps_the_text_and_stores_nothing(self, client, world, token):
        self._login(client, world["users"]["coordinator"])
        data = open_form(client, world["strategy"], 1)
        assert data["csrf_token"]
        data["vision"] = "Lange geschrieben, Token abgelaufen."
        if token is None:
            del data["csrf_token"]
        else:
            data["csrf_token"] = token

        response = client.post(field_url(world["strategy"], 1, "/bearbeiten"), data=data)

        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "nichts gespeichert" in html
        again = form_values(html)
        assert again["vision"] == "Lange geschrieben, Token abgelaufen."
        assert again["csrf_token"] and again["csrf_token"] != token
        assert _unchanged(world)
        # saving again with the fresh token works
        assert client.post(field_url(world["strategy"], 1, "/bearbeiten"), data=again).status_code == 302

    def test_restore_without_token_is_refused(self, client, world):
        self._login(client, world["users"]["coordinator"])
        first = revisions(world["own"])[0]
        response = client.post(field_url(world["strategy"], 1, f"/verlauf/{first.id}/wiederherstellen"),
                               data={"version": "1"})
        assert response.status_code == 400
        assert _unchanged(world)


def _first_token(html: str) -> str:
    """The CSRF token of the first form on a page (the login form's)."""
    start = html.index('value="', html.index('name="csrf_token"')) + len('value="')
    return html[start:html.index('"', start)]

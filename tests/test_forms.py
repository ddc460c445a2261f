"""The project's base form: every form derives from it; no text input stores control characters.

Every test runs on SQLite and PostgreSQL (the `app` fixture); on PostgreSQL a NUL byte that reached the
database would be an error, so there a missing check shows as a 500.
"""
from __future__ import annotations

from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from flask_wtf import FlaskForm

from strategy.extensions import db
from strategy.forms import BaseForm, has_control_characters
from strategy.models import (
    ApiToken,
    Edition,
    Field,
    FinancingItem,
    Indicator,
    IndicatorValue,
    NextStep,
    Organisation,
    Person,
    ReviewComment,
    ReviewState,
    Revision,
    Role,
    Strategy,
    User,
)

MESSAGE = "Der Text enthält unzulässige Steuerzeichen"
STORED = (ApiToken, Edition, Field, FinancingItem, Indicator, IndicatorValue, NextStep, Organisation, Person,
          ReviewComment, Revision, Strategy, User)


@pytest.fixture
def world(make):
    strategy = make.strategy(fields=2)
    f1 = make.field(strategy, 1)

    class World:
        pass

    w = World()
    w.strategy, w.f1 = strategy, f1
    w.coordinator = make.user(role=Role.COORDINATOR, strategy=strategy, fields=(f1,))
    w.steering = make.user(role=Role.STEERING, strategy=strategy)
    w.admin = make.user(admin=True)
    w.indicator = Indicator(field=f1, name="Teilnehmende")
    db.session.add(w.indicator)
    db.session.commit()
    return w


def _field(w) -> str:
    return f"/strategien/{w.strategy.slug}/handlungsfelder/1"


def _comment(w) -> ReviewComment:
    from strategy.review.services import add_comment

    comment = add_comment(w.f1, w.steering, "Bitte die Zahlen prüfen.")
    db.session.commit()
    return comment


def _submitted(w) -> None:
    w.f1.review_state = ReviewState.SUBMITTED
    db.session.commit()


STEP = {"schritt-neu-description": "Kooperationsvereinbarung", "schritt-neu-status": "planned"}
FINANCING = {"finanzierung-neu-source": "esf_plus", "finanzierung-neu-programme": "Willkommen Europa",
             "finanzierung-neu-status": "secured"}
INDICATOR = {"kennzahl-neu-name": "Teilnehmende", "kennzahl-neu-unit": "count", "kennzahl-neu-direction": "higher"}
STRATEGY = {"title": "Neue Strategie", "slug": "neu", "visibility": "internal", "owner_organisation_id": ""}

# (who, URL, the rest of a valid form, the input, whether it is multi-line, how the world is prepared)
CASES = [
    ("coordinator", lambda w: _field(w) + "/schritte", lambda w: STEP, "schritt-neu-description", True, None),
    ("coordinator", lambda w: _field(w) + "/schritte", lambda w: STEP, "schritt-neu-person_name", False, None),
    ("coordinator", lambda w: _field(w) + "/schritte", lambda w: STEP, "schritt-neu-organisation_name", False, None),
    ("coordinator", lambda w: _field(w) + "/schritte", lambda w: STEP, "schritt-neu-progress_note", False, None),
    ("coordinator", lambda w: _field(w) + "/finanzierung", lambda w: FINANCING, "finanzierung-neu-programme", False,
     None),
    ("coordinator", lambda w: _field(w) + "/finanzierung", lambda w: FINANCING, "finanzierung-neu-note", True, None),
    ("coordinator", lambda w: _field(w) + "/kennzahlen", lambda w: INDICATOR, "kennzahl-neu-name", False, None),
    ("coordinator", lambda w: f"{_field(w)}/kennzahlen/{w.indicator.id}/werte",
     lambda w: {f"wert-{w.indicator.id}-observed_on": "2025-12-31", f"wert-{w.indicator.id}-value": "12"},
     "wert-{indicator}-source_note", False, None),
    ("steering", lambda w: _field(w) + "/kommentare", lambda w: {"column": ""}, "body", True, None),
    ("coordinator", lambda w: f"{_field(w)}/kommentare/{w.comment.id}/antworten", lambda w: {}, "body", True,
     "comment"),
    ("steering", lambda w: _field(w) + "/pruefung/zurueckgeben", lambda w: {"column": ""}, "comment", True,
     "submitted"),
    ("steering", lambda w: f"/strategien/{w.strategy.slug}/fassungen/neu", lambda w: {"decided_on": "2026-03-01"},
     "title", False, "approved"),
    ("coordinator", lambda w: "/konto/api-zugang", lambda w: {}, "name", False, None),
    ("admin", lambda w: "/verwaltung/strategien/neu", lambda w: STRATEGY, "title", False, None),
    ("admin", lambda w: "/verwaltung/strategien/neu", lambda w: STRATEGY, "description", True, None),
    ("admin", lambda w: f"/verwaltung/strategien/{w.strategy.id}/handlungsfelder/neu", lambda w: {"title": "Neu"},
     "goal_text", True, None),
    ("admin", lambda w: "/verwaltung/organisationen/neu", lambda w: {"name": "Verein", "kind": "other"}, "name",
     False, None),
    ("admin", lambda w: "/verwaltung/personen/neu", lambda w: {"name": "Frau Yilmaz", "organisation_id": ""}, "name",
     False, None),
    ("admin", lambda w: "/verwaltung/konten/neu",
     lambda w: {"name": "Frau Yilmaz", "email": "yilmaz@stadt.example", "person_id": ""}, "name", False, None),
    ("admin", lambda w: "/verwaltung/konten/neu",
     lambda w: {"name": "Frau Yilmaz", "email": "yilmaz@stadt.example", "person_id": ""}, "email", False, None),
    (None, lambda w: "/anmelden", lambda w: {"password": "falsch"}, "email", False, None),
]
HOSTILE = {
    # A single-line input refuses even a tab; a multi-line one keeps its tab and line break but not the NUL.
    False: "Frau\x00Yilmaz\tJobcenter",
    True: "Zeile eins\n\tZeile\x00zwei \x1b[31m",
}


def _stored_rows() -> dict[str, int]:
    return {model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model)) for model in STORED}


class _Inputs(HTMLParser):
    """The value a browser shows in each input and textarea of a page, by id."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("id"):
            self.values[a["id"]] = a.get("value") or ""
        elif tag == "textarea" and a.get("id"):
            self._textarea = a["id"]
            self.values[a["id"]] = ""

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None


def shown_values(html: str) -> dict[str, str]:
    parser = _Inputs()
    parser.feed(html)
    return parser.values


@pytest.mark.parametrize(("who", "url", "data", "name", "multiline", "prepare"), CASES,
                         ids=[f"{case[3]}@{i}" for i, case in enumerate(CASES)])
def test_control_characters_get_a_message_next_to_the_field_nothing_is_stored_and_the_text_stays(
        client, auth, make, world, who, url, data, name, multiline, prepare):
    if prepare == "comment":
        world.comment = _comment(world)
    elif prepare == "submitted":
        _submitted(world)
    elif prepare == "approved":
        make.approve(world.f1)
    if who:
        auth.login(getattr(world, who))
    name = name.format(indicator=world.indicator.id)
    typed = HOSTILE[multiline]
    before = _stored_rows()

    response = client.post(url(world), data={**data(world), name: typed})

    assert response.status_code in (200, 400, 422), response.status_code
    html = response.get_data(as_text=True)
    assert f'id="{name}-error"' in html
    error = html.split(f'id="{name}-error"', 1)[1].split("</p>", 1)[0]
    assert MESSAGE in error
    # Browsers send line breaks in a textarea as CRLF; the form hands them back as they came or as LF.
    assert shown_values(html)[name].replace("\r\n", "\n").lstrip("\n") == typed
    db.session.rollback()
    assert _stored_rows() == before


def test_a_multi_line_input_keeps_tabs_and_line_breaks(client, auth, world):
    auth.login(world.coordinator)
    response = client.post(_field(world) + "/schritte", data={**STEP, "schritt-neu-description": "Erst\tdies\nDann das"})
    assert response.status_code == 303
    assert db.session.scalar(sa.select(NextStep.description)) == "Erst\tdies\nDann das"


@pytest.mark.parametrize(("text", "multiline", "refused"), [
    ("Jobcenter Dortmund", False, False),
    ("Grüße, „Zitat“ – € 1.250 ✓", False, False),
    ("a\tb", False, True),
    ("a\nb", False, True),
    ("a\tb\r\nc", True, False),
    ("a\x00b", True, True),
    ("a\x7fb", True, True),
    ("a\x85b", True, True),  # C1 control (NEL)
    ("a\ufffeb", True, True),
])
def test_which_characters_a_text_may_hold(text, multiline, refused):
    assert has_control_characters(text, multiline) is refused


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_form_of_the_app_derives_from_the_base_form(app, world):
    from strategy.admin.forms import access_form
    from strategy.status.forms import visibility_form

    with app.test_request_context():
        visibility_form(world.strategy)  # forms made per call exist only once built
        access_form([world.strategy], {}, world.admin)
    ours = [cls for cls in _subclasses(FlaskForm) if cls.__module__.startswith("strategy.")]
    assert len(ours) > 20
    assert [cls.__qualname__ for cls in ours if not issubclass(cls, BaseForm)] == []


@pytest.mark.parametrize("query", ["status=open%00", "status=%0d%0aall", "limit=1%00", "offset=%000"])
def test_the_api_stores_no_text_and_answers_control_characters_in_its_parameters_with_400(client, world, query):
    """The API only reads; its few text parameters are checked against fixed values, so they cannot store
    anything, and a control character in them is a plain 400, not a 500."""
    response = client.get(f"/api/v1/strategies/{world.strategy.id}/next-steps?{query}")
    assert response.status_code == 400
    assert response.is_json

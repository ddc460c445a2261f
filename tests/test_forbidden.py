"""The 403 page tells a signed-in user whom to ask, without naming anything the user may not see."""
from __future__ import annotations

from strategy.extensions import db
from strategy.models import Role, Visibility

OWNER = "Amt für Integration der Teststadt"
ASK_OWNER = f"wenden Sie sich an die Verantwortlichen der Strategie „Integrationsstrategie“: {OWNER}."


def _strategy(make, visibility=Visibility.PUBLIC):
    return make.strategy(title="Integrationsstrategie", owner=make.organisation(OWNER), visibility=visibility)


def _coordinator(make, strategy, number, name, organisation=None, active=True):
    person = make.person(name, organisation=make.organisation(organisation)) if organisation else None
    user = make.user(role=Role.COORDINATOR, strategy=strategy, fields=(make.field(strategy, number),), name=name,
                     active=active)
    user.person = person
    db.session.commit()
    return user


def test_a_partner_denied_a_fields_history_is_told_its_coordinators_and_the_strategys_owner(client, auth, make):
    strategy = _strategy(make)
    _coordinator(make, strategy, 2, "Frau Yilmaz", "Jugendamt")
    _coordinator(make, strategy, 2, "Herr Berg")
    _coordinator(make, strategy, 2, "Herr Alt", active=False)
    _coordinator(make, strategy, 3, "Frau Drei")
    auth.login(make.user(role=Role.PARTNER, strategy=strategy))

    response = client.get(f"/strategien/{strategy.slug}/handlungsfelder/2/verlauf")

    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "Kein Zugriff" in html
    assert "Handlungsfeld 2 koordiniert: Frau Yilmaz (Jugendamt), Herr Berg." in html
    assert ASK_OWNER in html
    assert "Herr Alt" not in html and "Frau Drei" not in html


def test_a_field_without_coordinators_says_so(client, auth, make):
    strategy = _strategy(make)
    auth.login(make.user(role=Role.STEERING, strategy=strategy))

    response = client.get(f"/strategien/{strategy.slug}/handlungsfelder/1/bearbeiten")

    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "Für Handlungsfeld 1 ist noch keine Koordination eingetragen." in html
    assert ASK_OWNER in html


def test_a_page_of_the_strategy_names_its_owner_only(client, auth, make):
    strategy = _strategy(make)
    _coordinator(make, strategy, 1, "Frau Yilmaz")
    auth.login(make.user(role=Role.PARTNER, strategy=strategy))

    response = client.get(f"/strategien/{strategy.slug}/offene-schritte")

    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert ASK_OWNER in html
    assert "koordiniert" not in html and "Frau Yilmaz" not in html


def test_a_strategy_without_owner_points_to_the_administration(client, auth, make):
    strategy = make.strategy()
    auth.login(make.user(role=Role.PARTNER, strategy=strategy))

    html = client.get(f"/strategien/{strategy.slug}/offene-schritte").get_data(as_text=True)

    assert "wenden Sie sich an die Verwaltung dieser Anwendung." in html


def test_a_page_of_no_strategy_names_nobody(client, auth, make):
    strategy = _strategy(make)
    auth.login(make.user(role=Role.COORDINATOR, strategy=strategy))

    response = client.get("/verwaltung/")

    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "Kein Zugriff" in html
    assert OWNER not in html and "Verantwortlichen" not in html


def test_a_hidden_strategy_stays_a_404_that_names_nothing(client, auth, make):
    strategy = _strategy(make, visibility=Visibility.INTERNAL)
    _coordinator(make, strategy, 2, "Frau Yilmaz", "Jugendamt")
    auth.login(make.user(role=Role.PARTNER, strategy=strategy))

    response = client.get(f"/strategien/{strategy.slug}/handlungsfelder/2/verlauf")

    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert OWNER not in html and "Frau Yilmaz" not in html and "Integrationsstrategie" not in html


def test_an_anonymous_visitor_is_offered_the_login_and_told_no_names(client, make):
    strategy = _strategy(make)
    strategy.block_visibility = {"financing": Visibility.INTERNAL.value}
    db.session.commit()

    response = client.get(f"/strategien/{strategy.slug}/finanzierung")

    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert f'href="/anmelden?next=/strategien/{strategy.slug}/finanzierung"' in html
    assert OWNER not in html


def test_the_403_page_speaks_english_when_asked(client, auth, make):
    strategy = _strategy(make)
    _coordinator(make, strategy, 2, "Frau Yilmaz")
    auth.login(make.user(role=Role.PARTNER, strategy=strategy))
    client.get("/sprache/en")

    html = client.get(f"/strategien/{strategy.slug}/handlungsfelder/2/verlauf").get_data(as_text=True)

    assert "Field 2 is coordinated by: Frau Yilmaz." in html
    assert f"If you need access, contact those responsible for the strategy “Integrationsstrategie”: {OWNER}." in html

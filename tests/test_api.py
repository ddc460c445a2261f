"""The open-data API: access matrix, tokens, pagination, ETags, JSON errors, and every answer checked against
the OpenAPI description the app serves (schemathesis, offline against the app)."""
from __future__ import annotations

import contextvars
import hashlib
from datetime import date, timedelta
from decimal import Decimal

import pytest

from strategy.api.auth import create_token
from strategy.extensions import db
from strategy.models import (
    ApiToken,
    FinancingItem,
    FundingSource,
    FundingStatus,
    Indicator,
    IndicatorValue,
    NextStep,
    Role,
    StepStatus,
    Visibility,
)

API = "/api/v1"


def _fill(field, today=None):
    """A row with a step, a financing item and an indicator with two values."""
    today = today or date.today()
    field.vision = f"Vision von Feld {field.number}"
    field.next_steps.append(NextStep(description=f"Schritt {field.number}", due_date=today - timedelta(days=3),
                                     status=StepStatus.PLANNED))
    field.next_steps.append(NextStep(description=f"Erledigt {field.number}", status=StepStatus.DONE))
    field.financing_items.append(FinancingItem(source=FundingSource.ESF_PLUS, programme=f"Programm {field.number}",
                                               amount=Decimal("1000.50"), start_date=today,
                                               end_date=today + timedelta(days=90), status=FundingStatus.SECURED))
    indicator = Indicator(name=f"Kennzahl {field.number}", is_key=True)
    indicator.values.extend([IndicatorValue(observed_on=date(2025, 6, 30), value=Decimal(10)),
                             IndicatorValue(observed_on=date(2025, 12, 31), value=Decimal("12.5"))])
    field.indicators.append(indicator)


@pytest.fixture
def world(make):
    """A public, a partners-only and an internal strategy, approved, with users and tokens of each kind."""
    strategies = {}
    for visibility in Visibility:
        strategy = make.strategy(fields=3, visibility=visibility, title=f"Strategie {visibility.value}")
        for field in strategy.fields:
            _fill(field)
        db.session.commit()
        make.approve(*strategy.fields)
        strategies[visibility] = strategy
    people = {
        "partner": make.user(role=Role.PARTNER, strategy=strategies[Visibility.PARTNERS]),
        "steering": make.user(role=Role.STEERING, strategy=strategies[Visibility.INTERNAL]),
        "admin": make.user(admin=True),
        "outsider": make.user(role=Role.PARTNER, strategy=strategies[Visibility.PUBLIC]),
    }
    tokens = {}
    for name, user in people.items():
        _row, tokens[name] = create_token(user, f"Token {name}")
    db.session.commit()
    return {"strategies": strategies, "people": people, "tokens": tokens}


def bearer(token: str | None) -> dict:
    return {"Authorization": f"Bearer {token}"} if token else {}


# --- access matrix -------------------------------------------------------------------------------

ENDPOINTS = ["", "/fields", "/next-steps", "/financing-items", "/indicators", "/editions"]

# who → visibility of the strategy → expected status
MATRIX = {
    None: {Visibility.PUBLIC: 200, Visibility.PARTNERS: 404, Visibility.INTERNAL: 404},
    "outsider": {Visibility.PUBLIC: 200, Visibility.PARTNERS: 404, Visibility.INTERNAL: 404},
    "partner": {Visibility.PUBLIC: 200, Visibility.PARTNERS: 200, Visibility.INTERNAL: 404},
    "steering": {Visibility.PUBLIC: 200, Visibility.PARTNERS: 404, Visibility.INTERNAL: 200},
    "admin": {Visibility.PUBLIC: 200, Visibility.PARTNERS: 200, Visibility.INTERNAL: 200},
}


@pytest.mark.parametrize("who", list(MATRIX), ids=lambda w: w or "anonymous")
def test_access_matrix(client, world, who):
    token = world["tokens"][who] if who else None
    for visibility, expected in MATRIX[who].items():
        strategy = world["strategies"][visibility]
        for endpoint in ENDPOINTS:
            response = client.get(f"{API}/strategies/{strategy.id}{endpoint}", headers=bearer(token))
            assert response.status_code == expected, (who, visibility, endpoint)
            assert response.is_json


@pytest.mark.parametrize("who, expected", [
    (None, {"Strategie public"}),
    ("partner", {"Strategie public", "Strategie partners"}),
    ("steering", {"Strategie public", "Strategie internal"}),
    ("admin", {"Strategie public", "Strategie partners", "Strategie internal"}),
], ids=lambda v: v if isinstance(v, str) else None)
def test_strategy_list_holds_what_the_reader_may_see(client, world, who, expected):
    token = world["tokens"][who] if who else None
    body = client.get(f"{API}/strategies", headers=bearer(token)).get_json()
    assert {item["title"] for item in body["items"]} == expected
    assert body["total"] == len(expected)


def test_a_session_cookie_does_not_authenticate_api_requests(client, auth, world):
    auth.login(world["people"]["partner"])
    partners = world["strategies"][Visibility.PARTNERS]
    assert client.get(f"/strategien/{partners.slug}/status").status_code == 200  # the page: yes
    assert client.get(f"{API}/strategies/{partners.id}").status_code == 404  # the API: no


def test_field_from_another_strategy_is_404(client, world):
    public, partners = world["strategies"][Visibility.PUBLIC], world["strategies"][Visibility.PARTNERS]
    other = partners.fields[0]
    assert client.get(f"{API}/strategies/{public.id}/fields/{other.id}").status_code == 404
    own = public.fields[0]
    assert client.get(f"{API}/strategies/{public.id}/fields/{own.id}").status_code == 200


# --- tokens --------------------------------------------------------------------------------------

@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic abc", "Bearer gst_falsch", "Token x"])
def test_a_bad_authorization_header_is_401_not_anonymous(client, world, header):
    public = world["strategies"][Visibility.PUBLIC]
    response = client.get(f"{API}/strategies/{public.id}", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_user_creates_a_token_sees_it_once_and_it_is_stored_hashed(client, auth, world):
    partner = world["people"]["partner"]
    auth.login(partner)
    page = client.post("/konto/api-zugang", data={"name": "Auswertung"})
    assert page.status_code == 200
    assert page.headers["Cache-Control"].startswith("no-store")
    html = page.get_data(as_text=True)
    token = html.split('<code class="token-value">')[1].split("</code>")[0]
    assert token.startswith("gst_")
    row = db.session.scalar(db.select(ApiToken).filter_by(name="Auswertung"))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr([row.token_hash, row.prefix, row.name])
    assert token not in client.get("/konto/api-zugang").get_data(as_text=True)  # shown once only
    partners = world["strategies"][Visibility.PARTNERS]
    assert client.get(f"{API}/strategies/{partners.id}", headers=bearer(token)).status_code == 200


def test_token_form_without_a_name_says_so_next_to_the_field(client, auth, world):
    auth.login(world["people"]["partner"])
    response = client.post("/konto/api-zugang", data={"name": "  "})
    assert response.status_code == 400
    assert "Bitte geben Sie eine Bezeichnung ein" in response.get_data(as_text=True)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)


def test_a_revoked_token_stops_working(client, auth, world):
    partner, token = world["people"]["partner"], world["tokens"]["partner"]
    partners = world["strategies"][Visibility.PARTNERS]
    row = db.session.scalar(db.select(ApiToken).filter_by(user_id=partner.id))
    auth.login(partner)
    assert client.post(f"/konto/api-zugang/{row.id}/widerrufen").status_code == 302
    assert client.get(f"{API}/strategies/{partners.id}", headers=bearer(token)).status_code == 401


def test_nobody_revokes_someone_elses_token(client, auth, world):
    row = db.session.scalar(db.select(ApiToken).filter_by(user_id=world["people"]["partner"].id))
    auth.login(world["people"]["outsider"])
    assert client.post(f"/konto/api-zugang/{row.id}/widerrufen").status_code == 404
    db.session.refresh(row)
    assert row.revoked_at is None


def test_a_deactivated_users_token_stops_working(client, world):
    world["people"]["partner"].active = False
    db.session.commit()
    public = world["strategies"][Visibility.PUBLIC]
    response = client.get(f"{API}/strategies/{public.id}", headers=bearer(world["tokens"]["partner"]))
    assert response.status_code == 401


def test_the_token_page_needs_a_login(client):
    response = client.get("/konto/api-zugang")
    assert response.status_code == 302 and response.headers["Location"].startswith("/anmelden")


# --- content -------------------------------------------------------------------------------------

def test_fields_carry_the_approved_row_not_the_draft(client, world):
    public = world["strategies"][Visibility.PUBLIC]
    field = public.fields[0]
    field.vision = "Entwurf, noch nicht freigegeben"
    db.session.commit()
    body = client.get(f"{API}/strategies/{public.id}/fields").get_json()
    first = body["items"][0]
    assert first["row"]["vision"] == "Vision von Feld 1"
    assert "Entwurf" not in str(body)
    assert first["approved_at"].endswith("+00:00")
    assert first["status"] in ("preparing", "implementing")


def test_blocks_hidden_from_the_public_are_left_out_and_their_lists_are_403(client, world):
    public = world["strategies"][Visibility.PUBLIC]
    public.block_visibility = {"financing": "partners", "indicators": "internal"}
    db.session.commit()
    field = client.get(f"{API}/strategies/{public.id}/fields").get_json()["items"][0]
    assert "financing_items" not in field["row"] and "financing_notes" not in field["row"]
    assert "indicators" not in field["row"]
    assert field["hidden_blocks"] == ["financing", "indicators"]
    assert client.get(f"{API}/strategies/{public.id}/financing-items").status_code == 403
    outsider = bearer(world["tokens"]["outsider"])  # a partner of the public strategy
    items = client.get(f"{API}/strategies/{public.id}/financing-items", headers=outsider).get_json()["items"]
    assert [i["programme"] for i in items] == ["Programm 1", "Programm 2", "Programm 3"]
    assert items[0]["amount"] == "1000.5" and items[0]["currency"] == "EUR"
    assert client.get(f"{API}/strategies/{public.id}/indicators", headers=outsider).status_code == 403


def test_next_steps_filter_open_and_mark_overdue(client, world):
    public = world["strategies"][Visibility.PUBLIC]
    everything = client.get(f"{API}/strategies/{public.id}/next-steps").get_json()
    open_only = client.get(f"{API}/strategies/{public.id}/next-steps?status=open").get_json()
    assert everything["total"] == 6 and open_only["total"] == 3
    assert all(step["is_overdue"] and step["is_open"] for step in open_only["items"])
    assert date.fromisoformat(open_only["items"][0]["due_date"]) < date.today()
    assert client.get(f"{API}/strategies/{public.id}/next-steps?status=egal").status_code == 400


def test_indicators_come_with_their_values_as_iso_dates_and_decimal_strings(client, world):
    public = world["strategies"][Visibility.PUBLIC]
    indicator = client.get(f"{API}/strategies/{public.id}/indicators").get_json()["items"][0]
    assert indicator["values"] == [
        {"observed_on": "2025-06-30", "value": "10", "source_note": ""},
        {"observed_on": "2025-12-31", "value": "12.5", "source_note": ""},
    ]


def test_editions_are_listed_with_visible_blocks_only(client, world, make):
    public = world["strategies"][Visibility.PUBLIC]
    make.edition(public, "Fassung 2026", date(2026, 3, 1))
    public.block_visibility = {"financing": "partners"}
    db.session.commit()
    body = client.get(f"{API}/strategies/{public.id}/editions").get_json()
    assert [e["title"] for e in body["items"]] == ["Fassung 2026"]
    row = body["items"][0]["fields"][0]["row"]
    assert row["vision"] == "Vision von Feld 1" and "financing_items" not in row


# --- pagination, ETags, errors -------------------------------------------------------------------

def test_pagination_with_limit_offset_and_links(client, world):
    public = world["strategies"][Visibility.PUBLIC]
    first = client.get(f"{API}/strategies/{public.id}/fields?limit=2").get_json()
    assert [f["number"] for f in first["items"]] == [1, 2]
    assert first["total"] == 3 and first["links"]["prev"] is None
    second = client.get(first["links"]["next"]).get_json()
    assert [f["number"] for f in second["items"]] == [3]
    assert second["links"]["next"] is None and "offset=0" in second["links"]["prev"]


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=x", "offset=-1", "offset=99999999999"])
def test_bad_paging_is_a_json_400(client, world, query):
    public = world["strategies"][Visibility.PUBLIC]
    response = client.get(f"{API}/strategies/{public.id}/fields?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


def test_etag_revalidation_answers_304_until_an_approval_changes_the_content(client, world, make, count_queries):
    public = world["strategies"][Visibility.PUBLIC]
    url = f"{API}/strategies/{public.id}/fields"
    first = client.get(url)
    etag = first.headers["ETag"]
    with count_queries() as counter:
        again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert counter.n <= 2  # the strategy and one aggregate: nothing rendered, no rows loaded
    field = public.fields[1]
    field.vision = "Neue Vision"
    db.session.commit()
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304  # a draft changes nothing
    make.approve(field)
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_answers_for_token_holders_are_private_and_anonymous_ones_public(client, world):
    public = world["strategies"][Visibility.PUBLIC]
    anonymous = client.get(f"{API}/strategies/{public.id}")
    assert "public" in anonymous.headers["Cache-Control"] and "Authorization" in anonymous.headers["Vary"]
    with_token = client.get(f"{API}/strategies/{public.id}", headers=bearer(world["tokens"]["partner"]))
    assert "private" in with_token.headers["Cache-Control"]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_api_is_read_only(client, world, method):
    public = world["strategies"][Visibility.PUBLIC]
    response = getattr(client, method)(f"{API}/strategies/{public.id}/fields")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_unknown_paths_and_ids_are_json_404(client):
    for path in ("/nichts", "/strategies/2147483648", "/strategies/0", "/strategies/999"):
        response = client.get(API + path)
        assert response.status_code == 404 and response.get_json()["error"]["status"] == 404


def test_field_list_costs_a_bounded_number_of_queries(client, make, count_queries):
    small, big = make.strategy(fields=2), make.strategy(fields=13)
    for strategy in (small, big):
        for field in strategy.fields:
            _fill(field)
        db.session.commit()
        make.approve(*strategy.fields)
    counts = []
    for strategy in (small, big):
        with count_queries() as counter:
            assert client.get(f"{API}/strategies/{strategy.id}/fields").status_code == 200
        counts.append(counter.n)
    assert counts[0] == counts[1] <= 5


# --- the OpenAPI description ---------------------------------------------------------------------

def _isolated(call):
    return contextvars.Context().run(call)


def test_every_answer_matches_the_openapi_description(app, world):
    """Schemathesis generates requests for every operation (examples, boundaries, random data) and checks
    status codes, content types, headers and bodies against /api/v1/openapi.json; then the same checks
    run on known-good requests for every object, anonymously and with a partner token."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_wsgi(f"{API}/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 8

    for operation in operations:
        @settings(max_examples=15, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def generated(case):
            _isolated(case.call_and_validate)

        generated()

    strategies = world["strategies"]
    partner = bearer(world["tokens"]["partner"])
    for visibility in (Visibility.PUBLIC, Visibility.PARTNERS):
        strategy = strategies[visibility]
        headers = partner if visibility == Visibility.PARTNERS else {}
        for operation in operations:
            path = {"strategy_id": strategy.id, "field_id": strategy.fields[0].id}
            wanted = {name: value for name, value in path.items() if "{" + name + "}" in operation.path}
            for query in ({}, {"limit": 1, "offset": 1}):
                if "{strategy_id}" not in operation.path or (query and "/fields/" in operation.path):
                    query = {}
                case = operation.Case(path_parameters=wanted, query=query, headers=headers)
                response = _isolated(case.call)
                assert response.status_code == 200, (operation.path, response.text)
                case.validate_response(response)


def test_a_row_is_answered_as_stored_with_unknown_keys_kept_and_absent_keys_left_absent(client, make):
    from strategy.models import Field

    strategy = make.strategy(fields=1, visibility=Visibility.PUBLIC)
    make.approve(*strategy.fields)
    field = db.session.get(Field, strategy.fields[0].id)
    stored = dict(field.approved_content)
    del stored["goal_text"]  # as in a snapshot from before the column existed
    stored["from_a_later_version"] = {"kept": True}
    field.approved_content = stored
    db.session.commit()
    answered = client.get(f"{API}/strategies/{strategy.id}/fields/{field.id}").get_json()["row"]
    assert answered == stored
    assert "goal_text" not in answered


def test_strategy_list_costs_a_bounded_number_of_queries(client, make, count_queries):
    for _ in range(6):
        make.strategy(fields=1, owner=make.organisation())
    with count_queries() as few:
        client.get(f"{API}/strategies?limit=2")
    with count_queries() as many:
        client.get(f"{API}/strategies?limit=6")
    assert few.n == many.n <= 3

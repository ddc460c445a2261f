"""Every response: security headers, caching, error pages, database outages, CSRF, mass assignment, logs."""
from __future__ import annotations

import io
import json
import logging
import re
import socket
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import abort
from werkzeug.datastructures import MultiDict

from strategy import create_app
from strategy.extensions import db
from strategy.logs import json_handler
from strategy.models import Field, Organisation, Revision, Role, Strategy, User
from strategy.permissions import public
from strategy.security import CONTENT_SECURITY_POLICY
from tests.conftest import _test_config
from tests.support.factories import PASSWORD
from tests.support.forms import csrf_token_of, login, post_forms

ROOT = Path(__file__).resolve().parent.parent
CSRF_ON = {"WTF_CSRF_ENABLED": True}
ERROR_CODES = (400, 403, 404, 405, 413, 429, 500, 503)
LEAKS = re.compile(r"Traceback|File \"|/work/|site-packages|sqlalchemy|psycopg|sqlite3|SELECT |INSERT |UPDATE ",
                   re.IGNORECASE)


# --- helpers ---------------------------------------------------------------------------------------

def add_test_route(app, rule: str, view) -> None:
    """A route that raises on purpose: the error handling is what is under test, not the view."""
    app.add_url_rule(rule, view.__name__, public(view))


def assert_security_headers(response) -> None:
    headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in headers["Permissions-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert re.fullmatch(r"[A-Za-z0-9._-]{8,64}", headers["X-Request-ID"])


# --- headers ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/", "/anmelden", "/healthz", "/static/css/app.css", "/gibt-es-nicht", "/strategien/unbekannt/",
])
def test_every_response_carries_the_security_headers(client, path):
    with client.get(path) as response:
        assert_security_headers(response)


def test_error_responses_carry_the_security_headers(client):
    assert_security_headers(client.post("/"))  # 405
    assert_security_headers(client.get("/strategien/x/handlungsfelder/99999999999"))  # 404 from the converter


def test_pdf_exports_carry_the_security_headers(app, client, demo, make):
    pdf_rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("exports.")
                 and "GET" in rule.methods]
    if not pdf_rules:
        pytest.skip("no PDF export routes registered")
    login(client, make.user(admin=True))
    checked = 0
    for rule in pdf_rules:
        values = {name: _value_for(name, demo) for name in rule.arguments}
        with app.test_request_context():
            url = app.url_for(rule.endpoint, **values)
        response = client.get(url)
        if response.mimetype == "application/pdf":
            assert_security_headers(response)
            assert response.headers["Cache-Control"].startswith("no-store")
            checked += 1
    assert checked, "no export route answered with a PDF"


def test_hsts_is_sent_only_when_configured(app, client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    app.config["SECURITY_HSTS"] = True
    assert client.get("/").headers["Strict-Transport-Security"] == "max-age=31536000"


def test_pages_for_a_signed_in_user_are_never_stored(client, make):
    strategy = make.strategy()
    login(client, make.user(role=Role.STEERING, strategy=strategy))
    for path in ("/", f"/strategien/{strategy.slug}/", "/gibt-es-nicht"):
        response = client.get(path)
        assert response.headers["Cache-Control"].startswith("no-store"), path
        assert "Cookie" in response.headers.get("Vary", "")


def test_public_pages_for_anonymous_readers_may_be_cached_but_static_files_are_never_no_store(client, make):
    strategy = make.strategy()
    assert "no-store" not in client.get(f"/strategien/{strategy.slug}/").headers.get("Cache-Control", "")
    with client.get("/static/css/app.css") as response:
        assert "no-store" not in response.headers.get("Cache-Control", "")


def test_pages_behind_login_are_not_stored_even_when_they_only_redirect(client, make):
    strategy = make.strategy()
    field = make.field(strategy, 1)
    response = client.get(f"/strategien/{strategy.slug}/handlungsfelder/{field.number}/bearbeiten")
    assert response.status_code == 302
    assert response.headers["Cache-Control"].startswith("no-store")


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE), "inline <script>"),
    (re.compile(r"<style\b", re.IGNORECASE), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.IGNORECASE), "style= attribute"),
    (re.compile(r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE), "inline event handler"),
    (re.compile(r"javascript:", re.IGNORECASE), "javascript: URL"),
]


def test_templates_have_no_inline_scripts_or_styles():
    """The CSP forbids them, so they would silently not work. PDF and e-mail templates are never served as HTML
    (an e-mail carries its own <style>: mail programs drop linked stylesheets)."""
    templates = ROOT / "templates"
    found = []
    for path in sorted(templates.rglob("*.html")):
        if {"pdf", "mail"} & set(path.relative_to(templates).parts):
            continue
        text = path.read_text(encoding="utf-8")
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert found == []


def test_the_template_scan_finds_what_it_is_meant_to_find():
    sample = '<script>alert(1)</script><p style="color:red" onclick="x()">'
    hits = [what for pattern, what in INLINE if pattern.search(sample)]
    assert hits == ["inline <script>", "style= attribute", "inline event handler"]
    assert not any(pattern.search('<script src="/static/js/a.js" defer></script>') for pattern, _ in INLINE)


# --- error pages -----------------------------------------------------------------------------------

@pytest.mark.parametrize("code", ERROR_CODES)
@pytest.mark.parametrize("lang, title", [("de", "Fehler"), ("en", "Error")])
def test_error_pages_in_german_and_english_with_incident_id(app, client, code, lang, title):
    def fails_on_purpose(code: int):
        abort(code)

    app.add_url_rule("/_test/fehler/<int:code>", "fails_on_purpose", public(fails_on_purpose),
                     methods=["GET", "POST"])
    client.get(f"/sprache/{lang}")
    response = client.get(f"/_test/fehler/{code}")
    html = response.get_data(as_text=True)
    assert response.status_code == code
    assert response.mimetype == "text/html"
    assert f'<html lang="{lang}">' in html
    incident = response.headers["X-Request-ID"]
    assert f"<code>{incident}</code>" in html
    assert not LEAKS.search(html)
    assert_security_headers(response)
    if code == 503:
        assert response.headers["Retry-After"].isdigit()


def test_german_error_page_texts(client):
    html = client.get("/gibt-es-nicht").get_data(as_text=True)
    assert "Seite nicht gefunden" in html
    assert "Vorgangsnummer für Rückfragen" in html


def test_405_names_the_allowed_methods(client):
    response = client.post("/")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_a_too_large_request_gets_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/anmelden", data={"email": "a@example.org", "password": "x" * 4096})
    assert response.status_code == 413
    assert "Die Eingabe ist zu groß" in response.get_data(as_text=True)


def test_a_bug_gives_500_with_incident_id_and_no_sql_or_traceback(app, client, caplog):
    """A real fault: the table the landing page reads is gone."""
    with db.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE strategy RENAME TO strategy_gone"))
    try:
        with caplog.at_level(logging.ERROR, logger="strategy"):
            response = client.get("/")
        html = response.get_data(as_text=True)
        assert response.status_code == 500
        assert "Ein interner Fehler ist aufgetreten" in html
        assert response.headers["X-Request-ID"] in html
        assert not LEAKS.search(html)
        # The log has what the page does not: the traceback, under the same id.
        record = next(r for r in caplog.records if r.exc_info)
        assert "strategy" in str(record.exc_info[1])
    finally:
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE strategy_gone RENAME TO strategy"))


# --- database outage -------------------------------------------------------------------------------

class TcpProxy:
    """Forwards a loopback port to the database; cut() makes the database unreachable, restore() brings it back."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.reachable = True
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.reachable:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                TcpProxy._close(s)

    @staticmethod
    def _close(sock):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def cut(self):
        self.reachable = False
        with self._lock:
            for s in self._sockets:
                self._close(s)
            self._sockets.clear()

    def restore(self):
        self.reachable = True

    def close(self):
        self._closed = True
        self.cut()
        self.listener.close()


@pytest.fixture
def app_behind_proxy(backend, database_url, tmp_path, monkeypatch):
    if backend != "postgresql":
        pytest.skip("an unreachable database server needs a server: PostgreSQL")
    url = sa.engine.make_url(database_url)
    proxy = TcpProxy(url.port)
    monkeypatch.setenv("STRATEGY_INSTANCE_PATH", str(tmp_path / "instance-proxy"))
    app = create_app(_test_config(url.set(port=proxy.port).render_as_string(hide_password=False)))
    from tests.conftest import IsolatedClient

    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app, proxy
        db.session.remove()
        db.engine.dispose()
    proxy.close()


def _assert_outage_page(response):
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert "Der Dienst ist vorübergehend nicht erreichbar" in html
    assert response.headers["X-Request-ID"] in html
    assert not LEAKS.search(html)
    assert_security_headers(response)


def test_database_outage_gives_503_and_the_app_recovers_without_restart(app_behind_proxy):
    app, proxy = app_behind_proxy
    from tests.support.factories import Factory

    slug = Factory().strategy(title="Erreichbare Strategie").slug
    db.session.remove()  # the test's own connection must not be the one that notices the outage
    client = app.test_client()
    assert client.get("/").status_code == 200

    proxy.cut()
    for path in ("/", f"/strategien/{slug}/", "/healthz"):
        _assert_outage_page(client.get(path))

    proxy.restore()
    response = client.get("/")
    assert response.status_code == 200
    assert "Erreichbare Strategie" in response.get_data(as_text=True)
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_outage_page_renders_for_a_signed_in_user_without_touching_the_database(app_behind_proxy):
    app, proxy = app_behind_proxy
    from tests.support.factories import Factory

    make = Factory()
    strategy = make.strategy()
    user = make.user(role=Role.STEERING, strategy=strategy)
    url, name = f"/strategien/{strategy.slug}/", user.name
    client = app.test_client()
    login(client, user)
    db.session.remove()
    assert client.get(url).status_code == 200

    proxy.cut()
    response = client.get(url)
    _assert_outage_page(response)
    assert response.headers["Cache-Control"].startswith("no-store")

    proxy.restore()
    page = client.get(url)
    assert page.status_code == 200
    assert name in page.get_data(as_text=True)  # still signed in: nothing was lost but time


# --- CSRF ------------------------------------------------------------------------------------------

def _value_for(name: str, demo: Strategy):
    """A plausible URL value for a route argument, taken from the demo data."""
    field4 = next(f for f in demo.fields if f.number == 4)
    if name == "slug":
        return demo.slug
    if name == "number":
        return 4
    if name == "lang":
        return "de"
    if name == "strategy_id":
        return demo.id
    if name == "field_id":
        return field4.id
    if name == "revision_id":
        return db.session.scalar(sa.select(sa.func.min(Revision.id)).filter_by(field_id=field4.id)) or 1
    if name == "step_id" and field4.next_steps:
        return field4.next_steps[0].id
    if name == "item_id" and field4.financing_items:
        return field4.financing_items[0].id
    if name == "indicator_id" and field4.indicators:
        return field4.indicators[0].id
    if name in ("account_id", "user_id"):
        return db.session.scalar(sa.select(sa.func.max(User.id)))
    if name == "organisation_id":
        return db.session.scalar(sa.select(sa.func.min(Organisation.id)))
    return 1


def _post_rules(app):
    return sorted((rule for rule in app.url_map.iter_rules() if "POST" in rule.methods),
                  key=lambda rule: rule.rule)


def _content_checksum() -> dict[str, str]:
    """A checksum of every table that holds content (bookkeeping of logins and sessions left out)."""
    import hashlib

    bookkeeping = {"audit_event", "user_session", "login_throttle", "alembic_version"}
    sums = {}
    for table in db.metadata.sorted_tables:
        if table.name in bookkeeping:
            continue
        rows = db.session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
        sums[table.name] = hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()
    return sums


def test_no_post_route_is_exempt_from_csrf_except_the_token_api(app):
    """The only exemption: the read-only JSON API, which never reads the session cookie."""
    for rule in _post_rules(app):
        if rule.rule.startswith("/api/"):
            pytest.fail(f"{rule.rule}: the API has grown a POST route; prove it ignores cookies, then adjust")


@pytest.mark.parametrize("app_config", [CSRF_ON])
def test_every_post_route_rejects_a_missing_csrf_token(app, client, demo, make):
    admin = make.user(admin=True, name="Admin Prüfung")
    login(client, admin)
    before = _content_checksum()
    rules = _post_rules(app)
    assert len(rules) >= 10
    accepted = []
    for rule in rules:
        values = {name: _value_for(name, demo) for name in rule.arguments}
        with app.test_request_context():
            url = app.url_for(rule.endpoint, **values)
        response = client.post(url, data={"title": "ohne Token", "text": "ohne Token", "email": "x@example.org"})
        if response.status_code != 400:
            accepted.append(f"{rule.endpoint} {url}: {response.status_code}")
    assert accepted == []
    assert _content_checksum() == before
    # ... and with its token the same client gets through (the test can tell the difference).
    page = client.get("/").get_data(as_text=True)
    assert client.post("/abmelden", data={"csrf_token": csrf_token_of(page)}).status_code == 302


@pytest.mark.parametrize("app_config", [{**CSRF_ON, "WTF_CSRF_TIME_LIMIT": 1}])
def test_an_expired_csrf_token_gives_the_edit_form_back_with_the_text_kept(app, client, make):
    strategy = make.strategy(visibility=__import__("strategy.models", fromlist=["Visibility"]).Visibility.INTERNAL)
    field = make.field(strategy, 1)
    coordinator = make.user(role=Role.COORDINATOR, strategy=strategy, fields=(field,))
    login(client, coordinator)
    url = f"/strategien/{strategy.slug}/handlungsfelder/1/bearbeiten"
    form = next(f for f in post_forms(client.get(url).get_data(as_text=True)) if f["action"] in ("", url))
    data = dict(form["data"])
    typed = "Ein langer Text,\nan dem eine Stunde lang geschrieben wurde."
    data["vision"] = typed
    time.sleep(2.1)  # the token's lifetime in this configuration is one second

    response = client.post(url, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Ihre Eingaben sind erhalten" in html
    assert "an dem eine Stunde lang geschrieben wurde." in html
    db.session.expire_all()
    assert db.session.get(Field, field.id).vision == ""

    again = dict(next(f for f in post_forms(html) if f["action"] in ("", url))["data"])
    assert again["vision"].replace("\r\n", "\n") == typed
    app.config["WTF_CSRF_TIME_LIMIT"] = 3600  # the new token works; not a race against the machine's speed
    assert client.post(url, data=again).status_code == 302
    db.session.expire_all()
    assert db.session.get(Field, field.id).vision == typed


@pytest.mark.parametrize("app_config", [{**CSRF_ON, "WTF_CSRF_TIME_LIMIT": 1}])
def test_an_expired_csrf_token_gives_any_keeps_input_form_back_with_the_text_kept(app, client, make):
    """The generic way (@keeps_input): adding a next step on the field page after the token expired."""
    from strategy.models import NextStep, Visibility

    strategy = make.strategy(visibility=Visibility.INTERNAL)
    field = make.field(strategy, 1)
    login(client, make.user(role=Role.COORDINATOR, strategy=strategy, fields=(field,)))
    page_url = f"/strategien/{strategy.slug}/handlungsfelder/1"
    action = page_url + "/schritte"
    form = next(f for f in post_forms(client.get(page_url).get_data(as_text=True))
                if f["action"].split("#")[0] == action)
    data = dict(form["data"])
    description = next(name for name in data if name.endswith("description"))
    data[description] = "Fachtag mit allen Trägern vorbereiten – lange überlegt"
    time.sleep(2.1)

    response = client.post(action, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Das Formular war zu lange geöffnet" in html
    assert "Fachtag mit allen Trägern vorbereiten – lange überlegt" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NextStep)) == 0

    again = dict(next(f for f in post_forms(html) if f["action"].split("#")[0] == action)["data"])
    app.config["WTF_CSRF_TIME_LIMIT"] = 3600  # the new token works; not a race against the machine's speed
    assert again[description] == data[description]
    assert client.post(action, data=again).status_code == 303
    assert db.session.scalar(sa.select(NextStep.description)) == data[description]


# --- mass assignment -------------------------------------------------------------------------------

def test_forms_change_only_the_fields_they_declare(app, client, demo, make):
    """Every form posted back as a browser would, plus fields it does not declare: none of those land.

    Forms come from their own page (GET and POST on one URL) or from the pages that embed them (the field
    page carries the forms for steps, financing, indicators, review and comments).
    """
    admin = make.user(admin=True, name="Admin Formulare")
    other_org = make.organisation(name="Fremde Organisation")
    other_strategy = make.strategy(title="Fremde Strategie", fields=1)
    other_field = make.field(other_strategy, 1)
    other_user = make.user(name="Fremde Person")
    extras = {
        "owner_id": other_org.id, "owner_organisation_id": other_org.id, "organisation_id": other_org.id,
        "strategy_id": other_strategy.id, "field_id": other_field.id, "review_state": "approved",
        "approved_content": '{"title": "untergeschoben"}', "approved_by_id": other_user.id,
        "version": "987654", "is_admin": "y", "author_id": other_user.id, "updated_by_id": other_user.id,
        "user_id": other_user.id, "id": "987654", "created_at": "2001-01-01T00:00:00",
    }

    def facts():
        db.session.expire_all()
        fields = db.session.scalars(sa.select(Field)).all()
        return {
            "admins": sorted(u.id for u in db.session.scalars(sa.select(User).filter_by(is_admin=True))),
            "approved": {f.id for f in fields if f.review_state.value == "approved"},
            "approved_by_other": [f.id for f in fields if f.approved_by_id == other_user.id],
            "other_strategy_fields": sorted(f.id for f in fields if f.strategy_id == other_strategy.id),
            "owners": sorted((s.id, s.owner_organisation_id) for s in db.session.scalars(sa.select(Strategy))),
            "by_other_user": db.session.scalar(sa.select(sa.func.count()).select_from(Revision)
                                               .filter_by(author_id=other_user.id)),
            "updated_by_other": [f.id for f in fields if f.updated_by_id == other_user.id],
        }

    def injected_values_anywhere() -> list[str]:
        hits = []
        for table in db.metadata.sorted_tables:
            for column in ("version", "id"):
                if column in table.c:
                    n = db.session.scalar(sa.select(sa.func.count()).select_from(table)
                                          .where(table.c[column] == 987654))
                    if n:
                        hits.append(f"{table.name}.{column}")
        return hits

    def path_of(action: str) -> str:
        return action.split("#")[0]

    login(client, admin)
    embedded: dict[str, dict] = {}
    for page in (f"/strategien/{demo.slug}/handlungsfelder/4", f"/strategien/{demo.slug}/"):
        for form in post_forms(client.get(page).get_data(as_text=True)):
            embedded.setdefault(path_of(form["action"]), form)
    tried = []
    for rule in _post_rules(app):
        if rule.endpoint in ("auth.logout", "core.set_language") or rule.rule.startswith("/api/"):
            continue
        values = {name: _value_for(name, demo) for name in rule.arguments}
        with app.test_request_context():
            url = app.url_for(rule.endpoint, **values)
        forms = []
        if "GET" in rule.methods:
            page = client.get(url)
            if page.status_code == 200:
                forms = [f for f in post_forms(page.get_data(as_text=True)) if path_of(f["action"]) in ("", url)]
        if not forms and url in embedded:
            forms = [embedded[url]]
        if not forms:
            continue
        declared = {name.split("-")[-1] for name in forms[0]["names"]}
        data = list(forms[0]["data"]) + [(k, str(v)) for k, v in extras.items() if k not in declared]
        before = facts()
        response = client.post(url, data=MultiDict(data))
        assert response.status_code < 500, f"{rule.endpoint}: {response.status_code}"
        after = facts()
        for key in before:
            if key == "admins" and "is_admin" in declared:
                continue
            if key == "owners" and declared & {"owner_organisation_id", "owner_id", "owner"}:
                continue
            if key == "approved":
                if rule.endpoint != "review.approve_field":  # approving is that route's declared purpose
                    assert after[key] <= before[key], f"{rule.endpoint} approved a field"
                continue
            assert after[key] == before[key], f"{rule.endpoint} changed {key}"
        assert injected_values_anywhere() == [], rule.endpoint
        tried.append(rule.endpoint)
    # The field editor, embedded record forms and admin forms were all walked.
    assert "fields.edit_field" in tried
    assert "records.add_step" in tried
    assert any(endpoint.startswith("admin.") for endpoint in tried)


# --- logs ------------------------------------------------------------------------------------------

@pytest.fixture
def log_lines(app):
    handler = json_handler()
    assert handler is not None
    stream = io.StringIO()
    old = handler.setStream(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    handler.setStream(old)


def test_log_lines_are_json_with_the_request_id(app, client, log_lines):
    def logs_something():
        logging.getLogger("strategy.test").warning("etwas ist passiert")
        return "ok"

    add_test_route(app, "/_test/log", logs_something)
    response = client.get("/_test/log")
    [entry] = [e for e in log_lines() if e["message"] == "etwas ist passiert"]
    assert entry["request_id"] == response.headers["X-Request-ID"]
    assert entry["path"] == "/_test/log"
    assert entry["level"] == "WARNING"


def test_user_text_cannot_forge_log_lines(app, client, log_lines):
    forged = 'Name\n{"level": "INFO", "message": "admin logged in"}\r\nmehr'

    def logs_user_text():
        logging.getLogger("strategy.test").warning("Eingabe: %s", forged)
        return "ok"

    add_test_route(app, "/_test/log", logs_user_text)
    client.get("/_test/log")
    entries = log_lines()
    assert not any(e["message"] == "admin logged in" for e in entries)
    [entry] = [e for e in entries if e["message"].startswith("Eingabe:")]
    assert entry["message"] == "Eingabe: " + forged  # kept exactly, but inside one line


def test_logs_never_contain_passwords_cookies_or_tokens(app, client, log_lines, make):
    def logs_a_request():
        from flask import request

        logging.getLogger("strategy.test").info("request data", extra={
            "form": dict(request.form), "headers": {"Cookie": request.headers.get("Cookie", "")}})
        return "ok"

    app.add_url_rule("/_test/log", "logs_a_request", public(logs_a_request), methods=["POST"])
    client.set_cookie("session", "geheimer-cookie-wert")
    client.post("/_test/log", data={"email": "a@example.org", "password": "geheimes-passwort",
                                    "csrf_token": "geheimes-token"})
    login(client, make.user())
    text = json.dumps(log_lines())
    assert "a@example.org" in text
    for secret in ("geheimes-passwort", "geheimer-cookie-wert", "geheimes-token", PASSWORD):
        assert secret not in text


# --- in a real browser -----------------------------------------------------------------------------

@pytest.mark.browser
def test_the_browser_reports_no_csp_violation_on_a_coordinators_journey(live_server, page, tmp_path):
    """Pages, the edit form with its scripts, and an error page all work under the strict CSP."""
    from strategy.demo import DEMO_PASSWORD

    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto(live_server.url + "/anmelden")
    page.get_by_label("E-Mail-Adresse").fill("hf4@demo.dortmund.example")
    page.get_by_label("Passwort").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_load_state()
    for path in ("/", "/strategien/dortmund-neuzuwanderung/", "/strategien/dortmund-neuzuwanderung/handlungsfelder/4",
                 "/strategien/dortmund-neuzuwanderung/handlungsfelder/4/bearbeiten"):
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    response = page.goto(live_server.url + "/strategien/dortmund-neuzuwanderung/gibt-es-nicht")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Seite nicht gefunden"
    page.screenshot(path=str(tmp_path / "error-page.png"), full_page=True)
    assert violations == []

"""The audit log: every action has a label in both languages, objects are shown by their current names, and
no account event keeps an e-mail address (on SQLite and PostgreSQL)."""
from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from strategy.admin import accounts, gdpr
from strategy.audit import ACTION_LABELS, AuditAction, record_event
from strategy.auth.totp import disable_totp
from strategy.extensions import db
from strategy.models import AuditEvent, Role, User, Visibility
from tests.support.factories import PASSWORD

WRONG = "ganz-falsches-passwort"
NEW_PASSWORD = "neue-lange-wanderung-am-phoenixsee"


def test_every_action_has_a_german_and_an_english_label(app):
    for action in AuditAction:
        assert action in ACTION_LABELS, f"{action.value} has no label"
        with app.test_request_context(), force_locale("de"):
            german = str(ACTION_LABELS[action])
        with app.test_request_context(), force_locale("en"):
            english = str(ACTION_LABELS[action])
        assert german and english and english != german, f"{action.value} has no English label"


def test_an_action_that_is_not_an_audit_action_is_refused(app):
    with pytest.raises(ValueError):
        record_event("field_aproved", None)


@pytest.fixture
def logged(make):
    """One event of each kind of object, written through the services."""
    strategy = make.strategy(fields=2, visibility=Visibility.PUBLIC, title="Integration gemeinsam")
    field = sorted(strategy.all_fields, key=lambda f: f.number)[1]
    admin = make.user(admin=True, name="Ada Admin")
    account = make.user(name="Kim Konto")
    kept = make.person("Erika Beispiel")
    erased = make.person("Berta Gelöscht")
    record_event(AuditAction.STRATEGY_EDIT, admin, object_type="strategy", object_id=strategy.id)
    record_event(AuditAction.FIELD_APPROVED, admin, object_type="field", object_id=field.id)
    record_event(AuditAction.ACCOUNT_EDIT, admin, object_type="user", object_id=account.id)
    record_event(AuditAction.PERSON_EDIT, admin, object_type="person", object_id=kept.id)
    gdpr.erase_person(admin, erased)
    db.session.commit()
    return {"admin": admin, "account": account, "field": field, "strategy": strategy}


def test_the_log_shows_action_labels_and_the_current_names_of_its_objects(client, auth, logged):
    field = logged["field"]
    auth.login(logged["admin"])
    page = client.get("/verwaltung/protokoll").get_data(as_text=True)
    assert "<td>Handlungsfeld freigegeben</td>" in page and ">field_approved<" not in page
    assert ">Integration gemeinsam</a>" in page
    assert f">HF {field.number} {field.title}</a>" in page
    assert ">Kim Konto</a>" in page
    assert "Erika Beispiel" in page
    assert "gelöschte Person" in page and "Berta Gelöscht" not in page
    assert f">Konto {logged['account'].id}</a>" not in page
    assert f">Strategie {logged['strategy'].id}</a>" not in page


def test_the_log_in_english_shows_english_labels(client, auth, logged):
    auth.login(logged["admin"])
    client.get("/sprache/en")
    page = client.get("/verwaltung/protokoll").get_data(as_text=True)
    assert "<td>Field approved</td>" in page and "Handlungsfeld freigegeben" not in page
    assert "deleted person" in page and "gelöschte Person" not in page


def test_an_account_renamed_later_is_shown_by_its_new_name(client, auth, logged):
    account = logged["account"]
    account.name = "Kim Neuname"
    db.session.commit()
    auth.login(logged["admin"])
    page = client.get("/verwaltung/protokoll").get_data(as_text=True)
    assert ">Kim Neuname</a>" in page and "Kim Konto" not in page


def test_naming_the_objects_costs_the_same_queries_for_more_rows(client, auth, make, logged, count_queries):
    auth.login(logged["admin"])
    client.get("/verwaltung/protokoll")
    with count_queries() as few:
        client.get("/verwaltung/protokoll")
    for _ in range(3):
        strategy = make.strategy(fields=1)
        record_event(AuditAction.STRATEGY_EDIT, logged["admin"], object_type="strategy", object_id=strategy.id)
        record_event(AuditAction.FIELD_EDIT, logged["admin"], object_type="field", object_id=strategy.all_fields[0].id)
        record_event(AuditAction.ACCOUNT_EDIT, logged["admin"], object_type="user", object_id=make.user().id)
        record_event(AuditAction.PERSON_EDIT, logged["admin"], object_type="person", object_id=make.person().id)
    db.session.commit()
    with count_queries() as many:
        assert client.get("/verwaltung/protokoll").status_code == 200
    assert many.n == few.n


# --- no e-mail addresses in the log (#12.8) ------------------------------------------------------------

def test_no_account_action_writes_an_address_into_the_log(app, client, auth, make):
    strategy = make.strategy(fields=1)
    admin = make.user(admin=True, email="ada.admin@example.org")
    auth.login(admin)
    assert client.post("/verwaltung/konten/neu", data={
        "email": "neu.konto@example.org", "name": "Neues Konto", "person_id": ""}).status_code == 200
    account = db.session.scalar(db.select(User).filter_by(email="neu.konto@example.org"))
    assert client.post(f"/verwaltung/konten/{account.id}", data={
        "email": "umbenannt@example.org", "name": "Umbenannt", "person_id": ""}).status_code == 302
    accounts.set_access(admin, account, {strategy.id: Role.COORDINATOR}, {strategy.id: {strategy.all_fields[0].id}})
    db.session.commit()
    client.post(f"/verwaltung/konten/{account.id}/passwort-link")
    client.post(f"/verwaltung/konten/{account.id}/entsperren")
    client.post(f"/verwaltung/konten/{account.id}/deaktivieren")
    client.post(f"/verwaltung/konten/{account.id}/reaktivieren")
    account = db.session.get(User, account.id)
    account.totp_secret = pyotp.random_base32()
    disable_totp(account, by=admin)
    db.session.commit()
    other = app.test_client()
    other.post("/anmelden", data={"email": "umbenannt@example.org", "password": WRONG})
    other.post("/anmelden", data={"email": "niemand@example.org", "password": WRONG})

    db.session.expire_all()
    events = db.session.scalars(db.select(AuditEvent)).all()
    assert {"account.create", "account.edit", "account.access", "set_password_link_created", "account_unlocked",
            "account.deactivate", "account.reactivate", "two_factor_disabled", "login", "login_failed"} <= {
        e.action for e in events}
    text = " ".join(f"{e.actor_label} {e.detail}" for e in events)
    for address in ("ada.admin@example.org", "neu.konto@example.org", "umbenannt@example.org", "niemand@example.org"):
        assert address not in text
    assert "Neues Konto" not in text and "Umbenannt" not in text
    edit = next(e for e in events if e.action == "account.edit")
    assert set(edit.detail) == {"email", "name"}  # that they changed, not what they say

    page = client.get("/verwaltung/protokoll").get_data(as_text=True)
    assert ">Umbenannt</a>" in page  # named by its current name when the log is read


def test_the_audit_detail_of_an_own_password_change_names_no_address(client, auth, make):
    user = make.user(email="eigene.adresse@example.org")
    auth.login(user)
    client.post("/konto/passwort", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                         "confirm_password": NEW_PASSWORD, "revoke_api_tokens": "y"})
    db.session.expire_all()
    events = db.session.scalars(db.select(AuditEvent)).all()
    assert "password_changed" in {e.action for e in events}
    assert all("eigene.adresse@example.org" not in f"{e.actor_label} {e.detail}" for e in events)


def _maintenance_sql(engine_title: str) -> str:
    """The one-off step SECURITY.md documents for rows written before addresses left the log."""
    text = (Path(__file__).parent.parent / "SECURITY.md").read_text(encoding="utf-8")
    block = re.search(engine_title + r"[^\n]*:\n    ```sql\n(.*?)    ```", text, re.S).group(1)
    return "\n".join(line[4:] for line in block.splitlines())


def test_the_documented_maintenance_step_removes_the_addresses_of_rows_written_before(app, backend):
    old_rows = [
        ("ada@example.org", "account.create", {"email": "neu@example.org", "is_admin": False}),
        ("ada@example.org", "account.edit", {"email": {"before": "neu@example.org", "after": "x@example.org"},
                                             "is_admin": {"before": False, "after": True}}),
        ("ada@example.org", "set_password_link_created", {"user": "x@example.org"}),
        ("ada@example.org", "account.deactivate", {"email": "x@example.org"}),
        ("", "login_failed", {"account": "unknown"}),
    ]
    db.session.execute(sa.insert(AuditEvent), [
        {"actor_label": label, "action": action, "object_type": "user", "object_id": "1", "detail": detail}
        for label, action, detail in old_rows])
    db.session.commit()
    db.session.close()

    script = _maintenance_sql("PostgreSQL" if backend == "postgresql" else "SQLite")
    with db.engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        if backend == "postgresql":
            raw.execute(script)
        else:
            raw.executescript(script)

    rows = db.session.execute(sa.select(AuditEvent.actor_label, AuditEvent.action, AuditEvent.detail)).all()
    assert not any("@" in f"{label} {detail}" for label, _action, detail in rows)
    edit = next(detail for _label, action, detail in rows if action == "account.edit")
    assert edit == {"email": "geändert", "is_admin": {"before": False, "after": True}}
    with pytest.raises(sa.exc.DatabaseError):  # append-only again
        db.session.execute(sa.update(AuditEvent).values(action="x"))
        db.session.flush()
    db.session.rollback()

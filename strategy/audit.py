"""The audit log: who did what to which object, append-only. Notifications are built on these events.

An event is a typed action (`AuditAction`), the actor, the object (type and id) and a small JSON detail.
Personal data stays out of the detail (the log can never be erased): an account or person is named by its
id, and the log shows its current name when it is read.
"""
from __future__ import annotations

import enum
from collections import defaultdict
from datetime import date, datetime
from typing import Any, Iterable

import sqlalchemy as sa
from flask import has_request_context, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from .extensions import db
from .models import ApiToken, AuditEvent, Field, Organisation, Person, Strategy, User

PAGE_SIZE = 50
# Long prose: the log says that it changed, not what it says (the field's history has the text). Stored German.
CHANGED = "geändert"


class AuditAction(enum.StrEnum):
    """Every action the application records; the value is what the `action` column stores."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_TWO_FACTOR_FAILED = "login_two_factor_failed"
    LOGIN_KNOWN_DEVICE_DURING_LOCK = "login_known_device_during_lock"
    LOGOUT = "logout"
    SESSION_ENDED = "session_ended"
    ACCOUNT_LOCKED = "account_locked"
    ADDRESS_LOCKED = "address_locked"
    ACCOUNT_UNLOCKED = "account_unlocked"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_CHANGE_FAILED = "password_change_failed"
    PASSWORD_SET_BY_LINK = "password_set_by_link"
    SET_PASSWORD_LINK_CREATED = "set_password_link_created"
    PASSWORD_RESET_REQUESTED = "password_reset_requested"
    TWO_FACTOR_ENABLED = "two_factor_enabled"
    TWO_FACTOR_DISABLED = "two_factor_disabled"
    SETTING_CHANGED = "setting_changed"
    API_TOKEN_CREATED = "api_token_created"
    API_TOKEN_REVOKED = "api_token_revoked"
    STRATEGY_CREATE = "strategy.create"
    STRATEGY_EDIT = "strategy.edit"
    STRATEGY_IMPORT = "strategy.import"
    BLOCK_VISIBILITY_CHANGED = "block_visibility_changed"
    FIELD_CREATE = "field.create"
    FIELD_EDIT = "field.edit"
    FIELD_REORDER = "field.reorder"
    FIELD_RENUMBER = "field.renumber"
    FIELD_ARCHIVE = "field.archive"
    FIELD_UNARCHIVE = "field.unarchive"
    FIELD_SUBMITTED = "field_submitted"
    FIELD_RETURNED = "field_returned"
    FIELD_APPROVED = "field_approved"
    EDITION_CREATED = "edition_created"
    ROUND_OPENED = "round.open"
    ROUND_DEADLINES_CHANGED = "round.deadlines"
    ROUND_TASK_UNCHANGED = "round.task_unchanged"
    ROUND_CLOSED = "round.close"
    ROUND_TASK_REOPENED = "round.task_reopen"
    ROUND_TASK_RELOCKED = "round.task_relock"
    ORGANISATION_CREATE = "organisation.create"
    ORGANISATION_EDIT = "organisation.edit"
    PERSON_CREATE = "person.create"
    PERSON_EDIT = "person.edit"
    PERSON_DELETE = "person.delete"
    PERSON_EXPORT = "person.export"
    ACCOUNT_CREATE = "account.create"
    ACCOUNT_EDIT = "account.edit"
    ACCOUNT_ACCESS = "account.access"
    ACCOUNT_DEACTIVATE = "account.deactivate"
    ACCOUNT_REACTIVATE = "account.reactivate"
    ACCOUNT_EXPORT = "account.export"
    EXPORT_REQUESTED = "export.requested"
    EXPORT_RESUMED = "export.resumed"
    EXPORT_RENDERED = "export.rendered"
    EXPORT_FAILED = "export.failed"

    @property
    def label(self) -> str:
        return str(ACTION_LABELS[self])


ACTION_LABELS = {
    AuditAction.LOGIN: _l("Anmeldung"),
    AuditAction.LOGIN_FAILED: _l("Anmeldung fehlgeschlagen"),
    AuditAction.LOGIN_TWO_FACTOR_FAILED: _l("Zweiter Faktor falsch"),
    AuditAction.LOGIN_KNOWN_DEVICE_DURING_LOCK: _l("Anmeldung trotz Sperre (bekanntes Gerät)"),
    AuditAction.LOGOUT: _l("Abmeldung"),
    AuditAction.SESSION_ENDED: _l("Sitzung beendet"),
    AuditAction.ACCOUNT_LOCKED: _l("Konto gesperrt (Fehlversuche)"),
    AuditAction.ADDRESS_LOCKED: _l("Adresse gesperrt (Fehlversuche)"),
    AuditAction.ACCOUNT_UNLOCKED: _l("Anmeldesperre aufgehoben"),
    AuditAction.PASSWORD_CHANGED: _l("Passwort geändert"),
    AuditAction.PASSWORD_CHANGE_FAILED: _l("Passwortänderung fehlgeschlagen"),
    AuditAction.PASSWORD_SET_BY_LINK: _l("Passwort über Link gesetzt"),
    AuditAction.SET_PASSWORD_LINK_CREATED: _l("Link zum Passwort-Setzen erstellt"),
    AuditAction.PASSWORD_RESET_REQUESTED: _l("Neues Passwort per E-Mail angefordert"),
    AuditAction.TWO_FACTOR_ENABLED: _l("Zwei-Faktor-Anmeldung eingeschaltet"),
    AuditAction.TWO_FACTOR_DISABLED: _l("Zwei-Faktor-Anmeldung ausgeschaltet"),
    AuditAction.SETTING_CHANGED: _l("Einstellung geändert"),
    AuditAction.API_TOKEN_CREATED: _l("API-Schlüssel erstellt"),
    AuditAction.API_TOKEN_REVOKED: _l("API-Schlüssel widerrufen"),
    AuditAction.STRATEGY_CREATE: _l("Strategie angelegt"),
    AuditAction.STRATEGY_EDIT: _l("Strategie geändert"),
    AuditAction.STRATEGY_IMPORT: _l("Handlungsrahmen aus Datei importiert"),
    AuditAction.BLOCK_VISIBILITY_CHANGED: _l("Sichtbarkeit der Blöcke geändert"),
    AuditAction.FIELD_CREATE: _l("Handlungsfeld angelegt"),
    AuditAction.FIELD_EDIT: _l("Handlungsfeld umbenannt/Ziel geändert"),
    AuditAction.FIELD_REORDER: _l("Handlungsfelder umsortiert"),
    AuditAction.FIELD_RENUMBER: _l("Handlungsfelder neu nummeriert"),
    AuditAction.FIELD_ARCHIVE: _l("Handlungsfeld archiviert"),
    AuditAction.FIELD_UNARCHIVE: _l("Handlungsfeld wiederhergestellt"),
    AuditAction.FIELD_SUBMITTED: _l("Zur Prüfung eingereicht"),
    AuditAction.FIELD_RETURNED: _l("Zur Überarbeitung zurückgegeben"),
    AuditAction.FIELD_APPROVED: _l("Handlungsfeld freigegeben"),
    AuditAction.EDITION_CREATED: _l("Fassung erstellt"),
    AuditAction.ROUND_OPENED: _l("Berichtsrunde eröffnet"),
    AuditAction.ROUND_DEADLINES_CHANGED: _l("Fristen der Berichtsrunde geändert"),
    AuditAction.ROUND_TASK_UNCHANGED: _l("Berichtsrunde: nichts geändert seit der letzten Runde"),
    AuditAction.ROUND_CLOSED: _l("Berichtsrunde abgeschlossen"),
    AuditAction.ROUND_TASK_REOPENED: _l("Berichtsrunde: Handlungsfeld wieder geöffnet"),
    AuditAction.ROUND_TASK_RELOCKED: _l("Berichtsrunde: Handlungsfeld wieder gesperrt"),
    AuditAction.ORGANISATION_CREATE: _l("Organisation angelegt"),
    AuditAction.ORGANISATION_EDIT: _l("Organisation geändert"),
    AuditAction.PERSON_CREATE: _l("Person angelegt"),
    AuditAction.PERSON_EDIT: _l("Person geändert"),
    AuditAction.PERSON_DELETE: _l("Person gelöscht"),
    AuditAction.PERSON_EXPORT: _l("Auskunft zu einer Person erstellt"),
    AuditAction.ACCOUNT_CREATE: _l("Konto angelegt"),
    AuditAction.ACCOUNT_EDIT: _l("Konto geändert"),
    AuditAction.ACCOUNT_ACCESS: _l("Rollen/Handlungsfelder geändert"),
    AuditAction.ACCOUNT_DEACTIVATE: _l("Konto deaktiviert"),
    AuditAction.ACCOUNT_REACTIVATE: _l("Konto reaktiviert"),
    AuditAction.ACCOUNT_EXPORT: _l("Auskunft zu einem Konto erstellt"),
    AuditAction.EXPORT_REQUESTED: _l("PDF-Export angefordert"),
    AuditAction.EXPORT_RESUMED: _l("PDF-Export nach Ausfall eines Workers neu begonnen"),
    AuditAction.EXPORT_RENDERED: _l("PDF-Export erstellt"),
    AuditAction.EXPORT_FAILED: _l("PDF-Export fehlgeschlagen"),
}


def action_label(action: str) -> str:
    """The label of a stored action; an action no longer written (older rows) shows its key."""
    try:
        return AuditAction(action).label
    except ValueError:
        return action


# --- writing -------------------------------------------------------------------------------------

def client_address() -> str:
    """The client's address: the socket peer, or the entry ProxyFix took from exactly PROXY_FIX_X_FOR hops."""
    return (request.remote_addr or "")[:64] if has_request_context() else ""


def plain(value: Any) -> Any:
    """A value as the audit log's JSON stores it."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def record_event(action: AuditAction, actor: User | None, *, object_type: str = "", object_id: int | str = "",
                 detail: dict | None = None) -> AuditEvent:
    """Append an audit event. Never put passwords, tokens, cookies or personal data (addresses, names) into
    `detail`: the object's id names it."""
    event = AuditEvent(
        actor=actor,
        actor_label="",  # the actor is named through actor_id when the log is read, never stored as text
        action=AuditAction(action).value,
        object_type=object_type,
        object_id=str(object_id),
        detail=detail or {},
        ip_address=client_address(),
    )
    db.session.add(event)
    return event


# --- reading -------------------------------------------------------------------------------------

def events(*, action: str | None, actor_id: int | None, page: int):
    """One page of the log, newest first, with the names its objects have now."""
    query = sa.select(AuditEvent).options(selectinload(AuditEvent.actor))
    if action:
        query = query.where(AuditEvent.action == action)
    if actor_id:
        query = query.where(AuditEvent.actor_id == actor_id)
    query = query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    return db.paginate(query, page=page, per_page=PAGE_SIZE, error_out=False)


def recorded_actions() -> list[str]:
    """The actions that occur in the log (for its filter)."""
    return list(db.session.scalars(sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


OBJECT_LABELS = {
    "user": _l("Konto"), "strategy": _l("Strategie"), "field": _l("Handlungsfeld"), "person": _l("Person"),
    "organisation": _l("Organisation"), "setting": _l("Einstellung"), "api_token": _l("API-Schlüssel"),
    "export_job": _l("PDF-Export"),
}
# Where an audit event's object can be looked at (archived or deleted objects included).
_OBJECT_PAGES = {
    "user": ("admin.account_edit", "account_id"), "strategy": ("admin.strategy_edit", "strategy_id"),
    "field": ("admin.field_edit", "field_id"),
    "organisation": ("admin.organisation_edit", "organisation_id"),
}


def _account_name(account: User) -> str:
    return account.name or account.email


def _field_name(field: Field) -> str:
    return _("HF %(number)d %(title)s", number=field.number, title=field.title)


def _person_name(person: Person) -> str:
    return _("gelöschte Person") if person.is_deleted else person.name


# object type → (model, how it is named); each type costs one query per page, never one per row.
_NAMERS = {
    "user": (User, _account_name),
    "strategy": (Strategy, lambda strategy: strategy.title),
    "field": (Field, _field_name),
    "person": (Person, _person_name),
    "organisation": (Organisation, lambda organisation: organisation.name),
    "api_token": (ApiToken, lambda token: token.name),
}


class Names:
    """The current names of the objects (and accounts named in details) of a page of events."""

    def __init__(self, page_events: Iterable[AuditEvent]):
        wanted: dict[str, set[int]] = defaultdict(set)
        for event in page_events:
            if event.object_type in _NAMERS and event.object_id.isdigit():
                wanted[event.object_type].add(int(event.object_id))
        self._names: dict[tuple[str, int], str] = {}
        for object_type, ids in wanted.items():
            model, name = _NAMERS[object_type]
            for row in db.session.scalars(sa.select(model).where(model.id.in_(ids))):
                self._names[(object_type, row.id)] = name(row)

    def object(self, event: AuditEvent) -> tuple[str, str | None]:
        """An event's object as a label (its current name) and, where there is one, the admin page showing it."""
        if not event.object_type:
            return "–", None
        known = event.object_id.isdigit()
        label = self._names.get((event.object_type, int(event.object_id))) if known else None
        if label is None and event.object_type in ("user", "person") and known:
            label = _("gelöschte Person")  # the row is gone: nothing of the person is left to show
        if label is None:
            label = f"{OBJECT_LABELS.get(event.object_type, event.object_type)} {event.object_id}".strip()
        page = _OBJECT_PAGES.get(event.object_type)
        if page is None or not known:
            return label, None
        return label, url_for(page[0], **{page[1]: int(event.object_id)})


# Names in audit details, as the log shows them.
DETAIL_LABELS = {
    "title": _l("Titel"), "slug": _l("Kurzname"), "subtitle": _l("Untertitel"), "description": _l("Beschreibung"),
    "framework_title": _l("Titel des Handlungsrahmens"), "owner_organisation_id": _l("Organisation (Nr.)"),
    "visibility": _l("Sichtbarkeit"), "strategy": _l("Strategie"), "number": _l("Nummer"),
    "numbers": _l("Nummern (alt: neu)"), "goal_text": _l("Ziel"), "name": _l("Name"), "short_name": _l("Kurzname"),
    "kind": _l("Art"), "email": _l("E-Mail-Adresse"), "is_admin": _l("Admin"), "person_id": _l("Person (Nr.)"),
    "roles": _l("Rollen"), "fields_added": _l("Handlungsfelder hinzu"), "fields_removed": _l("Handlungsfelder entfernt"),
    "fields": _l("Handlungsfelder"), "changed": _l("geänderte Angaben"), "user": _l("Konto"),
    "before": _l("vorher"), "after": _l("nachher"), "until": _l("bis"), "account": _l("Konto"),
    "api_tokens_revoked": _l("API-Schlüssel widerrufen"),
    "throttled": _l("gebremst (zu viele Anfragen)"),
    "round": _l("Berichtsrunde (Nr.)"), "meeting_on": _l("Sitzung am"), "update": _l("Aktualisierung bis"),
    "review": _l("Prüfung bis"), "edition": _l("Fassung"), "reason": _l("Grund"), "state": _l("Stand"),
    "bundesland": _l("Bundesland"),
    "document": _l("Dokument"), "strategy_id": _l("Strategie (Nr.)"), "subject": _l("Gegenstand"),
    "paper": _l("Papierformat"), "attempt": _l("Versuch"), "pages": _l("Seiten"),
}


def _format_detail(value) -> str:
    if isinstance(value, dict):
        if set(value) == {"before", "after"}:
            return f"{_format_detail(value['before'])} → {_format_detail(value['after'])}"
        return "; ".join(f"{key}: {_format_detail(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(_format_detail(item) for item in value) or "–"
    if value is True:
        return _("ja")
    if value is False:
        return _("nein")
    if value is None or value == "":
        return "–"
    if value == CHANGED:
        return _("geändert")
    return str(value)


def detail_rows(detail: dict | None) -> list[tuple[str, str]]:
    """An audit event's detail as (label, text) rows."""
    return [(str(DETAIL_LABELS.get(key, key)), _format_detail(value)) for key, value in sorted((detail or {}).items())]

"""Editing a field's row: the editable state, three-way merge, compare-and-swap save, restore.

A save never overwrites what someone else saved meanwhile. The form carries the content version the user
started from and the row as it was then (the merge base, signed). Saving is a compare-and-swap on
Field.version; when it lost, the columns only the other person changed are taken over, the ones only this
user changed are kept, and the ones both changed differently come back to the user as conflicts.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from ..diffing import word_diff
from ..extensions import db
from ..framework import TEXT_COLUMNS
from ..models import (
    Field,
    FieldPhase,
    Organisation,
    Person,
    Responsibility,
    ResponsibilityRole,
    Revision,
    RevisionKind,
    User,
    WorkingGroup,
    WorkingGroupMember,
    name_key,
)
from ..revisions import record_change
from ..snapshots import field_snapshot
from ..summaries import Summary
from .services import load_field_row

# Everything the edit form holds, in the order a conflict screen lists it.
SCALAR_KEYS: tuple[str, ...] = ("title", "goal_text", "phase", *TEXT_COLUMNS)
LIST_KEYS: tuple[str, ...] = ("working_groups", "responsible")
EDITABLE_KEYS: tuple[str, ...] = ("title", "goal_text", "phase", "working_groups", "responsible", *TEXT_COLUMNS)
# What a restore brings back: the prose, the title, the goal text and the phase (not the people).
RESTORED_KEYS: tuple[str, ...] = SCALAR_KEYS

State = dict[str, Any]
Party = dict[str, str]  # {"person": name, "organisation": label, "role": "lead" | "member"}

_CAS_ATTEMPTS = 3


# --- the editable state --------------------------------------------------------------------------

def _party(person: Person | None, organisation: Organisation | None, role) -> Party:
    return {
        "person": person.name if person is not None else "",
        "organisation": organisation.label if organisation is not None else "",
        "role": getattr(role, "value", role),
    }


def editable_state(field: Field) -> State:
    """The row as the edit form shows it (names as typed text). Load the field with load_field_row."""
    state: State = {key: getattr(field, key) or "" for key in SCALAR_KEYS}
    state["phase"] = field.phase.value
    state["working_groups"] = [
        {"name": wg.name, "members": [_party(m.person, m.organisation, m.role) for m in wg.members]}
        for wg in field.working_groups
    ]
    state["responsible"] = [_party(r.person, r.organisation, r.role) for r in field.responsibilities]
    return state


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="field-edit-base")


def sign_base(state: State) -> str:
    """The merge base for the form: signed (and compressed), so a forged base cannot pass as someone's save."""
    return _signer().dumps(state)


def load_base(token: str | None) -> State | None:
    if not token:
        return None
    try:
        state = _signer().loads(token)
    except BadSignature:
        return None
    return state if isinstance(state, dict) and all(key in state for key in EDITABLE_KEYS) else None


# --- people and organisations: pick a known one or create it from a typed name -------------------

class Directory:
    """Known people and organisations by the names users type; creates what is not known yet."""

    def __init__(self) -> None:
        self.people = list(db.session.scalars(
            db.select(Person).filter_by(is_deleted=False).options(sa.orm.selectinload(Person.organisation))
            .order_by(Person.name)))
        self.organisations = list(db.session.scalars(db.select(Organisation).order_by(Organisation.name)))
        self._people: dict[str, list[Person]] = {}
        for person in self.people:
            self._people.setdefault(name_key(person.name), []).append(person)
        self._organisations: dict[str, Organisation] = {}
        for org in self.organisations:
            for name in (org.name, org.short_name):
                if name:
                    self._organisations.setdefault(name_key(name), org)

    def find_organisation(self, name: str) -> Organisation | None:
        return self._organisations.get(name_key(name)) if name else None

    def find_person(self, name: str, organisation: Organisation | None) -> Person | None:
        candidates = self._people.get(name_key(name), []) if name else []
        for person in candidates:
            if organisation is None or person.organisation_id == organisation.id:
                return person
        return candidates[0] if candidates else None

    def canonical(self, party: Party) -> Party:
        """The party as the stored row would show it, so typing a known name in another case is no change."""
        org = self.find_organisation(party["organisation"])
        person = self.find_person(party["person"], org)
        return {
            "person": person.name if person else party["person"],
            "organisation": org.label if org else party["organisation"],
            "role": party["role"],
        }

    def resolve(self, party: Party) -> tuple[Person | None, Organisation | None]:
        """The person and organisation a row names, creating new ones for names not known yet."""
        org = self.find_organisation(party["organisation"])
        if org is None and party["organisation"]:
            org = Organisation(name=party["organisation"])
            db.session.add(org)
            self._organisations[name_key(org.name)] = org
        person = self.find_person(party["person"], org)
        if person is None and party["person"]:
            person = Person(name=party["person"], organisation=org)
            db.session.add(person)
            self._people.setdefault(name_key(person.name), []).append(person)
        return person, org


# --- reading the form ----------------------------------------------------------------------------

def _form_party(entry) -> Party | None:
    sub = entry.form
    if sub.remove.data or sub.is_blank:
        return None
    return {"person": sub.person.data or "", "organisation": sub.organisation.data or "", "role": sub.role.data}


def submitted_state(form, posted_keys: set[str], base: State, directory: Directory) -> State:
    """What the user asks the row to be. Lists the form did not send at all stay as they were (base)."""
    state: State = {key: form[key].data if form[key].data is not None else base[key] for key in SCALAR_KEYS}
    if any(key.startswith("working_groups-") for key in posted_keys):
        groups = []
        for entry in form.working_groups:
            sub = entry.form
            if sub.remove.data:
                continue
            members = [directory.canonical(p) for p in map(_form_party, sub.members) if p is not None]
            if sub.name.data or members:
                groups.append({"name": sub.name.data or "", "members": members})
        state["working_groups"] = groups
    else:
        state["working_groups"] = base["working_groups"]
    if any(key.startswith("responsible-") for key in posted_keys):
        state["responsible"] = [directory.canonical(p) for p in map(_form_party, form.responsible) if p is not None]
    else:
        state["responsible"] = base["responsible"]
    return state


# --- merging -------------------------------------------------------------------------------------

@dataclass
class Merge:
    state: State
    conflicts: list[str] = dc_field(default_factory=list)  # keys both sides changed differently
    taken_over: list[str] = dc_field(default_factory=list)  # keys only the other person changed


def three_way_merge(base: State, mine: State, theirs: State) -> Merge:
    merged: State = {}
    result = Merge(merged)
    for key in EDITABLE_KEYS:
        if mine[key] == base[key]:
            merged[key] = theirs[key]
            if theirs[key] != base[key]:
                result.taken_over.append(key)
        elif theirs[key] == base[key] or theirs[key] == mine[key]:
            merged[key] = mine[key]
        else:
            merged[key] = mine[key]  # the user's text stays in the form; they decide
            result.conflicts.append(key)
    return result


# --- saving --------------------------------------------------------------------------------------

class SaveStatus(enum.StrEnum):
    SAVED = "saved"  # a new revision; the caller commits
    UNCHANGED = "unchanged"  # nothing to save; nothing was written
    CONFLICT = "conflict"  # someone else changed the same thing; nothing was written


@dataclass
class SaveResult:
    status: SaveStatus
    revision: Revision | None = None
    merge: Merge | None = None
    theirs: State | None = None  # the stored row the conflict is with
    version: int | None = None  # the stored content version the user now works against
    field: Field | None = None


def _compare_and_swap(field_id: int, seen_version: int, values: dict[str, Any]) -> bool:
    """UPDATE ... WHERE version = seen: exactly one of two concurrent saves of the same version wins."""
    statement = (
        sa.update(Field)
        .where(Field.id == field_id, Field.version == seen_version)
        .values(**values, version=Field.version + 1)
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(statement).rowcount == 1


def _scalar_values(state: State) -> dict[str, Any]:
    values = {key: state[key] for key in SCALAR_KEYS}
    values["phase"] = FieldPhase(state["phase"])
    return values


def _linked(rows) -> dict[tuple[str, str], tuple[Person | None, Organisation | None]]:
    """The people and organisations rows link to now, by the names the form shows for them."""
    return {(r.person.name if r.person else "", r.organisation.label if r.organisation else ""):
            (r.person, r.organisation) for r in rows}


def _parties(wanted: list[Party], linked: dict, directory: Directory):
    """(person, organisation, role) for each wanted row; a row that stays keeps its links (even to someone
    erased, whose placeholder name must not turn into a new person), others are looked up or created."""
    for party in wanted:
        person, org = linked.get((party["person"], party["organisation"])) or directory.resolve(party)
        yield person, org, ResponsibilityRole(party["role"])


def _apply_lists(field: Field, state: State, current: State, directory: Directory) -> None:
    if state["working_groups"] != current["working_groups"]:
        groups = list(field.working_groups)
        for position, wanted in enumerate(state["working_groups"]):
            if position < len(groups):
                group = groups[position]
                group.name, group.position = wanted["name"], position
            else:
                group = WorkingGroup(name=wanted["name"], position=position)
                field.working_groups.append(group)
            current_members = [_party(m.person, m.organisation, m.role) for m in group.members] if group.id else []
            if wanted["members"] != current_members:
                linked = _linked(group.members)
                group.members.clear()
                for person, org, role in _parties(wanted["members"], linked, directory):
                    group.members.append(WorkingGroupMember(person=person, organisation=org, role=role))
        for group in groups[len(state["working_groups"]):]:
            field.working_groups.remove(group)
    if state["responsible"] != current["responsible"]:
        linked = _linked(field.responsibilities)
        field.responsibilities.clear()
        db.session.flush()
        for position, (person, org, role) in enumerate(_parties(state["responsible"], linked, directory)):
            field.responsibilities.append(Responsibility(person=person, organisation=org, role=role,
                                                         position=position))


def save_row(field_id: int, user: User, mine: State, base: State, directory: Directory) -> SaveResult:
    """Save the user's row through a compare-and-swap on the content version; merge or report conflicts.

    On SAVED the caller commits; on anything else nothing was written (the caller rolls back).
    """
    for _attempt in range(_CAS_ATTEMPTS):
        field = load_field_row(field_id)
        theirs = editable_state(field)
        # Merging also when the version did not move: a change that bypassed the counter is not overwritten.
        merge = three_way_merge(base, mine, theirs)
        if merge.conflicts:
            return SaveResult(SaveStatus.CONFLICT, merge=merge, theirs=theirs, version=field.version, field=field)
        wanted, version = merge.state, field.version
        if wanted == theirs:
            return SaveResult(SaveStatus.UNCHANGED, version=field.version, field=field)
        before = field_snapshot(field)
        if not _compare_and_swap(field.id, version, _scalar_values(wanted)):
            db.session.rollback()  # someone saved between our read and our write: read again and merge
            continue
        _apply_lists(field, wanted, theirs, directory)
        revision = record_change(field, user, RevisionKind.EDIT, before)
        if revision is None:  # e.g. a name typed differently that resolves to the same person
            db.session.rollback()
            return SaveResult(SaveStatus.UNCHANGED, version=field.version, field=field)
        return SaveResult(SaveStatus.SAVED, revision=revision, merge=merge, version=version + 1, field=field)
    field = load_field_row(field_id)
    theirs = editable_state(field)
    merge = three_way_merge(base, mine, theirs)
    return SaveResult(SaveStatus.CONFLICT, merge=merge, theirs=theirs, version=field.version, field=field)


def restore_revision(field: Field, revision: Revision, user: User, seen_version: int,
                     summary: Summary) -> SaveResult:
    """Bring back the prose, title, goal text and phase of an older revision, as a new RESTORE revision."""
    field = load_field_row(field.id)
    if field.version != seen_version:
        return SaveResult(SaveStatus.CONFLICT, version=field.version, field=field)
    current = editable_state(field)
    wanted = dict(current)
    for key in RESTORED_KEYS:
        if key in revision.content:
            wanted[key] = revision.content[key] or ""
    if wanted == current:
        return SaveResult(SaveStatus.UNCHANGED, version=field.version, field=field)
    before = field_snapshot(field)
    if not _compare_and_swap(field.id, seen_version, _scalar_values(wanted)):
        db.session.rollback()
        return SaveResult(SaveStatus.CONFLICT, version=seen_version + 1, field=field)
    revision_made = record_change(field, user, RevisionKind.RESTORE, before, summary=summary)
    if revision_made is None:
        db.session.rollback()
        return SaveResult(SaveStatus.UNCHANGED, version=seen_version, field=field)
    return SaveResult(SaveStatus.SAVED, revision=revision_made, version=seen_version + 1, field=field)


# --- presenting a conflict -----------------------------------------------------------------------

def _party_text(party: Party) -> str:
    name = party["person"]
    if party["organisation"]:
        name = f"{name} ({party['organisation']})" if name else party["organisation"]
    return name + (" (FF)" if party["role"] == ResponsibilityRole.LEAD.value else "")


def state_text(key: str, value) -> str:
    """One column of an editable state as plain text, for side-by-side views and word diffs."""
    if key == "phase":
        return str(FieldPhase(value).label)
    if key == "working_groups":
        return "\n".join(
            group["name"] + (": " + ", ".join(_party_text(m) for m in group["members"]) if group["members"] else "")
            for group in value)
    if key == "responsible":
        return "\n".join(_party_text(party) for party in value)
    return value or ""


@dataclass
class ConflictColumn:
    key: str
    theirs: str
    mine: str
    pieces: list


def conflict_columns(result: SaveResult) -> list[ConflictColumn]:
    """Per conflicting column: the stored text, the user's text, and the word diff from the one to the other."""
    columns = []
    for key in result.merge.conflicts:
        theirs, mine = state_text(key, result.theirs[key]), state_text(key, result.merge.state[key])
        columns.append(ConflictColumn(key, theirs, mine, word_diff(theirs, mine)))
    return columns

"""The permission predicates (strategy/permissions.py) as a table: role × visibility × action, on model objects
built in memory. The predicates read only attributes, so no database and no app are needed; the HTTP tests in
the other modules check that each route family asks them."""
from __future__ import annotations

import pytest
from flask_login import AnonymousUserMixin

from strategy import permissions as p
from strategy.models import (
    Field,
    FieldAssignment,
    Membership,
    Person,
    ReportingRound,
    Role,
    RoundStatus,
    RoundTask,
    Strategy,
    TaskState,
    User,
    Visibility,
)

STRATEGY_ID, FIELD_ID, OTHER_FIELD_ID = 10, 100, 101


def _world(visibility: Visibility, *, archived: bool = False, approved: bool = False, blocks: dict | None = None):
    strategy = Strategy(id=STRATEGY_ID, slug="s", title="S", visibility=visibility, block_visibility=blocks or {})
    field = Field(id=FIELD_ID, strategy=strategy, number=1, title="Feld", is_archived=archived,
                  approved_content={"title": "Feld"} if approved else None)
    return strategy, field


def _user(user_id: int, *, role: Role | None = None, fields: tuple[int, ...] = (), admin: bool = False) -> User:
    user = User(id=user_id, email=f"u{user_id}@example.org", name=f"U{user_id}", is_admin=admin, active=True)
    if role is not None:
        user.memberships.append(Membership(strategy_id=STRATEGY_ID, role=role))
    for field_id in fields:
        user.assignments.append(FieldAssignment(field_id=field_id))
    return user


# Everyone who may come to a field: by role in the strategy and by assignment to this field or another.
ACTORS = {
    "anonymous": lambda: AnonymousUserMixin(),
    "outsider": lambda: _user(1),  # logged in, no role in this strategy
    "partner": lambda: _user(2, role=Role.PARTNER),
    "coordinator": lambda: _user(3, role=Role.COORDINATOR, fields=(FIELD_ID,)),
    "other_coordinator": lambda: _user(4, role=Role.COORDINATOR, fields=(OTHER_FIELD_ID,)),
    "steering": lambda: _user(5, role=Role.STEERING),
    "steering_coordinating": lambda: _user(6, role=Role.STEERING, fields=(FIELD_ID,)),
    "admin": lambda: _user(7, admin=True),
    "admin_coordinating": lambda: _user(8, admin=True, fields=(FIELD_ID,)),
}
EVERYONE = frozenset(ACTORS)
MEMBERS = frozenset({"partner", "coordinator", "other_coordinator", "steering", "steering_coordinating"})
ADMINS = frozenset({"admin", "admin_coordinating"})
STEERING = frozenset({"steering", "steering_coordinating"}) | ADMINS
DRAFT_READERS = STEERING | {"coordinator", "other_coordinator"}
EDITORS = frozenset({"coordinator"}) | ADMINS  # admins, and the coordinators of this very field
READERS = {  # who sees the strategy at all
    Visibility.PUBLIC: EVERYONE,
    Visibility.PARTNERS: MEMBERS | ADMINS,
    Visibility.INTERNAL: DRAFT_READERS,
}


def expected(action: str, visibility: Visibility) -> frozenset[str]:
    """Who may do `action` on a live field (with an approved state) of a strategy of this visibility."""
    readers = READERS[visibility]
    return {
        "view_strategy": readers,
        "view_editions": readers,
        "export_framework": readers,
        "export_edition": readers,
        "export_changes": readers,
        "export_field": readers,  # an approved field: everyone who reads the strategy gets its dossier
        "view_drafts": DRAFT_READERS,
        "view_history": DRAFT_READERS,
        "view_open_steps": DRAFT_READERS,
        "view_review": DRAFT_READERS,
        "edit_field": EDITORS,
        "restore_revision": EDITORS,
        "submit_field": EDITORS,
        "review_field": STEERING - {"steering_coordinating", "admin_coordinating"},  # four eyes
        "comment_on_field": STEERING,
        "take_part_in_review": STEERING | EDITORS,
        "create_edition": STEERING,
        "is_steering": STEERING,
        "manage": ADMINS,
        "manage_visibility": ADMINS,
        "view_rounds": DRAFT_READERS,
        "manage_rounds": STEERING,
        "view_round_board": STEERING,
        "answer_round_task": EDITORS,  # a live task of this field
    }[action]


def actual(action: str, user, strategy: Strategy, field: Field) -> bool:
    on_strategy = {"view_strategy", "view_editions", "export_framework", "view_drafts", "view_open_steps",
                   "create_edition", "is_steering", "manage_visibility", "view_rounds", "manage_rounds",
                   "view_round_board"}
    if action in on_strategy:
        name = action if action == "is_steering" else f"can_{action}"
        return getattr(p, name)(user, strategy)
    if action in ("export_edition", "export_changes"):
        return getattr(p, f"can_{action}")(user, type("Edition", (), {"strategy": strategy})())
    if action == "manage":
        return p.can_manage(user)
    if action == "answer_round_task":
        return p.can_answer_round_task(user, _task(field))
    return getattr(p, f"can_{action}")(user, field)


ACTIONS = (
    "view_strategy", "view_editions", "export_framework", "export_edition", "export_changes", "export_field",
    "view_drafts", "view_history", "view_open_steps", "view_review", "edit_field", "restore_revision",
    "submit_field", "review_field", "comment_on_field", "take_part_in_review", "create_edition", "is_steering",
    "manage", "manage_visibility", "view_rounds", "manage_rounds", "view_round_board", "answer_round_task",
)


def _task(field: Field, *, closed: bool = False, reopened: bool = False) -> RoundTask:
    reporting_round = ReportingRound(id=1, strategy_id=STRATEGY_ID,
                                     status=RoundStatus.CLOSED if closed else RoundStatus.OPEN)
    frozen = TaskState.OPEN if closed and not reopened else None
    return RoundTask(round=reporting_round, field=field, frozen_state=frozen)


@pytest.mark.parametrize("visibility", list(Visibility), ids=lambda v: v.value)
@pytest.mark.parametrize("actor", list(ACTORS))
def test_each_role_may_do_exactly_its_actions(actor, visibility):
    strategy, field = _world(visibility, approved=True)
    user = ACTORS[actor]()
    allowed = {action for action in ACTIONS if actual(action, user, strategy, field)}
    assert allowed == {action for action in ACTIONS if actor in expected(action, visibility)}


@pytest.mark.parametrize("actor", list(ACTORS))
def test_nobody_changes_or_reviews_an_archived_field_and_its_dossier_is_gone(actor):
    strategy, field = _world(Visibility.PUBLIC, archived=True, approved=True)
    user = ACTORS[actor]()
    for action in ("edit_field", "restore_revision", "submit_field", "review_field", "comment_on_field",
                   "take_part_in_review", "export_field"):
        assert not actual(action, user, strategy, field), action
    # its history stays readable to those who read drafts
    assert p.can_view_history(user, field) == (actor in DRAFT_READERS)


@pytest.mark.parametrize("visibility", list(Visibility), ids=lambda v: v.value)
@pytest.mark.parametrize("actor", list(ACTORS))
def test_a_field_never_approved_has_a_dossier_only_for_draft_readers(actor, visibility):
    strategy, field = _world(visibility, approved=False)
    assert p.can_export_field(ACTORS[actor](), field) == (actor in READERS[visibility] & DRAFT_READERS)


AUDIENCE = {
    "anonymous": Visibility.PUBLIC, "outsider": Visibility.PUBLIC, "partner": Visibility.PARTNERS,
    **{actor: Visibility.INTERNAL for actor in DRAFT_READERS},
}


@pytest.mark.parametrize("block_audience", list(Visibility), ids=lambda v: v.value)
@pytest.mark.parametrize("visibility", list(Visibility), ids=lambda v: v.value)
@pytest.mark.parametrize("actor", list(ACTORS))
def test_a_block_is_read_by_its_audience_and_those_above_it(actor, visibility, block_audience):
    strategy, _field = _world(visibility, blocks={"financing": block_audience.value})
    user = ACTORS[actor]()
    assert p.audience_of(user, strategy) == AUDIENCE[actor]
    may = actor in READERS[visibility] and p.AUDIENCE_RANK[AUDIENCE[actor]] >= p.AUDIENCE_RANK[block_audience]
    assert p.can_view_block(user, strategy, "financing") == may
    assert p.can_view_funding(user, strategy) == may
    assert ("financing" in p.visible_blocks(user, strategy)) == may


def test_a_block_without_a_setting_is_read_by_whoever_reads_the_strategy():
    strategy, _field = _world(Visibility.PUBLIC, blocks={"financing": "nonsense"})
    assert p.block_audience(strategy, "financing") == Visibility.PUBLIC
    assert p.block_audience(strategy, "indicators") == Visibility.PUBLIC
    assert p.visible_blocks(AnonymousUserMixin(), strategy) == frozenset(p.visibility_blocks())


def test_an_admin_locks_out_anyone_but_themselves():
    admin, other_admin, partner = _user(7, admin=True), _user(8, admin=True), _user(2, role=Role.PARTNER)
    assert p.can_lock_out(admin, other_admin) and p.can_lock_out(admin, partner)
    assert not p.can_lock_out(admin, admin)
    assert not p.can_lock_out(partner, admin) and not p.can_lock_out(AnonymousUserMixin(), partner)


def test_a_person_is_erased_once_and_only_by_an_admin():
    person, erased = Person(name="Erika"), Person(name="gelöschte Person", is_deleted=True)
    assert p.can_erase_person(_user(7, admin=True), person)
    assert not p.can_erase_person(_user(7, admin=True), erased)
    assert not p.can_erase_person(_user(5, role=Role.STEERING), person)


def test_a_role_counts_only_in_its_own_strategy():
    strategy, field = _world(Visibility.INTERNAL)
    elsewhere = Strategy(id=STRATEGY_ID + 1, slug="t", title="T", visibility=Visibility.INTERNAL)
    steering = _user(5, role=Role.STEERING)
    assert p.role_in(steering, strategy) == Role.STEERING and p.role_in(steering, elsewhere) is None
    assert p.can_view_strategy(steering, strategy) and not p.can_view_strategy(steering, elsewhere)
    assert p.role_in(AnonymousUserMixin(), strategy) is None


@pytest.mark.parametrize("actor", list(ACTORS))
def test_a_closed_round_takes_no_answers_and_only_admins_reopen_a_field(actor):
    strategy, field = _world(Visibility.INTERNAL)
    user = ACTORS[actor]()
    locked, reopened, live = _task(field, closed=True), _task(field, closed=True, reopened=True), _task(field)
    assert not p.can_answer_round_task(user, locked)
    assert p.can_answer_round_task(user, reopened) == (actor in EDITORS)
    assert p.can_reopen_round_task(user, locked) == (actor in ADMINS)
    assert not p.can_reopen_round_task(user, live)  # an open round has nothing to reopen

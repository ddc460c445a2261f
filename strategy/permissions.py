"""The one place that answers "may this user do this to this object?".

Views, templates and menus all ask these predicates; nothing else decides access.
Anonymous users arrive as Flask-Login's AnonymousUserMixin (is_authenticated False).
"""
from __future__ import annotations

from typing import Callable, TypeVar

from flask import abort, g
from flask_login import current_user

from .extensions import db
from .models import Field, Role, Strategy, User, Visibility

F = TypeVar("F", bound=Callable)


def public(view: F) -> F:
    """Mark a view as reachable without login (deny by default for everything else)."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def _user(user) -> User | None:
    return user if getattr(user, "is_authenticated", False) else None


def is_admin(user) -> bool:
    account = _user(user)
    return bool(account and account.is_admin)


def role_in(user, strategy: Strategy) -> Role | None:
    account = _user(user)
    if account is None:
        return None
    for membership in account.memberships:
        if membership.strategy_id == strategy.id:
            return membership.role
    return None


def can_view_strategy(user, strategy: Strategy) -> bool:
    if strategy.visibility == Visibility.PUBLIC or is_admin(user):
        return True
    role = role_in(user, strategy)
    if role is None:
        return False
    if strategy.visibility == Visibility.PARTNERS:
        return True
    return role in (Role.STEERING, Role.COORDINATOR)


def can_view_drafts(user, strategy: Strategy) -> bool:
    """Steering, coordinators and admins read work in progress; partners and the public do not."""
    return is_admin(user) or role_in(user, strategy) in (Role.STEERING, Role.COORDINATOR)


def coordinates(user, field: Field) -> bool:
    account = _user(user)
    return bool(account) and any(a.field_id == field.id for a in account.assignments)


def can_edit_field(user, field: Field) -> bool:
    if field.is_archived:
        return False
    if is_admin(user):
        return True
    return role_in(user, field.strategy) == Role.COORDINATOR and coordinates(user, field)


def can_view_history(user, field: Field) -> bool:
    return can_view_drafts(user, field.strategy)


def can_restore_revision(user, field: Field) -> bool:
    """Restoring an older revision of a row is editing it: its coordinators and admins."""
    return can_view_history(user, field) and can_edit_field(user, field)


def can_view_open_steps(user, strategy: Strategy) -> bool:
    """The open-steps page across fields shows live (draft) steps: for those who may read drafts."""
    return can_view_drafts(user, strategy)


def can_view_funding(user, strategy: Strategy) -> bool:
    """The funding timeline and the overview's funding state: whoever may read the financing block."""
    return can_view_block(user, strategy, "financing")


def can_manage(user) -> bool:
    """Admin pages: strategies, fields, people, accounts, assignments, audit log."""
    return is_admin(user)


def can_lock_out(user, account: User) -> bool:
    """Deactivating an account or taking away its admin flag: never one's own, so an admin cannot lock
    themselves out (and the last active admin always remains)."""
    return can_manage(user) and _user(user) is not None and account.id != user.id


def can_erase_person(user, person) -> bool:
    """Deleting a person (GDPR erasure): admins, once; the placeholder row itself is never erased again."""
    return can_manage(user) and not person.is_deleted


# --- review, comments, editions --------------------------------------------------------------------

def is_steering(user, strategy: Strategy) -> bool:
    return is_admin(user) or role_in(user, strategy) == Role.STEERING


def can_submit_field(user, field: Field) -> bool:
    """Coordinators of the field (and admins) hand a draft or a returned row in for review."""
    return can_edit_field(user, field)


def can_review_field(user, field: Field) -> bool:
    """Steering (and admins) return or approve, but never a field they coordinate themselves:
    whoever has an assignment on a field may not approve it, whatever their role (four-eyes rule)."""
    return not field.is_archived and is_steering(user, field.strategy) and not coordinates(user, field)


def can_comment_on_field(user, field: Field) -> bool:
    """Steering (and admins) start review comments on a field."""
    return not field.is_archived and is_steering(user, field.strategy)


def can_take_part_in_review(user, field: Field) -> bool:
    """Answer and resolve review comments: steering, admins, and the field's own coordinators."""
    return can_comment_on_field(user, field) or can_edit_field(user, field)


def can_view_review(user, field: Field) -> bool:
    """The review thread and the "geändert seit Freigabe" markers: those who may read drafts."""
    return can_view_drafts(user, field.strategy)


def can_view_editions(user, strategy: Strategy) -> bool:
    """Editions hold approved content only, so whoever may read the strategy may read them and compare."""
    return can_view_strategy(user, strategy)


def can_create_edition(user, strategy: Strategy) -> bool:
    return is_steering(user, strategy)


# --- reporting rounds (Berichtsrunden) --------------------------------------------------------------

def can_view_rounds(user, strategy: Strategy) -> bool:
    """A strategy's rounds and their deadlines: whoever reads drafts (steering, coordinators, admins)."""
    return can_view_drafts(user, strategy)


def can_manage_rounds(user, strategy: Strategy) -> bool:
    """Open a round, move its deadlines, freeze the edition for the meeting, close it: steering and admins."""
    return is_steering(user, strategy)


def can_view_round_board(user, strategy: Strategy) -> bool:
    """The board of every field's task (who has not updated yet) and its CSV: steering and admins."""
    return is_steering(user, strategy)


def can_answer_round_task(user, task) -> bool:
    """"Nothing changed since the last round": the field's coordinators (and admins), while the task is live."""
    return not task.is_locked and can_edit_field(user, task.field)


def can_reopen_round_task(user, task) -> bool:
    """Reopen one field of a closed round (with a logged reason), or lock it again: admins only."""
    return is_admin(user) and task.round.is_closed


# --- audiences and blocks (status pages and the open-data API) ---------------------------------------

# Who reads a strategy, from the least to the most trusted; a block of a row names the least audience
# that may read it (Strategy.block_visibility), so its rank decides.
AUDIENCE_RANK = {Visibility.PUBLIC: 0, Visibility.PARTNERS: 1, Visibility.INTERNAL: 2}


def visibility_blocks() -> tuple[str, ...]:
    """The blocks of a row whose visibility admins choose: the framework's phases, then the indicators."""
    from .framework import FRAMEWORK

    return tuple(phase.key for phase in FRAMEWORK) + ("indicators",)


def audience_of(user, strategy: Strategy) -> Visibility:
    """The audience a user reads a strategy as: internal (admins, steering, coordinators), partners, public."""
    if is_admin(user):
        return Visibility.INTERNAL
    role = role_in(user, strategy)
    if role in (Role.STEERING, Role.COORDINATOR):
        return Visibility.INTERNAL
    if role == Role.PARTNER:
        return Visibility.PARTNERS
    return Visibility.PUBLIC


def block_audience(strategy: Strategy, block: str) -> Visibility:
    """The least audience that may read a block; unset blocks are readable by all who see the strategy."""
    value = (strategy.block_visibility or {}).get(block)
    return Visibility(value) if value in Visibility._value2member_map_ else Visibility.PUBLIC


def can_view_block(user, strategy: Strategy, block: str) -> bool:
    if not can_view_strategy(user, strategy):
        return False
    return AUDIENCE_RANK[audience_of(user, strategy)] >= AUDIENCE_RANK[block_audience(strategy, block)]


def visible_blocks(user, strategy: Strategy) -> frozenset[str]:
    """The blocks `can_view_block` allows, with the strategy and the reader's audience asked once (search
    asks this for every strategy)."""
    if not can_view_strategy(user, strategy):
        return frozenset()
    rank = AUDIENCE_RANK[audience_of(user, strategy)]
    return frozenset(block for block in visibility_blocks() if rank >= AUDIENCE_RANK[block_audience(strategy, block)])


def can_manage_visibility(user, strategy: Strategy) -> bool:
    """Who chooses which blocks partners and the public read: admins."""
    return is_admin(user)


# --- PDF exports ----------------------------------------------------------------------------------
# An export shows exactly what its reader may read on the web pages: the live draft to those who may view
# drafts, the approved state to everyone else, only the blocks they may see (exports.services decides the
# content from these same predicates).

def can_export_framework(user, strategy: Strategy) -> bool:
    return can_view_strategy(user, strategy)


def can_export_field(user, field: Field) -> bool:
    """A field's dossier: for draft readers always; for others once the field has an approved state."""
    if field.is_archived or not can_view_strategy(user, field.strategy):
        return False
    return can_view_drafts(user, field.strategy) or field.approved_content is not None


def can_export_edition(user, edition) -> bool:
    return can_view_editions(user, edition.strategy)


def can_export_changes(user, edition) -> bool:
    """"Änderungen seit <edition>" compares the edition with today's approved state: both are readable."""
    return can_view_editions(user, edition.strategy)


# --- spreadsheet import ---------------------------------------------------------------------------

def can_import(user, strategy: Strategy) -> bool:
    """Importing a file into a strategy's framework changes many fields at once: steering and admins."""
    return is_steering(user, strategy)


def can_create_strategy_from_file(user) -> bool:
    """A new strategy from a city's own file is a new strategy: admins, as in the admin area."""
    return can_manage(user)


def get_strategy_or_404(slug: str) -> Strategy:
    """Load a strategy the current user may see; anything else is a 404 so its existence stays hidden."""
    strategy = db.session.scalar(db.select(Strategy).filter_by(slug=slug))
    if strategy is None or not can_view_strategy(current_user, strategy):
        abort(404)
    g.known_strategy = strategy  # a later 403 may name whom to ask (errors.py): the reader may see it
    return strategy


def get_field_or_404(strategy: Strategy, number: int, *, include_archived: bool = False) -> Field:
    """A field of the live framework; history pages pass include_archived, so an archived field's history stays
    readable (archived fields keep their number, so it still names exactly one field)."""
    query = db.select(Field).filter_by(strategy_id=strategy.id, number=number)
    if not include_archived:
        query = query.filter_by(is_archived=False)
    field = db.session.scalar(query)
    if field is None:
        abort(404)
    g.known_field = field
    return field


def require(allowed: bool) -> None:
    """Abort with 403 unless allowed; for objects whose existence the user may already know.

    The 403 page tells a signed-in user whom to ask about the strategy or field this request loaded through
    get_strategy_or_404/get_field_or_404 (see errors.forbidden_contacts).
    """
    if not allowed:
        abort(403)


__all__ = [
    "can_create_strategy_from_file", "can_import",
    "can_export_changes", "can_export_edition", "can_export_field", "can_export_framework",
    "AUDIENCE_RANK", "audience_of", "block_audience", "can_manage_visibility", "can_view_block",
    "visibility_blocks", "visible_blocks",
    "can_edit_field", "can_restore_revision", "can_erase_person", "can_lock_out", "can_manage", "can_view_drafts", "can_view_history", "can_view_strategy",
    "can_answer_round_task", "can_manage_rounds", "can_reopen_round_task", "can_view_round_board",
    "can_view_rounds",
    "can_comment_on_field", "can_create_edition", "can_review_field", "can_submit_field",
    "can_take_part_in_review", "can_view_editions", "can_view_review", "is_steering",
    "coordinates", "get_field_or_404", "get_strategy_or_404", "is_admin", "public", "require", "role_in",
]


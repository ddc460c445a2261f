"""Object factories for tests: real model objects, saved through the real session."""
from __future__ import annotations

import itertools
from contextlib import nullcontext
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date

from strategy.auth.passwords import hash_password
from strategy.extensions import db
from strategy.models import (
    Edition,
    Field,
    FieldAssignment,
    Membership,
    Organisation,
    Person,
    Role,
    Strategy,
    User,
    Visibility,
)

PASSWORD = "korrekt-pferd-batterie"
_counter = itertools.count(1)
_password_hash: str | None = None


def _hash() -> str:
    # One slow argon2 hash per test run is enough: every factory user shares the password.
    global _password_hash
    if _password_hash is None:
        _password_hash = hash_password(PASSWORD)
    return _password_hash


@dataclass
class Factory:
    """Creates objects and commits them, so tests read as: given these, when ..., then ..."""

    created: list = dc_field(default_factory=list)
    _reviewers: dict = dc_field(default_factory=dict)

    def organisation(self, name: str | None = None, **kwargs) -> Organisation:
        org = Organisation(name=name or f"Organisation {next(_counter)}", **kwargs)
        return self._save(org)

    def person(self, name: str | None = None, **kwargs) -> Person:
        return self._save(Person(name=name or f"Person {next(_counter)}", **kwargs))

    def strategy(self, *, fields: int = 3, visibility: Visibility = Visibility.PUBLIC, **kwargs) -> Strategy:
        n = next(_counter)
        strategy = Strategy(slug=kwargs.pop("slug", f"strategie-{n}"), title=kwargs.pop("title", f"Strategie {n}"),
                            visibility=visibility, **kwargs)
        db.session.add(strategy)
        for number in range(1, fields + 1):
            db.session.add(Field(strategy=strategy, number=number, title=f"Handlungsfeld {number}",
                                 goal_text=f"Ziel {number}"))
        return self._save(strategy)

    def field(self, strategy: Strategy, number: int) -> Field:
        return db.session.scalar(db.select(Field).filter_by(strategy_id=strategy.id, number=number))

    def user(self, *, role: Role | None = None, strategy: Strategy | None = None, fields: tuple[Field, ...] = (),
             admin: bool = False, email: str | None = None, name: str | None = None, active: bool = True) -> User:
        n = next(_counter)
        user = User(email=email or f"user{n}@example.org", name=name or f"Nutzer*in {n}",
                    password_hash=_hash(), is_admin=admin, active=active)
        db.session.add(user)
        if role is not None and strategy is not None:
            user.memberships.append(Membership(strategy=strategy, role=role))
        for f in fields:
            user.assignments.append(FieldAssignment(field=f))
        return self._save(user)

    def approve(self, *fields: Field, by: User | None = None) -> None:
        """Approve fields as they stand now, through the review workflow (review.services.submit and
        approve, with the audit events and review revisions they write), so partners and the public see this
        content. `by` is a steering member who does not coordinate the field (four-eyes rule); by default one
        made for the strategy. A field already approved with this very content stays as it is; one whose row
        a test changed directly gets that edit's revision first, as any change to approved content does."""
        from flask import current_app, has_request_context

        from strategy.fields.services import load_field_row
        from strategy.models import ReviewState, RevisionKind
        from strategy.permissions import can_review_field
        from strategy.review.services import approve, content_fingerprint, submit
        from strategy.revisions import record_change
        from strategy.snapshots import field_snapshot

        db.session.flush()
        # The review services write translated summaries and audit events, which need a request context.
        with nullcontext() if has_request_context() else current_app.test_request_context():
            for field in fields:
                snapshot = field_snapshot(load_field_row(field.id))
                if field.review_state == ReviewState.APPROVED:
                    if field.approved_content == snapshot:
                        continue
                    record_change(field, None, RevisionKind.EDIT, field.approved_content)
                reviewer = by or self._reviewer(field.strategy)
                if not can_review_field(reviewer, field):
                    raise ValueError(f"{reviewer!r} may not approve {field!r} (steering, not its coordinator)")
                if field.review_state != ReviewState.SUBMITTED:
                    submit(field, reviewer)
                approve(field, reviewer, content_fingerprint(snapshot))
        db.session.commit()

    def edition(self, strategy: Strategy, title: str = "Fassung März 2026", decided_on: date = date(2026, 3, 3),
                by: User | None = None) -> Edition:
        """An edition of today's approved state, made as steering makes one (review.services.create_edition)."""
        from strategy.review.services import create_edition

        edition = create_edition(strategy, by or self._reviewer(strategy), title, decided_on)
        return self._save(edition)

    def _reviewer(self, strategy: Strategy) -> User:
        """The steering member who approves for tests that do not name one; one per strategy."""
        if strategy.id not in self._reviewers:
            self._reviewers[strategy.id] = self.user(role=Role.STEERING, strategy=strategy, name="Lenkung (Test)")
        return self._reviewers[strategy.id]

    def _save(self, obj):
        db.session.add(obj)
        db.session.commit()
        self.created.append(obj)
        return obj

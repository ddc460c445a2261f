"""The personal start page ("Meine Aufgaben"): what each signed-in person has to do, by their roles.

- Coordinators: per field they coordinate, the open round's task (state, deadline), overdue steps and steps
  due soon, a returned row with the comment that returned it, review comments still waiting for an answer.
- Steering (and admins): the fields awaiting their review, and each open round's board in numbers.
- Partners: their strategies' status pages.
What a person may see and do is asked of strategy.permissions, as everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    OPEN_STEP_STATUSES,
    Field,
    NextStep,
    ReportingRound,
    ReviewComment,
    ReviewState,
    Role,
    RoundStage,
    RoundStatus,
    RoundTask,
    StageKind,
    Strategy,
    TaskState,
    User,
    step_is_overdue,
)
from ..permissions import (
    can_answer_round_task,
    can_edit_field,
    can_review_field,
    can_submit_field,
    can_view_round_board,
    can_view_strategy,
    is_admin,
)
from ..rounds.services import board_rows, state_counts, task_state

# Steps due within this many days count as "upcoming" on the start page.
UPCOMING_DAYS = 30


@dataclass
class FieldTodo:
    field: Field
    task: RoundTask | None = None
    task_state: TaskState | None = None
    deadline: date | None = None
    days_left: int | None = None
    may_answer: bool = False
    may_submit: bool = False
    return_comment: ReviewComment | None = None
    unanswered: list[ReviewComment] = dc_field(default_factory=list)
    overdue_steps: list[NextStep] = dc_field(default_factory=list)
    upcoming_steps: list[NextStep] = dc_field(default_factory=list)

    @property
    def has_something_due(self) -> bool:
        return bool(self.task_state in (TaskState.OPEN, TaskState.UPDATED) or self.return_comment
                    or self.unanswered or self.overdue_steps)


@dataclass
class RoundSummary:
    round: ReportingRound
    counts: dict[TaskState, int]
    update_due: date | None


@dataclass
class StartPage:
    fields: list[FieldTodo]
    to_review: list[Field]
    rounds: list[RoundSummary]
    partner_strategies: list[Strategy]
    reviews: bool = False  # steers at least one strategy: the review section shows, empty or not

    @property
    def is_empty(self) -> bool:
        return not (self.fields or self.reviews or self.partner_strategies)


def _open_rounds(strategy_ids: set[int]) -> dict[int, ReportingRound]:
    if not strategy_ids:
        return {}
    rounds = db.session.scalars(
        sa.select(ReportingRound).where(ReportingRound.strategy_id.in_(strategy_ids),
                                        ReportingRound.status == RoundStatus.OPEN)
        .options(selectinload(ReportingRound.stages))
    )
    return {r.strategy_id: r for r in rounds}


def _stage_date(reporting_round: ReportingRound, kind: StageKind) -> date | None:
    stage: RoundStage | None = reporting_round.stage(kind)
    return stage.due_on if stage else None


def _coordinated_fields(user: User) -> list[Field]:
    field_ids = [a.field_id for a in user.assignments]
    if not field_ids:
        return []
    fields = db.session.scalars(
        sa.select(Field).where(Field.id.in_(field_ids), Field.is_archived.is_(False))
        .options(selectinload(Field.strategy), selectinload(Field.next_steps), selectinload(Field.assignments))
        .order_by(Field.strategy_id, Field.number)
    )
    return [f for f in fields if can_edit_field(user, f)]


def _threads(field_ids: list[int]) -> dict[int, list[ReviewComment]]:
    """Unresolved comment threads per field, newest first, with their answers."""
    found: dict[int, list[ReviewComment]] = {}
    if not field_ids:
        return found
    roots = db.session.scalars(
        sa.select(ReviewComment)
        .where(ReviewComment.field_id.in_(field_ids), ReviewComment.parent_id.is_(None),
               ReviewComment.resolved_at.is_(None))
        .order_by(ReviewComment.created_at.desc(), ReviewComment.id.desc())
        .options(selectinload(ReviewComment.replies))
    )
    for root in roots:
        found.setdefault(root.field_id, []).append(root)
    return found


def _field_todos(user: User, today: date) -> list[FieldTodo]:
    fields = _coordinated_fields(user)
    rounds = _open_rounds({f.strategy_id for f in fields})
    tasks = {}
    if rounds:
        tasks = {(t.round_id, t.field_id): t for t in db.session.scalars(
            sa.select(RoundTask).where(RoundTask.round_id.in_([r.id for r in rounds.values()]),
                                       RoundTask.field_id.in_([f.id for f in fields])))}
    threads = _threads([f.id for f in fields])
    horizon = today + timedelta(days=UPCOMING_DAYS)
    todos = []
    for field in fields:
        todo = FieldTodo(field=field)
        reporting_round = rounds.get(field.strategy_id)
        task = tasks.get((reporting_round.id, field.id)) if reporting_round else None
        if task is not None:
            todo.task, todo.task_state = task, task_state(task)
            if todo.task_state in (TaskState.OPEN, TaskState.UPDATED):
                todo.deadline = _stage_date(reporting_round, StageKind.UPDATE)
            elif todo.task_state == TaskState.SUBMITTED:
                todo.deadline = _stage_date(reporting_round, StageKind.REVIEW)
            todo.days_left = (todo.deadline - today).days if todo.deadline else None
            todo.may_answer = can_answer_round_task(user, task) and todo.task_state == TaskState.OPEN
        todo.may_submit = (field.review_state in (ReviewState.DRAFT, ReviewState.RETURNED)
                           and can_submit_field(user, field))
        coordinator_ids = {a.user_id for a in field.assignments}
        for thread in threads.get(field.id, []):
            last = thread.replies[-1] if thread.replies else thread
            if field.review_state == ReviewState.RETURNED and todo.return_comment is None:
                todo.return_comment = thread  # the newest open thread: the one the return wrote
                continue
            if last.author_id not in coordinator_ids:
                todo.unanswered.append(thread)
        for step in field.next_steps:
            if step.status not in OPEN_STEP_STATUSES or step.due_date is None:
                continue
            if step_is_overdue(step.due_date, step.status, today):
                todo.overdue_steps.append(step)
            elif step.due_date <= horizon:
                todo.upcoming_steps.append(step)
        todo.overdue_steps.sort(key=lambda s: s.due_date)
        todo.upcoming_steps.sort(key=lambda s: s.due_date)
        todos.append(todo)
    return todos


def _steering_strategies(user: User) -> list[Strategy]:
    if is_admin(user):
        return list(db.session.scalars(sa.select(Strategy).order_by(Strategy.title)))
    return sorted((m.strategy for m in user.memberships if m.role == Role.STEERING), key=lambda s: s.title)


def build_start_page(user: User, today: date) -> StartPage:
    steering = _steering_strategies(user)
    to_review: list[Field] = []
    if steering:
        submitted = db.session.scalars(
            sa.select(Field).where(Field.strategy_id.in_([s.id for s in steering]),
                                   Field.review_state == ReviewState.SUBMITTED, Field.is_archived.is_(False))
            .order_by(Field.strategy_id, Field.number).options(selectinload(Field.strategy))
        )
        to_review = [f for f in submitted if can_review_field(user, f)]
    summaries = []
    for _strategy_id, reporting_round in sorted(_open_rounds({s.id for s in steering}).items()):
        if can_view_round_board(user, reporting_round.strategy):
            rows = board_rows(reporting_round, today)
            summaries.append(RoundSummary(reporting_round, state_counts(rows),
                                          _stage_date(reporting_round, StageKind.UPDATE)))
    partner = sorted((m.strategy for m in user.memberships
                      if m.role == Role.PARTNER and can_view_strategy(user, m.strategy)), key=lambda s: s.title)
    return StartPage(fields=_field_todos(user, today), to_review=to_review, rounds=summaries,
                     partner_strategies=partner, reviews=bool(steering))


"""Reporting rounds: opening one from the meeting date, the tasks' states, "nothing changed", the edition for
the meeting, closing (locking) the round, and an admin reopening one field with a reason. Views commit.

A live task's state is read from its field, never stored, so it cannot drift from the real edits,
submissions and approvals (it is "linked" to them by definition):

- freigegeben: the field is approved, and the approval happened in this round, or the coordinators said
  nothing changed while it stood approved;
- eingereicht: the field is submitted for review;
- aktualisiert: the field changed after the round opened, or it was returned, or its coordinators said
  nothing changed (an answer, though the row still awaits submission or approval);
- offen: none of these.

Closing the round freezes each task's state (`RoundTask.frozen_state`); later edits belong to the next round.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from ..audit import AuditAction, record_event
from ..days import local_today, working_days_before
from ..extensions import db
from ..models import (
    Edition,
    Field,
    FieldAssignment,
    ReportingRound,
    ReviewState,
    RoundStage,
    RoundStatus,
    RoundTask,
    StageKind,
    Strategy,
    TaskState,
    User,
    utcnow,
)
from ..review.services import ReviewError, create_edition
from .notices import round_opened

# Working days before the meeting, per stage: three weeks to update, a week to review, the edition two days
# before the meeting so it can be sent with the invitation (what a city's Lenkungskreis usually needs).
DEFAULT_OFFSETS = {StageKind.UPDATE: 15, StageKind.REVIEW: 5, StageKind.EDITION: 2}
STAGE_ORDER = (StageKind.UPDATE, StageKind.REVIEW, StageKind.EDITION)
REASON_MAX = 500


class RoundError(Exception):
    """Something that cannot be done to a round now; the message is for the user."""


def stage_dates(meeting_on: date, bundesland: str, offsets: dict[StageKind, int] | None = None) -> dict[StageKind, date]:
    """Each stage's deadline: so many working days (weekends and the Bundesland's holidays skipped) before the
    meeting."""
    offsets = {**DEFAULT_OFFSETS, **(offsets or {})}
    return {kind: working_days_before(meeting_on, offsets[kind], bundesland) for kind in STAGE_ORDER}


def check_stage_order(dates: dict[StageKind, date], meeting_on: date) -> str | None:
    """A message when the deadlines do not follow each other up to the meeting, else None."""
    ordered = [dates[kind] for kind in STAGE_ORDER] + [meeting_on]
    if any(later < earlier for earlier, later in zip(ordered, ordered[1:], strict=False)):
        return _("Die Fristen müssen aufeinander folgen: Aktualisierung, Prüfung, Fassung, dann die Sitzung.")
    return None


def open_round_of(strategy: Strategy) -> ReportingRound | None:
    return db.session.scalar(sa.select(ReportingRound).filter_by(strategy_id=strategy.id, status=RoundStatus.OPEN))


def rounds_of(strategy: Strategy) -> list[ReportingRound]:
    return list(db.session.scalars(
        sa.select(ReportingRound).filter_by(strategy_id=strategy.id)
        .order_by(ReportingRound.meeting_on.desc(), ReportingRound.id.desc())
    ))


def open_round(strategy: Strategy, user: User, *, title: str, meeting_on: date,
               dates: dict[StageKind, date]) -> ReportingRound:
    """A new round with a task for every live field. One open round per strategy at a time."""
    if open_round_of(strategy) is not None:
        raise RoundError(_("Es gibt schon eine offene Berichtsrunde. Schließen Sie sie, bevor Sie eine neue "
                           "eröffnen."))
    if problem := check_stage_order(dates, meeting_on):
        raise RoundError(problem)
    reporting_round = ReportingRound(strategy=strategy, title=title.strip(), meeting_on=meeting_on,
                                     opened_by=user, opened_at=utcnow())
    for kind in STAGE_ORDER:
        reporting_round.stages.append(RoundStage(kind=kind, due_on=dates[kind]))
    for field in strategy.fields:
        reporting_round.tasks.append(RoundTask(field=field))
    db.session.add(reporting_round)
    db.session.flush()
    record_event(AuditAction.ROUND_OPENED, user, object_type="strategy", object_id=strategy.id,
                 detail={"round": reporting_round.id, "title": reporting_round.title,
                         "meeting_on": meeting_on.isoformat(),
                         **{kind.value: dates[kind].isoformat() for kind in STAGE_ORDER}})
    round_opened(reporting_round, user)
    return reporting_round


def join_open_round(field: Field) -> RoundTask | None:
    """A field added while a round is open gets its task in that round too."""
    reporting_round = db.session.scalar(
        sa.select(ReportingRound).filter_by(strategy_id=field.strategy_id, status=RoundStatus.OPEN))
    if reporting_round is None or task_for(reporting_round, field) is not None:
        return None
    task = RoundTask(round=reporting_round, field=field)
    db.session.add(task)
    return task


def change_deadlines(reporting_round: ReportingRound, user: User, dates: dict[StageKind, date]) -> dict:
    """Steering moves a stage's deadline; returns what changed (before → after)."""
    if reporting_round.is_closed:
        raise RoundError(_("Diese Berichtsrunde ist abgeschlossen."))
    if problem := check_stage_order(dates, reporting_round.meeting_on):
        raise RoundError(problem)
    changes = {}
    for stage in reporting_round.stages:
        if dates[stage.kind] != stage.due_on:
            changes[stage.kind.value] = {"before": stage.due_on.isoformat(), "after": dates[stage.kind].isoformat()}
            stage.due_on = dates[stage.kind]
    if changes:
        record_event(AuditAction.ROUND_DEADLINES_CHANGED, user, object_type="strategy",
                     object_id=reporting_round.strategy_id, detail={"round": reporting_round.id, **changes})
    return changes


# --- tasks -----------------------------------------------------------------------------------------

def live_state(task: RoundTask) -> TaskState:
    """The task's state as its field stands now (module docstring)."""
    field, opened_at = task.field, task.round.opened_at
    if field.review_state == ReviewState.APPROVED and (
            task.unchanged_at is not None or (field.approved_at is not None and field.approved_at > opened_at)):
        return TaskState.APPROVED
    if field.review_state == ReviewState.SUBMITTED:
        return TaskState.SUBMITTED
    if (field.review_state == ReviewState.RETURNED or task.unchanged_at is not None
            or (field.updated_at is not None and field.updated_at > opened_at)):
        return TaskState.UPDATED
    return TaskState.OPEN


def task_state(task: RoundTask) -> TaskState:
    return task.frozen_state if task.frozen_state is not None else live_state(task)


def confirm_unchanged(task: RoundTask, user: User) -> None:
    """"Nothing changed since the last round": a one-click answer, recorded, for a task nobody touched yet."""
    if task.is_locked:
        raise RoundError(_("Diese Berichtsrunde ist für dieses Handlungsfeld abgeschlossen."))
    if live_state(task) != TaskState.OPEN:
        raise RoundError(_("Für dieses Handlungsfeld gibt es in dieser Runde schon eine Antwort."))
    task.unchanged_at = utcnow()
    task.unchanged_by = user
    record_event(AuditAction.ROUND_TASK_UNCHANGED, user, object_type="field", object_id=task.field_id,
                 detail={"round": task.round_id})


def tasks_of(reporting_round: ReportingRound) -> list[RoundTask]:
    """The round's tasks with their fields and coordinators, in the fields' order (one query each)."""
    return list(db.session.scalars(
        sa.select(RoundTask).join(Field).where(RoundTask.round_id == reporting_round.id).order_by(Field.number)
        .options(selectinload(RoundTask.field).selectinload(Field.assignments).selectinload(FieldAssignment.user),
                 selectinload(RoundTask.field).selectinload(Field.updated_by))
    ))


def task_for(reporting_round: ReportingRound, field: Field) -> RoundTask | None:
    return db.session.scalar(sa.select(RoundTask).filter_by(round_id=reporting_round.id, field_id=field.id))


# --- edition, closing, reopening -----------------------------------------------------------------------

def current_stage(reporting_round: ReportingRound, today: date | None = None) -> StageKind | None:
    """The stage whose deadline comes next (None once the edition's date has passed)."""
    today = today or local_today()
    for stage in sorted(reporting_round.stages, key=lambda s: s.due_on):
        if today <= stage.due_on:
            return stage.kind
    return None


def edition_stage_reached(reporting_round: ReportingRound, today: date | None = None) -> bool:
    """The last stage begins once the review deadline has passed (or on the edition's own date)."""
    today = today or local_today()
    review = reporting_round.stage(StageKind.REVIEW)
    return review is not None and today > review.due_on


def freeze_edition(reporting_round: ReportingRound, user: User) -> Edition:
    """The edition for the meeting, in one step: today's approved state, dated with the meeting."""
    if reporting_round.is_closed:
        raise RoundError(_("Diese Berichtsrunde ist abgeschlossen."))
    if reporting_round.edition_id is not None:
        raise RoundError(_("Für diese Berichtsrunde gibt es schon eine Fassung."))
    if not edition_stage_reached(reporting_round):
        raise RoundError(_("Die Fassung wird erst nach der Prüfungsfrist erstellt."))
    try:
        edition = create_edition(reporting_round.strategy, user, reporting_round.title, reporting_round.meeting_on)
    except ReviewError as error:
        raise RoundError(str(error)) from error
    reporting_round.edition = edition
    return edition


def close_round(reporting_round: ReportingRound, user: User, today: date | None = None) -> None:
    """After the meeting: every task keeps the state it reached, and the round is locked."""
    today = today or local_today()
    if reporting_round.is_closed:
        raise RoundError(_("Diese Berichtsrunde ist schon abgeschlossen."))
    if today < reporting_round.meeting_on:
        raise RoundError(_("Eine Berichtsrunde wird erst am Tag der Sitzung oder danach abgeschlossen."))
    for task in tasks_of(reporting_round):
        task.frozen_state = live_state(task)
    reporting_round.status = RoundStatus.CLOSED
    reporting_round.closed_at = utcnow()
    reporting_round.closed_by = user
    record_event(AuditAction.ROUND_CLOSED, user, object_type="strategy", object_id=reporting_round.strategy_id,
                 detail={"round": reporting_round.id})


def reopen_task(task: RoundTask, user: User, reason: str) -> None:
    """An admin reopens one field of a closed round; the reason is required and logged."""
    reason = (reason or "").replace("\x00", "").strip()
    if not reason:
        raise RoundError(_("Bitte geben Sie einen Grund an."))
    if len(reason) > REASON_MAX:
        raise RoundError(_("Der Grund darf höchstens %(max)d Zeichen lang sein.", max=REASON_MAX))
    if not task.is_locked:
        raise RoundError(_("Dieses Handlungsfeld ist in dieser Runde nicht gesperrt."))
    before = task.frozen_state
    task.frozen_state = None
    task.reopened_at = utcnow()
    task.reopened_by = user
    task.reopen_reason = reason
    record_event(AuditAction.ROUND_TASK_REOPENED, user, object_type="field", object_id=task.field_id,
                 detail={"round": task.round_id, "reason": reason, "before": before.value})


def relock_task(task: RoundTask, user: User) -> None:
    """Lock a reopened field again, with the state it has now."""
    if task.is_locked or not task.round.is_closed:
        raise RoundError(_("Dieses Handlungsfeld ist in dieser Runde nicht wieder geöffnet."))
    task.frozen_state = live_state(task)
    record_event(AuditAction.ROUND_TASK_RELOCKED, user, object_type="field", object_id=task.field_id,
                 detail={"round": task.round_id, "state": task.frozen_state.value})


# --- the board ---------------------------------------------------------------------------------------

@dataclass
class BoardRow:
    task: RoundTask
    state: TaskState
    deadline: date | None  # the deadline that the task's next step has (none once approved)
    days_left: int | None  # calendar days until it; negative when passed
    coordinators: list[User]

    @property
    def field(self) -> Field:
        return self.task.field

    @property
    def coordinator_names(self) -> str:
        return ", ".join(user.name for user in self.coordinators)


def _deadline(reporting_round: ReportingRound, state: TaskState) -> date | None:
    kind = {TaskState.OPEN: StageKind.UPDATE, TaskState.UPDATED: StageKind.UPDATE,
            TaskState.SUBMITTED: StageKind.REVIEW}.get(state)
    stage = reporting_round.stage(kind) if kind else None
    return stage.due_on if stage else None


def board_rows(reporting_round: ReportingRound, today: date | None = None) -> list[BoardRow]:
    today = today or local_today()
    rows = []
    for task in tasks_of(reporting_round):
        if task.field.is_archived:  # out of the live framework, out of the round (its history stays)
            continue
        state = task_state(task)
        deadline = None if reporting_round.is_closed and task.is_locked else _deadline(reporting_round, state)
        rows.append(BoardRow(
            task=task, state=state, deadline=deadline,
            days_left=(deadline - today).days if deadline else None,
            coordinators=sorted((a.user for a in task.field.assignments if a.user.active), key=lambda u: u.name),
        ))
    return rows


STATE_ORDER = {state: position for position, state in enumerate(TaskState)}
SORT_KEYS = {
    "nummer": lambda row: row.field.number,
    "status": lambda row: (STATE_ORDER[row.state], row.field.number),
    "tage": lambda row: (row.days_left is None, row.days_left if row.days_left is not None else 0, row.field.number),
    "aenderung": lambda row: (row.field.updated_at, row.field.number),
    # fields nobody coordinates come last, where they are easy to find
    "koordination": lambda row: (not row.coordinators, row.coordinator_names.casefold(), row.field.number),
}


def filter_and_sort(rows: list[BoardRow], *, state: str | None, coordinator: int | None, sort: str,
                    descending: bool) -> list[BoardRow]:
    if state in TaskState._value2member_map_:
        rows = [row for row in rows if row.state == TaskState(state)]
    if coordinator:
        rows = [row for row in rows if any(user.id == coordinator for user in row.coordinators)]
    return sorted(rows, key=SORT_KEYS.get(sort, SORT_KEYS["nummer"]), reverse=descending)


def state_counts(rows: list[BoardRow]) -> dict[TaskState, int]:
    counts = dict.fromkeys(TaskState, 0)
    for row in rows:
        counts[row.state] += 1
    return counts

"""Pages of reporting rounds: the list, opening one, the round with its board (steering) or tasks, the CSV."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from ..days import BUNDESLAENDER, local_today
from ..extensions import db
from ..models import ReportingRound, RoundTask, StageKind, TaskState
from ..permissions import (
    can_answer_round_task,
    can_manage_rounds,
    can_reopen_round_task,
    can_view_round_board,
    can_view_rounds,
    get_strategy_or_404,
    require,
)
from ..security import safe_redirect
from ..spreadsheets.writing import MIMETYPES, write_csv, write_ods, write_xlsx
from . import bp
from .export import board_sheet
from .forms import ActionForm, DeadlinesForm, OpenRoundForm, ReopenForm
from .services import (
    STAGE_ORDER,
    RoundError,
    board_rows,
    change_deadlines,
    close_round,
    confirm_unchanged,
    current_stage,
    edition_stage_reached,
    filter_and_sort,
    freeze_edition,
    open_round,
    open_round_of,
    relock_task,
    reopen_task,
    rounds_of,
    stage_dates,
    state_counts,
)


def _strategy(slug: str):
    strategy = get_strategy_or_404(slug)
    if not can_view_rounds(current_user, strategy):
        abort(404)
    return strategy


def _round(slug: str, round_id: int) -> ReportingRound:
    strategy = _strategy(slug)
    reporting_round = db.session.get(ReportingRound, round_id)
    if reporting_round is None or reporting_round.strategy_id != strategy.id:
        abort(404)
    return reporting_round


def _task(reporting_round: ReportingRound, number: int) -> RoundTask:
    task = next((t for t in reporting_round.tasks if t.field.number == number), None)
    if task is None:
        abort(404)
    return task


def _round_url(reporting_round: ReportingRound, **args) -> str:
    return url_for("rounds.round_page", slug=reporting_round.strategy.slug, round_id=reporting_round.id, **args)


@bp.route("/<slug>/berichtsrunden/")
def round_list(slug: str):
    strategy = _strategy(slug)
    return render_template("rounds/list.html", strategy=strategy, rounds=rounds_of(strategy),
                           open_round=open_round_of(strategy),
                           may_manage=can_manage_rounds(current_user, strategy))


@bp.route("/<slug>/berichtsrunden/neu", methods=["GET", "POST"])
def new_round(slug: str):
    strategy = _strategy(slug)
    require(can_manage_rounds(current_user, strategy))
    form = OpenRoundForm()
    if form.validate_on_submit():
        offsets = {StageKind.UPDATE: form.update_days.data, StageKind.REVIEW: form.review_days.data,
                   StageKind.EDITION: form.edition_days.data}
        dates = stage_dates(form.meeting_on.data, strategy.bundesland, offsets)
        try:
            reporting_round = open_round(strategy, current_user, title=form.title.data,
                                         meeting_on=form.meeting_on.data, dates=dates)
        except RoundError as error:
            db.session.rollback()
            form.meeting_on.errors = [*form.meeting_on.errors, str(error)]
        else:
            db.session.commit()
            flash(_("Die Berichtsrunde „%(title)s“ ist eröffnet.", title=reporting_round.title), "success")
            return redirect(_round_url(reporting_round))
    return render_template("rounds/new.html", strategy=strategy, form=form,
                           bundesland=BUNDESLAENDER.get(strategy.bundesland, strategy.bundesland)), \
        (422 if request.method == "POST" else 200)


def _board_arguments() -> dict:
    sort = request.args.get("sortierung", "nummer")
    coordinator = request.args.get("koordination", "")
    return {"state": request.args.get("status") or None,
            "coordinator": int(coordinator) if coordinator.isdigit() and len(coordinator) < 10 else None,
            "sort": sort, "descending": request.args.get("richtung") == "ab"}


@bp.route("/<slug>/berichtsrunden/<id:round_id>/")
def round_page(slug: str, round_id: int):
    reporting_round = _round(slug, round_id)
    strategy = reporting_round.strategy
    today = local_today()
    all_rows = board_rows(reporting_round, today)
    may_board = can_view_round_board(current_user, strategy)
    arguments = _board_arguments()
    rows = filter_and_sort(all_rows, **arguments) if may_board else [
        row for row in all_rows if can_answer_round_task(current_user, row.task)
        or any(user.id == current_user.id for user in row.coordinators)]
    coordinators = sorted({user.id: user for row in all_rows for user in row.coordinators}.values(),
                          key=lambda user: user.name)
    deadlines_form = None
    if may_board and can_manage_rounds(current_user, strategy) and not reporting_round.is_closed:
        deadlines_form = DeadlinesForm(formdata=None, **{stage.kind.value: stage.due_on
                                                         for stage in reporting_round.stages})
    return render_template(
        "rounds/round.html", strategy=strategy, round=reporting_round, rows=rows, may_board=may_board,
        counts=state_counts(all_rows), states=list(TaskState), coordinators=coordinators, args=arguments,
        current=current_stage(reporting_round, today), today=today, action_form=ActionForm(),
        deadlines_form=deadlines_form, may_manage=can_manage_rounds(current_user, strategy),
        edition_ready=edition_stage_reached(reporting_round, today), stage_order=STAGE_ORDER,
        may_answer=lambda task: can_answer_round_task(current_user, task),
        may_reopen=lambda task: can_reopen_round_task(current_user, task),
    )


@bp.route("/<slug>/berichtsrunden/<id:round_id>/tabelle.<fmt>")
def round_sheet(slug: str, round_id: int, fmt: str):
    """The board as filtered and sorted on the page, as .xlsx, .ods or .csv."""
    if fmt not in MIMETYPES:
        abort(404)
    reporting_round = _round(slug, round_id)
    require(can_view_round_board(current_user, reporting_round.strategy))
    sheet = board_sheet(filter_and_sort(board_rows(reporting_round), **_board_arguments()))
    data = {"xlsx": lambda: write_xlsx([sheet]), "ods": lambda: write_ods([sheet]), "csv": lambda: write_csv(sheet)}
    response = current_app.response_class(data[fmt](), mimetype=MIMETYPES[fmt])
    stem = f"berichtsrunde-{reporting_round.meeting_on.isoformat()}-{reporting_round.strategy.slug}"
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _form_or_400(form) -> None:
    if not form.validate_on_submit():
        abort(400)


@bp.route("/<slug>/berichtsrunden/<id:round_id>/fristen", methods=["POST"])
def round_deadlines(slug: str, round_id: int):
    reporting_round = _round(slug, round_id)
    require(can_manage_rounds(current_user, reporting_round.strategy))
    form = DeadlinesForm()
    if not form.validate_on_submit():
        for field in form:
            for error in field.errors:
                flash(f"{field.label.text}: {error}", "error")
        return redirect(_round_url(reporting_round) + "#fristen")
    try:
        changes = change_deadlines(reporting_round, current_user,
                                   {kind: getattr(form, kind.value).data for kind in STAGE_ORDER})
    except RoundError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(_round_url(reporting_round) + "#fristen")
    db.session.commit()
    flash(_("Die Fristen wurden geändert.") if changes else _("Die Fristen sind unverändert."),
          "success" if changes else "info")
    return redirect(_round_url(reporting_round))


@bp.route("/<slug>/berichtsrunden/<id:round_id>/handlungsfelder/<id:number>/unveraendert", methods=["POST"])
def task_unchanged(slug: str, round_id: int, number: int):
    reporting_round = _round(slug, round_id)
    task = _task(reporting_round, number)
    require(can_answer_round_task(current_user, task))
    _form_or_400(ActionForm())
    try:
        confirm_unchanged(task, current_user)
    except RoundError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("Vermerkt: Im Handlungsfeld %(num)d hat sich seit der letzten Runde nichts geändert.",
                num=number), "success")
    return safe_redirect(request.form.get("next") or _round_url(reporting_round))


@bp.route("/<slug>/berichtsrunden/<id:round_id>/fassung", methods=["POST"])
def round_edition(slug: str, round_id: int):
    reporting_round = _round(slug, round_id)
    require(can_manage_rounds(current_user, reporting_round.strategy))
    _form_or_400(ActionForm())
    try:
        edition = freeze_edition(reporting_round, current_user)
    except RoundError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(_round_url(reporting_round))
    db.session.commit()
    flash(_("Die Fassung für die Sitzung am %(day)s ist erstellt.", day=format_date(reporting_round.meeting_on)),
          "success")
    return redirect(url_for("review.edition", slug=reporting_round.strategy.slug, edition_id=edition.id))


@bp.route("/<slug>/berichtsrunden/<id:round_id>/abschliessen", methods=["POST"])
def round_close(slug: str, round_id: int):
    reporting_round = _round(slug, round_id)
    require(can_manage_rounds(current_user, reporting_round.strategy))
    _form_or_400(ActionForm())
    try:
        close_round(reporting_round, current_user)
    except RoundError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("Die Berichtsrunde ist abgeschlossen. Ihre Stände sind jetzt gesperrt."), "success")
    return redirect(_round_url(reporting_round))


@bp.route("/<slug>/berichtsrunden/<id:round_id>/handlungsfelder/<id:number>/wieder-oeffnen",
          methods=["GET", "POST"])
def task_reopen(slug: str, round_id: int, number: int):
    reporting_round = _round(slug, round_id)
    task = _task(reporting_round, number)
    require(can_reopen_round_task(current_user, task))
    form = ReopenForm()
    if form.validate_on_submit():
        try:
            reopen_task(task, current_user, form.reason.data)
        except RoundError as error:
            db.session.rollback()
            form.reason.errors = [*form.reason.errors, str(error)]
        else:
            db.session.commit()
            flash(_("Handlungsfeld %(num)d ist in dieser Runde wieder geöffnet.", num=number), "success")
            return redirect(_round_url(reporting_round))
    return render_template("rounds/reopen.html", strategy=reporting_round.strategy, round=reporting_round,
                           task=task, form=form), (422 if request.method == "POST" else 200)


@bp.route("/<slug>/berichtsrunden/<id:round_id>/handlungsfelder/<id:number>/sperren", methods=["POST"])
def task_relock(slug: str, round_id: int, number: int):
    reporting_round = _round(slug, round_id)
    task = _task(reporting_round, number)
    require(can_reopen_round_task(current_user, task))
    _form_or_400(ActionForm())
    try:
        relock_task(task, current_user)
    except RoundError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("Handlungsfeld %(num)d ist in dieser Runde wieder gesperrt.", num=number), "success")
    return redirect(_round_url(reporting_round))

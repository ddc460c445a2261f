from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import FieldList, FormField

from ..days import local_today
from ..extensions import db
from ..framework import FRAMEWORK, key_label
from ..permissions import (
    can_edit_field,
    can_restore_revision,
    can_view_drafts,
    can_view_history,
    get_field_or_404,
    get_strategy_or_404,
    public,
    require,
)
from ..reading import readable_fields
from ..security import keeps_input
from ..summaries import summary
from . import bp
from .editing import (
    RESTORED_KEYS,
    SCALAR_KEYS,
    Directory,
    SaveStatus,
    State,
    conflict_columns,
    editable_state,
    load_base,
    restore_revision,
    save_row,
    sign_base,
    submitted_state,
)
from .forms import MAX_GROUPS, MAX_MEMBERS, MAX_RESPONSIBLE, FieldEditForm, RestoreForm
from .history import (
    diff_snapshots,
    get_revision_or_404,
    next_revision,
    previous_revision,
    revisions_of,
)
from .page import build_field_page
from .services import count_steps, key_indicator, load_field_row


@bp.route("/<slug>/")
@public
def overview(slug: str):
    strategy = get_strategy_or_404(slug)
    today = local_today()
    rows = [
        {
            "field": item.field,
            "row": item.row,
            "title": item.title,
            "steps": count_steps(item.row, today) if item.row else None,
            "key_indicator": key_indicator(item.row) if item.row else None,
        }
        for item in readable_fields(current_user, strategy)
    ]
    last_change = max((r["field"].updated_at for r in rows), default=None)
    return render_template("fields/overview.html", strategy=strategy, rows=rows, last_change=last_change,
                           shows_drafts=can_view_drafts(current_user, strategy), today=today)


@bp.route("/<slug>/handlungsfelder/<id:number>")
@public
def field_page(slug: str, number: int):
    strategy = get_strategy_or_404(slug)
    get_field_or_404(strategy, number)
    return render_template("fields/field.html", **build_field_page(current_user, strategy, number).context())


# --- editing a field's row, its history, restoring -------------------------------------------------

def _editable_field(slug: str, number: int):
    strategy = get_strategy_or_404(slug)
    field = get_field_or_404(strategy, number)
    return strategy, field


def _field_with_history(slug: str, number: int):
    """History stays readable after a field is archived (restoring is still refused: can_edit_field)."""
    strategy = get_strategy_or_404(slug)
    return strategy, get_field_or_404(strategy, number, include_archived=True)


def _form_data(state: State) -> dict:
    data = {key: state[key] for key in SCALAR_KEYS}
    data["working_groups"] = [{"name": g["name"], "members": list(g["members"])} for g in state["working_groups"]]
    data["responsible"] = list(state["responsible"])
    return data


def _blank_rows(form: FieldEditForm) -> None:
    """Empty rows to fill in without JavaScript: a member per group, a new group, a responsible."""
    for entry in form.working_groups:
        entry.form.members.append_entry()
    if len(form.working_groups) < MAX_GROUPS:
        group = form.working_groups.append_entry()
        group.form.members.append_entry()
    if len(form.responsible) < MAX_RESPONSIBLE:
        form.responsible.append_entry()


def _add_row(form: FieldEditForm, what: str) -> str | None:
    """The "add a row" buttons; returns the id of the first input of the new row, to move focus there."""
    if what == "group" and len(form.working_groups) < MAX_GROUPS:
        group = form.working_groups.append_entry()
        group.form.members.append_entry()
        return group.form.name.id
    if what == "responsible" and len(form.responsible) < MAX_RESPONSIBLE:
        return form.responsible.append_entry().form.person.id
    if what.startswith("member-") and what[7:].isdigit() and int(what[7:]) < len(form.working_groups):
        members = form.working_groups[int(what[7:])].form.members
        if len(members) < MAX_MEMBERS:
            return members.append_entry().form.person.id
    return None


def _fresh_form(state: State, version: int) -> FieldEditForm:
    form = FieldEditForm(formdata=None, data=_form_data(state))
    form.version.data = str(version)
    form.base.data = sign_base(state)
    return form


def _form_errors(form) -> list[tuple[str, str]]:
    """(input id, message) of every error, nested rows included, for the summary at the top of the form."""
    found: list[tuple[str, str]] = []

    def walk(fields, context: str) -> None:
        for item in fields:
            if isinstance(item, FieldList):
                for position, entry in enumerate(item, start=1):
                    walk([entry], f"{item.label.text}, {_('Zeile %(n)d', n=position)}: ")
            elif isinstance(item, FormField):
                walk(item.form, context)
            elif item.errors and item.type != "CSRFTokenField":
                found.append((item.id, f"{context}{item.label.text}: {' '.join(map(str, item.errors))}"))

    walk(form, "")
    return found


def _render_edit(strategy, field, form, *, status: int = 200, conflict=None, focus: str | None = None,
                 directory: Directory | None = None, notice: str | None = None):
    directory = directory or Directory()
    conflicts = {column.key: column for column in conflict_columns(conflict)} if conflict else {}
    return render_template(
        "fields/edit.html", strategy=strategy, field=field, form=form, framework=FRAMEWORK,
        people=directory.people, organisations=directory.organisations, conflict=conflict, conflicts=conflicts,
        focus=focus, notice=notice, errors=_form_errors(form), key_label=key_label,
    ), status


@bp.route("/<slug>/handlungsfelder/<id:number>/bearbeiten", methods=["GET", "POST"])
@keeps_input  # an expired CSRF token or a full disk gives the form back with the typed text (security.py)
def edit_field(slug: str, number: int):
    strategy, field = _editable_field(slug, number)
    require(can_edit_field(current_user, field))
    if request.method == "GET":
        field = load_field_row(field.id)
        form = _fresh_form(editable_state(field), field.version)
        _blank_rows(form)
        return _render_edit(strategy, field, form)

    form = FieldEditForm()
    if request.form.get("add"):
        focus = _add_row(form, request.form["add"])
        return _render_edit(strategy, field, form, focus=focus)

    base = load_base(form.base.data)
    # In re-display mode (security.keeps_input: e.g. an expired CSRF token) validate() answers False, so the
    # form comes back with what was typed and a fresh token, and nothing is saved.
    valid = form.validate()
    if base is None or not (form.version.data or "").isdigit():
        return _render_edit(strategy, field, form, status=400, notice=_(
            "Das Formular ist unvollständig, darum wurde nichts gespeichert. Bitte öffnen Sie die Seite "
            "„Bearbeiten“ neu."))
    if not valid:
        return _render_edit(strategy, field, form, status=422)

    directory = Directory()
    mine = submitted_state(form, set(request.form), base, directory)
    result = save_row(field.id, current_user, mine, base, directory)
    field_url = url_for("fields.field_page", slug=strategy.slug, number=number)
    if result.status == SaveStatus.SAVED:
        db.session.commit()
        if result.merge and result.merge.taken_over:
            flash(_("Gespeichert. Zwischenzeitliche Änderungen anderer an %(columns)s wurden übernommen.",
                    columns=", ".join(key_label(k) for k in result.merge.taken_over)), "success")
        else:
            flash(_("Ihre Änderungen wurden gespeichert."), "success")
        return redirect(field_url)
    db.session.rollback()
    if result.status == SaveStatus.UNCHANGED:
        flash(_("Sie haben nichts geändert; es wurde keine neue Version angelegt."), "info")
        return redirect(field_url)
    form = _fresh_form(result.merge.state, result.version)
    form.base.data = sign_base(result.theirs)
    _blank_rows(form)
    return _render_edit(strategy, load_field_row(field.id), form, status=409, conflict=result,
                        directory=directory)


@bp.route("/<slug>/handlungsfelder/<id:number>/verlauf")
def field_history(slug: str, number: int):
    strategy, field = _field_with_history(slug, number)
    require(can_view_history(current_user, field))
    return render_template("fields/history.html", strategy=strategy, field=field, revisions=revisions_of(field),
                           key_label=key_label)


@bp.route("/<slug>/handlungsfelder/<id:number>/verlauf/<id:revision_id>")
def field_revision(slug: str, number: int, revision_id: int):
    strategy, field = _field_with_history(slug, number)
    require(can_view_history(current_user, field))
    revision = get_revision_or_404(field, revision_id)
    previous = previous_revision(revision)
    diffs = diff_snapshots(previous.content if previous else None, revision.content)
    restore_form = None
    if can_restore_revision(current_user, field):
        current = editable_state(load_field_row(field.id))
        if any(revision.content.get(key, "") != current[key] for key in RESTORED_KEYS):
            restore_form = RestoreForm(formdata=None, version=str(field.version))
    return render_template("fields/revision.html", strategy=strategy, field=field, revision=revision,
                           previous=previous, following=next_revision(revision), diffs=diffs,
                           restore_form=restore_form)


@bp.route("/<slug>/handlungsfelder/<id:number>/verlauf/<id:revision_id>/wiederherstellen", methods=["POST"])
def restore_field_revision(slug: str, number: int, revision_id: int):
    strategy, field = _editable_field(slug, number)
    require(can_restore_revision(current_user, field))
    revision = get_revision_or_404(field, revision_id)
    form = RestoreForm()
    revision_url = url_for("fields.field_revision", slug=strategy.slug, number=number, revision_id=revision.id)
    if not form.validate() or not (form.version.data or "").isdigit():
        flash(_("Das Formular war unvollständig; es wurde nichts wiederhergestellt."), "error")
        return redirect(revision_url)
    result = restore_revision(field, revision, current_user, int(form.version.data),
                              summary("restored", when=revision.created_at.isoformat()))
    if result.status == SaveStatus.SAVED:
        db.session.commit()
        flash(_("Der Stand vom %(when)s wurde wiederhergestellt.",
                when=format_datetime(revision.created_at, "short")), "success")
        return redirect(url_for("fields.field_history", slug=strategy.slug, number=number))
    db.session.rollback()
    if result.status == SaveStatus.UNCHANGED:
        flash(_("Dieser Stand entspricht bereits dem aktuellen; es wurde nichts geändert."), "info")
    else:
        flash(_("Die Zeile wurde inzwischen von jemand anderem geändert. Bitte prüfen Sie die Unterschiede "
                "und stellen Sie dann erneut wieder her."), "error")
    return redirect(revision_url)

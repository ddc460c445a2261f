"""Review actions on a field, its comment thread, editions and comparisons. Thin: form → service → flash."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..comparison import compare_editions, current_approved_content
from ..days import local_today
from ..extensions import db
from ..framework import COLUMN_LABELS
from ..models import Edition, Field, ReviewComment, ReviewState
from ..permissions import (
    can_comment_on_field,
    can_create_edition,
    can_review_field,
    can_submit_field,
    can_take_part_in_review,
    can_view_editions,
    can_view_review,
    get_field_or_404,
    get_strategy_or_404,
    public,
    require,
    visible_blocks,
)
from ..reading import readable_edition, steps_serving_in, visible_framework
from ..snapshots import Snapshot
from . import bp
from .forms import (
    ApproveForm,
    EditionForm,
    ReplyForm,
    ResolveForm,
    SubmitForm,
    make_comment_form,
    make_return_form,
)
from .services import (
    ReviewError,
    approve,
    changes_since_approval,
    content_fingerprint,
    create_edition,
    editions_of,
    reopen,
    reply,
    resolve,
    return_field,
    submit,
    threads,
)

# --- the review panel on the field page ----------------------------------------------------------

def review_context(user, field: Field, row: Snapshot | None) -> dict:
    """What the field page needs for the review panel, the thread and the per-column markers.

    Empty for those who may not see drafts, so nothing of the review reaches partners or the public."""
    if row is None or not can_view_review(user, field):
        return {}
    changes = changes_since_approval(field, row)
    return {
        "review": {
            "field": field,
            "changes": changes,
            "threads": threads(field),
            "may_submit": can_submit_field(user, field) and field.review_state in (ReviewState.DRAFT,
                                                                                   ReviewState.RETURNED),
            "may_review": can_review_field(user, field) and field.review_state == ReviewState.SUBMITTED,
            # Steering who coordinate this very field: told why they cannot approve it.
            "own_field": can_comment_on_field(user, field) and not can_review_field(user, field),
            "may_comment": can_comment_on_field(user, field),
            "may_take_part": can_take_part_in_review(user, field),
            "submit_form": SubmitForm(),
            "approve_form": ApproveForm(fingerprint=content_fingerprint(row)),
            "return_form": make_return_form(),
            "comment_form": make_comment_form(),
            "reply_form": ReplyForm(),
            "resolve_form": ResolveForm(),
            "column_labels": COLUMN_LABELS,
        },
        "review_changes": changes.by_column if changes is not None else {},
    }


def _field(slug: str, number: int) -> Field:
    """The field, 404 unless the user may see its review (the review's existence stays hidden otherwise)."""
    strategy = get_strategy_or_404(slug)
    field = get_field_or_404(strategy, number)
    if not can_view_review(current_user, field):
        abort(404)
    return field


def _back_to_field(field: Field):
    return redirect(url_for("fields.field_page", slug=field.strategy.slug, number=field.number) + "#pruefung")


def _render_form_page(field: Field, form, action: str, heading: str, status: int = 400, comment=None):
    return render_template("review/form_page.html", field=field, strategy=field.strategy, form=form,
                           action=action, heading=heading, comment=comment), status


@bp.route("/<slug>/handlungsfelder/<id:number>/pruefung/einreichen", methods=["POST"])
def submit_field(slug: str, number: int):
    field = _field(slug, number)
    require(can_submit_field(current_user, field))
    if not SubmitForm().validate_on_submit():
        abort(400)
    try:
        submit(field, current_user)
    except ReviewError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _back_to_field(field)
    db.session.commit()
    flash(_("Handlungsfeld %(num)d wurde zur Prüfung eingereicht.", num=field.number), "success")
    return _back_to_field(field)


@bp.route("/<slug>/handlungsfelder/<id:number>/pruefung/freigeben", methods=["POST"])
def approve_field(slug: str, number: int):
    field = _field(slug, number)
    require(can_review_field(current_user, field))
    form = ApproveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        approve(field, current_user, form.fingerprint.data)
    except ReviewError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _back_to_field(field)
    db.session.commit()
    flash(_("Handlungsfeld %(num)d ist freigegeben. Partner sehen jetzt diesen Stand.", num=field.number),
          "success")
    return _back_to_field(field)


@bp.route("/<slug>/handlungsfelder/<id:number>/pruefung/zurueckgeben", methods=["GET", "POST"])
def return_field_view(slug: str, number: int):
    field = _field(slug, number)
    require(can_review_field(current_user, field))
    form = make_return_form()
    action = url_for("review.return_field_view", slug=slug, number=number)
    heading = _("Handlungsfeld %(num)d zurückgeben", num=field.number)
    if request.method == "GET":
        return _render_form_page(field, form, action, heading, status=200)
    if not form.validate_on_submit():
        return _render_form_page(field, form, action, heading)
    try:
        return_field(field, current_user, form.comment.data, form.column.data or None)
    except ReviewError as error:
        db.session.rollback()
        form.comment.errors = [*form.comment.errors, str(error)]
        return _render_form_page(field, form, action, heading, status=409)
    db.session.commit()
    flash(_("Handlungsfeld %(num)d wurde mit Ihrem Kommentar zurückgegeben.", num=field.number), "success")
    return _back_to_field(field)


# --- comments ------------------------------------------------------------------------------------

@bp.route("/<slug>/handlungsfelder/<id:number>/kommentare", methods=["POST"])
def add_comment(slug: str, number: int):
    from .services import add_comment as add

    field = _field(slug, number)
    require(can_comment_on_field(current_user, field))
    form = make_comment_form()
    action = url_for("review.add_comment", slug=slug, number=number)
    if not form.validate_on_submit():
        return _render_form_page(field, form, action, _("Kommentar zu Handlungsfeld %(num)d", num=field.number))
    add(field, current_user, form.body.data, form.column.data or None)
    db.session.commit()
    flash(_("Ihr Kommentar wurde gespeichert."), "success")
    return _back_to_field(field)


def _comment(slug: str, number: int, comment_id: int) -> ReviewComment:
    field = _field(slug, number)
    comment = db.session.get(ReviewComment, comment_id)
    if comment is None or comment.field_id != field.id:
        abort(404)
    require(can_take_part_in_review(current_user, field))
    return comment


@bp.route("/<slug>/handlungsfelder/<id:number>/kommentare/<id:comment_id>/antworten", methods=["POST"])
def reply_to_comment(slug: str, number: int, comment_id: int):
    comment = _comment(slug, number, comment_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        action = url_for("review.reply_to_comment", slug=slug, number=number, comment_id=comment_id)
        return _render_form_page(comment.field, form, action, _("Antworten"), comment=comment.parent or comment)
    reply(comment, current_user, form.body.data)
    db.session.commit()
    flash(_("Ihre Antwort wurde gespeichert."), "success")
    return _back_to_field(comment.field)


@bp.route("/<slug>/handlungsfelder/<id:number>/kommentare/<id:comment_id>/erledigt", methods=["POST"])
def resolve_comment(slug: str, number: int, comment_id: int):
    comment = _comment(slug, number, comment_id)
    if not ResolveForm().validate_on_submit():
        abort(400)
    resolve(comment, current_user)
    db.session.commit()
    flash(_("Der Kommentar ist als erledigt markiert."), "success")
    return _back_to_field(comment.field)


@bp.route("/<slug>/handlungsfelder/<id:number>/kommentare/<id:comment_id>/wieder-oeffnen", methods=["POST"])
def reopen_comment(slug: str, number: int, comment_id: int):
    comment = _comment(slug, number, comment_id)
    if not ResolveForm().validate_on_submit():
        abort(400)
    reopen(comment)
    db.session.commit()
    flash(_("Der Kommentar ist wieder offen."), "success")
    return _back_to_field(comment.field)


# --- editions ------------------------------------------------------------------------------------

def _edition(slug: str, edition_id: int):
    strategy = get_strategy_or_404(slug)
    require(can_view_editions(current_user, strategy))
    edition = db.session.get(Edition, edition_id)
    if edition is None or edition.strategy_id != strategy.id:
        abort(404)
    return strategy, edition


@bp.route("/<slug>/fassungen/")
@public
def editions(slug: str):
    strategy = get_strategy_or_404(slug)
    require(can_view_editions(current_user, strategy))
    return render_template("review/editions.html", strategy=strategy, editions=editions_of(strategy),
                           may_create=can_create_edition(current_user, strategy))


@bp.route("/<slug>/fassungen/neu", methods=["GET", "POST"])
def new_edition(slug: str):
    strategy = get_strategy_or_404(slug)
    require(can_create_edition(current_user, strategy))
    form = EditionForm()
    if request.method == "GET" and not form.decided_on.data:
        form.decided_on.data = local_today()
    current = readable_edition(current_approved_content(strategy), visible_blocks(current_user, strategy))
    pending = db.session.scalars(
        db.select(Field).filter_by(strategy_id=strategy.id, is_archived=False)
        .filter(Field.review_state != ReviewState.APPROVED, Field.approved_content.is_not(None))
        .order_by(Field.number)
    ).all()
    if form.validate_on_submit():
        try:
            edition = create_edition(strategy, current_user, form.title.data, form.decided_on.data)
        except ReviewError as error:
            db.session.rollback()
            form.title.errors = [*form.title.errors, str(error)]
        else:
            db.session.commit()
            flash(_("Die Fassung „%(title)s“ ist angelegt.", title=edition.title), "success")
            return redirect(url_for("review.edition", slug=slug, edition_id=edition.id))
    status = 400 if request.method == "POST" else 200
    return render_template("review/new_edition.html", strategy=strategy, form=form, current=current,
                           pending=pending), status


@bp.route("/<slug>/fassungen/<id:edition_id>/")
@public
def edition(slug: str, edition_id: int):
    strategy, edition = _edition(slug, edition_id)
    content = readable_edition(edition.content, visible_blocks(current_user, strategy))
    return render_template("review/edition.html", strategy=strategy, edition=edition, content=content,
                           others=[e for e in editions_of(strategy) if e.id != edition.id])


@bp.route("/<slug>/fassungen/<id:edition_id>/handlungsfelder/<id:number>")
@public
def edition_field(slug: str, edition_id: int, number: int):
    strategy, edition = _edition(slug, edition_id)
    blocks = visible_blocks(current_user, strategy)
    rows = readable_edition(edition.content, blocks).get("fields", [])
    index = next((i for i, r in enumerate(rows) if r.get("number") == number), None)
    if index is None:
        abort(404)
    row = rows[index]
    return render_template(
        "review/edition_field.html", strategy=strategy, edition=edition, row=row,
        previous=rows[index - 1] if index > 0 else None, following=rows[index + 1] if index + 1 < len(rows) else None,
        framework=visible_framework(blocks),
        serving_steps=steps_serving_in(rows, number),
        # Overdue as of the day the edition was made, so the frozen page never changes with the calendar.
        today=edition.created_at.date(),
    )


# --- comparison ----------------------------------------------------------------------------------

TODAY = "heute"


@bp.route("/<slug>/vergleich")
@public
def comparison(slug: str):
    strategy = get_strategy_or_404(slug)
    require(can_view_editions(current_user, strategy))
    all_editions = editions_of(strategy)
    by_id = {str(e.id): e for e in all_editions}
    default_from = str(all_editions[0].id) if all_editions else ""
    chosen_from = request.args.get("von", default_from)
    chosen_to = request.args.get("bis", TODAY)
    errors = {}
    if chosen_from not in by_id:
        errors["von"] = _("Bitte wählen Sie eine Fassung.")
    if chosen_to != TODAY and chosen_to not in by_id:
        errors["bis"] = _("Bitte wählen Sie eine Fassung oder den heute freigegebenen Stand.")
    result = None
    if all_editions and not errors:
        blocks = visible_blocks(current_user, strategy)
        before = by_id[chosen_from].content
        after = current_approved_content(strategy) if chosen_to == TODAY else by_id[chosen_to].content
        result = compare_editions(readable_edition(before, blocks), readable_edition(after, blocks))
    status = 400 if errors and ("von" in request.args or "bis" in request.args) else 200
    return render_template(
        "review/comparison.html", strategy=strategy, editions=all_editions, chosen_from=chosen_from,
        chosen_to=chosen_to, today_key=TODAY, errors=errors if all_editions else {}, result=result,
        label_from=by_id[chosen_from].title if chosen_from in by_id else "",
        label_to=_("heute freigegebener Stand") if chosen_to == TODAY else
        (by_id[chosen_to].title if chosen_to in by_id else ""),
    ), status

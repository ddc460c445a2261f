"""Status pages for partners and the public: approved content only, per-block visibility, conditional GET."""
from __future__ import annotations

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..audit import AuditAction, record_event
from ..days import local_today
from ..extensions import db
from ..framework import key_label
from ..models import utcnow
from ..permissions import (
    audience_of,
    can_manage_visibility,
    can_view_strategy,
    get_strategy_or_404,
    public,
    require,
    visibility_blocks,
    visible_blocks,
)
from ..reading import steps_serving_in, visible_framework
from . import bp
from .caching import answered_from_memory, is_current, not_modified, rendered_pages, stamp, viewer_is_private
from .forms import HINT, visibility_form
from .services import (
    AUDIENCE_LABELS,
    BLOCK_LABELS,
    STATUS_LABELS,
    approved_fields,
    funding_ending,
    key_indicator,
    plain_status,
    recent_changes,
    steps_due,
    steps_overdue,
    strategy_with_aggregates,
    validators,
)

WEEK_CHOICES = (2, 4, 8, 13, 26, 52)


def _viewer_parts(strategy, blocks) -> tuple:
    """What besides the content decides the page: audience, blocks, language, and the viewer if logged in
    (name in the header; the logout form's CSRF token, renewed well within its time limit)."""
    parts: tuple = (audience_of(current_user, strategy), sorted(blocks), str(get_locale()), request.path,
                    request.query_string)
    if current_user.is_authenticated:
        token_period = max(int(current_app.config.get("WTF_CSRF_TIME_LIMIT") or 3600) // 2, 60)
        parts += (current_user.id, int(utcnow().timestamp()) // token_period)
    return parts


def _visible_strategy(slug: str):
    """The strategy (404 unless the reader may see it) and its approval aggregates, in one query."""
    strategy, aggregates = strategy_with_aggregates(slug)
    if strategy is None or not can_view_strategy(current_user, strategy):
        abort(404)
    return strategy, aggregates


def _conditional(strategy, aggregates, blocks, render):
    """Answer 304 when the reader's copy is current; otherwise render, with validators and cache rules."""
    checks = validators(strategy, *_viewer_parts(strategy, blocks), aggregates=aggregates)
    private = viewer_is_private()
    if is_current(checks):
        return not_modified(checks, private=private)
    if private:
        response = make_response(render(checks))
    else:
        response = make_response(rendered_pages.get_or_render(checks.etag, lambda: render(checks)))
    return stamp(response, checks, private=viewer_is_private())


@bp.route("/<slug>/status")
@public
@answered_from_memory
def status_page(slug: str):
    strategy, aggregates = _visible_strategy(slug)
    blocks = visible_blocks(current_user, strategy)

    def render(checks):
        today = local_today()
        fields = approved_fields(strategy, blocks)
        due_months = current_app.config.get("STATUS_DUE_MONTHS", 3)
        return render_template(
            "status/status.html",
            strategy=strategy,
            fields=fields,
            statuses={field.id: plain_status(field.row) for field in fields},
            status_labels={key: str(label) for key, label in STATUS_LABELS.items()},
            due=steps_due(fields, today, due_months),
            due_months=due_months,
            overdue=steps_overdue(fields, today),
            funding=funding_ending(fields, today, current_app.config["FUNDING_HORIZON_MONTHS"]),
            funding_months=current_app.config["FUNDING_HORIZON_MONTHS"],
            key=key_indicator(fields),
            blocks=blocks,
            last_approved_at=checks.last_approved_at,
            today=today,
            may_manage=can_manage_visibility(current_user, strategy),
        )

    return _conditional(strategy, aggregates, blocks, render)


@bp.route("/<slug>/status/handlungsfelder/<id:number>")
@public
@answered_from_memory
def status_field(slug: str, number: int):
    strategy, aggregates = _visible_strategy(slug)
    blocks = visible_blocks(current_user, strategy)

    def render(checks):
        fields = approved_fields(strategy, blocks)
        field = next((f for f in fields if f.number == number), None)
        if field is None:
            abort(404)
        serving = steps_serving_in((other.row for other in fields if other.row), number)
        return render_template(
            "status/field.html",
            strategy=strategy,
            field=field,
            row=field.row,
            status=plain_status(field.row),
            status_labels=STATUS_LABELS,
            framework=visible_framework(blocks),
            hidden_labels=[BLOCK_LABELS[b] for b in (field.row or {}).get("hidden_blocks", [])],
            serving_steps=serving,
            today=local_today(),
        )

    return _conditional(strategy, aggregates, blocks, render)


@bp.route("/<slug>/status/aenderungen")
@public
@answered_from_memory
def recent(slug: str):
    strategy, aggregates = _visible_strategy(slug)
    blocks = visible_blocks(current_user, strategy)
    weeks = request.args.get("wochen", type=int, default=8)
    if weeks not in WEEK_CHOICES:
        weeks = 8

    def render(checks):
        return render_template(
            "status/changes.html",
            strategy=strategy,
            weeks=weeks,
            week_choices=WEEK_CHOICES,
            changes=recent_changes(strategy, blocks, weeks, local_today()),
            block_labels=BLOCK_LABELS,
        )

    return _conditional(strategy, aggregates, blocks, render)


@bp.route("/<slug>/sichtbarkeit", methods=["GET", "POST"])
def visibility(slug: str):
    strategy = get_strategy_or_404(slug)
    require(can_manage_visibility(current_user, strategy))
    form = visibility_form(strategy)
    if form.validate_on_submit():
        before = dict(strategy.block_visibility or {})
        chosen = {block: getattr(form, f"block_{block}").data for block in visibility_blocks()}
        if chosen != before:
            strategy.block_visibility = chosen
            strategy.settings_changed_at = utcnow()
            record_event(AuditAction.BLOCK_VISIBILITY_CHANGED, current_user, object_type="strategy", object_id=strategy.id,
                         detail={"before": before, "after": chosen})
            db.session.commit()
        flash(_("Die Sichtbarkeit der Blöcke ist gespeichert."), "success")
        return redirect(url_for("status.visibility", slug=strategy.slug))
    return render_template("status/visibility.html", strategy=strategy, form=form, hint=HINT,
                           blocks=visibility_blocks(), visibility_label=AUDIENCE_LABELS[strategy.visibility])


@bp.context_processor
def _status_helpers():
    from ..charts import indicator_chart_svg

    return {
        "chart": indicator_chart_svg,
        "column_label": key_label,
    }

from __future__ import annotations

from datetime import date

from flask import render_template
from flask_login import current_user

from ..framework import FRAMEWORK
from ..permissions import can_edit_field, can_view_drafts, get_field_or_404, get_strategy_or_404, public
from . import bp
from .services import count_steps, framework_fields, key_indicator, steps_serving_in, visible_row


@bp.route("/<slug>/")
@public
def overview(slug: str):
    strategy = get_strategy_or_404(slug)
    today = date.today()
    rows = []
    for field in framework_fields(strategy):
        row = visible_row(current_user, field)
        rows.append({
            "field": field,
            "row": row,
            "steps": count_steps(row, today) if row else None,
            "key_indicator": key_indicator(row) if row else None,
        })
    last_change = max((r["field"].updated_at for r in rows), default=None)
    return render_template("fields/overview.html", strategy=strategy, rows=rows, last_change=last_change,
                           shows_drafts=can_view_drafts(current_user, strategy))


@bp.route("/<slug>/handlungsfelder/<id:number>")
@public
def field_page(slug: str, number: int):
    strategy = get_strategy_or_404(slug)
    get_field_or_404(strategy, number)
    fields = framework_fields(strategy)
    rows = [row for row in (visible_row(current_user, f) for f in fields) if row is not None]
    field = next(f for f in fields if f.number == number)
    row = next((r for r in rows if r["number"] == number), None)
    return render_template(
        "fields/field.html",
        strategy=strategy,
        field=field,
        row=row,
        framework=FRAMEWORK,
        serving_steps=steps_serving_in(rows, number),
        today=date.today(),
        shows_drafts=can_view_drafts(current_user, strategy),
        may_edit=can_edit_field(current_user, field),
    )

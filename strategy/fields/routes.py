from __future__ import annotations

from datetime import date

from flask import render_template
from flask_login import current_user

from ..framework import FRAMEWORK
from ..permissions import can_edit_field, get_field_or_404, get_strategy_or_404, public
from . import bp
from .services import framework_fields, key_indicator, load_field_row, step_summary, steps_serving


@bp.route("/<slug>/")
@public
def overview(slug: str):
    strategy = get_strategy_or_404(slug)
    fields = framework_fields(strategy)
    today = date.today()
    rows = [
        {"field": f, "steps": step_summary(f, today), "key_indicator": key_indicator(f)}
        for f in fields
    ]
    last_change = max((f.updated_at for f in fields), default=None)
    return render_template("fields/overview.html", strategy=strategy, rows=rows, last_change=last_change)


@bp.route("/<slug>/handlungsfelder/<id:number>")
@public
def field_page(slug: str, number: int):
    strategy = get_strategy_or_404(slug)
    field = load_field_row(get_field_or_404(strategy, number).id)
    return render_template(
        "fields/field.html",
        strategy=strategy,
        field=field,
        framework=FRAMEWORK,
        serving_steps=steps_serving(field),
        today=date.today(),
        may_edit=can_edit_field(current_user, field),
    )

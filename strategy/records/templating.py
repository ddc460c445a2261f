"""Template globals for the records: pure helpers for charts, funding flags and record anchors.

Nothing here queries or reads the clock: the field page gets its forms and "today" from
fields.page.build_field_page, other pages from their views."""
from __future__ import annotations

from ..charts import indicator_chart_svg, latest_value, trend_is_good, trend_label
from . import bp
from .editor import financing_key, step_key, value_key
from .forms import DIRECTION_LABELS
from .services import follow_up_open, funding_state

for _name, _function in {
    "step_key": step_key,
    "financing_key": financing_key,
    "value_key": value_key,
    "indicator_chart_svg": indicator_chart_svg,
    "indicator_latest": latest_value,
    "trend_is_good": trend_is_good,
    "trend_label": trend_label,
    "follow_up_open": follow_up_open,
    "funding_state": funding_state,
}.items():
    bp.add_app_template_global(_function, _name)


@bp.app_template_filter("direction_label")
def direction_label(value) -> str:
    from ..models import Direction

    return str(DIRECTION_LABELS[Direction(getattr(value, "value", value))])

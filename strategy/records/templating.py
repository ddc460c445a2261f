"""Template globals for the records: the editor on field pages, charts and funding flags on any page."""
from __future__ import annotations

from ..charts import indicator_chart_svg, indicator_trend, latest_value, trend_is_good, trend_label
from ..days import local_today
from . import bp
from .editor import RecordEditor, financing_key, indicator_key, step_key, value_key
from .forms import DIRECTION_LABELS
from .services import follow_up_open, funding_state, horizon_months

for _name, _function in {
    "record_editor": RecordEditor,
    "step_key": step_key,
    "financing_key": financing_key,
    "indicator_key": indicator_key,
    "value_key": value_key,
    "indicator_chart_svg": indicator_chart_svg,
    "indicator_trend": indicator_trend,
    "indicator_latest": latest_value,
    "trend_is_good": trend_is_good,
    "trend_label": trend_label,
    "follow_up_open": follow_up_open,
    "funding_state": funding_state,
    "funding_horizon_months": horizon_months,
    "today_date": local_today,
}.items():
    bp.add_app_template_global(_function, _name)


@bp.app_template_filter("direction_label")
def direction_label(value) -> str:
    from ..models import Direction

    return str(DIRECTION_LABELS[Direction(getattr(value, "value", value))])

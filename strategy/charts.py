"""Server-side SVG charts: one renderer for web pages and PDFs, readable without JavaScript.

Charts take data as snapshots store it (strategy.snapshots): plain dicts, ISO dates, decimals as strings.
Every chart is an <svg role="img"> with <title> and <desc> (referenced by aria-labelledby), so a screen
reader gets a text alternative; pages put the numbers in a table next to it as well. Colours are SVG
presentation attributes, not CSS, so the markup is self-contained (PDFs) and needs no inline style (CSP).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Sequence

from flask_babel import gettext as _
from markupsafe import Markup, escape

PRIMARY = "#0b4f8a"
MUTED = "#4a5260"
GRID = "#d5dae1"
TARGET = "#1b6b3a"
BASELINE = "#8a5300"
ACCENT = "#b3261e"
FONT = "system-ui, 'Noto Sans', 'DejaVu Sans', Arial, sans-serif"

_ids = itertools.count(1)


# --- helpers -------------------------------------------------------------------------------------

def _number(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _day(value: Any) -> date | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _fmt(value: Decimal | None, unit: str) -> str:
    from .templating import format_indicator_value

    return format_indicator_value(value, unit)


def _fmt_date(value: date) -> str:
    from flask_babel import format_date

    return format_date(value, "MM/yyyy")


def _fmt_day(value: date) -> str:
    from flask_babel import format_date

    return format_date(value, "short")


def _attr(value: Any) -> str:
    return str(escape(str(value)))


def _f(value: float) -> str:
    """Coordinates with two decimals, no trailing zeros: stable, compact markup."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _nice_step(span: float, ticks: int) -> float:
    raw = span / max(ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _value_range(numbers: Sequence[float], unit: str) -> tuple[float, float, float]:
    """A y range that starts at zero for non-negative data and ends on a round number, with its tick step."""
    low, high = min(list(numbers) + [0.0]), max(numbers)
    if high == low:
        high = low + (abs(low) or 1.0)
    step = _nice_step(high - low, 4)
    low = math.floor(low / step) * step
    high = math.ceil(high / step) * step
    if unit == "percent" and low >= 0 and max(numbers) <= 100:
        high = min(high, 100.0)
    return low, high, step


def _chart_id(indicator: dict, compact: bool, chart_id: str | None) -> str:
    if chart_id:
        return chart_id
    base = indicator.get("id")
    suffix = "spark" if compact else "chart"
    return f"indicator-{base}-{suffix}" if base is not None else f"{suffix}-{next(_ids)}"


@dataclass
class _Point:
    on: date
    value: Decimal
    source_note: str


def _points(indicator: dict) -> list[_Point]:
    points = []
    for item in indicator.get("values") or []:
        on, value = _day(item.get("observed_on")), _number(item.get("value"))
        if on is not None and value is not None:
            points.append(_Point(on, value, item.get("source_note") or ""))
    points.sort(key=lambda p: p.on)
    return points


def indicator_trend(indicator: dict) -> str | None:
    """'up', 'down' or 'flat' comparing the last two values; None with fewer than two."""
    points = _points(indicator)
    if len(points) < 2:
        return None
    last, previous = points[-1].value, points[-2].value
    return "up" if last > previous else "down" if last < previous else "flat"


def trend_is_good(indicator: dict) -> bool | None:
    """Whether the latest movement goes the way the indicator's direction calls good."""
    trend = indicator_trend(indicator)
    if trend in (None, "flat"):
        return None
    return (trend == "up") == (indicator.get("direction", "higher") == "higher")


def trend_label(indicator: dict) -> str:
    return {"up": _("steigend"), "down": _("fallend"), "flat": _("gleichbleibend")}.get(
        indicator_trend(indicator) or "", "")


def latest_value(indicator: dict) -> dict | None:
    values = indicator.get("values") or []
    points = _points(indicator)
    if not points:
        return None
    last = points[-1]
    return next((v for v in reversed(values) if _day(v.get("observed_on")) == last.on), values[-1])


def _describe(indicator: dict, points: list[_Point]) -> str:
    unit = indicator.get("unit", "count")
    if not points:
        return _("Noch keine Werte erfasst.")
    parts = [
        _("%(count)d Werte von %(start)s bis %(end)s.", count=len(points), start=_fmt_date(points[0].on),
          end=_fmt_date(points[-1].on)) if len(points) > 1 else
        _("Ein Wert: %(value)s, Stand %(date)s.", value=_fmt(points[0].value, unit), date=_fmt_date(points[0].on))
    ]
    if len(points) > 1:
        parts.append(_("Erster Wert %(first)s, letzter Wert %(last)s (%(trend)s).",
                       first=_fmt(points[0].value, unit), last=_fmt(points[-1].value, unit),
                       trend=trend_label(indicator)))
    if _number(indicator.get("baseline")) is not None:
        parts.append(_("Ausgangswert %(value)s.", value=_fmt(_number(indicator.get("baseline")), unit)))
    if _number(indicator.get("target")) is not None:
        target = _("Zielwert %(value)s", value=_fmt(_number(indicator.get("target")), unit))
        if _day(indicator.get("target_date")):
            target += " " + _("bis %(date)s", date=_fmt_date(_day(indicator.get("target_date"))))
        parts.append(target + ".")
    return " ".join(parts)


def _svg_open(cid: str, width: int, height: int, classes: str, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{classes}" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="{cid}-title {cid}-desc" id="{cid}" '
        f'font-family="{_attr(FONT)}">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(desc)}</desc>',
    ]


# --- indicator charts ----------------------------------------------------------------------------

def indicator_chart_svg(indicator: dict, *, width: int = 560, height: int = 240, compact: bool = False,
                        chart_id: str | None = None) -> Markup:
    """A line chart of an indicator's dated values, with baseline and target; `compact` gives a sparkline."""
    if compact:
        return _sparkline(indicator, width=width, height=height, chart_id=chart_id)
    unit = indicator.get("unit", "count")
    points = _points(indicator)
    cid = _chart_id(indicator, False, chart_id)
    title = _("Verlauf: %(name)s", name=indicator.get("name", ""))
    out = _svg_open(cid, width, height, "chart chart--indicator", title, _describe(indicator, points))
    if not points:
        out.append(f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="none" stroke="{GRID}"/>')
        out.append(f'<text x="{_f(width / 2)}" y="{_f(height / 2)}" text-anchor="middle" font-size="14" '
                   f'fill="{MUTED}">{escape(_("Noch keine Werte erfasst."))}</text>')
        out.append("</svg>")
        return Markup("".join(out))

    baseline, target = _number(indicator.get("baseline")), _number(indicator.get("target"))
    target_date = _day(indicator.get("target_date"))
    numbers = [float(p.value) for p in points] + [float(v) for v in (baseline, target) if v is not None]
    low, high, step = _value_range(numbers, unit)

    left, right, top, bottom = 64, 16, 16, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    first_day = points[0].on
    last_day = max([points[-1].on] + ([target_date] if target_date and target is not None else []))
    span_days = (last_day - first_day).days

    def x(on: date) -> float:
        if span_days == 0:
            return left + plot_w / 2
        return left + plot_w * (on - first_day).days / span_days

    def y(value: float) -> float:
        return top + plot_h * (1 - (value - low) / (high - low))

    # grid and y ticks
    tick = low
    while tick <= high + step / 1000:
        ty = y(tick)
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{_f(ty)}" y2="{_f(ty)}" stroke="{GRID}" '
                   f'stroke-width="1"/>')
        out.append(f'<text class="chart__tick" x="{left - 6}" y="{_f(ty + 4)}" text-anchor="end" font-size="11" '
                   f'fill="{MUTED}">'
                   f'{escape(_fmt(Decimal(str(round(tick, 6))), unit))}</text>')
        tick += step
    # x axis labels: first and last date (and the target date when it extends the axis)
    out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{_f(top + plot_h)}" y2="{_f(top + plot_h)}" '
               f'stroke="{MUTED}" stroke-width="1"/>')
    labelled = [first_day] + ([last_day] if last_day != first_day else [])
    for i, on in enumerate(labelled):
        anchor = "middle" if span_days == 0 else ("start" if i == 0 else "end")
        out.append(f'<text x="{_f(x(on))}" y="{height - 10}" text-anchor="{anchor}" font-size="11" '
                   f'fill="{MUTED}">{escape(_fmt_date(on))}</text>')
    # baseline and target
    if baseline is not None:
        by = y(float(baseline))
        out.append(f'<line class="chart__baseline" x1="{left}" x2="{left + plot_w}" y1="{_f(by)}" y2="{_f(by)}" '
                   f'stroke="{BASELINE}" stroke-width="1.5" stroke-dasharray="2 3" data-value="{_attr(baseline)}"/>')
    if target is not None:
        ty = y(float(target))
        out.append(f'<line class="chart__target" x1="{left}" x2="{left + plot_w}" y1="{_f(ty)}" y2="{_f(ty)}" '
                   f'stroke="{TARGET}" stroke-width="1.5" stroke-dasharray="6 4" data-value="{_attr(target)}"/>')
        out.append(f'<text x="{left + plot_w}" y="{_f(ty - 4)}" text-anchor="end" font-size="11" fill="{TARGET}">'
                   f'{escape(_("Ziel"))} {escape(_fmt(target, unit))}</text>')
    # the line and its points
    coords = [(x(p.on), y(float(p.value))) for p in points]
    if len(coords) > 1:
        path = " ".join(f"{_f(cx)},{_f(cy)}" for cx, cy in coords)
        out.append(f'<polyline class="chart__line" points="{path}" fill="none" stroke="{PRIMARY}" '
                   f'stroke-width="2.5" stroke-linejoin="round"/>')
    for point, (cx, cy) in zip(points, coords, strict=True):
        out.append(f'<circle class="chart__point" cx="{_f(cx)}" cy="{_f(cy)}" r="4" fill="{PRIMARY}" '
                   f'stroke="#fff" stroke-width="1.5" data-date="{point.on.isoformat()}" '
                   f'data-value="{_attr(point.value.normalize())}"/>')
    last, (lx, ly) = points[-1], coords[-1]
    anchor = "end" if lx > left + plot_w * 0.8 else "middle" if len(points) == 1 else "start"
    dx = -8 if anchor == "end" else 0 if anchor == "middle" else 8
    out.append(f'<text class="chart__latest" x="{_f(lx + dx)}" y="{_f(max(ly - 9, top + 10))}" '
               f'text-anchor="{anchor}" font-size="12" font-weight="700" fill="{PRIMARY}">'
               f'{escape(_fmt(last.value, unit))}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _sparkline(indicator: dict, *, width: int, height: int, chart_id: str | None) -> Markup:
    unit = indicator.get("unit", "count")
    points = _points(indicator)
    cid = _chart_id(indicator, True, chart_id)
    if points:
        title = _("%(name)s: %(value)s, Stand %(date)s", name=indicator.get("name", ""),
                  value=_fmt(points[-1].value, unit), date=_fmt_date(points[-1].on))
        if trend_label(indicator):
            title += f" ({trend_label(indicator)})"
    else:
        title = _("%(name)s: noch keine Werte", name=indicator.get("name", ""))
    out = _svg_open(cid, width, height, "chart chart--sparkline", title, _describe(indicator, points))
    if points:
        pad = 4
        numbers = [float(p.value) for p in points]
        low, high = min(numbers), max(numbers)
        if high == low:
            low, high = low - 1, high + 1
        days = (points[-1].on - points[0].on).days

        def x(on: date) -> float:
            return width / 2 if days == 0 else pad + (width - 2 * pad) * (on - points[0].on).days / days

        def y(value: float) -> float:
            return pad + (height - 2 * pad) * (1 - (value - low) / (high - low))

        coords = [(x(p.on), y(float(p.value))) for p in points]
        if len(coords) > 1:
            path = " ".join(f"{_f(cx)},{_f(cy)}" for cx, cy in coords)
            out.append(f'<polyline class="chart__line" points="{path}" fill="none" stroke="{PRIMARY}" '
                       f'stroke-width="1.75" stroke-linejoin="round"/>')
        cx, cy = coords[-1]
        out.append(f'<circle class="chart__point" cx="{_f(cx)}" cy="{_f(cy)}" r="3" fill="{PRIMARY}" '
                   f'data-date="{points[-1].on.isoformat()}" data-value="{_attr(points[-1].value.normalize())}"/>')
    else:
        out.append(f'<line x1="2" x2="{width - 2}" y1="{_f(height / 2)}" y2="{_f(height / 2)}" stroke="{GRID}" '
                   f'stroke-dasharray="3 3"/>')
    out.append("</svg>")
    return Markup("".join(out))


# --- funding timeline ----------------------------------------------------------------------------

FUNDING_COLOURS = {"secured": "#1b6b3a", "applied": "#0b4f8a", "planned": "#6b5fa8", "open": "#8a5300"}


def funding_timeline_svg(items: Iterable[dict], *, today: date, width: int = 900, row_height: int = 26,
                         label_width: int = 260, chart_id: str = "funding-timeline") -> Markup:
    """Horizontal bars of funding periods. Each item: label, start_date, end_date (ISO), status, flagged (bool).

    Items without both dates are left out of the drawing (the table next to it lists them).
    """

    drawn = [i for i in items if _day(i.get("start_date")) and _day(i.get("end_date"))]
    top, bottom = 28, 12
    height = top + bottom + row_height * max(len(drawn), 1)
    desc = ngettext_periods(len(drawn))
    out = _svg_open(chart_id, width, height, "chart chart--timeline", _("Zeitleiste der Förderzeiträume"), desc)
    if not drawn:
        out.append(f'<text x="{_f(width / 2)}" y="{_f(height / 2 + 6)}" text-anchor="middle" font-size="14" '
                   f'fill="{MUTED}">{escape(_("Keine Förderzeiträume mit Beginn und Ende erfasst."))}</text>')
        out.append("</svg>")
        return Markup("".join(out))
    first = min(min(_day(i["start_date"]) for i in drawn), today)
    last = max(max(_day(i["end_date"]) for i in drawn), today)
    start, end = date(first.year, 1, 1), date(last.year + 1, 1, 1)
    plot_left, plot_w = label_width, width - label_width - 10
    total = (end - start).days

    def x(on: date) -> float:
        return plot_left + plot_w * (on - start).days / total

    for year in range(start.year, end.year + 1):
        gx = x(date(year, 1, 1))
        out.append(f'<line x1="{_f(gx)}" x2="{_f(gx)}" y1="{top - 6}" y2="{height - bottom}" stroke="{GRID}"/>')
        if year < end.year:
            out.append(f'<text x="{_f(gx + 4)}" y="{top - 10}" font-size="11" fill="{MUTED}">{year}</text>')
    for row, item in enumerate(drawn):
        ry = top + row * row_height
        s, e = _day(item["start_date"]), _day(item["end_date"])
        colour = FUNDING_COLOURS.get(item.get("status", "open"), MUTED)
        label = item.get("label", "")
        short = label if len(label) <= 38 else label[:37] + "…"
        out.append(f'<text x="{label_width - 8}" y="{_f(ry + row_height / 2 + 4)}" text-anchor="end" '
                   f'font-size="12" fill="#1c1f24">{escape(short)}</text>')
        bar_w = max(x(e) - x(s), 2)
        flagged = bool(item.get("flagged"))
        marker = f' stroke="{ACCENT}" stroke-width="2"' if flagged else ""
        out.append(f'<rect class="chart__bar{" chart__bar--flagged" if flagged else ""}" x="{_f(x(s))}" '
                   f'y="{_f(ry + 5)}" width="{_f(bar_w)}" height="{row_height - 10}" rx="3" fill="{colour}"{marker} '
                   f'data-start="{s.isoformat()}" data-end="{e.isoformat()}"><title>{escape(label)}: '
                   f'{escape(_fmt_day(s))} – {escape(_fmt_day(e))}</title></rect>')
        if flagged:
            out.append(f'<text x="{_f(min(x(e) + 4, width - 12))}" y="{_f(ry + row_height / 2 + 5)}" '
                       f'font-size="13" font-weight="700" fill="{ACCENT}">!</text>')
    tx = x(today)
    out.append(f'<line class="chart__today" x1="{_f(tx)}" x2="{_f(tx)}" y1="{top - 6}" y2="{height - bottom}" '
               f'stroke="{ACCENT}" stroke-width="1.5" stroke-dasharray="4 3" data-date="{today.isoformat()}"/>')
    out.append(f'<text x="{_f(tx + 3)}" y="{height - 2}" font-size="10" fill="{ACCENT}">'
               f'{escape(_("heute"))}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def ngettext_periods(count: int) -> str:
    from flask_babel import ngettext

    return ngettext("%(num)d Förderzeitraum als Balken; die Tabelle darunter nennt alle Angaben.",
                    "%(num)d Förderzeiträume als Balken; die Tabelle darunter nennt alle Angaben.", count)


__all__ = ["funding_timeline_svg", "indicator_chart_svg", "indicator_trend", "latest_value", "trend_is_good",
           "trend_label"]

"""The server-side SVG charts: well-formed, described for screen readers, values where they belong."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from strategy import create_app
from strategy.charts import funding_timeline_svg, indicator_chart_svg, indicator_trend, trend_is_good

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def request_context(tmp_path, monkeypatch):
    """Charts format numbers and dates in the reader's locale, so they need a request (no database)."""
    monkeypatch.setenv("STRATEGY_INSTANCE_PATH", str(tmp_path))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "charts"})
    with app.test_request_context():
        yield


def indicator(*values, unit="count", **extra) -> dict:
    return {
        "id": 7, "name": "Teilnehmende im Modellvorhaben", "unit": unit, "direction": "higher",
        "baseline": None, "target": None, "target_date": None, "is_key": True,
        "values": [{"observed_on": on, "value": value, "source_note": "Jobcenter, Stand"} for on, value in values],
        **extra,
    }


def parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))


def points(svg: ET.Element) -> list[ET.Element]:
    return svg.findall(f".//{SVG}circle[@class='chart__point']")


def test_chart_is_well_formed_svg_with_an_accessible_name_and_description(request_context):
    svg = parse(indicator_chart_svg(indicator(("2024-06-30", "120"), ("2025-12-31", "222"))))
    assert svg.tag == f"{SVG}svg"
    assert svg.get("role") == "img"
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert title.text == "Verlauf: Teilnehmende im Modellvorhaben"
    assert "2 Werte von 06/2024 bis 12/2025" in desc.text
    assert "letzter Wert 222 (steigend)" in desc.text


def test_later_dates_lie_further_right_and_higher_values_higher_up(request_context):
    svg = parse(indicator_chart_svg(
        indicator(("2024-01-31", "50"), ("2024-07-31", "200"), ("2025-01-31", "100")), width=500, height=200))
    drawn = points(svg)
    assert [p.get("data-date") for p in drawn] == ["2024-01-31", "2024-07-31", "2025-01-31"]
    xs = [float(p.get("cx")) for p in drawn]
    ys = [float(p.get("cy")) for p in drawn]
    assert xs == sorted(xs) and xs[0] < xs[1] < xs[2]
    assert ys[1] < ys[2] < ys[0]  # SVG y grows downwards: 200 is highest, 50 lowest
    # Time is proportional: July lies about half-way between the two Januaries.
    assert abs((xs[1] - xs[0]) - (xs[2] - xs[1])) < 5
    assert all(0 <= x <= 500 for x in xs) and all(0 <= y <= 200 for y in ys)


def test_values_are_placed_on_the_y_scale_with_zero_at_the_axis(request_context):
    svg = parse(indicator_chart_svg(indicator(("2024-01-31", "0"), ("2025-01-31", "100")), height=240))
    low, high = points(svg)
    axis_labels = {t.text: float(t.get("y")) for t in svg.findall(f"{SVG}text[@class='chart__tick']")}
    assert "0" in axis_labels and "100" in axis_labels
    # The text baseline sits 4 units below the grid line it labels.
    assert float(low.get("cy")) == pytest.approx(axis_labels["0"] - 4)
    assert float(high.get("cy")) == pytest.approx(axis_labels["100"] - 4)


def test_values_arrive_in_any_order_and_are_drawn_in_date_order(request_context):
    svg = parse(indicator_chart_svg(indicator(("2025-12-31", "9"), ("2024-12-31", "3"))))
    assert [p.get("data-date") for p in points(svg)] == ["2024-12-31", "2025-12-31"]
    assert indicator_trend(indicator(("2025-12-31", "9"), ("2024-12-31", "3"))) == "up"


def test_target_and_baseline_are_drawn_and_described(request_context):
    data = indicator(("2024-06-30", "120"), ("2025-12-31", "222"), baseline="0", target="400",
                     target_date="2026-12-31")
    svg = parse(indicator_chart_svg(data))
    target = svg.find(f".//{SVG}line[@class='chart__target']")
    baseline = svg.find(f".//{SVG}line[@class='chart__baseline']")
    assert target.get("data-value") == "400" and baseline.get("data-value") == "0"
    assert float(target.get("y1")) < min(float(p.get("cy")) for p in points(svg))
    desc = svg.find(f"{SVG}desc").text
    assert "Ausgangswert 0" in desc and "Zielwert 400 bis 12/2026" in desc


def test_an_indicator_without_values_says_so(request_context):
    svg = parse(indicator_chart_svg(indicator()))
    assert points(svg) == []
    assert svg.find(f"{SVG}desc").text == "Noch keine Werte erfasst."
    assert "Noch keine Werte erfasst." in [t.text for t in svg.findall(f"{SVG}text")]


def test_one_value_is_a_single_point_in_the_middle_labelled_with_its_value(request_context):
    svg = parse(indicator_chart_svg(indicator(("2025-12-31", "22.5"), unit="percent"), width=400))
    (point,) = points(svg)
    assert float(point.get("cx")) == pytest.approx(64 + (400 - 64 - 16) / 2)
    assert svg.find(f"{SVG}polyline") is None
    assert svg.find(f".//{SVG}text[@class='chart__latest']").text == "22,5 %"
    assert "Ein Wert: 22,5 %, Stand 12/2025." == svg.find(f"{SVG}desc").text


def test_percent_axis_stops_at_100(request_context):
    svg = parse(indicator_chart_svg(indicator(("2024-12-31", "62"), ("2025-12-31", "97"), unit="percent")))
    labels = [t.text for t in svg.findall(f"{SVG}text")]
    assert "100 %" in labels and "120 %" not in labels


def test_names_with_markup_are_escaped(request_context):
    data = indicator(("2025-12-31", "1"))
    data["name"] = '<script>alert("x")</script> & Co'
    markup = str(indicator_chart_svg(data))
    assert "<script>" not in markup
    assert parse(markup).find(f"{SVG}title").text == 'Verlauf: <script>alert("x")</script> & Co'


def test_sparkline_shows_the_latest_value_and_trend_in_its_title(request_context):
    data = indicator(("2024-12-31", "300"), ("2025-12-31", "222"))
    svg = parse(indicator_chart_svg(data, width=110, height=30, compact=True, chart_id="spark-11"))
    assert svg.get("id") == "spark-11" and svg.get("width") == "110"
    assert svg.find(f"{SVG}title").text == "Teilnehmende im Modellvorhaben: 222, Stand 12/2025 (fallend)"
    (last,) = points(svg)  # only the latest value is marked
    assert last.get("data-value") == "222"
    line = svg.find(f"{SVG}polyline").get("points").split()
    first_y, last_y = float(line[0].split(",")[1]), float(line[-1].split(",")[1])
    assert last_y > first_y  # falling
    assert trend_is_good(data) is False
    assert trend_is_good({**data, "direction": "lower"}) is True


def test_sparkline_without_values_is_still_labelled(request_context):
    svg = parse(indicator_chart_svg(indicator(), width=110, height=30, compact=True))
    assert svg.find(f"{SVG}title").text == "Teilnehmende im Modellvorhaben: noch keine Werte"


def test_chart_ids_differ_between_full_chart_and_sparkline_of_one_indicator(request_context):
    data = indicator(("2024-12-31", "1"), ("2025-12-31", "2"))
    full, spark = parse(indicator_chart_svg(data)), parse(indicator_chart_svg(data, compact=True))
    assert full.get("id") != spark.get("id")


def test_funding_timeline_draws_one_bar_per_complete_period_and_marks_today(request_context):
    items = [
        {"label": "HF 11 · ESF Plus", "start_date": "2024-01-01", "end_date": "2026-12-31", "status": "secured",
         "flagged": True},
        {"label": "HF 4 · Stiftung", "start_date": "2025-06-01", "end_date": "2028-05-31", "status": "applied",
         "flagged": False},
        {"label": "HF 5 · ohne Ende", "start_date": "2025-01-01", "end_date": None, "status": "open"},
    ]
    svg = parse(funding_timeline_svg(items, today=date(2026, 3, 1)))
    bars = svg.findall(f".//{SVG}rect")
    assert [b.get("data-end") for b in bars] == ["2026-12-31", "2028-05-31"]
    assert "chart__bar--flagged" in bars[0].get("class") and "flagged" not in bars[1].get("class")
    today = svg.find(f".//{SVG}line[@class='chart__today']")
    x_today = float(today.get("x1"))
    first, second = (float(b.get("x")) for b in bars)
    assert first < second < x_today < first + float(bars[0].get("width"))
    assert svg.get("role") == "img" and svg.find(f"{SVG}title").text == "Zeitleiste der Förderzeiträume"


def test_funding_timeline_without_periods_says_so(request_context):
    svg = parse(funding_timeline_svg([], today=date(2026, 3, 1)))
    assert svg.findall(f".//{SVG}rect") == []
    assert "Keine Förderzeiträume" in "".join(t.text for t in svg.findall(f"{SVG}text"))

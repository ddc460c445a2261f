"""Scale: do the status page, a field page and the API's field list stay fast when PostgreSQL holds a big
installation? Measures them on the small demo database, then fills the same database with 400 strategies ×
13 fields, each field with 200 revisions, 20 next steps, 5 financing items and 3 indicators × 20 values, and
measures the demo strategy's pages again. Target (issue 7): within 1.5× of the small database's latency.

    .venv/bin/python bench/scale_bench.py [--strategies 400] [--requests 60]

Latency is measured sequentially over one connection at a time (no load), against gunicorn with 2 workers on
127.0.0.1; the status page is requested with a changing query string so its render cache never answers.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal

from _serve import gunicorn, machine, postgres, prepare, request, sqlite_instance

FIELDS, REVISIONS, STEPS, FINANCING, INDICATORS, VALUES = 13, 200, 20, 5, 3, 20


def populate_demo() -> None:
    from strategy.demo import load_demo

    load_demo()


def fill(strategies: int) -> dict:
    """The big installation, next to the demo: bulk inserts through the ORM (column defaults apply)."""
    from strategy.extensions import db
    from strategy.models import (
        Field,
        FieldPhase,
        FinancingItem,
        FundingSource,
        Indicator,
        IndicatorValue,
        NextStep,
        ReviewState,
        Revision,
        StepStatus,
        Strategy,
        Visibility,
    )
    from strategy.snapshots import field_snapshot

    started = time.monotonic()
    today = date.today()
    text = "Ausgangslage und Ziele des Handlungsfelds mit Trägern, Agentur, Jobcenter und MSO. " * 12
    db.session.execute(db.insert(Strategy), [
        {"slug": f"skala-{n:03d}", "title": f"Skalierungs-Strategie {n:03d}", "visibility": Visibility.PUBLIC}
        for n in range(strategies)
    ])
    strategy_ids = db.session.scalars(db.select(Strategy.id).where(Strategy.slug.like("skala-%"))).all()
    db.session.execute(db.insert(Field), [
        {"strategy_id": sid, "number": number, "title": f"Handlungsfeld {number}", "goal_text": text[:300],
         "phase": FieldPhase.WORKSHOP_2, "current_state": text, "vision": text, "strategic_goals": text,
         "future_challenges": text, "what_worked": text, "gaps": text}
        for sid in strategy_ids for number in range(1, FIELDS + 1)
    ])
    field_ids = db.session.scalars(db.select(Field.id).where(Field.strategy_id.in_(strategy_ids))).all()

    def chunks(rows, size=20_000):
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch

    for batch in chunks({"field_id": fid, "description": f"Schritt {i} mit Verantwortlichen und Termin",
                         "due_date": today + timedelta(days=15 * i - 60), "position": i,
                         "status": StepStatus.PLANNED if i % 3 else StepStatus.IN_PROGRESS}
                        for fid in field_ids for i in range(STEPS)):
        db.session.execute(db.insert(NextStep), batch)
    for batch in chunks({"field_id": fid, "source": FundingSource.ESF_PLUS, "programme": f"Programm {i}",
                         "amount": Decimal(10_000 * (i + 1)), "start_date": today - timedelta(days=400),
                         "end_date": today + timedelta(days=90 * i), "position": i}
                        for fid in field_ids for i in range(FINANCING)):
        db.session.execute(db.insert(FinancingItem), batch)
    for batch in chunks({"field_id": fid, "name": f"Kennzahl {i}", "is_key": i == 0, "position": i}
                        for fid in field_ids for i in range(INDICATORS)):
        db.session.execute(db.insert(Indicator), batch)
    indicator_ids = db.session.scalars(db.select(Indicator.id).where(Indicator.field_id.in_(field_ids))).all()
    for batch in chunks({"indicator_id": iid, "observed_on": date(2021, 1, 1) + timedelta(days=91 * k),
                         "value": Decimal(100 + 7 * k)} for iid in indicator_ids for k in range(VALUES)):
        db.session.execute(db.insert(IndicatorValue), batch)
    db.session.commit()

    # Approved snapshots, as the review workflow would store them: one full snapshot per field.
    from strategy.fields.services import framework_fields

    for sid in strategy_ids:
        for field in framework_fields(db.session.get(Strategy, sid)):
            field.approved_content = field_snapshot(field)
            field.review_state = ReviewState.APPROVED
            field.approved_at = dt.datetime.now(dt.timezone.utc)
        db.session.commit()
        db.session.expunge_all()
    # The history: 200 revisions per field, written by the database itself (a million rows).
    db.session.execute(db.text(
        "INSERT INTO revision (field_id, kind, author_name, created_at, summary, changed_columns, content) "
        "SELECT f.id, 'edit', 'Skalierung', now() - make_interval(hours => g), 'Änderung', '[\"vision\"]', "
        "json_build_object('vision', CAST(:text AS text), 'summary', 'Änderung') "
        "FROM field f JOIN strategy s ON s.id = f.strategy_id AND s.slug LIKE 'skala-%', generate_series(1, CAST(:n AS integer)) g"
    ), {"text": text[:400], "n": REVISIONS})
    db.session.commit()
    db.session.execute(db.text("ANALYZE"))
    db.session.commit()
    counts = {name: db.session.scalar(db.select(db.func.count()).select_from(model)) for name, model in (
        ("strategies", Strategy), ("fields", Field), ("revisions", Revision), ("next steps", NextStep),
        ("financing items", FinancingItem), ("indicators", Indicator), ("indicator values", IndicatorValue))}
    counts["seconds"] = round(time.monotonic() - started)
    return counts


def measure(port: int, paths: dict[str, str], requests: int) -> dict[str, tuple[float, float]]:
    figures = {}
    for label, path in paths.items():
        for i in range(5):  # warm-up: connections, caches, compiled SQL
            request(port, path.format(n=i))
        times = []
        for i in range(requests):
            started = time.perf_counter()
            status, _, _ = request(port, path.format(n=1000 + i))
            times.append((time.perf_counter() - started) * 1000)
            assert status == 200, (path, status)
        times.sort()
        figures[label] = (statistics.median(times), times[int(0.95 * (len(times) - 1))])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", type=int, default=400)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    print(f"scale_bench {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC · {machine()}")

    from strategy.demo import DEMO_SLUG

    with sqlite_instance() as (folder, _unused), postgres() as url:
        prepare(url, folder, populate_demo)
        with gunicorn(url, folder) as port:
            strategy_id = next(s["id"] for s in __import__("json").loads(request(port, "/api/v1/strategies")[2])["items"]
                               if s["slug"] == DEMO_SLUG)
            paths = {
                "status page": f"/strategien/{DEMO_SLUG}/status?n={{n}}",
                "field page (HF 4)": f"/strategien/{DEMO_SLUG}/handlungsfelder/4?n={{n}}",
                "API field list": f"/api/v1/strategies/{strategy_id}/fields?limit=50&n={{n}}",
            }
            small = measure(port, paths, args.requests)
        counts = {}
        prepare(url, folder, lambda: counts.update(fill(args.strategies)))
        print("filled: " + ", ".join(f"{value} {name}" for name, value in counts.items()))
        with gunicorn(url, folder) as port:
            big = measure(port, paths, args.requests)
            sample = {
                "status page (a full bench strategy)": f"/strategien/skala-{args.strategies // 2:03d}/status?n={{n}}",
                "field page (a full bench field)": f"/strategien/skala-{args.strategies // 2:03d}/handlungsfelder/7?n={{n}}",
            }
            full = measure(port, sample, args.requests)

    print(f"\nPostgreSQL, gunicorn 2 workers, {args.requests} sequential requests each (median / p95 in ms)")
    print(f"  {'page (demo strategy)':<34} {'small DB':>16} {'big DB':>16} {'ratio':>7}")
    worst = 0.0
    for label in paths:
        ratio = big[label][0] / small[label][0]
        worst = max(worst, ratio)
        print(f"  {label:<34} {small[label][0]:>7.1f} / {small[label][1]:<6.1f} {big[label][0]:>7.1f} / "
              f"{big[label][1]:<6.1f} {ratio:>6.2f}x")
    for label, (p50, p95) in full.items():
        print(f"  {label:<34} {'':>16} {p50:>7.1f} / {p95:<6.1f}")
    print(f"  target (big within 1.5x of small): {'met' if worst <= 1.5 else 'NOT met'} (worst {worst:.2f}x)")


if __name__ == "__main__":
    main()

"""Search at scale: how fast does /suche answer on the small demo database, and on PostgreSQL holding the
scale generator's installation (bench/scale_bench.py: 400 strategies × 13 fields with steps, financing items,
indicators, approved snapshots and 200 revisions per field)? Target (issue 15): p95 under 100 ms for the
current state, under 300 ms including history.

    .venv/bin/python bench/search_bench.py [--strategies 400] [--requests 40]

The history of scale_bench is one identical text in every revision, which no search meets in practice; here
each revision also names two of 1,000 compound words (40 first parts × 25 second parts, e.g.
"Sprachlotse", "Wohnungsfonds"), so a compound word is in about 0.2 % of the revisions, and its second part
(`lotse`, searched inside words) in about 8 %. The common words of scale_bench's text ("Jobcenter") stand in
every column and every revision: the worst case, printed as such (more than 1,000 hits: counted up to the cap,
the newest ranked; strategy.search.services.COUNT_CAP).

Requests go through the whole app in this process (Flask test client: routing, permissions, the query,
the page), one at a time; anonymous readers search the current (approved) state of all public strategies, the
demo admin (who reads drafts and history everywhere) searches with "auch in älteren Ständen".
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from urllib.parse import quote

from _serve import machine, postgres, prepare, sqlite_instance

FIRST = ["Sprach", "Wohnungs", "Arbeits", "Kita", "Schul", "Gesundheits", "Beratungs", "Integrations", "Familien",
         "Jugend", "Quartiers", "Bildungs", "Ausbildungs", "Kultur", "Sport", "Pflege", "Eltern", "Frauen", "Senioren",
         "Nachbarschafts", "Migrations", "Teilhabe", "Lern", "Berufs", "Anerkennungs", "Sozial", "Stadtteil",
         "Freizeit", "Mobilitäts", "Energie", "Umwelt", "Digital", "Medien", "Netzwerk", "Koordinations",
         "Verwaltungs", "Förder", "Projekt", "Begegnungs", "Ehrenamts"]
SECOND = ["kurs", "lotse", "fonds", "zentrum", "stelle", "netz", "plan", "rat", "projekt", "angebot", "büro",
          "konferenz", "messe", "café", "werkstatt", "patenschaft", "sprechstunde", "fahrplan", "tag", "gruppe",
          "börse", "treff", "label", "check", "konzept"]
VOCABULARY = [a + b for a in FIRST for b in SECOND]

QUERIES = {
    "rare word (demo only)": "Clearingstelle",
    "compound word": "Sprachlotse",
    "part of compounds": "lotse",
    "phrase": '"Agentur für Arbeit"',
    "word -exclusion": "Jobcenter -Clearingstelle",
    "no hit": "Zebrastreifen",
    "common word (everywhere)": "Jobcenter",
}


def populate_demo() -> None:
    from strategy.demo import load_demo

    load_demo()


def fill_with_history(strategies: int) -> dict:
    """scale_bench's installation, its history written with varied words, then the index rebuilt."""
    import scale_bench

    from strategy.extensions import db
    from strategy.search.indexing import reindex_all

    started = time.monotonic()
    revisions, scale_bench.REVISIONS = scale_bench.REVISIONS, 0  # scale_bench writes no history of its own
    counts = scale_bench.fill(strategies)
    db.session.execute(db.text(
        "INSERT INTO revision (field_id, kind, author_name, created_at, summary, changed_columns, content) "
        "SELECT f.id, 'edit', 'Skalierung', now() - make_interval(hours => g), 'Änderung', '[\"vision\"]', "
        "json_build_object('vision', 'Stand ' || g || ': ' || (CAST(:words AS text[]))[1 + (f.id * 7 + g) % :v] "
        "|| ' und ' || (CAST(:words AS text[]))[1 + (f.id * 3 + g * 11) % :v] || '. ' || CAST(:text AS text)) "
        "FROM field f JOIN strategy s ON s.id = f.strategy_id AND s.slug LIKE 'skala-%', "
        "generate_series(1, CAST(:n AS integer)) g"
    ), {"words": VOCABULARY, "v": len(VOCABULARY), "n": revisions,
        "text": "Ausgangslage und Ziele des Handlungsfelds mit Trägern, Agentur, Jobcenter und MSO. " * 4})
    db.session.commit()
    filled = time.monotonic()
    index = reindex_all()
    db.session.commit()
    counts["revisions"] = db.session.scalar(db.text("SELECT count(*) FROM revision"))
    counts["index entries"] = index["entries"]
    counts["fill seconds"] = round(filled - started)
    counts["reindex seconds"] = round(time.monotonic() - filled)
    return counts


def measure(app, requests: int) -> dict[str, tuple[float, float, int]]:
    from strategy.demo import DEMO_PASSWORD

    anonymous = app.test_client()
    admin = app.test_client()
    answer = admin.post("/anmelden", data={"email": "admin@demo.dortmund.example", "password": DEMO_PASSWORD})
    assert answer.status_code == 302, answer.status_code
    figures = {}
    for label, query in QUERIES.items():
        for who, client, extra in (("current", anonymous, ""), ("history", admin, "&verlauf=y")):
            path = f"/suche?q={quote(query)}{extra}"
            for _ in range(3):  # warm-up: connections, compiled SQL, caches
                assert client.get(path).status_code == 200
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            times.sort()
            hits = response.get_data(as_text=True).count('class="search-hit"')
            figures[f"{label} · {who}"] = (statistics.median(times), times[int(0.95 * (len(times) - 1))], hits)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", type=int, default=400)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    print(f"search_bench {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC · {machine()}")

    from strategy import create_app
    from strategy.extensions import db

    with sqlite_instance() as (folder, _unused), postgres() as url:
        prepare(url, folder, populate_demo)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
        with app.app_context():
            small = measure(app, args.requests)
            db.session.remove()
        counts: dict = {}
        prepare(url, folder, lambda: counts.update(fill_with_history(args.strategies)))
        print("filled: " + ", ".join(f"{value} {name}" for name, value in counts.items()))
        with app.app_context():
            big = measure(app, args.requests)
            db.session.remove()
            db.engine.dispose()

    print(f"\nPostgreSQL, in-process requests to /suche, {args.requests} each, one at a time "
          "(median / p95 in ms; hits on the first page)")
    print(f"  {'query · reader':<44} {'small DB':>20} {f'{args.strategies} strategies':>22}")
    for label in small:
        (s50, s95, sh), (b50, b95, bh) = small[label], big[label]
        target = 300 if label.endswith("history") else 100
        mark = "ok" if b95 < target else f"over {target}"
        print(f"  {label:<44} {s50:>7.1f} / {s95:<6.1f} ({sh:>2}) {b50:>7.1f} / {b95:<6.1f} ({bh:>2})  {mark}")


if __name__ == "__main__":
    main()

"""Status page under load: gunicorn (2 sync workers) on 127.0.0.1, 16 connections, side by side with the
trivial /healthz endpoint in the same run, on SQLite and on PostgreSQL (a throwaway server). Prints req/s,
p50/p95, the ratio to the trivial endpoint, and what a revalidation with a matching ETag (304) costs.

    .venv/bin/python bench/status_bench.py [--seconds 8] [--connections 16] [--only sqlite|postgresql]

Targets (issue 7): status page >= 1/5 of the trivial endpoint's req/s, p95 < 50 ms; a 304 about as cheap as
the trivial endpoint.
"""
from __future__ import annotations

import argparse
import datetime as dt

from _serve import gunicorn, load, machine, postgres, prepare, print_table, request, sqlite_instance

STATUS = "/strategien/dortmund-neuzuwanderung/status"


def populate_demo() -> None:
    from strategy.demo import load_demo

    load_demo()


def run(label: str, database_url: str, instance: str, seconds: float, connections: int) -> None:
    prepare(database_url, instance, populate_demo)
    with gunicorn(database_url, instance) as port:
        status, headers, body = request(port, STATUS)
        assert status == 200, status
        etag = headers["ETag"]
        assert request(port, STATUS, {"If-None-Match": etag})[0] == 304
        trivial = load("/healthz (trivial)", port, "/healthz", connections=connections, seconds=seconds)
        page = load(f"status page ({len(body) // 1024} KB)", port, STATUS, connections=connections, seconds=seconds)
        revalidate = load("status page, If-None-Match → 304", port, STATUS, connections=connections,
                          seconds=seconds, headers={"If-None-Match": etag}, expect=304)
    print_table(f"{label}: gunicorn 2 workers, {connections} connections, {seconds:.0f} s each", [trivial, page,
                revalidate], trivial)
    ok = page.rps >= trivial.rps / 5 and page.p95_ms < 50
    print(f"  target (>= 1/5 of trivial, p95 < 50 ms): {'met' if ok else 'NOT met'}; "
          f"304 costs {trivial.rps / revalidate.rps:.2f}x the trivial request")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    print(f"status_bench {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC · {machine()}")
    if args.only in (None, "sqlite"):
        with sqlite_instance() as (folder, url):
            run("SQLite (demo data)", url, folder, args.seconds, args.connections)
    if args.only in (None, "postgresql"):
        with sqlite_instance() as (folder, _unused), postgres() as url:
            run("PostgreSQL (demo data)", url, folder, args.seconds, args.connections)


if __name__ == "__main__":
    main()

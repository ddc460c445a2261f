"""Status page under load: gunicorn (2 sync workers) on 127.0.0.1, 16 connections, beside a bare Flask
"hello" endpoint (bench/bare_app.py, same gunicorn settings) and the app's /healthz in the same run, on SQLite
and on PostgreSQL (a throwaway server). Prints req/s, p50/p95 and the ratios the targets are stated in.

    .venv/bin/python bench/status_bench.py [--seconds 8] [--connections 16] [--only sqlite|postgresql]

Targets (issue 17): /healthz >= 1/2 of the bare endpoint's req/s; a revalidation (304) costs at most as much as
/healthz (req/s >= /healthz's); a cached anonymous status page >= 1/2 of the bare endpoint. (Issue 7's: the
status page >= 1/5 of /healthz, p95 < 50 ms.)
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
    with gunicorn(database_url, instance, app="bench.bare_app:app", ready="/hello") as port:
        bare = load("bare Flask /hello", port, "/hello", connections=connections, seconds=seconds)
    with gunicorn(database_url, instance) as port:
        status, headers, body = request(port, STATUS)
        assert status == 200, status
        etag = headers["ETag"]
        assert request(port, STATUS, {"If-None-Match": etag})[0] == 304
        trivial = load("/healthz", port, "/healthz", connections=connections, seconds=seconds)
        page = load(f"status page ({len(body) // 1024} KB), cached", port, STATUS, connections=connections,
                    seconds=seconds)
        revalidate = load("status page, If-None-Match → 304", port, STATUS, connections=connections,
                          seconds=seconds, headers={"If-None-Match": etag}, expect=304)
    print_table(f"{label}: gunicorn 2 workers, {connections} connections, {seconds:.0f} s each", [bare, trivial,
                page, revalidate], bare, baseline_label="vs bare")
    verdict(trivial.rps / bare.rps, 0.5, "/healthz vs bare Flask")
    verdict(revalidate.rps / trivial.rps, 1.0, "304 vs /healthz (req/s; >= 1 means it costs at most as much)")
    verdict(page.rps / bare.rps, 0.5, "cached status page vs bare Flask")
    verdict(page.rps / trivial.rps, 0.2, "status page vs /healthz (issue 7)")
    print(f"  {'p95 < 50 ms (issue 7)':<62} {page.p95_ms:6.1f} ms  {'met' if page.p95_ms < 50 else 'NOT met'}")


def verdict(ratio: float, target: float, what: str) -> None:
    print(f"  {what:<62} {ratio:6.2f}x  (target >= {target:.2f}x: {'met' if ratio >= target else 'NOT met'})")


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

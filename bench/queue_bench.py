"""The export queue on one machine (README, "PDF exports on a queue"): what the queue costs and how fast a
killed worker's job comes back. Dortmund's demo framework (A3), on a throwaway PostgreSQL:

1. fresh render through HTTP, inline (gunicorn renders) against queued (gunicorn enqueues, one
   `flask export-worker` renders, the reader polls the job's page like its script does, every 0.2 s);
2. two different exports asked for at once (A3 and A4): one worker against two workers;
3. a worker killed with SIGKILL about a second into a render, with the production timings
   (heartbeat 10 s, stalled after 30 s, checked every 10 s): seconds until the other worker has it, and
   until the PDF is there.

    flock /tmp/bench.lock .venv/bin/python bench/queue_bench.py [--runs 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _serve import ROOT, machine, postgres, prepare

sys.path.insert(0, str(ROOT))

from tests.support.cluster import Cluster, get  # noqa: E402

FRAMEWORK = "/strategien/dortmund-neuzuwanderung/handlungsrahmen.pdf"
COMMON = {"PDF_WARM_UP": True, "PDF_RENDER_TIMEOUT": 900}
QUEUE = {**COMMON, "EXPORT_QUEUE": "procrastinate"}


def sql(url: str, statement: str):
    import psycopg

    from strategy.exports.queue import conninfo

    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        cursor = conn.execute(statement)
        return cursor.fetchall() if cursor.description else None


def fresh(url: str) -> None:
    sql(url, "DELETE FROM export_cache")


def queued_pdf(app_url: str, path: str) -> float:
    """Seconds from asking for the export to holding the PDF, through the job's page."""
    started = time.perf_counter()
    response = get(app_url + path)
    assert response.status == 303, response.status
    job_page = response.headers["Location"]
    while True:
        response = get(app_url + job_page)
        if response.status == 303:
            break
        assert b"konnte nicht erstellt" not in response.body
        time.sleep(0.2)
    pdf = get(app_url + response.headers["Location"])
    assert pdf.status == 200 and pdf.headers["Content-Type"] == "application/pdf"
    return time.perf_counter() - started


def wait_for(condition, timeout: float = 600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.1)
    raise RuntimeError("timed out")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(machine())
    with postgres("queue_bench") as url:
        folder = Path(tempfile.mkdtemp(prefix="queue-bench-"))

        def populate():
            from strategy.demo import load_demo

            load_demo()

        prepare(url, str(folder / "prepare"), populate)
        inline = Cluster(url, folder / "inline", COMMON)
        queued = Cluster(url, folder / "queued", QUEUE)
        queued.flask("export-queue-schema")
        rows = []

        inline_web, web = inline.start_app("inline-app"), queued.start_app("queued-app")
        first = queued.start_worker("worker-1")
        inline.wait_until_serving(inline_web)
        queued.wait_until_serving(web)
        time.sleep(10)  # the renderers warm up in the background (gunicorn.conf.py, export-worker)
        # Interleaved, so both see the same machine; render_seconds is the render alone (where it ran).
        times: dict[str, list[float]] = {"inline": [], "queued": [], "inline render": [], "queued render": []}
        for _ in range(args.runs):
            fresh(url)
            started = time.perf_counter()
            assert get(inline_web.url + FRAMEWORK).status == 200
            times["inline"].append(time.perf_counter() - started)
            times["inline render"].append(sql(url, "SELECT render_seconds FROM export_cache")[0][0])
            fresh(url)
            times["queued"].append(queued_pdf(web.url, FRAMEWORK))
            times["queued render"].append(sql(url, "SELECT render_seconds FROM export_cache")[0][0])
        inline.stop()
        rows.append(("fresh render, inline: whole request", statistics.median(times["inline"])))
        rows.append(("fresh render, queued: request to PDF (one worker)", statistics.median(times["queued"])))
        rows.append(("  of which the render itself, inline", statistics.median(times["inline render"])))
        rows.append(("  of which the render itself, in the worker", statistics.median(times["queued render"])))

        def both() -> float:
            fresh(url)
            started = time.perf_counter()
            pages = [get(web.url + path).headers["Location"] for path in (FRAMEWORK, FRAMEWORK + "?format=a4")]
            for page in pages:
                while get(web.url + page).status != 303:
                    time.sleep(0.2)
            return time.perf_counter() - started

        rows.append(("A3 and A4 at once, one worker", statistics.median(both() for _ in range(args.runs))))
        second = queued.start_worker("worker-2")
        time.sleep(8)
        rows.append(("A3 and A4 at once, two workers", statistics.median(both() for _ in range(args.runs))))

        # a kill in the middle of a render, production timings
        fresh(url)
        response = get(web.url + FRAMEWORK)
        job_page = response.headers["Location"]
        worker = wait_for(lambda: (r := sql(url, "SELECT worker FROM export_job WHERE state = 'running' "
                                                 "ORDER BY id DESC LIMIT 1")) and r[0][0])
        time.sleep(1.0)
        victim = first if worker.endswith(f":{first.pid}") else second
        victim.kill()
        killed = time.perf_counter()
        wait_for(lambda: (r := sql(url, "SELECT attempts FROM export_job ORDER BY id DESC LIMIT 1")) and r[0][0] == 2)
        rows.append(("after SIGKILL: until another worker has the job", time.perf_counter() - killed))
        while get(web.url + job_page).status != 303:
            time.sleep(0.2)
        rows.append(("after SIGKILL: until the PDF is there", time.perf_counter() - killed))
        queued.stop()

    print(f"{'measure':<52} {'median s':>9}")
    for name, seconds in rows:
        print(f"{name:<52} {seconds:>9.2f}")
    print(f"queued / inline: {rows[1][1] / rows[0][1]:.2f}; two workers / one worker: {rows[5][1] / rows[4][1]:.2f}")


if __name__ == "__main__":
    main()

"""The export queue: Procrastinate on the app's own PostgreSQL (README, "PDF exports on a queue").

The web process defers one task per ExportJob (`defer`); `flask export-worker` runs Procrastinate's worker
(`run_worker`) on any number of hosts. Why a killed worker loses no job: Procrastinate marks a fetched job
"doing" with the worker's id in the same transaction that hands it out, and every worker writes a
heartbeat; each worker also looks, every EXPORT_STALLED_CHECK_SECONDS, for jobs "doing" on a worker whose
heartbeat is older than EXPORT_WORKER_STALLED_SECONDS (Procrastinate's `get_stalled_jobs`) and puts them
back on the queue (`retry_job`), where the next free worker takes them (jobs.run starts them afresh).
"""
from __future__ import annotations

import asyncio
import logging
import threading

import procrastinate
import sqlalchemy as sa
from flask import Flask, current_app

from ..extensions import db

TASK = "strategy.render_export"
QUEUE = "exports"
logger = logging.getLogger(__name__)


def conninfo(database_url: str) -> str:
    """The SQLAlchemy URL (postgresql+psycopg://…) as the libpq address psycopg takes."""
    url = sa.make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise RuntimeError("EXPORT_QUEUE = 'procrastinate' needs PostgreSQL (DATABASE_URL=postgresql+psycopg://…)")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def render_export(context: procrastinate.JobContext, job_id: int) -> None:
    """The task: render one ExportJob inside the worker's Flask app (passed in the worker's context)."""
    from . import jobs

    flask_app: Flask = context.additional_context["flask_app"]
    with flask_app.app_context():
        try:
            jobs.run(job_id, context.additional_context["worker"])
        finally:
            db.session.remove()


def make_app(database_url: str, *, for_worker: bool) -> procrastinate.App:
    """A Procrastinate app on the app's database: asynchronous for the worker, a small synchronous pool for
    the web process (it only inserts jobs)."""
    if for_worker:
        connector = procrastinate.PsycopgConnector(conninfo=conninfo(database_url), min_size=1, max_size=4)
    else:
        connector = procrastinate.SyncPsycopgConnector(conninfo=conninfo(database_url), min_size=0, max_size=4)
    app = procrastinate.App(connector=connector)
    app.task(name=TASK, queue=QUEUE, pass_context=True)(render_export)
    return app


_web_apps: dict[str, procrastinate.App] = {}
_web_lock = threading.Lock()


def _web_app() -> procrastinate.App:
    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    with _web_lock:
        if url not in _web_apps:
            _web_apps[url] = make_app(url, for_worker=False).open()
        return _web_apps[url]


def defer(job_id: int) -> int:
    """Put an ExportJob on the queue; returns the queue's own job id."""
    return _web_app().tasks[TASK].defer(job_id=job_id)


def is_queue_structure(name: str | None, type_: str, parent_names: dict | None = None) -> bool:
    """Whether a reflected name is Procrastinate's (its schema is applied by `apply_schema`, not by our
    migrations), so Alembic's autogenerate leaves it alone instead of proposing to drop it."""
    return type_ == "table" and bool(name) and name.startswith("procrastinate_")


def apply_schema(database_url: str) -> bool:
    """Create Procrastinate's tables and functions (its documented schema) unless they exist; True if created."""
    import psycopg

    with psycopg.connect(conninfo(database_url)) as conn:
        if conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0] is not None:
            return False
    app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=conninfo(database_url)))
    with app.open():
        app.schema_manager.apply_schema()
    return True


# --- the worker ----------------------------------------------------------------------------------

def run_worker(flask_app: Flask, *, concurrency: int = 1, name: str | None = None, wait: bool = True) -> None:
    """Run a worker until SIGINT/SIGTERM (`wait=False`: until no job is waiting): renders export jobs and
    revives those of dead workers."""
    from . import jobs, services

    if wait:
        services.start_renderers(flask_app)
    label = jobs.worker_label()
    asyncio.run(_work(flask_app, concurrency, name or label, label, wait))


async def _work(flask_app: Flask, concurrency: int, name: str, label: str, wait: bool) -> None:
    config = flask_app.config
    app = make_app(config["SQLALCHEMY_DATABASE_URI"], for_worker=True)
    async with app.open_async():
        sweeper = asyncio.create_task(_revive_stalled_jobs(app, config["EXPORT_STALLED_CHECK_SECONDS"],
                                                           config["EXPORT_WORKER_STALLED_SECONDS"]))
        try:
            await app.run_worker_async(
                queues=[QUEUE], concurrency=concurrency, name=name, wait=wait, install_signal_handlers=wait,
                delete_jobs="successful",  # the queue's row is of no use once done; ExportJob keeps the story
                additional_context={"flask_app": flask_app, "worker": label},
                update_heartbeat_interval=config["EXPORT_WORKER_HEARTBEAT_SECONDS"],
                stalled_worker_timeout=config["EXPORT_WORKER_STALLED_SECONDS"])
        finally:
            sweeper.cancel()


async def _revive_stalled_jobs(app: procrastinate.App, every: float, stalled_after: float) -> None:
    """Procrastinate's recipe for jobs of dead workers, run by every worker: whichever sees one first puts it
    back on the queue; the others find it no longer "doing" and leave it."""
    while True:
        await asyncio.sleep(every)
        try:
            stalled = await app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=stalled_after)
        except Exception:
            logger.exception("looking for stalled export jobs failed")
            continue
        for job in stalled:
            try:
                await app.job_manager.retry_job(job)
                logger.warning("export job %s (queue job %s) was stalled on a dead worker: queued again",
                               job.task_kwargs.get("job_id"), job.id)
            except Exception:  # another worker revived it a moment ago
                logger.info("queue job %s was revived elsewhere", job.id)

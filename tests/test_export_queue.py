"""Exports on the queue (EXPORT_QUEUE = "procrastinate"), in one process: the web side enqueues and shows
"wird erstellt …", a real Procrastinate worker (run until the queue is empty) renders, and the result is served
from the export cache to its requester only, with exactly what they may read. Several processes and a killed
worker: tests/test_export_queue_processes.py."""
from __future__ import annotations

import io
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from pypdf import PdfReader

from strategy.audit import AuditAction
from strategy.exports import queue
from strategy.extensions import db
from strategy.models import AuditEvent, ExportCache, ExportJob, Membership, Role, Visibility


@pytest.fixture(params=["postgresql"])
def backend(request) -> str:
    """The queue lives in PostgreSQL only (the embedded SQLite set-up renders inline)."""
    return request.param


@pytest.fixture
def app_config() -> dict:
    return {"EXPORT_QUEUE": "procrastinate", "PDF_RENDER_TIMEOUT": 900}


@pytest.fixture(autouse=True)
def queue_schema(app):
    assert queue.apply_schema(app.config["SQLALCHEMY_DATABASE_URI"]) is True


def work_off(app) -> None:
    """A real worker on the test's database, until no job is waiting; in a thread of its own, because a browser
    test before this one in the same process leaves Playwright's event loop running on the main thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(queue.run_worker, app, wait=False).result()
    db.session.expire_all()


def text_of(response) -> str:
    assert response.status_code == 200 and response.mimetype == "application/pdf", response.status_code
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)


def request_job(client, url: str) -> str:
    """Ask for an export; returns the address of its "wird erstellt …" page."""
    response = client.get(url)
    assert response.status_code == 303, response.status_code
    assert re.fullmatch(r"/strategien/[^/]+/exporte/[\w-]{43}", response.headers["Location"])
    return response.headers["Location"]


def follow(client, job_page: str):
    """A finished job's page sends the reader to the export's own address; follow it to the PDF."""
    response = client.get(job_page)
    assert response.status_code == 303, response.status_code
    return client.get(response.headers["Location"])


def drafted_strategy(make, visibility=Visibility.PUBLIC):
    strategy = make.strategy(fields=1, visibility=visibility)
    field = make.field(strategy, 1)
    field.vision = "Freigegebene Vision der Stadt."
    db.session.commit()
    make.approve(field)
    field.vision = "Unfertiger Entwurf der Vision."
    db.session.commit()
    return strategy, field


def test_a_queued_export_shows_wird_erstellt_then_serves_the_pdf_from_the_cache(app, client, make):
    strategy, _ = drafted_strategy(make)
    url = f"/strategien/{strategy.slug}/handlungsrahmen.pdf"
    job_page = request_job(client, url)
    job = db.session.scalar(db.select(ExportJob))
    assert (job.state, job.requester_id, job.document, job.kind) == ("queued", None, "framework", "framework-a3")
    queued = db.session.execute(db.text("SELECT status, args FROM procrastinate_jobs")).one()
    assert queued.status == "todo" and queued.args == {"job_id": job.id}

    page = client.get(job_page)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "PDF wird erstellt …" in html
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html
    assert 'role="status" aria-live="polite"' in html and "<progress" in html
    assert f'href="{job_page}"' in html  # reload by hand
    assert "als Nächstes an der Reihe" in html

    work_off(app)
    assert (job.state, job.attempts) == ("done", 1) and job.page_count > 1
    pdf = follow(client, job_page)
    assert pdf.headers["X-Export-Cache"] == "hit"
    assert "Freigegebene Vision der Stadt." in text_of(pdf)
    assert db.session.scalar(db.select(db.func.count()).select_from(ExportCache)) == 1


def test_the_progress_address_tells_scripts_the_state_and_where_the_pdf_is(app, client, make):
    strategy, _ = drafted_strategy(make)
    job_page = request_job(client, f"/strategien/{strategy.slug}/handlungsrahmen.pdf?format=a4")
    waiting = client.get(job_page + "/stand").get_json()
    assert waiting == {"state": "queued", "percent": None, "ahead": 0, "done_url": None,
                       "message": "In der Warteschlange: dieser Export ist als Nächstes an der Reihe."}
    work_off(app)
    done = client.get(job_page + "/stand").get_json()
    assert done["state"] == "done" and done["percent"] == 100
    assert done["done_url"] == f"/strategien/{strategy.slug}/handlungsrahmen.pdf?format=a4"


def test_a_cached_export_is_served_at_once_without_a_job(app, client, make):
    strategy, _ = drafted_strategy(make)
    url = f"/strategien/{strategy.slug}/handlungsrahmen.pdf"
    job_page = request_job(client, url)
    work_off(app)
    follow(client, job_page)
    again = client.get(url)
    assert again.status_code == 200 and again.headers["X-Export-Cache"] == "hit"
    assert db.session.scalar(db.select(db.func.count()).select_from(ExportJob)) == 1


@pytest.mark.parametrize("who, sees_draft", [("partner", False), ("coordinator", True), ("anonymous", False)])
def test_a_job_renders_exactly_what_its_requester_may_read(app, client, auth, make, who, sees_draft):
    strategy, field = drafted_strategy(make)
    if who != "anonymous":
        role = Role.PARTNER if who == "partner" else Role.COORDINATOR
        auth.login(make.user(role=role, strategy=strategy, fields=(field,) if who == "coordinator" else ()))
    job_page = request_job(client, f"/strategien/{strategy.slug}/handlungsrahmen.pdf")
    work_off(app)
    text = text_of(follow(client, job_page))
    assert ("Unfertiger Entwurf" in text) is sees_draft
    assert ("Freigegebene Vision" in text) is not sees_draft


def test_only_the_requester_follows_a_job(app, client, auth, make):
    strategy, field = drafted_strategy(make, visibility=Visibility.PARTNERS)
    coordinator = make.user(role=Role.COORDINATOR, strategy=strategy, fields=(field,))
    auth.login(coordinator)
    job_page = request_job(client, f"/strategien/{strategy.slug}/handlungsrahmen.pdf")
    anonymous, partner = app.test_client(), app.test_client()
    partner.post("/anmelden", data={"email": make.user(role=Role.PARTNER, strategy=strategy).email,
                                    "password": "korrekt-pferd-batterie"})
    for stranger in (anonymous, partner):
        assert stranger.get(job_page).status_code == 404
        assert stranger.get(job_page + "/stand").status_code == 404
    work_off(app)
    assert partner.get(job_page).status_code == 404
    assert "Unfertiger Entwurf" in text_of(follow(client, job_page))
    # the partner's own request gets the approved state, never the coordinator's cached draft
    partner_page = request_job(partner, f"/strategien/{strategy.slug}/handlungsrahmen.pdf")
    assert partner_page != job_page


def test_a_requester_who_may_no_longer_read_the_strategy_gets_no_pdf(app, client, auth, make):
    strategy, field = drafted_strategy(make, visibility=Visibility.INTERNAL)
    steering = make.user(role=Role.STEERING, strategy=strategy)
    auth.login(steering)
    job_page = request_job(client, f"/strategien/{strategy.slug}/handlungsrahmen.pdf")
    db.session.execute(db.delete(Membership).where(Membership.user_id == steering.id))
    db.session.commit()
    work_off(app)
    job = db.session.scalar(db.select(ExportJob))
    assert (job.state, job.error) == ("failed", "not permitted")
    assert db.session.scalar(db.select(db.func.count()).select_from(ExportCache)) == 0
    assert client.get(job_page).status_code == 404


def test_a_failed_render_says_so_and_offers_to_try_again(app, client, make):
    strategy, _ = drafted_strategy(make)
    url = f"/strategien/{strategy.slug}/handlungsrahmen.pdf"
    job_page = request_job(client, url)
    app.config["PDF_RENDER_TIMEOUT"] = 0.001  # the worker's render is stopped at once
    work_off(app)
    app.config["PDF_RENDER_TIMEOUT"] = 900
    assert db.session.scalar(db.select(ExportJob.state)) == "failed"
    html = client.get(job_page).get_data(as_text=True)
    assert "Das PDF konnte nicht erstellt werden" in html and 'http-equiv="refresh"' not in html
    assert f'href="{url}?format=a3"' in html
    assert request_job(client, url) != job_page  # trying again is a new job


def test_the_job_lifecycle_of_a_signed_in_reader_is_in_the_audit_log(app, client, auth, make):
    strategy, field = drafted_strategy(make)
    coordinator = make.user(role=Role.COORDINATOR, strategy=strategy, fields=(field,))
    auth.login(coordinator)
    request_job(client, f"/strategien/{strategy.slug}/handlungsrahmen.pdf")
    work_off(app)
    job = db.session.scalar(db.select(ExportJob))
    events = db.session.scalars(db.select(AuditEvent).filter_by(object_type="export_job")
                                .order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor_id, e.object_id) for e in events] == [
        (AuditAction.EXPORT_REQUESTED.value, coordinator.id, str(job.id)),
        (AuditAction.EXPORT_RENDERED.value, coordinator.id, str(job.id))]
    assert events[1].detail == {"document": "framework", "strategy_id": strategy.id, "subject": "draft",
                                "paper": "a3", "attempt": 1, "pages": job.page_count}
    auth.logout()
    request_job(app.test_client(), f"/strategien/{strategy.slug}/handlungsrahmen.pdf")
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)
                             .filter_by(object_type="export_job")) == 2  # anonymous jobs stay out of the log


def test_edition_and_change_report_go_through_the_queue_in_the_readers_language(app, client, make):
    strategy, field = drafted_strategy(make)
    edition = make.edition(strategy, title="Fassung Juni 2026")
    client.get("/sprache/en?next=/")
    base = f"/strategien/{strategy.slug}/fassungen/{edition.id}"
    edition_page = request_job(client, f"{base}/handlungsrahmen.pdf")
    changes_page = request_job(client, f"{base}/aenderungen.pdf")
    assert "PDF is being created" in client.get(edition_page).get_data(as_text=True)
    work_off(app)
    assert "Fassung Juni 2026" in text_of(follow(client, edition_page))
    assert "Changes since" in text_of(follow(client, changes_page))


def test_finished_jobs_are_forgotten_after_a_week_and_the_queue_keeps_no_done_rows(app, client, make, clock):
    app.config["CLOCK"] = clock
    strategy, field = drafted_strategy(make)
    request_job(client, f"/strategien/{strategy.slug}/handlungsrahmen.pdf")
    work_off(app)
    assert db.session.scalar(db.text("SELECT count(*) FROM procrastinate_jobs")) == 0  # deleted once succeeded
    clock.advance(days=8)
    field.vision = "Noch einmal geändert."
    db.session.commit()
    make.approve(field)
    request_job(client, f"/strategien/{strategy.slug}/handlungsrahmen.pdf")
    work_off(app)
    assert db.session.scalars(db.select(ExportJob.state)).all() == ["done"]  # only the new one is left


def test_autogenerate_leaves_the_queues_own_tables_alone(app):
    """`flask db migrate` on a database with the queue would otherwise propose to drop Procrastinate's tables."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from strategy.models.search_structures import is_engine_structure

    def ours(name, type_, parents):
        return not is_engine_structure(name, type_, parents)

    with db.engine.connect() as conn:
        unfiltered = compare_metadata(MigrationContext.configure(conn, opts={"include_name": ours}), db.metadata)
        filtered = compare_metadata(MigrationContext.configure(conn, opts={"include_name": lambda *a: (
            ours(*a) and not queue.is_queue_structure(*a))}), db.metadata)
    assert {op[1].name for op in unfiltered if op[0] == "remove_table"} >= {"procrastinate_jobs", "procrastinate_workers"}
    assert [op for op in filtered if op[0] == "remove_table"] == []

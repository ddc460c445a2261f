"""The export queue across processes, as on several hosts: two app processes (gunicorn) and two
`flask export-worker` processes on one PostgreSQL database. A worker killed with SIGKILL in the middle of a
job loses nothing (the other takes the job over), and the same edition always gives the same text."""
from __future__ import annotations

import io
import time

import pytest
from pypdf import PdfReader

from strategy.exports import services
from strategy.extensions import db
from strategy.models import ExportCache, ExportJob, Visibility
from tests.support.cluster import Cluster, get, queue_cluster
from tests.support.factories import Factory


def populate():
    """A public strategy with two approved fields and an edition of them; one field changed since."""
    make = Factory()
    strategy = make.strategy(fields=2, visibility=Visibility.PUBLIC, slug="queue-stadt")
    first, second = make.field(strategy, 1), make.field(strategy, 2)
    first.gaps = "Ein „Kümmerer*innen“-Netzwerk fehlt noch."
    second.vision = "Alle Neuzugewanderten finden in drei Monaten eine Beratung."
    db.session.commit()
    make.approve(first, second)
    edition = make.edition(strategy, title="Fassung Juni 2026")
    first.gaps = "Später geändert."
    db.session.commit()
    make.approve(first)
    return strategy.slug, edition.id


@pytest.fixture
def cluster(request, tmp_path, monkeypatch):
    with queue_cluster(request, tmp_path, monkeypatch, populate) as processes:
        processes.slug, processes.edition_id = processes.data
        yield processes


def start(cluster: Cluster, apps: int = 2, workers: int = 2):
    started = [cluster.start_app(f"app-{n}") for n in range(1, apps + 1)], \
        [cluster.start_worker(f"worker-{n}") for n in range(1, workers + 1)]
    for app in started[0]:
        cluster.wait_until_serving(app)
    return started


def job_row(cluster: Cluster) -> ExportJob | None:
    with cluster.app.app_context():
        job = db.session.scalar(db.select(ExportJob).order_by(ExportJob.id.desc()).limit(1))
        if job is not None:
            db.session.expunge(job)
        db.session.remove()
        return job


def wait_for(condition, timeout: float = 300, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def follow_to_pdf(app_url: str, job_page: str) -> str:
    """Reload the job's page (as its meta refresh does) until it sends the reader on; return the PDF's text."""
    def moved():
        response = get(app_url + job_page)
        assert response.status in (200, 303), response.status
        return response if response.status == 303 else None

    location = wait_for(moved, what="the job to finish").headers["Location"]
    pdf = get(app_url + location)
    assert pdf.status == 200 and pdf.headers["Content-Type"] == "application/pdf", pdf.status
    assert pdf.headers["X-Export-Cache"] == "hit"
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.body)).pages)


def request_export(app_url: str, path: str) -> str:
    response = get(app_url + path)
    assert response.status == 303, (response.status, response.body[:500])
    return response.headers["Location"]


def test_a_worker_killed_mid_job_loses_no_job_another_worker_takes_it_over(cluster):
    (web_1, web_2), workers = start(cluster)
    edition_pdf = f"/strategien/{cluster.slug}/fassungen/{cluster.edition_id}/handlungsrahmen.pdf"
    job_page = request_export(web_1.url, edition_pdf)
    running = wait_for(lambda: (job := job_row(cluster)) and job.state == "running" and job,
                       what="a worker to take the job")
    holder = next(w for w in workers if running.worker.endswith(f":{w.pid}"))
    survivor = next(w for w in workers if w is not holder)
    assert "Wird erstellt" in get(web_2.url + job_page).body.decode()

    holder.kill()  # SIGKILL, renderers included: no clean-up, no goodbye to the queue
    cluster.hold.touch()
    text = follow_to_pdf(web_2.url, job_page)  # the other app process serves it from the shared cache

    assert "Fassung Juni 2026" in text and "„Kümmerer*innen“-Netzwerk" in text and "Später geändert" not in text
    done = job_row(cluster)
    assert (done.state, done.attempts) == ("done", 2)
    assert done.worker.endswith(f":{survivor.pid}")
    assert survivor.popen.poll() is None
    assert "was stalled on a dead worker: queued again" in "".join(w.log.read_text() for w in workers)


def test_the_same_edition_always_gives_the_same_text(cluster):
    cluster.hold.touch()
    (web_1, web_2), _ = start(cluster)
    edition_pdf = f"/strategien/{cluster.slug}/fassungen/{cluster.edition_id}/handlungsrahmen.pdf"
    first = follow_to_pdf(web_1.url, request_export(web_1.url, edition_pdf))
    with cluster.app.app_context():
        db.session.execute(db.delete(ExportCache))
        db.session.commit()
        db.session.remove()
    second = follow_to_pdf(web_2.url, request_export(web_2.url, edition_pdf))
    assert second == first and "Fassung Juni 2026" in first
    with cluster.app.app_context():
        jobs = db.session.scalars(db.select(ExportJob).order_by(ExportJob.id)).all()
        assert [job.state for job in jobs] == ["done", "done"]
        # and what the web process would render inline is the same text again
        from flask_login import AnonymousUserMixin

        from strategy.models import Edition

        with cluster.app.test_request_context():
            document = services.edition_document(AnonymousUserMixin(),
                                                 db.session.get(Edition, cluster.edition_id))
            inline = services.render(document)
        db.session.remove()
    assert "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(inline.pdf)).pages) == first

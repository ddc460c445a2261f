"""The queued export in a real Chromium, against a gunicorn app process and a `flask export-worker` on
PostgreSQL: a coordinator asks for the framework, sees "PDF wird erstellt …" (with JavaScript: progress
announced in place; without: the page reloads itself), then gets the PDF of exactly what they may read."""
from __future__ import annotations

import io
import re
import shutil

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from strategy.extensions import db
from strategy.models import Role, Visibility
from tests.support.browser import assert_accessible, log_in
from tests.support.cluster import queue_cluster
from tests.support.factories import PASSWORD, Factory

pytestmark = pytest.mark.browser

# Where the journey leaves its screenshot for people to look at (the test's own copy is in tmp_path).
SCREENSHOT = "/tmp/export-job-wird-erstellt.png"


def populate():
    make = Factory()
    strategy = make.strategy(fields=2, visibility=Visibility.PARTNERS, slug="queue-browser",
                             title="Gesamtstrategie Neuzuwanderung (Test)")
    field = make.field(strategy, 1)
    field.vision = "Freigegebene Vision für alle Partner."
    db.session.commit()
    make.approve(field)
    field.vision = "Entwurf der Vision, noch in Arbeit."
    db.session.commit()
    coordinator = make.user(role=Role.COORDINATOR, strategy=strategy, fields=(field,))
    return strategy.slug, coordinator.email


@pytest.fixture
def cluster(request, tmp_path, monkeypatch):
    with queue_cluster(request, tmp_path, monkeypatch, populate) as processes:
        web = processes.start_app("app")
        processes.start_worker("worker")
        processes.wait_until_serving(web)
        processes.url = web.url
        yield processes


def pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def test_a_coordinator_sees_wird_erstellt_and_then_gets_the_pdf(cluster, page, tmp_path):
    slug, email = cluster.data
    log_in(page, cluster.url, email, PASSWORD)
    page.goto(f"{cluster.url}/strategien/{slug}")
    page.get_by_role("link", name="A3 quer (PDF)").click()

    expect(page).to_have_url(re.compile(r"/exporte/[\w-]{43}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("PDF wird erstellt …")
    status = page.get_by_role("status").filter(has_text=re.compile("Warteschlange|Wird erstellt"))
    expect(status).to_have_attribute("aria-live", "polite")
    expect(status).to_contain_text("Wird erstellt", timeout=120_000)  # the worker took it (held: see hold)
    expect(page.locator("progress")).to_be_visible()
    assert_accessible(page)
    page.screenshot(path=str(tmp_path / "wird-erstellt.png"), full_page=True)
    shutil.copyfile(tmp_path / "wird-erstellt.png", SCREENSHOT)

    with page.expect_response(lambda response: response.url.endswith("handlungsrahmen.pdf?format=a3"),
                              timeout=300_000) as answer:
        cluster.hold.touch()  # the worker renders now; the page's script opens the PDF when it is done
    response = answer.value
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["x-export-cache"] == "hit"
    again = page.context.request.get(response.url)
    text = pdf_text(again.body())
    assert "Entwurf der Vision, noch in Arbeit." in text  # a coordinator reads the live draft


def test_without_javascript_the_page_reloads_itself_until_the_pdf_is_there(cluster, browser):
    slug, _ = cluster.data
    context = browser.new_context(locale="de-DE", java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, cluster.url, _partner(cluster, slug), PASSWORD)
        page.goto(f"{cluster.url}/strategien/{slug}/handlungsrahmen.pdf")
        expect(page.get_by_role("heading", level=1)).to_have_text("PDF wird erstellt …")
        expect(page.get_by_role("link", name="Stand neu laden")).to_be_visible()
        with page.expect_response(lambda response: response.url.endswith("handlungsrahmen.pdf?format=a3"),
                                  timeout=300_000) as answer:
            cluster.hold.touch()
        assert answer.value.status == 200 and answer.value.headers["content-type"] == "application/pdf"
        text = pdf_text(page.context.request.get(answer.value.url).body())
        assert "Freigegebene Vision für alle Partner." in text and "Entwurf der Vision" not in text
    finally:
        context.close()


def _partner(cluster, slug: str) -> str:
    """A partner of the strategy (made now, on the cluster's database)."""
    from strategy.models import Strategy

    with cluster.app.app_context():
        strategy = db.session.scalar(db.select(Strategy).filter_by(slug=slug))
        email = Factory().user(role=Role.PARTNER, strategy=strategy).email
        db.session.remove()
    return email

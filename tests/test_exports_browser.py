"""The export journeys in a real Chromium: steering opens the framework and a dossier from the pages (the
browser's PDF viewer shows them), a partner gets the approved state."""
from __future__ import annotations

import io
import json
import re
import subprocess

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from strategy import PROJECT_ROOT
from tests.support.browser import log_in

pytestmark = pytest.mark.browser

OVERVIEW = "/strategien/dortmund-neuzuwanderung"
GOALS = json.loads((PROJECT_ROOT / "strategy" / "demo_data" / "zielsystem-dortmund.json").read_text())["goals"]


def squash(text: str) -> str:
    return re.sub(r"[\s\-‐­]+", "", text)


def open_pdf(page, link_name: str) -> bytes:
    """Follow an export link as a reader would; the PDF is what the browser received and now shows."""
    with page.expect_response(lambda response: ".pdf" in response.url, timeout=120_000) as answer:
        page.get_by_role("link", name=link_name).click()
    response = answer.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert re.search(r'filename="[^"]+\.pdf"', response.headers["content-disposition"])
    expect(page).to_have_url(re.compile(r"\.pdf(\?.*)?$"))
    # The viewer takes the response's body for itself; the same session asks again for the bytes (the
    # second answer comes from the export cache).
    again = page.context.request.get(response.url)
    assert again.status == 200 and again.headers["content-type"] == "application/pdf"
    return again.body()


def assert_renders(pdf: bytes, page_number: int, tmp_path) -> None:
    path = tmp_path / "export.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", str(page_number), "-l", str(page_number), "-singlefile",
                    str(path), str(tmp_path / "page")], check=True, timeout=60)
    png = (tmp_path / "page.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000


def test_steering_opens_the_framework_and_a_dossier_from_the_pages(live_server, page, tmp_path):
    log_in(page, live_server.url, "lenkung@demo.dortmund.example")
    page.goto(live_server.url + OVERVIEW)
    framework_pdf = open_pdf(page, "A3 quer (PDF)")
    framework = PdfReader(io.BytesIO(framework_pdf))
    text = "\n".join(p.extract_text() for p in framework.pages)
    total = len(framework.pages)
    assert total > 3
    assert "Entwurf – Stand" in text  # steering reads the live draft
    for goal in GOALS:
        assert squash(goal["title"]) in squash(text), goal["title"]
    assert f"Seite 2 von {total}" in framework.pages[1].extract_text()
    assert f"Seite {total} von {total}" in framework.pages[-1].extract_text()
    assert_renders(framework_pdf, 3, tmp_path)

    page.goto(live_server.url + OVERVIEW + "/handlungsfelder/4")
    title = page.get_by_role("heading", level=1).inner_text()
    dossier_pdf = open_pdf(page, "Dossier dieses Handlungsfelds als PDF")
    dossier = PdfReader(io.BytesIO(dossier_pdf))
    dossier_text = "\n".join(p.extract_text() for p in dossier.pages)
    assert squash(title.split(". ", 1)[-1]) in squash(dossier_text)
    assert "Handlungsfeld 4" in dossier_text
    assert_renders(dossier_pdf, 1, tmp_path)


def test_a_partner_opens_the_framework_in_its_approved_state(live_server, page):
    log_in(page, live_server.url, "partner@demo.dortmund.example")
    page.goto(live_server.url + OVERVIEW)
    framework = PdfReader(io.BytesIO(open_pdf(page, "A3 quer (PDF)")))
    text = "\n".join(p.extract_text() for p in framework.pages)
    assert "Freigegebener Stand" in text
    assert "Entwurf – Stand" not in text

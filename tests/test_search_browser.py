"""Browser journey (issue #15): a coordinator searches from the header, follows a hit to the field and its
column, and finds the word marked there."""
from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import assert_accessible, log_in

pytestmark = pytest.mark.browser


def test_a_coordinator_searches_follows_a_hit_and_finds_the_word_marked(live_server, page):
    log_in(page, live_server.url, "hf4@demo.dortmund.example")
    search_box = page.get_by_role("search").get_by_label("Suchbegriff")
    search_box.fill("Multiplikatoren")
    search_box.press("Enter")

    expect(page.get_by_role("heading", level=2, name=re.compile("Treffer für „Multiplikatoren“"))).to_be_visible()
    hit = page.locator(".search-hit").filter(has_text="Vision").first
    expect(hit.locator("mark").first).to_have_text("Multiplikator")
    assert_accessible(page)
    if os.environ.get("SEARCH_SCREENSHOT"):
        page.screenshot(path=os.environ["SEARCH_SCREENSHOT"], full_page=True)

    hit.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/handlungsfelder/4\?markiert=Multiplikator#col-vision$"))
    marked = page.locator("mark.search-mark--first")
    if os.environ.get("SEARCH_SCREENSHOT"):
        page.screenshot(path=os.environ["SEARCH_SCREENSHOT"].replace(".png", "-field.png"))
    expect(marked).to_have_text("Multiplikator")
    expect(marked).to_be_in_viewport()
    # The mark is in the Vision column, the place the hit named.
    assert page.evaluate("""() => {
        const heading = document.getElementById('col-vision');
        const mark = document.querySelector('mark.search-mark--first');
        return !!(heading.compareDocumentPosition(mark) & Node.DOCUMENT_POSITION_FOLLOWING);
    }""")


def test_anonymous_readers_search_from_a_status_page_and_find_approved_content_only(live_server, page):
    page.goto(live_server.url + "/strategien/dortmund-neuzuwanderung/status")
    search_box = page.get_by_role("search").get_by_label("Suchbegriff")
    search_box.fill("Multiplikatoren")
    search_box.press("Enter")
    expect(page.locator(".search-hit").first).to_contain_text("freigegebener Stand")
    expect(page.locator(".search-hit", has_text="Entwurf")).to_have_count(0)

"""User journeys in a real Chromium."""
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_visitor_reads_the_overview_follows_field_4_reads_its_vision_and_goes_back(live_server, page):
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Gesamtstrategie Neuzuwanderung").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gesamtstrategie Neuzuwanderung")
    expect(page.locator(".field-card")).to_have_count(13)

    page.get_by_role("link", name=re.compile("Konsens für Partizipation")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Konsens für Partizipation")
    vision = page.locator("section.cell", has=page.get_by_role("heading", name=re.compile("^Vision")))
    expect(vision).to_contain_text("Dortmund lebt Diversität.")

    page.get_by_role("navigation", name="Brotkrumen-Navigation").get_by_role(
        "link", name="Gesamtstrategie Neuzuwanderung").click()
    expect(page).to_have_url(live_server.url + "/strategien/dortmund-neuzuwanderung/")
    expect(page.locator(".field-card")).to_have_count(13)


def test_visitor_switches_to_english_and_back(live_server, page):
    page.goto(live_server.url + "/strategien/dortmund-neuzuwanderung/handlungsfelder/4")
    page.get_by_role("button", name="EN").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Current state")).to_be_visible()
    page.get_by_role("button", name="DE").click()
    expect(page.get_by_role("heading", name="Ausgangslage / IST")).to_be_visible()

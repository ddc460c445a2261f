"""What an admin reads in the audit log, and the password form's token box, in a real Chromium."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from strategy.demo import DEMO_PASSWORD
from tests.test_auth_browser import log_in

pytestmark = pytest.mark.browser


def test_the_audit_log_reads_as_words_and_names(live_server, page):
    log_in(page, live_server.url, "admin@demo.dortmund.example", DEMO_PASSWORD)
    page.goto(live_server.url + "/verwaltung/protokoll")
    first = page.locator("table.audit-table tbody tr").first
    expect(first.get_by_role("cell", name="Anmeldung", exact=True)).to_be_visible()
    expect(first.get_by_role("link", name="Demo-Administration")).to_be_visible()
    expect(page.locator("table.audit-table tbody")).not_to_contain_text(re.compile(r"(Konto|Strategie|Handlungsfeld) \d"))


def test_the_password_form_offers_to_revoke_the_api_keys_ticked(live_server, page):
    log_in(page, live_server.url, "lenkung@demo.dortmund.example", DEMO_PASSWORD)
    page.goto(live_server.url + "/konto")
    expect(page.get_by_label("Auch alle API-Schlüssel dieses Kontos widerrufen")).to_be_checked()

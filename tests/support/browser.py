"""Steps every browser journey shares."""
from __future__ import annotations

from playwright.sync_api import expect

from strategy.demo import DEMO_PASSWORD


def log_in(page, base: str, email: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the form and wait until the page says so (the header offers to log out)."""
    page.goto(base + "/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort", exact=True).fill(password)
    page.locator("main").get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()

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


WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
              "resultTypes": ["violations"]}


def assert_accessible(page) -> None:
    """axe-core (bundled with axe-playwright-python, runs offline) finds no WCAG 2.1 A/AA violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=WCAG_21_AA)
    problems = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in results.response["violations"]]
    assert problems == [], f"{page.url}: {problems}"

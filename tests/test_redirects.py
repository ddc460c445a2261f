"""Redirects to a user-given target (`next`): same-site paths only, anything else goes to the start page.

Every test runs on SQLite and PostgreSQL (the `client` fixture).
"""
from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.support.factories import PASSWORD

UNSAFE = [
    "/\r\nX",                      # CR/LF: once a 500 (a Location header cannot hold them)
    "/\nSet-Cookie: session=x",
    "/strategien/\x00",
    "/\t/evil.example",            # browsers drop the tab: //evil.example
    "/\\evil.example",             # browsers read the backslash as a slash: //evil.example
    "//evil.example/",
    "https://evil.example/",
    "javascript:alert(1)",
    "strategien/",                 # not a path from the root
]
SAFE = ["/strategien/", "/strategien/dortmund/handlungsfelder/2?ansicht=kurz#schritte", "/konto"]


def _next(target: str) -> str:
    return quote(target, safe="")


@pytest.mark.parametrize("target", UNSAFE)
def test_the_language_switch_sends_an_unsafe_next_to_the_start_page(client, target):
    for response in (client.get(f"/sprache/de?next={_next(target)}"),
                     client.post("/sprache/de", data={"next": target})):
        assert response.status_code == 302
        assert response.headers["Location"] == "/"


def _log_in_with_next(client, make, target: str):
    user = make.user()
    return client.post(f"/anmelden?next={_next(target)}", data={"email": user.email, "password": PASSWORD})


@pytest.mark.parametrize("target", UNSAFE)
def test_logging_in_with_an_unsafe_next_lands_on_the_start_page(client, make, target):
    response = _log_in_with_next(client, make, target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    # Already signed in: the login page sends on at once, through the same check.
    again = client.get(f"/anmelden?next={_next(target)}")
    assert again.status_code == 302
    assert again.headers["Location"] == "/"


@pytest.mark.parametrize("target", SAFE)
def test_a_same_site_next_is_followed(client, make, target):
    response = _log_in_with_next(client, make, target)
    assert response.headers["Location"] == target
    assert client.get(f"/sprache/en?next={_next(target)}").headers["Location"] == target

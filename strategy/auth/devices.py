"""The browsers an account uses: readable names for the session list."""
from __future__ import annotations

from flask_babel import gettext as _

_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chromium/", "Chromium"),
             ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("Linux", "Linux"))


def describe_device(user_agent: str) -> str:
    """A readable "Firefox auf Windows" for the session list; the raw string when nothing is recognised."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    if browser and system:
        return _("%(browser)s auf %(system)s", browser=browser, system=system)
    return browser or system or user_agent[:80] or _("unbekanntes Gerät")

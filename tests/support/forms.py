"""Reading forms out of pages the way a browser would: for tests that post a page's form back."""
from __future__ import annotations

import re
from html.parser import HTMLParser

from tests.support.factories import PASSWORD


class FormParser(HTMLParser):
    """The POST forms of a page: action and the (name, value) pairs a browser would send unchanged."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._textarea: str | None = None
        self._select: str | None = None
        self._select_value: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"action": a.get("action") or "", "method": (a.get("method") or "get").lower(), "data": [],
                          "names": set()}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag in ("input", "textarea", "select", "button") and a.get("name"):
            self._form["names"].add(a["name"])
        if self._form is None:
            return
        if tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._form["data"].append((a["name"], a.get("value") or ("y" if kind == "checkbox" else "")))
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form["data"].append((a["name"], ""))
        elif tag == "select" and a.get("name"):
            self._select, self._select_value = a["name"], None
        elif tag == "option" and self._select is not None:
            if self._select_value is None or "selected" in a:
                self._select_value = a.get("value", "")

    def handle_data(self, data):
        if self._textarea is not None and self._form is not None:
            name, value = self._form["data"][-1]
            self._form["data"][-1] = (name, value + data)

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None and self._form is not None:
            name, value = self._form["data"][-1]
            if value.startswith("\r\n") or value.startswith("\n"):  # HTML drops the newline after <textarea>
                value = value[2:] if value.startswith("\r\n") else value[1:]
            self._form["data"][-1] = (name, value)
            self._textarea = None
        elif tag == "select" and self._select is not None and self._form is not None:
            self._form["data"].append((self._select, self._select_value or ""))
            self._select = None
        elif tag == "form":
            self._form = None


def post_forms(html: str) -> list[dict]:
    parser = FormParser()
    parser.feed(html)
    return [form for form in parser.forms if form["method"] == "post"]


def csrf_token_of(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client, user, password: str = PASSWORD):
    """Log in through the real form, with its CSRF token (works with CSRF on or off)."""
    page = client.get("/anmelden").get_data(as_text=True)
    data = {"email": user.email, "password": password}
    if 'name="csrf_token"' in page:
        data["csrf_token"] = csrf_token_of(page)
    response = client.post("/anmelden", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response

"""Conditional GET for pages and API answers: validators first, rendering only when the copy is stale."""
from __future__ import annotations

import threading
from typing import Callable

from cachetools import LRUCache
from flask import Response, request, session
from flask_login import current_user
from werkzeug.sansio.http import is_resource_modified

from .services import Validators


def is_current(validators: Validators) -> bool:
    """Whether the client's cached copy matches (If-None-Match wins over If-Modified-Since, RFC 9110).

    Werkzeug's environ wrapper would also read If-Match and answer a mismatch as "not modified" (304); a
    precondition on a read-only page is no revalidation, so only the two revalidation headers are passed.
    """
    return not is_resource_modified(
        http_if_none_match=request.headers.get("If-None-Match"),
        http_if_modified_since=request.headers.get("If-Modified-Since"),
        etag=validators.etag,
        last_modified=validators.last_modified,
    )


def not_modified(validators: Validators, *, private: bool) -> Response:
    return stamp(Response(status=304), validators, private=private)


def stamp(response: Response, validators: Validators, *, private: bool) -> Response:
    """Validators and caching rules: revalidate every time; shared caches only for what carries no viewer."""
    response.set_etag(validators.etag)
    response.last_modified = validators.last_modified
    response.cache_control.no_cache = True
    if private:
        response.cache_control.private = True
    else:
        response.cache_control.public = True
    # The language (and for pages the login) comes from the session cookie.
    response.vary.add("Cookie")
    return response


def viewer_is_private() -> bool:
    """A page shows something of its viewer (name, logout form, flashed messages): keep it out of shared caches."""
    return bool(current_user.is_authenticated or session.get("_flashes"))


class RenderCache:
    """Rendered pages for anonymous readers, per process, keyed by their ETag.

    The ETag already names everything the page depends on (content, settings, day, language, audience,
    path), so an entry never goes stale: a change makes a new key and old keys fall out at the end of the
    LRU. Pages that show something of their viewer are never put here.
    """

    def __init__(self, size: int = 256):
        self._pages: LRUCache[str, str] = LRUCache(maxsize=size)
        # cachetools caches are not thread-safe; gunicorn threads share this one. Rendering happens outside
        # the lock: two threads may render the same page once each, which is cheaper than serialising renders.
        self._lock = threading.Lock()

    def get_or_render(self, key: str, render: Callable[[], str]) -> str:
        with self._lock:
            page = self._pages.get(key)
        if page is None:
            page = render()
            with self._lock:
                self._pages[key] = page
        return page

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()


rendered_pages = RenderCache()

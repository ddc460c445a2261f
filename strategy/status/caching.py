"""Conditional GET for pages and API answers: validators first, rendering only when the copy is stale."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Callable

import sqlalchemy as sa
from cachetools import LRUCache
from flask import Flask, Response, current_app, request, session
from flask_login import current_user
from werkzeug.sansio.http import is_resource_modified

from ..days import local_today
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


# --- anonymous answers, held for a moment ---------------------------------------------------------

@dataclass(frozen=True)
class _Answer:
    expires: float
    etag: str
    last_modified: datetime | None
    headers: tuple[tuple[str, str], ...]  # the validators and caching rules, as the full answer gave them
    body: bytes | None  # None when only a 304 was seen so far


class AnonymousAnswers:
    """What a public status page answered an anonymous reader, held for `STATUS_ANONYMOUS_SECONDS` (1 s).

    Every anonymous reader is the same reader (audience "public", no name, no CSRF token in the page), so the
    answer one of them got a moment ago is the answer the next one gets: within that moment a revalidation
    (304) or a repeated page costs no database round trip, no permission query and no rendering. Any commit in
    this process empties it (so a change made here shows at once); a change made on another host shows here
    after at most that moment, as with any shared cache in front of the app. Signed-in readers, readers with
    a message waiting (flash) and non-GET requests never use it."""

    def __init__(self, size: int = 512):
        self._answers: LRUCache[tuple, _Answer] = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def get(self, key: tuple) -> _Answer | None:
        with self._lock:
            answer = self._answers.get(key)
        return answer if answer is not None and answer.expires > time.monotonic() else None

    def put(self, key: tuple, answer: _Answer) -> None:
        with self._lock:
            self._answers[key] = answer

    def clear(self, *_args) -> None:
        with self._lock:
            self._answers.clear()


def anonymous_answers(app: Flask) -> AnonymousAnswers:
    answers = app.extensions.get("status_anonymous_answers")
    if answers is None:
        answers = app.extensions["status_anonymous_answers"] = AnonymousAnswers()
    return answers


def _forget_on_commit(session_: sa.orm.Session) -> None:
    from flask import has_app_context

    if has_app_context():
        answers = current_app.extensions.get("status_anonymous_answers")
        if answers is not None:
            answers.clear()


sa.event.listen(sa.orm.Session, "after_commit", _forget_on_commit)


def _is_anonymous_get() -> bool:
    return request.method == "GET" and "_user_id" not in session and not session.get("_flashes")


def answered_from_memory(view: Callable) -> Callable:
    """For a public, conditionally answered view: serve an anonymous reader the answer held for a moment
    (see AnonymousAnswers), else call the view and hold a public answer with validators."""

    @wraps(view)
    def wrapper(**kwargs):
        seconds = current_app.config.get("STATUS_ANONYMOUS_SECONDS", 1.0)
        if not seconds or not _is_anonymous_get():
            return view(**kwargs)
        answers = anonymous_answers(current_app)
        key = (request.path, request.query_string, session.get("lang"), local_today())
        held = answers.get(key)
        if held is not None:
            if not is_resource_modified(http_if_none_match=request.headers.get("If-None-Match"),
                                        http_if_modified_since=request.headers.get("If-Modified-Since"),
                                        etag=held.etag, last_modified=held.last_modified):
                return Response(status=304, headers=[(k, v) for k, v in held.headers if k != "Content-Type"])
            if held.body is not None:
                return Response(held.body, headers=held.headers)
        response = current_app.make_response(view(**kwargs))
        etag, _weak = response.get_etag()
        if (response.status_code in (200, 304) and etag and response.cache_control.public
                and not response.cache_control.private):
            headers = tuple((name, value) for name, value in response.headers
                            if name in ("ETag", "Last-Modified", "Cache-Control", "Vary", "Content-Type"))
            body = response.get_data() if response.status_code == 200 and not response.is_streamed else None
            if body is None and held is not None and held.etag == etag:
                body = held.body
            answers.put(key, _Answer(time.monotonic() + float(seconds), etag, response.last_modified, headers, body))
        return response

    return wrapper

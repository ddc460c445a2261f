"""HTML → PDF with WeasyPrint, safely: no file or network access, in separate processes with limits.

No view logic here: callers hand in a finished HTML string and the in-memory assets it may use.

Safety
    The URL fetcher serves only the assets handed in (the app's own print stylesheet, read into memory)
    under a base URL that is not a file path; file:, http(s):, data: and everything else is refused, so
    user text can neither read local files nor make the server send requests.
Limits
    Rendering runs in warm worker processes (a small pool per app process), each with an address-space
    limit (RLIMIT_AS) and a lower CPU priority; the caller waits at most `timeout` seconds, then the worker
    is killed and replaced. A huge document therefore costs one worker, never the web process, and the
    web process's threads keep serving pages while a PDF renders.
    Workers start through multiprocessing's forkserver, which imports the parent's main module again in
    the worker: scripts that render PDFs need the usual `if __name__ == "__main__":` guard (gunicorn,
    flask and pytest have it).
"""
from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
import time
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

# Everything the document may load lives under this made-up origin (".invalid" never resolves).
BASE_URL = "https://export.invalid/"
ASSET_PREFIX = BASE_URL + "assets/"

DEFAULT_TIMEOUT = 120.0
DEFAULT_MEMORY_MB = 2000  # address space; a 130-field framework peaks at about 1.2 GB resident
DEFAULT_WORKERS = 2
PDF_VARIANT = "pdf/ua-1"


class RenderError(Exception):
    """The PDF could not be made (the document is broken, too big, or took too long)."""


class RenderTimeout(RenderError):
    pass


@dataclass
class RenderJob:
    html: str
    assets: dict[str, bytes] = dc_field(default_factory=dict)  # name → bytes, served at ASSET_PREFIX + name
    pdf_variant: str | None = PDF_VARIANT


@dataclass
class RenderResult:
    pdf: bytes
    page_count: int
    seconds: float
    cpu_seconds: float  # the renderer's own CPU time: comparable on a busy machine, unlike `seconds`
    peak_rss_mb: float  # the worker's peak resident memory so far
    # Where each anchor (element id) landed: id → page number (1-based); for parallel assembly.
    anchors: dict[str, int] = dc_field(default_factory=dict)


# --- inside the worker ---------------------------------------------------------------------------

def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class AssetFetcher(URLFetcher):
        """Serves only the job's in-memory assets; refuses every other URL (no file, network or data)."""

        def __init__(self, assets: dict[str, bytes]):
            super().__init__(allowed_protocols=(), allow_redirects=False, timeout=1)
            self._assets = assets

        def fetch(self, url, headers=None):
            if url.startswith(ASSET_PREFIX):
                name = url[len(ASSET_PREFIX):].split("?", 1)[0].split("#", 1)[0]
                if name in self._assets:
                    mime = "text/css" if name.endswith(".css") else "image/svg+xml" if name.endswith(".svg") \
                        else "application/octet-stream"
                    return URLFetcherResponse(url, self._assets[name], {"Content-Type": mime})
            raise ValueError(f"refused: {url[:80]}")

        def open(self, url, data=None, timeout=None):  # never let urllib's opener run
            raise ValueError("refused")

    return AssetFetcher


def render_in_this_process(job: RenderJob) -> RenderResult:
    """Render a job here and now (the workers call this; tests and the bench may too)."""
    import resource

    from weasyprint import HTML

    started, cpu_started = time.perf_counter(), time.process_time()
    fetcher = _fetcher_class()(job.assets)
    document = HTML(string=job.html, base_url=BASE_URL, url_fetcher=fetcher).render(
        pdf_variant=job.pdf_variant, pdf_tags=bool(job.pdf_variant)
    )
    anchors: dict[str, int] = {}
    for number, page in enumerate(document.pages, start=1):
        for name in page.anchors:
            anchors.setdefault(name, number)
    pdf = document.write_pdf(pdf_variant=job.pdf_variant, pdf_tags=bool(job.pdf_variant))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return RenderResult(pdf, len(document.pages), time.perf_counter() - started, time.process_time() - cpu_started,
                        peak, anchors)


# Loads fonts, Pango and the German hyphenation dictionary (about a second) before the first real job.
_WARM_UP = RenderJob('<!doctype html><html lang="de"><title>w</title><p style="width:20mm;hyphens:auto">'
                     "Aufwärmen „Grüße“ <b>Verwaltungsvereinbarung</b> <i>Neuzuwander*innen</i></p></html>")


def _worker_main(conn, memory_mb: int) -> None:
    import logging
    import resource

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        os.nice(5)  # interactive pages first
    except OSError:
        pass
    # Refused fetches are expected (user text may name any URL); they must not flood the logs.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    try:
        render_in_this_process(_WARM_UP)  # fonts and pango loaded before the first real job
    except Exception:  # the first real job will report what is wrong
        logging.getLogger(__name__).exception("renderer warm-up failed")
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(("ok", render_in_this_process(job)))
        except MemoryError:
            conn.send(("error", "memory"))
            return  # the heap may be in any state: let the pool start a fresh worker
        except Exception as error:  # a broken document: report it, keep serving
            conn.send(("error", f"{type(error).__name__}: {error}"[:500]))


# --- in the web process --------------------------------------------------------------------------

class _Worker:
    def __init__(self, context, memory_mb: int):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, memory_mb), daemon=True,
                                       name="pdf-renderer")
        self.process.start()
        child.close()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class RendererPool:
    """A few warm renderer processes; at most `size` renders at a time per web process."""

    def __init__(self, size: int = DEFAULT_WORKERS, memory_mb: int = DEFAULT_MEMORY_MB):
        self.size = size
        self.memory_mb = memory_mb
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["weasyprint", "strategy.exports.pdf"])

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.process.is_alive():
                    return worker
                worker.kill()
        return _Worker(self._context, self.memory_mb)

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)

    def warm_up(self, count: int | None = None) -> None:
        """Start workers ahead of the first request (they warm themselves up)."""
        workers = [self._take() for _ in range(count or self.size)]
        for worker in workers:
            self._give_back(worker)

    def render(self, job: RenderJob, timeout: float = DEFAULT_TIMEOUT) -> RenderResult:
        deadline = time.monotonic() + timeout
        if not self._slots.acquire(timeout=timeout):
            raise RenderTimeout("all renderers busy")
        try:
            worker = self._take()
            try:
                worker.conn.send(job)
                if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                    worker.kill()
                    raise RenderTimeout(f"rendering took longer than {timeout:.0f} s")
                status, payload = worker.conn.recv()
            except (EOFError, OSError) as error:
                worker.kill()
                raise RenderError("renderer stopped (memory limit?)") from error
            if status != "ok":
                if payload == "memory":
                    worker.kill()
                else:
                    self._give_back(worker)
                raise RenderError(payload)
            self._give_back(worker)
            return payload
        finally:
            self._slots.release()

    def render_many(self, jobs: list[RenderJob], timeout: float = DEFAULT_TIMEOUT) -> list[RenderResult]:
        """Render jobs side by side (one per worker), in order."""
        results: list[Any] = [None] * len(jobs)

        def run(index: int) -> None:
            try:
                results[index] = self.render(jobs[index], timeout)
            except RenderError as error:
                results[index] = error

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for result in results:
            if isinstance(result, RenderError):
                raise result
        return results

    def close(self) -> None:
        with self._lock:
            workers, self._idle = self._idle, []
        for worker in workers:
            worker.kill()


_pools: dict[tuple[int, int], RendererPool] = {}
_pools_lock = threading.Lock()


def pool(size: int = DEFAULT_WORKERS, memory_mb: int = DEFAULT_MEMORY_MB) -> RendererPool:
    """This process's renderer pool for the given limits (made on first use, closed at exit)."""
    key = (size, memory_mb)
    with _pools_lock:
        if key not in _pools:
            _pools[key] = RendererPool(size, memory_mb)
        return _pools[key]


@atexit.register
def _close_pools() -> None:
    for renderer in list(_pools.values()):
        renderer.close()

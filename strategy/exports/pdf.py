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
    Joining rendered pieces (AssembleJob) runs in a worker too.
    Workers start through multiprocessing's forkserver, which imports the parent's main module again in
    the worker: scripts that render PDFs need the usual `if __name__ == "__main__":` guard (gunicorn,
    flask and pytest have it).
Pieces
    WeasyPrint lays a document out on one core and holds all of it in memory. A long document is therefore
    rendered as pieces side by side (see strategy.exports.services.render) and joined here with pikepdf:
    one structure tree, the pieces' links, destinations and bookmarks, and page numbers stamped on last.
"""
from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

# Everything the document may load lives under this made-up origin (".invalid" never resolves).
BASE_URL = "https://export.invalid/"
ASSET_PREFIX = BASE_URL + "assets/"

DEFAULT_TIMEOUT = 120.0
DEFAULT_MEMORY_MB = 2000  # address space per process; a 130-field framework peaks at about 350 MB resident
DEFAULT_WORKERS = 2
PDF_VARIANT = "pdf/ua-1"
RENDERER, ASSEMBLER = "pdf-renderer", "pdf-assembler"  # the processes' roles and names, as `ps` shows them


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
class AssembleJob:
    """Join separately rendered PDFs into one tagged document and stamp page numbers on it.

    `parts` are rendered PDFs in reading order (the first one gives the catalogue: language, metadata,
    viewer preferences); `page_numbers` is an untagged PDF with as many pages as all parts together whose
    only content is the page-number line, drawn over each page as an artifact."""

    parts: list[bytes]
    page_numbers: bytes | None = None


@dataclass
class RenderResult:
    pdf: bytes
    page_count: int
    seconds: float
    cpu_seconds: float  # the renderer's own CPU time: comparable on a busy machine, unlike `seconds`
    peak_rss_mb: float  # the worker's peak resident memory so far
    # Where each anchor (element id) landed: id → page number (1-based); for parallel assembly.
    anchors: dict[str, int] = dc_field(default_factory=dict)
    # The row at the top of each page that has one (elements marked data-row-label): page → (label, whether
    # the row began on an earlier page); the joined framework names it in its running header.
    row_tops: dict[int, tuple[str, bool]] = dc_field(default_factory=dict)
    # A document made in pieces: how many were rendered now and how many came from the piece cache.
    pieces_rendered: int = 0
    pieces_reused: int = 0


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
    row_tops = _row_tops(document)
    pdf = document.write_pdf(pdf_variant=job.pdf_variant, pdf_tags=bool(job.pdf_variant))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return RenderResult(pdf, len(document.pages), time.perf_counter() - started, time.process_time() - cpu_started,
                        peak, anchors, row_tops)


def _row_tops(document) -> dict[int, tuple[str, bool]]:
    """Which labelled row stands first on each page, and whether it continues there from an earlier page.

    CSS cannot say this: a named string set by the row's head is assigned on the page where the row
    begins, so on a page that opens with the rest of a row no string tells "continued" from "new".
    The laid-out boxes do: a row split over pages has a box on each page, all for the same element.
    """
    tops: dict[int, tuple[str, bool]] = {}
    seen: set[int] = set()
    for number, page in enumerate(document.pages, start=1):
        first = True
        for box in page._page_box.descendants():
            element = getattr(box, "element", None)
            if element is None or box.element_tag != "tr" or element.get("data-row-label") is None:
                continue
            if first:
                tops[number] = (element.get("data-row-label"), id(element) in seen)
                first = False
            seen.add(id(element))
    return tops


def assemble_in_this_process(job: AssembleJob) -> RenderResult:
    """Join tagged PDFs as one document: pages, structure trees (re-keyed parent tree), named
    destinations, bookmarks; then stamp the page numbers. pypdf cannot carry structure trees across
    documents; qpdf (pikepdf) copies foreign objects with one mapping per source, so a structure element's
    page and annotation references land on the copied pages and annotations."""
    import io
    import resource

    import pikepdf

    started, cpu_started = time.perf_counter(), time.process_time()
    merged = pikepdf.Pdf.new()

    def copy(source, value):
        """`value` of `source` as an object of `merged` (qpdf copies indirect objects only)."""
        if isinstance(value, pikepdf.Array | pikepdf.Dictionary | pikepdf.Stream):
            return merged.copy_foreign(value if value.is_indirect else source.make_indirect(value))
        return value

    document_element = merged.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem,
                                                               S=pikepdf.Name.Document, K=pikepdf.Array()))
    parent_nums = pikepdf.Array()
    annotation_entries: list = []
    destinations: dict[str, pikepdf.Object] = {}
    outline_items: list = []
    version = "1.4"
    for number, part in enumerate(job.parts):
        source = pikepdf.Pdf.open(io.BytesIO(part))  # one at a time: see the end of the loop
        version = max(version, source.pdf_version)
        if number == 0:  # the first part gives the document's catalogue entries and metadata
            for key in ("/Lang", "/MarkInfo", "/ViewerPreferences", "/Metadata"):
                if key in source.Root:
                    merged.Root[key] = copy(source, source.Root[key])
            for key, value in source.docinfo.items():
                merged.docinfo[key] = copy(source, value)
        page_offset = len(merged.pages)
        with warnings.catch_warnings():  # named destinations are carried over below, not by extend()
            warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
            merged.pages.extend(source.pages)
        root = source.Root.get("/StructTreeRoot")
        if root is not None:
            mcid_arrays, annotations = {}, {}
            nums = root.ParentTree.get("/Nums", pikepdf.Array())
            for index in range(0, len(nums), 2):
                key, value = int(nums[index]), nums[index + 1]
                if isinstance(value, pikepdf.Array):
                    mcid_arrays[key] = value
                else:
                    annotations[key] = value
            for kid in root.K[0].K if root.K[0].get("/S") == "/Document" else root.K:
                if "/P" in kid:
                    del kid.P  # keeps the source's tree root from being copied along
                copied = merged.copy_foreign(kid)
                copied.P = document_element
                document_element.K.append(copied)
                _scope_table_headers(copied)
            for source_page, page in zip(source.pages, merged.pages[page_offset:], strict=True):
                key = source_page.obj.get("/StructParents")
                if key is not None:
                    new_key = len(parent_nums) // 2
                    page.obj.StructParents = new_key
                    parent_nums.extend([new_key, copy(source, mcid_arrays.get(int(key), pikepdf.Array()))])
            # annotations are keyed after all pages (as WeasyPrint does); their numbers are assigned below
            annotation_entries += [copy(source, element) for element in annotations.values()]
        names = source.Root.get("/Names")
        if names is not None and "/Dests" in names:
            for name, destination in pikepdf.NameTree(names.Dests).items():
                destinations[str(name)] = copy(source, destination)  # later parts win: see stub anchors
        with source.open_outline() as outline:
            outline_items += [_copy_outline_item(copy, source, item) for item in outline.root]
        # Copied streams still read their data from the source; give them their own bytes and let the
        # source go, so the process holds one source at a time (peak memory stays flat for long documents).
        owned = [page.obj for page in merged.pages[page_offset:]]
        if number == 0 and "/Metadata" in merged.Root:
            owned.append(merged.Root.Metadata)
        _own_stream_data(owned)
        source.close()

    if len(document_element.K):  # tagged pieces (untagged ones, PDF_VARIANT = None, get no tree)
        tree_root = merged.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot,
                                                            K=pikepdf.Array([document_element])))
        document_element.P = tree_root
        # Annotations (link OBJRs) get keys after every page; each points back with /StructParent.
        for element in annotation_entries:
            key = len(parent_nums) // 2
            parent_nums.extend([key, element])
            for kid in (element.K if isinstance(element.get("/K"), pikepdf.Array) else [element.get("/K")]):
                if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR":
                    kid.Obj.StructParent = key
        tree_root.ParentTree = merged.make_indirect(pikepdf.Dictionary(Nums=parent_nums))
        tree_root.ParentTreeNextKey = len(parent_nums) // 2
        merged.Root.StructTreeRoot = tree_root
    if destinations:
        merged.Root.Names = pikepdf.Dictionary(Dests=merged.make_indirect(pikepdf.Dictionary(
            Names=pikepdf.Array([item for name in sorted(destinations)
                                 for item in (pikepdf.String(name), destinations[name])]))))
    if outline_items:
        with merged.open_outline() as outline:
            outline.root.extend(outline_items)
    if job.page_numbers:
        _stamp(merged, pikepdf.Pdf.open(io.BytesIO(job.page_numbers)))
    out = io.BytesIO()
    # Object streams: the joined structure tree is most of the file, and compressed it is a quarter of the size.
    merged.save(out, min_version=version, deterministic_id=True,
                object_stream_mode=pikepdf.ObjectStreamMode.generate)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return RenderResult(out.getvalue(), len(merged.pages), time.perf_counter() - started,
                        time.process_time() - cpu_started, peak)


def _own_stream_data(objects) -> None:
    import pikepdf

    seen: set[tuple[int, int]] = set()
    stack = list(objects)
    while stack:
        node = stack.pop()
        if node.is_indirect:
            if node.objgen in seen:
                continue
            seen.add(node.objgen)
        if isinstance(node, pikepdf.Stream):
            node.write(node.read_raw_bytes(), filter=node.get("/Filter"), decode_parms=node.get("/DecodeParms"),
                       type_check=False)
        if isinstance(node, pikepdf.Dictionary | pikepdf.Stream):
            stack += [value for key, value in node.items() if key not in ("/Parent", "/P", "/Pg")
                      and isinstance(value, pikepdf.Dictionary | pikepdf.Array | pikepdf.Stream)]
        elif isinstance(node, pikepdf.Array):
            stack += [value for value in node if isinstance(value, pikepdf.Dictionary | pikepdf.Array | pikepdf.Stream)]


def _scope_table_headers(element) -> None:
    """Give every table header cell its /Scope (WeasyPrint tags TH without it, so assistive technology
    cannot tell which cells a header labels): a header in the table head labels its column, one in the
    body its row, the way every table in these documents is built (scope="col" / scope="row")."""
    import pikepdf

    stack = [(element, False)]
    while stack:
        node, in_head = stack.pop()
        role = node.get("/S")
        if role == "/TH":
            node.A = pikepdf.Dictionary(O=pikepdf.Name.Table,
                                        Scope=pikepdf.Name.Column if in_head else pikepdf.Name.Row)
        kids = node.get("/K")
        for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
            if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") not in ("/OBJR", "/MCR"):
                stack.append((kid, in_head or role == "/THead"))


def _copy_outline_item(copy, source, item):
    import pikepdf

    destination = item.destination
    copied = pikepdf.OutlineItem(str(item.title), copy(source, destination) if destination is not None else None)
    copied.children.extend(_copy_outline_item(copy, source, child) for child in item.children)
    return copied


def _stamp(merged, numbers) -> None:
    """Draw each page of `numbers` over the same page of `merged`, marked as an artifact (PDF/UA: content
    that is not part of the structure tree must say so)."""
    import pikepdf

    for page, stamp in zip(merged.pages, numbers.pages, strict=True):
        if not stamp.obj.get("/Contents"):
            continue
        form = merged.copy_foreign(stamp.as_form_xobject())
        name = page.add_resource(form, pikepdf.Name.XObject, prefix="PageNo")
        # The page's own content leaves its coordinate system flipped: close it in q … Q first.
        page.contents_add(merged.make_stream(b"q\n"), prepend=True)
        page.contents_add(merged.make_stream(b"\nQ q /Artifact <</Type /Pagination>> BDC " + bytes(name) +
                                             b" Do EMC Q\n"), prepend=False)


# Loads fonts, Pango and the German hyphenation dictionary (about a second) before the first real job.
_WARM_UP = RenderJob('<!doctype html><html lang="de"><title>w</title><p style="width:20mm;hyphens:auto">'
                     "Aufwärmen „Grüße“ <b>Verwaltungsvereinbarung</b> <i>Neuzuwander*innen</i></p></html>")


def _worker_main(conn, memory_mb: int, role: str) -> None:
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
        if role == RENDERER:  # an assembler never lays out pages
            render_in_this_process(_WARM_UP)  # fonts and pango loaded before the first real job
    except Exception:  # the first real job will report what is wrong
        logging.getLogger(__name__).exception("renderer warm-up failed")
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            done = assemble_in_this_process(job) if isinstance(job, AssembleJob) else render_in_this_process(job)
            conn.send(("ok", done))
        except MemoryError:
            conn.send(("error", "memory"))
            return  # the heap may be in any state: let the pool start a fresh worker
        except Exception as error:  # a broken document: report it, keep serving
            conn.send(("error", f"{type(error).__name__}: {error}"[:500]))


# --- in the web process --------------------------------------------------------------------------

class _Worker:
    def __init__(self, context, memory_mb: int, role: str = RENDERER):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, memory_mb, role), daemon=True, name=role)
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
        self._context.set_forkserver_preload(["weasyprint", "pikepdf", "strategy.exports.pdf"])

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

    def assemble(self, job: AssembleJob, timeout: float = DEFAULT_TIMEOUT) -> RenderResult:
        """Join rendered pieces in a process of its own, stopped afterwards. Joining holds every piece's
        objects at once (about 250 MB for 130 fields); in a renderer that has laid out pages, fonts and
        Pango's caches would come on top, and the memory would stay with the renderer. A fresh process
        from the fork server starts lean and hands all of it back when it ends."""
        return self._run(job, timeout, lambda: _Worker(self._context, self.memory_mb, ASSEMBLER), reuse=False)

    def render(self, job: RenderJob, timeout: float = DEFAULT_TIMEOUT) -> RenderResult:
        return self._run(job, timeout, self._take, reuse=True)

    def _run(self, job, timeout: float, start: Callable[[], _Worker], reuse: bool) -> RenderResult:
        deadline = time.monotonic() + timeout
        if not self._slots.acquire(timeout=timeout):
            raise RenderTimeout("all renderers busy")
        try:
            worker = start()
            try:
                worker.conn.send(job)
                if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                    worker.kill()
                    raise RenderTimeout(f"rendering took longer than {timeout:.0f} s")
                status, payload = worker.conn.recv()
            except (EOFError, OSError) as error:
                worker.kill()
                raise RenderError("renderer stopped (memory limit?)") from error
            if reuse and (status, payload) != ("error", "memory"):  # after a MemoryError its heap is suspect
                self._give_back(worker)
            else:
                worker.kill()
            if status != "ok":
                raise RenderError(payload)
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
def close_pools() -> None:
    """Stop every renderer process of this process (at exit; the bench starts afresh with it)."""
    with _pools_lock:
        renderers = list(_pools.values())
        _pools.clear()
    for renderer in renderers:
        renderer.close()

"""The PDF exports: what each document contains for a reader, and rendering it once per content version.

Every document is rendered from edition-shaped content (see strategy.comparison): {"strategy": {...},
"fields": [snapshots], "fields_without_approval": [...]}. The live framework, the approved framework and a
frozen edition therefore share one template. The HTML made from it is hashed; the hash keys the
ExportCache table, so an unchanged export is served from the database on every host without rendering.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Callable

from flask import current_app, render_template
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from .. import PROJECT_ROOT
from ..charts import indicator_chart_svg
from ..comparison import compare_editions, current_approved_content, strategy_header
from ..extensions import db
from ..fields.services import load_field_row
from ..framework import FRAMEWORK, Phase
from ..models import Edition, Field, FieldAssignment, Strategy, User, dialect_insert, utcnow
from ..models.exports import ExportCache, ExportPiece
from ..permissions import visible_blocks
from ..reading import readable_edition, readable_framework, readable_row, reader_of
from . import pdf

STYLESHEET = "pdf.css"

# The framework is printed as two tables, each repeating the field's name (Thema): 7 columns, then 6.
FRAMEWORK_PARTS = (("head", "preparation", "workshop_1"), ("workshop_2", "financing"))
PAPER_SIZES = ("a3", "a4")


@dataclass
class Export:
    """A finished PDF and how it was obtained."""

    pdf: bytes
    filename: str
    from_cache: bool
    page_count: int


@dataclass
class Pieces:
    """A document rendered as pieces side by side (one per renderer process) and then joined.

    `front` makes the front matter from the page each anchor landed on (its contents need the pieces'
    page numbers; an empty mapping gives the draft that measures the front's own length); `bodies` are
    the pieces' HTML; `page_numbers` makes the sheet that stamps "Seite x von y" on the joined pages, and
    the running header: the field whose row stands at the top of each page, "(Fortsetzung)" where it goes on
    from the page before (page → header)."""

    front: Callable[[dict[str, int]], str]
    bodies: list[str]
    page_numbers: Callable[[int, dict[int, str]], str]


@dataclass
class Document:
    """A document to render: how to make its HTML, its cache identity and its file name.

    `build` makes the whole HTML of a document rendered in one pass; `build_pieces` (the framework) makes
    the pieces of one rendered side by side. The cache key is a hash of everything the HTML is made from
    (`inputs`: the content, language, paper, visible blocks, labels) and of the rendering code itself, so
    a cached PDF is found without building the HTML again; an edition's key names the edition itself
    (`given_key`)."""

    kind: str
    strategy_id: int
    subject: str
    filename: str
    build: Callable[[], str] | None = None
    inputs: Any = None
    given_key: str = ""
    build_pieces: Callable[[], Pieces] | None = None
    _html: str | None = dc_field(default=None, repr=False)
    _pieces: Pieces | None = dc_field(default=None, repr=False)

    @property
    def html(self) -> str:
        if self._html is None:
            if self.build is None:
                raise TypeError("a document in pieces has no single HTML")
            self._html = self.build()
        return self._html

    @property
    def pieces(self) -> Pieces | None:
        if self._pieces is None and self.build_pieces is not None:
            self._pieces = self.build_pieces()
        return self._pieces

    def prepare(self) -> None:
        """Make the HTML now (inside the request: templates need the locale and the app)."""
        if self.build_pieces is not None:
            _ = self.pieces
        else:
            _ = self.html

    @property
    def content_key(self) -> str:
        if self.given_key:
            return self.given_key
        digest = hashlib.sha256(_code_fingerprint().encode())
        digest.update(json.dumps([self.kind, str(get_locale()), self.inputs], sort_keys=True, default=str).encode())
        return digest.hexdigest()


@lru_cache(maxsize=1)
def _stylesheet_cached(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


@lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    """A hash of the templates, stylesheet and code that turn content into a PDF: a deployment that changes
    how documents look makes every cached PDF stale."""
    package = PROJECT_ROOT / "strategy"
    paths = sorted((PROJECT_ROOT / "templates" / "pdf").glob("*.html")) + sorted(
        (PROJECT_ROOT / "static" / "css" / "pdf").glob("*.css")) + sorted((package / "exports").glob("*.py")) + [
        package / name for name in ("markup.py", "templating.py", "charts.py", "framework.py", "comparison.py")]
    digest = hashlib.sha256()
    for path in paths:
        if path.exists():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def _stylesheet() -> bytes:
    return _stylesheet_cached(str(PROJECT_ROOT / "static" / "css" / "pdf" / STYLESHEET))


# --- what a reader gets --------------------------------------------------------------------------

def _as_of(strategy: Strategy, drafts: bool) -> datetime:
    """The date the content reflects: the last change (drafts) or the last approval."""
    fields = [f for f in strategy.fields]
    stamps = [f.updated_at for f in fields] if drafts else [f.approved_at for f in fields if f.approved_at]
    return max(stamps, default=strategy.created_at)


def _state_label(drafts: bool, as_of: datetime) -> str:
    from ..templating import _as_of as month_year

    if drafts:
        return _("Entwurf – Stand %(date)s", date=month_year(as_of))
    return _("Freigegebener Stand – %(date)s", date=month_year(as_of))


def _table_parts(blocks: frozenset[str]) -> list[list[Phase]]:
    phases = {phase.key: phase for phase in FRAMEWORK}
    parts = [[phases[key] for key in keys if key in blocks] for keys in FRAMEWORK_PARTS]
    return [part for part in parts if part]


def _common(strategy_head: dict, user_blocks: frozenset[str], as_of: datetime) -> dict[str, Any]:
    return {
        "head": strategy_head,
        "blocks": user_blocks,
        "as_of": as_of,
        "lang": get_locale().language,
        "stylesheet": pdf.ASSET_PREFIX + STYLESHEET,
    }


def framework_document(user, strategy: Strategy, paper: str = "a3") -> Document:
    """The action framework as this reader may read it (live draft or approved state)."""
    content, reader = readable_framework(user, strategy)
    drafts = reader.drafts
    as_of = _as_of(strategy, drafts)
    # Drafts and the approved state are cached side by side (the subject keeps one from evicting the other).
    return _framework_from_content(strategy, content, reader.blocks, paper, as_of,
                                   _state_label(drafts, as_of), kind="framework",
                                   subject="draft" if drafts else "approved")


def edition_document(user, edition: Edition, paper: str = "a3") -> Document:
    """The framework as frozen in an edition; the same edition always gives the same document."""
    as_of = datetime.combine(edition.decided_on, datetime.min.time())
    label = _("%(title)s (beschlossen am %(date)s)", title=edition.title,
              date=_format_date(edition.decided_on))
    blocks = visible_blocks(user, edition.strategy)
    document = _framework_from_content(edition.strategy, readable_edition(edition.content, blocks), blocks, paper,
                                       as_of, label,
                                       kind="edition", subject=f"edition-{edition.id}")
    # Frozen content: one rendering per language and audience, ever. "v2": renderings from before fields never
    # approved were named by their placeholder (strategy.reading) may carry a draft title, so they are not reused.
    identity = f"edition:v2:{edition.id}:{get_locale()}:{paper}:{','.join(sorted(blocks))}"
    document.given_key = hashlib.sha256(identity.encode()).hexdigest()
    return document


def _framework_from_content(strategy: Strategy, content: dict, blocks: frozenset[str], paper: str,
                            as_of: datetime, state_label: str, *, kind: str, subject: str = "") -> Document:
    paper = paper if paper in PAPER_SIZES else "a3"
    head = content.get("strategy") or strategy_header(strategy)
    rows, missing, parts = content.get("fields", []), content.get("fields_without_approval", []), \
        _table_parts(blocks)

    def build_pieces() -> Pieces:
        common = {**_common(head, blocks, as_of), "paper": paper, "state_label": state_label,
                  "margins": {"doc": head.get("framework_title") or _("Handlungsrahmen"),
                              "strategy_line": f"{head.get('title', '')} · {state_label}"}}
        bodies = []
        config = current_app.config
        for part_no, part in enumerate(parts, start=1):
            runs = _runs_of_rows(rows, part, config.get("PDF_PIECE_TEXT_BUDGET", PIECE_TEXT_BUDGET),
                                 max(config.get("PDF_PIECE_FIELDS", PIECE_FIELDS), -(-len(rows) // PIECE_GROUPS)))
            for index, run in enumerate(runs):
                bodies.append(render_template("pdf/framework_part.html", **common, part=part, part_no=part_no,
                                              rows=run, continued=index > 0, piece=True,
                                              missing=missing if index == len(runs) - 1 else []))

        def front(toc_pages: dict[str, int]) -> str:
            return render_template("pdf/framework.html", **{**common, "margins": {**common["margins"], "cover": True}},
                                   rows=rows, missing=missing, parts=parts, toc_pages=toc_pages)

        return Pieces(front, bodies, lambda total, headers: render_template("pdf/page_numbers.html", **common,
                                                                           total=total, headers=headers))

    stem = "Fassung" if kind == "edition" else "Handlungsrahmen"
    filename = f"{stem}-{strategy.slug}-{as_of:%Y-%m-%d}-{paper.upper()}.pdf"
    inputs = {"content": content, "blocks": sorted(blocks), "paper": paper, "as_of": as_of, "state": state_label}
    return Document(f"{kind}-{paper}", strategy.id, subject, filename, inputs=inputs, build_pieces=build_pieces)


# A piece of a table part holds the rows of at most PIECE_FIELDS fields, and at most PIECE_TEXT_BUDGET
# characters of their text (a 130-field framework is laid out a run at a time, so no renderer process
# holds more than one piece's layout and peak memory stays flat however long the framework gets). The
# groups of fields are fixed places in the list of fields, not filled up to the budget: an edit to one
# row changes the pieces of its own group only, never where the later pieces begin, so every other piece
# is found in the piece cache. Each piece starts on a new page and costs a WeasyPrint run of its own: more
# fields per piece waste less paper and time, fewer re-render less after an edit (see the README,
# "Figures"). A long framework gets larger groups (at most PIECE_GROUPS per part, by the number of fields
# alone, so its boundaries still never move with an edit): 130 fields in 130 pieces cost half as much
# again as in 32.
PIECE_FIELDS = 2
PIECE_GROUPS = 8
PIECE_TEXT_BUDGET = 100_000


def _runs_of_rows(rows: list[dict], part: list[Phase], budget: int, fields_per_piece: int) -> list[list[dict]]:
    keys = [column.key for phase in part for column in phase.columns]
    runs: list[list[dict]] = [[]]
    size = 0
    for position, row in enumerate(rows):
        weight = sum(len(json.dumps(row.get(key) or "", default=str)) for key in keys) + len(row.get("goal_text") or "")
        if runs[-1] and (position % max(1, fields_per_piece) == 0 or size + weight > budget):
            runs.append([])
            size = 0
        runs[-1].append(row)
        size += weight
    return runs


def field_document(user, field: Field) -> Document:
    """The dossier of one field: its whole row, steps, financing, indicator charts, who and when."""
    strategy = field.strategy
    row_field = load_field_row(field.id)
    reader = reader_of(user, strategy)
    drafts = reader.drafts
    row = readable_row(user, row_field, reader)
    if drafts:
        changed_on, changed_by = row_field.updated_at, row_field.updated_by.name if row_field.updated_by else ""
    else:
        changed_on, changed_by = row_field.approved_at, row_field.approved_by.name if row_field.approved_by else ""
    coordinators = sorted(db.session.scalars(
        db.select(User.name).join(FieldAssignment, FieldAssignment.user_id == User.id)
        .filter(FieldAssignment.field_id == field.id, User.active.is_(True))
    ).all())
    build = lambda: render_template(  # noqa: E731
        "pdf/dossier.html",
        **_common(strategy_header(strategy), reader.blocks, changed_on or strategy.created_at),
        row=row,
        framework=FRAMEWORK,
        state_label=_state_label(drafts, changed_on or strategy.created_at),
        drafts=drafts,
        changed_on=changed_on,
        changed_by=changed_by,
        coordinators=coordinators,
        indicator_chart=indicator_chart_svg,
        today=(changed_on or strategy.created_at).date(),
    )
    filename = f"Handlungsfeld-{field.number}-{strategy.slug}-{(changed_on or utcnow()):%Y-%m-%d}.pdf"
    subject = f"field-{field.id}-{'draft' if drafts else 'approved'}"
    inputs = {"row": row, "blocks": sorted(reader.blocks), "drafts": drafts,
              "changed": [changed_on, changed_by], "coordinators": coordinators, "head": strategy_header(strategy)}
    return Document("dossier", strategy.id, subject, filename, build, inputs)


def changes_document(user, edition: Edition) -> Document:
    """"Änderungen seit <edition>": today's approved state against the edition, word by word."""
    strategy = edition.strategy
    blocks = visible_blocks(user, strategy)
    before = readable_edition(edition.content, blocks)
    after = readable_edition(current_approved_content(strategy), blocks)
    as_of = _as_of(strategy, drafts=False)
    build = lambda: render_template(  # noqa: E731
        "pdf/changes.html",
        **_common(strategy_header(strategy), blocks, as_of),
        edition=edition,
        comparison=compare_editions(before, after),
        framework_phases=FRAMEWORK,
        missing=after.get("fields_without_approval", []),
        state_label=_("Freigegebener Stand – %(date)s", date=_format_date(as_of)),
    )
    filename = f"Aenderungen-seit-Fassung-{edition.id}-{strategy.slug}-{as_of:%Y-%m-%d}.pdf"
    inputs = {"edition": edition.id, "after": after, "blocks": sorted(blocks),
              "as_of": as_of}
    return Document("changes", strategy.id, f"edition-{edition.id}", filename, build, inputs)


def _format_date(value: date | datetime) -> str:
    from ..templating import _date

    return _date(value)


# --- rendering once per content version ----------------------------------------------------------

def render_job(html: str, *, tagged: bool = True) -> pdf.RenderJob:
    variant = current_app.config.get("PDF_VARIANT", pdf.PDF_VARIANT) if tagged else None
    return pdf.RenderJob(html, {STYLESHEET: _stylesheet()}, variant)


def render(document: Document) -> pdf.RenderResult:
    """Render a document now, within the configured time and memory limits."""
    renderer, timeout = _renderer(), current_app.config.get("PDF_RENDER_TIMEOUT", pdf.DEFAULT_TIMEOUT)
    pieces = document.pieces
    if pieces is None:
        return renderer.render(render_job(document.html), timeout)
    deadline = time.monotonic() + timeout

    def left() -> float:
        return max(0.1, deadline - time.monotonic())

    # The front goes first: it is short, and its length must be known before the contents can be numbered.
    # Every piece is looked up in the piece cache first; only those made of something new are rendered.
    draft, *bodies = _render_pieces(renderer, document.strategy_id,
                                    [render_job(pieces.front({}))] + [render_job(h) for h in pieces.bodies], left)
    toc_pages: dict[str, int] = {}
    headers: dict[int, str] = {}
    offset = draft.page_count
    for body in bodies:
        for anchor, page in body.anchors.items():
            toc_pages.setdefault(anchor, offset + page)
        for page, (label, continued) in body.row_tops.items():
            headers[offset + page] = _("%(field)s (Fortsetzung)", field=label) if continued else label
        offset += body.page_count
    front, numbers = _render_pieces(renderer, document.strategy_id,
                                    [render_job(pieces.front(toc_pages)),
                                     render_job(pieces.page_numbers(offset, headers), tagged=False)], left)
    if front.page_count != draft.page_count:  # cannot happen with fixed-width page numbers; never print wrong ones
        raise pdf.RenderError("the contents changed length once numbered")
    joined = renderer.assemble(pdf.AssembleJob([front.pdf] + [body.pdf for body in bodies], numbers.pdf), left())
    every = (draft, *bodies, front, numbers)
    rendered = sum(1 for r in every if not r.pieces_reused)
    current_app.logger.info("%s of strategy %s: %s of %s pieces rendered, the rest from the piece cache",
                            document.kind, document.strategy_id, rendered, len(every))
    return pdf.RenderResult(joined.pdf, joined.page_count, timeout - deadline + time.monotonic(),
                            sum(r.cpu_seconds for r in every) + joined.cpu_seconds,
                            max(r.peak_rss_mb for r in (*every, joined)),
                            pieces_rendered=rendered, pieces_reused=len(every) - rendered)


# --- the piece cache -----------------------------------------------------------------------------

def piece_key(job: pdf.RenderJob, strategy_id: int) -> str:
    """A hash of exactly what a piece is made of: its HTML (rows, language, paper, labels), its assets (the
    stylesheet), the PDF variant (tagging), the code and templates that render and measure it, and
    WeasyPrint's version. The strategy is named too, so its pieces go when it is deleted."""
    import weasyprint

    digest = hashlib.sha256(f"piece:v1:{_code_fingerprint()}:{weasyprint.__version__}:{strategy_id}:"
                            f"{job.pdf_variant}".encode())
    for name in sorted(job.assets):
        digest.update(name.encode() + b"\0" + hashlib.sha256(job.assets[name]).digest())
    digest.update(job.html.encode())
    return digest.hexdigest()


def _render_pieces(renderer: pdf.RendererPool, strategy_id: int, jobs: list[pdf.RenderJob],
                   left: Callable[[], float]) -> list[pdf.RenderResult]:
    """The pieces' rendered PDFs, in order: those rendered before (by any process on any host) from the
    ExportPiece table, the others rendered now side by side and stored there. `PDF_PIECE_CACHE = False`
    renders every piece. Commits (a piece stored is kept even when the export fails later)."""
    if not current_app.config.get("PDF_PIECE_CACHE", True):
        return renderer.render_many(jobs, left())
    keys = [piece_key(job, strategy_id) for job in jobs]
    stored = {piece.key: piece for piece in db.session.scalars(db.select(ExportPiece).where(ExportPiece.key.in_(keys)))}
    missing = list(dict.fromkeys(key for key in keys if key not in stored))  # one render per distinct piece
    fresh = dict(zip(missing, renderer.render_many([jobs[keys.index(key)] for key in missing], left()),
                     strict=True))
    now = utcnow()
    # Read the stored pieces before the commit below expires them (reading them after would load each again).
    results = [fresh[key] if key in fresh else _from_store(stored[key]) for key in keys]
    used = [piece.id for piece in stored.values() if piece.last_used_at < now - timedelta(hours=1)]
    if fresh:
        # Another export may store the same piece a moment earlier: its bytes are the same, keep theirs.
        db.session.execute(dialect_insert(ExportPiece).on_conflict_do_nothing(index_elements=["key"]), [
            {"key": key, "strategy_id": strategy_id, "pdf": result.pdf, "size": len(result.pdf),
             "page_count": result.page_count, "render_seconds": round(result.seconds, 3),
             "layout": {"anchors": result.anchors, "row_tops": {str(page): list(top)
                                                                for page, top in result.row_tops.items()}},
             "created_at": now, "last_used_at": now}
            for key, result in fresh.items()])
        prune_pieces()
    # Last use, for pruning: at most once an hour per piece (SQLite would rewrite each piece's PDF to store
    # a new date; PostgreSQL keeps large values apart, but the hour is fine-grained enough either way).
    if used:
        db.session.execute(db.update(ExportPiece).where(ExportPiece.id.in_(used)).values(last_used_at=now))
    db.session.commit()
    return results


def _from_store(piece: ExportPiece) -> pdf.RenderResult:
    layout = piece.layout or {}
    return pdf.RenderResult(piece.pdf, piece.page_count, 0.0, 0.0, 0.0, dict(layout.get("anchors", {})),
                            {int(page): (top[0], bool(top[1])) for page, top in layout.get("row_tops", {}).items()},
                            pieces_reused=1)


def prune_pieces() -> int:
    """Forget pieces unused for PDF_PIECE_KEEP_DAYS (30), then the least recently used ones beyond
    PDF_PIECE_CACHE_MB (200) in all. A piece only saves a render: one pruned too early is rendered again.
    Runs whenever new pieces are stored, so no scheduler is needed. Returns how many went."""
    config = current_app.config
    cutoff = utcnow() - timedelta(days=config.get("PDF_PIECE_KEEP_DAYS", 30))
    gone = db.session.execute(db.delete(ExportPiece).where(ExportPiece.last_used_at < cutoff)).rowcount or 0
    limit = config.get("PDF_PIECE_CACHE_MB", 200) * 1024 * 1024
    if (db.session.scalar(db.select(db.func.coalesce(db.func.sum(ExportPiece.size), 0))) or 0) > limit:
        kept, stale = 0, []
        for piece_id, size in db.session.execute(db.select(ExportPiece.id, ExportPiece.size).order_by(
                ExportPiece.last_used_at.desc(), ExportPiece.id.desc())):
            kept += size
            if kept > limit:
                stale.append(piece_id)
        if stale:
            db.session.execute(db.delete(ExportPiece).where(ExportPiece.id.in_(stale)))
            gone += len(stale)
    return gone


def _renderer(config=None) -> pdf.RendererPool:
    config = current_app.config if config is None else config
    return pdf.pool(config.get("PDF_RENDER_WORKERS", pdf.DEFAULT_WORKERS),
                    config.get("PDF_RENDER_MEMORY_MB", pdf.DEFAULT_MEMORY_MB))


def start_renderers(app) -> threading.Thread | None:
    """Start this process's renderers in the background (gunicorn.conf.py calls it as a worker starts):
    otherwise the first export after a restart waits several seconds for the fork server and the renderers
    to load WeasyPrint, fonts and Pango. `PDF_WARM_UP = False` leaves them to the first export."""
    if not app.config.get("PDF_WARM_UP", True):
        return None

    def warm() -> None:
        try:
            _renderer(app.config).warm_up()
        except Exception:  # the first export starts them again and reports what is wrong
            app.logger.exception("starting the PDF renderers failed")

    thread = threading.Thread(target=warm, name="pdf-warm-up", daemon=True)
    thread.start()
    return thread


def cached(document: Document) -> ExportCache | None:
    return db.session.scalar(
        db.select(ExportCache).filter_by(kind=document.kind, strategy_id=document.strategy_id,
                                         subject=document.subject, content_key=document.content_key)
    )


def export(document: Document) -> Export:
    """The document's PDF: from the cache when this content version was rendered before, else rendered now
    (within the configured time and memory limits) and stored. Commits."""
    hit = cached(document)
    if hit is not None:
        db.session.execute(
            db.update(ExportCache).where(ExportCache.id == hit.id)
            .values(hits=ExportCache.hits + 1, last_served_at=utcnow())
        )
        db.session.commit()
        return Export(hit.pdf, document.filename, True, hit.page_count)
    result = render(document)
    _store(document, result)
    return Export(result.pdf, document.filename, False, result.page_count)


def _store(document: Document, result: pdf.RenderResult) -> None:
    keep_versions = current_app.config.get("PDF_CACHE_VERSIONS", 4)
    entry = ExportCache(kind=document.kind, strategy_id=document.strategy_id, subject=document.subject,
                        content_key=document.content_key, pdf=result.pdf, page_count=result.page_count,
                        render_seconds=round(result.seconds, 3))
    try:
        db.session.add(entry)
        db.session.flush()
    except IntegrityError:  # another request stored the same version a moment ago: theirs is as good
        db.session.rollback()
        return
    if document.given_key:  # editions: every variant stays
        db.session.commit()
        return
    # Older versions of the same document are of no use any more.
    stale = db.session.scalars(
        db.select(ExportCache.id)
        .filter_by(kind=document.kind, strategy_id=document.strategy_id, subject=document.subject)
        .order_by(ExportCache.created_at.desc(), ExportCache.id.desc())
        .offset(keep_versions)
    ).all()
    if stale:
        db.session.execute(db.delete(ExportCache).where(ExportCache.id.in_(stale)))
    db.session.commit()

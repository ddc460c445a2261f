"""Searching: what a reader may find is decided in the query, by the same rules as what they may read.

`reading.reader_of` says for each strategy the reader may see (`permissions.can_view_strategy`) whether they
read the live drafts and which blocks; that becomes one condition per kind of reader:

- draft readers (steering, coordinators, admins) find the live row, the review comments, the history and
  the editions;
- everyone else finds the approved row and the editions, and only in the blocks they may see;
- a strategy the reader may not see is in no condition, so none of its rows is counted or returned.

Nothing is filtered after the query: counts, ranking and the page of results all come from rows that
passed these conditions.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from ..extensions import db
from ..framework import key_label
from ..models import Edition, SearchEntry, SearchKind, SearchLayer, Strategy
from ..permissions import can_view_editions, can_view_strategy
from ..reading import reader_of
from .engines import engine_for
from .text import Query, matched_words, parse_query, snippet

KIND_LABELS = {
    SearchKind.COLUMN: _l("Spalten des Handlungsrahmens"),
    SearchKind.STEP: _l("Nächste Schritte"),
    SearchKind.FINANCING: _l("Finanzierungsposten"),
    SearchKind.INDICATOR: _l("Kennzahlen"),
    SearchKind.COMMENT: _l("Kommentare der Prüfung"),
    SearchKind.EDITION: _l("Fassungen"),
    SearchKind.REVISION: _l("Ältere Stände (Verlauf)"),
}
LAYER_LABELS = {
    SearchLayer.LIVE: _l("aktueller Stand (Entwurf)"),
    SearchLayer.APPROVED: _l("freigegebener Stand"),
    SearchLayer.HISTORY: _l("Verlauf"),
    SearchLayer.COMMENT: _l("Kommentar"),
    SearchLayer.EDITION: _l("Fassung"),
}
CURRENT_LAYERS = frozenset({SearchLayer.LIVE, SearchLayer.APPROVED, SearchLayer.COMMENT})
HISTORY_LAYERS = frozenset({SearchLayer.HISTORY, SearchLayer.EDITION})
PAGE_SIZE = 50
# Hits are counted up to this many, and beyond it only the newest COUNT_CAP are ranked: a word that stands
# in nearly every text (a city's "Jobcenter") would otherwise be counted and ranked in every row of the
# installation before the first page could be shown. Up to the cap nothing changes.
COUNT_CAP = 1000


@dataclass(frozen=True)
class Filters:
    strategy: str | None = None       # a slug
    field_number: int | None = None
    kinds: frozenset[SearchKind] = frozenset()
    since: date | None = None
    until: date | None = None
    history: bool = False              # also older revisions and editions
    page: int = 1


@dataclass
class Hit:
    kind: SearchKind
    layer: SearchLayer
    strategy_slug: str
    strategy_title: str
    field_number: int | None
    field_title: str
    column: str
    column_label: str
    snippet: Markup
    url: str
    occurred_at: datetime
    edition_title: str = ""

    @property
    def layer_label(self) -> str:
        return str(LAYER_LABELS[self.layer])


@dataclass
class Group:
    kind: SearchKind
    count: int
    hits: list[Hit] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self.kind])


@dataclass
class Results:
    query: Query
    groups: list[Group]
    total: int
    page: int
    pages: int
    capped: bool = False  # more than COUNT_CAP hits: `total` and the groups' counts are those of the newest

    @property
    def hits(self) -> list[Hit]:
        return [hit for group in self.groups for hit in group.hits]


def _reader_scopes(user, strategies: Iterable[Strategy]) -> dict[tuple[frozenset, frozenset], list[int]]:
    """Strategies grouped by how this reader may search them: (layers, blocks) → strategy ids."""
    scopes: dict[tuple[frozenset, frozenset], list[int]] = {}
    for strategy in strategies:
        if not can_view_strategy(user, strategy):
            continue
        reader = reader_of(user, strategy)
        # Drafts, history and review comments: for those who may read drafts (permissions.can_view_history
        # and can_view_review ask the same); the approved row for everyone else.
        layers = {SearchLayer.LIVE, SearchLayer.HISTORY, SearchLayer.COMMENT} if reader.drafts else {SearchLayer.APPROVED}
        if can_view_editions(user, strategy):
            layers.add(SearchLayer.EDITION)
        scopes.setdefault((frozenset(layers), reader.blocks), []).append(strategy.id)
    return scopes


def permitted(user, strategies: Iterable[Strategy], searched: frozenset[SearchLayer] | None = None) -> sa.ColumnElement[bool]:
    """The SQL condition of every index row this reader may find (in the `searched` layers, default all)."""
    return _permitted(_reader_scopes(user, strategies), searched)


def _permitted(scopes: dict[tuple[frozenset, frozenset], list[int]],
               searched: frozenset[SearchLayer] | None = None) -> sa.ColumnElement[bool]:
    conditions = []
    for (layers, blocks), ids in scopes.items():
        # One list of layers per scope, what the reader may read and the search asks for: two lists on the
        # same column would make PostgreSQL count their selectivity twice and choose a slower plan.
        layers = layers & searched if searched is not None else layers
        if layers:
            conditions.append(sa.and_(
                SearchEntry.strategy_id.in_(ids),
                SearchEntry.layer.in_(sorted(layer.value for layer in layers)),
                sa.or_(SearchEntry.block.is_(None), SearchEntry.block.in_(sorted(blocks))),
            ))
    return sa.or_(*conditions) if conditions else sa.false()


def searched_layers(filters: Filters) -> frozenset[SearchLayer]:
    """The current state; with history (or when asking for revisions or editions) also the older ones."""
    if filters.history or filters.kinds & {SearchKind.REVISION, SearchKind.EDITION}:
        return CURRENT_LAYERS | HISTORY_LAYERS
    return CURRENT_LAYERS


def _filter_conditions(filters: Filters) -> list[sa.ColumnElement[bool]]:
    """The filters other than strategy and history, which narrow `permitted` itself."""
    conditions = []
    if filters.field_number is not None:
        conditions.append(SearchEntry.field_number == filters.field_number)
    if filters.kinds:
        conditions.append(SearchEntry.kind.in_(sorted(kind.value for kind in filters.kinds)))
    if filters.since:
        conditions.append(SearchEntry.occurred_at >= datetime.combine(filters.since, time.min, timezone.utc))
    if filters.until:
        conditions.append(SearchEntry.occurred_at < datetime.combine(filters.until + timedelta(days=1), time.min,
                                                                      timezone.utc))
    return conditions


def search(user, text: str, filters: Filters = Filters(), strategies: list[Strategy] | None = None) -> Results:
    """The hits this reader may find for `text`, most relevant first, grouped by kind, with counts; among
    `strategies` if given (default: all; either way only those the reader may see).

    One query takes the newest COUNT_CAP + 1 rows that match and that this reader may read (along the index
    on layer and date: however common the word, it stops after that many), ranks them and returns them as
    (id, kind, date); the counts and the page come from those rows, and only the page's rows are loaded.
    More than COUNT_CAP rows: the result is capped, the oldest of them left out.
    """
    query = parse_query(text)
    if query.is_empty:
        return Results(query, [], 0, 1, 0)
    engine = engine_for(db.engine.dialect.name)
    if strategies is None:  # the page passes those it loaded for the strategy filter
        strategies = list(db.session.scalars(sa.select(Strategy)))
    # The strategy filter and the layers searched narrow the permission condition rather than adding a
    # second condition on the same columns, which PostgreSQL would misjudge (see `permitted`).
    scopes = _reader_scopes(user, [s for s in strategies if not filters.strategy or s.slug == filters.strategy])
    readable = frozenset().union(*(layers for layers, _ in scopes)) & searched_layers(filters)
    where = _filter_conditions(filters)
    where += [engine.finds(term) for term in query.required]
    where += [sa.not_(engine.finds(term)) for term in query.excluded]
    if not readable:
        return Results(query, [], 0, 1, 0)

    # The newest matches of each layer, along the index on (layer, date), then the newest of them all:
    # one walk per layer, because a word can be everywhere in one layer and nowhere in another (a dropped
    # project: in the history, not in the current texts), and a walk through all layers at once would
    # pass every newer row of the layer without it.
    newest_of_layer = []
    for layer in sorted(readable):
        newest = (sa.select(SearchEntry.id, SearchEntry.occurred_at)
                  .where(_permitted(scopes, frozenset({layer})), *where)
                  .order_by(SearchEntry.occurred_at.desc(), SearchEntry.id.desc()).limit(COUNT_CAP + 1)
                  .subquery())
        # Wrapped: SQLite takes no ORDER BY or LIMIT inside a part of a UNION.
        newest_of_layer.append(sa.select(newest.c.id, newest.c.occurred_at))
    layers_newest = sa.union_all(*newest_of_layer).subquery()
    newest = (sa.select(layers_newest.c.id)
              .order_by(layers_newest.c.occurred_at.desc(), layers_newest.c.id.desc()).limit(COUNT_CAP + 1)
              .cte("newest"))
    relevance, joins = engine.relevance(query, sa.select(newest.c.id))
    statement = sa.select(SearchEntry.id, SearchEntry.kind, SearchEntry.occurred_at)
    for target, on in joins:
        statement = statement.outerjoin(target, on)
    engine.before_search(db.session)
    ranked = db.session.execute(
        statement.where(SearchEntry.id.in_(sa.select(newest.c.id)))
        .order_by(relevance.desc(), SearchEntry.occurred_at.desc(), SearchEntry.id.desc())
    ).all()
    capped = len(ranked) > COUNT_CAP
    if capped:
        oldest = min(ranked, key=lambda row: (row.occurred_at, row.id))
        ranked.remove(oldest)

    counts = Counter(SearchKind(row.kind) for row in ranked)
    groups = [Group(kind, counts[kind]) for kind in SearchKind if counts[kind]]
    pages = max(1, -(-len(ranked) // PAGE_SIZE))
    page = min(max(1, filters.page), pages)
    ids = [row.id for row in ranked[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]]
    entries = {e.id: e for e in db.session.scalars(sa.select(SearchEntry).where(SearchEntry.id.in_(ids)))}
    for hit in _hits([entries[entry_id] for entry_id in ids], query, {s.id: s for s in strategies}):
        next(g for g in groups if g.kind == hit.kind).hits.append(hit)
    return Results(query, groups, len(ranked), page, pages, capped=capped)


def _hits(entries: list[SearchEntry], query: Query, strategies: dict[int, Strategy]) -> list[Hit]:
    edition_ids = {e.source_id for e in entries if e.layer == SearchLayer.EDITION}
    editions = dict(db.session.execute(
        sa.select(Edition.id, Edition.title).where(Edition.id.in_(edition_ids))).all()) if edition_ids else {}
    hits = []
    for entry in entries:
        strategy = strategies[entry.strategy_id]
        hits.append(Hit(
            kind=SearchKind(entry.kind), layer=SearchLayer(entry.layer), strategy_slug=strategy.slug,
            strategy_title=strategy.title, field_number=entry.field_number, field_title=entry.title,
            column=entry.column, column_label=_column_label(entry), snippet=snippet(entry.body, query),
            url=hit_url(entry, strategy.slug, matched_words(entry.body, query)), occurred_at=entry.occurred_at,
            edition_title=editions.get(entry.source_id, "") if entry.layer == SearchLayer.EDITION else "",
        ))
    return hits


def _column_label(entry: SearchEntry) -> str:
    if entry.column == "comment":
        return str(_l("Handlungsfeld insgesamt"))
    return key_label(entry.column)


# Where each column's text stands on the field page (templates/fields/_row.html), so the link opens it.
def _anchor(entry: SearchEntry) -> str:
    if entry.kind == SearchKind.STEP and entry.source_id:
        return f"schritt-{entry.source_id}"
    if entry.kind == SearchKind.COMMENT:
        return f"kommentar-{entry.source_id}"
    if entry.column in ("title", "goal_text"):
        return "goal-heading"
    if entry.column == "financing_items":
        return "col-financing_notes"
    if entry.column == "indicators":
        return "kennzahlen"
    return f"col-{entry.column}"


def hit_url(entry: SearchEntry, slug: str, words: list[str]) -> str:
    """The page that shows the hit, scrolled to its place, with the found words to highlight (`markiert`)."""
    marks = {"markiert": words[:8]} if words else {}
    if entry.layer == SearchLayer.HISTORY:
        anchor = "diff-" + ("financing_notes" if entry.column == "financing_items" else entry.column)
        return url_for("fields.field_revision", slug=slug, number=entry.field_number or 0,
                       revision_id=entry.source_id, _anchor=anchor, **marks)
    if entry.layer == SearchLayer.EDITION:
        return url_for("review.edition_field", slug=slug, edition_id=entry.source_id,
                       number=entry.field_number or 0, _anchor=_anchor(entry), **marks)
    return url_for("fields.field_page", slug=slug, number=entry.field_number or 0, _anchor=_anchor(entry), **marks)

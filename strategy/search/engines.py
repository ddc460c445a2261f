"""One search interface, two engines: SQLite FTS5 and PostgreSQL full-text search over `search_entry`.

Both index the same pre-stemmed terms (strategy.search.text), so they find the same rows; each answers
three questions in SQL: does a row contain this word or phrase (`matches`), does its folded text contain
this part of a compound (`contains_part`), and how relevant is it (`relevance`, higher is better).

SQLite: two external-content FTS5 tables kept in step with `search_entry` by triggers (so an index change
is part of the same transaction as the row's): `search_fts` (heading_terms, body_terms; unicode61 with
remove_diacritics 2; ranked by bm25() with the heading weighing four times the body) and
`search_trigram` (folded; trigram tokenizer, which finds any substring of three or more characters).

PostgreSQL: a stored generated tsvector column `document` (heading_terms weight A, body_terms weight B, the
`simple` configuration because the terms are stemmed already: `german` would stem them a second time),
a GIN index on it, queried with websearch_to_tsquery and ranked with ts_rank (length-normalised); pg_trgm's GIN index on
`folded` answers LIKE '%part%'.

The DDL of these structures is in strategy.models.search_structures.
"""
from __future__ import annotations

import sqlalchemy as sa

from ..models.search import SearchEntry
from ..models.search_structures import PG_CREATE
from .text import Query, Term

# --- queries -------------------------------------------------------------------------------------

class Engine:
    name = ""

    def matches(self, term: Term) -> sa.ColumnElement[bool]:
        raise NotImplementedError

    def contains_part(self, part: str) -> sa.ColumnElement[bool]:
        raise NotImplementedError

    def relevance(self, query: Query, ids: sa.Select) -> tuple[sa.ColumnElement, list]:
        """An expression (higher is more relevant) and the outer joins it needs, as (target, on) pairs, for
        the rows whose ids `ids` selects (the only rows ranked)."""
        raise NotImplementedError

    def finds(self, term: Term) -> sa.ColumnElement[bool]:
        """A word or phrase, or (a word only) a part of a longer word: `kurs` finds `Integrationskurs`."""
        condition = self.matches(term)
        if term.part:
            condition = sa.or_(condition, self.contains_part(term.part))
        return condition

    def before_search(self, session) -> None:
        """Before the search query, in the same transaction."""

    def before_bulk_load(self, bind: sa.Connection) -> None:
        """Before `flask search reindex` writes every entry anew (the index is empty then)."""

    def after_bulk_load(self, bind: sa.Connection) -> None:
        """After `flask search reindex`: indexes and statistics up to date."""


def _fts_phrase(stems: tuple[str, ...]) -> str:
    # Stems are letters and digits only (text.WORD), so quoting cannot break out of the phrase.
    return '"' + " ".join(stems) + '"'


class SqliteEngine(Engine):
    name = "sqlite"
    _fts = sa.table("search_fts", sa.column("rowid"))
    _trigram = sa.table("search_trigram", sa.column("rowid"))

    def matches(self, term: Term) -> sa.ColumnElement[bool]:
        rows = sa.select(self._fts.c.rowid).where(
            sa.literal_column("search_fts").op("MATCH")(_fts_phrase(term.stems)))
        return SearchEntry.id.in_(rows)

    def contains_part(self, part: str) -> sa.ColumnElement[bool]:
        rows = sa.select(self._trigram.c.rowid).where(
            sa.literal_column("search_trigram").op("MATCH")(_fts_phrase((part,))))
        return SearchEntry.id.in_(rows)

    def relevance(self, query: Query, ids: sa.Select) -> tuple[sa.ColumnElement, list]:
        any_term = " OR ".join(_fts_phrase(term.stems) for term in query.required)
        # bm25() is computed only for the rows to be ranked, not for every row the terms match.
        scored = (
            sa.select(self._fts.c.rowid.label("rowid"),
                      sa.literal_column("-bm25(search_fts, 4.0, 1.0)").label("score"))
            .where(sa.literal_column("search_fts").op("MATCH")(any_term), self._fts.c.rowid.in_(ids))
            .subquery("scored")
        )
        return sa.func.coalesce(scored.c.score, 0.0), [(scored, scored.c.rowid == SearchEntry.id)]


class PostgresEngine(Engine):
    name = "postgresql"
    _document = sa.literal_column("search_entry.document")

    @staticmethod
    def _websearch(text: str):
        return sa.func.websearch_to_tsquery(sa.literal_column("'simple'::regconfig"), text)

    def matches(self, term: Term) -> sa.ColumnElement[bool]:
        return self._document.op("@@")(self._websearch(_fts_phrase(term.stems) if term.is_phrase else term.stems[0]))

    def contains_part(self, part: str) -> sa.ColumnElement[bool]:
        return SearchEntry.folded.like(f"%{part}%")

    def relevance(self, query: Query, ids: sa.Select) -> tuple[sa.ColumnElement, list]:
        any_term = " or ".join(_fts_phrase(term.stems) if term.is_phrase else term.stems[0]
                               for term in query.required)
        # Normalisation 1 (rank / (1 + log length)): shorter texts first among equal matches, as bm25 does.
        return sa.func.ts_rank(self._document, self._websearch(any_term), 1), []

    def before_search(self, session) -> None:
        # psycopg prepares a statement from its fifth run on, and PostgreSQL may then keep one plan for any
        # words: a plan that cannot tell "Jobcenter" (in every row: read the newest rows until enough match)
        # from "Zebrastreifen" (in none: ask the GIN index), and took 1.4 s instead of 28 ms for the latter.
        session.execute(sa.text("SET LOCAL plan_cache_mode = force_custom_plan"))

    # Building a GIN index once over all rows is many times faster than updating it row by row.
    def before_bulk_load(self, bind: sa.Connection) -> None:
        bind.exec_driver_sql("DROP INDEX IF EXISTS ix_search_entry_document")
        bind.exec_driver_sql("DROP INDEX IF EXISTS ix_search_entry_folded")

    def after_bulk_load(self, bind: sa.Connection) -> None:
        for statement in PG_CREATE:
            if statement.startswith("CREATE INDEX"):
                bind.exec_driver_sql(statement)
        bind.exec_driver_sql("ANALYZE search_entry")


def engine_for(dialect_name: str) -> Engine:
    return {"sqlite": SqliteEngine, "postgresql": PostgresEngine}[dialect_name]()

"""The search index: one row per piece of text a reader can find (a column, a step, a comment, ...).

The text is stored three ways: as written (`body`, for snippets and highlighting), as stemmed German terms
(`heading_terms` weighs more than `body_terms`; strategy.search.text makes them the same way for both
engines) and folded (`folded`: lower case, no diacritics, ß as ss; for parts of compounds). The full-text
structures over these columns are each engine's own (strategy.search.engines): FTS5 tables on SQLite, GIN
indexes on PostgreSQL. Who may find a row is decided at query time from `strategy_id`, `layer` and `block`
(strategy.search.services), so a change of visibility needs no re-indexing.
"""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, str_enum


class SearchLayer(enum.StrEnum):
    """Which state of the content a row comes from; decides who may find it."""

    LIVE = "live"          # the working draft: for those who may read drafts
    APPROVED = "approved"  # the approved snapshot: for everyone who may see the strategy (visible blocks)
    HISTORY = "history"    # an older revision: for those who may read the history
    COMMENT = "comment"    # a review comment: for those who may read the review
    EDITION = "edition"    # a frozen edition (approved content): for everyone who may see the strategy


class SearchKind(enum.StrEnum):
    """What a hit is, as results are grouped."""

    COLUMN = "column"
    STEP = "step"
    FINANCING = "financing"
    INDICATOR = "indicator"
    COMMENT = "comment"
    EDITION = "edition"
    REVISION = "revision"


class SearchEntry(db.Model):
    __tablename__ = "search_entry"
    __table_args__ = (
        sa.Index("ix_search_entry_scope", "strategy_id", "layer", "block"),
        sa.Index("ix_search_entry_field_layer", "field_id", "layer"),
        # The newest matches of a layer, read in this order until enough are found (services.search): a
        # word in nearly every text is counted and ranked in a bounded number of rows.
        sa.Index("ix_search_entry_layer_occurred", "layer", "occurred_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    strategy_id: Mapped[int] = mapped_column(sa.ForeignKey("strategy.id", ondelete="CASCADE"))
    field_id: Mapped[int | None] = mapped_column(sa.ForeignKey("field.id", ondelete="CASCADE"))
    field_number: Mapped[int | None]
    layer: Mapped[SearchLayer] = mapped_column(str_enum(SearchLayer, 10))
    kind: Mapped[SearchKind] = mapped_column(str_enum(SearchKind, 12))
    # The visibility block the text belongs to (reading.BLOCK_KEYS); None: title and goal, always readable.
    block: Mapped[str | None] = mapped_column(sa.String(20))
    # The snapshot key (strategy.framework.key_label names it), e.g. "vision", "next_steps", "title".
    column: Mapped[str] = mapped_column(sa.String(40))
    # What the link opens: the revision, comment, edition, step, financing item or indicator.
    source_id: Mapped[int | None]
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The field's title as this layer names it (approved title for approved content), or the edition's.
    title: Mapped[str] = mapped_column(sa.String(500), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    heading_terms: Mapped[str] = mapped_column(sa.Text, default="")
    body_terms: Mapped[str] = mapped_column(sa.Text, default="")
    folded: Mapped[str] = mapped_column(sa.Text, default="")


# The engines' full-text structures are created with the table (search_structures.py).
from .search_structures import install as _install_search_structures  # noqa: E402

_install_search_structures(db.metadata)

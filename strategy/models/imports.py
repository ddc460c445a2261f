"""An uploaded file waiting to be imported: kept between the mapping, the preview and the confirmation.

Processes keep no state of their own (several hosts serve one site), so the file lives in the database
until it is imported, replaced by the same person's next upload, or a day old.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import User
from .base import UTCDateTime, utcnow
from .strategy import Strategy


class ImportUpload(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    # None: the file is to become a new strategy (new_strategy holds its title and address).
    strategy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("strategy.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    # Per sheet of the file, the column each header maps to: {"Schritte": {"3": "description", ...}}.
    mapping: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    new_strategy: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    strategy: Mapped[Strategy | None] = relationship()
    user: Mapped[User] = relationship()

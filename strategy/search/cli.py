"""`flask search reindex`: rebuild the whole search index from the content."""
from __future__ import annotations

import time

import click

from ..extensions import db
from . import bp


@bp.cli.command("reindex")
def reindex_command() -> None:
    """Delete the search index and build it again (after a restore, an import or a change of the rules)."""
    from .indexing import reindex_all

    started = time.monotonic()
    counts = reindex_all(echo=click.echo)
    db.session.commit()
    click.echo(f"Suchindex neu aufgebaut: {counts['entries']} Einträge aus {counts['fields']} Handlungsfeldern, "
               f"{counts['revisions']} Versionen, {counts['comments']} Kommentaren, {counts['editions']} Fassungen "
               f"({time.monotonic() - started:.1f} s).")

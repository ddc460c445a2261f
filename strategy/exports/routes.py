"""Download views: load what the reader may see, ask the export service for the PDF, send it."""
from __future__ import annotations

from flask import abort, current_app, request
from flask_login import current_user

from ..extensions import db
from ..models import Edition
from ..permissions import (
    can_export_changes,
    can_export_edition,
    can_export_field,
    can_export_framework,
    get_field_or_404,
    get_strategy_or_404,
    public,
)
from . import bp, services
from .pdf import RenderError


def _send(document: services.Document):
    try:
        result = services.export(document)
    except RenderError:
        current_app.logger.exception("PDF export failed: %s %s", document.kind, document.subject)
        abort(503)
    response = current_app.response_class(result.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{document.filename}"'
    # Drafts and approved content differ per reader: never in a shared cache.
    response.headers["Cache-Control"] = "private, max-age=0, must-revalidate"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Export-Cache"] = "hit" if result.from_cache else "miss"
    return response


def _paper() -> str:
    paper = request.args.get("format", "a3").lower()
    if paper not in services.PAPER_SIZES:
        abort(404)
    return paper


def _edition_or_404(slug: str, edition_id: int) -> Edition:
    strategy = get_strategy_or_404(slug)
    edition = db.session.get(Edition, edition_id)
    if edition is None or edition.strategy_id != strategy.id:
        abort(404)
    return edition


@bp.route("/<slug>/handlungsrahmen.pdf")
@public
def framework_pdf(slug: str):
    strategy = get_strategy_or_404(slug)
    if not can_export_framework(current_user, strategy):
        abort(404)
    return _send(services.framework_document(current_user, strategy, _paper()))


@bp.route("/<slug>/handlungsfelder/<id:number>/dossier.pdf")
@public
def field_pdf(slug: str, number: int):
    strategy = get_strategy_or_404(slug)
    field = get_field_or_404(strategy, number)
    if not can_export_field(current_user, field):
        abort(404)
    return _send(services.field_document(current_user, field))


@bp.route("/<slug>/fassungen/<id:edition_id>/handlungsrahmen.pdf")
@public
def edition_pdf(slug: str, edition_id: int):
    edition = _edition_or_404(slug, edition_id)
    if not can_export_edition(current_user, edition):
        abort(404)
    return _send(services.edition_document(current_user, edition, _paper()))


@bp.route("/<slug>/fassungen/<id:edition_id>/aenderungen.pdf")
@public
def changes_pdf(slug: str, edition_id: int):
    edition = _edition_or_404(slug, edition_id)
    if not can_export_changes(current_user, edition):
        abort(404)
    return _send(services.changes_document(current_user, edition))

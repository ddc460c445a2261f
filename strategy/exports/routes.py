"""Download views: load what the reader may see, ask the export service for the PDF, send it."""
from __future__ import annotations

from flask import abort, current_app, jsonify, redirect, render_template, request, url_for
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
from . import bp, jobs, services
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


def _send_or_queue(document: services.Document, name: str, strategy, edition: Edition | None, paper: str):
    """Inline (the default): render now. On the queue: serve a cached PDF at once, else hand the render to a
    worker and show its "wird erstellt …" page."""
    if not jobs.queue_enabled() or services.cached(document) is not None:
        return _send(document)
    job = jobs.request_export(current_user, name, strategy, edition, paper, document)
    return redirect(url_for(".job", slug=strategy.slug, token=job.token), 303)


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
    paper = _paper()
    return _send_or_queue(services.framework_document(current_user, strategy, paper), "framework", strategy, None,
                          paper)


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
    paper = _paper()
    return _send_or_queue(services.edition_document(current_user, edition, paper), "edition", edition.strategy,
                          edition, paper)


@bp.route("/<slug>/fassungen/<id:edition_id>/aenderungen.pdf")
@public
def changes_pdf(slug: str, edition_id: int):
    edition = _edition_or_404(slug, edition_id)
    if not can_export_changes(current_user, edition):
        abort(404)
    return _send_or_queue(services.changes_document(current_user, edition), "changes", edition.strategy, edition,
                          "a4")


def _job_or_404(slug: str, token: str):
    strategy = get_strategy_or_404(slug)
    job = jobs.job_for(current_user, strategy, token)
    if job is None:
        abort(404)
    return strategy, job


@bp.route("/<slug>/exporte/<token>")
@public
def job(slug: str, token: str):
    """"wird erstellt …": reloads itself (meta refresh; JavaScript polls `job_progress` instead) until the
    job is done, then sends the reader to the export's address, which serves the cached PDF."""
    strategy, job = _job_or_404(slug, token)
    if job.state == job.DONE:
        return redirect(jobs.document_url(job, strategy), 303)
    response = current_app.make_response(render_template(
        "exports/job.html", strategy=strategy, job=job, progress=jobs.progress(job),
        refresh=current_app.config["EXPORT_JOB_REFRESH_SECONDS"], retry_url=jobs.document_url(job, strategy)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<slug>/exporte/<token>/stand")
@public
def job_progress(slug: str, token: str):
    strategy, job = _job_or_404(slug, token)
    progress = jobs.progress(job)
    response = jsonify(state=progress.state, percent=progress.percent, ahead=progress.ahead,
                       message=render_template("exports/_job_message.html", progress=progress).strip(),
                       done_url=jobs.document_url(job, strategy) if job.state == job.DONE else None)
    response.headers["Cache-Control"] = "no-store"
    return response

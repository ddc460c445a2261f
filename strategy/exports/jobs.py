"""Exports rendered as jobs on the queue (EXPORT_QUEUE = "procrastinate"): the rules, whatever the queue.

The web process builds the requester's document as today (strategy.exports.services: what they may read,
its cache key) but does not render it: a cache miss becomes an `ExportJob`, deferred to the queue
(strategy.exports.queue), and the reader is sent to its "wird erstellt …" page. A worker, on any host,
builds the same document again for the job's requester, in the job's language, through the same
`services.export` as the inline route, so the PDF lands in the shared ExportCache. When the job is done
the page sends the reader back to the export's own address, which serves that cache entry after the same
permission checks as always: a result is only ever served to a reader whose own reading gives the same
content key.
"""
from __future__ import annotations

import os
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, url_for
from flask_babel import force_locale, get_locale
from flask_login import AnonymousUserMixin

from ..audit import AuditAction, record_event
from ..extensions import db
from ..models import Edition, Strategy, User, utcnow
from ..models.exports import ExportCache, ExportJob
from ..permissions import can_export_changes, can_export_edition, can_export_framework
from . import services
from .pdf import RenderError

# The documents that go through the queue (the field dossier is short and stays inline).
DOCUMENTS = ("framework", "edition", "changes")


def queue_enabled() -> bool:
    return current_app.config.get("EXPORT_QUEUE", "inline") == "procrastinate"


def build_document(user, document: str, strategy: Strategy, edition: Edition | None, paper: str) -> services.Document:
    """The document as this reader may read it: the one mapping from a job's fields to the export services."""
    if document == "framework":
        return services.framework_document(user, strategy, paper)
    if document == "edition" and edition is not None:
        return services.edition_document(user, edition, paper)
    if document == "changes" and edition is not None:
        return services.changes_document(user, edition)
    raise ValueError(f"not a queued document: {document}")


def may_export(user, document: str, strategy: Strategy, edition: Edition | None) -> bool:
    """The export routes' own predicates, asked again wherever a job is shown or rendered."""
    if document == "framework":
        return can_export_framework(user, strategy)
    if edition is None or edition.strategy_id != strategy.id:
        return False
    return (can_export_edition if document == "edition" else can_export_changes)(user, edition)


def _requester(user) -> User | None:
    return user if getattr(user, "is_authenticated", False) else None


def _audit(action: AuditAction, job: ExportJob, requester: User | None, **detail) -> None:
    """Only signed-in requesters' jobs go into the audit log: they are attributable, while anonymous readers
    of public strategies could fill the append-only log without naming anyone (the app log has those)."""
    if requester is not None:
        record_event(action, requester, object_type="export_job", object_id=job.id,
                     detail={"document": job.document, "strategy_id": job.strategy_id, "subject": job.subject,
                             "paper": job.paper, **detail})


def request_export(user, document_name: str, strategy: Strategy, edition: Edition | None, paper: str,
                   document: services.Document) -> ExportJob:
    """The job that renders `document` for this reader: their unfinished one for the same content, or a new
    one, deferred to the queue. Commits."""
    from . import queue

    requester = _requester(user)
    content_key = document.content_key
    unfinished = db.session.scalar(
        db.select(ExportJob).filter(
            ExportJob.kind == document.kind, ExportJob.strategy_id == strategy.id,
            ExportJob.subject == document.subject, ExportJob.content_key == content_key,
            ExportJob.state.in_((ExportJob.QUEUED, ExportJob.RUNNING)),
            ExportJob.requester_id.is_(None) if requester is None else ExportJob.requester_id == requester.id,
        ).order_by(ExportJob.id.desc()).limit(1))
    if unfinished is not None and requester is not None:  # anonymous readers never share a job (its token)
        return unfinished
    job = ExportJob(token=secrets.token_urlsafe(32), document=document_name, kind=document.kind,
                    strategy_id=strategy.id, edition_id=edition.id if edition else None, subject=document.subject,
                    paper=paper, locale=str(get_locale()), requester_id=requester.id if requester else None,
                    content_key=content_key, expected_seconds=_last_render_seconds(document))
    db.session.add(job)
    db.session.flush()
    _audit(AuditAction.EXPORT_REQUESTED, job, requester)
    db.session.commit()
    try:
        job.queue_job_id = queue.defer(job.id)
    except Exception as error:  # the queue's database is out of reach: say so on the job's page
        current_app.logger.exception("deferring export job %s failed", job.id)
        job.state, job.error = ExportJob.FAILED, f"queue: {type(error).__name__}"[:500]
        job.finished_at = utcnow()
    db.session.commit()
    return job


def _last_render_seconds(document: services.Document) -> float | None:
    """How long this document (any version) took the last time it was rendered: the progress estimate."""
    return db.session.scalar(
        db.select(ExportCache.render_seconds)
        .filter_by(kind=document.kind, strategy_id=document.strategy_id)
        .order_by(ExportCache.created_at.desc(), ExportCache.id.desc()).limit(1))


def job_for(user, strategy: Strategy, token: str) -> ExportJob | None:
    """A job this reader may follow: of this strategy, requested by them (anonymous: by someone holding the
    token, which the address alone carries), for a document they may still export."""
    job = db.session.scalar(db.select(ExportJob).filter_by(token=token, strategy_id=strategy.id))
    if job is None:
        return None
    requester = _requester(user)
    if job.requester_id != (requester.id if requester else None):
        return None
    edition = db.session.get(Edition, job.edition_id) if job.edition_id else None
    return job if may_export(user, job.document, strategy, edition) else None


def document_url(job: ExportJob, strategy: Strategy) -> str:
    """The export's own address: where the finished PDF is served from the cache (after its checks)."""
    if job.document == "framework":
        return url_for("exports.framework_pdf", slug=strategy.slug, format=job.paper)
    endpoint = "exports.edition_pdf" if job.document == "edition" else "exports.changes_pdf"
    extra = {"format": job.paper} if job.document == "edition" else {}
    return url_for(endpoint, slug=strategy.slug, edition_id=job.edition_id, **extra)


@dataclass(frozen=True)
class Progress:
    """How far a job is, for its page: its state, its place in the queue (1 = next), and a percentage
    estimated from how long the same document took last time (None: no estimate yet)."""

    state: str
    ahead: int | None
    percent: int | None
    attempts: int
    error: str


def progress(job: ExportJob) -> Progress:
    ahead = percent = None
    if job.state == ExportJob.QUEUED:
        ahead = db.session.scalar(db.select(db.func.count()).select_from(ExportJob).filter(
            ExportJob.state.in_((ExportJob.QUEUED, ExportJob.RUNNING)), ExportJob.id < job.id))
    elif job.state == ExportJob.RUNNING and job.started_at and job.expected_seconds:
        elapsed = (utcnow() - job.started_at).total_seconds()
        # Never 100 % before it is done: an estimate that ran out says "almost", not "finished".
        percent = max(1, min(95, round(100 * elapsed / max(job.expected_seconds, 0.1))))
    elif job.state == ExportJob.DONE:
        percent = 100
    return Progress(job.state, ahead, percent, job.attempts, job.error)


# --- in the worker -------------------------------------------------------------------------------

def worker_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def run(job_id: int, worker: str) -> None:
    """Render one job (the queue's task calls this inside the worker's app context). A job found running is
    one whose worker died: it is taken over and rendered from the start (rendering is a pure function of the
    content, so nothing of the lost attempt is needed). Commits."""
    job = db.session.get(ExportJob, job_id)
    if job is None or job.finished:
        return
    requester = db.session.get(User, job.requester_id) if job.requester_id else None
    resumed = job.state == ExportJob.RUNNING
    job.state, job.attempts, job.worker, job.started_at = ExportJob.RUNNING, job.attempts + 1, worker, utcnow()
    if resumed:
        _audit(AuditAction.EXPORT_RESUMED, job, requester, attempt=job.attempts)
    db.session.commit()
    current_app.logger.info("export job %s: attempt %s on %s", job.id, job.attempts, worker)
    _hold_for_tests()
    strategy = db.session.get(Strategy, job.strategy_id)
    edition = db.session.get(Edition, job.edition_id) if job.edition_id else None
    reader = requester if requester is not None else AnonymousUserMixin()
    error = ""
    # Templates need a request (url_for, the locale); the job's language is the requester's at the time.
    with current_app.test_request_context(), force_locale(job.locale):
        if strategy is None or (requester is not None and not requester.active) or \
                not may_export(reader, job.document, strategy, edition):
            error = "not permitted"
        else:
            try:
                result = services.export(build_document(reader, job.document, strategy, edition, job.paper))
                job.page_count = result.page_count
            except RenderError as failure:
                db.session.rollback()
                error = str(failure)[:500]
            except Exception as failure:  # a bug or a lost database: the job must not stay "running" for ever
                db.session.rollback()
                current_app.logger.exception("export job %s broke", job_id)
                error = f"internal: {type(failure).__name__}"
    job = db.session.get(ExportJob, job_id)
    job.finished_at = utcnow()
    if error:
        job.state, job.error = ExportJob.FAILED, error
        _audit(AuditAction.EXPORT_FAILED, job, requester, attempt=job.attempts)
        current_app.logger.warning("export job %s failed: %s", job.id, error)
    else:
        job.state = ExportJob.DONE
        _audit(AuditAction.EXPORT_RENDERED, job, requester, attempt=job.attempts, pages=job.page_count)
    _forget_old_jobs()
    db.session.commit()


def _forget_old_jobs() -> None:
    """Finished jobs older than EXPORT_JOB_KEEP_DAYS go (their PDFs live in the cache; the audit log keeps who
    asked when). Each finished job does this, so no scheduler is needed."""
    keep = timedelta(days=current_app.config.get("EXPORT_JOB_KEEP_DAYS", 7))
    db.session.execute(db.delete(ExportJob).where(ExportJob.state.in_((ExportJob.DONE, ExportJob.FAILED)),
                                                  ExportJob.finished_at < utcnow() - keep))


def _hold_for_tests() -> None:
    """EXPORT_JOB_HOLD_FILE (tests only): wait, with the job marked running, until that file exists."""
    path = current_app.config.get("EXPORT_JOB_HOLD_FILE")
    while path and not os.path.exists(path):
        time.sleep(0.05)

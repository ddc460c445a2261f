"""The import as the pages run it: keep the upload, read it, keep the mapping, preview, import.

The rules of reading and planning live in `files` and `imports`; this module ties them to the stored
upload, the audit log and the transaction.
"""
from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask_babel import gettext as _

from ..audit import AuditAction, record_event
from ..days import local_today
from ..extensions import db
from ..models import ImportUpload, Strategy, User, Visibility, utcnow
from .files import RawSheet, read_upload
from .imports import Outcome, Plan, SheetMapping, apply_plan, guess_mapping, plan_import

# An upload nobody confirmed is of no use after this long (and holds a city's whole framework).
UPLOAD_KEPT_FOR = timedelta(days=1)


def store_upload(user: User, strategy: Strategy | None, filename: str, data: bytes,
                 new_strategy: dict | None = None) -> ImportUpload:
    """Keep an uploaded file that reads as sheets (BadFile otherwise) with its guessed mapping. The same
    person's earlier uploads for the same strategy, and everyone's stale ones, go. The caller commits."""
    sheets = read_upload(filename, data)
    db.session.execute(db.delete(ImportUpload).where(ImportUpload.created_at < utcnow() - UPLOAD_KEPT_FOR))
    db.session.execute(db.delete(ImportUpload).where(
        ImportUpload.user_id == user.id,
        ImportUpload.strategy_id == strategy.id if strategy is not None else ImportUpload.strategy_id.is_(None)))
    upload = ImportUpload(strategy_id=strategy.id if strategy is not None else None, user_id=user.id,
                          filename=filename[:255], data=data, new_strategy=new_strategy,
                          mapping={name: m.as_json() for name, m in guess_mapping(sheets).items()})
    db.session.add(upload)
    db.session.flush()
    return upload


def sheets_of(upload: ImportUpload) -> list[RawSheet]:
    return read_upload(upload.filename, upload.data)


def mapping_of(upload: ImportUpload) -> dict[str, SheetMapping]:
    return {name: SheetMapping.from_json(data) for name, data in (upload.mapping or {}).items()}


def set_mapping(upload: ImportUpload, mapping: dict[str, SheetMapping]) -> None:
    upload.mapping = {name: m.as_json() for name, m in mapping.items()}


def preview(upload: ImportUpload, sheets: list[RawSheet] | None = None) -> Plan:
    return plan_import(upload.strategy, sheets if sheets is not None else sheets_of(upload), mapping_of(upload))


def run_import(upload: ImportUpload, user: User) -> tuple[Plan, Outcome | None, Strategy | None]:
    """Plan again (the state may have moved since the preview) and, without problems, store everything.
    Returns the plan, the outcome (None: nothing stored) and the strategy. The caller commits."""
    from ..admin.strategies import create_strategy

    plan = preview(upload)
    strategy = upload.strategy
    if not plan.ok:
        return plan, None, strategy
    created = strategy is None
    if created:
        wanted = upload.new_strategy or {}
        strategy = create_strategy(user, title=wanted.get("title", upload.filename), slug=wanted["slug"],
                                   subtitle="", framework_title="", description="", owner_organisation_id=None,
                                   visibility=Visibility.INTERNAL)
    outcome = apply_plan(plan, strategy, user, upload.filename, local_today())
    record_event(AuditAction.STRATEGY_IMPORT, user, object_type="strategy", object_id=strategy.id, detail={
        "file_type": upload.filename.rsplit(".", 1)[-1].lower()[:10], "new_strategy": created,
        "revisions": outcome.revisions, "fields_created": outcome.fields_created, **outcome.counts,
        "conflicts": plan.conflicts})
    db.session.delete(upload)
    return plan, outcome, strategy


def problems_csv(plan: Plan) -> bytes:
    """Every problem with its place, for the person fixing the file (UTF-8 with BOM, ";", like the export)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([_("Ort"), _("Problem")])
    for problem in plan.problems:
        writer.writerow([problem.place, problem.message])
    return ("\ufeff" + out.getvalue()).encode("utf-8")

"""Spreadsheet downloads (whatever the reader may read) and the import pages (steering and admins)."""
from __future__ import annotations

from flask import abort, current_app, request
from flask_login import current_user

from ..models import StepStatus
from ..permissions import (
    can_export_framework,
    can_view_funding,
    can_view_open_steps,
    get_strategy_or_404,
    public,
)
from . import bp
from .export import Sheet, workbook
from .writing import MIMETYPES, write_csv, write_ods, write_xlsx

FORMATS = tuple(MIMETYPES)
# The sheet a CSV download holds (a CSV file has one): ?blatt=<German name>.
CSV_SHEETS = {"handlungsrahmen": "framework", "schritte": "steps", "finanzierung": "financing",
              "kennzahlen": "indicators", "kennzahlwerte": "values"}


def _send(sheets: list[Sheet], fmt: str, stem: str, csv_sheet: str | None = None):
    if fmt == "xlsx":
        data = write_xlsx(sheets)
    elif fmt == "ods":
        data = write_ods(sheets)
    else:
        name = csv_sheet or request.args.get("blatt", "handlungsrahmen")
        sheet = next((s for s in sheets if s.spec.key == CSV_SHEETS.get(name)), None)
        if sheet is None:
            abort(404)
        data = write_csv(sheet)
        stem = stem if csv_sheet else f"{stem}-{name}"
    response = current_app.response_class(data, mimetype=MIMETYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    # Drafts and approved content differ per reader: never in a shared cache.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        abort(404)
    return fmt


@bp.route("/<slug>/handlungsrahmen.<fmt>")
@public
def framework_sheet(slug: str, fmt: str):
    strategy = get_strategy_or_404(slug)
    fmt = _format(fmt)
    if not can_export_framework(current_user, strategy):
        abort(404)
    return _send(workbook(current_user, strategy), fmt, f"Handlungsrahmen-{strategy.slug}")


@bp.route("/<slug>/offene-schritte.<fmt>")
def open_steps_sheet(slug: str, fmt: str):
    strategy = get_strategy_or_404(slug)
    fmt = _format(fmt)
    if not can_view_open_steps(current_user, strategy):
        abort(403)
    steps = [s for s in workbook(current_user, strategy) if s.spec.key == "steps"]
    open_labels = {str(s.label) for s in StepStatus if s.is_open}
    for sheet in steps:
        status = sheet.keys.index("status")
        sheet.rows = [row for row in sheet.rows if str(row[status]) in open_labels]
    return _send(steps, fmt, f"Offene-Schritte-{strategy.slug}", csv_sheet="schritte")


@bp.route("/<slug>/finanzierung.<fmt>")
@public
def funding_sheet(slug: str, fmt: str):
    strategy = get_strategy_or_404(slug)
    fmt = _format(fmt)
    if not can_view_funding(current_user, strategy):
        abort(403)
    return _send([s for s in workbook(current_user, strategy) if s.spec.key == "financing"], fmt,
                 f"Finanzierung-{strategy.slug}", csv_sheet="finanzierung")

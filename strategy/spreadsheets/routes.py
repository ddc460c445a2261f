"""Spreadsheet downloads (whatever the reader may read) and the import pages (steering and admins)."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from ..extensions import db
from ..models import ImportUpload, StepStatus
from ..permissions import (
    can_create_strategy_from_file,
    can_export_framework,
    can_import,
    can_view_funding,
    can_view_open_steps,
    get_strategy_or_404,
    public,
    require,
)
from . import bp, services
from .columns import SHEETS, SHEETS_BY_KEY
from .export import Sheet, workbook
from .files import BadFile, check_size, column_letter
from .forms import MappingForm, NewStrategyUploadForm, UploadForm
from .imports import SheetMapping, cell_text, guess_sheet
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
        sheet.title = _("Offene Schritte")
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


# --- import -----------------------------------------------------------------------------------------

UPLOAD_ENDPOINTS = {"spreadsheets.import_upload", "spreadsheets.new_strategy_upload"}


@bp.url_value_preprocessor
def _allow_large_uploads(endpoint, values):
    # Runs before every before_request function (the CSRF check reads the form): an upload may be larger
    # than any other form, up to IMPORT_MAX_BYTES (plus the form's other fields).
    if endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = current_app.config.get("IMPORT_MAX_BYTES", 20_000_000) + 65_536
        request.max_form_memory_size = request.max_content_length


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    limit = current_app.config.get("IMPORT_MAX_BYTES", 20_000_000)
    message = _("Die Datei ist zu groß; höchstens %(max)s MB sind möglich.", max=f"{limit / 1_000_000:.0f}")
    return render_template("spreadsheets/too_large.html", message=message), 413


def _read_file(form) -> tuple[str, bytes] | None:
    upload = form.file.data
    filename = (upload.filename or "datei").replace("\\", "/").rsplit("/", 1)[-1]
    data = upload.read()
    try:
        check_size(len(data))
    except BadFile as error:
        form.file.errors.append(str(error))
        return None
    return filename, data


@bp.route("/<slug>/import", methods=["GET", "POST"])
def import_upload(slug: str):
    strategy = get_strategy_or_404(slug)
    require(can_import(current_user, strategy))
    form = UploadForm()
    if form.validate_on_submit() and (read := _read_file(form)) is not None:
        try:
            upload = services.store_upload(current_user, strategy, *read)
        except BadFile as error:
            form.file.errors.append(str(error))
        else:
            db.session.commit()
            return redirect(url_for(".import_mapping", upload_id=upload.id))
    return render_template("spreadsheets/upload.html", form=form, strategy=strategy), 200 if not form.errors else 422


@bp.route("/neu-aus-datei", methods=["GET", "POST"])
def new_strategy_upload():
    require(can_create_strategy_from_file(current_user))
    form = NewStrategyUploadForm()
    if form.validate_on_submit() and (read := _read_file(form)) is not None:
        try:
            upload = services.store_upload(current_user, None, *read,
                                           new_strategy={"title": form.title.data, "slug": form.slug.data})
        except BadFile as error:
            form.file.errors.append(str(error))
        else:
            db.session.commit()
            return redirect(url_for(".import_mapping", upload_id=upload.id))
    return render_template("spreadsheets/upload.html", form=form, strategy=None), 200 if not form.errors else 422


def _upload_or_404(upload_id: int) -> ImportUpload:
    """An upload is its uploader's own: anyone else gets a 404, and the uploader needs the right still."""
    upload = db.session.get(ImportUpload, upload_id)
    if upload is None or upload.user_id != getattr(current_user, "id", None):
        abort(404)
    if upload.strategy is not None:
        get_strategy_or_404(upload.strategy.slug)
        require(can_import(current_user, upload.strategy))
    else:
        require(can_create_strategy_from_file(current_user))
    return upload


def _sheets_or_redirect(upload: ImportUpload):
    try:
        return services.sheets_of(upload)
    except BadFile as error:  # limits lowered since the upload: say so on the upload page
        flash(str(error), "error")
        return None


def _back_to_upload(upload: ImportUpload):
    if upload.strategy is not None:
        return redirect(url_for(".import_upload", slug=upload.strategy.slug))
    return redirect(url_for(".new_strategy_upload"))


@bp.route("/import/<id:upload_id>", methods=["GET", "POST"])
def import_mapping(upload_id: int):
    upload = _upload_or_404(upload_id)
    sheets = _sheets_or_redirect(upload)
    if sheets is None:
        return _back_to_upload(upload)
    mapping = services.mapping_of(upload)
    form = MappingForm()
    if form.validate_on_submit():
        wanted = {}
        for index, sheet in enumerate(sheets):
            kind = request.form.get(f"sheet-{index}", "")
            kind = kind if kind in SHEETS_BY_KEY else ""
            before = mapping.get(sheet.name) or guess_sheet(sheet)
            if kind and kind != before.kind:  # another kind of sheet: its columns are guessed afresh
                guessed = guess_sheet(sheet)
                wanted[sheet.name] = (guessed if guessed.kind == kind
                                      else SheetMapping(kind, before.header_row, {}, before.partial))
                continue
            keys = {c.key for c in SHEETS_BY_KEY[kind].columns} if kind else set()
            columns = {}
            width = len(sheet.rows[before.header_row]) if sheet.rows else 0
            for col in range(width):
                key = request.form.get(f"col-{index}-{col}", "")
                if key in keys and key not in columns.values():
                    columns[col] = key
            wanted[sheet.name] = SheetMapping(kind, before.header_row, columns, before.partial)
        services.set_mapping(upload, wanted)
        db.session.commit()
        if request.form.get("action") == "save":
            flash(_("Die Zuordnung ist gespeichert."), "success")
            return redirect(url_for(".import_mapping", upload_id=upload.id))
        return redirect(url_for(".import_preview", upload_id=upload.id))
    return render_template("spreadsheets/mapping.html", upload=upload, sheets=list(enumerate(sheets)),
                           mapping=mapping, form=form, specs=SHEETS, specs_by_key=SHEETS_BY_KEY,
                           column_letter=column_letter, cell_text=cell_text, strategy=upload.strategy)


@bp.route("/import/<id:upload_id>/vorschau", methods=["GET", "POST"])
def import_preview(upload_id: int):
    upload = _upload_or_404(upload_id)
    form = MappingForm()
    if form.validate_on_submit():
        plan, outcome, strategy = services.run_import(upload, current_user)
        if outcome is not None:
            db.session.commit()
            flash(ngettext("Import abgeschlossen: %(num)d Handlungsfeld geändert.",
                           "Import abgeschlossen: %(num)d Handlungsfelder geändert.", outcome.revisions), "success")
            return redirect(url_for("fields.overview", slug=strategy.slug))
        db.session.rollback()
        flash(_("Es wurde nichts gespeichert: die Datei hat Probleme (siehe unten)."), "error")
    sheets = _sheets_or_redirect(upload)
    if sheets is None:
        return _back_to_upload(upload)
    plan = services.preview(upload, sheets)
    return render_template("spreadsheets/preview.html", upload=upload, plan=plan, form=form,
                           strategy=upload.strategy), 200 if plan.ok else 422


@bp.route("/import/<id:upload_id>/probleme.csv")
def import_problems(upload_id: int):
    upload = _upload_or_404(upload_id)
    sheets = _sheets_or_redirect(upload)
    if sheets is None:
        return _back_to_upload(upload)
    response = current_app.response_class(services.problems_csv(services.preview(upload, sheets)),
                                          mimetype=MIMETYPES["csv"])
    response.headers["Content-Disposition"] = 'attachment; filename="Importprobleme.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response

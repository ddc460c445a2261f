"""Admin views: parse the form, call a service, commit, flash, redirect. Every view needs can_manage."""
from __future__ import annotations

import functools
import json

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import BuildError

from .. import audit
from ..auth.throttling import unlock_account
from ..auth.totp import disable_totp
from ..errors import error_response
from ..extensions import db
from ..models import Field, Organisation, Person, Strategy, User, utcnow
from ..permissions import can_erase_person, can_lock_out, can_manage, require
from ..security import keeps_input
from ..settings import set_two_factor_required, two_factor_required_for_privileged
from . import accounts, bp, gdpr, numbering, people, strategies
from .changes import fields_naming
from .forms import (
    ROLE_LABELS,
    VISIBILITY_LABELS,
    AccountForm,
    AuditFilterForm,
    FieldForm,
    OrganisationForm,
    PersonForm,
    SettingsForm,
    StrategyForm,
    access_form,
)


@bp.before_request
def require_manager():
    """The whole blueprint is for admins; anonymous visitors were already sent to the login page."""
    require(can_manage(current_user))


def form_view(view):
    """A form page. After an expired CSRF token it gets its form back with what was typed (security.keeps_input);
    that re-display runs from the error handler, outside the blueprint's before_request, so the permission is
    checked here as well."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        if not can_manage(current_user):
            if g.get("redisplaying_form"):  # inside the error handler: answer, do not raise again
                return error_response(403)
            abort(403)
        return view(*args, **kwargs)

    return keeps_input(checked)


@bp.context_processor
def _admin_globals():
    return {"role_labels": ROLE_LABELS, "visibility_labels": VISIBILITY_LABELS,
            "action_label": audit.action_label, "audit_detail": audit.detail_rows}


def _commit(form=None, field_name: str | None = None) -> bool:
    """Commit; on a unique-constraint race (another admin saved the same name just now) keep the form."""
    try:
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
        if form is not None and field_name:
            form[field_name].errors = list(form[field_name].errors) + [
                _("Dieser Wert wurde gerade anderweitig vergeben. Bitte wählen Sie einen anderen.")]
        else:
            flash(_("Die Änderung kollidierte mit einer gleichzeitigen Änderung. Bitte versuchen Sie es erneut."),
                  "error")
        return False


def _link_page(account: User, link: str, *, new: bool) -> Response:
    """The one-time link, shown once: never cached, never put into the session or a flash message."""
    validity = current_app.config["AUTH_SET_PASSWORD_LINK_VALIDITY"]
    return _no_store(render_template("admin/password_link.html", account=account, link=link, new=new,
                                     validity_hours=int(validity.total_seconds() // 3600)))


def _no_store(response) -> Response:
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/")
def index():
    counts = {
        "strategies": db.session.scalar(db.select(db.func.count(Strategy.id))),
        "organisations": db.session.scalar(db.select(db.func.count(Organisation.id))),
        "people": db.session.scalar(db.select(db.func.count(Person.id)).filter_by(is_deleted=False)),
        "accounts": db.session.scalar(db.select(db.func.count(User.id)).filter_by(active=True)),
    }
    return render_template("admin/index.html", counts=counts)


# --- strategies ----------------------------------------------------------------------------------------

@bp.route("/strategien")
def strategy_list():
    return render_template("admin/strategies.html", strategies=strategies.strategies())


@bp.route("/strategien/neu", methods=["GET", "POST"])
@form_view
def strategy_create():
    form = StrategyForm()
    if form.validate_on_submit():
        strategy = strategies.create_strategy(current_user, **form.values())
        if _commit(form, "slug"):
            flash(_("Die Strategie „%(title)s“ ist angelegt. Legen Sie jetzt ihre Handlungsfelder an.",
                    title=strategy.title), "success")
            return redirect(url_for(".field_list", strategy_id=strategy.id))
    return render_template("admin/strategy_form.html", form=form, strategy=None)


@bp.route("/strategien/<id:strategy_id>/bearbeiten", methods=["GET", "POST"])
@form_view
def strategy_edit(strategy_id: int):
    strategy = db.get_or_404(Strategy, strategy_id)
    form = StrategyForm(obj=strategy, strategy=strategy)
    if form.validate_on_submit():
        changes = strategies.update_strategy(current_user, strategy, **form.values())
        if _commit(form, "slug"):
            flash(_("Die Strategie ist gespeichert.") if changes else _("Es gab nichts zu ändern."), "success")
            return redirect(url_for(".strategy_list"))
    return render_template("admin/strategy_form.html", form=form, strategy=strategy)


# --- fields --------------------------------------------------------------------------------------------

def row_editor_url(field: Field) -> str | None:
    """The row editor (working groups, responsible persons, the row's text), built by the fields blueprint."""
    try:
        return url_for("fields.edit_field", slug=field.strategy.slug, number=field.number)
    except BuildError:
        return None


@bp.route("/strategien/<id:strategy_id>/handlungsfelder")
def field_list(strategy_id: int):
    strategy = db.get_or_404(Strategy, strategy_id)
    fields = strategies.strategy_fields(strategy)
    live = [f for f in fields if not f.is_archived]
    numbers = [f.number for f in live]
    return render_template("admin/fields.html", strategy=strategy, live=live,
                           archived=[f for f in fields if f.is_archived],
                           has_gaps=numbers != list(range(1, len(numbers) + 1)) or len(live) < len(fields),
                           row_editor_url=row_editor_url)


@bp.route("/strategien/<id:strategy_id>/handlungsfelder/neu", methods=["GET", "POST"])
@form_view
def field_create(strategy_id: int):
    strategy = db.get_or_404(Strategy, strategy_id)
    form = FieldForm()
    if form.validate_on_submit():
        field = strategies.add_field(current_user, strategy, **form.values())
        if _commit():
            flash(_("Handlungsfeld %(num)d „%(title)s“ ist angelegt.", num=field.number, title=field.title),
                  "success")
            return redirect(url_for(".field_list", strategy_id=strategy.id))
    return render_template("admin/field_form.html", form=form, strategy=strategy, field=None)


@bp.route("/handlungsfelder/<id:field_id>/bearbeiten", methods=["GET", "POST"])
@form_view
def field_edit(field_id: int):
    field = db.get_or_404(Field, field_id)
    form = FieldForm(obj=field)
    if form.validate_on_submit():
        revision = strategies.edit_field(current_user, field, **form.values())
        if _commit():
            flash(_("Handlungsfeld %(num)d ist gespeichert; die Änderung steht in seinem Verlauf.",
                    num=field.number) if revision else _("Es gab nichts zu ändern."), "success")
            return redirect(url_for(".field_list", strategy_id=field.strategy_id))
    return render_template("admin/field_form.html", form=form, strategy=field.strategy, field=field,
                           row_editor_url=row_editor_url(field) if not field.is_archived else None)


@bp.route("/handlungsfelder/<id:field_id>/verschieben", methods=["POST"])
def field_move(field_id: int):
    field = db.get_or_404(Field, field_id)
    offsets = {"up": -1, "down": 1}
    if request.form.get("direction") not in offsets:
        abort(400)
    try:
        moved = numbering.move_field(current_user, field, offsets[request.form["direction"]])
    except numbering.StaleStructure:
        db.session.rollback()
        flash(_("Dieses Handlungsfeld ist archiviert und hat keinen Platz in der Reihenfolge."), "error")
        return redirect(url_for(".field_list", strategy_id=field.strategy_id))
    if _commit() and moved:
        flash(_("Die Reihenfolge ist gespeichert: %(moves)s.",
                moves=", ".join(f"{a} → {b}" for a, b in sorted(moved.items()))), "success")
    return redirect(url_for(".field_list", strategy_id=field.strategy_id, _anchor=f"field-{field.id}"))


@bp.route("/strategien/<id:strategy_id>/handlungsfelder/nummerierung", methods=["POST"])
def field_renumber(strategy_id: int):
    strategy = db.get_or_404(Strategy, strategy_id)
    moved = numbering.close_number_gaps(current_user, strategy)
    if _commit():
        flash(_("Die Handlungsfelder sind lückenlos nummeriert.") if moved else _("Es gab nichts zu ändern."),
              "success")
    return redirect(url_for(".field_list", strategy_id=strategy.id))


@bp.route("/handlungsfelder/<id:field_id>/archivieren", methods=["POST"])
def field_archive(field_id: int):
    field = db.get_or_404(Field, field_id)
    if strategies.set_field_archived(current_user, field, True) and _commit():
        flash(_("Handlungsfeld %(num)d ist archiviert. Sein Verlauf bleibt erhalten.", num=field.number), "success")
    return redirect(url_for(".field_list", strategy_id=field.strategy_id))


@bp.route("/handlungsfelder/<id:field_id>/wiederherstellen", methods=["POST"])
def field_unarchive(field_id: int):
    field = db.get_or_404(Field, field_id)
    if strategies.set_field_archived(current_user, field, False) and _commit():
        flash(_("Handlungsfeld %(num)d ist wieder Teil des Handlungsrahmens.", num=field.number), "success")
    return redirect(url_for(".field_list", strategy_id=field.strategy_id))


# --- organisations -------------------------------------------------------------------------------------

@bp.route("/organisationen")
def organisation_list():
    return render_template("admin/organisations.html", organisations=people.organisations())


@bp.route("/organisationen/neu", methods=["GET", "POST"])
@form_view
def organisation_create():
    form = OrganisationForm()
    if form.validate_on_submit():
        organisation = people.create_organisation(current_user, **form.values())
        if _commit(form, "name"):
            flash(_("Die Organisation „%(name)s“ ist angelegt.", name=organisation.name), "success")
            return redirect(url_for(".organisation_list"))
    return render_template("admin/organisation_form.html", form=form, organisation=None)


@bp.route("/organisationen/<id:organisation_id>/bearbeiten", methods=["GET", "POST"])
@form_view
def organisation_edit(organisation_id: int):
    organisation = db.get_or_404(Organisation, organisation_id)
    form = OrganisationForm(obj=organisation, organisation=organisation)
    if form.validate_on_submit():
        changes = people.update_organisation(current_user, organisation, **form.values())
        if _commit(form, "name"):
            flash(_("Die Organisation ist gespeichert.") if changes else _("Es gab nichts zu ändern."), "success")
            return redirect(url_for(".organisation_list"))
    return render_template("admin/organisation_form.html", form=form, organisation=organisation)


# --- people --------------------------------------------------------------------------------------------

@bp.route("/personen")
def person_list():
    return render_template("admin/people.html", people=people.people())


@bp.route("/personen/neu", methods=["GET", "POST"])
@form_view
def person_create():
    form = PersonForm()
    if form.validate_on_submit():
        person = people.create_person(current_user, **form.values())
        if _commit():
            flash(_("%(name)s ist angelegt.", name=person.name), "success")
            return redirect(url_for(".person_list"))
    return render_template("admin/person_form.html", form=form, person=None)


def _live_person_or_404(person_id: int) -> Person:
    person = db.get_or_404(Person, person_id)
    if person.is_deleted:
        abort(404)
    return person


@bp.route("/personen/<id:person_id>/bearbeiten", methods=["GET", "POST"])
@form_view
def person_edit(person_id: int):
    person = _live_person_or_404(person_id)
    form = PersonForm(obj=person)
    if form.validate_on_submit():
        changes = people.update_person(current_user, person, **form.values())
        if _commit():
            flash(_("Die Angaben sind gespeichert.") if changes else _("Es gab nichts zu ändern."), "success")
            return redirect(url_for(".person_list"))
    return render_template("admin/person_form.html", form=form, person=person)


@bp.route("/personen/<id:person_id>/loeschen", methods=["GET", "POST"])
def person_delete(person_id: int):
    person = _live_person_or_404(person_id)
    require(can_erase_person(current_user, person))
    if request.method == "POST":
        numbers = gdpr.erase_person(current_user, person)
        if _commit():
            flash(_("Die Person ist gelöscht. Wo sie genannt war, steht im Verlauf weiter der alte Stand; "
                    "betroffene Handlungsfelder: %(fields)s.", fields=", ".join(map(str, numbers)) or "–"),
                  "success")
        return redirect(url_for(".person_list"))
    field_ids = fields_naming(person_id=person.id)
    fields = db.session.scalars(db.select(Field).where(Field.id.in_(field_ids)).order_by(Field.number)).all()
    return render_template("admin/person_delete.html", person=person, fields=fields)


def _json_download(data: dict, filename: str) -> Response:
    response = Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/personen/<id:person_id>/auskunft", methods=["POST"])
def person_export(person_id: int):
    person = db.get_or_404(Person, person_id)
    data = gdpr.personal_data(current_user, person=person)
    db.session.commit()
    return _json_download(data, f"auskunft-person-{person.id}.json")


# --- accounts ------------------------------------------------------------------------------------------

@bp.route("/konten")
def account_list():
    return render_template("admin/accounts.html", accounts=accounts.accounts())


@bp.route("/konten/neu", methods=["GET", "POST"])
@form_view
def account_create():
    form = AccountForm()
    if form.validate_on_submit():
        account, link = accounts.create_account(current_user, **form.values())
        if _commit(form, "email"):
            return _link_page(account, link, new=True)
    return render_template("admin/account_form.html", form=form, account=None)


def _account_page(account: User, form=None, access=None):
    all_strategies = strategies.strategies()
    fields = {s.id: s.all_fields for s in all_strategies}
    form = form or AccountForm(obj=account, account=account, may_change_admin=can_lock_out(current_user, account))
    access = access or access_form(all_strategies, fields, account)
    return render_template("admin/account.html", account=account, form=form, access=access,
                           strategies=all_strategies, now=utcnow())


@bp.route("/konten/<id:account_id>", methods=["GET", "POST"])
@form_view
def account_edit(account_id: int):
    account = db.get_or_404(User, account_id)
    form = AccountForm(obj=account, account=account, may_change_admin=can_lock_out(current_user, account))
    if form.validate_on_submit():
        changes = accounts.update_account(current_user, account, **form.values())
        if _commit(form, "email"):
            flash(_("Das Konto ist gespeichert.") if changes else _("Es gab nichts zu ändern."), "success")
            return redirect(url_for(".account_edit", account_id=account.id))
    return _account_page(account, form=form)


@bp.route("/konten/<id:account_id>/rollen", methods=["POST"])
@form_view
def account_access(account_id: int):
    account = db.get_or_404(User, account_id)
    all_strategies = strategies.strategies()
    access = access_form(all_strategies, {s.id: s.all_fields for s in all_strategies}, account)
    if access.validate_on_submit():
        accounts.set_access(current_user, account, access.roles(), access.field_ids())
        if _commit():
            flash(_("Rollen und Handlungsfelder sind gespeichert."), "success")
            return redirect(url_for(".account_edit", account_id=account.id, _anchor="zugriff"))
    return _account_page(account, access=access)


@bp.route("/konten/<id:account_id>/passwort-link", methods=["POST"])
def account_password_link(account_id: int):
    account = db.get_or_404(User, account_id)
    if not account.active:
        flash(_("Das Konto ist deaktiviert. Reaktivieren Sie es, bevor Sie einen Link erstellen."), "error")
        return redirect(url_for(".account_edit", account_id=account.id))
    link = accounts.issue_password_link(current_user, account)
    db.session.commit()
    return _link_page(account, link, new=False)


@bp.route("/konten/<id:account_id>/deaktivieren", methods=["POST"])
def account_deactivate(account_id: int):
    account = db.get_or_404(User, account_id)
    require(can_lock_out(current_user, account))
    if accounts.set_account_active(current_user, account, False) and _commit():
        flash(_("Das Konto %(email)s ist deaktiviert; alle seine Sitzungen sind beendet.", email=account.email),
              "success")
    return redirect(url_for(".account_edit", account_id=account.id))


@bp.route("/konten/<id:account_id>/reaktivieren", methods=["POST"])
def account_reactivate(account_id: int):
    account = db.get_or_404(User, account_id)
    if accounts.set_account_active(current_user, account, True) and _commit():
        flash(_("Das Konto %(email)s ist wieder aktiv.", email=account.email), "success")
    return redirect(url_for(".account_edit", account_id=account.id))


@bp.route("/konten/<id:account_id>/entsperren", methods=["POST"])
def account_unlock(account_id: int):
    account = db.get_or_404(User, account_id)
    unlock_account(account, by=current_user)
    if _commit():
        flash(_("Die Anmeldesperre ist aufgehoben."), "success")
    return redirect(url_for(".account_edit", account_id=account.id, _anchor="zugang"))


@bp.route("/konten/<id:account_id>/zwei-faktor-ausschalten", methods=["POST"])
def account_disable_two_factor(account_id: int):
    account = db.get_or_404(User, account_id)
    if account.totp_secret:
        disable_totp(account, by=current_user)
        if _commit():
            flash(_("Die Zwei-Faktor-Anmeldung ist ausgeschaltet; die Person kann sie neu einrichten."), "success")
    return redirect(url_for(".account_edit", account_id=account.id, _anchor="zugang"))


@bp.route("/konten/<id:account_id>/auskunft", methods=["POST"])
def account_export(account_id: int):
    account = db.get_or_404(User, account_id)
    data = gdpr.personal_data(current_user, account=account)
    db.session.commit()
    return _json_download(data, f"auskunft-konto-{account.id}.json")


# --- settings ------------------------------------------------------------------------------------------

@bp.route("/einstellungen", methods=["GET", "POST"])
@form_view
def settings():
    form = SettingsForm(data={"two_factor_required": two_factor_required_for_privileged()})
    if form.validate_on_submit():
        if form.two_factor_required.data != two_factor_required_for_privileged():
            set_two_factor_required(form.two_factor_required.data, by=current_user)  # writes the audit event
            db.session.commit()
            flash(_("Die Einstellungen sind gespeichert."), "success")
        else:
            flash(_("Es gab nichts zu ändern."), "success")
        return redirect(url_for(".settings"))
    return render_template("admin/settings.html", form=form)


# --- audit log -----------------------------------------------------------------------------------------

@bp.route("/protokoll")
def audit_log():
    users = db.session.scalars(db.select(User).order_by(db.func.lower(User.email))).all()
    actions = [(a, audit.action_label(a)) for a in audit.recorded_actions()]
    form = AuditFilterForm(request.args, actions=actions, users=users)
    filters = {"action": None, "actor_id": None}
    if request.args and not form.validate():
        flash(_("Dieser Filter ist ungültig; es werden alle Einträge gezeigt."), "error")
    elif request.args:
        filters = {"action": form.action.data or None, "actor_id": form.user.data}
    page = request.args.get("page", 1, type=int)
    events = audit.events(**filters, page=max(page, 1))
    return render_template("admin/audit.html", form=form, events=events, names=audit.Names(events.items),
                           query={k: v for k, v in (("action", filters["action"]), ("user", filters["actor_id"]))
                                  if v})


# --- outgoing e-mail -------------------------------------------------------------------------------

@bp.route("/e-mails")
def mail_list():
    """Every message the app queued, newest first; without MAIL_SERVER this is where they are read (the demo)."""
    from ..models import OutgoingMail

    page = request.args.get("page", 1, type=int)
    mails = db.paginate(db.select(OutgoingMail).order_by(OutgoingMail.created_at.desc(), OutgoingMail.id.desc()),
                        page=max(page, 1), per_page=50, error_out=False)
    return render_template("admin/mails.html", mails=mails, smtp=bool(current_app.config.get("MAIL_SERVER")))


@bp.route("/e-mails/<id:mail_id>")
def mail_detail(mail_id: int):
    from ..models import OutgoingMail

    mail = db.session.get(OutgoingMail, mail_id)
    if mail is None:
        abort(404)
    return render_template("admin/mail.html", mail=mail)

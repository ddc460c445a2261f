"""A user's own API tokens: create (shown once), list, revoke."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..audit import AuditAction, record_event
from ..extensions import db
from ..forms import BaseForm
from ..models import ApiToken
from . import tokens_bp
from .auth import create_token, revoke


class TokenForm(BaseForm):
    name = StringField(_l("Bezeichnung"), validators=[
        DataRequired(_l("Bitte geben Sie eine Bezeichnung ein, z. B. wofür Sie den Schlüssel nutzen.")),
        Length(max=100, message=_l("Bitte höchstens 100 Zeichen."))])


class RevokeForm(BaseForm):
    pass


def _tokens():
    return db.session.scalars(
        db.select(ApiToken).filter_by(user_id=current_user.id).order_by(ApiToken.created_at.desc())
    ).all()


def _page(form, new_token: str | None = None, status: int = 200):
    response = render_template("api/tokens.html", form=form, revoke_form=RevokeForm(), tokens=_tokens(),
                               new_token=new_token)
    return response, status, {"Cache-Control": "no-store"}


@tokens_bp.route("/api-zugang", methods=["GET"])
def tokens():
    return _page(TokenForm())


@tokens_bp.route("/api-zugang", methods=["POST"])
def create():
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    token, clear = create_token(current_user, form.name.data)
    db.session.flush()
    record_event(AuditAction.API_TOKEN_CREATED, current_user, object_type="api_token", object_id=token.id)
    db.session.commit()
    return _page(TokenForm(formdata=None), new_token=clear)


@tokens_bp.route("/api-zugang/<id:token_id>/widerrufen", methods=["POST"])
def revoke_token(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)  # someone else's token: its existence is none of this user's business
    if RevokeForm().validate_on_submit():
        revoke(token)
        record_event(AuditAction.API_TOKEN_REVOKED, current_user, object_type="api_token", object_id=token.id)
        db.session.commit()
        flash(_("Der Schlüssel „%(name)s“ ist widerrufen und funktioniert nicht mehr.", name=token.name), "success")
    return redirect(url_for("api_tokens.tokens"))

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from ..core.routes import _safe_next
from ..extensions import db, login_manager
from ..models import User
from ..permissions import public
from . import bp
from .forms import LoginForm
from .services import authenticate, record_event

login_manager.login_view = "auth.login"
login_manager.login_message = None


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    return db.session.get(User, int(user_id))


@bp.route("/anmelden", methods=["GET", "POST"])
@public
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        db.session.commit()
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append(_("E-Mail-Adresse oder Passwort ist falsch."))
    return render_template("auth/login.html", form=form)


@bp.route("/abmelden", methods=["POST"])
def logout():
    from flask_login import current_user

    record_event("logout", current_user)
    db.session.commit()
    logout_user()
    flash(_("Sie sind abgemeldet."), "info")
    return redirect(url_for("core.landing"))

"""Login, two-factor step, logout, set-password links and the account page. Views are thin: form → service → commit."""
from __future__ import annotations

from datetime import datetime

import segno
from flask import abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from ..extensions import db, login_manager
from ..models import User, utcnow
from ..permissions import public
from ..security import safe_redirect, safe_target
from ..settings import two_factor_mandatory_for
from . import bp, links, sessions, totp
from .devices import describe_device, remember_device
from .forms import (
    ChangePasswordForm,
    ConfirmForm,
    DisableTwoFactorForm,
    EnableTwoFactorForm,
    ForgotPasswordForm,
    LoginForm,
    SetPasswordForm,
    TwoFactorForm,
)
from .login import (
    PENDING_TWO_FACTOR_KEY,
    LoginAttempt,
    check_password_login,
    check_two_factor_login,
    complete_login,
)
from .passwords import change_password as change_account_password
from .passwords import too_long, verify_password
from .totp import SETUP_TWO_FACTOR_KEY

login_manager.login_view = "auth.login"
login_manager.login_message = None
login_manager.user_loader(sessions.load_session_user)

# Reachable while a mandatory two-factor setup is still open.
_SETUP_ALLOWED = {"auth.two_factor_setup", "auth.logout", "static", "core.set_language"}


@bp.before_app_request
def load_login_first():
    """Resolve the login before any view code runs: the session check may write "last seen" on its own
    connection, which must not wait behind a write the view has already started (SQLite allows one writer).
    A request whose session names no user (every anonymous one) has nothing to check: it stays lazy."""
    if request.endpoint != "static" and "_user_id" in session:
        current_user._get_current_object()


@bp.before_app_request
def require_two_factor_setup():
    """Admins and steering members sent to set up two-factor login go nowhere else until they have."""
    if session.get(SETUP_TWO_FACTOR_KEY) and request.endpoint not in _SETUP_ALLOWED and current_user.is_authenticated:
        return redirect(url_for("auth.two_factor_setup"))
    return None


def _throttled(form, attempt: LoginAttempt, template: str, **context):
    minutes = (attempt.retry_after_seconds + 59) // 60
    if attempt.retry_after_seconds <= 60:
        message = _("Zu viele fehlgeschlagene Anmeldeversuche. Bitte warten Sie %(n)d Sekunden und versuchen Sie "
                    "es dann erneut.", n=attempt.retry_after_seconds)
    else:
        message = _("Zu viele fehlgeschlagene Anmeldeversuche: Die Anmeldung ist vorübergehend gesperrt. Bitte "
                    "versuchen Sie es in %(n)d Minuten erneut oder wenden Sie sich an die Administration.", n=minutes)
    response = make_response(render_template(template, form=form, alert=message, **context), 429)
    response.headers["Retry-After"] = str(attempt.retry_after_seconds)
    return response


@bp.route("/anmelden", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return safe_redirect(request.args.get("next"))
    form = LoginForm()
    if form.validate_on_submit():
        attempt = check_password_login(form.email.data, form.password.data)
        if attempt.blocked_until is not None:
            db.session.commit()
            return _throttled(form, attempt, "auth/login.html")
        if attempt.user is None:
            db.session.commit()
            form.password.errors.append(_("E-Mail-Adresse oder Passwort ist falsch."))
            return render_template("auth/login.html", form=form)
        user = attempt.user
        target = safe_target(request.args.get("next"))
        if user.totp_secret:
            db.session.commit()
            session[PENDING_TWO_FACTOR_KEY] = {"user_id": user.id, "started": utcnow().isoformat(),
                                               "next": target}
            return redirect(url_for("auth.two_factor"))
        return _finish_login(user, target)
    return render_template("auth/login.html", form=form)


def _finish_login(user: User, target: str):
    complete_login(user)
    mandatory = not user.totp_secret and two_factor_mandatory_for(user)
    db.session.commit()
    if mandatory:
        session[SETUP_TWO_FACTOR_KEY] = True
        flash(_("Für Ihr Konto ist die Anmeldung in zwei Schritten vorgeschrieben. Bitte richten Sie sie jetzt ein."),
              "info")
        target = url_for("auth.two_factor_setup")
    return remember_device(safe_redirect(target), user)


def _pending_user() -> tuple[User | None, str]:
    pending = session.get(PENDING_TWO_FACTOR_KEY)
    if not isinstance(pending, dict):
        return None, ""
    try:
        started = datetime.fromisoformat(pending["started"])
        user = db.session.get(User, int(pending["user_id"]))
    except (KeyError, TypeError, ValueError):
        return None, ""
    from flask import current_app

    if user is None or utcnow() - started > current_app.config["AUTH_TWO_FACTOR_PENDING"]:
        return None, ""
    return user, safe_target(pending.get("next"))


@bp.route("/anmelden/code", methods=["GET", "POST"])
@public
def two_factor():
    user, target = _pending_user()
    if user is None:
        session.pop(PENDING_TWO_FACTOR_KEY, None)
        flash(_("Bitte melden Sie sich erneut an."), "info")
        return redirect(url_for("auth.login"))
    form = TwoFactorForm()
    if form.validate_on_submit():
        attempt = check_two_factor_login(user, form.code.data)
        db.session.commit()
        if attempt.blocked_until is not None:
            session.pop(PENDING_TWO_FACTOR_KEY, None)
            return _throttled(LoginForm(formdata=None, email=user.email), attempt, "auth/login.html")
        if attempt.user is None:
            form.code.errors.append(_("Der Code stimmt nicht oder wurde schon benutzt. Bitte warten Sie auf den "
                                      "nächsten Code Ihrer App."))
            return render_template("auth/two_factor.html", form=form)
        return _finish_login(user, target)
    return render_template("auth/two_factor.html", form=form)


@bp.route("/abmelden", methods=["POST"])
def logout():
    sessions.logout(current_user._get_current_object())
    db.session.commit()
    flash(_("Sie sind abgemeldet – auf allen Geräten."), "info")
    return redirect(url_for("core.landing"))


@bp.route("/passwort-vergessen", methods=["GET", "POST"])
@public
def forgot_password():
    from .reset import request_password_reset

    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/forgot_password.html", form=form)
    blocked_until = request_password_reset(form.email.data)
    db.session.commit()
    if blocked_until is not None:
        seconds = max(1, int((blocked_until - utcnow()).total_seconds()))
        response = make_response(render_template(
            "auth/forgot_password.html", form=form,
            alert=_("Zu viele Anfragen. Bitte versuchen Sie es in %(n)d Minuten erneut.", n=(seconds + 59) // 60)),
            429)
        response.headers["Retry-After"] = str(seconds)
        return response
    # The same answer whether or not the address has an account.
    return render_template("auth/forgot_password.html", form=ForgotPasswordForm(formdata=None), sent=form.email.data)


def _no_referrer(response):
    """The page's URL holds a secret token: never send it on in a Referer or keep it in a cache."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/passwort-setzen", methods=["GET", "POST"])
@public
def set_password():
    # The token travels in the query string, which request logs leave out (strategy/logs.py).
    row, problem = links.find_set_password_token(request.args.get("token", ""))
    if row is None:
        return _no_referrer(make_response(render_template(
            "auth/link_invalid.html", message=links.link_problem_message(problem)), 410))
    form = SetPasswordForm()
    if form.validate_on_submit():
        problems = links.use_set_password_token(row, form.new_password.data)
        if not problems:
            account_id = row.user_id
            db.session.commit()
            if current_user.is_authenticated and current_user.id == account_id:
                sessions.forget_browser()  # its session ended with all others of the account
            flash(_("Ihr Passwort ist gespeichert. Sie können sich jetzt damit anmelden."), "success")
            return redirect(url_for("auth.login"))
        db.session.rollback()
        form.new_password.errors.extend(problems)
    return _no_referrer(make_response(render_template("auth/set_password.html", form=form, account=row.user)))


# --- the account page ----------------------------------------------------------------------------

def _account_page(status: int = 200, **forms):
    user = current_user._get_current_object()
    context = {
        "password_form": forms.get("password_form") or ChangePasswordForm(formdata=None),
        "disable_form": forms.get("disable_form") or DisableTwoFactorForm(formdata=None),
        "confirm_form": ConfirmForm(formdata=None),
        "sessions": [(row, describe_device(row.user_agent)) for row in sessions.active_sessions(user)],
        "current_session_id": sessions.current_session_id(),
        "two_factor_mandatory": two_factor_mandatory_for(user),
    }
    return render_template("auth/account.html", **context), status


@bp.route("/konto")
def account():
    return _account_page()


@bp.route("/konto/passwort", methods=["POST"])
def change_password():
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _account_page(password_form=form)
    user = current_user._get_current_object()
    errors = change_account_password(user, form.current_password.data, form.new_password.data,
                                     revoke_api_tokens=form.revoke_api_tokens.data)
    if errors:
        db.session.commit()  # the audit event of a failed attempt
        for name, messages in errors.items():
            form[name].errors = list(form[name].errors) + messages
        return _account_page(password_form=form)
    sessions.start_session(user)  # every old session ended; this browser gets a fresh one
    db.session.commit()
    flash(_("Ihr Passwort wurde geändert. Alle anderen Sitzungen Ihres Kontos wurden beendet."), "success")
    return redirect(url_for("auth.account"))


@bp.route("/konto/zwei-faktor", methods=["GET", "POST"])
def two_factor_setup():
    user = current_user._get_current_object()
    if user.totp_secret:
        return redirect(url_for("auth.account"))
    form = EnableTwoFactorForm()
    secret = totp.pending_totp_secret(user)
    db.session.commit()
    if form.validate_on_submit():
        if totp.enable_totp(user, secret, form.code.data):
            db.session.commit()
            session.pop(SETUP_TWO_FACTOR_KEY, None)
            flash(_("Die Anmeldung in zwei Schritten ist eingerichtet. Ab jetzt fragen wir bei jeder Anmeldung "
                    "nach einem Code aus Ihrer App. Alle anderen Sitzungen Ihres Kontos wurden beendet."), "success")
            return redirect(url_for("auth.account"))
        form.code.errors.append(_("Der Code passt nicht. Prüfen Sie, ob die Uhrzeit Ihres Geräts stimmt, und geben "
                                  "Sie den aktuellen Code ein."))
    uri = totp.totp_uri(user, secret)
    # segno renders the QR code as SVG offline; the SVG comes from our own URI, never from user input.
    qr_svg = Markup(segno.make(uri, error="m").svg_inline(scale=4, title=_("QR-Code für Ihre Authenticator-App")))
    return render_template("auth/two_factor_setup.html", form=form, secret=secret, uri=uri, qr_svg=qr_svg,
                           mandatory=bool(session.get(SETUP_TWO_FACTOR_KEY)))


@bp.route("/konto/zwei-faktor/ausschalten", methods=["POST"])
def two_factor_disable():
    user = current_user._get_current_object()
    form = DisableTwoFactorForm()
    if not user.totp_secret:
        return redirect(url_for("auth.account"))
    if two_factor_mandatory_for(user):
        flash(_("Für Ihre Rolle ist die Anmeldung in zwei Schritten vorgeschrieben; sie kann nicht ausgeschaltet "
                "werden."), "error")
        return redirect(url_for("auth.account"))
    if not form.validate_on_submit():
        return _account_page(disable_form=form)
    if too_long(form.password.data) or not verify_password(user.password_hash, form.password.data):
        form.password.errors = list(form.password.errors) + [_("Das Passwort stimmt nicht.")]
        return _account_page(disable_form=form)
    totp.disable_totp(user, by=user)
    db.session.commit()
    flash(_("Die Anmeldung in zwei Schritten ist ausgeschaltet."), "success")
    return redirect(url_for("auth.account"))


@bp.route("/konto/sitzungen/<id:session_id>/beenden", methods=["POST"])
def end_session(session_id: int):
    user = current_user._get_current_object()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not sessions.end_session(user, session_id):
        abort(404)
    db.session.commit()
    if session_id == sessions.current_session_id():
        sessions.forget_browser()
        flash(_("Diese Sitzung wurde beendet."), "info")
        return redirect(url_for("auth.login"))
    flash(_("Die Sitzung wurde beendet."), "success")
    return redirect(url_for("auth.account"))


@bp.route("/konto/sitzungen/andere-beenden", methods=["POST"])
def end_other_sessions():
    user = current_user._get_current_object()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    current = sessions.current_session_id()
    ended = 0
    for row in sessions.active_sessions(user):
        if row.id != current:
            ended += sessions.end_session(user, row.id)
    db.session.commit()
    flash(_("%(n)d andere Sitzung(en) beendet.", n=ended), "success")
    return redirect(url_for("auth.account"))

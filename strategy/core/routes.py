"""Landing page, language switch, health check and the deny-by-default gate."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, render_template, request, session
from flask_login import current_user

from ..days import local_today
from ..extensions import db
from ..forms import BaseForm
from ..models import Strategy
from ..permissions import can_view_strategy, public
from ..security import safe_redirect
from ..start.services import build_start_page
from . import bp


@bp.before_app_request
def deny_by_default():
    """Every endpoint needs a login unless its view is marked @public (static files are always public)."""
    if request.endpoint is None or request.endpoint == "static":
        return None
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "is_public", False) or current_user.is_authenticated:
        return None
    return current_app.login_manager.unauthorized()


@bp.route("/")
@public
def landing():
    strategies = db.session.scalars(db.select(Strategy).order_by(Strategy.title)).all()
    visible = [s for s in strategies if can_view_strategy(current_user, s)]
    if current_user.is_authenticated:
        # Signed in, the start page is the person's own: "Meine Aufgaben" (login lands here).
        today = local_today()
        return render_template("core/my_tasks.html", strategies=visible, start=build_start_page(current_user, today),
                               today=today, action_form=BaseForm())
    return render_template("core/landing.html", strategies=visible)


@bp.route("/sprache/<lang>", methods=["GET", "POST"])
@public
def set_language(lang: str):
    # GET is allowed so that the switch needs no CSRF token in the page (see base.html); it only sets
    # the reader's own language, and `next` is restricted to same-site paths.
    if lang not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = lang
    if current_user.is_authenticated and current_user.language != lang:
        current_user.language = lang  # e-mails to this person are written in it (strategy/mail.py)
        db.session.commit()
    return safe_redirect(request.values.get("next"))


@bp.route("/favicon.ico")
@public
def favicon():
    # Browsers ask for /favicon.ico whatever a page links (and feed readers, bookmarks, other tools do too).
    return current_app.send_static_file("favicon.ico")


@bp.route("/healthz")
@public
def healthz():
    # The database answers a query: straight on a pooled driver connection, without the ORM session or
    # SQLAlchemy's statement layer (a quarter of the cost). An unreachable database answers 503 (strategy.errors)
    # as on every page; the pool's reset on return ends PostgreSQL's implicit transaction.
    engine = db.engine
    driver_error = engine.dialect.loaded_dbapi.Error
    connection = None
    try:
        connection = engine.raw_connection()
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        finally:
            cursor.close()
    except driver_error as error:
        # What SQLAlchemy's statement layer does: drop the broken connection from the pool, raise its error.
        if connection is not None:
            connection.invalidate(error)
        raise sa.exc.DBAPIError.instance("SELECT 1", None, error, driver_error) from error
    finally:
        if connection is not None:
            connection.close()
    return current_app.response_class(HEALTHY, mimetype="application/json")


HEALTHY = b'{"status":"ok"}\n'

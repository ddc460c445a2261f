"""The notifications page, opening one (marks it read), and each person's preferences. Views are thin."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..models import Delivery
from . import bp, services
from .forms import MarkReadForm, preferences_form


@bp.route("/")
def index():
    user = current_user._get_current_object()
    page = services.notifications_of(user, page=max(request.args.get("page", 1, type=int), 1))
    return render_template("notifications/index.html", page=page, describe=services.describe,
                           target_path=services.target_path, form=MarkReadForm())


@bp.route("/<id:notification_id>")
def open(notification_id: int):  # noqa: A001 (the endpoint's name)
    """Mark read and go to the place it is about (also the link in its e-mail)."""
    notification = services.own_notification(current_user, notification_id)
    if notification is None:
        abort(404)
    services.mark_read(notification)
    target = services.target_path(notification)
    db.session.commit()
    if target is None:
        flash(_("Das, worum es in dieser Benachrichtigung ging, gibt es nicht mehr."), "info")
        return redirect(url_for("notifications.index"))
    return redirect(target)


@bp.route("/<id:notification_id>/gelesen", methods=["POST"])
def mark_read(notification_id: int):
    notification = services.own_notification(current_user, notification_id)
    if notification is None:
        abort(404)
    if not MarkReadForm().validate_on_submit():
        abort(400)
    services.mark_read(notification)
    db.session.commit()
    return redirect(url_for("notifications.index"))


@bp.route("/alle-gelesen", methods=["POST"])
def mark_all_read():
    if not MarkReadForm().validate_on_submit():
        abort(400)
    services.mark_all_read(current_user)
    db.session.commit()
    flash(_("Alle Benachrichtigungen sind als gelesen markiert."), "success")
    return redirect(url_for("notifications.index"))


@bp.route("/einstellungen", methods=["GET", "POST"])
def preferences():
    user = current_user._get_current_object()
    form = preferences_form(services.preferences(user))
    if form.validate_on_submit():
        services.set_preferences(user, {key: Delivery(form[key].data) for key in services.KINDS})
        db.session.commit()
        flash(_("Ihre Einstellungen sind gespeichert."), "success")
        return redirect(url_for("notifications.preferences"))
    return render_template("notifications/preferences.html", form=form, kinds=services.KINDS)

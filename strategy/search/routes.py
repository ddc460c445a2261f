"""The search page: form → services.search → grouped results."""
from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from ..extensions import db
from ..models import Strategy
from ..permissions import can_view_strategy, public
from . import bp
from .forms import SearchForm
from .services import search


@bp.route("/suche")
@public
def results():
    # The user itself rather than the proxy: the permission questions below are asked for every strategy
    # and block, and resolving `current_user` each time took most of a search's time with 400 strategies.
    user = current_user._get_current_object()
    # The strategy filter offers only what the reader may see: a hidden strategy is not even named.
    strategies = [s for s in db.session.scalars(db.select(Strategy).order_by(Strategy.title))
                  if can_view_strategy(user, s)]
    form = SearchForm(request.args, strategies=strategies)
    found = None
    if form.q.data and form.q.data.strip():
        form.validate()
        if not form.q.errors:
            found = search(user, form.q.data, form.filters(), strategies)
    return render_template("search/results.html", form=form, results=found)

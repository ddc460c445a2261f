"""The field page is composed in Python (fields.page.build_field_page); its templates only render it."""
from __future__ import annotations

import pytest
from flask_login import AnonymousUserMixin

from strategy.extensions import db
from strategy.fields.page import build_field_page
from strategy.models import Role, Visibility
from strategy.records.editor import RecordEditor, Submission
from strategy.records.forms import StepForm


@pytest.fixture
def strategy(make):
    strategy = make.strategy(fields=2, visibility=Visibility.PUBLIC)
    make.field(strategy, 1).vision = "Freigegebene Vision"
    db.session.commit()
    make.approve(make.field(strategy, 1))
    return strategy


def test_readers_of_approved_content_get_the_row_without_review_or_forms(app, strategy):
    with app.test_request_context():
        page = build_field_page(AnonymousUserMixin(), strategy, 1)
    assert page.row["vision"] == "Freigegebene Vision" and page.title == "Handlungsfeld 1"
    assert not page.shows_drafts and not page.may_edit and not page.may_see_history and page.may_export
    assert page.review is None and page.review_changes == {} and page.editor is None


def test_coordinators_get_the_draft_the_review_panel_and_the_record_forms(app, make, strategy):
    field = make.field(strategy, 1)
    coordinator = make.user(role=Role.COORDINATOR, strategy=strategy, fields=(field,))
    with app.test_request_context():
        page = build_field_page(coordinator, strategy, 1)
    assert page.shows_drafts and page.may_edit and page.may_see_history
    assert page.review["field"] is page.field and isinstance(page.editor, RecordEditor)
    assert set(page.context()) >= {"strategy", "field", "row", "title", "framework", "serving_steps", "today",
                                   "review", "review_changes", "editor"}


def test_a_submitted_record_form_reaches_the_page_as_an_argument(app, make, strategy):
    field = make.field(strategy, 1)
    coordinator = make.user(role=Role.COORDINATOR, strategy=strategy, fields=(field,))
    with app.test_request_context(method="POST", data={"schritt-neu-description": "Getippter Text"}):
        form = StepForm(prefix="schritt-neu")
        page = build_field_page(coordinator, strategy, 1, Submission("schritt-neu", form))
        assert page.editor.is_open("schritt-neu") and page.editor.step() is form
        assert not build_field_page(coordinator, strategy, 1).editor.is_open("schritt-neu")


def test_no_template_global_queries_the_database_or_reads_the_clock(app):
    for name in ("record_editor", "field_review", "today_date", "funding_horizon_months"):
        assert name not in app.jinja_env.globals, name

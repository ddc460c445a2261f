"""Forms of the review: transitions, comments, editions, the comparison picker."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..forms import BaseForm
from ..framework import FRAMEWORK
from .services import COMMENT_MAX


def column_choices() -> list[SelectChoice]:
    """The framework's columns to pin a comment to, plus 'the row as a whole'."""
    choices = [SelectChoice("", str(_l("ganze Zeile")))]
    for phase in FRAMEWORK:
        choices.extend(SelectChoice(column.key, f"{phase.label}: {column.label}") for column in phase.columns)
    return choices


class _ColumnMixin:
    column = SelectField(_l("Spalte"), choices=[], validators=[Optional()], default="")


def _with_columns(form):
    form.column.choices = column_choices()
    return form


class SubmitForm(BaseForm):
    pass


class ApproveForm(BaseForm):
    fingerprint = HiddenField(validators=[InputRequired()])


class ReturnForm(_ColumnMixin, BaseForm):
    comment = TextAreaField(
        _l("Was soll geändert werden?"),
        validators=[DataRequired(_l("Bitte schreiben Sie, was geändert werden soll.")),
                    Length(max=COMMENT_MAX, message=_l("Höchstens %(max)d Zeichen.", max=COMMENT_MAX))],
    )


class CommentForm(_ColumnMixin, BaseForm):
    body = TextAreaField(
        _l("Kommentar"),
        validators=[DataRequired(_l("Bitte geben Sie einen Kommentar ein.")),
                    Length(max=COMMENT_MAX, message=_l("Höchstens %(max)d Zeichen.", max=COMMENT_MAX))],
    )


class ReplyForm(BaseForm):
    body = TextAreaField(
        _l("Antwort"),
        validators=[DataRequired(_l("Bitte geben Sie eine Antwort ein.")),
                    Length(max=COMMENT_MAX, message=_l("Höchstens %(max)d Zeichen.", max=COMMENT_MAX))],
    )


class ResolveForm(BaseForm):
    pass


class EditionForm(BaseForm):
    title = StringField(
        _l("Titel der Fassung"),
        validators=[DataRequired(_l("Bitte geben Sie einen Titel ein.")),
                    Length(max=200, message=_l("Höchstens %(max)d Zeichen.", max=200))],
    )
    decided_on = DateField(
        _l("Beschlossen am"),
        validators=[InputRequired(_l("Bitte geben Sie ein gültiges Datum ein."))],
    )


def make_return_form(**kwargs) -> ReturnForm:
    return _with_columns(ReturnForm(**kwargs))


def make_comment_form(**kwargs) -> CommentForm:
    return _with_columns(CommentForm(**kwargs))

"""The project's base forms: every form of the app derives from `BaseForm`, every sub-form from `BaseSubform`.

What they add to Flask-WTF, for every form at once:

- No text input accepts control characters (Unicode category Cc: NUL above all, which PostgreSQL refuses in
  text and SQLite would store silently) or the non-characters U+FFFE/U+FFFF. A multi-line input (a
  TextAreaField) may hold tabs and line breaks; a single-line one nothing of the kind. The message sits next
  to the field like any other, and the typed text stays in the form. Passwords (never stored as text, never
  shown again) and hidden fields (not typed by anyone) are left alone.
- In re-display mode (`security.keeps_input`) no form is valid, so a view renders what was sent instead of
  saving it. The real validation still runs, so field errors show as usual; only its answer is False.
"""
from __future__ import annotations

import unicodedata

from flask import g
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import StopValidation

CONTROL_CHARACTERS_MESSAGE = _l("Der Text enthält unzulässige Steuerzeichen (z. B. Nullbytes). Bitte entfernen "
                                "Sie diese – oft stammen sie aus kopierten Dokumenten.")
_NON_CHARACTERS = frozenset("\ufffe\uffff")
_MULTILINE_ALLOWED = frozenset("\t\n\r")


def has_control_characters(text: str, multiline: bool = False) -> bool:
    """Whether `text` holds a character no text of the product may hold (see module docstring)."""
    allowed = _MULTILINE_ALLOWED if multiline else frozenset()
    return any((unicodedata.category(char) == "Cc" or char in _NON_CHARACTERS) and char not in allowed
               for char in text)


def no_control_characters(form, field) -> None:
    # Stops the chain: no later validator (some ask the database) sees the text.
    if isinstance(field.data, str) and has_control_characters(field.data, isinstance(field, TextAreaField)):
        raise StopValidation(CONTROL_CHARACTERS_MESSAGE)


def _is_text_input(field) -> bool:
    return isinstance(field, StringField) and not isinstance(field, (PasswordField, HiddenField))


class _ChecksText:
    """Meta mixin: every text input, however its form declares it, gets the control-character check first."""

    def bind_field(self, form, unbound_field, options):
        field = super().bind_field(form, unbound_field, options)  # type: ignore[misc]
        if _is_text_input(field):
            field.validators = [no_control_characters, *field.validators]
        return field


def redisplaying() -> bool:
    return bool(g and g.get("redisplaying_form"))


class BaseForm(FlaskForm):
    """A form of the app (CSRF-protected through Flask-WTF)."""

    class Meta(_ChecksText):
        pass

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators=extra_validators)
        return valid and not redisplaying()


class BaseSubform(Form):
    """A form nested in a BaseForm (FormField); it has no CSRF token of its own."""

    class Meta(_ChecksText):
        pass

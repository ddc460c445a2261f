from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ..forms import BaseForm


class LoginForm(BaseForm):
    email = EmailField(_l("E-Mail-Adresse"),
                       validators=[DataRequired(_l("Bitte geben Sie Ihre E-Mail-Adresse ein.")),
                                   Length(max=254, message=_l("Die E-Mail-Adresse ist zu lang."))],
                       render_kw={"autocomplete": "username", "spellcheck": "false"})
    # The length limit is checked before anything is hashed.
    password = PasswordField(_l("Passwort"),
                             validators=[DataRequired(_l("Bitte geben Sie Ihr Passwort ein.")),
                                         Length(max=128, message=_l("Das Passwort ist zu lang."))],
                             render_kw={"autocomplete": "current-password"})


class ForgotPasswordForm(BaseForm):
    email = EmailField(_l("E-Mail-Adresse Ihres Kontos"),
                       validators=[DataRequired(_l("Bitte geben Sie Ihre E-Mail-Adresse ein.")),
                                   Length(max=254, message=_l("Die E-Mail-Adresse ist zu lang."))],
                       render_kw={"autocomplete": "username", "spellcheck": "false"})


class TwoFactorForm(BaseForm):
    code = StringField(_l("Sechsstelliger Code aus Ihrer Authenticator-App"),
                       validators=[DataRequired(_l("Bitte geben Sie den Code ein.")),
                                   Length(max=20, message=_l("Der Code hat sechs Ziffern."))],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


def _new_password_fields():
    new = PasswordField(_l("Neues Passwort"),
                        validators=[DataRequired(_l("Bitte geben Sie ein neues Passwort ein."))],
                        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Neues Passwort wiederholen"),
                            validators=[DataRequired(_l("Bitte wiederholen Sie das neue Passwort.")),
                                        EqualTo("new_password", _l("Die beiden Eingaben stimmen nicht überein."))],
                            render_kw={"autocomplete": "new-password"})
    return new, confirm


class SetPasswordForm(BaseForm):
    new_password, confirm_password = _new_password_fields()


class ChangePasswordForm(BaseForm):
    current_password = PasswordField(_l("Aktuelles Passwort"),
                                     validators=[DataRequired(_l("Bitte geben Sie Ihr aktuelles Passwort ein."))],
                                     render_kw={"autocomplete": "current-password"})
    new_password, confirm_password = _new_password_fields()
    revoke_api_tokens = BooleanField(_l("Auch alle API-Schlüssel dieses Kontos widerrufen"), default=True)


class EnableTwoFactorForm(TwoFactorForm):
    """Confirms the new secret with a code from the app."""


class DisableTwoFactorForm(BaseForm):
    password = PasswordField(_l("Ihr Passwort zur Bestätigung"),
                             validators=[DataRequired(_l("Bitte geben Sie Ihr Passwort ein."))],
                             render_kw={"autocomplete": "current-password"})


class ConfirmForm(BaseForm):
    """A button that only needs the CSRF token (ending sessions)."""

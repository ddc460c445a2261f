from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = EmailField(_l("E-Mail-Adresse"), validators=[DataRequired(_l("Bitte geben Sie Ihre E-Mail-Adresse ein.")),
                                                         Length(max=254)])
    password = PasswordField(_l("Passwort"), validators=[DataRequired(_l("Bitte geben Sie Ihr Passwort ein.")),
                                                         Length(max=128)])

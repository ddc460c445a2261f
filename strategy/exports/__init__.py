"""PDF exports: the action framework, field dossiers, editions and change reports."""
from flask import Blueprint

bp = Blueprint("exports", __name__, url_prefix="/strategien")

from . import routes  # noqa: E402,F401

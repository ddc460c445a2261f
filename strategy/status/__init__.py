from flask import Blueprint

bp = Blueprint("status", __name__, url_prefix="/strategien")

from . import routes  # noqa: E402,F401

"""Next steps, financing items and indicators as tracked records of a field's row."""
from flask import Blueprint

bp = Blueprint("records", __name__, url_prefix="/strategien")

from . import routes, templating  # noqa: E402,F401

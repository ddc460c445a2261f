"""The read-only open-data API under /api/v1/, and the page where users manage their API tokens."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
tokens_bp = Blueprint("api_tokens", __name__, url_prefix="/konto")

from . import routes, tokens  # noqa: E402,F401

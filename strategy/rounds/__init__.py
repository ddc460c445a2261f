"""Reporting rounds (Berichtsrunden): tasks per field before each steering meeting, the board, reminders."""
from flask import Blueprint

bp = Blueprint("rounds", __name__, url_prefix="/strategien")

from . import notices, routes  # noqa: E402,F401  (notices registers the notification kinds)

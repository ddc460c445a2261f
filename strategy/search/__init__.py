"""Full-text search across fields, records, comments, editions and history (issue #15).

text.py (German terms, queries, snippets), engines.py (SQLite FTS5 / PostgreSQL), indexing.py (the index,
kept in step in the same transaction), services.py (permission-filtered search), routes.py, forms.py.
"""
from flask import Blueprint

bp = Blueprint("search", __name__)

from . import cli, routes  # noqa: E402,F401
from .indexing import register as _register_index_hook  # noqa: E402

_register_index_hook()

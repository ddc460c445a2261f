"""Spreadsheets: the framework and its records out as .xlsx/.ods/.csv, and back in (also from a Word table).

`columns` is the one definition of every sheet and column (export writes it, import maps headers onto it);
`export` builds the sheets from what the reader may read (strategy.reading); `writing` turns sheets into
files; `files` reads uploaded files into the same shape; `imports` plans and applies an import.
"""
from flask import Blueprint

bp = Blueprint("spreadsheets", __name__, url_prefix="/strategien")

from . import routes  # noqa: E402,F401

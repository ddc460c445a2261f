"""JSON errors for the API: {"error": {"status", "code", "message"}}, never an HTML page."""
from __future__ import annotations

from flask import jsonify
from werkzeug.exceptions import HTTPException

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 406: "not_acceptable", 429: "too_many_requests", 500: "internal_error"}

MESSAGES = {
    401: "A valid API token is required (Authorization: Bearer <token>).",
    403: "This part of the strategy is not visible to you.",
    404: "Not found.",
    405: "The API is read-only: use GET.",
    500: "Internal error.",
}


def json_error(error: HTTPException, *, incident: str | None = None, message: str | None = None):
    status = error.code or 500
    body = {"status": status, "code": CODES.get(status, "error"),
            "message": message or getattr(error, "api_message", None) or MESSAGES.get(status) or error.name}
    if incident:
        body["incident"] = incident
    response = jsonify(error=body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    response.headers["Cache-Control"] = "no-store"
    return response

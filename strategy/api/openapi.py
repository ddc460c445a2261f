"""The OpenAPI 3.0 description of /api/v1/, served at /api/v1/openapi.json; the tests validate every
answer against it."""
from __future__ import annotations

from ..framework import TEXT_COLUMNS
from ..models import Direction, FieldPhase, FundingSource, FundingStatus, IndicatorUnit, StepStatus, Visibility

_DATE = {"type": "string", "format": "date"}
_DATETIME = {"type": "string", "format": "date-time"}
_DECIMAL = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "Decimal number as a string."}


def _nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


def _enum(cls) -> dict:
    return {"type": "string", "enum": [member.value for member in cls]}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _page(item: str) -> dict:
    return {
        "type": "object",
        "required": ["items", "total", "limit", "offset", "links"],
        "additionalProperties": False,
        "properties": {
            "items": {"type": "array", "items": _ref(item)},
            "total": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer", "minimum": 1},
            "offset": {"type": "integer", "minimum": 0},
            "links": _ref("PageLinks"),
        },
    }


def _obj(required: list[str], properties: dict, *, additional: bool = False) -> dict:
    return {"type": "object", "required": required, "properties": properties, "additionalProperties": additional}


_STEP_IN_ROW = _obj(["id", "description", "status"], {
    "id": {"type": "integer"}, "field_number": _nullable({"type": "integer"}), "description": {"type": "string"},
    "responsible": {"type": "string"}, "due_date": _nullable(_DATE), "status": _enum(StepStatus),
    "progress_note": {"type": "string"}, "done_on": _nullable(_DATE),
    "also_serves": {"type": "array", "items": {"type": "integer"}},
}, additional=True)

_FINANCING_IN_ROW = _obj(["id", "source", "status"], {
    "id": {"type": "integer"}, "source": _enum(FundingSource), "programme": {"type": "string"},
    "amount": _nullable(_DECIMAL), "start_date": _nullable(_DATE), "end_date": _nullable(_DATE),
    "status": _enum(FundingStatus), "note": {"type": "string"}, "has_follow_up": {"type": "boolean"},
}, additional=True)

_VALUE = _obj(["observed_on", "value"], {
    "observed_on": _DATE, "value": _DECIMAL, "source_note": {"type": "string"},
})

_INDICATOR_IN_ROW = _obj(["id", "name", "unit", "values"], {
    "id": {"type": "integer"}, "name": {"type": "string"}, "unit": _enum(IndicatorUnit),
    "direction": _enum(Direction), "baseline": _nullable(_DECIMAL), "target": _nullable(_DECIMAL),
    "target_date": _nullable(_DATE), "is_key": {"type": "boolean"}, "values": {"type": "array", "items": _VALUE},
}, additional=True)

_LABELLED = _obj(["label"], {"label": {"type": "string"}, "role": {"type": "string", "enum": ["lead", "member"]}},
                 additional=True)


def _row_schema() -> dict:
    properties = {
        "id": {"type": "integer"}, "number": {"type": "integer"}, "title": {"type": "string"},
        "goal_text": {"type": "string"}, "phase": _enum(FieldPhase),
        "working_groups": {"type": "array", "items": _obj(["name"], {
            "name": {"type": "string"}, "members": {"type": "array", "items": _LABELLED}}, additional=True)},
        "responsible": {"type": "array", "items": _LABELLED},
        "next_steps": {"type": "array", "items": _STEP_IN_ROW},
        "financing_items": {"type": "array", "items": _FINANCING_IN_ROW},
        "indicators": {"type": "array", "items": _INDICATOR_IN_ROW},
    }
    properties.update({column: {"type": "string", "description": "Markdown-lite text."} for column in TEXT_COLUMNS})
    return {
        "type": "object",
        "description": "The approved row of a field (blocks the reader may not see are left out, see hidden_blocks).",
        "required": ["number", "title", "phase"],
        "properties": properties,
        "additionalProperties": True,
    }


_ERROR_RESPONSE = {"description": "Error", "content": {"application/json": {"schema": _ref("Error")}}}
_NOT_MODIFIED = {"description": "Not modified: the ETag in If-None-Match is current."}


def _ok(schema: str, description: str) -> dict:
    return {"description": description, "headers": {"ETag": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": _ref(schema)}}}


def _params(*names: str) -> list[dict]:
    return [{"$ref": f"#/components/parameters/{name}"} for name in names]


def _get(summary: str, schema: str, *params: str, extra: tuple = (), forbidden: bool = False) -> dict:
    responses = {"200": _ok(schema, summary), "304": _NOT_MODIFIED, "400": _ERROR_RESPONSE,
                 "401": _ERROR_RESPONSE, "404": _ERROR_RESPONSE}
    if forbidden:
        responses["403"] = _ERROR_RESPONSE
    return {"get": {"summary": summary, "parameters": _params(*params, "IfNoneMatch") + list(extra),
                    "responses": responses}}


def openapi_document(server_url: str) -> dict:
    blocks = ["head", "preparation", "workshop_1", "workshop_2", "financing", "indicators"]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Gesamtstrategie – Open-Data-API",
            "version": "1.0.0",
            "description": (
                "Read-only access to the approved state of the strategies a reader may see. Public strategies "
                "need no login; partner data needs a personal API token (Authorization: Bearer <token>), "
                "created and revoked on the page /konto/api-zugang. Session cookies are ignored. Lists are "
                "paginated with limit/offset; every answer carries an ETag for conditional requests."),
        },
        "servers": [{"url": server_url}],
        "security": [{}, {"bearer": []}],
        "paths": {
            "/strategies": _get("Strategies the reader may see", "StrategyPage", "limit", "offset"),
            "/strategies/{strategy_id}": _get("One strategy", "Strategy", "strategy_id"),
            "/strategies/{strategy_id}/fields": _get(
                "Fields with their approved rows", "FieldPage", "strategy_id", "limit", "offset"),
            "/strategies/{strategy_id}/fields/{field_id}": _get(
                "One field with its approved row", "Field", "strategy_id", "field_id"),
            "/strategies/{strategy_id}/next-steps": _get(
                "Next steps of all fields", "NextStepPage", "strategy_id", "limit", "offset", forbidden=True,
                extra=({"name": "status", "in": "query", "required": False,
                        "schema": {"type": "string", "enum": ["all", "open"], "default": "all"}},)),
            "/strategies/{strategy_id}/financing-items": _get(
                "Financing items of all fields (where visible)", "FinancingItemPage", "strategy_id", "limit",
                "offset", forbidden=True),
            "/strategies/{strategy_id}/indicators": _get(
                "Indicators with their values", "IndicatorPage", "strategy_id", "limit", "offset", forbidden=True),
            "/strategies/{strategy_id}/editions": _get(
                "Editions (Fassungen), newest first", "EditionPage", "strategy_id", "limit", "offset",
                forbidden=True),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "parameters": {
                "strategy_id": {"name": "strategy_id", "in": "path", "required": True,
                                "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}},
                "field_id": {"name": "field_id", "in": "path", "required": True,
                             "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}},
                "limit": {"name": "limit", "in": "query", "required": False,
                          "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
                "offset": {"name": "offset", "in": "query", "required": False,
                           "schema": {"type": "integer", "minimum": 0, "maximum": 2147483647, "default": 0}},
                "IfNoneMatch": {"name": "If-None-Match", "in": "header", "required": False,
                                "schema": {"type": "string"}},
            },
            "schemas": {
                "Error": _obj(["error"], {"error": _obj(["status", "code", "message"], {
                    "status": {"type": "integer"}, "code": {"type": "string"}, "message": {"type": "string"},
                    "incident": {"type": "string"}})}),
                "PageLinks": _obj(["self", "next", "prev"], {
                    "self": {"type": "string", "format": "uri"}, "next": _nullable({"type": "string", "format": "uri"}),
                    "prev": _nullable({"type": "string", "format": "uri"})}),
                "Strategy": _obj(["id", "slug", "title", "visibility", "links"], {
                    "id": {"type": "integer"}, "slug": {"type": "string"}, "title": {"type": "string"},
                    "subtitle": {"type": "string"}, "description": {"type": "string"},
                    "visibility": _enum(Visibility), "owner": _nullable({"type": "string"}),
                    "last_approved_at": _nullable(_DATETIME),
                    "links": {"type": "object", "additionalProperties": {"type": "string", "format": "uri"}}}),
                "Row": _row_schema(),
                "Field": _obj(["id", "number", "title", "approved_at", "status", "status_label", "hidden_blocks",
                               "row", "links"], {
                    "id": {"type": "integer"}, "number": {"type": "integer"}, "title": {"type": "string"},
                    "approved_at": _nullable(_DATETIME),
                    "status": {"type": "string", "enum": ["not_approved", "preparing", "goals_agreed", "solutions",
                                                          "implementing"]},
                    "status_label": {"type": "string"},
                    "hidden_blocks": {"type": "array", "items": {"type": "string", "enum": blocks}},
                    "row": {"allOf": [_ref("Row")], "nullable": True},
                    "links": {"type": "object", "additionalProperties": {"type": "string", "format": "uri"}}}),
                "NextStep": _obj(["id", "field_id", "field_number", "description", "status", "is_open",
                                  "is_overdue"], {
                    "id": {"type": "integer"}, "field_id": {"type": "integer"}, "field_number": {"type": "integer"},
                    "description": {"type": "string"}, "responsible": {"type": "string"},
                    "due_date": _nullable(_DATE), "status": _enum(StepStatus), "progress_note": {"type": "string"},
                    "done_on": _nullable(_DATE), "also_serves": {"type": "array", "items": {"type": "integer"}},
                    "is_open": {"type": "boolean"}, "is_overdue": {"type": "boolean"}}),
                "FinancingItem": _obj(["id", "field_id", "field_number", "source", "status", "currency"], {
                    "id": {"type": "integer"}, "field_id": {"type": "integer"}, "field_number": {"type": "integer"},
                    "source": _enum(FundingSource), "programme": {"type": "string"}, "amount": _nullable(_DECIMAL),
                    "currency": {"type": "string", "enum": ["EUR"]}, "start_date": _nullable(_DATE),
                    "end_date": _nullable(_DATE), "status": _enum(FundingStatus), "note": {"type": "string"},
                    "has_follow_up": {"type": "boolean"}}),
                "Indicator": _obj(["id", "field_id", "field_number", "name", "unit", "values"], {
                    "id": {"type": "integer"}, "field_id": {"type": "integer"}, "field_number": {"type": "integer"},
                    "name": {"type": "string"}, "unit": _enum(IndicatorUnit), "direction": _enum(Direction),
                    "baseline": _nullable(_DECIMAL), "target": _nullable(_DECIMAL), "target_date": _nullable(_DATE),
                    "is_key": {"type": "boolean"}, "values": {"type": "array", "items": _VALUE}}),
                "Edition": _obj(["id", "title", "decided_on", "fields"], {
                    "id": {"type": "integer"}, "title": {"type": "string"}, "decided_on": _DATE,
                    "created_at": _nullable(_DATETIME),
                    "fields": {"type": "array", "items": _obj(["number", "title", "row"], {
                        "number": {"type": "integer"}, "title": {"type": "string"}, "row": _ref("Row")})}}),
                "StrategyPage": _page("Strategy"),
                "FieldPage": _page("Field"),
                "NextStepPage": _page("NextStep"),
                "FinancingItemPage": _page("FinancingItem"),
                "IndicatorPage": _page("Indicator"),
                "EditionPage": _page("Edition"),
            },
        },
    }

"""The OpenAPI 3.1 description of /api/v1/, served at /api/v1/openapi.json; the tests validate every
answer against it. The paths are listed here; the schemas of the answers are generated from api/schema.py,
the models the endpoints serialise through."""
from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from . import schema


class _Describe(GenerateJsonSchema):
    """No per-property titles (the property names say it) and no defaults: a stored row that lacks a key
    does not get it filled in, so a default would promise what the answer does not do."""

    def field_title_should_be_set(self, schema) -> bool:
        return False

    def default_schema(self, schema):
        return self.generate_inner(schema["schema"])


@lru_cache(maxsize=1)
def components() -> dict:
    """components/schemas, generated from the models the endpoints serialise through."""
    _, document = models_json_schema([(model, "serialization") for model in schema.COMPONENTS],
                                     ref_template=schema.REF_TEMPLATE, schema_generator=_Describe)
    return _with_refs(document["$defs"])


def _with_refs(node):
    """The schema with each schema.STORED_AS marker replaced by a $ref to the model it names."""
    if isinstance(node, dict):
        if schema.STORED_AS in node:
            return {"$ref": schema.REF_TEMPLATE.format(model=node[schema.STORED_AS])}
        return {key: _with_refs(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_with_refs(value) for value in node]
    return node


def _ref(name: str) -> dict:
    return {"$ref": schema.REF_TEMPLATE.format(model=name)}


_ERROR_RESPONSE = {"description": "Error", "content": {"application/json": {"schema": _ref(schema.Error.__name__)}}}
_NOT_MODIFIED = {"description": "Not modified: the ETag in If-None-Match is current."}


def _ok(answer: type[BaseModel], description: str) -> dict:
    return {"description": description, "headers": {"ETag": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": _ref(answer.__name__)}}}


def _params(*names: str) -> list[dict]:
    return [{"$ref": f"#/components/parameters/{name}"} for name in names]


def _get(summary: str, answer: type[BaseModel], *params: str, extra: tuple = (), forbidden: bool = False) -> dict:
    responses = {"200": _ok(answer, summary), "304": _NOT_MODIFIED, "400": _ERROR_RESPONSE,
                 "401": _ERROR_RESPONSE, "404": _ERROR_RESPONSE}
    if forbidden:
        responses["403"] = _ERROR_RESPONSE
    return {"get": {"summary": summary, "parameters": _params(*params, "IfNoneMatch") + list(extra),
                    "responses": responses}}


def openapi_document(server_url: str) -> dict:
    return {
        "openapi": "3.1.0",
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
            "/strategies": _get("Strategies the reader may see", schema.StrategyPage, "limit", "offset"),
            "/strategies/{strategy_id}": _get("One strategy", schema.Strategy, "strategy_id"),
            "/strategies/{strategy_id}/fields": _get(
                "Fields with their approved rows", schema.FieldPage, "strategy_id", "limit", "offset"),
            "/strategies/{strategy_id}/fields/{field_id}": _get(
                "One field with its approved row", schema.Field, "strategy_id", "field_id"),
            "/strategies/{strategy_id}/next-steps": _get(
                "Next steps of all fields", schema.NextStepPage, "strategy_id", "limit", "offset", forbidden=True,
                extra=({"name": "status", "in": "query", "required": False,
                        "schema": {"type": "string", "enum": ["all", "open"], "default": "all"}},)),
            "/strategies/{strategy_id}/financing-items": _get(
                "Financing items of all fields (where visible)", schema.FinancingItemPage, "strategy_id", "limit",
                "offset", forbidden=True),
            "/strategies/{strategy_id}/indicators": _get(
                "Indicators with their values", schema.IndicatorPage, "strategy_id", "limit", "offset", forbidden=True),
            "/strategies/{strategy_id}/editions": _get(
                "Editions (Fassungen), newest first", schema.EditionPage, "strategy_id", "limit", "offset",
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
            "schemas": components(),
        },
    }

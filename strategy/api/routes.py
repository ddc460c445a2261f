"""Read-only JSON endpoints. Access follows the status pages: approved content only, per-block visibility,
anonymous readers see public strategies, token holders what their role lets them read; the session cookie
is never consulted."""
from __future__ import annotations

import hashlib
import json
from typing import Any, Callable

from flask import Response, abort, current_app, g, request, url_for
from flask_babel import force_locale
from pydantic import BaseModel
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import BadRequest, Forbidden

from ..days import local_today
from ..extensions import csrf, db
from ..models import Field, StepStatus, Strategy, step_is_overdue
from ..permissions import can_view_strategy, public, visible_blocks
from ..status.caching import is_current, not_modified, stamp
from ..status.services import Validators, approved_fields, plain_status, validators
from . import bp, schema
from .auth import api_user
from .openapi import openapi_document

csrf.exempt(bp)

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@bp.before_request
def _authenticate() -> None:
    g.api_user = api_user()


def _user():
    return g.get("api_user")


# --- helpers -------------------------------------------------------------------------------------

def _page_args() -> tuple[int, int]:
    try:
        limit = int(request.args.get("limit", DEFAULT_LIMIT))
        offset = int(request.args.get("offset", 0))
    except ValueError:
        raise _bad("limit and offset must be integers.") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise _bad(f"limit must be between 1 and {MAX_LIMIT}.")
    if not 0 <= offset <= 2**31 - 1:
        raise _bad("offset must be between 0 and 2147483647.")
    return limit, offset


def _bad(message: str) -> BadRequest:
    error = BadRequest()
    error.api_message = message  # type: ignore[attr-defined]
    return error


def _page(page: type[BaseModel], items: list, total: int, limit: int, offset: int) -> BaseModel:
    def link(to_offset: int) -> str:
        args = {**request.args.to_dict(), "limit": limit, "offset": to_offset}
        return url_for(request.endpoint, **request.view_args, **args, _external=True)

    return page(items=items, total=total, limit=limit, offset=offset, links=schema.PageLinks(
        self=link(offset),
        next=link(offset + limit) if offset + limit < total else None,
        prev=link(max(offset - limit, 0)) if offset > 0 else None,
    ))


def _json(answer: BaseModel | dict) -> Response:
    data = answer.model_dump(mode="json") if isinstance(answer, BaseModel) else answer
    return Response(json.dumps(data, ensure_ascii=False, separators=(",", ":")), mimetype="application/json")


def _finish(checks: Validators, build: Callable[[], BaseModel]) -> Response:
    """Conditional GET: 304 when the client's ETag matches, else the JSON with validators."""
    private = _user() is not None
    if is_current(checks):
        response = not_modified(checks, private=private)
    else:
        # Labels in the default language: the answer must not depend on the session's language choice.
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            body = build()
        response = stamp(_json(body), checks, private=private)
    return _vary(response)


def _vary(response: Response) -> Response:
    response.vary.add("Authorization")
    return response


def _strategy_or_404(strategy_id: int) -> Strategy:
    strategy = db.session.get(Strategy, strategy_id)
    if strategy is None or not can_view_strategy(_user(), strategy):
        abort(404)
    return strategy


def _strategy_checks(strategy: Strategy, blocks) -> Validators:
    from ..permissions import audience_of

    return validators(strategy, "api", audience_of(_user(), strategy), sorted(blocks), request.path,
                      sorted(request.args.items(multi=True)))


def _visible_strategies() -> list[Strategy]:
    strategies = db.session.scalars(
        db.select(Strategy).order_by(Strategy.id).options(selectinload(Strategy.owner))).all()
    return [s for s in strategies if can_view_strategy(_user(), s)]


def _strategy_json(strategy: Strategy, last_approved_at=None) -> schema.Strategy:
    sid = strategy.id
    return schema.Strategy(
        id=sid,
        slug=strategy.slug,
        title=strategy.title,
        subtitle=strategy.subtitle or "",
        description=strategy.description or "",
        visibility=strategy.visibility,
        owner=strategy.owner.name if strategy.owner else None,
        last_approved_at=_iso(last_approved_at),
        links={
            "self": url_for("api.strategy", strategy_id=sid, _external=True),
            "fields": url_for("api.fields", strategy_id=sid, _external=True),
            "next_steps": url_for("api.next_steps", strategy_id=sid, _external=True),
            "financing_items": url_for("api.financing_items", strategy_id=sid, _external=True),
            "indicators": url_for("api.indicators", strategy_id=sid, _external=True),
            "editions": url_for("api.editions", strategy_id=sid, _external=True),
            "status_page": url_for("status.status_page", slug=strategy.slug, _external=True),
        },
    )


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _field_json(strategy: Strategy, field) -> schema.Field:
    status = plain_status(field.row)
    return schema.Field(
        id=field.id,
        number=field.number,
        title=field.title,
        approved_at=_iso(field.approved_at),
        status=status,
        status_label=str(status.label),
        hidden_blocks=(field.row or {}).get("hidden_blocks", []),
        row=schema.row(field.row) if field.row else None,
        links={
            "self": url_for("api.field", strategy_id=strategy.id, field_id=field.id, _external=True),
            "status_page": url_for("status.status_field", slug=strategy.slug, number=field.number, _external=True),
        },
    )


def _require_block(strategy: Strategy, block: str, blocks) -> None:
    if block not in blocks:
        raise Forbidden()


# --- endpoints -----------------------------------------------------------------------------------

@bp.route("/")
@public
def index():
    response = _json({
        "strategies": url_for("api.strategies", _external=True),
        "openapi": url_for("api.openapi", _external=True),
    })
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return _vary(response)


@bp.route("/openapi.json")
@public
def openapi():
    body = json.dumps(openapi_document(url_for("api.index", _external=True).rstrip("/")), ensure_ascii=False)
    response = Response(body, mimetype="application/json")
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
    response.cache_control.public = True
    response.cache_control.no_cache = True
    return _vary(response.make_conditional(request))


@bp.route("/strategies")
@public
def strategies():
    limit, offset = _page_args()
    visible = _visible_strategies()
    page = visible[offset:offset + limit]
    items = [_strategy_json(s) for s in page]
    body = _page(schema.StrategyPage, items, len(visible), limit, offset)
    # The list is small and spans strategies: its ETag is the hash of the answer.
    response = _json(body)
    response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
    response.cache_control.no_cache = True
    if _user() is not None:
        response.cache_control.private = True
    else:
        response.cache_control.public = True
    return _vary(response.make_conditional(request))


@bp.route("/strategies/<id:strategy_id>")
@public
def strategy(strategy_id: int):
    strategy = _strategy_or_404(strategy_id)
    blocks = visible_blocks(_user(), strategy)
    checks = _strategy_checks(strategy, blocks)
    return _finish(checks, lambda: _strategy_json(strategy, checks.last_approved_at))


@bp.route("/strategies/<id:strategy_id>/fields")
@public
def fields(strategy_id: int):
    strategy = _strategy_or_404(strategy_id)
    limit, offset = _page_args()
    blocks = visible_blocks(_user(), strategy)

    def build():
        total = db.session.scalar(db.select(db.func.count(Field.id)).where(
            Field.strategy_id == strategy.id, Field.is_archived.is_(False)))
        rows = approved_fields(strategy, blocks, limit=limit, offset=offset)
        return _page(schema.FieldPage, [_field_json(strategy, f) for f in rows], total, limit, offset)

    return _finish(_strategy_checks(strategy, blocks), build)


@bp.route("/strategies/<id:strategy_id>/fields/<id:field_id>")
@public
def field(strategy_id: int, field_id: int):
    strategy = _strategy_or_404(strategy_id)
    blocks = visible_blocks(_user(), strategy)
    found = next((f for f in approved_fields(strategy, blocks) if f.id == field_id), None)
    if found is None:
        abort(404)
    return _finish(_strategy_checks(strategy, blocks), lambda: _field_json(strategy, found))


def _flattened(strategy: Strategy, blocks, key: str, page: type[BaseModel], shape: Callable[[Any, dict], BaseModel],
               keep: Callable[[Any], bool] = lambda item: True) -> Callable[[], BaseModel]:
    """A page of the items under `key` of every visible approved row, in field order."""
    limit, offset = _page_args()

    def build():
        items = [shaped for f in approved_fields(strategy, blocks) if f.row
                 for shaped in (shape(f, item) for item in f.row.get(key, [])) if keep(shaped)]
        return _page(page, items[offset:offset + limit], len(items), limit, offset)

    return build


@bp.route("/strategies/<id:strategy_id>/next-steps")
@public
def next_steps(strategy_id: int):
    strategy = _strategy_or_404(strategy_id)
    blocks = visible_blocks(_user(), strategy)
    _require_block(strategy, "workshop_2", blocks)
    wanted = request.args.get("status", "all")
    if wanted not in ("all", "open"):
        raise _bad("status must be 'all' or 'open'.")
    today = local_today()

    def shape(field, step):
        is_open = StepStatus(step["status"]).is_open
        return schema.NextStep.model_validate({
            **step, "field_id": field.id, "field_number": field.number,
            "is_open": is_open, "is_overdue": step_is_overdue(step.get("due_date"), step["status"], today),
        })

    keep = (lambda step: step.is_open) if wanted == "open" else (lambda step: True)
    return _finish(_strategy_checks(strategy, blocks),
                   _flattened(strategy, blocks, "next_steps", schema.NextStepPage, shape, keep))


@bp.route("/strategies/<id:strategy_id>/financing-items")
@public
def financing_items(strategy_id: int):
    strategy = _strategy_or_404(strategy_id)
    blocks = visible_blocks(_user(), strategy)
    _require_block(strategy, "financing", blocks)

    def shape(field, item):
        return schema.FinancingItem.model_validate({
            **item, "field_id": field.id, "field_number": field.number, "currency": "EUR",
            "has_follow_up": bool(item.get("has_follow_up"))})

    return _finish(_strategy_checks(strategy, blocks),
                   _flattened(strategy, blocks, "financing_items", schema.FinancingItemPage, shape))


@bp.route("/strategies/<id:strategy_id>/indicators")
@public
def indicators(strategy_id: int):
    strategy = _strategy_or_404(strategy_id)
    blocks = visible_blocks(_user(), strategy)
    _require_block(strategy, "indicators", blocks)

    def shape(field, indicator):
        return schema.Indicator.model_validate({
            **indicator, "field_id": field.id, "field_number": field.number,
            "is_key": bool(indicator.get("is_key")), "values": indicator.get("values", [])})

    return _finish(_strategy_checks(strategy, blocks),
                   _flattened(strategy, blocks, "indicators", schema.IndicatorPage, shape))


@bp.route("/strategies/<id:strategy_id>/editions")
@public
def editions(strategy_id: int):
    """Editions (Fassungen) a reader may see, newest first, each with its fields reduced to visible blocks."""
    from ..models.editions import Edition
    from ..permissions import can_view_editions
    from ..reading import readable_edition

    strategy = _strategy_or_404(strategy_id)
    if not can_view_editions(_user(), strategy):
        raise Forbidden()
    limit, offset = _page_args()
    blocks = visible_blocks(_user(), strategy)
    rows = db.session.execute(
        db.select(Edition.id, Edition.title, Edition.decided_on, Edition.created_at, Edition.content)
        .where(Edition.strategy_id == strategy.id)
        .order_by(Edition.decided_on.desc(), Edition.id.desc())
    ).all()
    items = [
        schema.Edition(
            id=id, title=title, decided_on=_iso(decided_on), created_at=_iso(created_at),
            fields=[
                schema.EditionField(number=snap.get("number"), title=snap.get("title"), row=schema.row(snap))
                for snap in readable_edition(content or {}, blocks)["fields"]
            ],
        )
        for id, title, decided_on, created_at, content in rows
    ]
    response = _json(_page(schema.EditionPage, items[offset:offset + limit], len(items), limit, offset))
    response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
    response.cache_control.no_cache = True
    response.cache_control.private = _user() is not None
    response.cache_control.public = _user() is None
    return _vary(response.make_conditional(request))

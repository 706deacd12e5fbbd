"""The /api/v1 blueprint (flask-openapi3) and the two decorators every route is declared with:
`@get(rule, Out)` / `@post(rule, Out)`. The request model comes from the handler's annotations
(`body: SplitRequest`, `path: CertificatePath`, `query: HolderQuery`) and validates the input;
`Out` is the response model: it is documented as the answer and the handler's dict goes out
through it (shaped: JSON types checked, unset keys left out). Refusals are documented once for
all routes as the `Error` model."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, current_app
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel

from webapp.api.models import Error

ERRORS: dict[int, Any] = {
    400: {"description": "Malformed input (the field is named)", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    404: {"description": "Not found", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    422: {"description": "The contract would refuse (its error is named)", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
}

bp = APIBlueprint("api", __name__, url_prefix="/api/v1", abp_responses={400: Error})

# What a handler returns: the response body as plain data (shaped by the route's model),
# optionally with a status other than the route's.
Reply = dict[str, Any] | list[Any] | tuple[dict[str, Any], int]

READS, TRANSACTIONS = Tag(name="reads"), Tag(name="transactions")
PAYMENTS, SIGN_IN = Tag(name="payment authorisations"), Tag(name="sign-in")


def shaped(out: type[BaseModel], status: int, data: Any) -> Response:
    """`data` as the response model `out` makes it (in tests: no field the model lacks)."""
    model = out.model_validate(data)
    if current_app.testing:
        undeclared = _undeclared(model)
        assert not undeclared, f"{out.__name__} does not declare {undeclared}"
    return current_app.response_class(
        model.model_dump_json(by_alias=True, exclude_unset=True), status,
        mimetype="application/json")


def _undeclared(model: Any, where: str = "") -> list[str]:
    if isinstance(model, list):
        return [m for i, item in enumerate(model) for m in _undeclared(item, f"{where}[{i}]")]
    if not isinstance(model, BaseModel):
        return []
    found = [f"{where}.{k}" for k in (model.model_extra or {})]
    for name in type(model).model_fields:
        found += _undeclared(getattr(model, name), f"{where}.{name}")
    return found


def _route(method: str, rule: str, out: type[BaseModel], status: int,
           extra: dict[int, Any] | None, **options: Any) -> Callable:
    def register(handler: Callable) -> Callable:
        @wraps(handler)
        def view(**kwargs: Any) -> Response:
            result = handler(**kwargs)
            code = status
            if isinstance(result, tuple):
                result, code = result
            return shaped(out, code, result)

        responses: dict[int, Any] = {status: out, **ERRORS, **(extra or {})}
        summary, _, rest = (handler.__doc__ or "").strip().partition("\n")
        options.setdefault("summary", summary.strip())
        if rest.strip():
            options.setdefault("description", " ".join(rest.split()))
        getattr(bp, method)(rule, responses=responses, **options)(view)
        return handler
    return register


def get(rule: str, out: type[BaseModel], *, status: int = 200,
        responses: dict[int, Any] | None = None, **options: Any) -> Callable:
    return _route("get", rule, out, status, responses, tags=options.pop("tags", [READS]),
                  **options)


TOO_LARGE = {413: {"description": "The body is larger than 1 MiB", "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}


def post(rule: str, out: type[BaseModel], *, status: int = 200,
         responses: dict[int, Any] | None = None, **options: Any) -> Callable:
    return _route("post", rule, out, status, {**TOO_LARGE, **(responses or {})}, **options)

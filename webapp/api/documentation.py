"""GET /api/v1/openapi.json: the OpenAPI 3.1 document flask-openapi3 generates from the
routes' models (webapp/api/models.py), with paths relative to the `/api/v1` server."""

from __future__ import annotations

import copy
from typing import Any

from flask import Response, current_app, jsonify

from webapp.api.blueprint import bp
from webapp.api.models import Error

PREFIX = "/api/v1"
DESCRIPTION = ("Builds transactions and EIP-712 typed data for browser wallets; the server "
               "holds no keys. Every POST /tx/<operation> is simulated from `from` first and "
               "returns {tx: {from,to,data,value,chainId,gas,estimatedFee}} for "
               "eth_sendTransaction, or {needsApproval, approve} when an ERC-20 approve must "
               "go first; a revert is 422 with the contract error's name as `code`. Bad "
               "input is 400 {error, field}; a request field that is not documented here is "
               "refused the same way.")


def document() -> dict[str, Any]:
    """The generated document (built once per app), paths relative to the server /api/v1."""
    cached = current_app.extensions.get("giftcert.openapi")
    if cached is None:
        app: Any = current_app  # a flask_openapi3.OpenAPI (webapp.create_app)
        doc = copy.deepcopy(app.api_doc)
        doc["info"] = {"title": "giftcert API", "version": "1", "description": DESCRIPTION}
        doc["servers"] = [{"url": PREFIX}]
        doc["paths"] = {path.removeprefix(PREFIX): item for path, item in doc["paths"].items()
                        if path.startswith(PREFIX + "/")}
        components = doc.setdefault("components", {})
        for key in [k for k, v in components.items() if v is None]:
            del components[key]  # flask-openapi3 writes securitySchemes: null
        schemas = components.setdefault("schemas", {})
        schemas.pop("ValidationErrorModel", None)
        # the refusals' shape, referred to by every route's 4xx answers (blueprint.ERRORS)
        schemas["Error"] = Error.model_json_schema(ref_template="#/components/schemas/{model}")
        cached = current_app.extensions["giftcert.openapi"] = doc
    return cached


@bp.get("/openapi.json", doc_ui=False)
def openapi() -> Response:
    return jsonify(document())

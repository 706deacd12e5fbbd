"""The JSON API under /api/v1, one idea per module:

- `fields`: the field types (parsing, refusals in words, JSON Schema), written once
- `models`: every request and response body, declared once (pydantic)
- `blueprint`: the flask-openapi3 blueprint and the `get`/`post` route decorators
- `lookups`: a validated reference -> the currency, merchant or certificate it names
- `reads`: GET routes over the chain and the index
- `operations`: POST /tx/<operation>, one route and one request model per operation, each
  built by the SDK's prepared call (giftcert.calls: nothing here names a contract function)
- `authorizations`: typed data, the compact payment authorisation, the desk's preflight
- `tabs`: payment tabs: a tab's state, the Voucher to sign, a voucher checked and kept, a
  merchant's open tabs (their settle is POST /tx/settle-tabs)
- `signin`: Sign-In with Ethereum routes
- `relay`: the sponsor relay (POST /relay/<operation>: the site pays the gas)
- `documentation`: /api/v1/openapi.json, generated from the models
"""

from __future__ import annotations

from webapp.api import (  # noqa: F401
    authorizations,
    documentation,
    operations,
    reads,
    relay,
    signin,
    tabs,
)
from webapp.api.authorizations import encode_authorization, parse_authorization
from webapp.api.blueprint import bp
from webapp.api.lookups import currency_arg, live_certificate, load_certificate, merchant_arg
from webapp.api.operations import OPERATIONS

__all__ = ["OPERATIONS", "bp", "currency_arg", "encode_authorization", "live_certificate",
           "load_certificate", "merchant_arg", "parse_authorization"]

"""The OpenAPI 3 document for /api/v1, built from the routes and the operation registry."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}
JSON_OK = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
JSON_LIST = {"description": "OK", "content": {"application/json": {"schema": {"type": "array"}}}}
# Reads that answer with a JSON array, and extra statuses some reads document.
LIST_READS = {"/currencies", "/merchants", "/merchants/{merchant}/redemptions"}
EXTRA_STATUSES = {"/siwe/me": {"401": {"description": "Nobody is signed in",
                                        "content": {"application/json": {"schema": ERROR}}}},
                  "/siwe/nonce": {"429": {"description": "Too many sign-ins in progress",
                                          "content": {"application/json": {"schema": ERROR}}}}}
ERRORS = {str(code): {"description": text, "content": {"application/json": {"schema": ERROR}}}
          for code, text in ((400, "Malformed input (field named)"), (404, "Not found"),
                             (422, "The contract would refuse (error named)"))}

OPERATION_FIELDS: dict[str, dict[str, str]] = {
    "issue": {"merchant": "integer", "currency": "string", "amount": "string",
              "to": "string", "claimKey": "string", "claimDays": "integer",
              "occasion": "integer", "message": "string", "validFrom": "integer",
              "expiry": "integer"},
    "issue-batch": {"merchant": "integer", "currency": "string", "rows": "string",
                    "occasion": "integer", "message": "string", "validFrom": "integer",
                    "expiry": "integer"},
    "top-up": {"certificate": "string", "amount": "string"},
    "transfer": {"certificate": "string", "to": "string"},
    "split": {"certificate": "string", "amount": "string", "to": "string"},
    "merge": {"certificate": "string", "into": "string"},
    "claim": {"certificate": "string", "recipient": "string", "signature": "string"},
    "reclaim": {"certificate": "string"},
    "redeem": {"certificate": "string", "amount": "string", "orderRef": "string"},
    "redeem-authorized": {"authorization": "string"},
    "settle-batch": {"merchant": "integer", "authorizations": "array"},
    "refund": {"certificate": "string", "buyer": "string"},
    "void": {"certificate": "string"},
    "cash-out": {"certificate": "string"},
    "withdraw": {"merchant": "integer", "currency": "string"},
    "set-cash-out-limit": {"merchant": "integer", "currency": "string", "limit": "string"},
    "register-merchant": {"account": "string", "name": "string"},
    "set-merchant-active": {"merchant": "integer", "active": "boolean"},
    "allow-currency": {"token": "string"},
    "set-currency-allowed": {"currency": "string", "allowed": "boolean"},
    "set-min-validity": {"seconds": "integer"},
    "pause": {}, "unpause": {},
}

READS = {
    "/status": "Chain, contract and indexer progress",
    "/config": "Chain id, contract, currencies, merchants, policy, occasions, EIP-712 types",
    "/currencies": "Allow-listed currencies",
    "/policy": "Minimum validity and pause state",
    "/merchants": "Registered merchants",
    "/merchants/{merchant}": "One merchant",
    "/merchants/{merchant}/stats": "Liability, redemptions by day, breakage and refunds",
    "/merchants/{merchant}/redemptions": "Recent redemptions (limit)",
    "/certificates/{certificate}": "A certificate as the chain reports it",
    "/certificates/{certificate}/history": "A certificate's events from the indexer",
    "/holders/{holder}/certificates": "Certificates held by an address (indexer)",
    "/transactions/{txHash}": "A mined transaction's status and the certificates it made",
    "/siwe/nonce": "A fresh EIP-4361 message to sign (query: address)",
    "/siwe/me": "The signed-in address (cookie session)",
}

# Optional query parameters of the reads.
QUERIES = {
    "/holders/{holder}/certificates": {"closed": "boolean", "limit": "integer",
                                       "after": "string"},
    "/merchants/{merchant}/redemptions": {"limit": "integer"},
    "/siwe/nonce": {"address": "string"},
}

POSTS = {
    "/typed-data/redemption": ("EIP-712 Redemption for the holder to sign",
                               {"certificate": "string", "amount": "string",
                                "orderRef": "string", "deadline": "integer",
                                "validFor": "integer"}),
    "/typed-data/claim": ("EIP-712 Claim for the link's key to sign",
                          {"certificate": "string", "recipient": "string"}),
    "/authorizations": ("Hand in a signed Redemption; returns the compact authorisation",
                        {"typedData": "object", "signature": "string"}),
    "/authorizations/decode": ("Read and check a pasted authorisation",
                               {"authorization": "string"}),
    "/give/preview": ("Check CSV rows (address,amount,message) before a bulk give",
                      {"currency": "string", "rows": "string"}),
    "/siwe/verify": ("Sign in: the signed EIP-4361 message",
                     {"message": "string", "signature": "string"}),
    "/siwe/logout": ("Sign out", {}),
}


def _body(fields: dict[str, str]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {
        "type": "object",
        "properties": {k: {"type": t} for k, t in fields.items()}}}}}


def _params(path: str) -> list[dict[str, Any]]:
    names = [p.strip("{}") for p in path.split("/") if p.startswith("{")]
    in_path = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
               for n in names]
    return in_path + [{"name": n, "in": "query", "required": path == "/siwe/nonce",
                       "schema": {"type": t}} for n, t in QUERIES.get(path, {}).items()]


def document(operations: dict[str, tuple[Any, str]]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, summary in READS.items():
        ok = JSON_LIST if path in LIST_READS else JSON_OK
        responses = {"200": ok, **ERRORS, **EXTRA_STATUSES.get(path, {})}
        paths[path] = {"get": {"summary": summary, "parameters": _params(path),
                               "responses": responses}}
    for path, (summary, fields) in POSTS.items():
        paths[path] = {"post": {"summary": summary, "requestBody": _body(fields),
                                "responses": {"200": JSON_OK, **ERRORS}}}
    for name, (_fn, summary) in operations.items():
        fields = {"from": "string", **OPERATION_FIELDS.get(name, {})}
        paths[f"/tx/{name}"] = {"post": {
            "summary": f"Unsigned transaction: {summary}",
            "description": "Simulated from `from` first; returns {tx: {from,to,data,value,"
                           "chainId,gas,estimatedFee}} for eth_sendTransaction, or "
                           "{needsApproval, approve} when an ERC-20 approve must go first.",
            "requestBody": _body(fields),
            "responses": {"200": JSON_OK, **ERRORS}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "giftcert API", "version": "1",
                 "description": "Builds transactions and EIP-712 typed data for browser "
                                "wallets; the server holds no keys."},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {"schemas": {"Error": {
            "type": "object", "required": ["error", "field"],
            "properties": {"error": {"type": "string"}, "field": {"type": "string",
                                                              "nullable": True},
                           "code": {"type": "string"}, "details": {"type": "object"}}}}},
    }

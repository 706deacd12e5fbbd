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

# Responses described field by field (the others are documented as a JSON object).
REFUSAL = {"$ref": "#/components/schemas/Refusal"}
AUTH_FORMAT = ("gc2:certificate:merchant:amount:orderRef:nonce:deadline:signature (amount "
               "in the currency's smallest units)")
AUTHORIZATION_TEXT = "The compact authorisation shown as QR code: " + AUTH_FORMAT


def _object(properties: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {
        "type": "object", "properties": properties}}}}


STRING, INTEGER, BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
MONEY = {"$ref": "#/components/schemas/Money"}
RESPONSES: dict[str, dict[str, Any]] = {
    "/transactions/{txHash}": _object({
        "txHash": STRING, "status": {"type": "string",
                                     "enum": ["pending", "success", "reverted"]},
        "block": INTEGER,
        "issued": {"type": "array", "items": STRING,
                   "description": "Certificates bought (a batch: firstId .. firstId + n - 1)"},
        "split": {"type": "array", "items": STRING},
        "redeemed": {"type": "array", "description": "Payments made (Redeemed events)",
                     "items": {"type": "object", "properties": {
                         "certificate": STRING, "merchant": INTEGER, "orderRef": STRING,
                         "units": STRING}}},
        "refused": {"type": "array", "items": REFUSAL,
                    "description": "Items a batch settlement refused (RedemptionRefused "
                                   "events), each with its reason in words"},
    }, "The outcome (202 with status pending while it is not mined)"),
    "/typed-data/redemption": _object({
        "typedData": {"type": "object", "description": "EIP-712 Redemption(certificate, "
                      "merchant, amount, orderRef, nonce, deadline) for eth_signTypedData_v4"},
        "holder": STRING, "merchant": INTEGER, "merchantName": STRING, "amount": MONEY,
        "orderRef": STRING, "deadline": INTEGER,
        "nonce": {"type": "string", "description": "The certificate's current nonce: the "
                  "holder has one usable authorisation per certificate; signing another, "
                  "paying with it or passing the certificate on replaces it"},
        "orderPaid": {"type": "boolean", "description": "The index already holds a payment "
                      "for this order reference at this merchant (said, not refused: an "
                      "order may be paid in parts)"},
    }),
    "/authorizations/decode": _object({
        "certificate": STRING, "merchant": INTEGER, "orderRef": STRING, "deadline": INTEGER,
        "signer": STRING, "holder": STRING, "signedByHolder": BOOLEAN, "amount": MONEY,
        "balance": MONEY, "nonce": STRING, "currentNonce": STRING,
        "authorization": {"type": "string", "description": AUTHORIZATION_TEXT},
        "orderPaid": {"type": "boolean", "description": "The index already holds a payment "
                      "for this order reference"},
    }, "It would go through. Otherwise 422 with the contract's error as `code` and the "
       "reason in words: WrongNonce (already used or replaced), AuthorizationExpired, "
       "InvalidSignature, InsufficientBalance, Expired, ..."),
    "/tx/settle-batch": _object({
        "operation": STRING, "tx": {"type": "object"},
        "count": {"type": "integer", "description": "Authorisations in the batch"},
        "willSettle": {"type": "integer", "description": "How many the site expects to be "
                       "paid (the contract's checks run off-chain)"},
        "refused": {"type": "array", "items": REFUSAL, "description": "The items expected "
                    "to be refused, and why; the receipt has the last word (GET "
                    "/transactions/{txHash})"},
    }),
}
DESCRIPTIONS = {
    "settle-batch": "Every valid authorisation is settled and each refused one is reported: "
                    "the contract's `allOrNothing` is always false here and cannot be set. "
                    "When no item can be settled the answer is 422 (code RedemptionRefused, "
                    "or the single item's error) with `details.refused`, and nothing is "
                    "built. After mining, GET /transactions/{txHash} lists the refused items "
                    "(`refused`). `authorizations`: a list, or text with one per line; each "
                    "is the compact text " + AUTH_FORMAT + " or its JSON {typedData, signature}.",
    "redeem-authorized": "`authorization`: the compact text " + AUTH_FORMAT + ", or its JSON "
                         "{typedData, signature}. A replayed or replaced one is 422 "
                         "WrongNonce.",
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
        ok = JSON_LIST if path in LIST_READS else RESPONSES.get(path, JSON_OK)
        responses = {"200": ok, **ERRORS, **EXTRA_STATUSES.get(path, {})}
        if path == "/transactions/{txHash}":
            responses["202"] = _object({"txHash": STRING, "status": STRING},
                                       "Not mined yet")
        paths[path] = {"get": {"summary": summary, "parameters": _params(path),
                               "responses": responses}}
    for path, (summary, fields) in POSTS.items():
        ok = "201" if path == "/authorizations" else "200"
        paths[path] = {"post": {"summary": summary, "requestBody": _body(fields),
                                "responses": {ok: RESPONSES.get(path, JSON_OK), **ERRORS}}}
    for name, (_fn, summary) in operations.items():
        fields = {"from": "string", **OPERATION_FIELDS.get(name, {})}
        description = ("Simulated from `from` first; returns {tx: {from,to,data,value,"
                       "chainId,gas,estimatedFee}} for eth_sendTransaction, or "
                       "{needsApproval, approve} when an ERC-20 approve must go first.")
        if name in DESCRIPTIONS:
            description += " " + DESCRIPTIONS[name]
        paths[f"/tx/{name}"] = {"post": {
            "summary": f"Unsigned transaction: {summary}",
            "description": description,
            "requestBody": _body(fields),
            "responses": {"200": RESPONSES.get(f"/tx/{name}", JSON_OK), **ERRORS}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "giftcert API", "version": "1",
                 "description": "Builds transactions and EIP-712 typed data for browser "
                                "wallets; the server holds no keys."},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {"schemas": {
            "Error": {
                "type": "object", "required": ["error", "field"],
                "properties": {"error": {"type": "string"}, "field": {"type": "string",
                                                                  "nullable": True},
                               "code": {"type": "string"}, "details": {"type": "object"}}},
            "Money": {"type": "object", "properties": {"amount": STRING, "currency": STRING}},
            "Refusal": {
                "type": "object", "description": "A batch item that is (or would be) refused",
                "properties": {
                    "item": {"type": "integer", "description": "Its line, from 1"},
                    "index": {"type": "integer", "description": "Its position, from 0 "
                              "(mined refusals only)"},
                    "certificate": STRING,
                    "reason": {"type": "string", "description": "The contract's error name "
                               "(WrongNonce, AuthorizationExpired, InsufficientBalance, ...)"},
                    "message": {"type": "string", "description": "The reason in plain words"},
                    "details": {"type": "object", "description": "The error's arguments "
                                "(mined refusals only)"}}}}},
    }

"""Shared helpers for the web tests (imported by module name: `from helpers import`)."""

from __future__ import annotations

from typing import Any

DAY = 86400


def post(web, path: str, body: Any):
    return web.http.post(f"/api/v1{path}", json=body)


def build(web, op: str, sender: str, **body: Any) -> dict[str, Any]:
    r = post(web, f"/tx/{op}", {"from": sender, **body})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def issue_eth(web, to: str, amount: str = "0.5", merchant: int = 1, **extra: Any) -> int:
    out = build(web, "issue", web.buyer.sender, to=to, amount=amount, merchant=merchant,
                currency="ETH", message="hi", **extra)
    receipt = web.send(out["tx"])
    tx = web.http.get(f"/api/v1/transactions/{receipt['transactionHash'].to_0x_hex()}")
    return int(tx.get_json()["issued"][0])


def sign_redemption(web, cert: int, amount: str, order_ref: int | None = None) -> str:
    body = {"certificate": str(cert), "amount": amount}
    if order_ref is not None:
        body["orderRef"] = str(order_ref)
    r = post(web, "/typed-data/redemption", body)
    assert r.status_code == 200, r.get_json()
    typed = r.get_json()["typedData"]
    reply = web.w3.provider.make_request("eth_signTypedData_v4", [web.holder.sender, typed])
    signature = reply["result"]
    r = post(web, "/authorizations", {"typedData": typed, "signature": signature})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["authorization"]


def assert_query_errors(web, path: str, cases: list[tuple[str, int, str]]) -> None:
    """Each query string gets its status and a JSON error naming its field."""
    for query, status, field in cases:
        r = web.http.get(f"{path}?{query}", headers={"Accept": "application/json"})
        assert r.status_code == status and r.get_json()["field"] == field, query


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A schema of the OpenAPI document with its $ref followed."""
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def request_fields(spec: dict[str, Any]) -> dict[str, set[str]]:
    """Each POST path of the document -> the fields its request body documents."""
    out = {}
    for path, item in spec["paths"].items():
        body = item.get("post", {}).get("requestBody")
        if body is not None:
            schema = resolve(spec, body["content"]["application/json"]["schema"])
            out[path] = set(schema.get("properties", {}))
    return out

"""The API's one declaration per body: every field a handler accepts is in the OpenAPI document
(derived from the models the routes validate with), a field the document does not list is
refused the same way on every route, and schemathesis finds no server error with data made
from the document (positive) or against it (negative)."""

from __future__ import annotations

from typing import Any, get_type_hints

import pytest
import schemathesis
from helpers import post, request_fields, resolve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from schemathesis.generation import GenerationMode

# Imported here, at collection, in the main thread: compiling it later while a keeper thread
# runs hit CPython 3.11's "AST constructor recursion depth mismatch" once in CI.
from schemathesis.specs.openapi import schemas as _openapi_schemas  # noqa: F401

import bench.schemathesis_hooks  # noqa: F401 - test data for eth-address, decimal-amount
from webapp.api import OPERATIONS

GOOD = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # dev account 1 (the buyer)
HOLDER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def route_models(app) -> dict[tuple[str, str], dict[str, type[BaseModel]]]:
    """(method, documented path) -> the models its handler validates (body, query, path)."""
    found = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        hints = get_type_hints(app.view_functions[rule.endpoint])
        models = {k: hints[k] for k in ("body", "query", "path") if k in hints}
        path = rule.rule.removeprefix("/api/v1").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found[(method.lower(), path)] = models
    return found


def accepted(model: type[BaseModel]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}


def test_every_accepted_field_is_documented(web):
    spec = web.http.get("/api/v1/openapi.json").get_json()
    routes = route_models(web.app)
    assert len(routes) >= 44 and {("post", f"/tx/{n}") for n in OPERATIONS} <= set(routes)
    for (method, path), models in routes.items():
        operation = spec["paths"][path][method]
        if "body" in models:
            schema = resolve(spec, operation["requestBody"]["content"]["application/json"][
                "schema"])
            assert set(schema["properties"]) == accepted(models["body"]), path
            assert schema.get("additionalProperties") is False, path  # and nothing else
        for where in ("query", "path"):
            documented = {p["name"] for p in operation.get("parameters", []) if p["in"] == where}
            expected = accepted(models[where]) if where in models else set()
            assert documented == expected, (path, where)
    # accepted but undocumented before the models: now in the document, so fuzzed too
    for path in ("/tx/issue", "/tx/issue-batch"):
        assert {"expiryDays", "validFromDate"} <= request_fields(spec)[path]


def test_every_reference_in_the_document_resolves(web):
    spec = web.http.get("/api/v1/openapi.json").get_json()

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            return ([node["$ref"]] if "$ref" in node else []) + [
                r for v in node.values() for r in refs(v)]
        return [r for v in node for r in refs(v)] if isinstance(node, list) else []
    found = set(refs(spec))
    assert "#/components/schemas/Error" in found
    for ref in found:
        assert ref.rsplit("/", 1)[1] in spec["components"]["schemas"], ref


def test_nested_bodies_are_documented_and_closed(web):
    spec = web.http.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    for name in ("SignedAuthorization", "RedemptionTypedData", "DomainIn", "RedemptionMessage",
                 "BatchRow"):
        assert schemas[name].get("additionalProperties") is False, name
    assert {"chainId", "verifyingContract"} <= set(schemas["DomainIn"]["properties"])


def test_an_undocumented_field_is_refused_on_every_route(web):
    spec = web.http.get("/api/v1/openapi.json").get_json()
    for path in request_fields(spec):
        r = post(web, path, {"zzUndocumented": 1})
        assert r.status_code == 400, (path, r.get_json())
        assert r.get_json()["field"] == "zzUndocumented", (path, r.get_json())


DOCUMENTED = {"from", "to", "amount", "merchant", "currency", "occasion", "message",
              "validFrom", "validFromDate", "expiry", "expiryDays", "claimKey", "claimDays",
              "delivery"}


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=st.text(min_size=1, max_size=20).filter(lambda n: n not in DOCUMENTED),
       value=st.one_of(st.none(), st.integers(), st.text(max_size=5), st.booleans()))
def test_fuzz_a_valid_purchase_with_one_undocumented_field(web_system, name, value):
    """A purchase that would be built, plus any field the document does not list: refused,
    naming that field (never ignored, never a 500)."""
    body = {"from": GOOD, "to": HOLDER, "amount": "1", "merchant": 1, "currency": "ETH",
            "expiryDays": "2000", name: value}
    r = post(web_system, "/tx/issue", body)
    assert r.status_code == 400 and r.get_json()["field"] == name, r.get_json()


# -- schemathesis -------------------------------------------------------------------------------

schema = schemathesis.pytest.from_fixture("api_schema")
EXAMPLES = 6  # per operation and mode: `make audit` runs many more against a live server


@pytest.fixture
def api_schema(web):
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", web.app)
    loaded.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                    max_examples=EXAMPLES, deterministic=True)
    return loaded


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_no_server_error(case: Any, web) -> None:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    response = case.call()
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                             content_type_conformance,
                                             response_schema_conformance])

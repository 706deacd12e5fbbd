"""How much a Flask + pydantic OpenAPI integration adds to a request (docs/api.md has the
figures and the choice). Each candidate runs the same two routes on Flask's test client: a POST
whose 12-field body is validated by a pydantic model (the API's /tx/issue) with a response model
serialised, and a GET with a path and a query model (a holder's certificates). Baselines: plain
Flask without validation, and Flask with the same models validated by hand.

The candidates are not the project's dependencies: run each in a throwaway venv with the
project's Flask and pydantic pins, e.g.

    python3 -m venv /tmp/v && /tmp/v/bin/pip install Flask==3.1.3 pydantic==2.14.4 spectree
    /tmp/v/bin/python bench/openapi_libs.py spectree

Names: plain, pydantic, flask-openapi3, flask-openapi3-cached (the query model's JSON Schema
made once, as webapp/api/models.py does), spectree, apiflask. Prints microseconds per request,
the minimum over 9 rounds of 2,000 (the least disturbed by other work on the machine).
"""

from __future__ import annotations

import copy
import json
import sys
import time
from collections.abc import Callable
from typing import Annotated, Any

from flask import Flask, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Addr = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{40}$")]
Amount = Annotated[str, StringConstraints(pattern=r"^\d{1,30}(\.\d{1,30})?$")]


class Issue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sender: Addr = Field(alias="from")
    merchant: int | str
    currency: str | int | None = None
    amount: Amount
    to: Addr | None = None
    claimKey: Addr | None = None  # noqa: N815
    claimDays: int | str | None = None  # noqa: N815
    occasion: int | str | None = None
    message: str | None = Field(None, max_length=280)
    validFrom: int | str | None = None  # noqa: N815
    validFromDate: str | None = None  # noqa: N815
    expiryDays: int | str | None = None  # noqa: N815


class Page(BaseModel):
    model_config = ConfigDict(extra="forbid")
    closed: bool = False
    limit: int = Field(50, ge=1, le=500)
    after: str | None = None


class CachedPage(Page):
    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if "_made" not in cls.__dict__:
            cls._made = super().model_json_schema(*args, **kwargs)
        return copy.deepcopy(cls._made)


class HolderPath(BaseModel):
    holder: Addr


class Tx(BaseModel):
    sender: str = Field(alias="from")
    to: str
    data: str
    value: str
    chainId: int  # noqa: N815
    gas: str


class Built(BaseModel):
    operation: str
    needsApproval: bool  # noqa: N815
    tx: Tx | None
    total: dict[str, str]


HOLDER = "0x" + "ab" * 20
BODY = {"from": HOLDER, "merchant": "1", "currency": "tUSD", "amount": "12.50",
        "to": "0x" + "cd" * 20, "occasion": "2", "message": "happy birthday",
        "expiryDays": "1900"}
OUT = {"operation": "issue", "needsApproval": False,
       "total": {"amount": "12.50", "currency": "tUSD"},
       "tx": {"from": HOLDER, "to": BODY["to"], "data": "0x" + "00" * 300, "value": "0",
              "chainId": 31337, "gas": "100000"}}
PAGE = {"holder": HOLDER, "next": None,
        "certificates": [{"id": str(i), "balance": "1.00"} for i in range(50)]}


def built() -> dict[str, Any]:
    return Built.model_validate(OUT).model_dump(mode="json", by_alias=True)


def plain() -> Flask:
    app = Flask("bench")

    @app.post("/tx/issue")
    def issue() -> Any:
        request.get_json()
        return jsonify(OUT)

    @app.get("/holders/<holder>/certificates")
    def certificates(holder: str) -> Any:
        return jsonify(PAGE)
    return app


def by_hand() -> Flask:
    app = Flask("bench")

    @app.post("/tx/issue")
    def issue() -> Any:
        Issue.model_validate(request.get_json())
        return jsonify(built())

    @app.get("/holders/<holder>/certificates")
    def certificates(holder: str) -> Any:
        HolderPath.model_validate({"holder": holder})
        Page.model_validate(request.args.to_dict())
        return jsonify(PAGE)
    return app


def flask_openapi3(page: type[Page] = Page) -> Flask:
    from flask_openapi3 import OpenAPI

    app = OpenAPI("bench")

    @app.post("/tx/issue", responses={200: Built})
    def issue(body: Issue) -> Any:
        return built()

    def certificates(path: HolderPath, query: Page) -> Any:
        return PAGE
    certificates.__annotations__.update(path=HolderPath, query=page)  # the model to measure
    app.get("/holders/<holder>/certificates")(certificates)
    assert app.api_doc
    return app


def spectree() -> Flask:
    from spectree import Response, SpecTree

    app = Flask("bench")
    api = SpecTree("flask", path="apidoc")

    @app.post("/tx/issue")
    @api.validate(json=Issue, resp=Response(HTTP_200=Built))
    def issue() -> Any:
        return Built.model_validate(OUT)

    @app.get("/holders/<holder>/certificates")
    @api.validate(query=Page)
    def certificates(holder: str) -> Any:
        HolderPath.model_validate({"holder": holder})
        return jsonify(PAGE)
    api.register(app)
    with app.app_context():
        assert api.spec
    return app


def apiflask() -> Flask:
    from apiflask import APIFlask

    app = APIFlask("bench")

    @app.post("/tx/issue")
    @app.input(Issue)
    @app.output(Built)
    def issue(json_data: Any) -> Any:
        return OUT

    @app.get("/holders/<holder>/certificates")
    @app.input(Page, location="query")
    def certificates(holder: str, query_data: Any) -> Any:
        HolderPath.model_validate({"holder": holder})
        return PAGE
    assert app.spec
    return app


CANDIDATES: dict[str, Callable[[], Flask]] = {
    "plain": plain, "pydantic": by_hand, "flask-openapi3": flask_openapi3,
    "flask-openapi3-cached": lambda: flask_openapi3(CachedPage), "spectree": spectree,
    "apiflask": apiflask,
}


def measure(app: Flask, n: int = 2000, rounds: int = 9) -> tuple[float, float]:
    client = app.test_client()
    body = json.dumps(BODY)
    url = f"/holders/{HOLDER}/certificates?limit=50&closed=false"
    assert client.post("/tx/issue", data=body, content_type="application/json").status_code == 200
    assert client.get(url).status_code == 200
    post, get = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            client.post("/tx/issue", data=body, content_type="application/json")
        post.append((time.perf_counter() - start) / n * 1e6)
        start = time.perf_counter()
        for _ in range(n):
            client.get(url)
        get.append((time.perf_counter() - start) / n * 1e6)
    return min(post), min(get)


def main(names: list[str]) -> None:
    for name in names or ["plain", "pydantic"]:
        post, get = measure(CANDIDATES[name]())
        print(f"{name}: POST {post:.0f} us, GET {get:.0f} us per request")


if __name__ == "__main__":
    main(sys.argv[1:])

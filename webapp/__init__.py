"""The giftcert web site: Flask application factory, blueprints by audience, JSON API.

`create_app()` reads settings (environment / .env), connects to the recorded deployment and
makes this process's state (webapp/state.py): one engine, one node connection, the index read
and, in the in-process mode (GIFTCERT_INDEXER, `make run`), followed in a background thread;
with GIFTCERT_INDEXER=service the process only reads what `giftcert index --follow` writes.
A process forked from the one that made the app (`gunicorn --preload`) makes its own state at
its first request, so no worker shares its parent's connections or lacks a follower.

Failures are said, not hidden: a database that does not answer is a 503 with a JSON reason
(`code: DatabaseUnavailable`) or a page in words, a node that does not answer the same with
`ChainUnavailable`; `/api/v1/status` reports chain, database and indexer separately.
Tests pass `settings` and `client`. The server holds no user keys: it builds transactions and
typed data for the browser wallet.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import weakref
from typing import Any, NoReturn

from flask import Flask, Response, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_openapi3 import OpenAPI
from pydantic import ValidationError
from requests.exceptions import ConnectionError as RequestsConnectionError
from sqlalchemy import exc as sa_exc
from web3 import Web3
from web3.exceptions import ProviderConnectionError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from giftcert.client import GiftCert
from giftcert.config import Settings, load_settings
from giftcert.database import DatabaseUnavailable, is_unavailable
from giftcert.errors import ContractRevert
from giftcert.multicall import ChainClock
from webapp import siwe
from webapp.errors import ApiError, from_revert, from_validation
from webapp.state import AppState, build_state, read_only

log = logging.getLogger("giftcert.web")

# GET answers made from the index alone: kept per URL until the index moves (webapp/state.py).
CACHED_ENDPOINTS = frozenset({
    "api.holder_certificates", "api.history", "api.merchants", "api.merchant",
    "api.merchant_redemptions", "api.currencies", "api.policy", "api.config",
})

DATABASE_DOWN = ("database unreachable: the site's database does not answer; nothing was "
                 "lost, try again shortly")
CHAIN_DOWN = "chain unreachable: the node does not answer; try again shortly"

_followers: weakref.WeakSet[AppState] = weakref.WeakSet()


def _stop_before_fork() -> None:
    """A process about to fork workers (gunicorn --preload's master) stops following: each
    worker follows for itself, after the fork."""
    for state in list(_followers):
        state.stop()


os.register_at_fork(before=_stop_before_fork)


def create_app(settings: Settings | None = None, client: GiftCert | None = None, *,
               follow: bool | None = None, start_block: int | None = None) -> Flask:
    settings = settings or load_settings()
    if client is None:
        from giftcert.deploy import connect

        client, record = connect(settings)
        start_block = record.block if start_block is None else start_block
        follow = True if follow is None else follow
        without_validation(client.w3)
    follow = bool(follow) and not settings.serves_index_from_service
    client = read_only(client, ChainClock(settings.chain_cache_seconds))
    # eth_chainId and friends never change under a running site: let web3 cache them.
    if hasattr(client.w3.provider, "cache_allowed_requests"):
        client.w3.provider.cache_allowed_requests = True
    # flask-openapi3's Flask: the API's pydantic models validate requests (a refusal is our
    # 400 {error, field}, raised from the callback) and make /api/v1/openapi.json.
    app = OpenAPI(__name__, doc_ui=False, validation_error_status=400,
                  validation_error_callback=_refuse)
    app.config.update(
        SECRET_KEY=secrets.token_hex(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=1 * 1024 * 1024,
        GIFTCERT_SETTINGS=settings,
        GIFTCERT_SITE=siwe.Site(
            origin=settings.origin, chain_id=client.chain_id,
            cookie=settings.session_cookie or siwe.cookie_name(client.chain_id,
                                                               client.address)),
    )
    app.json.sort_keys = False  # type: ignore[attr-defined] # the default provider has it

    def make_state(for_client: GiftCert) -> AppState:
        state = build_state(settings, for_client, start_block or 0)
        if follow:
            state.follow()
            _followers.add(state)
        return state

    app.extensions["giftcert"] = make_state(client)
    _per_process(app, make_state)

    from webapp import admin, api, give, holder, merchant, pages

    app.register_blueprint(pages.bp)
    app.register_blueprint(give.bp)
    app.register_blueprint(holder.bp)
    app.register_blueprint(merchant.bp)
    app.register_blueprint(admin.bp)
    app.register_api(api.bp)
    _errors(app)
    _response_cache(app)
    _behind_proxies(app, settings.trusted_proxies)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"chain_id": client.chain_id, "contract_address": client.address,
                "rpc_url": settings.rpc_url if settings.is_dev_chain else ""}

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")  # keeps #keys at home
        return response

    return app


def _behind_proxies(app: Flask, count: int) -> None:
    """Behind `count` reverse proxies, `request.remote_addr` is the client's address as the
    outermost trusted proxy saw it (werkzeug's ProxyFix), so the relay's per-IP limit counts
    people, not the proxy. Nothing is trusted when there is no proxy."""
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count)  # type: ignore[method-assign]


def without_validation(w3: Web3) -> Web3:
    """A web process's own connection skips web3's validation middleware, which asks the node
    for its chain id to check transactions' chainId fields: the server sends none, and the chain
    id was checked when connecting."""
    try:
        w3.middleware_onion.remove("validation")
    except ValueError:
        pass  # not there
    return w3


def _per_process(app: Flask, make_state: Any) -> None:
    """A forked process (a gunicorn worker of a --preload master) makes its own state at its
    first request: its own node connection, engine and follower. The parent's objects are kept
    referenced and never used, so nothing closes connections the parent still owns."""
    lock = threading.Lock()
    inherited: list[AppState] = []

    @app.before_request
    def _own_state() -> None:
        state: AppState = app.extensions["giftcert"]
        if state.pid == os.getpid():
            return
        with lock:
            state = app.extensions["giftcert"]
            if state.pid == os.getpid():
                return
            inherited.append(state)
            state.indexer.engine.dispose(close=False)
            app.extensions["giftcert"] = make_state(_fresh_client(state.client))
            log.info("process %s: own state made after fork", os.getpid())


def _fresh_client(client: GiftCert) -> GiftCert:
    """The same contract over a new connection to the same node (no node call)."""
    provider = client.w3.provider
    uri = getattr(provider, "endpoint_uri", None)
    if uri is None:
        return client
    w3 = without_validation(Web3(Web3.HTTPProvider(
        uri, request_kwargs=getattr(provider, "_request_kwargs", None),
        cache_allowed_requests=True)))
    contract = w3.eth.contract(address=client.contract.address, abi=client.contract.abi)
    return read_only(GiftCert(w3, contract, client.sender, chain_id=client.chain_id,
                              multicall=client.multicall),
                     ChainClock(client.clock.ttl))


def _response_cache(app: Flask) -> None:
    """GET answers of CACHED_ENDPOINTS (made from the index alone) are served again while the
    index has not moved, until the time a handler said would change its answer
    (g.giftcert_cache_until), and for at most state.RESPONSE_MAX_AGE seconds."""

    @app.before_request
    def _cached() -> ResponseReturnValue | None:
        if request.method != "GET" or request.endpoint not in CACHED_ENDPOINTS:
            return None
        state: AppState = app.extensions["giftcert"]
        key = request.full_path
        g.giftcert_generation, hit = state.cached_response(key)
        if hit is None:
            g.giftcert_cache_key = key
            return None
        body, status, mimetype = hit
        return app.response_class(body, status, mimetype=mimetype)

    @app.after_request
    def _keep(response: Response) -> Response:
        key = g.pop("giftcert_cache_key", None)
        if key is not None and response.status_code == 200 and not response.direct_passthrough:
            state: AppState = app.extensions["giftcert"]
            state.keep_response(key, (response.get_data(), response.status_code,
                                      response.mimetype), g.get("giftcert_generation"),
                                g.get("giftcert_cache_until"))
        return response


def _refuse(exc: ValidationError) -> NoReturn:
    raise from_validation(exc)


def _wants_json() -> bool:
    """The API always answers JSON; a page does when the client asks for it (Accept)."""
    return (request.path.startswith("/api/")
            or request.accept_mimetypes.best == "application/json")


def _errors(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> ResponseReturnValue:
        if _wants_json():
            response = jsonify(exc.to_json())
        else:
            response = app.make_response(render_template("error.html", message=exc.message,
                                                         status=exc.status, code=exc.code))
        response.status_code = exc.status
        if exc.status == 503:
            response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(ContractRevert)
    def _revert(exc: ContractRevert) -> ResponseReturnValue:
        return _api_error(from_revert(exc))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        if code == 404 and request.path.startswith("/api/v1/tx/"):
            name = request.path.removeprefix("/api/v1/tx/")
            return _api_error(ApiError(404, f"unknown operation {name!r}", "operation"))
        if _wants_json():
            return jsonify({"error": exc.description, "field": None}), code
        return render_template("error.html", message=exc.description, status=code), code

    @app.errorhandler(RequestsConnectionError)
    @app.errorhandler(ProviderConnectionError)
    def _node_down(exc: Exception) -> ResponseReturnValue:
        # The node is a dependency, not our bug: 503 says "try again", and nothing was sent.
        app.logger.warning("chain unreachable: %s", type(exc).__name__)
        return _api_error(ApiError(503, CHAIN_DOWN, None, "ChainUnavailable"))

    def _database_down(exc: Exception) -> ResponseReturnValue:
        app.logger.warning("database unreachable: %s", str(exc).splitlines()[0][:200]
                           if str(exc) else type(exc).__name__)
        return _api_error(ApiError(503, DATABASE_DOWN, None, "DatabaseUnavailable"))

    @app.errorhandler(DatabaseUnavailable)
    @app.errorhandler(sa_exc.OperationalError)
    @app.errorhandler(sa_exc.InterfaceError)
    @app.errorhandler(sa_exc.TimeoutError)
    @app.errorhandler(sa_exc.DBAPIError)
    def _database(exc: Exception) -> ResponseReturnValue:
        if is_unavailable(exc):
            return _database_down(exc)
        return _unexpected(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:  # pragma: no cover - logged
        if is_unavailable(exc):
            return _database_down(exc)
        app.logger.exception("unexpected error")
        if _wants_json():
            return jsonify({"error": "internal error", "field": None}), 500
        return render_template("error.html", message="internal error", status=500), 500

"""The giftcert web site: Flask application factory, blueprints by audience, JSON API.

`create_app()` reads settings (environment / .env), connects to the recorded deployment and
follows the chain with the indexer in a background thread; tests pass `settings` and `client`.
The server holds no user keys: it builds transactions and typed data for the browser wallet.
"""

from __future__ import annotations

import secrets
from typing import Any, NoReturn

from flask import Flask, Response, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_openapi3 import OpenAPI
from pydantic import ValidationError
from requests.exceptions import ConnectionError as RequestsConnectionError
from web3.exceptions import ProviderConnectionError
from werkzeug.exceptions import HTTPException

from giftcert.client import GiftCert
from giftcert.config import Settings, load_settings
from giftcert.errors import ContractRevert
from giftcert.indexer import Indexer
from webapp.errors import ApiError, from_revert, from_validation
from webapp.sessions import SessionStore
from webapp.state import AppState, read_only


def create_app(settings: Settings | None = None, client: GiftCert | None = None, *,
               follow: bool | None = None, start_block: int | None = None) -> Flask:
    settings = settings or load_settings()
    if client is None:
        from giftcert.deploy import connect

        client, record = connect(settings)
        start_block = record.block if start_block is None else start_block
        follow = True if follow is None else follow
    client = read_only(client)
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
    )
    app.json.sort_keys = False  # type: ignore[attr-defined] # the default provider has it
    indexer = Indexer(client.w3, client.contract, settings.database_url,
                      start_block=start_block or 0)
    # SIWE nonces and sessions live in the same database, so sign-ins outlive a restart
    # and are shared by every process serving the site.
    state = AppState(client, indexer, siwe=SessionStore(indexer.engine))
    app.extensions["giftcert"] = state
    if follow:
        state.follow()

    from webapp import admin, api, give, holder, merchant, pages

    app.register_blueprint(pages.bp)
    app.register_blueprint(give.bp)
    app.register_blueprint(holder.bp)
    app.register_blueprint(merchant.bp)
    app.register_blueprint(admin.bp)
    app.register_api(api.bp)
    _errors(app)

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
            return jsonify(exc.to_json()), exc.status
        return render_template("error.html", message=exc.message, status=exc.status), exc.status

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
        return _api_error(ApiError(503, "chain unreachable: the node does not answer; "
                                        "try again shortly", None))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:  # pragma: no cover - logged
        app.logger.exception("unexpected error")
        if _wants_json():
            return jsonify({"error": "internal error", "field": None}), 500
        return render_template("error.html", message="internal error", status=500), 500

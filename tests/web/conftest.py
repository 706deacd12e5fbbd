"""Web fixtures: the system deployed once per session on the session anvil, two merchants,
tUSD funded, and the Flask app over it (no background indexer: tests sync explicitly). Each test
runs in an anvil snapshot; the indexer treats the revert as a reorganisation. The site's public
origin is http://localhost, the Flask test client's, so sign-in messages are for "localhost"."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from deployed import Deployed, deploy_for_tests
from flask import Flask
from flask.testing import FlaskClient

from webapp import create_app


@dataclass(kw_only=True)
class Web(Deployed):
    app: Flask
    http: FlaskClient

    @property
    def state(self) -> Any:
        return self.app.extensions["giftcert"]

    @property
    def cookie(self) -> str:
        """The site's sign-in cookie name."""
        return self.app.config["GIFTCERT_SITE"].cookie

    def sync(self) -> None:
        self.state.forget()
        self.state.sync()

    def warp(self, seconds: int) -> None:
        super().warp(seconds)
        self.state.forget()  # the site's cached clock is the old block's

    def send(self, tx: dict[str, Any]) -> dict[str, Any]:
        """What the browser wallet does with a built transaction (anvil's unlocked account)."""
        params = {k: tx[k] for k in ("from", "to", "data", "value", "gas")}
        tx_hash = self.w3.eth.send_transaction(params)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.02)
        assert receipt["status"] == 1
        return receipt


@pytest.fixture(scope="session")
def web_system(anvil, w3, artifacts, tmp_path_factory) -> Web:
    system = deploy_for_tests(w3, anvil.rpc_url, artifacts, tmp_path_factory.mktemp("web"))
    system.admin.set_min_validity(3600)
    system.settings = replace(system.settings, public_origin="http://localhost")
    site_client = system.admin.acting_as(system.admin.sender)
    site_client.multicall = system.record.multicall  # reads batched as in a deployment
    app = create_app(system.settings, site_client, follow=False,
                     start_block=system.record.block)
    app.config["TESTING"] = True
    return Web(**vars(system), app=app, http=app.test_client())


@pytest.fixture
def web(web_system: Web) -> Iterator[Web]:
    with web_system.snapshot():
        web_system.http = web_system.app.test_client()
        web_system.sync()
        yield web_system

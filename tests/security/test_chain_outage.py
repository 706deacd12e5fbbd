"""The chain stops while the site runs: pages and API keep answering (no crash) and the site
recovers when the node comes back from its state file. Saying "unreachable" (503, not 500) on
the routes that need the node is tested too."""

from __future__ import annotations

import pytest
from web3 import Web3

from giftcert.chain import Anvil, free_port
from giftcert.client import GiftCert
from giftcert.config import load_settings
from giftcert.deploy import contract_at, deploy_system
from webapp import create_app

PAGES = ["/", "/give", "/merchant/login", "/api/v1/status", "/api/v1/config", "/api/v1/merchants"]
HOLDER = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
NEEDS_NODE = [
    ("GET", "/api/v1/certificates/123456", None),
    ("POST", "/api/v1/typed-data/redemption", {"certificate": "1", "amount": "0.1"}),
    (
        "POST",
        "/api/v1/tx/issue",
        {"from": HOLDER, "to": HOLDER, "merchant": 1, "amount": "0.1", "currency": "ETH"},
    ),
]


@pytest.fixture
def site(tmp_path):
    node = Anvil(free_port(), state_file=tmp_path / "state.json", state_interval=1).start()
    env = {
        "GIFTCERT_RPC_URL": node.rpc_url,
        "GIFTCERT_CHAIN_ID": "31337",
        "GIFTCERT_STATE_DIR": str(tmp_path),
        "GIFTCERT_DATABASE_URL": f"sqlite:///{tmp_path / 'index.db'}",
    }
    settings = load_settings(tmp_path / "none.env", environ=env)
    w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 3}))
    record, _ = deploy_system(w3, settings, directory=tmp_path / "deployments", say=lambda _m: None)
    admin = GiftCert(w3, contract_at(w3, record), private_key=settings.deployer_key)
    admin.register_merchant(w3.eth.accounts[4], "Corner Coffee")
    app = create_app(settings, admin, follow=False, start_block=record.block)
    yield app, node
    node.stop()


def test_site_keeps_answering_while_the_chain_is_down_and_recovers(site):
    app, node = site
    http = app.test_client()
    for path in PAGES:
        assert http.get(path).status_code == 200, path
    node.stop()
    for path in PAGES:  # served from what the site already knows
        assert http.get(path).status_code == 200, path
    for method, path, body in NEEDS_NODE:  # answered, as JSON, no hang, no crash
        r = http.open(path, method=method, json=body)
        assert r.is_json and "error" in r.get_json(), path
    node.start()  # same port, same state file: the chain comes back
    for path in PAGES:
        assert http.get(path).status_code == 200, path
    r = http.post("/api/v1/typed-data/redemption", json={"certificate": "1", "amount": "0.1"})
    assert r.status_code in (400, 404), r.get_json()  # the node answers again (no such cert)


def test_routes_that_need_the_node_say_it_is_unreachable(site):
    app, node = site
    http = app.test_client()
    node.stop()
    for method, path, body in NEEDS_NODE:
        r = http.open(path, method=method, json=body)
        assert r.status_code == 503, (path, r.status_code)
        assert "unreachable" in r.get_json()["error"], path
    status = http.get("/api/v1/status").get_json()
    assert "unreachable" in str(status).lower()

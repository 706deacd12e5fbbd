"""The deployment settings of the site (issue 14): the public origin Sign-In with Ethereum uses,
the cookie's name per site, the indexer mode, and answers kept from the index that never
outlive it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from helpers import issue_eth

from giftcert.config import ANVIL_DEV_KEYS, ConfigError, load_settings
from webapp import create_app

COFFEE_KEY = ANVIL_DEV_KEYS[4]


def app_with(web, **changes):
    app = create_app(replace(web.settings, **changes), web.admin, follow=False,
                     start_block=web.record.block)
    app.config["TESTING"] = True
    return app


def sign_in(http, key=COFFEE_KEY, host=None):
    account = Account.from_key(key)
    headers = {"Host": host} if host else {}
    message = http.get(f"/api/v1/siwe/nonce?address={account.address}",
                       headers=headers).get_json()["message"]
    signature = Account.sign_message(encode_defunct(text=message), key).signature
    return message, http.post("/api/v1/siwe/verify", headers=headers, json={
        "message": message, "signature": "0x" + bytes(signature).hex()})


def test_settings_are_read_and_checked(tmp_path):
    none = tmp_path / "none.env"
    s = load_settings(none, environ={"GIFTCERT_WEB_PORT": "5001"})
    assert s.indexer_mode == "in-process" and s.origin == "http://127.0.0.1:5001"
    s = load_settings(none, environ={"GIFTCERT_INDEXER": "service",
                                     "GIFTCERT_PUBLIC_ORIGIN": "https://Gifts.Example/",
                                     "GIFTCERT_SESSION_COOKIE": "shop_session",
                                     "GIFTCERT_CHAIN_CACHE_SECONDS": "0.5"})
    assert s.serves_index_from_service and s.origin == "https://gifts.example"
    assert s.session_cookie == "shop_session" and s.chain_cache_seconds == 0.5
    for name, value in (("GIFTCERT_INDEXER", "both"),
                        ("GIFTCERT_PUBLIC_ORIGIN", "https://gifts.example/path"),
                        ("GIFTCERT_PUBLIC_ORIGIN", "gifts.example"),
                        ("GIFTCERT_SESSION_COOKIE", "a b"),
                        ("GIFTCERT_CHAIN_CACHE_SECONDS", "-1")):
        with pytest.raises(ConfigError, match=name):
            load_settings(none, environ={name: value})


def test_sign_in_is_for_the_public_origin_whatever_the_host(web):
    app = app_with(web, public_origin="https://gifts.example")
    http = app.test_client()
    message, r = sign_in(http, host="phish.example")
    assert message.startswith("gifts.example wants you to sign in")
    assert "URI: https://gifts.example\n" in message
    assert r.status_code == 200, r.get_json()
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith(app.config["GIFTCERT_SITE"].cookie + "=")
    assert "Secure" in cookie and "HttpOnly" in cookie  # an https origin behind a proxy


def test_each_site_has_its_own_cookie(web):
    default = app_with(web).config["GIFTCERT_SITE"].cookie
    assert default == f"giftcert_session_31337_{web.admin.address.lower()[2:12]}"
    named = app_with(web, session_cookie="shop_session")
    _, r = sign_in(named.test_client())
    assert r.headers["Set-Cookie"].startswith("shop_session=")
    assert "Secure" not in r.headers["Set-Cookie"]  # http://localhost
    other = named.test_client()  # the same session id under another site's cookie is no one
    other.set_cookie(default, r.headers["Set-Cookie"].split(";")[0].split("=", 1)[1])
    assert other.get("/api/v1/siwe/me").status_code == 401


def test_service_mode_never_follows_nor_writes(web):
    app = create_app(replace(web.settings, indexer_mode="service"), web.admin, follow=True,
                     start_block=web.record.block)
    state = app.extensions["giftcert"]
    try:
        assert not state.follows and state.sync() == 0
        body = app.test_client().get("/api/v1/status").get_json()
        assert body["indexer"]["mode"] == "service" and body["database"] == "reachable"
    finally:
        state.close()


def test_a_kept_answer_never_outlives_the_index(web):
    path = f"/api/v1/holders/{web.holder.sender}/certificates"
    before = web.http.get(path).get_json()["certificates"]
    assert web.http.get(path).get_json()["certificates"] == before  # kept
    cert = issue_eth(web, web.holder.sender, "0.4")
    web.state.sync()  # the index moves: the next answer is made again
    after = [c["id"] for c in web.http.get(path).get_json()["certificates"]]
    assert str(cert) in after and len(after) == len(before) + 1

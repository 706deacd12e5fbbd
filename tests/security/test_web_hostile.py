"""Hostile input to the site: oversized bodies, wrong content types, cross-site requests,
session fixation, replayed SIWE sign-ins, and the chain going away while the site runs."""

from __future__ import annotations

import json

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from giftcert.config import ANVIL_DEV_KEYS

COFFEE_KEY = ANVIL_DEV_KEYS[4]


BODYLESS = {"/api/v1/siwe/logout"}  # reads no body: it only ends the caller's own session


def _post_routes(app) -> list[str]:
    """Every POST route that reads a body (found from the app, so new routes are covered)."""
    routes = []
    for rule in app.url_map.iter_rules():
        path = str(rule)
        if "POST" not in rule.methods or path in BODYLESS:
            continue
        assert "<" not in path, f"a new parameterised POST route to cover: {path}"
        routes.append(path)
    assert len(routes) > 20
    return sorted(routes)


def _signed_message(web, key=COFFEE_KEY) -> dict:
    account = Account.from_key(key)
    message = web.http.get(f"/api/v1/siwe/nonce?address={account.address}").get_json()["message"]
    signature = Account.sign_message(encode_defunct(text=message), key).signature
    return {"message": message, "signature": "0x" + bytes(signature).hex()}


def test_oversized_bodies_are_refused_without_a_crash(web):
    big = json.dumps({"to": "0x" + "ab" * 20, "message": "x" * (2 * 1024 * 1024)})
    for route in _post_routes(web.app):
        r = web.http.post(route, data=big, content_type="application/json")
        assert r.status_code == 413, (route, r.status_code)
        assert r.is_json and "error" in r.get_json(), route


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("text/plain", '{"certificate": "1"}'),  # what a cross-site <form enctype> can send
        ("application/x-www-form-urlencoded", "certificate=1&amount=1"),
        ("multipart/form-data; boundary=x", "--x\r\n\r\n1\r\n--x--"),
        ("application/json", "{not json"),
        ("application/json", "[1, 2, 3]"),
        ("application/json", '"a string"'),
        ("application/json", "null"),
        ("application/json; charset=latin-1", '{"a": "\xe9"}'),
        (None, ""),
    ],
)
def test_wrong_content_types_are_4xx_json_on_every_post_route(web, content_type, body):
    for route in _post_routes(web.app):
        r = web.http.post(route, data=body, content_type=content_type)
        assert 400 <= r.status_code < 500, (route, content_type, r.status_code)
        assert r.is_json, (route, content_type)


def test_cross_site_form_posts_cannot_sign_in_or_out(web):
    """A cross-site form can only send simple content types: the API reads JSON only, and the
    session cookie is SameSite=Lax and HttpOnly, so another site cannot act as the merchant."""
    signed = _signed_message(web)
    r = web.http.post(
        "/api/v1/siwe/verify",
        data=json.dumps(signed),
        content_type="text/plain",
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 400 and web.cookie not in r.headers.get("Set-Cookie", "")
    r = web.http.post("/api/v1/siwe/verify", json=signed)
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert web.http.get("/api/v1/siwe/me").status_code == 200
    r = web.http.post(
        "/api/v1/siwe/logout", data="x=1", content_type="application/x-www-form-urlencoded"
    )
    # A forged logout could at most end the session (no state moves); the session is intact
    # or gone, never handed to anyone else.
    assert r.status_code in (200, 400, 403)


def test_session_fixation_a_planted_session_id_is_never_adopted(web):
    planted = "attacker-chosen-session-id"
    web.http.set_cookie(web.cookie, planted)
    assert web.http.get("/api/v1/siwe/me").status_code == 401
    r = web.http.post("/api/v1/siwe/verify", json=_signed_message(web))
    assert r.status_code == 200
    issued = r.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    assert issued != planted  # a fresh id from the server, not the one the client brought
    assert web.state.siwe.session(planted) is None
    other = web.app.test_client()  # the attacker's browser, with the id they planted
    other.set_cookie(web.cookie, planted)
    assert other.get("/api/v1/siwe/me").status_code == 401
    assert other.get("/merchant/").status_code == 302
    # logging out ends the session on the server: a stolen copy of the cookie stops working
    thief = web.app.test_client()
    thief.set_cookie(web.cookie, issued)
    assert thief.get("/api/v1/siwe/me").status_code == 200
    web.http.post("/api/v1/siwe/logout")
    assert thief.get("/api/v1/siwe/me").status_code == 401


def test_siwe_replay_of_a_whole_signed_message_from_another_client(web):
    signed = _signed_message(web)
    assert web.http.post("/api/v1/siwe/verify", json=signed).status_code == 200
    replayer = web.app.test_client()
    r = replayer.post("/api/v1/siwe/verify", json=signed)
    assert r.status_code == 401 and r.get_json()["code"] == "InvalidNonce"
    assert replayer.get("/api/v1/siwe/me").status_code == 401


def test_siwe_message_for_another_host_is_refused(web):
    """The domain in the message must be the site's public origin (GIFTCERT_PUBLIC_ORIGIN),
    whatever Host header the request carries: a phishing site relaying requests gets messages
    for this site's domain (its wallet warns), and one written for its own is refused."""
    account = Account.from_key(ANVIL_DEV_KEYS[4])
    relayed = web.http.get(f"/api/v1/siwe/nonce?address={account.address}",
                           headers={"Host": "evil.example"}).get_json()["message"]
    assert relayed.startswith("localhost wants you to sign in")
    assert "evil.example" not in relayed
    forged = relayed.replace("localhost", "evil.example")
    signature = Account.sign_message(encode_defunct(text=forged), account.key).signature
    r = web.http.post("/api/v1/siwe/verify", headers={"Host": "evil.example"},
                      json={"message": forged, "signature": "0x" + signature.hex()})
    assert r.status_code == 401 and r.get_json()["code"] == "WrongDomain"

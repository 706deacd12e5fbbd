"""Sign-In with Ethereum against the real site and anvil: messages written by the library (the
server's own) and by hand as wallets and other sites' libraries write them, with every optional
field; a merchant whose account is a contract wallet (contracts/test/ERC1271Wallet.sol, deployed
on anvil) signs in through ERC-1271; and what an attacker tries is refused with a 4xx reason."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from giftcert.config import ANVIL_DEV_KEYS
from webapp import siwe
from webapp.errors import ApiError

COFFEE_KEY = ANVIL_DEV_KEYS[4]
COFFEE = Account.from_key(COFFEE_KEY).address
OWNER_KEY = ANVIL_DEV_KEYS[8]  # owns the contract wallet
OWNER = Account.from_key(OWNER_KEY).address
STRANGER_KEY = ANVIL_DEV_KEYS[7]


def stamp(moment: datetime, millis: bool = False) -> str:
    """An RFC 3339 time as wallets write it (viem and siwe-js: milliseconds and Z)."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds" if millis else "seconds")
    return text.replace("+00:00", "Z")


def wallet_message(address: str, nonce: str, *, domain: str = "localhost",
                   uri: str = "http://localhost", chain_id: int = 31337,
                   statement: str | None = "Sign in to the giftcert merchant desk.",
                   issued_at: str | None = None, expiration_time: str | None = None,
                   not_before: str | None = None, request_id: str | None = None,
                   resources: list[str] | None = None, scheme: str | None = None) -> str:
    """An EIP-4361 message written out by hand from the EIP's template, the way a wallet's or a
    dapp's own library writes it (not through the `siwe` package)."""
    now = datetime.now(UTC)
    head = f"{scheme}://{domain}" if scheme else domain
    lines = [f"{head} wants you to sign in with your Ethereum account:", address, ""]
    lines += [statement, ""] if statement is not None else [""]
    lines += [f"URI: {uri}", "Version: 1", f"Chain ID: {chain_id}", f"Nonce: {nonce}",
              f"Issued At: {issued_at or stamp(now, millis=True)}"]
    if expiration_time:
        lines.append(f"Expiration Time: {expiration_time}")
    if not_before:
        lines.append(f"Not Before: {not_before}")
    if request_id:
        lines.append(f"Request ID: {request_id}")
    if resources:
        lines += ["Resources:", *[f"- {r}" for r in resources]]
    return "\n".join(lines)


def personal_sign(text: str, key: str) -> str:
    return "0x" + bytes(Account.sign_message(encode_defunct(text=text), key).signature).hex()


def verify(web, text: str, signature: str) -> Any:
    return web.http.post("/api/v1/siwe/verify", json={"message": text, "signature": signature})


def signed_in(web, text: str, key: str) -> Any:
    return verify(web, text, personal_sign(text, key))


def refused(r, status: int, code: str | None = None, field: str | None = None) -> dict:
    body = r.get_json()
    assert r.status_code == status, body
    assert isinstance(body["error"], str) and body["error"]
    if code:
        assert body.get("code") == code, body
    if field:
        assert body["field"] == field, body
    return body


@pytest.fixture
def nonce(web) -> str:
    return web.state.siwe.new_nonce()


@pytest.fixture
def contract_wallet(web, artifacts) -> str:
    """An ERC-1271 wallet owned by OWNER, registered as the merchant "Wallet Cafe" (undone
    after the test with the chain snapshot)."""
    artifact = artifacts["ERC1271Wallet"]
    factory = web.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx = factory.constructor(OWNER).transact({"from": web.admin.sender})
    address = web.w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.02)["contractAddress"]
    web.admin.register_merchant(address, "Wallet Cafe")
    web.sync()  # the site knows merchants from the index
    return address


# ---------------------------------------------------------------- accepted


def test_the_servers_own_message_is_the_librarys(web):
    body = web.http.get(f"/api/v1/siwe/nonce?address={COFFEE.lower()}").get_json()
    parsed = siwe.parse(body["message"])
    assert parsed.address == COFFEE and parsed.domain == "localhost"
    assert parsed.uri == "http://localhost" and parsed.chain_id == 31337
    assert parsed.nonce == body["nonce"] and parsed.expiration_time == body["expirationTime"]
    assert signed_in(web, body["message"], COFFEE_KEY).status_code == 200


def test_a_wallet_message_with_every_optional_field(web, nonce):
    now = datetime.now(UTC)
    text = wallet_message(
        COFFEE, nonce, uri="http://localhost/merchant/login",
        expiration_time=stamp(now + timedelta(minutes=5), millis=True),
        not_before=stamp(now - timedelta(seconds=5), millis=True), request_id="desk-7f3a",
        resources=["ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/",
                   "https://localhost/terms.json"])
    r = signed_in(web, text, COFFEE_KEY)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["address"] == COFFEE
    assert r.get_json()["merchants"][0]["name"] == "Corner Coffee"
    assert web.http.get("/api/v1/siwe/me").get_json()["address"] == COFFEE


@pytest.mark.parametrize("variant", [
    {"statement": None},  # no statement: the blank lines stay
    {"scheme": "http"},  # "http://localhost wants you to sign in ..."
    {"issued_at": stamp(datetime.now(UTC) - timedelta(minutes=1))},  # whole seconds
    {"issued_at": datetime.now(timezone(timedelta(hours=2))).isoformat(timespec="seconds")},
    {"request_id": "desk-7:~!$&'()*+,;=@"},
    {"resources": ["https://localhost/merchant/"]},
], ids=["no-statement", "scheme", "seconds", "offset", "request-id", "one-resource"])
def test_wallet_message_variants(web, nonce, variant):
    text = wallet_message(COFFEE, nonce, **variant)
    r = signed_in(web, text, COFFEE_KEY)
    assert r.status_code == 200, (text, r.get_json())


def test_a_wallet_clock_a_little_ahead_is_forgiven(web):
    soon = stamp(datetime.now(UTC) + timedelta(seconds=60))
    for field in ("issued_at", "not_before"):
        text = wallet_message(COFFEE, web.state.siwe.new_nonce(), **{field: soon})
        r = signed_in(web, text, COFFEE_KEY)
        assert r.status_code == 200, (field, r.get_json())


def test_a_contract_wallet_merchant_signs_in_through_erc1271(web, contract_wallet):
    """The wallet's owner signs (personal_sign); the site asks the wallet contract on anvil
    whether that is its signature (isValidSignature) and opens the merchant desk for it."""
    body = web.http.get(f"/api/v1/siwe/nonce?address={contract_wallet}").get_json()
    r = signed_in(web, body["message"], OWNER_KEY)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["address"] == contract_wallet
    assert [m["name"] for m in r.get_json()["merchants"]] == ["Wallet Cafe"]
    assert web.http.get("/api/v1/siwe/me").get_json()["address"] == contract_wallet
    html = web.http.get("/merchant/").get_data(as_text=True)
    assert "Wallet Cafe" in html


def test_a_contract_wallet_with_a_hand_written_message(web, contract_wallet, nonce):
    text = wallet_message(contract_wallet, nonce, request_id="r-1",
                          expiration_time=stamp(datetime.now(UTC) + timedelta(minutes=3)))
    assert signed_in(web, text, OWNER_KEY).status_code == 200


def test_verify_takes_a_provider_outside_a_request(web, contract_wallet, nonce):
    """webapp.siwe.verify on its own: ERC-1271 through the provider it is given."""
    text = siwe.build_message("shop.example", contract_wallet, "https://shop.example", 31337,
                              nonce).text
    used = []

    def use_nonce(n: str) -> bool:
        used.append(n)
        return n == nonce

    out = siwe.verify(text, personal_sign(text, OWNER_KEY), domain="shop.example",
                      chain_id=31337, use_nonce=use_nonce, uri="https://shop.example",
                      provider=web.w3.provider)
    assert out.address == contract_wallet and used == [nonce]
    with pytest.raises(ApiError) as caught:  # no provider: no contract check
        siwe.verify(text, personal_sign(text, OWNER_KEY), domain="shop.example",
                    chain_id=31337, use_nonce=lambda n: True, uri="https://shop.example")
    assert caught.value.code == "InvalidSignature"


# ---------------------------------------------------------------- refused


def test_another_domain_uri_or_chain(web):
    def attempt(**kw):
        return signed_in(web, wallet_message(COFFEE, web.state.siwe.new_nonce(), **kw),
                         COFFEE_KEY)

    refused(attempt(domain="evil.example", uri="https://evil.example"), 401, "WrongDomain",
            "message")
    refused(attempt(domain="localhost:5000", uri="http://localhost:5000"), 401, "WrongDomain")
    refused(attempt(uri="https://evil.example/login"), 401, "WrongUri", "message")
    refused(attempt(uri="http://localhost.evil.example"), 401, "WrongUri")
    refused(attempt(scheme="https"), 401, "WrongUri")  # scheme and URI disagree
    body = refused(attempt(chain_id=1), 401, "WrongChain", "message")
    assert "chain 1" in body["error"]


def test_a_nonce_is_the_servers_and_works_once(web, nonce):
    made_up = wallet_message(COFFEE, "deadbeefcafe0123")
    refused(signed_in(web, made_up, COFFEE_KEY), 401, "InvalidNonce", "nonce")
    text = wallet_message(COFFEE, nonce)
    assert signed_in(web, text, COFFEE_KEY).status_code == 200
    refused(signed_in(web, text, COFFEE_KEY), 401, "InvalidNonce", "nonce")  # replayed
    # A nonce is spent by the first attempt, even one with a wrong signature: each issued
    # nonce costs the node at most one contract-wallet call.
    other = wallet_message(COFFEE, web.state.siwe.new_nonce())
    refused(signed_in(web, other, STRANGER_KEY), 401, "InvalidSignature", "signature")
    refused(signed_in(web, other, COFFEE_KEY), 401, "InvalidNonce")


def test_expired_and_not_yet_valid(web):
    now = datetime.now(UTC)

    def attempt(**kw):
        return signed_in(web, wallet_message(COFFEE, web.state.siwe.new_nonce(), **kw),
                         COFFEE_KEY)

    refused(attempt(issued_at=stamp(now - timedelta(hours=1)),
                    expiration_time=stamp(now - timedelta(seconds=1))), 401, "Expired",
            "message")
    refused(attempt(not_before=stamp(now + timedelta(hours=1))), 401, "NotYetValid")
    refused(attempt(issued_at=stamp(now + timedelta(minutes=10))), 401, "NotYetValid")
    # Not Before within the skew but after the expiry: never valid.
    refused(attempt(not_before=stamp(now + timedelta(seconds=60)),
                    expiration_time=stamp(now + timedelta(seconds=30))), 401, "Expired")
    # The skew never stretches an expiry.
    refused(attempt(expiration_time=stamp(now - timedelta(seconds=30))), 401, "Expired")


def test_wrong_signers(web, contract_wallet):
    text = wallet_message(COFFEE, web.state.siwe.new_nonce())
    refused(signed_in(web, text, STRANGER_KEY), 401, "InvalidSignature", "signature")
    # The signature of another message, sent with this one.
    fresh = wallet_message(COFFEE, web.state.siwe.new_nonce())
    refused(verify(web, fresh, personal_sign(text, COFFEE_KEY)), 401, "InvalidSignature")
    # The contract wallet refuses a signature that is not its owner's.
    wallet_text = wallet_message(contract_wallet, web.state.siwe.new_nonce())
    refused(signed_in(web, wallet_text, STRANGER_KEY), 401, "InvalidSignature")
    # A contract that is no wallet (the gift contract, the test token) answers nothing valid.
    for address in (web.record.gift_certificates, web.record.test_usd):
        text = wallet_message(address, web.state.siwe.new_nonce())
        refused(signed_in(web, text, OWNER_KEY), 401, "InvalidSignature")
    assert web.http.get("/api/v1/siwe/me").status_code == 401


NO_ZONE = "2030-01-01T00:00:00"


@pytest.mark.parametrize("field", ["issued_at", "expiration_time", "not_before"])
def test_a_time_without_a_zone_is_a_400_with_the_reason(web, nonce, field):
    text = wallet_message(COFFEE, nonce, **{field: NO_ZONE})
    body = refused(signed_in(web, text, COFFEE_KEY), 400, "MalformedMessage", "message")
    assert "no time zone" in body["error"]
    assert web.state.siwe.use_nonce(nonce)  # a malformed message does not spend the nonce


@pytest.mark.parametrize("mangle, words", [
    (lambda t: t.replace("\n", "\r\n"), ("\\r\\n", "control characters")),
    (lambda t: t.replace(COFFEE, COFFEE.lower()), "EIP-55"),
    (lambda t: t.replace("Version: 1", "Version: 2"), "EIP-4361"),
    (lambda t: t.replace(t.split("Issued At: ")[1], "2024-02-30T00:00:00Z"), "issued_at: day"),
    (lambda t: t.replace(t.split("Issued At: ")[1], "yesterday"), "not an RFC 3339 time"),
    (lambda t: t.replace("Nonce: ", "Nonce: !"), "EIP-4361"),
    (lambda t: t.replace("Chain ID: 31337", "Chain ID: 0x7a69"), "EIP-4361"),
    (lambda t: t + "\nRequest ID: ", "EIP-4361"),  # empty: not as the EIP writes it
    (lambda t: t + "\n", "EIP-4361"),
    (lambda t: t.split("\n\nURI")[0], "EIP-4361"),
    (lambda t: "hello", "EIP-4361"),
    (lambda t: "", "message"),
], ids=["crlf", "not-checksummed", "version", "bad-date", "not-a-time", "nonce-chars",
        "hex-chain", "empty-request-id", "trailing-newline", "truncated", "text", "empty"])
def test_malformed_messages_are_4xx(web, nonce, mangle, words):
    text = mangle(wallet_message(COFFEE, nonce))
    r = signed_in(web, text, COFFEE_KEY)
    body = refused(r, 400, field="message")
    words = (words,) if isinstance(words, str) else words
    assert any(w.lower() in body["error"].lower() for w in words), body


@pytest.mark.parametrize("sig", ["0x", "0x1234", "0x" + "zz" * 65, "nope", "0x" + "00" * 65])
def test_malformed_signatures_are_4xx(web, nonce, sig):
    r = verify(web, wallet_message(COFFEE, nonce), sig)
    assert 400 <= r.status_code < 500 and r.get_json()["field"] == "signature", r.get_json()


def test_parse_says_why_without_the_site():
    text = wallet_message(COFFEE, "abcdef0123456789")
    assert siwe.parse(text).prepare_message() == text
    for mangled, words in [(text.replace("\n", "\r\n"), "\\r\\n"),
                           (wallet_message(COFFEE, "abcdef0123456789", issued_at=NO_ZONE),
                            "Issued At has no time zone")]:
        with pytest.raises(ApiError) as caught:
            siwe.parse(mangled)
        assert caught.value.status == 400 and words in caught.value.message


def test_the_siwe_library_is_pinned_with_an_abnf_it_loads_on():
    """siwe 4.4.0's grammars fail to load on abnf 2.9 (and warn on 2.6-2.8): a fresh install
    must get the abnf pinned beside it, and that is the one installed here."""
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    pins = dict(d.split("==", 1) for d in project["project"]["dependencies"] if "==" in d)
    assert pins.get("siwe") == version("siwe") and pins.get("abnf") == version("abnf")

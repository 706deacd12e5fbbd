"""Signed holder actions relayed: a wallet with 0 ETH claims, splits half to a friend, re-gifts
the rest, merges and cashes out; stale, expired, foreign and wrong-chain signatures are refused
before anything is sent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account
from relay_stack import RelaySystem, Site, fresh_account

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _wallet() -> tuple[str, str]:
    account = Account.create()
    return "0x" + bytes(account.key).hex(), str(account.address)


def _claim(site: Site, index: int, to: str) -> int:
    link = site.system.links[index]
    r = site.post("/relay/claim", site.system.claim_body(link, to))
    assert r.status_code == 202, r.get_json()
    site.relay.tick()
    return link.certificate.id


def _signed(system: RelaySystem, kind: str, cert: int, key: str, *, deadline: int | None = None,
            **arguments: Any) -> dict[str, Any]:
    signed = system.admin.calls.sign_holder_action(
        kind, cert, key, deadline=deadline or system.admin.now() + 3600, **arguments)
    data = signed.to_json()
    return {"message": data["message"], "signature": data["signature"]}


def _relayed(site: Site, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    r = site.post(f"/relay/{kind}", body)
    assert r.status_code == 202, r.get_json()
    site.relay.tick()
    done = site.get(f"/relay/requests/{r.get_json()['requestId']}").get_json()
    assert done["status"] == "mined", done
    return done


def test_an_empty_wallet_claims_splits_and_regifts(site: Site) -> None:
    system = site.system
    key, holder = _wallet()
    friend, other = fresh_account(), fresh_account()
    cert = _claim(site, 0, holder)
    split = _relayed(site, "split", _signed(system, "split", cert, key, amount="0.0005",
                                            to=friend))
    new = int(split["newCertificate"])
    assert system.admin.certificate(new).owner == friend
    assert system.admin.certificate(new).balance.amount == Decimal("0.0005")
    _relayed(site, "transfer", _signed(system, "transfer", cert, key, to=other))
    assert system.admin.certificate(cert).owner == other
    assert system.w3.eth.get_balance(holder) == 0  # it never paid for anything


def test_merge_and_cash_out_without_gas(site: Site) -> None:
    system = site.system
    key, holder = _wallet()
    older, newer = _claim(site, 0, holder), _claim(site, 1, holder)
    _relayed(site, "merge", _signed(system, "merge", older, key, into=newer))
    assert system.admin.certificate(newer).balance.amount == Decimal("0.002")
    system.coffee.set_cash_out_limit(system.coffee_id, 0, "1")
    _relayed(site, "cash-out", _signed(system, "cash-out", newer, key))
    assert system.w3.eth.get_balance(holder) == 2 * 10**15


def _refused(site: Site, kind: str, body: dict[str, Any], status: int, code: str) -> None:
    before = site.system.relayer_nonce()
    r = site.post(f"/relay/{kind}", body)
    assert r.status_code == status and r.get_json()["code"] == code, r.get_json()
    assert site.system.relayer_nonce() == before


def test_stale_expired_foreign_and_wrong_chain_actions_are_refused(site: Site) -> None:
    system = site.system
    key, holder = _wallet()
    cert = _claim(site, 2, holder)
    friend = fresh_account()
    stale = _signed(system, "transfer", cert, key, to=friend)
    _relayed(site, "split", _signed(system, "split", cert, key, amount="0.0001", to=friend))
    _refused(site, "transfer", stale, 409, "WrongNonce")  # the nonce it was signed at is used
    past = _signed(system, "transfer", cert, key, to=friend, deadline=system.admin.now() - 1)
    _refused(site, "transfer", past, 422, "AuthorizationExpired")
    stranger_key, _ = _wallet()
    _refused(site, "transfer", _signed(system, "transfer", cert, stranger_key, to=friend), 422,
             "InvalidSignature")
    good = _signed(system, "transfer", cert, key, to=friend)
    _refused(site, "transfer", {**good, "domain": {"chainId": 1, "verifyingContract":
                                                   system.admin.address}}, 422, "WrongChain")
    bad = site.post("/relay/split", {"message": {"certificate": str(cert)}, "signature": "0x"})
    assert bad.status_code == 400 and bad.get_json()["field"] == "message"

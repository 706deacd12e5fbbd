"""Signed holder actions relayed: a wallet with 0 ETH claims, splits half to a friend, re-gifts
the rest, merges and cashes out; stale, expired, foreign and wrong-chain signatures are refused
before anything is sent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from relay_stack import Site, claim_to, fresh_account, new_wallet, relayed, signed_body

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)










def test_an_empty_wallet_claims_splits_and_regifts(site: Site) -> None:
    system = site.system
    key, holder = new_wallet()
    friend, other = fresh_account(), fresh_account()
    cert = claim_to(site, 0, holder)
    split = relayed(site, "split", signed_body(system, "split", cert, key, amount="0.0005",
                                            to=friend))
    new = int(split["newCertificate"])
    assert system.admin.certificate(new).owner == friend
    assert system.admin.certificate(new).balance.amount == Decimal("0.0005")
    relayed(site, "transfer", signed_body(system, "transfer", cert, key, to=other))
    assert system.admin.certificate(cert).owner == other
    assert system.w3.eth.get_balance(holder) == 0  # it never paid for anything


def test_merge_and_cash_out_without_gas(site: Site) -> None:
    system = site.system
    key, holder = new_wallet()
    older, newer = claim_to(site, 0, holder), claim_to(site, 1, holder)
    relayed(site, "merge", signed_body(system, "merge", older, key, into=newer))
    assert system.admin.certificate(newer).balance.amount == Decimal("0.002")
    system.coffee.set_cash_out_limit(system.coffee_id, 0, "1")
    relayed(site, "cash-out", signed_body(system, "cash-out", newer, key))
    assert system.w3.eth.get_balance(holder) == 2 * 10**15


def _refused(site: Site, kind: str, body: dict[str, Any], status: int, code: str) -> None:
    before = site.system.relayer_nonce()
    r = site.post(f"/relay/{kind}", body)
    assert r.status_code == status and r.get_json()["code"] == code, r.get_json()
    assert site.system.relayer_nonce() == before


def test_stale_expired_foreign_and_wrong_chain_actions_are_refused(site: Site) -> None:
    system = site.system
    key, holder = new_wallet()
    cert = claim_to(site, 2, holder)
    friend = fresh_account()
    stale = signed_body(system, "transfer", cert, key, to=friend)
    relayed(site, "split", signed_body(system, "split", cert, key, amount="0.0001", to=friend))
    _refused(site, "transfer", stale, 409, "WrongNonce")  # the nonce it was signed at is used
    past = signed_body(system, "transfer", cert, key, to=friend, deadline=system.admin.now() - 1)
    _refused(site, "transfer", past, 422, "AuthorizationExpired")
    stranger_key, _ = new_wallet()
    _refused(site, "transfer", signed_body(system, "transfer", cert, stranger_key, to=friend), 422,
             "InvalidSignature")
    good = signed_body(system, "transfer", cert, key, to=friend)
    _refused(site, "transfer", {**good, "domain": {"chainId": 1, "verifyingContract":
                                                   system.admin.address}}, 422, "WrongChain")
    bad = site.post("/relay/split", {"message": {"certificate": str(cert)}, "signature": "0x"})
    assert bad.status_code == 400 and bad.get_json()["field"] == "message"

"""Domain rules written once in the SDK: status, merge compatibility, currency lookup, batch rows,
the gc2 authorisation text and who signed it (the contract's own signature rules)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from giftcert.authorization import (
    HALF_N,
    SECP256K1_N,
    SignedRedemption,
    decode_authorization,
    encode_authorization,
)
from giftcert.errors import IncompatibleCertificates, InvalidInput, InvalidSignature
from giftcert.money import ETH, CurrencyInfo, UnknownCurrency, find_currency
from giftcert.rows import check_rows, read_csv_rows, valid_rows
from giftcert.rules import (
    DAY,
    Status,
    can_merge,
    certificate_status,
    end_of_day,
    indexed_status,
    purchase_expiry,
    spend_refusal,
)

USD = CurrencyInfo(1, "tUSD", 6, "0x" + "11" * 20)
ADDRESS = "0x" + "22" * 20


def test_status_rules():
    kw = {"exists": True, "awaiting_claim": False, "valid_from": 100, "expiry": 200}
    assert certificate_status(**kw, now=150) == Status.ACTIVE == "active"
    assert certificate_status(**kw, now=99) == "not-yet-valid"
    assert certificate_status(**kw, now=200) == "expired"
    assert certificate_status(**{**kw, "awaiting_claim": True}, now=150) == "awaiting-claim"
    assert certificate_status(**{**kw, "exists": False}, now=150) == "closed"
    row = {"burned": False, "awaiting_claim": 0, "valid_from": 0, "expiry": 200}
    assert indexed_status(row, 10) == "active" and json.dumps(Status.ACTIVE) == '"active"'
    assert end_of_day(86400 * 3 + 5) == 86400 * 4 - 1


def test_spend_refusal_in_the_contracts_order():
    cert = SimpleNamespace(id=7, exists=True, awaiting_claim=False, valid_from=100, expiry=200)
    assert spend_refusal(cert, 150) is None
    assert spend_refusal(cert, 99).error_name == "NotYetValid"
    assert spend_refusal(cert, 99).args_by_name == {"id": 7, "validFrom": 100}
    assert spend_refusal(cert, 200).args_by_name == {"id": 7, "expiry": 200}
    waiting = SimpleNamespace(**{**vars(cert), "awaiting_claim": True})
    assert spend_refusal(waiting, 99).error_name == "AwaitingClaim"  # before the dates
    gone = SimpleNamespace(**{**vars(waiting), "exists": False})
    assert spend_refusal(gone, 99).error_name == "UnknownCertificate"


def test_purchase_expiry_defaults_and_days():
    week = 7 * DAY
    assert purchase_expiry(now=1000, min_validity=week) == 1000 + week + DAY
    # The minimum validity counts from the opening date, as the contract counts it.
    assert purchase_expiry(now=1000, min_validity=week, valid_from=5000) == 5000 + week + DAY
    assert purchase_expiry(now=1000, min_validity=week, expiry=9999) == 9999
    assert purchase_expiry(now=1000, min_validity=week, expiry=9999, expiry_days=3) == (
        1000 + 3 * DAY)  # days win


def test_currency_lookup_by_id_symbol_or_token_address():
    listed = [ETH, USD]
    for ref in (1, "1", "tusd", "TUSD", USD.token, USD.token.upper().replace("0X", "0x")):
        assert find_currency(listed, ref) is USD, ref
    assert find_currency(listed, "eth") is ETH and find_currency([], 0) is ETH
    for bad in ("DOGE", 7, "", None, "0x" + "33" * 20):
        with pytest.raises(UnknownCurrency):
            find_currency(listed, bad)


def test_csv_rows_one_parser_for_file_and_text(tmp_path):
    text = f"recipient,amount,message\n{ADDRESS},5,hi\n\n0x12,1.0000001\n{ADDRESS},\n"
    path = tmp_path / "rows.csv"
    path.write_text(text)
    rows = check_rows(text, USD)
    assert check_rows(path.read_text(), USD) == rows
    assert [r.row for r in rows] == [1, 2, 3] and rows[0].ok and rows[0].units == 5_000_000
    assert rows[0].message == "hi" and rows[0].recipient == ADDRESS
    assert {e.field for e in rows[1].errors} == {"to", "amount"}
    assert rows[2].errors[0].field == "amount" and "required" in rows[2].errors[0].error
    assert rows[1].to_json()["errors"][0] == {"field": "to", "error": rows[1].errors[0].error}
    as_list = check_rows([{"to": ADDRESS, "amount": "5", "message": "hi"}, "x"], USD)
    assert as_list[0] == rows[0] and as_list[1].errors[0].field == "row"
    with pytest.raises(InvalidInput, match="row 2: to"):
        valid_rows(rows)
    assert read_csv_rows(path)[0] == (ADDRESS, "5")
    with pytest.raises(InvalidInput, match="cannot read"):
        read_csv_rows(tmp_path / "missing.csv")


def _high_s(signature: bytes) -> bytes:
    """The other valid encoding of an ECDSA signature (s -> n - s, v flipped)."""
    s = int.from_bytes(signature[32:64], "big")
    assert s <= HALF_N
    return signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - signature[64]])


def test_authorization_text_round_trip_and_the_contracts_signature_rules(sdk):
    cert = sdk.buyer.issue(sdk.holder.sender, "5", sdk.coffee_id, "tUSD")
    signed = sdk.holder.sign_redemption(cert.id, "1.5", 77)
    chain, contract = sdk.admin.chain_id, sdk.admin.address
    text = encode_authorization(signed)
    assert text.startswith("gc2:") and text == signed.to_text()
    back = decode_authorization(text, chain_id=chain, contract=contract)
    assert back == signed and back.signer() == sdk.holder.sender
    assert decode_authorization(json.dumps(signed.to_json()), chain_id=chain,
                                contract=contract) == signed
    assert sdk.admin.verify_redemption(signed) == sdk.holder.sender

    # The high-s twin recovers to the holder in plain ECDSA, but the contract refuses it:
    # so does the SDK's signer check.
    twin = SignedRedemption(*signed.auth, _high_s(signed.signature), signed.typed_data)
    assert twin.signer() is None
    with pytest.raises(InvalidSignature):
        sdk.coffee.calls.redeem_with_authorization(twin).simulate()
    bad_v = SignedRedemption(*signed.auth, signed.signature[:64] + b"\x01", signed.typed_data)
    assert bad_v.signer() is None

    wallet = signed.to_json()
    for broken, needle in [
        ("gc1:1:2:3:4:5:0x00", "previous version"),
        ("gc2:1:2:3", "not a payment authorisation"),
        (text.replace(":0x", ":0xzz"), "hex"),
        ("gc2:abc" + text[text.index(":", 4):], "whole number"),
        ({**wallet, "typedData": {**wallet["typedData"], "domain": "x"}}, "domain"),
        ({**wallet, "typedData": {**wallet["typedData"], "domain": {
            **wallet["typedData"]["domain"], "chainId": "one"}}}, "whole number"),
        ({**wallet, "typedData": {**wallet["typedData"], "domain": {
            **wallet["typedData"]["domain"], "chainId": 5}}}, "another chain"),
        ({"typedData": "x", "signature": "0x"}, "typedData.message"),
        ("{not json", "not valid JSON"),
        (12, "must be the authorisation text"),
    ]:
        with pytest.raises(InvalidInput, match=needle) as info:
            decode_authorization(broken, chain_id=chain, contract=contract, field="auth")
        assert info.value.field == "auth"


def test_merge_compatibility_mirrors_the_contract(sdk):
    a = sdk.buyer.issue(sdk.holder.sender, "2", sdk.coffee_id, "tUSD")
    later = sdk.buyer.issue(sdk.holder.sender, "3", sdk.coffee_id, "tUSD", expiry=a.expiry + 10)
    other_buyer = sdk.friend.issue(sdk.holder.sender, "1", sdk.coffee_id, "tUSD",
                                   expiry=a.expiry + 10)
    other_merchant = sdk.buyer.issue(sdk.holder.sender, "1", sdk.books_id, "tUSD",
                                     expiry=a.expiry + 10)
    assert a.can_merge_into(later) and not later.can_merge_into(a)  # expires sooner
    assert not a.can_merge_into(a) and not can_merge(a.id, a.id)
    for target in (other_buyer, other_merchant):
        assert not a.can_merge_into(target)
        with pytest.raises(IncompatibleCertificates):
            sdk.holder.calls.merge(a.id, target.id).simulate()
    with pytest.raises(IncompatibleCertificates):
        sdk.holder.calls.merge(later.id, a.id).simulate()
    merged = sdk.holder.calls.merge(a, later).send()
    assert merged.balance.amount == 5

"""Payment tabs through the SDK (issue 17), on the session anvil: open, sign running totals, the
merchant's check before serving (each refusal), settle one and many, close three ways, the
keeper over the voucher store, and the index's view of tabs (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from db import backends
from eth_account import Account
from sqlalchemy import insert

from giftcert import eip712
from giftcert.errors import (
    InsufficientBalance,
    InvalidInput,
    InvalidSignature,
    NotHolder,
    TabCloseDelay,
    TabCloseNotRequested,
    TabClosingSoon,
    TabNotOpen,
    TabOpen,
    TabSettleEnded,
    UnknownCertificate,
    VoucherBelowPrevious,
    WrongEpoch,
    WrongMerchant,
    ZeroAmount,
)
from giftcert.indexer import Indexer
from giftcert.money import Money
from giftcert.rules import DAY
from giftcert.tabs import (
    CLOSE_DELAY,
    GRACE,
    KeeperReport,
    SignedVoucher,
    TabKeeper,
    TabSettlement,
    check_voucher,
    decode_voucher,
    sign_tab_release,
    sign_voucher,
    voucher_typed_data,
)
from giftcert.vouchers import VoucherStore, vouchers_table

backend = backends.backend  # the fixture: tests taking it run on both databases


def usd(text: str) -> Money:
    return Money(Decimal(text), "tUSD")


def _tab_cert(sdk, amount: str = "20", session_key: str | None = None, **terms):
    cert = sdk.buyer.issue(sdk.holder.sender, amount, sdk.coffee_id, "tUSD", **terms)
    sdk.holder.open_tab(cert.id, session_key)
    return cert


def _raw_voucher(sdk, cert_id: int, epoch: int, units: int, key=None) -> SignedVoucher:
    document = eip712.voucher(sdk.holder.chain_id, sdk.holder.address, certificate=cert_id,
                              epoch=epoch, cumulative=units)
    return SignedVoucher(cert_id, epoch, units,
                         eip712.sign_typed_data(key or sdk.holder.private_key, document))


# ---------------------------------------------------------------- round trips


def test_open_sign_check_and_settle_a_tab(sdk):
    cert = sdk.buyer.issue(sdk.holder.sender, "20", sdk.coffee_id, "tUSD")
    opened = sdk.holder.calls.open_tab(cert.id).send()
    assert opened.open and opened.epoch == 1 and opened.balance == usd("20")
    assert opened.signer == sdk.holder.sender and not opened.close_requested
    assert opened.settle_until == cert.expiry + GRACE and opened.merchant == sdk.coffee_id
    with pytest.raises(TabOpen):  # nothing else takes value while the tab is open
        sdk.holder.calls.redeem(cert.id, "1", 1).simulate()

    first = sign_voucher(sdk.holder, cert.id, "3")  # the first coffee
    assert (first.epoch, first.cumulative) == (1, 3 * 10**6)
    checked = check_voucher(sdk.coffee, first)
    assert checked.ok and checked.increase == usd("3") and checked.total == usd("3")
    second = sign_voucher(sdk.holder, cert.id, "5.50")  # the running total after the second
    checked = check_voucher(sdk.coffee, second, previous_total=first)
    assert checked.ok and checked.increase == usd("2.5")
    assert check_voucher(sdk.coffee, second, previous_total=usd("3")).increase == usd("2.5")
    assert check_voucher(sdk.coffee, second, previous_total=3 * 10**6).increase_units == 2500000

    done = sdk.coffee.settle_tabs(sdk.coffee_id, [second])
    assert done.settled == [second] and done.refused == []
    assert done.collected_units() == {1: 5_500_000}
    tab = sdk.holder.tab(cert.id)
    assert tab.open and tab.epoch == 2 and tab.balance == usd("14.5")
    assert sdk.coffee.merchant_owed(sdk.coffee_id, "tUSD") == usd("5.5")
    again = check_voucher(sdk.coffee, second)  # settled: its epoch is over
    assert isinstance(again.refusal, WrongEpoch)
    assert again.refusal.args_by_name == {"id": cert.id, "expected": 2, "given": 1}


def test_issue_with_a_tab_open_in_one_transaction(sdk):
    prepared = sdk.holder.calls.issue_with_tab("20", sdk.coffee_id, "tUSD", message="tab")
    assert prepared.function == "issueWithTab" and prepared.value == 0
    assert prepared.payment == usd("20") and prepared.terms[0] == sdk.coffee_id
    tab = prepared.send()  # approves the token first, as issue does
    assert tab.open and tab.epoch == 1 and tab.balance == usd("20")
    assert tab.signer == sdk.holder.sender and tab.merchant == sdk.coffee_id
    cert = sdk.holder.certificate(tab.certificate)
    assert cert.owner == sdk.holder.sender and cert.expiry == prepared.expiry
    with pytest.raises(TabOpen):  # open from its first word: it cannot be passed on
        sdk.holder.calls.transfer(cert.id, sdk.friend.sender).simulate()
    voucher = sign_voucher(sdk.holder, cert.id, "4")
    assert voucher.epoch == 1 and check_voucher(sdk.coffee, voucher).ok
    assert sdk.coffee.settle_tabs(sdk.coffee_id, [voucher]).settled == [voucher]
    assert sdk.holder.tab(cert.id).balance == usd("16")
    # In ETH, with a session key: the value goes with the call.
    session = Account.create()
    eth_call = sdk.holder.calls.issue_with_tab("0.001", sdk.coffee_id,
                                               session_key=session.address)
    assert eth_call.value == 10**15
    eth_tab = sdk.holder.issue_with_tab("0.001", sdk.coffee_id, session_key=session.address)
    assert eth_tab.signer == session.address and eth_tab.epoch == 1
    with pytest.raises(InvalidInput):
        sdk.holder.calls.issue_with_tab("1", sdk.coffee_id, session_key="0x1234")


def test_the_voucher_travels_as_text_json_and_typed_data(sdk):
    cert = _tab_cert(sdk)
    v = sign_voucher(sdk.holder, cert.id, "1.25")
    chain, contract = sdk.holder.chain_id, sdk.holder.address
    text = v.to_text()
    assert text.startswith(f"gt1:{cert.id}:1:1250000:0x") and len(v.signature) == 65
    assert decode_voucher(text, chain_id=chain, contract=contract) == v
    assert decode_voucher(v.to_json(), chain_id=chain, contract=contract) == v
    assert decode_voucher(json.dumps(v.to_json()), chain_id=chain, contract=contract) == v
    assert SignedVoucher.from_json(json.loads(json.dumps(v.to_json()))) == v
    wallet = {"typedData": eip712.wallet_json(v.document(chain, contract)),
              "signature": "0x" + v.signature.hex()}
    assert decode_voucher(wallet, chain_id=chain, contract=contract) == v
    assert v.signer(chain, contract) == sdk.holder.sender
    with pytest.raises(InvalidInput, match="another chain or contract"):
        decode_voucher(wallet, chain_id=chain + 1, contract=contract)
    # the node's eth_signTypedData_v4 (what a wallet answers) signs the same bytes
    node = sdk.holder.acting_as(sdk.holder.sender)
    assert sign_voucher(node, cert.id, "1.25").signature == v.signature
    document = voucher_typed_data(sdk.coffee, cert.id, usd("1.25"))  # what the site hands out
    assert document["message"] == {"certificate": str(cert.id), "epoch": "1",
                                   "cumulative": "1250000"}
    answer = sdk.w3.provider.make_request("eth_signTypedData_v4", [sdk.holder.sender, document])
    from_wallet = decode_voucher({"typedData": document, "signature": answer["result"]},
                                 chain_id=chain, contract=contract)
    assert from_wallet == v and check_voucher(sdk.coffee, from_wallet).ok


@pytest.mark.parametrize("data, field", [
    ({"epoch": "1", "cumulative": "5", "signature": "0x00"}, "certificate"),
    ({"certificate": "x", "epoch": "1", "cumulative": "5", "signature": "0x00"}, "certificate"),
    ({"certificate": "5", "epoch": "-1", "cumulative": "5", "signature": "0x00"}, "epoch"),
    ({"certificate": "5", "epoch": "1", "cumulative": "1.5", "signature": "0x00"}, "cumulative"),
    ({"certificate": "5", "epoch": "1", "cumulative": "5", "signature": "00"}, "signature"),
    ({"certificate": "5", "epoch": "1", "cumulative": "5"}, "signature"),
    ([1, 2], "voucher"),
])
def test_from_json_names_the_wrong_field(data, field):
    with pytest.raises(InvalidInput) as caught:
        SignedVoucher.from_json(data)
    assert caught.value.field == field


def test_malformed_text_is_refused_in_one_line():
    for text in ("gc2:1:2:3:4:5:6:0x00", "gt1:1:2:3", "gt1:0:1:5:0x00", "gt1:1:1:5:nothex",
                 "{not json", "", 42):
        with pytest.raises(InvalidInput):
            decode_voucher(text, chain_id=31337, contract="0x" + "11" * 20)


# ---------------------------------------------------------------- the check before serving


def test_check_voucher_gives_each_refusal(sdk):
    cert = _tab_cert(sdk)
    friend_key = sdk.friend.private_key
    unknown = cert.id + 1  # same terms, another serial: never issued
    window = sdk.holder.tab(cert.id).settle_until - sdk.holder.now()
    cases = [
        (_raw_voucher(sdk, unknown, 1, 10), {}, UnknownCertificate),
        (sign_voucher(sdk.holder, cert.id, "1"), {"merchant_id": sdk.books_id}, WrongMerchant),
        (_raw_voucher(sdk, cert.id, 0, 10), {}, WrongEpoch),
        (_raw_voucher(sdk, cert.id, 1, 0), {}, ZeroAmount),
        (sign_voucher(sdk.holder, cert.id, "20.01"), {}, InsufficientBalance),
        (sign_voucher(sdk.holder, cert.id, "2"), {"previous_total": usd("3")},
         VoucherBelowPrevious),
        (_raw_voucher(sdk, cert.id, 1, 10, friend_key), {}, InvalidSignature),
        (sign_voucher(sdk.holder, cert.id, "2"), {"min_seconds_left": window + 60},
         TabClosingSoon),
    ]
    for voucher, kw, error in cases:
        checked = check_voucher(sdk.coffee, voucher, **kw)
        assert isinstance(checked.refusal, error), (error, checked.refusal)
        assert not checked.ok and checked.refusal.hint
        assert checked.to_json()["reason"] == error.__name__
        with pytest.raises(error):
            checked.raise_for_refusal()
    plain = sdk.buyer.issue(sdk.holder.sender, "5", sdk.coffee_id, "tUSD")
    assert isinstance(check_voucher(sdk.coffee, _raw_voucher(sdk, plain.id, 0, 10)).refusal,
                      TabNotOpen)
    # what the check refuses, the contract refuses too (its own errors, in one batch)
    bad = [_raw_voucher(sdk, cert.id, 0, 10), _raw_voucher(sdk, cert.id, 1, 10, friend_key)]
    outcome = sdk.coffee.settle_tabs(sdk.coffee_id, bad[:1])
    assert [r.reason.error_name for r in outcome.refused] == ["WrongEpoch"]
    outcome = sdk.coffee.settle_tabs(sdk.coffee_id, bad[1:])
    assert [r.reason.error_name for r in outcome.refused] == ["InvalidSignature"]


def test_a_pending_close_and_the_settle_window_leave_time_or_not(sdk):
    sdk.admin.set_min_validity(3600)
    cert = _tab_cert(sdk, expiry=sdk.buyer.now() + 30 * DAY)
    v = sign_voucher(sdk.holder, cert.id, "4")
    tab = sdk.holder.request_tab_close(cert.id)
    assert tab.close_requested and tab.close_at - sdk.holder.now() <= CLOSE_DELAY
    assert check_voucher(sdk.coffee, v).ok  # two days left: serve, and settle soon
    closing = check_voucher(sdk.coffee, v, min_seconds_left=3 * DAY).refusal
    assert isinstance(closing, TabClosingSoon) and closing.args_by_name["until"] == tab.close_at
    sdk.coffee.close_tab(cert.id)  # the merchant closes at once
    later = _tab_cert(sdk, expiry=sdk.buyer.now() + 30 * DAY)
    v = sign_voucher(sdk.holder, later.id, "1")
    sdk.warp(30 * DAY + GRACE - 1800)  # half an hour of the grace is left
    refusal = check_voucher(sdk.coffee, v).refusal
    assert isinstance(refusal, TabClosingSoon) and refusal.args_by_name["until"] == \
        later.expiry + GRACE
    assert check_voucher(sdk.coffee, v, min_seconds_left=600).ok
    sdk.warp(3600)
    assert isinstance(check_voucher(sdk.coffee, v).refusal, TabSettleEnded)


def test_a_session_key_signs_the_vouchers_and_the_owner_key_no_longer_does(sdk):
    session = Account.create()
    cert = _tab_cert(sdk, session_key=session.address)
    tab = sdk.holder.tab(cert.id)
    assert tab.signer == session.address
    by_session = sign_voucher(sdk.holder, cert.id, "2", key=session.key)
    assert check_voucher(sdk.coffee, by_session).ok
    by_owner = sign_voucher(sdk.holder, cert.id, "2")
    assert isinstance(check_voucher(sdk.coffee, by_owner).refusal, InvalidSignature)
    assert sdk.coffee.settle_tabs(sdk.coffee_id, [by_session]).settled == [by_session]


# ---------------------------------------------------------------- settle many, close


def test_settle_many_tabs_in_one_batch_reports_the_refused_one(sdk):
    certs = [_tab_cert(sdk, "10") for _ in range(4)]
    vouchers = [sign_voucher(sdk.holder, c.id, f"{i + 1}") for i, c in enumerate(certs[:3])]
    stale = _raw_voucher(sdk, certs[3].id, 0, 10)
    call = sdk.coffee.calls.settle_tabs(sdk.coffee_id, [*vouchers, stale])
    assert call.simulate() == 3
    assert int(call.unsigned()["gas"], 16) > 0
    done = call.send()
    assert done.settled == vouchers
    assert [(r.index, r.certificate, r.reason.error_name) for r in done.refused] == \
        [(3, certs[3].id, "WrongEpoch")]
    assert done.collected_units() == {1: 6 * 10**6}
    assert [sdk.holder.tab(c.id).balance for c in certs] == \
        [usd("9"), usd("8"), usd("7"), usd("10")]
    assert done.to_json()["refused"][0]["reason"] == "WrongEpoch"
    again = TabSettlement.from_receipt(sdk.books, sdk.books.receipt(done.tx_hash),
                                       [*vouchers, stale])  # e.g. sent by a browser wallet
    assert again.settled == done.settled
    assert [r.to_json() for r in again.refused] == [r.to_json() for r in done.refused]
    with pytest.raises(InvalidInput, match="one voucher per tab"):
        sdk.coffee.calls.settle_tabs(sdk.coffee_id, [vouchers[0], vouchers[0]])
    with pytest.raises(InvalidInput, match="no vouchers"):
        sdk.coffee.calls.settle_tabs(sdk.coffee_id, [])


def test_closing_by_request_by_the_merchant_and_by_release(sdk):
    cert = _tab_cert(sdk)
    with pytest.raises(TabCloseNotRequested):
        sdk.holder.calls.close_tab(cert.id).simulate()
    sdk.holder.request_tab_close(cert.id)
    with pytest.raises(TabCloseDelay):
        sdk.holder.calls.close_tab(cert.id).simulate()
    sdk.warp(CLOSE_DELAY)
    closed = sdk.holder.close_tab(cert.id)
    assert not closed.open and closed.close_at == 0
    assert sdk.holder.certificate(cert.id).nonce == 2  # the epoch moved on
    with pytest.raises(TabNotOpen):
        sdk.holder.calls.request_tab_close(cert.id).simulate()
    again = sdk.holder.open_tab(cert.id)
    assert again.epoch == 3
    release = sign_tab_release(sdk.coffee, cert.id)
    with pytest.raises(NotHolder):
        sdk.friend.calls.close_tab_with_release(cert.id, release).simulate()
    assert not sdk.holder.close_tab_with_release(cert.id, "0x" + release.hex()).open
    sdk.holder.open_tab(cert.id)
    assert not sdk.coffee.close_tab(cert.id).open  # the merchant, at once
    sdk.holder.redeem(cert.id, "1", 7)  # a closed tab leaves the certificate free again


# ---------------------------------------------------------------- the keeper and the index


def test_the_keeper_settles_what_is_due_and_a_rerun_sends_nothing(sdk, backend):
    sdk.admin.set_min_validity(3600)
    store = VoucherStore(backend.url())
    big, small, leaving, gone = (_tab_cert(sdk, "50", expiry_days=60) for _ in range(4))
    expiring = _tab_cert(sdk, "50", expiry=sdk.buyer.now() + 10 * DAY)
    over = sign_voucher(sdk.holder, big.id, "12")
    under = sign_voucher(sdk.holder, small.id, "2")
    closing = sign_voucher(sdk.holder, leaving.id, "1")
    stale = sign_voucher(sdk.holder, gone.id, "3")
    soon = sign_voucher(sdk.holder, expiring.id, "1")
    for v in (over, under, closing, stale, soon):
        assert store.keep(check_voucher(sdk.coffee, v))
    sdk.holder.request_tab_close(leaving.id)
    sdk.coffee.settle_tabs(sdk.coffee_id, [stale])  # settled by hand, not forgotten yet
    assert store.unsettled_totals(sdk.coffee_id) == {1: 19 * 10**6}
    keeper = TabKeeper(sdk.coffee, store, sdk.coffee_id, thresholds={"tUSD": "10"},
                       margin=10 * DAY + GRACE)
    planned = KeeperReport()
    plan = {d.voucher.certificate: d.reason for d in keeper.plan(planned)}
    assert plan == {big.id: "threshold", leaving.id: "closing",
                    expiring.id: "settle-window"}
    assert [(v.certificate, why) for v, why in planned.forgotten] == [(gone.id, "WrongEpoch")]
    report = keeper.run()
    assert len(report.transactions) == 1
    assert sorted(v.certificate for v in report.settled) == sorted(plan)
    assert [v.certificate for v in report.waiting] == [small.id]
    assert [s.certificate for s in store.open_tabs(sdk.coffee_id)] == [small.id]
    assert sdk.holder.tab(big.id).balance == usd("38")
    assert sdk.coffee.merchant_owed(sdk.coffee_id, "tUSD") == usd("17")  # 12 + 1 + 1 + 3
    rerun = keeper.run()
    assert rerun.transactions == [] and rerun.settled == [] and rerun.forgotten == []
    # a voucher the balance does not cover is held (a top-up may cover it), not sent
    broke = _tab_cert(sdk, "1", expiry_days=60)
    broken = _raw_voucher(sdk, broke.id, 1, 5 * 10**6)  # no check passes it: kept by hand
    with store.engine.begin() as conn:
        conn.execute(insert(vouchers_table).values(
            certificate=str(broke.id), merchant=sdk.coffee_id, epoch=1, cumulative=str(5 * 10**6),
            signature="0x" + broken.signature.hex(), updated_at=0.0))
    held = keeper.run()
    assert held.transactions == [] and [v.certificate for v, _ in held.held] == [broke.id]
    assert store.latest(broke.id) is not None


def test_the_index_shows_tabs_settled_and_open(sdk, backend):
    index = Indexer(sdk.w3, sdk.admin.contract, backend.url(), start_block=sdk.record.block)
    session = Account.create()
    a = _tab_cert(sdk, "20")
    b = _tab_cert(sdk, "10", session_key=session.address)
    sdk.holder.redeem(sdk.buyer.issue(sdk.holder.sender, "5", sdk.coffee_id, "tUSD").id, "1", 0)
    sdk.coffee.settle_tabs(sdk.coffee_id, [sign_voucher(sdk.holder, a.id, "4"),
                                           sign_voucher(sdk.holder, b.id, "2", key=session.key)])
    sdk.holder.request_tab_close(b.id)
    index.sync()
    rows = {int(r["id"]): r for r in index.open_tabs(sdk.coffee_id)}
    assert set(rows) == {a.id, b.id}
    assert rows[a.id]["tab_epoch"] == 2 and rows[a.id]["tab_settled"] == "4000000"
    assert rows[a.id]["balance"] == "16000000" and rows[a.id]["tab_signer"] is None
    assert rows[b.id]["tab_signer"] == session.address
    assert rows[b.id]["tab_close_at"] == sdk.holder.tab(b.id).close_at
    stats = index.merchant_stats(sdk.coffee_id, sdk.holder.now())
    assert stats.open_tabs == 2 and stats.tab_balances[1] == 24 * 10**6
    assert stats.tab_settled[1] == 6 * 10**6 and stats.tab_settles == 2
    assert sum(d.total for d in stats.by_day) == 7 * 10**6  # the redemption and both settles
    assert sum(d.count for d in stats.by_day) == 3
    settles = index.tab_settles(sdk.coffee_id)
    assert sorted((r["certificate"], r["tab_epoch"]) for r in settles) == \
        sorted([(str(a.id), 1), (str(b.id), 1)])
    assert [r["amount"] for r in index.order_redemptions(sdk.coffee_id, 0)] == ["1000000"]
    history = [h["event"] for h in index.history(a.id)]
    assert history[-2:] == ["TabOpened", "TabSettled"]
    sdk.warp(CLOSE_DELAY)
    sdk.holder.close_tab(b.id)
    index.sync()
    assert [int(r["id"]) for r in index.open_tabs(sdk.coffee_id)] == [a.id]
    closed = index.certificate(b.id)
    assert not closed["tab_open"] and closed["tab_epoch"] == 3 and closed["tab_close_at"] is None


def test_a_reorganised_settle_leaves_the_index_as_before(sdk, backend):
    index = Indexer(sdk.w3, sdk.admin.contract, backend.url(), start_block=sdk.record.block)
    cert = _tab_cert(sdk, "20")
    index.sync()
    before = index.certificate(cert.id)
    snapshot = sdk.w3.provider.make_request("evm_snapshot", [])["result"]
    sdk.coffee.settle_tabs(sdk.coffee_id, [sign_voucher(sdk.holder, cert.id, "5")])
    index.sync()
    assert index.certificate(cert.id)["tab_settled"] == "5000000"
    assert index.merchant_stats(sdk.coffee_id, sdk.holder.now()).tab_settled[1] == 5 * 10**6
    sdk.w3.provider.make_request("evm_revert", [snapshot])
    for _ in range(2):
        sdk.w3.provider.make_request("evm_mine", [])
    index.sync()
    after = index.certificate(cert.id)
    assert {k: after[k] for k in after if k != "updated_block"} == \
        {k: before[k] for k in before if k != "updated_block"}
    stats = index.merchant_stats(sdk.coffee_id, sdk.holder.now())
    assert stats.tab_settles == 0 and not stats.by_day and stats.open_tabs == 1
    assert index.tab_settles(sdk.coffee_id) == []

"""The merchant's voucher store (issue 17), on the session anvil, on SQLite and PostgreSQL: it
keeps only what the merchant's check (`check_voucher`) verified, and of that only a voucher newer
than the kept one (the same epoch and a strictly higher running total, or a newer epoch), by
one compare-and-set statement, with many writers at once (threads and processes, as web workers
are). Every attack (an older total, an older epoch, another certificate's or merchant's voucher,
a forged or altered signature, a hand-made verdict) leaves the kept voucher as it was. Indexing
a settle (or a close) forgets the vouchers of the epoch it ended, in the index's transaction."""

from __future__ import annotations

import dataclasses
import json
import random
import subprocess
import sys
import textwrap
import threading

import pytest

from giftcert import eip712
from giftcert.config import ANVIL_DEV_KEYS
from giftcert.errors import InvalidSignature, WrongEpoch, WrongMerchant
from giftcert.indexer import Indexer
from giftcert.tabs import (
    SignedVoucher,
    VerifiedVoucher,
    VoucherCheck,
    check_voucher,
)
from giftcert.vouchers import VoucherStore

FRIEND_KEY = ANVIL_DEV_KEYS[3]


def _tab(sdk, amount: str = "30", merchant: int | None = None) -> int:
    cert = sdk.buyer.issue(sdk.holder.sender, amount, merchant or sdk.coffee_id, "tUSD")
    sdk.holder.open_tab(cert.id)
    return cert.id


def _signed(sdk, cert: int, units: int, *, epoch: int | None = None,
            key: str | None = None) -> SignedVoucher:
    """The holder's voucher for `units` (smallest units) at the tab's epoch unless given."""
    epoch = sdk.holder.tab(cert).epoch if epoch is None else epoch
    document = eip712.voucher(sdk.holder.chain_id, sdk.holder.address, certificate=cert,
                              epoch=epoch, cumulative=units)
    return SignedVoucher(cert, epoch, units,
                         eip712.sign_typed_data(key or sdk.holder.private_key, document))


def _verified(sdk, cert: int, units: int, **kw) -> VerifiedVoucher:
    checked = check_voucher(sdk.coffee, _signed(sdk, cert, units, **kw))
    assert checked.ok and checked.verified is not None, checked.refusal
    return checked.verified


def _state(store: VoucherStore, cert: int) -> tuple[int, int, bytes] | None:
    got = store.latest(cert)
    return None if got is None else (got.epoch, got.cumulative, got.signature)


def test_keep_holds_only_the_latest_verified_voucher_of_each_tab(sdk, backend):
    store = VoucherStore(backend.url())
    a, b = _tab(sdk), _tab(sdk)
    assert store.latest(a) is None
    nine, ten = _verified(sdk, a, 9), _verified(sdk, a, 10)
    assert store.keep(nine)
    assert store.keep(ten)  # 10 > 9 though "10" < "9" as text
    assert not store.keep(ten)  # the same total again: nothing new
    assert not store.keep(nine)  # verified, but lower than the kept one
    assert store.latest(a) == ten.voucher
    assert store.keep(check_voucher(sdk.coffee, _signed(sdk, b, 99)))  # the check itself
    assert store.keep(_verified(sdk, b, 100)) and not store.keep(_verified(sdk, b, 99))
    assert store.latest(b).cumulative == 100
    # the settle moves the epoch on: the next epoch starts low, and beats any older one
    before = _verified(sdk, a, 20)  # verified at epoch 1, kept too late
    sdk.coffee.settle_tabs(sdk.coffee_id, [ten.voucher])
    low = _verified(sdk, a, 1)
    assert low.voucher.epoch == ten.voucher.epoch + 1
    assert store.keep(low) and store.latest(a) == low.voucher
    assert not store.keep(before) and store.latest(a) == low.voucher


def test_open_tabs_and_unsettled_totals_per_merchant(sdk, backend):
    clock = iter(range(100, 200))
    store = VoucherStore(backend.url(), clock=lambda: float(next(clock)))
    coffee = [_tab(sdk) for _ in range(3)]
    books = _tab(sdk, merchant=sdk.books_id)
    for i, cert in enumerate(coffee):
        store.keep(_verified(sdk, cert, (i + 1) * 100))
    store.keep(check_voucher(sdk.books, _signed(sdk, books, 7)))
    listed = store.open_tabs(sdk.coffee_id)
    assert [s.certificate for s in listed] == list(reversed(coffee))  # latest kept first
    assert listed[0].merchant == sdk.coffee_id and listed[0].updated_at == 102.0
    assert listed[0].to_json()["epoch"] == "1"
    assert store.unsettled_totals(sdk.coffee_id) == {1: 600}
    assert store.unsettled_totals(sdk.books_id) == {1: 7} and store.open_tabs(3) == []


def test_remove_forgets_a_settled_epoch_but_not_a_newer_one(sdk, backend):
    store = VoucherStore(backend.url())
    cert = _tab(sdk)
    first = _verified(sdk, cert, 100)
    store.keep(first)
    assert not store.remove(dataclasses.replace(first.voucher, epoch=0))  # an older epoch
    sdk.coffee.settle_tabs(sdk.coffee_id, [first.voucher])
    newer = _verified(sdk, cert, 3)
    store.keep(newer)  # kept while epoch 1 was being settled
    assert not store.remove(first.voucher)
    assert store.latest(cert) == newer.voucher
    assert store.remove(newer.voucher) and store.latest(cert) is None
    assert not store.remove(newer.voucher)  # twice: nothing more


# ---------------------------------------------------------------- attacks


def test_nothing_but_a_verified_voucher_gets_in(sdk, backend):
    """A bare voucher, a refused check, a hand-made or altered verdict: refused before the
    database is touched, the kept voucher intact."""
    store = VoucherStore(backend.url())
    cert, other = _tab(sdk), _tab(sdk)
    good = _verified(sdk, cert, 5_000_000)
    assert store.keep(good)
    kept = _state(store, cert)
    higher = _signed(sdk, cert, 6_000_000)
    with pytest.raises(TypeError):
        store.keep(higher)  # type: ignore[arg-type]  # unchecked, however good
    # a forged signature (the friend's key), or a total altered after signing
    with pytest.raises(InvalidSignature):
        store.keep(check_voucher(sdk.coffee, _signed(sdk, cert, 9_000_000, key=FRIEND_KEY)))
    with pytest.raises(InvalidSignature):
        store.keep(check_voucher(sdk.coffee, dataclasses.replace(higher, cumulative=9_000_000)))
    # another certificate's voucher handed in for this one (its signature is the other's)
    theirs = _signed(sdk, other, 9_000_000)
    with pytest.raises(InvalidSignature):
        store.keep(check_voucher(sdk.coffee, dataclasses.replace(theirs, certificate=cert)))
    # another merchant serving: the certificate is not theirs
    with pytest.raises(WrongMerchant):
        store.keep(check_voucher(sdk.books, higher, merchant_id=sdk.books_id))
    # an older epoch, or one ahead of the tab's, signed by the holder
    with pytest.raises(WrongEpoch):
        store.keep(check_voucher(sdk.coffee, _signed(sdk, cert, 9_000_000, epoch=0)))
    with pytest.raises(WrongEpoch):
        store.keep(check_voucher(sdk.coffee, _signed(sdk, cert, 9_000_000, epoch=7)))
    # a verdict made by hand, or a genuine one altered
    with pytest.raises(TypeError):
        VerifiedVoucher(higher, good.tab, good.chain_id, good.contract, good.merchant_id,
                        good.checked_at, good.seal)
    with pytest.raises(TypeError):
        dataclasses.replace(good, voucher=dataclasses.replace(higher, epoch=9))
    with pytest.raises(TypeError):
        store.keep(VoucherCheck(higher, good.tab, None, 0, good.checked_at))
    forged = _verified(sdk, cert, 5_500_000)
    object.__setattr__(forged, "voucher", dataclasses.replace(theirs, certificate=cert))
    with pytest.raises(TypeError):
        store.keep(forged)
    assert _state(store, cert) == kept
    # a lower total after a higher one, each verified on its own (no previous total given)
    assert not store.keep(_verified(sdk, cert, 4_999_999))
    assert _state(store, cert) == kept and store.latest(other) is None


def test_an_older_epochs_verified_voucher_never_replaces_the_current(sdk, backend):
    store = VoucherStore(backend.url())
    cert = _tab(sdk)
    old_big = _verified(sdk, cert, 29_000_000)  # verified at epoch 1, held back
    first = _verified(sdk, cert, 1_000_000)
    sdk.coffee.settle_tabs(sdk.coffee_id, [first.voucher])
    current = _verified(sdk, cert, 1)
    assert store.keep(current)
    assert not store.keep(old_big) and not store.keep(first)
    assert store.latest(cert) == current.voucher


# ---------------------------------------------------------------- writers at once


def test_two_workers_at_once_end_with_the_higher(sdk, backend):
    """Round after round, two threads (each its own connection) keep a lower and a higher
    verified voucher of one tab at the same instant: the higher one is kept every time."""
    url = backend.url()
    cert = _tab(sdk)
    rounds = [(_verified(sdk, cert, 2 * r + 1), _verified(sdk, cert, 2 * r + 2))
              for r in range(15)]
    stores = [VoucherStore(url), VoucherStore(url)]
    gate = threading.Barrier(3)
    results: dict[int, bool] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for pair in rounds:
                gate.wait(60)
                results[n] = stores[n].keep(pair[n])
                gate.wait(60)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            gate.abort()

    threads = [threading.Thread(target=worker, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    reader = VoucherStore(url)
    for _low, high in rounds:
        gate.wait(60)  # both keep now
        gate.wait(60)  # both done
        assert results[1], "the higher voucher is always newer than the last round's"
        assert reader.latest(cert) == high.voucher
    for t in threads:
        t.join(30)
    assert not errors, errors
    for st in (*stores, reader):
        st.engine.dispose()


def test_concurrent_writers_never_let_an_older_voucher_win(sdk, backend):
    """Eight threads keep shuffled verified vouchers of three tabs, over two epochs, while a
    reader watches: what is stored only ever moves forward, and ends at the newest voucher
    each tab was given; every keep that said True was newer than the one before it."""
    url = backend.url()
    certs = [_tab(sdk) for _ in range(3)]
    totals = (1, 9, 10, 99, 100, 12345)
    offered = [_verified(sdk, c, t) for c in certs for t in totals]
    sdk.coffee.settle_tabs(sdk.coffee_id, [_signed(sdk, c, 1) for c in certs])
    offered += [_verified(sdk, c, t) for c in certs for t in totals]  # epoch 2
    newest = {c: max((v.voucher.epoch, v.voucher.cumulative) for v in offered
                     if v.voucher.certificate == c) for c in certs}
    workers = 8
    kept: list[list[SignedVoucher]] = [[] for _ in range(workers)]
    start = threading.Barrier(workers + 1)
    done = threading.Event()
    backwards: list[tuple[int, tuple[int, int], tuple[int, int]]] = []

    def write(n: int) -> None:
        store = VoucherStore(url)
        mine = offered * 2
        random.Random(n).shuffle(mine)
        start.wait()
        for verified in mine:
            if store.keep(verified):
                kept[n].append(verified.voucher)
        store.engine.dispose()

    def watch() -> None:
        store = VoucherStore(url)
        seen: dict[int, tuple[int, int]] = {}
        start.wait()
        while not done.is_set():
            for cert in certs:
                got = store.latest(cert)
                if got is None:
                    continue
                now = (got.epoch, got.cumulative)
                if cert in seen and now < seen[cert]:
                    backwards.append((cert, seen[cert], now))
                seen[cert] = now
        store.engine.dispose()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(workers)]
    reader = threading.Thread(target=watch)
    for t in [*threads, reader]:
        t.start()
    for t in threads:
        t.join(120)
    done.set()
    reader.join(30)
    assert not backwards, backwards
    store = VoucherStore(url)
    assert {c: (store.latest(c).epoch, store.latest(c).cumulative) for c in certs} == newest
    wins = [v for per in kept for v in per]
    assert len(wins) == len(set(wins))  # no voucher won twice
    for cert in certs:
        assert newest[cert] in {(v.epoch, v.cumulative) for v in wins if v.certificate == cert}


def test_writer_processes_at_once_agree_on_the_latest(sdk, backend):
    """Four processes (as four web workers), each checking the holder's running totals itself
    and keeping its own shuffle of them: the store ends at the highest total."""
    url = backend.url()
    cert = _tab(sdk)
    texts = [_signed(sdk, cert, total * 1000).to_text() for total in range(1, 41)]
    script = textwrap.dedent(f"""
        import json, random, sys
        from pathlib import Path
        from giftcert.config import load_settings
        from giftcert.deploy import connect
        from giftcert.tabs import check_voucher, decode_voucher
        from giftcert.vouchers import VoucherStore
        env = json.loads(sys.stdin.readline())
        texts = json.loads(sys.stdin.readline())
        client, _ = connect(load_settings(Path("none.env"), environ=env))
        store = VoucherStore({url!r})
        random.Random(int(sys.argv[1])).shuffle(texts)
        wins = 0
        for text in texts:
            voucher = decode_voucher(text, chain_id=client.chain_id, contract=client.address)
            wins += store.keep(check_voucher(client, voucher))
        print(wins)
    """)
    given = json.dumps(sdk.env) + "\n" + json.dumps(texts) + "\n"
    procs = [subprocess.Popen([sys.executable, "-c", script, str(n)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in range(4)]
    results = [p.communicate(given, timeout=180) + (p.returncode,) for p in procs]
    assert all(code == 0 for _, _, code in results), results
    assert sum(int(out) for out, _, _ in results) >= 1
    store = VoucherStore(url)
    assert store.latest(cert) == SignedVoucher.from_json(
        {"certificate": cert, "epoch": 1, "cumulative": 40_000,
         "signature": texts[-1].rsplit(":", 1)[1]})


# ---------------------------------------------------------------- the index forgets


def test_indexing_a_settle_forgets_its_epochs_vouchers(sdk, backend):
    """Settled through the SDK, nobody asking about the transaction: once the index has the
    settle, the kept vouchers of the epoch it collected are gone (in the index's own
    transaction), a newer epoch's kept meanwhile stays, and a close forgets its tab's too."""
    url = backend.url()
    index = Indexer(sdk.w3, sdk.admin.contract, url, start_block=sdk.record.block)
    store = VoucherStore(url)
    settled, later, leaving, untouched = (_tab(sdk) for _ in range(4))
    kept = {c: _verified(sdk, c, 2_000_000) for c in (settled, later, leaving, untouched)}
    for verified in kept.values():
        assert store.keep(verified)
    sdk.coffee.settle_tabs(sdk.coffee_id, [kept[settled].voucher, kept[later].voucher])
    next_epoch = _verified(sdk, later, 500_000)  # the next purchase, before the index syncs
    assert store.keep(next_epoch)
    sdk.coffee.close_tab(leaving)
    assert store.latest(settled) is not None and store.latest(leaving) is not None
    index.sync()
    assert store.latest(settled) is None and store.latest(leaving) is None
    assert store.latest(later) == next_epoch.voucher
    assert store.latest(untouched) == kept[untouched].voucher
    assert store.unsettled_totals(sdk.coffee_id) == {1: 2_500_000}
    index.sync()  # nothing new: nothing else goes
    assert {s.certificate for s in store.open_tabs(sdk.coffee_id)} == {later, untouched}
    index.close()


def test_revision_0004_keeps_an_older_index_and_goes_back(sdk, backend):
    """An index at 0003 (no tabs yet) upgrades with its rows: every certificate without a tab,
    every payment a redemption; and 0004 downgrades cleanly."""
    from alembic import command
    from sqlalchemy import inspect, text

    from giftcert.database import alembic_config, connect, open_engine, upgrade

    engine = open_engine(backend.url(migrated=False))
    upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.execute(text(
            "insert into certificates (id, merchant, currency, occasion, valid_from, expiry, "
            "buyer, owner, balance, issued, awaiting_claim, burned, created_block, "
            "updated_block) values ('7', 1, 1, 0, 0, 10, null, :owner, '5', '5', false, "
            "false, 1, 1)"), {"owner": "0x" + "ab" * 20})
        conn.execute(text(
            "insert into redemptions (block, tx_hash, log_index, certificate, merchant, "
            "currency, order_ref, amount, timestamp, day) values (1, '0x01', 0, '7', 1, 1, "
            "'42', '1', 0, '1970-01-01')"))
    assert upgrade(engine, "0004").after == ("0004",)
    with engine.connect() as conn:
        row = conn.execute(text("select tab_open, tab_epoch, tab_settled from certificates"))
        assert [tuple(r) for r in row] == [(False, None, "0")]
        assert conn.execute(text("select tab_epoch from redemptions")).scalar() is None
    store = VoucherStore(engine)
    cert = _tab(sdk)
    assert store.keep(_verified(sdk, cert, 5))
    with connect(engine) as conn:
        command.downgrade(alembic_config(engine, conn), "0003")
        conn.commit()
    names = set(inspect(engine).get_table_names())
    assert "tab_vouchers" not in names and "certificates" in names
    columns = {c["name"] for c in inspect(engine).get_columns("certificates")}
    assert not {c for c in columns if c.startswith("tab_")}
    engine.dispose()

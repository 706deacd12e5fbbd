"""The merchant's voucher store (issue 17): only the latest voucher of each tab is kept (the same
epoch and a higher running total, or a newer epoch), by one compare-and-set statement, on SQLite
and PostgreSQL, with many writers at once (threads and processes, as web workers are)."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import threading

from giftcert.ids import encode_id
from giftcert.tabs import SignedVoucher
from giftcert.vouchers import VoucherStore

BUYER = "0x" + "ab" * 20


def _cert(merchant: int = 1, serial: int = 1, currency: int = 1) -> int:
    return encode_id(merchant, currency, 0, 0, 2_000_000_000, BUYER, serial)


def _v(cert: int, epoch: int, cumulative: int) -> SignedVoucher:
    # the store trusts its caller (the desk checks first): any 65 bytes serve here
    signature = (epoch.to_bytes(8, "big") + cumulative.to_bytes(16, "big")).rjust(65, b"\x01")
    return SignedVoucher(cert, epoch, cumulative, signature)


def test_keep_holds_only_the_latest_of_each_tab(backend):
    store = VoucherStore(backend.url())
    a, b = _cert(serial=1), _cert(serial=2)
    assert store.latest(a) is None
    assert store.keep(_v(a, 3, 9))
    assert store.keep(_v(a, 3, 10))  # 10 > 9 though "10" < "9" as text
    assert not store.keep(_v(a, 3, 10))  # the same total again: nothing new
    assert not store.keep(_v(a, 3, 9))  # an older, smaller one
    assert not store.keep(_v(a, 2, 10**20))  # an earlier epoch, however large
    assert store.latest(a) == _v(a, 3, 10)
    assert store.keep(_v(a, 4, 1))  # the next epoch (after a settle) starts low
    assert store.latest(a) == _v(a, 4, 1)
    big = 2**88 - 1
    assert store.keep(_v(b, 1, big - 1)) and store.keep(_v(b, 1, big))
    assert not store.keep(_v(b, 1, 99))
    assert store.latest(b) == _v(b, 1, big)


def test_open_tabs_and_unsettled_totals_per_merchant(backend):
    clock = iter(range(100, 200))
    store = VoucherStore(backend.url(), clock=lambda: float(next(clock)))
    coffee = [_cert(1, serial=i) for i in range(3)]
    eth = _cert(1, serial=9, currency=0)
    books = _cert(2, serial=1)
    for i, cert in enumerate(coffee):
        store.keep(_v(cert, 1, (i + 1) * 100))
    store.keep(_v(eth, 2, 5))
    store.keep(_v(books, 1, 7))
    listed = store.open_tabs(1)
    assert [s.certificate for s in listed] == [eth, *reversed(coffee)]  # latest kept first
    assert listed[0].merchant == 1 and listed[0].updated_at == 103.0
    assert listed[0].to_json()["epoch"] == "2"
    assert store.unsettled_totals(1) == {1: 600, 0: 5}
    assert store.unsettled_totals(2) == {1: 7} and store.open_tabs(3) == []


def test_remove_forgets_a_settled_epoch_but_not_a_newer_one(backend):
    store = VoucherStore(backend.url())
    cert = _cert()
    store.keep(_v(cert, 5, 100))
    assert not store.remove(_v(cert, 4, 100))  # an older epoch settled: the kept one stays
    store.keep(_v(cert, 6, 3))  # kept while epoch 5 was being settled
    assert not store.remove(_v(cert, 5, 100))
    assert store.latest(cert) == _v(cert, 6, 3)
    assert store.remove(_v(cert, 6, 3)) and store.latest(cert) is None
    assert not store.remove(_v(cert, 6, 3))  # twice: nothing more


def test_concurrent_writers_never_let_an_older_voucher_win(backend):
    """Eight threads (each with its own connection) keep shuffled vouchers of five tabs while a
    reader watches: what is stored only ever moves forward, and ends at the newest voucher
    each tab was given; every keep that said True was newer than the one before it."""
    url = backend.url()
    certs = [_cert(serial=i) for i in range(5)]
    offered = [_v(c, epoch, total) for c in certs for epoch in (1, 2, 3)
               for total in (1, 9, 10, 99, 100, 12345)]
    newest = {c: max((v.epoch, v.cumulative) for v in offered if v.certificate == c)
              for c in certs}
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
        for voucher in mine:
            if store.keep(voucher):
                kept[n].append(voucher)
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
    # each tab's successful keeps, in any order, are all distinct: no voucher won twice
    wins = [v for per in kept for v in per]
    assert len(wins) == len(set(wins))
    for cert in certs:
        assert (newest[cert][0], newest[cert][1]) in {(v.epoch, v.cumulative) for v in wins
                                                      if v.certificate == cert}


def test_writer_processes_at_once_agree_on_the_latest(backend):
    """Four processes (as four web workers) keep the running totals of one tab's purchases,
    each its own shuffle of them: the store ends at the highest total."""
    url = backend.url()
    cert = _cert(serial=77)
    script = textwrap.dedent(f"""
        import random, sys
        from giftcert.tabs import SignedVoucher
        from giftcert.vouchers import VoucherStore
        store = VoucherStore({url!r})
        totals = list(range(1, 121))
        random.Random(int(sys.argv[1])).shuffle(totals)
        wins = 0
        for total in totals:
            sig = total.to_bytes(65, "big")
            wins += store.keep(SignedVoucher({cert}, 1, total * 1000, sig))
        print(wins)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(n)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for n in range(4)]
    results = [(p.wait(120), p.stdout.read(), p.stderr.read()) for p in procs]
    assert all(code == 0 for code, _, _ in results), results
    assert sum(int(out) for _, out, _ in results) >= 1
    store = VoucherStore(url)
    assert store.latest(cert) == SignedVoucher(cert, 1, 120_000, (120).to_bytes(65, "big"))


def test_revision_0004_keeps_an_older_index_and_goes_back(backend):
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
            "false, 1, 1)"), {"owner": BUYER})
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
    assert store.keep(_v(_cert(), 1, 5))
    with connect(engine) as conn:
        command.downgrade(alembic_config(engine, conn), "0003")
        conn.commit()
    names = set(inspect(engine).get_table_names())
    assert "tab_vouchers" not in names and "certificates" in names
    columns = {c["name"] for c in inspect(engine).get_columns("certificates")}
    assert not {c for c in columns if c.startswith("tab_")}
    engine.dispose()

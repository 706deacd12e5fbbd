"""SIWE nonces and sessions in the database (webapp/sessions.py): they survive a restart, work
across processes sharing the database, are used once, expire, and the database never holds a
session id that could be replayed."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from sqlalchemy import select

from giftcert.config import ANVIL_DEV_KEYS
from webapp import create_app
from webapp.sessions import (
    NONCE_SECONDS,
    SESSION_SECONDS,
    SessionStore,
    TooManySignIns,
    nonces_table,
    sessions_table,
)

COFFEE_KEY = ANVIL_DEV_KEYS[4]
COFFEE = Account.from_key(COFFEE_KEY).address


def signed(http, key=COFFEE_KEY) -> dict:
    address = Account.from_key(key).address
    message = http.get(f"/api/v1/siwe/nonce?address={address}").get_json()["message"]
    signature = Account.sign_message(encode_defunct(text=message), key).signature
    return {"message": message, "signature": "0x" + bytes(signature).hex()}


def sign_in(http, key=COFFEE_KEY) -> str:
    r = http.post("/api/v1/siwe/verify", json=signed(http, key))
    assert r.status_code == 200, r.get_json()
    return r.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]


def nonce_of(body: dict) -> str:
    return body["message"].split("Nonce: ")[1].split("\n")[0]


def me(app, sid: str) -> int:
    browser = app.test_client()
    browser.set_cookie(app.config["GIFTCERT_SITE"].cookie, sid)
    return browser.get("/api/v1/siwe/me").status_code


@pytest.fixture
def restarted(web):
    """A second app on the same settings and database: the server after a restart, or a
    second process serving the same site."""
    app = create_app(web.settings, web.admin, follow=False, start_block=web.record.block)
    app.config["TESTING"] = True
    yield app
    app.extensions["giftcert"].indexer.engine.dispose()


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sessions.db'}"


# ---------------------------------------------------------------- through the site


def test_a_session_survives_a_restart(web, restarted):
    sid = sign_in(web.http)
    assert me(restarted, sid) == 200
    r = restarted.test_client()
    r.set_cookie(restarted.config["GIFTCERT_SITE"].cookie, sid)
    body = r.get("/api/v1/siwe/me").get_json()
    assert body["address"] == COFFEE and [m["name"] for m in body["merchants"]] == [
        "Corner Coffee"]
    assert r.get("/merchant/").status_code == 200


def test_a_nonce_works_once_across_two_apps(web, restarted):
    body = signed(web.http)  # nonce issued by the first app
    other = restarted.test_client()
    assert other.post("/api/v1/siwe/verify", json=body).status_code == 200
    again = web.http.post("/api/v1/siwe/verify", json=body)  # replayed to the first app
    assert again.status_code == 401 and again.get_json()["code"] == "InvalidNonce"
    assert restarted.extensions["giftcert"].siwe.use_nonce(nonce_of(body)) is False


def test_logout_ends_the_session_for_every_process(web, restarted):
    sid = sign_in(web.http)
    assert me(web.app, sid) == 200 and me(restarted, sid) == 200
    thief = restarted.test_client()  # a copied cookie, used against the other process
    thief.set_cookie(restarted.config["GIFTCERT_SITE"].cookie, sid)
    assert web.http.post("/api/v1/siwe/logout").status_code == 200
    assert thief.get("/api/v1/siwe/me").status_code == 401
    assert me(web.app, sid) == 401
    with web.state.siwe.engine.connect() as conn:
        keys = conn.execute(select(sessions_table.c.id_sha256)).scalars().all()
    assert hashlib.sha256(sid.encode()).hexdigest() not in keys


def test_the_database_holds_no_session_id(web):
    sid = sign_in(web.http)
    with web.state.siwe.engine.connect() as conn:
        rows = conn.execute(select(sessions_table)).all()
    assert rows and all(sid not in str(tuple(row)) for row in rows)
    assert hashlib.sha256(sid.encode()).hexdigest() in {row.id_sha256 for row in rows}
    web.state.siwe.engine.dispose()  # flush to the file before reading its bytes
    database = Path(web.settings.database_url.removeprefix("sqlite:///"))
    raw = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    assert sid.encode() not in raw
    # knowing the stored hash is no use: it is not an id the server accepts
    assert me(web.app, hashlib.sha256(sid.encode()).hexdigest()) == 401


def test_an_expired_session_is_refused_by_every_process(web, restarted):
    sid = sign_in(web.http)
    clock = Clock(web.state.siwe.clock() + SESSION_SECONDS + 1)
    for app in (web.app, restarted):
        app.extensions["giftcert"].siwe.clock = clock
    assert me(restarted, sid) == 401
    assert me(web.app, sid) == 401
    assert web.http.get("/merchant/").status_code == 302


def test_an_expired_nonce_is_refused(web):
    body = signed(web.http)
    web.state.siwe.clock = Clock(web.state.siwe.clock() + NONCE_SECONDS + 1)
    r = web.http.post("/api/v1/siwe/verify", json=body)
    assert r.status_code == 401 and r.get_json()["code"] == "InvalidNonce"
    assert web.state.siwe.use_nonce(nonce_of(body)) is False


# ---------------------------------------------------------------- the store itself


def test_nonce_once_and_expiry(db_url):
    clock = Clock()
    store = SessionStore(db_url, clock=clock)
    nonce = store.new_nonce()
    assert store.use_nonce(nonce) is True
    assert store.use_nonce(nonce) is False
    assert store.use_nonce("never-issued-0123") is False
    assert store.use_nonce("") is False
    late = store.new_nonce()
    clock.now += NONCE_SECONDS
    assert store.use_nonce(late) is False  # expiry is exclusive: at the limit it is gone


def test_session_lifetime_is_capped_and_expires(db_url):
    clock = Clock()
    store = SessionStore(db_url, clock=clock)
    sid = store.open_session(COFFEE, expires=clock.now + 10 * SESSION_SECONDS)
    found = store.session(sid)
    assert found is not None and found.address == COFFEE
    assert found.expires == clock.now + SESSION_SECONDS
    short = store.open_session(COFFEE, expires=clock.now + 60)
    clock.now += 60
    assert store.session(short) is None
    assert store.session(sid) is not None
    clock.now += SESSION_SECONDS
    assert store.session(sid) is None
    assert store.session(None) is None and store.session("") is None


def test_expired_rows_are_purged(db_url):
    clock = Clock()
    store = SessionStore(db_url, clock=clock)
    old_nonces = [store.new_nonce() for _ in range(3)]
    store.open_session(COFFEE, expires=clock.now + 60)
    clock.now += NONCE_SECONDS + 1
    fresh = store.new_nonce()
    store.open_session(COFFEE)
    with store.engine.connect() as conn:
        nonces = conn.execute(select(nonces_table.c.nonce)).scalars().all()
        sessions = conn.execute(select(sessions_table.c.expires)).scalars().all()
    assert nonces == [fresh] and not set(old_nonces) & set(nonces)
    assert sessions == [clock.now + SESSION_SECONDS]
    store.new_nonce()
    clock.now += SESSION_SECONDS + 1
    assert store.purge() == 3  # two nonces and the session
    assert store.purge() == 0


def test_a_restarted_store_keeps_sessions_and_nonces(db_url):
    first = SessionStore(db_url)
    sid = first.open_session(COFFEE)
    nonce = first.new_nonce()
    first.engine.dispose()
    second = SessionStore(db_url)
    assert second.session(sid) is not None
    assert second.use_nonce(nonce) is True
    second.close_session(sid)
    assert SessionStore(db_url).session(sid) is None


def test_a_session_is_only_valid_on_the_site_it_was_opened_for(db_url):
    """Two deployments sharing one database (another chain, or another contract on the same
    chain) never accept each other's sessions, even with the cookie copied over."""
    here = SessionStore(db_url, chain_id=31337, contract=COFFEE)
    sid = here.open_session(COFFEE)
    assert here.session(sid) is not None
    assert SessionStore(db_url, chain_id=31337, contract=COFFEE.upper()).session(sid) is not None
    assert SessionStore(db_url, chain_id=1, contract=COFFEE).session(sid) is None
    assert SessionStore(db_url, chain_id=31337, contract="0x" + "11" * 20).session(sid) is None
    with here.engine.connect() as conn:
        row = conn.execute(select(sessions_table.c.chain_id, sessions_table.c.contract)).one()
    assert tuple(row) == (31337, COFFEE.lower())


@pytest.mark.parametrize("stores", [1, 2], ids=["one-store", "two-stores"])
def test_concurrent_use_nonce_lets_exactly_one_through(db_url, stores):
    """Threads race to use the same nonce, through one engine (one process) or two engines
    with their own connections to the file (two processes)."""
    pool = [SessionStore(db_url) for _ in range(stores)]
    threads_per_round = 8
    for _ in range(5):
        nonce = pool[0].new_nonce()
        start = threading.Barrier(threads_per_round)
        results: list[bool] = []
        errors: list[BaseException] = []

        def race(store: SessionStore, nonce: str = nonce, start=start,
                 results=results, errors=errors) -> None:
            start.wait()
            try:
                results.append(store.use_nonce(nonce))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=race, args=(pool[i % stores],))
                   for i in range(threads_per_round)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not errors, errors
        assert sorted(results) == [False] * (threads_per_round - 1) + [True]


RACER = """
import sys, time
from pathlib import Path
from webapp.sessions import SessionStore
url, go, nonce = sys.argv[1:]
store = SessionStore(url)
while not Path(go).exists():
    time.sleep(0.005)
print(store.use_nonce(nonce))
"""


def test_processes_racing_for_one_nonce_let_exactly_one_through(db_url, tmp_path):
    nonce = SessionStore(db_url).new_nonce()
    go = tmp_path / "go"
    racers = [subprocess.Popen([sys.executable, "-c", RACER, db_url, str(go), nonce],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=Path(__file__).resolve().parents[2])
              for _ in range(4)]
    time.sleep(0.5)  # let them import and connect, then start them together
    go.touch()
    answers = [racer.communicate(timeout=60) for racer in racers]
    assert all(racer.returncode == 0 for racer in racers), [err for _, err in answers]
    assert sorted(out.strip() for out, _ in answers) == ["False"] * 3 + ["True"]


def test_a_flood_of_nonce_requests_is_capped(db_url):
    clock = Clock()
    store = SessionStore(db_url, clock=clock, max_live_nonces=3)
    nonces = [store.new_nonce() for _ in range(3)]
    with pytest.raises(TooManySignIns):
        store.new_nonce()
    assert store.use_nonce(nonces[0])  # a sign-in in progress still completes
    store.new_nonce()  # and frees a place
    clock.now += NONCE_SECONDS + 1  # the rest expire
    assert len({store.new_nonce() for _ in range(3)}) == 3


def test_the_site_answers_429_when_too_many_sign_ins_wait(web):
    store = web.state.siwe
    store.max_live_nonces, before = 0, store.max_live_nonces
    try:
        r = web.http.get(f"/api/v1/siwe/nonce?address={COFFEE}")
        assert r.status_code == 429 and r.get_json()["code"] == "TooManySignIns"
    finally:
        store.max_live_nonces = before
    assert web.http.get(f"/api/v1/siwe/nonce?address={COFFEE}").status_code == 200

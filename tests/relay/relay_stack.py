"""Relay tests (tests/relay): the sponsor relay over the session anvil, on SQLite and on
PostgreSQL (the `backend` fixture, db/backends.py).

The session deploys the system once and buys GIFTS claim-link gifts (their keys kept), so a
test has many independent claims to relay; each test runs in an anvil snapshot with a fresh
database, and its site is the Flask app over both (no indexer thread, no keeper thread unless
the test starts one). The relayer is anvil's dev key 9, as on the dev chain by default."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from db.backends import backend  # noqa: F401 - the fixture make_site takes
from db.postgres import Cluster
from deployed import Deployed, deploy_for_tests
from eth_account import Account
from flask import Flask
from flask.testing import FlaskClient

from giftcert import eip712
from giftcert.config import ANVIL_DEV_KEYS, DEV_RELAYER_KEY_INDEX, RelaySettings
from giftcert.models import ClaimLink
from giftcert.relay.service import Relay
from webapp import create_app
from webapp.api.relay import relay_of_process

GIFTS = 230
RELAYER_KEY = ANVIL_DEV_KEYS[DEV_RELAYER_KEY_INDEX]
RELAYER = Account.from_key(RELAYER_KEY).address


@dataclass(kw_only=True)
class RelaySystem(Deployed):
    links: list[ClaimLink] = field(default_factory=list)

    def claim_body(self, link: ClaimLink, recipient: str, *, key: str | None = None,
                   chain_id: int | None = None, contract: str | None = None) -> dict[str, Any]:
        """What the claim page posts: the link key's Claim signature for `recipient`."""
        document = eip712.claim(chain_id or self.admin.chain_id, contract or self.admin.address,
                                certificate=link.certificate.id, recipient=recipient)
        signature = eip712.sign_typed_data(key or link.key or "", document)
        return {"certificate": str(link.certificate.id), "recipient": recipient,
                "signature": "0x" + signature.hex()}

    def relayer_nonce(self, block: str = "pending") -> int:
        return int(self.w3.eth.get_transaction_count(RELAYER, block))

    def mine(self) -> None:
        self.w3.provider.make_request("evm_mine", [])

    def automine(self, on: bool) -> None:
        self.w3.provider.make_request("evm_setAutomine", [on])

    def relayer_txs(self, first_block: int) -> list[Any]:
        """Every transaction the relayer has in blocks since `first_block`."""
        head = self.w3.eth.block_number
        return [tx for n in range(first_block, head + 1)
                for tx in self.w3.eth.get_block(n, full_transactions=True)["transactions"]
                if tx["from"] == RELAYER]


@dataclass
class Site:
    """One web site (a Flask app) over the test's database, as a process would run it."""

    system: RelaySystem
    app: Flask
    http: FlaskClient

    @property
    def relay(self) -> Relay:
        with self.app.app_context():
            relay = relay_of_process()
        assert relay is not None
        return relay

    def post(self, path: str, body: Any, **kw: Any) -> Any:
        return self.http.post(f"/api/v1{path}", json=body, **kw)

    def get(self, path: str) -> Any:
        return self.http.get(f"/api/v1{path}")

    def stop(self) -> None:
        relay = self.relay
        relay.stop()
        relay.store.dispose()


@pytest.fixture(scope="session")
def relay_system(anvil, w3, artifacts, tmp_path_factory) -> RelaySystem:
    deployed = deploy_for_tests(w3, anvil.rpc_url, artifacts, tmp_path_factory.mktemp("relay"))
    system = RelaySystem(**vars(deployed))
    system.links = [system.buyer.issue_claimable(Decimal("0.001"), system.coffee_id)
                    for _ in range(GIFTS)]
    return system


@pytest.fixture
def system(relay_system: RelaySystem) -> Iterator[RelaySystem]:
    with relay_system.snapshot():
        try:
            yield relay_system
        finally:
            relay_system.automine(True)


SiteFactory = Callable[..., Site]


@pytest.fixture
def make_site(system: RelaySystem, backend) -> Iterator[SiteFactory]:  # noqa: F811
    """make_site(**relay settings) -> a site over this test's database (the same database for
    every site of the test: they are the processes of one deployment)."""
    made: list[Site] = []
    url = backend.url()

    def make(**options: Any) -> Site:
        site = open_site(system, url, **options)
        made.append(site)
        return site

    yield make
    for site in made:
        site.stop()


@pytest.fixture
def site(make_site: SiteFactory) -> Site:
    return make_site()


def fresh_account() -> str:
    """An address with exactly 0 ETH (a new recipient's wallet)."""
    return str(Account.create().address)


def new_wallet() -> tuple[str, str]:
    """A fresh key and its address: a wallet that has never held ETH."""
    account = Account.create()
    return "0x" + bytes(account.key).hex(), str(account.address)


def claim_to(site: Site, index: int, to: str) -> int:
    """Relays the claim of the session's `index`-th claim link to `to`; its certificate id."""
    link = site.system.links[index]
    r = site.post("/relay/claim", site.system.claim_body(link, to))
    assert r.status_code == 202, r.get_json()
    follow(site, r.get_json()["requestId"])
    return link.certificate.id


def signed_body(system: RelaySystem, kind: str, cert: int, key: str, *,
                deadline: int | None = None, **arguments: Any) -> dict[str, Any]:
    """The body of POST /relay/<kind>: the holder's signed action, as a page sends it."""
    signed = system.admin.calls.sign_holder_action(
        kind, cert, key, deadline=deadline or system.admin.now() + 3600, **arguments)
    data = signed.to_json()
    return {"message": data["message"], "signature": data["signature"]}


def relayed(site: Site, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """Relays one action and follows it until mined; the request as the API reads it."""
    r = site.post(f"/relay/{kind}", body)
    assert r.status_code == 202, r.get_json()
    done = follow(site, r.get_json()["requestId"])
    assert done["status"] == "mined" and done["operation"] == kind, done
    return done


def tick_until(site: Site, done: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Runs keeper passes until `done()` is truthy (its value), as the keeper thread would:
    anvil mines a sent transaction a moment after it answers, later on a loaded machine, so one
    pass right after a send may not find the receipt yet."""
    deadline = time.monotonic() + timeout
    while True:
        site.relay.tick()
        value = done()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def follow(site: Site, request_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """The request once it is mined or failed (keeper passes until then)."""
    def finished() -> dict[str, Any] | None:
        body = site.get(f"/relay/requests/{request_id}").get_json()
        return body if body["status"] in ("mined", "failed") else None
    return tick_until(site, finished, timeout) or site.get(
        f"/relay/requests/{request_id}").get_json()


# -- processes of their own and a database that goes away (tests/relay/test_relay_outages.py) --

ROOT = Path(__file__).resolve().parents[2]
CRASH_ACCEPTOR = Path(__file__).with_name("crash_acceptor.py")


@pytest.fixture
def own_cluster() -> Iterator[Cluster]:
    """A PostgreSQL server of this test's own (db.postgres.Cluster, as tests/db's restart and
    database-down tests use): the test may stop and start it."""
    cluster = Cluster()
    yield cluster
    cluster.destroy()


def open_site(system: RelaySystem, url: str, *, send_at_once: bool = True,
              trusted_proxies: int = 0, **relay: Any) -> Site:
    """A site over the database at `url` with these relay settings (make_site's, over any
    database); the caller stops it."""
    limits = replace(RelaySettings(), **{"keeper": "off", **relay})
    settings = replace(system.settings, database_url=url, relayer_key=RELAYER_KEY,
                       relay=limits, public_origin="http://localhost",
                       trusted_proxies=trusted_proxies)
    client = system.admin.acting_as(system.admin.sender)
    client.multicall = system.record.multicall
    app = create_app(settings, client, follow=False, start_block=system.record.block)
    app.config["TESTING"] = True
    site = Site(system, app, app.test_client())
    site.relay.send_at_once = send_at_once
    return site


def process_env(system: RelaySystem, url: str, **extra: str) -> dict[str, str]:
    """The environment of a site's process (a keeper, an acceptor) over `url`."""
    return {**os.environ, **system.env, "GIFTCERT_DATABASE_URL": url,
            "GIFTCERT_RELAYER_KEY": RELAYER_KEY, "GIFTCERT_RELAY_KEEPER": "off",
            "GIFTCERT_PUBLIC_ORIGIN": "http://localhost", "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1", **extra}


class Process:
    """A child process whose stdout and stderr lines are collected as they come."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self._pumps = [threading.Thread(target=self._pump, args=(stream, lines), daemon=True)
                       for stream, lines in ((self.proc.stdout, self.out),
                                             (self.proc.stderr, self.err))]
        for pump in self._pumps:
            pump.start()

    @staticmethod
    def _pump(stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))

    def text(self) -> str:
        return "\n".join(["-- stdout", *self.out, "-- stderr", *self.err])

    def wait_for(self, check: Callable[[], Any], timeout: float = 60.0) -> Any:
        """`check()`'s value once truthy; fails (with the output) if the process ends first."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            assert self.proc.poll() is None, f"exited {self.proc.returncode}\n{self.text()}"
            assert time.monotonic() < deadline, f"timed out\n{self.text()}"
            time.sleep(0.05)

    def kill(self) -> int:
        """SIGKILL: the process dies where it stands (no cleanup, no commit)."""
        self.proc.send_signal(signal.SIGKILL)
        return self._ended()

    def stop(self) -> int:
        """SIGTERM: a keeper finishes its pass and exits."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self._ended()

    def _ended(self) -> int:
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(timeout=30)
        for pump in self._pumps:
            pump.join(timeout=10)
        return code


def start_keeper(system: RelaySystem, url: str, cwd: Path, *args: str) -> Process:
    """`python -m giftcert.relay` over `url` (its own process, as a deployment runs it)."""
    keeper = Process([sys.executable, "-m", "giftcert.relay", *args],
                     process_env(system, url), cwd)
    keeper.wait_for(lambda: any("relay keeper for" in line for line in keeper.out))
    return keeper


def start_acceptor(system: RelaySystem, url: str, cwd: Path, path: str,
                   body: dict[str, Any]) -> Process:
    """A web process (tests/relay/crash_acceptor.py) that POSTs `body` to `path` and stops
    dead once the request's row is committed, before anything is broadcast."""
    return Process([sys.executable, str(CRASH_ACCEPTOR), path, json.dumps(body)],
                   process_env(system, url), cwd)

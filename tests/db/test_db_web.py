"""The site as it is deployed (issue 14): several web processes and one indexer service over
PostgreSQL, a database that goes away and comes back, and gunicorn (also with --preload).

- 4 `giftcert serve` processes (GIFTCERT_INDEXER=service) and 1 `giftcert index --follow`
  while certificates are issued, transferred, split and redeemed through the SDK: every event
  is in the index exactly once, a client polling all four never got a 5xx, and a sign-in made
  on one process works on the three others.
- The database stops: API routes answer 503 with a JSON reason, pages a page in words, the
  status says the database is down and the chain is fine; it starts again: all recover.
- gunicorn -w 4 serves the same; with --preload (the app made in the master before forking)
  every worker still sees a merchant added after the start.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from db.helpers import ROOT, activity, chain_positions, logged_positions, wait_until_indexed
from db.postgres import Cluster, fresh_schema_url
from eth_account import Account
from eth_account.messages import encode_defunct

from giftcert.chain import free_port
from giftcert.config import ANVIL_DEV_KEYS, load_settings
from giftcert.database import open_engine, upgrade
from giftcert.indexer import Indexer
from webapp.state import GENERATION_SECONDS

COFFEE_KEY = ANVIL_DEV_KEYS[4]


def postgres_only(backend) -> str:
    if not backend.is_postgres:
        pytest.skip("a deployment's database: PostgreSQL")
    return backend.url()


def site_env(sdk, url: str, **extra: str) -> dict[str, str]:
    outside = {k: v for k, v in os.environ.items() if not k.startswith("GIFTCERT_")}
    return {**outside, **sdk.env, "GIFTCERT_DATABASE_URL": url, "GIFTCERT_INDEXER": "service",
            # as behind a reverse proxy: every process signs in for the one public origin
            "GIFTCERT_PUBLIC_ORIGIN": "http://127.0.0.1:8080",
            "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **extra}


class Process:
    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=self._out,
                                     stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text()[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._out.close()


def cli(sdk, *args: str) -> list[str]:
    return [sys.executable, "-m", "giftcert.cli", "--env-file",
            str(Path(sdk.env["GIFTCERT_STATE_DIR"]) / "none.env"), *args]


def get(port: int, path: str, cookie: str | None = None, method: str = "GET",
        body: Any = None) -> tuple[int, Any, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": cookie} if cookie else {}
    payload = None
    if body is not None:
        payload = json.dumps(body)
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=payload, headers=headers)
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    try:
        data = json.loads(raw)
    except ValueError:
        data = raw.decode(errors="replace")
    return response.status, data, dict(response.getheaders())


def wait_for_port(port: int, process: Process, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            raise AssertionError(f"the process exited:\n{process.text()}")
        try:
            if get(port, "/api/v1/status")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"nothing answered on {port}:\n{process.text()}")


def sign_in(port: int, key: str = COFFEE_KEY) -> str:
    """Signs in on `port`; returns the cookie ("name=value")."""
    account = Account.from_key(key)
    _, body, _ = get(port, f"/api/v1/siwe/nonce?address={account.address}")
    signature = Account.sign_message(encode_defunct(text=body["message"]), key).signature
    status, answer, headers = get(port, "/api/v1/siwe/verify", method="POST", body={
        "message": body["message"], "signature": "0x" + bytes(signature).hex()})
    assert status == 200, answer
    return headers["Set-Cookie"].split(";")[0]


class Poller:
    """Polls every port in turn until stopped; keeps every status code it got."""

    def __init__(self, ports: list[int], paths: list[str]) -> None:
        self.codes: list[tuple[int, str, int]] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ports, paths), daemon=True)
        self._thread.start()

    def _run(self, ports: list[int], paths: list[str]) -> None:
        i = 0
        while not self._stop.is_set():
            port, path = ports[i % len(ports)], paths[(i // len(ports)) % len(paths)]
            try:
                self.codes.append((port, path, get(port, path)[0]))
            except OSError as exc:
                self.failures.append(f"{port}{path}: {exc}")
            i += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


def test_four_web_processes_and_one_indexer_service(sdk, backend, tmp_path):
    url = postgres_only(backend)
    env = site_env(sdk, url)
    holder = sdk.holder.sender
    ports = [free_port() for _ in range(4)]
    processes = [Process(cli(sdk, "index", "--follow", "--poll", "0.2"), env,
                         tmp_path / "indexer.log")]
    for n, port in enumerate(ports):
        processes.append(Process(cli(sdk, "serve"), {**env, "GIFTCERT_WEB_PORT": str(port)},
                                 tmp_path / f"web{n}.log"))
    poller = None
    try:
        for port, process in zip(ports, processes[1:], strict=True):
            wait_for_port(port, process)
        poller = Poller(ports, ["/api/v1/status", f"/api/v1/holders/{holder}/certificates",
                                "/api/v1/merchants", f"/holder/{holder}"])
        ids = activity(sdk, 6)  # issues, redemptions, transfers, splits
        head = sdk.w3.eth.block_number
        wait_until_indexed(url, head)
        time.sleep(0.5)  # a few more polls on the final state
        poller.stop()

        # every event of the chain is in the index exactly once
        index = Indexer(sdk.w3, sdk.admin.contract, url, start_block=sdk.record.block,
                        check=False, lock=False)
        stored = logged_positions(index)
        assert len(stored) == len(set(stored))
        assert sorted(stored) == chain_positions(index, sdk.record.block, head)
        expected = {r["id"] for r in index.certificates_of(holder)}
        index.close()
        assert set(map(str, ids)) & expected

        # no 5xx for a client polling all four processes all along
        assert poller.codes and not poller.failures, poller.failures[:5]
        bad = [c for c in poller.codes if c[2] >= 500]
        assert not bad, bad[:5]
        assert {port for port, _, _ in poller.codes} == set(ports)

        # each process serves the index as it is now, and says it only reads it
        for port in ports:
            status, body, _ = get(port, f"/api/v1/holders/{holder}/certificates?limit=500")
            assert status == 200
            assert {c["id"] for c in body["certificates"]} == expected
            _, state, _ = get(port, "/api/v1/status")
            assert state["database"] == "reachable" and state["chain"] == "reachable"
            assert state["indexer"]["mode"] == "service"
            assert state["indexer"]["lagBlocks"] <= 1, state

        # a sign-in on one process is a session on every other
        cookie = sign_in(ports[0])
        for port in ports[1:]:
            status, me, _ = get(port, "/api/v1/siwe/me", cookie=cookie)
            assert status == 200 and me["address"] == Account.from_key(COFFEE_KEY).address
            status, page, _ = get(port, "/merchant/", cookie=cookie)
            assert status == 200 and "Corner Coffee" in page
        get(ports[2], "/api/v1/siwe/logout", cookie=cookie, method="POST")
        assert get(ports[3], "/api/v1/siwe/me", cookie=cookie)[0] == 401
    finally:
        if poller is not None:
            poller.stop()
        for process in processes:
            process.stop()
    for process in processes:
        assert "Traceback" not in process.log.read_text(), process.text()


@pytest.fixture
def own_cluster():
    cluster = Cluster()
    yield cluster
    cluster.destroy()


def test_database_down_is_a_503_with_a_reason_and_the_site_recovers(sdk, backend, own_cluster):
    postgres_only(backend)
    url, _ = fresh_schema_url(own_cluster.url)
    engine = open_engine(url)
    upgrade(engine)
    engine.dispose()
    Indexer(sdk.w3, sdk.admin.contract, url, start_block=sdk.record.block).sync()
    from webapp import create_app

    settings = replace(load_settings(Path(sdk.env["GIFTCERT_STATE_DIR"]) / "none.env",
                                     environ={**sdk.env, "GIFTCERT_DATABASE_URL": url,
                                              "GIFTCERT_INDEXER": "service",
                                              "GIFTCERT_DB_CONNECT_TIMEOUT": "2"}))
    app = create_app(settings, sdk.admin, start_block=sdk.record.block)
    http_ = app.test_client()
    http_.set_cookie(app.config["GIFTCERT_SITE"].cookie, "some-session")
    holder = sdk.holder.sender
    api = [f"/api/v1/holders/{holder}/certificates", "/api/v1/merchants", "/api/v1/config",
           "/api/v1/siwe/me", f"/api/v1/certificates/{sdk.coffee_id}/history"]
    for path in api[:3]:
        assert http_.get(path).status_code == 200, path
    own_cluster.stop()
    time.sleep(GENERATION_SECONDS + 0.1)  # answers kept from the index live that long
    try:
        for path in api:
            r = http_.get(path)
            assert r.status_code == 503, (path, r.status_code, r.get_data(as_text=True)[:300])
            body = r.get_json()
            assert body["code"] == "DatabaseUnavailable" and "database" in body["error"], body
            assert r.headers["Retry-After"]
        page = http_.get(f"/holder/{holder}")
        # The page says it in the site's words; the driver's message is only in the log.
        text = page.get_data(as_text=True)
        assert page.status_code == 503 and 'data-testid="site-unavailable"' in text
        assert "briefly unavailable" in text and "psycopg" not in text and "5432" not in text
        status = http_.get("/api/v1/status")
        assert status.status_code == 200
        said = status.get_json()
        assert said["database"] == "unreachable" and said["databaseError"]
        assert said["chain"] == "reachable"
    finally:
        own_cluster.start()
    for path in api[:3]:
        assert http_.get(path).status_code == 200, path
    assert http_.get("/api/v1/status").get_json()["database"] == "reachable"
    app.extensions["giftcert"].close()


@pytest.mark.parametrize("preload", [False, True], ids=["workers", "preload"])
def test_gunicorn_workers_see_a_merchant_added_after_the_start(sdk, backend, tmp_path, preload):
    """gunicorn -w 4; with --preload the app (and its follower, in-process mode) is made in the
    master before the fork: each worker makes its own state and follows for itself."""
    url = postgres_only(backend)
    port = free_port()
    mode = "in-process" if preload else "service"
    env = site_env(sdk, url, GIFTCERT_INDEXER=mode)
    command = [sys.executable, "-m", "gunicorn", "-w", "4", "-b", f"127.0.0.1:{port}",
               "--graceful-timeout", "5", *(["--preload"] if preload else []),
               "webapp:create_app()"]
    processes = [Process(command, env, tmp_path / "gunicorn.log")]
    if not preload:
        processes.append(Process(cli(sdk, "index", "--follow", "--poll", "0.2"), env,
                                 tmp_path / "indexer.log"))
    try:
        wait_for_port(port, processes[0])
        sdk.admin.register_merchant(Account.create().address, "Late Bakery")
        deadline = time.monotonic() + 30
        streak = 0  # answers in a row (on fresh connections: any worker) that know it
        while streak < 24:
            assert time.monotonic() < deadline, processes[0].text()
            status, merchants, _ = get(port, "/api/v1/merchants")
            assert status == 200
            streak = streak + 1 if "Late Bakery" in [m["name"] for m in merchants] else 0
            time.sleep(0.02 if streak else 0.2)
        pids = set()
        for _ in range(40):
            _, state, _ = get(port, "/api/v1/status")
            assert state["database"] == "reachable" and state["indexer"]["mode"] == mode
            pids.add(state["servedBy"])
        assert len(pids) >= 2, pids  # answered by several workers
    finally:
        for process in processes:
            process.stop()
    assert "Traceback" not in processes[0].log.read_text(), processes[0].text()

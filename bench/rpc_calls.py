"""JSON-RPC calls per request, counted through the counting proxy (bench/rpc_proxy.py): each
request is made once by a fresh web process (cold: nothing cached) and once more right after
(warm), and the node calls of each are counted (batch items one by one). An idle process is
watched for a few seconds. The targets are issue 14's. `tests/web/test_rpc_calls.py` asserts
them; `python -m bench.rpc_calls` prints the README's table on a system of its own."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from flask import Flask
from flask.testing import FlaskClient
from web3 import Web3

from bench.rpc_proxy import RpcProxy
from giftcert.client import GiftCert
from giftcert.config import ANVIL_DEV_KEYS, Settings


@dataclass(frozen=True)
class Probe:
    name: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    target: int | None = None  # most node calls allowed warm (None: no target)
    merchant_key: str | None = None  # sign in as this merchant first


@dataclass(frozen=True)
class Count:
    probe: Probe
    cold: int
    warm: int
    status: int
    methods: dict[str, int]  # warm, by method
    cold_methods: dict[str, int]

    @property
    def met(self) -> bool | None:
        return None if self.probe.target is None else self.warm <= self.probe.target


def probes(holder: str, certificate: int, merchant_key: str) -> list[Probe]:
    return [
        Probe("a holder's certificates (page)", "GET", f"/holder/{holder}", target=0),
        Probe("a holder's certificates (API list)", "GET",
              f"/api/v1/holders/{holder}/certificates", target=0),
        Probe("merchant dashboard (signed in)", "GET", "/merchant/", target=1,
              merchant_key=merchant_key),
        Probe("build a redemption (typed data)", "POST", "/api/v1/typed-data/redemption",
              {"certificate": str(certificate), "amount": "0.01"}, target=2),
        Probe("a certificate (page: history, forms)", "GET", f"/certificates/{certificate}"),
        Probe("a certificate (API, from the chain)", "GET",
              f"/api/v1/certificates/{certificate}"),
        Probe("home page", "GET", "/"),
        Probe("give page", "GET", "/give"),
        Probe("status", "GET", "/api/v1/status"),
    ]


def sign_in(http: FlaskClient, key: str) -> None:
    account = Account.from_key(key)
    message = http.get(f"/api/v1/siwe/nonce?address={account.address}").get_json()["message"]
    signature = Account.sign_message(encode_defunct(text=message), key).signature
    r = http.post("/api/v1/siwe/verify",
                  json={"message": message, "signature": "0x" + bytes(signature).hex()})
    assert r.status_code == 200, r.get_json()


def proxied_client(proxy: RpcProxy, address: str, abi: list[dict[str, Any]], chain_id: int,
                   multicall: str | None) -> GiftCert:
    """A read-only client whose node is the proxy (so every call it makes is counted)."""
    from webapp import without_validation

    # as a web process's own connection is made (webapp.create_app)
    w3 = without_validation(Web3(Web3.HTTPProvider(proxy.url, request_kwargs={"timeout": 30})))
    contract = w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)
    return GiftCert(w3, contract, Account.create().address, chain_id=chain_id,
                    multicall=multicall)


def request(http: FlaskClient, probe: Probe) -> int:
    r = http.open(probe.path, method=probe.method, json=probe.body)
    return r.status_code


def count_all(make_app: Callable[[], Flask], proxy: RpcProxy, chosen: list[Probe],
              close: Callable[[Flask], None]) -> list[Count]:
    """Each probe on a fresh app (cold), then again on the same app (warm)."""
    out = []
    for probe in chosen:
        app = make_app()
        try:
            http = app.test_client()
            if probe.merchant_key:
                sign_in(http, probe.merchant_key)
            proxy.reset()
            status = request(http, probe)
            cold, cold_methods = proxy.total(), proxy.snapshot()
            proxy.reset()
            again = request(http, probe)
            warm, methods = proxy.total(), proxy.snapshot()
            out.append(Count(probe, cold, warm, max(status, again), methods, cold_methods))
        finally:
            close(app)
    return out


def idle_calls(app: Flask, proxy: RpcProxy, seconds: float = 3.0) -> float:
    """Node calls per second of a web process nobody visits."""
    proxy.reset()
    time.sleep(seconds)
    return proxy.total() / seconds


def table(counts: list[Count], idle: dict[str, float]) -> str:
    lines = ["| request | cold | warm | target (warm) |", "| --- | ---: | ---: | --- |"]
    for c in counts:
        target = "" if c.probe.target is None else (
            f"<= {c.probe.target} ({'met' if c.met else 'MISSED'})")
        lines.append(f"| {c.probe.name} | {c.cold} | {c.warm} | {target} |")
    for name, rate in idle.items():
        target = "0/s (met)" if "service" in name and rate == 0 else ""
        lines.append(f"| {name} | | {rate:g}/s | {target} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - a bench
    from dataclasses import replace

    from bench.stack import local_system
    from giftcert.indexer import Indexer
    from webapp import create_app

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    with local_system(accounts=10) as system:
        w3, admin = system.w3, system.admin()
        admin.multicall = system.record.multicall
        coffee = Account.from_key(ANVIL_DEV_KEYS[4]).address
        admin.register_merchant(coffee, "Corner Coffee")
        holder = Account.from_key(ANVIL_DEV_KEYS[2]).address
        certs = [admin.issue(holder, "0.05", 1, "ETH").id for _ in range(3)]
        Indexer(w3, admin.contract, system.settings.database_url,
                start_block=system.record.block).sync()
        settings: Settings = replace(system.settings, public_origin="http://localhost")
        with RpcProxy(system.node.rpc_url) as proxy:
            def make(mode: str = "in-process", follow: bool = False) -> Flask:
                client = proxied_client(proxy, admin.address, admin.contract.abi,
                                        admin.chain_id, system.record.multicall)
                return create_app(replace(settings, indexer_mode=mode), client, follow=follow,
                                  start_block=system.record.block)

            def close(app: Flask) -> None:
                app.extensions["giftcert"].close()

            counts = count_all(make, proxy, probes(holder, certs[0], ANVIL_DEV_KEYS[4]),
                               close)
            idle = {}
            service = Indexer(w3, admin.contract, system.settings.database_url,
                              start_block=system.record.block)
            service._lock.try_acquire()  # an indexer service holds the writer lock
            for mode, name in (("service", "idle web process, indexer service running "
                                           "(GIFTCERT_INDEXER=service)"),
                               ("in-process", "idle web process, in-process mode, a service "
                                              "holding the lock")):
                app = make(mode, follow=True)
                idle[name] = idle_calls(app, proxy, args.idle_seconds)
                close(app)
            service.close()
            app = make("in-process", follow=True)
            idle["idle web process, in-process mode, alone (it follows the chain)"] = \
                idle_calls(app, proxy, args.idle_seconds)
            close(app)
    print(table(counts, idle))


if __name__ == "__main__":
    main()

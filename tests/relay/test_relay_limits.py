"""The abuse limits: per address, per IP, the day's gas budget; over one the answer is 429 with
Retry-After and the reason says when. They hold under 200 concurrent requests, on SQLite and
on PostgreSQL (the count and the insert are one serialized transaction)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from relay_stack import Site, follow, fresh_account, tick_until
from sqlalchemy import func, select

from giftcert.relay.schema import requests_table


def _post_all(site: Site, bodies: list[dict[str, Any]], *, ips: list[str] | None = None,
              forwarded: list[str] | None = None
              ) -> list[tuple[int, dict[str, Any], dict[str, str]]]:
    """All at once, each from a thread of its own (as many web threads and processes do), from
    `ips[i]`, with X-Forwarded-For `forwarded[i]` when given."""
    def one(i: int) -> tuple[int, dict[str, Any], dict[str, str]]:
        http = site.app.test_client()
        ip = ips[i] if ips else "127.0.0.1"
        headers = {"X-Forwarded-For": forwarded[i]} if forwarded else {}
        r = http.post("/api/v1/relay/claim", json=bodies[i], headers=headers,
                      environ_base={"REMOTE_ADDR": ip})
        return r.status_code, r.get_json(), dict(r.headers)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(one, range(len(bodies))))


def _refused_or_busy(answers: list[tuple[int, dict[str, Any], dict[str, str]]],
                     code: str) -> None:
    """Every answer but the accepted ones refuses with `code` (429), or, when the database's
    connection pool kept a request waiting past its timeout under this burst, is the 503 that
    says to retry; both carry Retry-After and send nothing. Most must be the limit's."""
    others = [(status, body, headers) for status, body, headers in answers if status != 202]
    assert all(status in (429, 503) and "Retry-After" in headers
               for status, _, headers in others), [s for s, _, _ in others]
    limited = [body for status, body, _ in others if status == 429]
    assert len(limited) >= len(others) // 2 and all(b["code"] == code for b in limited)
    assert all(b["code"] == "DatabaseUnavailable" for s, b, _ in others if s == 503)


def _rows(site: Site) -> int:
    with site.relay.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(requests_table)).scalar() or 0)


def test_the_per_address_limit_says_when_to_retry(make_site) -> None:
    site = make_site(per_address_day=2)
    system, friend = site.system, fresh_account()
    for link in system.links[:2]:
        assert site.post("/relay/claim", system.claim_body(link, friend)).status_code == 202
    before = system.relayer_nonce()
    r = site.post("/relay/claim", system.claim_body(system.links[2], friend))
    assert r.status_code == 429, r.get_json()
    body = r.get_json()
    assert body["code"] == "AddressLimit" and "try again after" in body["error"]
    assert friend in body["error"] and "UTC" in body["error"]
    assert 0 < int(r.headers["Retry-After"]) <= 86_400
    assert int(body["details"]["retryAfter"]) == int(r.headers["Retry-After"])
    assert system.relayer_nonce() == before
    other = site.post("/relay/claim", system.claim_body(system.links[3], fresh_account()))
    assert other.status_code == 202  # someone else is not held back


def test_the_per_address_limit_holds_under_200_concurrent_requests(make_site) -> None:
    site = make_site(per_address_day=5)
    system, friend = site.system, fresh_account()
    before = system.relayer_nonce()
    bodies = [system.claim_body(link, friend) for link in system.links[:200]]
    answers = _post_all(site, bodies)
    codes = sorted(code for code, _, _ in answers)
    # Exactly five are taken; a request taken whose answer was then delayed past the pool's
    # timeout says 503 but is in the queue, and the keeper sends it.
    assert 0 < codes.count(202) <= 5 <= codes.count(202) + codes.count(503), codes
    _refused_or_busy(answers, "AddressLimit")
    accepted = [body for code, body, _ in answers if code == 202]
    assert len({b["nonce"] for b in accepted}) == len(accepted)
    tick_until(site, lambda: system.relayer_nonce() >= before + 5)
    assert _rows(site) == 5 and system.relayer_nonce() == before + 5


def test_the_per_ip_limit(make_site) -> None:
    site = make_site(per_ip_day=3)
    system = site.system
    bodies = [system.claim_body(link, fresh_account()) for link in system.links[:6]]
    answers = _post_all(site, bodies, ips=["10.0.0.1"] * 5 + ["10.0.0.2"])
    codes = [code for code, _, _ in answers]
    assert sorted(codes[:5]) == [202, 202, 202, 429, 429] and codes[5] == 202, codes
    refused = next(body for code, body, _ in answers if code == 429)
    assert refused["code"] == "IpLimit" and "try again after" in refused["error"]


def test_behind_a_proxy_the_per_ip_limit_counts_the_clients(make_site) -> None:
    """Every request reaches the site from its proxy's address; with GIFTCERT_TRUSTED_PROXIES=1
    the limit counts the address the proxy saw, and an address a client wrote into the header
    itself (before the proxy appended the real one) counts for nothing."""
    site = make_site(per_ip_day=2, trusted_proxies=1)
    system = site.system
    bodies = [system.claim_body(link, fresh_account()) for link in system.links[:5]]
    forwarded = ["10.0.0.1", "10.0.0.1", "6.6.6.6, 10.0.0.1", "10.0.0.2", "10.0.0.2"]
    answers = _post_all(site, bodies, ips=["127.0.0.1"] * 5, forwarded=forwarded)
    codes = [code for code, _, _ in answers]
    assert sorted(codes[:3]) == [202, 202, 429] and codes[3:] == [202, 202], codes
    with site.relay.store.engine.connect() as conn:
        ips = sorted(conn.execute(select(requests_table.c.client_ip)).scalars())
    assert ips == ["10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2"]


def test_without_a_proxy_a_forwarded_header_changes_nothing(make_site) -> None:
    """A caller that writes X-Forwarded-For itself cannot pick a new address per request."""
    site = make_site(per_ip_day=2)
    system = site.system
    bodies = [system.claim_body(link, fresh_account()) for link in system.links[:3]]
    answers = _post_all(site, bodies, ips=["10.0.0.9"] * 3,
                        forwarded=["1.1.1.1", "2.2.2.2", "3.3.3.3"])
    assert sorted(code for code, _, _ in answers) == [202, 202, 429]


def test_the_gas_budget_holds_under_200_concurrent_requests(make_site) -> None:
    probe = make_site()
    system = probe.system
    first = probe.post("/relay/claim", system.claim_body(system.links[0], fresh_account()))
    assert first.status_code == 202, first.get_json()
    used = follow(probe, first.get_json()["requestId"])["gasUsed"]
    # the budget left after that claim is 3.5 claims' estimate: 3 more fit, the 4th not
    site = make_site(gas_budget_day=int(used + 3.5 * used * 1.1))
    before = system.relayer_nonce()
    bodies = [system.claim_body(link, fresh_account()) for link in system.links[1:201]]
    answers = _post_all(site, bodies, ips=[f"10.1.{i // 250}.{i % 250}" for i in range(200)])
    codes = sorted(code for code, _, _ in answers)
    assert 0 < codes.count(202) <= 3 <= codes.count(202) + codes.count(503), codes
    _refused_or_busy(answers, "GasBudget")
    refused = next(body for code, body, _ in answers if code == 429)
    assert "budget" in refused["error"]
    tick_until(site, lambda: system.relayer_nonce() >= before + 3)
    assert system.relayer_nonce() == before + 3
    for body in (b for code, b, _ in answers if code == 202):
        follow(site, body["requestId"])
    spent = site.get("/status").get_json()["relay"]["spentToday"]["gas"]
    assert spent <= int(used + 3.5 * used * 1.1)

"""No gas needed while the gas sponsor is busy (docs/relay.md, "When things break": a burst that
empties the relay's database pool). An empty wallet (exactly 0 ETH) claims a claim link with "No
gas needed" on a site that is genuinely busy: the site runs in this test's process (the app of
`giftcert serve`, served by waitress in a thread) with a relay database pool of ONE connection
(GIFTCERT_DB_POOL_SIZE=1, GIFTCERT_DB_MAX_OVERFLOW=0, GIFTCERT_DB_POOL_TIMEOUT=1), and the test
holds that connection, as a burst of other requests would. Nothing in the browser is faked: the
relay's first two answers to POST /api/v1/relay/claim are its own 503 `DatabaseUnavailable`
(after waiting 1 s for a connection) with Retry-After: 5; the test lets the connection go after
the second. The page says "The gas sponsor is busy; trying again in 5 seconds…" on the form,
counts down, posts the same signature again, never raises the "network cannot be reached"
banner, and the third answer is taken: the claim is mined once (the relayer's nonce moves by
one), the certificate is the wallet's and the wallet still holds 0 ETH. At a phone's 390 px the
busy line fits the screen."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from e2e_stack import GIVER, Chain, Site, ref
from eth_account import Account
from eth_utils import keccak
from playwright.sync_api import expect
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from test_e2e_gasless import STEPS_SEEN, said
from test_e2e_quality import overflow
from waitress.server import create_server

from giftcert.chain import free_port
from giftcert.config import load_settings
from giftcert.relay.service import BUSY_RETRY_SECONDS, Relay
from webapp import create_app
from webapp.api.relay import relay_of_process

BUSY_RELAYER_KEY = "0x" + keccak(text="giftcert e2e busy relayer").hex()
BUSY_RELAYER = Account.from_key(BUSY_RELAYER_KEY).address
POOL_OF_ONE = {"GIFTCERT_DB_POOL_SIZE": "1", "GIFTCERT_DB_MAX_OVERFLOW": "0",
               "GIFTCERT_DB_POOL_TIMEOUT": "1"}
BUSY_ANSWERS = 2  # the relay's busy 503s before the test lets its connection go
# What a person must not be shown for a busy site (the HTTP answer, its JSON, the server's words).
RAW = ["503", "{", "}", "0x", "DatabaseUnavailable", "retryAfter", "Retry-After", "HTTP", "pool",
       "QueuePool", "timeout", "sqlalchemy", "error"]
# Whether the "network cannot be reached" banner was ever shown in this tab (across page loads).
BANNER_SEEN = """() => {
  new MutationObserver(() => {
    const banner = document.querySelector("#chain-down");
    if (banner && !banner.hidden) sessionStorage.setItem("e2e.banner", banner.textContent.trim());
  }).observe(document, { subtree: true, childList: true, attributes: true,
                         attributeFilter: ["hidden"] });
}"""


def busy_words(seconds: int) -> str:
    """The page's line for a busy relay (webapp/static/js/app.js, busyWords)."""
    unit = "second" if seconds == 1 else "seconds"
    return f"The gas sponsor is busy; trying again in {seconds} {unit}…"


@dataclass
class BusySite:
    site: Site  # what open_browser(on=...) takes
    relay: Relay  # the site's relay: its store's engine is the pool of one


@pytest.fixture(scope="module")
def busy_site(e2e_chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BusySite]:
    """The site of `giftcert serve` in this process, over a SQLite database of its own with a
    relayer of its own; its relay's engine holds one connection and waits 1 s for it."""
    e2e_chain.w3.provider.make_request("anvil_setBalance", [BUSY_RELAYER, hex(100 * 10**18)])
    directory = tmp_path_factory.mktemp("busy-site")
    port = free_port()
    env = {**e2e_chain.env, "GIFTCERT_WEB_PORT": str(port),
           "GIFTCERT_DATABASE_URL": f"sqlite:///{directory / 'index.db'}",
           "GIFTCERT_RELAYER_KEY": BUSY_RELAYER_KEY}
    app = create_app(load_settings(directory / "none.env", environ=env))
    # Only the relay's engine is made with the pool of one (the index's and the sign-in's keep
    # their defaults, so the pages themselves are not the busy part).
    with pytest.MonkeyPatch.context() as mp, app.app_context():
        for name, value in POOL_OF_ONE.items():
            mp.setenv(name, value)
        relay = relay_of_process()
    assert relay is not None and relay.relayer == BUSY_RELAYER
    pool: Any = relay.store.engine.pool
    assert (pool.size(), pool._max_overflow, pool._timeout) == (1, 0, 1), "not a pool of one"
    server: Any = create_server(app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, name="busy-site", daemon=True)
    thread.start()
    try:
        yield BusySite(Site(f"http://127.0.0.1:{port}", None, directory / "serve.log"),  # type: ignore[arg-type]
                       relay)
    finally:
        server.close()
        server.task_dispatcher.shutdown()
        thread.join(timeout=10)
        relay.stop()
        relay.store.dispose()
        app.extensions["giftcert"].close()


def hold_the_pool(relay: Relay) -> Connection:
    """Takes the relay's one pooled connection (the keeper may have it for a moment)."""
    deadline = time.monotonic() + 15
    while True:
        try:
            return relay.store.engine.connect()
        except sa_exc.TimeoutError:
            assert time.monotonic() < deadline, "the relay's connection never came free"


def assert_plain(text: str) -> None:
    for word in RAW:
        assert word.lower() not in text.lower(), f"{word!r} in {text!r}"


def wait_until(page: Any, check: Any, timeout: float = 30.0) -> None:
    """Lets the page run (its events are dispatched meanwhile) until `check()`."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(100)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_busy_sponsor_is_said_counted_down_and_asked_again_until_the_claim_goes_through(
        open_browser, e2e_chain: Chain, busy_site: BusySite, caplog, size: str) -> None:
    w3 = e2e_chain.w3
    me = Account.create()
    w3.provider.make_request("anvil_setBalance", [me.address, "0x0"])
    link = e2e_chain.client(GIVER).issue_claimable(
        "15", e2e_chain.merchant_id("Corner Coffee"), "tUSD", message="For you")
    cert = link.certificate.id
    nonce_before = w3.eth.get_transaction_count(BUSY_RELAYER)
    caplog.set_level("WARNING", logger="giftcert.relay")

    person = open_browser("0x" + me.key.hex(), size=size, on=busy_site.site)
    person.context.add_init_script(script=f"({STEPS_SEEN})()")
    person.context.add_init_script(script=f"({BANNER_SEEN})()")
    # Every answer to the claim's POST, as the browser got it, with what it posted.
    answers: list[dict[str, Any]] = []

    def keep(response: Any) -> None:
        if response.request.method == "POST" and response.url.endswith("/api/v1/relay/claim"):
            answers.append({"status": response.status, "retryAfter": response.header_value(
                "Retry-After"), "body": response.json(), "posted": response.request.post_data})

    person.page.on("response", keep)
    page = person.goto(link.path)
    for _ in range(40):  # the site's own index follows the chain from the deployment
        if page.get_by_test_id("claim-form").count():
            break
        page.wait_for_timeout(250)
        page.reload()
    page.get_by_test_id("connect-button").click()
    button = page.get_by_test_id("claim-button")
    expect(button).to_have_text("Claim the gift: no gas needed")
    form = page.get_by_test_id("claim-form")
    status = form.get_by_test_id("claim-status")
    banner = page.get_by_test_id("chain-down")

    held = hold_the_pool(busy_site.relay)  # a burst: no connection for the relay
    try:
        button.click()
        wait_until(page, lambda: len(answers) >= 1)
        # Said in words on the form, counted down; no banner, nothing raw.
        expect(status).to_have_text(re.compile(
            r"^The gas sponsor is busy; trying again in [1-5] seconds?…$"))
        expect(banner).to_be_hidden()
        assert_plain(status.inner_text())
        assert_plain(page.locator("#flash").inner_text())
        assert_plain(form.get_by_test_id("form-error").inner_text())
        # It fits the screen (at 390 px too): the page and the status line itself.
        assert overflow(page) is None
        line = status.bounding_box()
        assert line is not None and line["x"] >= 0, line
        assert line["x"] + line["width"] <= page.viewport_size["width"], line
        assert status.evaluate("el => el.scrollWidth <= el.clientWidth"), "the line overflows"
        person.screenshot(f"relay-busy-{size}", full_page=False)
        wait_until(page, lambda: len(answers) >= BUSY_ANSWERS)  # asked again: still busy
    finally:
        held.close()  # the burst is over
    page.wait_for_url(re.compile(rf"/certificates/{ref(cert)}\?claimed=1$"), timeout=30_000)
    expect(page.get_by_test_id("its-yours")).to_contain_text("It's yours! 15.00 tUSD")
    expect(banner).to_be_hidden()

    # The answers: the server's own busy 503 twice, then taken; the same signature each time.
    assert [a["status"] for a in answers] == [503] * BUSY_ANSWERS + [202], answers
    for busy in answers[:BUSY_ANSWERS]:
        body = busy["body"]
        assert busy["retryAfter"] == str(BUSY_RETRY_SECONDS), busy
        assert body["code"] == "DatabaseUnavailable", body
        assert str(body["details"]["retryAfter"]) == str(BUSY_RETRY_SECONDS), body
        assert body["error"].startswith("the site's gas sponsor is busy right now"), body
    posted = [json.loads(a["posted"]) for a in answers]
    assert all(p == posted[0] for p in posted), posted
    assert posted[0]["recipient"].lower() == me.address.lower()
    busy_logged = [r for r in caplog.records if r.name == "giftcert.relay"
                   and "no database connection came free in time" in r.getMessage()]
    assert len(busy_logged) == BUSY_ANSWERS, [r.getMessage() for r in caplog.records]

    # What the form said, in order: each busy answer counted down from 5, then asked again,
    # then the relay's steps to Done. Never the banner.
    lines = said(page)
    for word in lines:
        assert_plain(word)
    countdown = [busy_words(s) for s in range(BUSY_RETRY_SECONDS, 0, -1)]
    expected = countdown + ["Handing it to the site again…"]
    at = lines.index("Handing the claim to the site…")
    assert lines[at + 1: at + 1 + len(expected) * BUSY_ANSWERS] == expected * BUSY_ANSWERS, lines
    assert lines[-1] == "Done: it is on the network. You paid no network fee.", lines
    assert page.evaluate("sessionStorage.getItem('e2e.banner')") is None

    # The chain: claimed once, by the relay; the wallet sent nothing and still has 0 ETH.
    assert e2e_chain.sdk.certificate(cert).owner == me.address
    assert int(w3.eth.get_balance(me.address)) == 0
    assert person.wallet.sent == []
    assert w3.eth.get_transaction_count(BUSY_RELAYER) == nonce_before + 1
    assert person.errors == []

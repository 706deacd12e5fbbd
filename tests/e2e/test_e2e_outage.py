"""A real outage, as a person sees it: a second site (`giftcert serve`) reaches the session's
anvil through a relay that the test switches off (the port closes: the node's connection is
refused, no response is faked) and on again. An action says the network cannot be reached and
raises the banner, which goes away by itself when the network is back; a page that needs the
node says so in plain words (no node, RPC or connection text), and shows once it answers."""

from __future__ import annotations

import http.server
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from e2e_stack import BOOKS, FRIEND, Chain, Site, connect, gift_for_holder, ref, serve
from playwright.sync_api import expect

from giftcert.chain import free_port

# Words a person must never be shown for an outage (they come from the node or the HTTP stack).
JARGON = ["node", "rpc", "http", "connection", "refused", "503", "127.0.0.1", "traceback",
          "error:", "pool", "0x"]


class NodeRelay:
    """Forwards JSON-RPC POSTs to `target` while up; while down its port is closed."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: http.server.ThreadingHTTPServer | None = None

    def up(self) -> None:
        target = self.target

        class Forward(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                forwarded = urllib.request.Request(
                    target, data=body, headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(forwarded, timeout=30) as answer:
                    reply = answer.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Forward)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def outage(e2e_chain: Chain, tmp_path: Any) -> Iterator[tuple[NodeRelay, Site]]:
    relay = NodeRelay(e2e_chain.anvil.rpc_url)
    relay.up()
    env = {**e2e_chain.env, "GIFTCERT_RPC_URL": relay.url,
           "GIFTCERT_WEB_PORT": str(free_port()),
           "GIFTCERT_DATABASE_URL": f"sqlite:///{tmp_path / 'index.db'}",
           "GIFTCERT_RELAYER_KEY": "off"}
    try:
        with serve(env, tmp_path) as site:
            yield relay, site
    finally:
        relay.down()


def assert_plain_words(page: Any) -> None:
    text = page.locator("main").inner_text().lower()
    shown = [word for word in JARGON if word in text]
    assert not shown, f"the page shows {shown}: {text!r}"


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_real_outage_is_said_in_plain_words_and_the_site_recovers(
        open_browser, e2e_chain: Chain, outage: tuple[NodeRelay, Site], size: str) -> None:
    relay, site = outage
    cert = ref(gift_for_holder(e2e_chain, "5"))
    visitor = open_browser(BOOKS, size=size, on=site)
    page = connect(visitor, "/give")  # loaded while the network answers
    relay.down()
    page.get_by_test_id("give-amount").fill("1")
    page.get_by_test_id("give-to").fill(e2e_chain.address(FRIEND))
    page.get_by_test_id("give-review").click()
    banner = page.get_by_test_id("chain-down")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("cannot be reached")
    error = page.get_by_test_id("give-form").get_by_test_id("form-error")
    expect(error).to_contain_text("cannot be reached")
    assert "node" not in error.inner_text().lower()
    assert visitor.wallet.sent == []
    relay.up()
    expect(banner).to_be_hidden(timeout=15_000)  # it looks again by itself

    relay.down()
    page.goto(site.url + f"/certificates/{cert}")
    expect(page.get_by_test_id("chain-unreachable")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("The network cannot be reached")
    assert page.title().startswith("Network unreachable")
    assert_plain_words(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width
    relay.up()
    page.get_by_test_id("retry").click()
    expect(page.get_by_test_id("chain-unreachable")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("5.00 tUSD")
    assert visitor.errors == []


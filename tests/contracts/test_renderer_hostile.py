"""The renderer makes valid wallet metadata for any merchant name and any token, however hostile.

Only the renderer and a hostile token are deployed (compiled on their own, so these tests do not
depend on the escrow contract compiling). render() is called with hand-built CertificateView
tuples, the merchant name ABI-encoded as raw bytes so it can be invalid UTF-8.
"""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import function_abi_to_4byte_selector
from hypothesis import given, settings
from hypothesis import strategies as st

from giftcert.compiler import compile_sources
from giftcert.config import PROJECT_ROOT
from giftcert.transactions import call, deploy, send
from webapp import present

SVG = "{http://www.w3.org/2000/svg}"
JSON_PREFIX = "data:application/json;base64,"
SVG_PREFIX = "data:image/svg+xml;base64,"
# CertificateView, field by field; merchantName (a string) is encoded as `bytes`, which has the
# same ABI encoding but lets a test send bytes that are not UTF-8.
VIEW_TYPE = (
    "(uint256,address,uint256,uint32,bytes,uint8,address,uint8,uint40,uint40,bool,uint40,uint256)"
)
EXPIRY = 1_953_763_200
EXPIRY_DATE = present.date(EXPIRY)  # the card writes days as the site does: "2 Dec 2031"
VALID_FROM = 1_700_000_000
MAX_SYMBOL_BYTES = 32
# Modes of HostileToken.symbol()
NORMAL, RAW, REVERT, HUGE, BURN_GAS = range(5)


# -- what the renderer should show, modelled in Python -----------------------------------------


def clean_utf8(raw: bytes) -> str:
    """Well-formed UTF-8: each ill-formed maximal subpart becomes U+FFFD."""
    return raw.decode("utf-8", "replace")


def expected_symbol(raw: bytes) -> str:
    """The symbol cleaned and cut on a character boundary to MAX_SYMBOL_BYTES ("TOKEN" if empty)."""
    out = ""
    for ch in clean_utf8(raw[: MAX_SYMBOL_BYTES + 3]):
        if len((out + ch).encode()) > MAX_SYMBOL_BYTES:
            break
        out += ch
    return out or "TOKEN"


def xml_visible(text: str) -> str:
    """What an XML parser reads back: characters XML 1.0 forbids are shown as U+FFFD."""
    return "".join(
        "\ufffd" if (ord(c) < 0x20 and c not in "\t\n\r") or c in "\ufffe\uffff" else c
        for c in text
    )


# -- deployment and calls ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def contracts(w3, dev_accounts) -> dict[str, Any]:
    artifacts = compile_sources(
        [
            PROJECT_ROOT / "contracts/CertificateRenderer.sol",
            PROJECT_ROOT / "contracts/test/HostileToken.sol",
        ]
    )
    deployer = dev_accounts[-1].address
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    deployed = {
        name: deploy(w3, artifacts[name].abi, artifacts[name].bytecode, deployer)
        for name in ("CertificateRenderer", "HostileToken")
    }
    yield {**deployed, "sender": deployer, "artifacts": artifacts}
    w3.provider.make_request("evm_revert", [snapshot])


@pytest.fixture(scope="module")
def renderer(contracts):
    return contracts["CertificateRenderer"]


@pytest.fixture(scope="module")
def token(contracts):
    return contracts["HostileToken"]


def set_token(w3, contracts, fn_name: str, *args: Any) -> None:
    token = contracts["HostileToken"]
    send(w3, getattr(token.functions, fn_name)(*args), contracts["sender"])


def view_tuple(
    name: bytes, token: str, balance: int = 1_234_500, occasion: int = 1, merchant: int = 7
) -> tuple:
    return (
        (merchant << 224) | 1,  # id
        "0x" + "11" * 20,  # owner
        balance,
        merchant,
        name,  # merchantName
        1,  # currency
        token,
        occasion,
        VALID_FROM,
        EXPIRY,
        False,  # awaitingClaim
        0,  # claimDeadline
        3,  # nonce
    )


def render_raw(w3, renderer, view: tuple) -> str:
    fn = next(e for e in renderer.abi if e.get("type") == "function" and e["name"] == "render")
    data = function_abi_to_4byte_selector(fn) + abi_encode([VIEW_TYPE], [view])
    out = w3.eth.call({"to": renderer.address, "data": data})
    (uri,) = abi_decode(["bytes"], out)  # same encoding as string; decoded without trusting it
    return uri.decode("ascii")


def parse(uri: str) -> tuple[dict, ET.Element]:
    """The metadata JSON and SVG root of a data: URI, parsed strictly."""
    assert uri.startswith(JSON_PREFIX)
    raw_json = base64.b64decode(uri[len(JSON_PREFIX) :], validate=True)
    meta = json.loads(raw_json.decode("utf-8"))  # strict UTF-8; json rejects raw controls
    assert meta["image"].startswith(SVG_PREFIX)
    svg = base64.b64decode(meta["image"][len(SVG_PREFIX) :], validate=True)
    svg.decode("utf-8")
    assert b"'" not in svg  # the template uses none; any in text is escaped as &apos;
    return meta, ET.fromstring(svg)


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def assert_card(meta: dict, root: ET.Element, name: str, amount: str, symbol: str) -> None:
    """`name` and `symbol` are the well-formed texts the renderer should carry."""
    assert meta["name"] == f"Happy Birthday - {name}"
    assert meta["description"] == f"Gift certificate redeemable at {name}"
    traits = {a["trait_type"]: a["value"] for a in meta["attributes"]}
    assert traits == {
        "Merchant": name,
        "Balance": f"{amount} {symbol}",
        "Occasion": "Happy Birthday",
        "Opens": VALID_FROM,
        "Expires": EXPIRY,
    }
    assert root.tag == f"{SVG}svg"
    assert texts(root) == [
        "Happy Birthday",
        xml_visible(name),
        f"{present.amount_text(amount)} {xml_visible(symbol)}",
        f"Valid until {EXPIRY_DATE}",
    ]


# -- hostile text ----------------------------------------------------------------------------------

FRAGMENTS = [
    '"', "\\", "<", ">", "&", "'", "\x00", "\x01", "\x08", "\t", "\n", "\r", "\x1b", "\x1f",
    "\x7f", "\x85", "\u2028", "\ufffd", "\ufffe", "\uffff", "é", "日本", "😀", "</text>",
    "]]>", "&amp;", "&#0;", "\\u0000", '","image":"x', "<script>alert(1)</script>", "S&P",
    "\U0010ffff",
]
ILL_FORMED = [
    b"\x80", b"\xbf", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xed\xa0\x80", b"\xed\xbf\xbf",
    b"\xf0\x80\x80\x80", b"\xf4\x90\x80\x80", b"\xf5", b"\xff", b"\xe2\x82", b"\xf0\x9f\x98",
    b"\xc3",
]
pieces = st.one_of(
    st.sampled_from(FRAGMENTS).map(str.encode),
    st.characters(codec="utf-8").map(str.encode),
    st.sampled_from(ILL_FORMED),
    st.binary(min_size=1, max_size=4),
)
hostile_bytes = st.lists(pieces, max_size=14).map(b"".join)
printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


@settings(max_examples=40, deadline=None)
@given(name=hostile_bytes, symbol=hostile_bytes)
def test_hostile_names_and_symbols_render_valid_metadata(w3, contracts, renderer, token,
                                                         name, symbol):
    set_token(w3, contracts, "setSymbol", symbol)
    set_token(w3, contracts, "setDecimals", 6, False)
    meta, root = parse(render_raw(w3, renderer, view_tuple(name, token.address)))
    assert_card(meta, root, clean_utf8(name), "1.2345", expected_symbol(symbol))


@settings(max_examples=40, deadline=None)
@given(name=printable, symbol=printable.filter(lambda s: 0 < len(s) <= MAX_SYMBOL_BYTES))
def test_printable_text_comes_back_exactly(w3, contracts, renderer, token, name, symbol):
    set_token(w3, contracts, "setSymbol", symbol.encode())
    set_token(w3, contracts, "setDecimals", 6, False)
    meta, root = parse(render_raw(w3, renderer, view_tuple(name.encode(), token.address)))
    assert meta["attributes"][0]["value"] == name
    assert meta["attributes"][1]["value"] == f"1.2345 {symbol}"
    assert texts(root)[1:3] == [name, f"1.2345 {symbol}"]


def test_every_hostile_piece_at_once(w3, contracts, renderer, token):
    name = "".join(FRAGMENTS).encode() + b"".join(ILL_FORMED) + bytes(range(256))
    symbol = b'"\\<>&\x00\r\xff\xed\xa0\x80\xef\xbf\xbe'
    set_token(w3, contracts, "setSymbol", symbol)
    set_token(w3, contracts, "setDecimals", 6, False)
    meta, root = parse(render_raw(w3, renderer, view_tuple(name, token.address)))
    assert_card(meta, root, clean_utf8(name), "1.2345", expected_symbol(symbol))
    assert expected_symbol(symbol) == '"\\<>&\x00\r\ufffd\ufffd\ufffd\ufffd\ufffe'


def test_the_examples_from_the_bug_report(w3, contracts, renderer, token):
    set_token(w3, contracts, "setSymbol", b"S&P")
    set_token(w3, contracts, "setDecimals", 6, False)
    name = 'Bad "name" <script>\\'
    # Through web3's own encoder too (a str merchant name), as the escrow would pass it.
    uri = call(renderer.functions.render(view_tuple(name, token.address)))
    meta, root = parse(uri)
    assert_card(meta, root, name, "1.2345", "S&P")


def test_ether_needs_no_token(w3, renderer):
    meta, root = parse(render_raw(w3, renderer, view_tuple(b"Corner Coffee", "0x" + "00" * 20,
                                                           balance=10**16)))
    assert_card(meta, root, "Corner Coffee", "0.01", "ETH")


def test_long_symbol_is_cut_on_a_character_boundary(w3, contracts, renderer, token):
    symbol = ("A" * 30 + "é€").encode()  # é ends at byte 32, € would not fit
    set_token(w3, contracts, "setSymbol", symbol)
    meta, root = parse(render_raw(w3, renderer, view_tuple(b"M", token.address)))
    assert meta["attributes"][1]["value"] == "1.2345 " + "A" * 30 + "é"


# -- hostile tokens --------------------------------------------------------------------------------


def word(value: int) -> bytes:
    return value.to_bytes(32, "big")


@pytest.mark.parametrize(
    ("raw", "symbol"),
    [
        (b"", "TOKEN"),
        (b"\x01\x02\x03", "TOKEN"),
        (word(32)[:31], "TOKEN"),
        (b"USDT".ljust(32, b"\0"), "USDT"),  # bytes32 symbol, as old tokens answer
        (b"\xff" * 32, "\ufffd" * 10),  # bytes32 of junk: cleaned, then cut to 32 bytes
        (word(2**255) + word(0), "TOKEN"),  # offset far outside the return data
        (word(32) + word(2**256 - 1), "TOKEN"),  # length far outside
        (word(32) + word(10) + b"abcde", "TOKEN"),  # length past the end
        (word(32) + word(0)[:31], "TOKEN"),  # 63 bytes
        (word(64) + word(0) + word(3) + b"XYZ".ljust(32, b"\0"), "XYZ"),  # unusual offset
        (word(32) + word(0), "TOKEN"),  # empty symbol
        (word(32) + word(4) + b"<&>\"".ljust(32, b"\0"), '<&>"'),
    ],
    ids=["empty", "3-bytes", "31-bytes", "bytes32", "bytes32-junk", "bad-offset", "bad-length",
         "length-past-end", "63-bytes", "offset-64", "empty-string", "markup"],
)
def test_malformed_symbol_answers(w3, contracts, renderer, token, raw, symbol):
    set_token(w3, contracts, "setRaw", raw)
    set_token(w3, contracts, "setDecimals", 6, False)
    meta, root = parse(render_raw(w3, renderer, view_tuple(b"M", token.address)))
    assert_card(meta, root, "M", "1.2345", symbol)


@pytest.mark.parametrize("mode", [REVERT, BURN_GAS], ids=["revert", "burn-gas"])
def test_symbol_that_reverts_or_burns_gas_shows_token(w3, contracts, renderer, token, mode):
    set_token(w3, contracts, "setMode", mode)
    set_token(w3, contracts, "setDecimals", 6, False)
    meta, root = parse(render_raw(w3, renderer, view_tuple(b"M", token.address)))
    assert_card(meta, root, "M", "1.2345", "TOKEN")


@pytest.mark.parametrize("length", [100_000, 10**6, 2**255])
def test_huge_symbol_gives_bounded_output(w3, contracts, renderer, token, length):
    set_token(w3, contracts, "setHugeLength", length)
    set_token(w3, contracts, "setDecimals", 6, False)
    uri = render_raw(w3, renderer, view_tuple(b"M", token.address))
    assert len(uri) < 3_000
    meta, root = parse(uri)
    if length == 100_000:  # answered within the gas cap: its first 32 bytes are shown
        shown = expected_symbol(b"HUGE" + b"\0" * (length - 4))
        assert shown == "HUGE" + "\0" * 28
    else:  # the token runs out of gas building the answer, or cannot return that much at all
        shown = "TOKEN"
    assert_card(meta, root, "M", "1.2345", shown)


def test_huge_symbol_answer_stays_cheap(w3, contracts, renderer, token):
    set_token(w3, contracts, "setHugeLength", 100_000)
    gas = renderer.functions.render(view_tuple("M", token.address)).estimate_gas()
    assert gas < 1_000_000, gas


@pytest.mark.parametrize(
    ("decimals", "reverts", "amount"),
    [
        (6, False, "1.2345"),
        (0, False, "1234500"),
        (77, False, "0." + "0" * 70 + "12345"),
        (78, False, "0.0000000000012345"),  # 10**78 does not fit: taken as 18
        (2**200, False, "0.0000000000012345"),  # not a uint8 at all
        (6, True, "0.0000000000012345"),  # decimals() reverts
    ],
)
def test_hostile_decimals(w3, contracts, renderer, token, decimals, reverts, amount):
    set_token(w3, contracts, "setSymbol", b"HOST")
    set_token(w3, contracts, "setDecimals", decimals, reverts)
    meta, root = parse(render_raw(w3, renderer, view_tuple(b"M", token.address)))
    assert_card(meta, root, "M", amount, "HOST")


def test_account_without_code_as_token(w3, renderer):
    meta, root = parse(render_raw(w3, renderer, view_tuple(b"M", "0x" + "ab" * 20)))
    assert_card(meta, root, "M", "0.0000000000012345", "TOKEN")


def test_renderer_does_not_depend_on_the_escrow(contracts):
    assert "GiftCertificates" not in contracts["artifacts"]
    source = (PROJECT_ROOT / "contracts/CertificateRenderer.sol").read_text()
    assert '"./GiftCertificates.sol"' not in source

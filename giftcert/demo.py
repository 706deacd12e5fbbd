"""Demo data for the local chain: merchants, funded dev accounts and certificates in every state.

Dev chain (31337) only: it mints the open-mint test stablecoin and moves anvil's clock forward
(`evm_increaseTime`) to produce an expired certificate. It seeds a deployment once: run again on
a chain it already seeded (its merchants registered and its minimum validity set), it says so
and adds nothing (`force=True` seeds again), so `make run` can call it on every start.
`ROLES` and `roles_text()` say which dev account plays which part, for a newcomer's wallet.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from eth_account import Account
from eth_utils import to_checksum_address
from web3.types import RPCEndpoint

from giftcert.client import DAY, ERC20_ABI, GiftCert
from giftcert.config import ANVIL_DEV_KEYS, DEV_CHAIN_ID
from giftcert.errors import GiftCertError

Say = Callable[[str], None]
YEAR = 365 * DAY
DEMO_MIN_VALIDITY = 3600
MERCHANTS = [("Corner Coffee", 4), ("Page Turner Books", 5), ("Green Leaf Tea", 6)]
MINT_ABI = ERC20_ABI + [{
    "type": "function", "name": "mint", "stateMutability": "nonpayable",
    "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
    "outputs": [],
}]


class DemoError(GiftCertError):
    """The demo cannot run here (not the dev chain, no test stablecoin)."""


def dev_client(admin: GiftCert, index: int) -> GiftCert:
    return admin.acting_as(private_key=ANVIL_DEV_KEYS[index])


# Who is who in the demo: (dev account, role, what to do with it in the browser).
ROLES = [
    (0, "Admin", "deployer: merchants, currencies, pause (holds no gifts)"),
    (1, "Giver", "bought the demo gifts; has 1000 tUSD to give more"),
    (2, "Holder", "holds the demo gifts: My gifts, Pay"),
    (4, "Corner Coffee", "merchant desk: take payments, withdraw"),
    (5, "Page Turner Books", "merchant desk"),
    (6, "Green Leaf Tea", "merchant desk"),
]


def roles_text() -> str:
    """The dev keys a newcomer imports into a browser wallet, one role per line."""
    lines = ["Accounts to import into a browser wallet (anvil's public test keys: this local",
             "chain only, never real funds):"]
    for index, role, what in ROLES:
        address = Account.from_key(ANVIL_DEV_KEYS[index]).address
        lines.append(f"  {role:<18} {address}  {what}")
        lines.append(f"  {'':<18} key {ANVIL_DEV_KEYS[index]}")
    return "\n".join(lines)


def already_seeded(admin: GiftCert) -> bool:
    """Whether this deployment has the demo: its merchants and its minimum validity."""
    names = {m.name for m in admin.merchants()}
    return (all(name in names for name, _ in MERCHANTS)
            and admin.min_validity() == DEMO_MIN_VALIDITY)


def run_demo(admin: GiftCert, say: Say = print, *, force: bool = False) -> dict[str, Any]:
    """Seeds the demo; returns what it created (ids as text, the claim link path). On a
    deployment that has it already, nothing is added (`{"seeded": False, ...}`) unless
    `force`."""
    if admin.chain_id != DEV_CHAIN_ID:
        raise DemoError(f"the demo runs on the local dev chain ({DEV_CHAIN_ID}) only")
    if not force and already_seeded(admin):
        say("the demo is already on this chain: nothing added (its gifts are still there)")
        known = {m.name: m.id for m in admin.merchants()}
        return {"seeded": False, "merchants": {n: known[n] for n, _ in MERCHANTS},
                "buyer": dev_client(admin, 1).sender, "holder": dev_client(admin, 2).sender}
    steps = 6
    say(f"[1/{steps}] minimum validity -> {DEMO_MIN_VALIDITY} s (so an expired example can exist)")
    if admin.min_validity() != DEMO_MIN_VALIDITY:
        admin.set_min_validity(DEMO_MIN_VALIDITY)
    say(f"[2/{steps}] merchants")
    merchants = _merchants(admin, say)
    say(f"[3/{steps}] minting 1000 tUSD to dev accounts 0-5")
    _fund(admin)
    buyer, holder = dev_client(admin, 1), dev_client(admin, 2)
    coffee, books = merchants["Corner Coffee"], merchants["Page Turner Books"]
    say(f"[4/{steps}] expired certificate (moving the dev chain's clock forward 2 hours)")
    expired = buyer.issue(holder.sender, "15", books, "tUSD", message="Happy reading",
                          expiry=buyer.now() + DEMO_MIN_VALIDITY + 120)
    admin.w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [2 * DEMO_MIN_VALIDITY])
    admin.w3.provider.make_request(RPCEndpoint("evm_mine"), [])
    say(f"[5/{steps}] fresh, partly spent, opening next week")
    long = {"expiry": buyer.now() + YEAR}
    fresh = buyer.issue(holder.sender, "25", coffee, "tUSD", message="Coffee on me", **long)
    spent = buyer.issue(holder.sender, "40", books, "tUSD", message="Happy birthday", **long)
    # Any order reference will do: it is data of the Redeemed event, never refused as reused
    # (the index answers "was this order paid"), so a second demo run cannot collide.
    holder.redeem(spent.id, Decimal("12.50"), order_ref=holder.now())
    later = buyer.issue(holder.sender, "0.01", coffee, "ETH", message="See you next week",
                        valid_from=buyer.now() + 7 * DAY, **long)
    say(f"[6/{steps}] claim link")
    link = buyer.issue_claimable("20", coffee, "tUSD", message="A gift for you", **long)
    say(f"claim link: {link.path}")
    return {"seeded": True, "merchants": merchants, "fresh": str(fresh.id),
            "partlySpent": str(spent.id),
            "openingNextWeek": str(later.id), "expiredRefundable": str(expired.id),
            "claimLink": link.path, "buyer": buyer.sender, "holder": holder.sender}


def _merchants(admin: GiftCert, say: Say) -> dict[str, int]:
    known = {m.name: m.id for m in admin.merchants()}
    for name, account_index in MERCHANTS:
        if name not in known:
            account = dev_client(admin, account_index).sender
            known[name] = admin.register_merchant(account, name).id
            say(f"  registered {name} (id {known[name]})")
        else:
            say(f"  {name} already registered (id {known[name]})")
    return {name: known[name] for name, _ in MERCHANTS}


def _fund(admin: GiftCert) -> None:
    info = admin.currency("tUSD")
    assert info.token is not None  # tUSD is a token
    token = admin.w3.eth.contract(address=to_checksum_address(info.token), abi=MINT_ABI)
    for key in ANVIL_DEV_KEYS[:6]:
        client = admin.acting_as(private_key=key)
        client.calls.prepare("mint", client.sender, 1000 * 10**info.decimals,
                             contract=token).send()


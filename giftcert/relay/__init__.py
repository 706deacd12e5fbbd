"""The sponsor relay (issue 16): the site pays the gas for claims and signed holder actions.

- `operations`: what is sponsored, and the checks each request passes before it is simulated
- `store`: the durable queue and the serialized transaction that hands out nonces
- `service`: `Relay` (submit, the keeper's tick and thread)
- `python -m giftcert.relay`: a keeper process of its own (e.g. beside `giftcert index`)

See docs/relay.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eth_account import Account

from giftcert.relay.store import LimitReached, Record, RelayRefused, RelayStore

if TYPE_CHECKING:
    from giftcert.client import GiftCert
    from giftcert.config import Settings
    from giftcert.relay.service import Relay

__all__ = ["LimitReached", "Record", "RelayRefused", "RelayStore", "open_relay"]


def open_relay(settings: Settings, client: GiftCert, *,
               send_at_once: bool = True) -> Relay | None:
    """The relay of `settings` over `client`'s contract (None when no relayer key is set)."""
    from giftcert.relay.service import Relay

    if not settings.relayer_key:
        return None
    relayer = str(Account.from_key(settings.relayer_key).address)
    store = RelayStore(settings.database_url, chain_id=client.chain_id,
                       contract=client.address, relayer=relayer)
    return Relay(client, settings.relayer_key, store, settings.relay, send_at_once=send_at_once)

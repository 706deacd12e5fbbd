"""EIP-712 typed data for giftcert, defined once for Python and the browser wallet.

`typed_data_json()` is what the web app serves to the browser; `sign_typed_data` is what tests and
the CLI use, so both sign exactly the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

DOMAIN_NAME = "GiftCertificates"
DOMAIN_VERSION = "1"

EIP712_DOMAIN = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]

TYPES: dict[str, list[dict[str, str]]] = {
    "Redemption": [
        {"name": "certificate", "type": "uint256"},
        {"name": "merchant", "type": "uint32"},
        {"name": "amount", "type": "uint256"},
        {"name": "orderRef", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
    "Claim": [
        {"name": "certificate", "type": "uint256"},
        {"name": "recipient", "type": "address"},
    ],
    # Signed holder actions: anyone (the site's relayer) submits them for a holder without gas.
    "Transfer": [
        {"name": "certificate", "type": "uint256"},
        {"name": "to", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
    "Split": [
        {"name": "certificate", "type": "uint256"},
        {"name": "amount", "type": "uint256"},
        {"name": "to", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
    "Merge": [
        {"name": "from", "type": "uint256"},
        {"name": "into", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
    "CashOut": [
        {"name": "certificate", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}

TYPES["Voucher"] = [
    {"name": "certificate", "type": "uint256"},
    {"name": "epoch", "type": "uint256"},
    {"name": "cumulative", "type": "uint256"},
]
TYPES["OpenTab"] = [
    {"name": "certificate", "type": "uint256"},
    {"name": "sessionKey", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
for _tab_action in ("RequestTabClose", "CloseTab"):
    TYPES[_tab_action] = [
        {"name": "certificate", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
TYPES["TabRelease"] = [
    {"name": "certificate", "type": "uint256"},
    {"name": "epoch", "type": "uint256"},
]

# A signed holder action's kind (as the site and the relay name it) -> its EIP-712 type.
HOLDER_ACTIONS = {"transfer": "Transfer", "split": "Split", "merge": "Merge",
                  "cash-out": "CashOut", "open-tab": "OpenTab",
                  "request-tab-close": "RequestTabClose", "close-tab": "CloseTab"}


def domain(chain_id: int, contract: str) -> dict[str, Any]:
    """The domain binds every signature to one chain and one contract."""
    return {
        "name": DOMAIN_NAME,
        "version": DOMAIN_VERSION,
        "chainId": chain_id,
        "verifyingContract": contract,
    }


def typed_data(primary_type: str, chain_id: int, contract: str,
               message: dict[str, Any]) -> dict[str, Any]:
    """A full EIP-712 document as `eth_signTypedData_v4` expects it."""
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN, primary_type: TYPES[primary_type]},
        "primaryType": primary_type,
        "domain": domain(chain_id, contract),
        "message": message,
    }


def redemption(
    chain_id: int,
    contract: str,
    *,
    certificate: int,
    merchant: int,
    amount: int,
    order_ref: int,
    nonce: int,
    deadline: int,
) -> dict[str, Any]:
    """Typed data for a holder's authorisation that a merchant may redeem `amount`; `nonce` is
    the certificate's current nonce (the contract's replay protection, bound to the signer)."""
    message = {
        "certificate": certificate,
        "merchant": merchant,
        "amount": amount,
        "orderRef": order_ref,
        "nonce": nonce,
        "deadline": deadline,
    }
    return typed_data("Redemption", chain_id, contract, message)


def claim(chain_id: int, contract: str, *, certificate: int, recipient: str) -> dict[str, Any]:
    """Typed data the claim key signs to deliver a claim-link gift to `recipient`."""
    return typed_data(
        "Claim", chain_id, contract, {"certificate": certificate, "recipient": recipient}
    )


def holder_action(kind: str, chain_id: int, contract: str, **message: Any) -> dict[str, Any]:
    """Typed data for a signed holder action (`kind` in HOLDER_ACTIONS), its message fields
    named as in the type; `nonce` is the certificate's current nonce (of `from` for a merge)."""
    primary = HOLDER_ACTIONS[kind]
    fields = [f["name"] for f in TYPES[primary]]
    if sorted(message) != sorted(fields):
        raise ValueError(f"a {kind} authorisation has the fields {', '.join(fields)}")
    return typed_data(primary, chain_id, contract, {name: message[name] for name in fields})


def voucher(chain_id: int, contract: str, *, certificate: int, epoch: int,
            cumulative: int) -> dict[str, Any]:
    """Typed data of a payment tab's voucher: everything bought on the tab in this epoch."""
    return typed_data("Voucher", chain_id, contract,
                      {"certificate": certificate, "epoch": epoch, "cumulative": cumulative})


def tab_release(chain_id: int, contract: str, *, certificate: int, epoch: int) -> dict[str, Any]:
    """Typed data the merchant signs to let the holder close a tab at once."""
    return typed_data("TabRelease", chain_id, contract,
                      {"certificate": certificate, "epoch": epoch})


def sign_typed_data(private_key: str | bytes, document: dict[str, Any]) -> bytes:
    """Signs a typed-data document the way a wallet does (65-byte r, s, v)."""
    signed = Account.sign_message(encode_typed_data(full_message=document), private_key)
    return bytes(signed.signature)


def typed_data_json() -> str:
    """The type definitions as JSON for the browser."""
    return json.dumps(
        {
            "domain": {"name": DOMAIN_NAME, "version": DOMAIN_VERSION},
            "EIP712Domain": EIP712_DOMAIN,
            "types": TYPES,
        },
        indent=2,
    )


def wallet_json(document: dict[str, Any]) -> dict[str, Any]:
    """Typed data as wallets take it: integers as decimal strings (JSON numbers lose precision)."""
    message = {k: str(v) if isinstance(v, int) and not isinstance(v, bool) else v
               for k, v in document["message"].items()}
    return {**document, "message": message}

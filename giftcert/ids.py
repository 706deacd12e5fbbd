"""Certificate ids are self-describing (see contracts/CertificateId.sol); this is the Python twin.

| merchant 32 | currency 8 | occasion 8 | validFrom 40 | expiry 40 | buyerTag 96 | serial 32 |

The serial is chosen by the buyer (`random_serial`), so an id is known before it is mined.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from eth_utils import keccak, to_canonical_address

from giftcert.errors import InvalidInput

_MASK_40 = (1 << 40) - 1
_MASK_96 = (1 << 96) - 1


@dataclass(frozen=True)
class CertificateTerms:
    """The immutable terms packed into a certificate id."""

    merchant: int
    currency: int
    occasion: int
    valid_from: int
    expiry: int
    buyer_tag: int
    serial: int


def decode_id(certificate_id: int) -> CertificateTerms:
    """Splits a certificate id into its terms."""
    return CertificateTerms(
        merchant=certificate_id >> 224,
        currency=(certificate_id >> 216) & 0xFF,
        occasion=(certificate_id >> 208) & 0xFF,
        valid_from=(certificate_id >> 168) & _MASK_40,
        expiry=(certificate_id >> 128) & _MASK_40,
        buyer_tag=(certificate_id >> 32) & _MASK_96,
        serial=certificate_id & 0xFFFFFFFF,
    )


def buyer_tag(address: str) -> int:
    """The 96-bit commitment to a buyer address that ids carry (keccak of the padded address)."""
    return int.from_bytes(keccak(b"\x00" * 12 + to_canonical_address(address)), "big") & _MASK_96


def is_buyer(certificate_id: int, address: str) -> bool:
    """Whether `address` is the buyer (refund target) of the certificate."""
    return decode_id(certificate_id).buyer_tag == buyer_tag(address)


SERIAL_LIMIT = 2**32


def random_serial(count: int = 1) -> int:
    """A fresh serial for `count` consecutive certificates (a batch uses serial .. serial+n-1)."""
    if not 1 <= count <= SERIAL_LIMIT:
        raise InvalidInput(f"a batch holds 1 to {SERIAL_LIMIT} certificates, not {count}",
                           "rows")
    return secrets.randbelow(SERIAL_LIMIT - count + 1)


def encode_id(merchant: int, currency: int, occasion: int, valid_from: int, expiry: int,
              buyer: str, serial: int) -> int:
    """The id the contract gives a certificate with these terms bought by `buyer`."""
    return ((merchant << 224) | (currency << 216) | (occasion << 208) | (valid_from << 168)
            | (expiry << 128) | (buyer_tag(buyer) << 32) | serial)

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title CertificateId
 * @notice Certificate ids are self-describing: the immutable terms of a certificate are packed
 * into its uint256 id, so issuing one writes a single storage word (see {GiftCertStorage}).
 *
 * Layout, most significant bits first:
 *
 * | merchant 32 | currency 8 | occasion 8 | validFrom 40 | expiry 40 | buyerTag 96 | serial 32 |
 *
 * `serial` is chosen by the buyer (any number not yet used with the same terms); the escrow
 * refuses an id that exists, and since the buyer tag is derived from the caller, nobody else can
 * take a buyer's ids. Split derives the new certificate's serial from the source id and nonce.
 * `buyerTag` is the low 96 bits of keccak256(buyer): the refund target is proven by presenting
 * an address that hashes to it (a second preimage of 96 bits is out of reach). Buyers that are
 * contracts, whose addresses a deployer could grind for a 2^48 collision, are also recorded in
 * full (see {GiftCertStorage-Layout-contractBuyers}).
 */
library CertificateId {
    uint256 private constant _MERCHANT_SHIFT = 224;
    uint256 private constant _CURRENCY_SHIFT = 216;
    uint256 private constant _OCCASION_SHIFT = 208;
    uint256 private constant _VALID_FROM_SHIFT = 168;
    uint256 private constant _EXPIRY_SHIFT = 128;
    uint256 private constant _BUYER_TAG_SHIFT = 32;
    uint256 private constant _MASK_40 = (1 << 40) - 1;
    uint256 private constant _MASK_96 = (1 << 96) - 1;

    /// @dev Packs terms into an id.
    function encode(
        uint32 merchantId,
        uint8 currencyId,
        uint8 occasionId,
        uint40 opensAt,
        uint40 expiresAt,
        uint96 tag,
        uint32 serialNo
    ) internal pure returns (uint256) {
        return (uint256(merchantId) << _MERCHANT_SHIFT) | (uint256(currencyId) << _CURRENCY_SHIFT)
            | (uint256(occasionId) << _OCCASION_SHIFT) | (uint256(opensAt) << _VALID_FROM_SHIFT)
            | (uint256(expiresAt) << _EXPIRY_SHIFT) | (uint256(tag) << _BUYER_TAG_SHIFT) | serialNo;
    }

    /// @dev Same terms as `id` (merchant, currency, occasion, dates, buyer) under a new serial.
    function withSerial(uint256 id, uint32 serialNo) internal pure returns (uint256) {
        return (id & ~uint256(type(uint32).max)) | serialNo;
    }

    function merchant(uint256 id) internal pure returns (uint32) {
        return uint32(id >> _MERCHANT_SHIFT);
    }

    function currency(uint256 id) internal pure returns (uint8) {
        return uint8(id >> _CURRENCY_SHIFT);
    }

    function occasion(uint256 id) internal pure returns (uint8) {
        return uint8(id >> _OCCASION_SHIFT);
    }

    function validFrom(uint256 id) internal pure returns (uint40) {
        return uint40((id >> _VALID_FROM_SHIFT) & _MASK_40);
    }

    function expiry(uint256 id) internal pure returns (uint40) {
        return uint40((id >> _EXPIRY_SHIFT) & _MASK_40);
    }

    function buyerTag(uint256 id) internal pure returns (uint96) {
        return uint96((id >> _BUYER_TAG_SHIFT) & _MASK_96);
    }

    function serial(uint256 id) internal pure returns (uint32) {
        return uint32(id);
    }

    /// @dev The 96-bit commitment to a buyer address stored in ids.
    function tagOf(address buyer) internal pure returns (uint96 tag) {
        assembly ("memory-safe") {
            mstore(0x00, buyer)
            tag := and(keccak256(0x00, 0x20), _MASK_96)
        }
    }
}

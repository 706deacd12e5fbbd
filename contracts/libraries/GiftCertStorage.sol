// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CertificateId} from "../CertificateId.sol";

/**
 * @title GiftCertStorage
 * @notice The escrow's state in one ERC-7201 namespace, shared by the escrow and the admin
 * module it delegatecalls (so both read and write the same slots at the escrow's address).
 *
 * Packed words (bit 0 is the least significant):
 *
 * Certificate, one word per id:
 * | flags 8 (248..255) | nonce 16 (232..247) | balance 72 (160..231) | owner 160 (0..159) |
 * While a certificate awaits its claim the nonce field holds the claim deadline in days since
 * 1970 (no signature can use it then: the claim key signs claims, not redemptions). While a
 * payment tab is open (flag TAB_OPEN) the nonce is the tab's epoch: the holder's vouchers carry
 * it, and each settle or close moves it on, which voids every older voucher.
 *
 * Payment tab, one word per certificate whose tab has a session key or a close request
 * (`tabs`; the hot path reads it only when the certificate word's TAB_SESSION_KEY flag says so):
 * | unused 56 | closeAt 40 (160..199) | sessionKey 160 (0..159) |
 *
 * Merchant, one word per merchant id:
 * | flags 8 (248..255) | owedEth 88 (160..247) | account 160 (0..159) |
 */
library GiftCertStorage {
    /// @custom:storage-location erc7201:giftcert.storage.GiftCertificates
    struct Layout {
        mapping(uint256 id => uint256) certs;
        mapping(uint32 merchantId => uint256) merchants;
        mapping(uint32 merchantId => string) merchantNames;
        mapping(uint32 merchantId => mapping(uint8 currencyId => Ledger)) ledgers;
        mapping(uint8 currencyId => Currency) currencies;
        mapping(address account => mapping(uint8 currencyId => uint256)) deferred;
        mapping(address account => mapping(address operator => bool)) operatorApprovals;
        mapping(uint96 tag => address) contractBuyers;
        Config config;
        address renderer;
        mapping(uint256 id => uint256) tabs;
    }

    /// @dev What a merchant is owed in one ERC-20 and its cash-out limit there (ETH owed lives
    /// in the merchant word, the hot path).
    struct Ledger {
        uint128 owed;
        uint128 cashOutLimit;
    }

    struct Currency {
        address token;
        bool allowed;
    }

    /// @dev Contract-wide settings in one slot; the hot paths read it once (for `paused`).
    struct Config {
        bool paused;
        bool initialized;
        uint40 minValidity;
        uint8 currencyCount;
        uint32 merchantCount;
    }

    // keccak256(abi.encode(uint256(keccak256("giftcert.storage.GiftCertificates")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant _SLOT = 0x3e0f186b91510aaff27e81f4e2807e7d45010da0307dd256e0e6b713a75d6600;

    function layout() internal pure returns (Layout storage $) {
        assembly ("memory-safe") {
            $.slot := _SLOT
        }
    }

    /// @dev The slot of certificate `id`'s word. The hot paths read and write a word by its slot,
    /// so the mapping's hash is computed once per call instead of once per access.
    function certSlot(Layout storage $, uint256 id) internal view returns (uint256 slot) {
        mapping(uint256 => uint256) storage certs = $.certs;
        assembly ("memory-safe") {
            mstore(0x00, id)
            mstore(0x20, certs.slot)
            slot := keccak256(0x00, 0x40)
        }
    }

    /// @dev The slot of merchant `merchantId`'s word (see {certSlot}).
    function merchantSlot(Layout storage $, uint32 merchantId) internal view returns (uint256 slot) {
        mapping(uint32 => uint256) storage merchants = $.merchants;
        assembly ("memory-safe") {
            mstore(0x00, merchantId)
            mstore(0x20, merchants.slot)
            slot := keccak256(0x00, 0x40)
        }
    }

    function load(uint256 slot) internal view returns (uint256 value) {
        assembly ("memory-safe") {
            value := sload(slot)
        }
    }

    function store(uint256 slot, uint256 value) internal {
        assembly ("memory-safe") {
            sstore(slot, value)
        }
    }

    /// @dev Whether `buyer` is the refund target of certificate `id` (whose word is `word`):
    /// the id's buyer tag, and for a contract buyer also the full address recorded at issue.
    function isBuyer(Layout storage $, uint256 id, uint256 word, address buyer) internal view returns (bool) {
        uint96 tag = CertificateId.buyerTag(id);
        if (tag != CertificateId.tagOf(buyer)) return false;
        return !CertWord.has(word, CertWord.FLAG_CONTRACT_BUYER) || $.contractBuyers[tag] == buyer;
    }
}

/**
 * @title CertWord
 * @notice Reads and writes the fields of a packed certificate word (layout in {GiftCertStorage}).
 */
library CertWord {
    uint256 internal constant MAX_BALANCE = (1 << 72) - 1;
    uint256 internal constant MAX_NONCE = (1 << 16) - 1;

    uint256 private constant _BALANCE_SHIFT = 160;
    uint256 private constant _NONCE_SHIFT = 232;
    uint256 private constant _FLAGS_SHIFT = 248;
    uint256 private constant _ADDRESS_MASK = (1 << 160) - 1;

    /// @dev Held by a claim key until claimed.
    uint256 internal constant FLAG_AWAITING_CLAIM = 1;
    /// @dev Bought by a contract: its refund target is the full address in `contractBuyers`.
    uint256 internal constant FLAG_CONTRACT_BUYER = 2;
    /// @dev A payment tab is open: no value leaves but by the merchant's settle of a voucher.
    uint256 internal constant FLAG_TAB_OPEN = 4;
    /// @dev The tab's vouchers are signed by the session key in `tabs`, not by the owner.
    uint256 internal constant FLAG_TAB_SESSION_KEY = 8;
    /// @dev The flags that stop a certificate's value from leaving by any holder action.
    uint256 internal constant LOCKS = FLAG_AWAITING_CLAIM | FLAG_TAB_OPEN;

    function pack(address owner_, uint256 balance_, uint256 nonce_, uint256 flags_) internal pure returns (uint256) {
        return uint256(uint160(owner_)) | (balance_ << _BALANCE_SHIFT) | (nonce_ << _NONCE_SHIFT)
            | (flags_ << _FLAGS_SHIFT);
    }

    function owner(uint256 word) internal pure returns (address) {
        return address(uint160(word));
    }

    function balance(uint256 word) internal pure returns (uint256) {
        return (word >> _BALANCE_SHIFT) & MAX_BALANCE;
    }

    function nonce(uint256 word) internal pure returns (uint256) {
        return (word >> _NONCE_SHIFT) & MAX_NONCE;
    }

    function flags(uint256 word) internal pure returns (uint256) {
        return word >> _FLAGS_SHIFT;
    }

    function has(uint256 word, uint256 flag) internal pure returns (bool) {
        return (word >> _FLAGS_SHIFT) & flag != 0;
    }

    /// @dev The claim deadline of a certificate that awaits its claim (its nonce field holds
    /// the day): the last second of that UTC day.
    function claimDeadline(uint256 word) internal pure returns (uint40) {
        return endOfDay(nonce(word));
    }

    /// @dev The last second of UTC day `day` (days since 1970); for day < 2^16 it fits 40 bits.
    function endOfDay(uint256 day) internal pure returns (uint40) {
        return uint40(day * 1 days + 1 days - 1);
    }

    /// @dev The word with another balance (the caller has checked it fits 72 bits).
    function withBalance(uint256 word, uint256 balance_) internal pure returns (uint256) {
        return (word & ~(MAX_BALANCE << _BALANCE_SHIFT)) | (balance_ << _BALANCE_SHIFT);
    }

    /// @dev The word with another owner and the nonce moved on, so no signature of an earlier
    /// owner (or of this owner before the move) stays usable; `false` when the nonce is spent.
    function withOwnerAndNextNonce(uint256 word, address owner_) internal pure returns (uint256, bool) {
        uint256 next = nonce(word) + 1;
        if (next > MAX_NONCE) return (word, false);
        return ((word & ~(_ADDRESS_MASK | (MAX_NONCE << _NONCE_SHIFT))) | uint256(uint160(owner_))
            | (next << _NONCE_SHIFT), true);
    }
}

/**
 * @title TabWord
 * @notice The rules' constants and the fields of a payment tab's word (layout in
 * {GiftCertStorage}).
 */
library TabWord {
    /// @dev How long the merchant has to settle after the holder asks to close a tab.
    uint40 internal constant CLOSE_DELAY = 2 days;
    /// @dev How long after expiry the merchant may still settle an open tab (and the buyer's
    /// refund waits).
    uint40 internal constant GRACE = 7 days;
    uint256 private constant _CLOSE_AT_SHIFT = 160;

    function sessionKey(uint256 word) internal pure returns (address) {
        return address(uint160(word));
    }

    function closeAt(uint256 word) internal pure returns (uint40) {
        return uint40(word >> _CLOSE_AT_SHIFT);
    }

    function withCloseAt(uint256 word, uint40 at) internal pure returns (uint256) {
        return (word & ((1 << _CLOSE_AT_SHIFT) - 1)) | (uint256(at) << _CLOSE_AT_SHIFT);
    }
}

/**
 * @title MerchantWord
 * @notice Reads and writes the fields of a packed merchant word (layout in {GiftCertStorage}).
 */
library MerchantWord {
    uint256 internal constant MAX_OWED_ETH = (1 << 88) - 1;
    uint256 private constant _OWED_SHIFT = 160;
    uint256 private constant _FLAGS_SHIFT = 248;
    uint256 internal constant FLAG_ACTIVE = 1;

    function pack(address account_, uint256 owedEth_, bool active_) internal pure returns (uint256) {
        return uint256(uint160(account_)) | (owedEth_ << _OWED_SHIFT) | ((active_ ? FLAG_ACTIVE : 0) << _FLAGS_SHIFT);
    }

    function account(uint256 word) internal pure returns (address) {
        return address(uint160(word));
    }

    function owedEth(uint256 word) internal pure returns (uint256) {
        return (word >> _OWED_SHIFT) & MAX_OWED_ETH;
    }

    function active(uint256 word) internal pure returns (bool) {
        return (word >> _FLAGS_SHIFT) & FLAG_ACTIVE != 0;
    }

    function withOwedEth(uint256 word, uint256 owed) internal pure returns (uint256) {
        return (word & ~(MAX_OWED_ETH << _OWED_SHIFT)) | (owed << _OWED_SHIFT);
    }
}

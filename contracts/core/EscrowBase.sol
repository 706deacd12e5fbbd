// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC1155Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";

import {IGiftCertificatesTypes} from "../interfaces/IGiftCertificates.sol";
import {CertificateId} from "../CertificateId.sol";
import {GiftCertStorage, CertWord, MerchantWord} from "../libraries/GiftCertStorage.sol";

/**
 * @title EscrowBase
 * @notice The checks and state changes that the escrow ({GiftCertificates}) and its module
 * ({GiftCertificatesAdmin}) share: reading a certificate, burning and moving one, the holder,
 * merchant, pause and spendability rules. Both contracts compile it in and run it on the same
 * storage (the module by delegatecall, at the escrow's address), so each rule is written once.
 *
 * It declares no external function: whatever a contract inherits from here adds nothing to its
 * dispatcher, and code a contract does not reach is not compiled into it.
 */
abstract contract EscrowBase is IGiftCertificatesTypes, IERC1155Errors {
    using CertificateId for uint256;
    using CertWord for uint256;
    using MerchantWord for uint256;

    /// @dev Currency id 0 is native ETH, always accepted.
    uint8 internal constant _ETH = 0;

    // ================================================================ certificates

    /// @dev The word of a certificate that exists.
    function _existing(GiftCertStorage.Layout storage $, uint256 id) internal view returns (uint256 word) {
        word = $.certs[id];
        if (word.owner() == address(0)) revert UnknownCertificate(id);
    }

    /// @dev The word of a certificate that waits for its claim.
    function _awaitingClaim(GiftCertStorage.Layout storage $, uint256 id) internal view returns (uint256 word) {
        word = _existing($, id);
        if (!word.has(CertWord.FLAG_AWAITING_CLAIM)) revert NotClaimable(id);
    }

    /// @dev Clears a certificate's word (gas refund).
    function _burn(GiftCertStorage.Layout storage $, uint256 id, address owner) internal {
        delete $.certs[id];
        emit IERC1155.TransferSingle(msg.sender, owner, address(0), id, 1);
    }

    /// @dev Moves certificate `id` from `from` to `to` after checking it one condition at a time,
    /// each with its error (an approved operator may move it too): the new owner and the next
    /// nonce, so no signature of the old owner survives a move. The escrow's single transfer
    /// takes this path only when its one-block fast path refuses; the module's batch transfer
    /// always takes it. Each emits its own ERC-1155 event.
    function _transferChecked(GiftCertStorage.Layout storage $, address from, address to, uint256 id, uint256 value)
        internal
    {
        uint256 slot = GiftCertStorage.certSlot($, id);
        uint256 word = GiftCertStorage.load(slot);
        _requireTransferable($, from, to, id, value, word);
        unchecked {
            GiftCertStorage.store(slot, ((word >> 160) << 160 | uint160(to)) + (1 << 232)); // nonce < max: no carry
        }
    }

    /// @dev The checks of a transfer one by one, each with its error (or an operator through).
    function _requireTransferable(
        GiftCertStorage.Layout storage $,
        address from,
        address to,
        uint256 id,
        uint256 value,
        uint256 word
    ) private view {
        if (to == address(0)) revert ERC1155InvalidReceiver(address(0));
        if (value != 1 || from == address(0) || word.owner() != from) {
            revert ERC1155InsufficientBalance(from, 0, value, id);
        }
        if (msg.sender != from && !$.operatorApprovals[from][msg.sender]) {
            revert ERC1155MissingApprovalForAll(msg.sender, from);
        }
        _requireSpendable(id, word);
        if (word.nonce() == CertWord.MAX_NONCE) revert NonceExhausted(id);
    }

    // ================================================================ checks

    /// @dev Why a certificate cannot be spent or moved now (empty when it can): open (past
    /// validFrom), not expired, not waiting for a claim and without an open payment tab. Batch settlement reports it.
    function _spendRefusal(uint256 id, uint256 word) internal view returns (bytes memory refusal) {
        if (word.owner() == address(0)) return abi.encodeWithSelector(UnknownCertificate.selector, id);
        if (word.has(CertWord.FLAG_AWAITING_CLAIM)) return abi.encodeWithSelector(AwaitingClaim.selector, id);
        if (word.has(CertWord.FLAG_TAB_OPEN)) return abi.encodeWithSelector(TabOpen.selector, id);
        uint40 validFrom = id.validFrom();
        if (block.timestamp < validFrom) return abi.encodeWithSelector(NotYetValid.selector, id, validFrom);
        uint40 expiry = id.expiry();
        if (block.timestamp >= expiry) return abi.encodeWithSelector(Expired.selector, id, expiry);
    }

    function _requireSpendable(uint256 id, uint256 word) internal view {
        if (!_spendableInline(id, word)) _revertWith(_spendRefusal(id, word));
    }

    /// @dev {_spendRefusal} as one expression for the hot path: exists, claimed, no tab open,
    /// open, unexpired.
    function _spendableInline(uint256 id, uint256 word) internal view returns (bool) {
        uint256 t = block.timestamp;
        return uint160(word) != 0 && (word >> 248) & CertWord.LOCKS == 0
            && t >= (id >> 168) & 0xffffffffff && t < (id >> 128) & 0xffffffffff;
    }

    function _requireNotExpired(uint256 id) internal view {
        uint40 expiry = id.expiry();
        if (block.timestamp >= expiry) revert Expired(id, expiry);
    }

    function _requireHolder(GiftCertStorage.Layout storage $, uint256 id, address owner) internal view {
        if (msg.sender != owner && !$.operatorApprovals[owner][msg.sender]) revert NotHolder(id, msg.sender);
    }

    function _requireNotPaused(GiftCertStorage.Layout storage $) internal view {
        if ($.config.paused) revert EnforcedPause();
    }

    /// @dev The merchant word, which must exist.
    function _knownMerchant(GiftCertStorage.Layout storage $, uint32 merchantId) internal view returns (uint256 m) {
        m = $.merchants[merchantId];
        if (m.account() == address(0)) revert UnknownMerchant(merchantId);
    }

    /// @dev The merchant word; the caller must be the merchant's own account.
    function _callerMerchant(GiftCertStorage.Layout storage $, uint32 merchantId) internal view returns (uint256 m) {
        m = _knownMerchant($, merchantId);
        if (msg.sender != m.account()) revert NotMerchant(merchantId, msg.sender);
    }

    /// @dev Reverts with `reason` (ABI-encoded custom error) unless it is empty.
    function _revertWith(bytes memory reason) internal pure {
        if (reason.length != 0) {
            assembly ("memory-safe") {
                revert(add(reason, 0x20), mload(reason))
            }
        }
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";

import {IGiftCertificates} from "../interfaces/IGiftCertificates.sol";
import {GiftCertStorage, CertWord} from "../libraries/GiftCertStorage.sol";
import {TypedDataDomain} from "../libraries/TypedDataDomain.sol";
import {CertificateLedger} from "./CertificateLedger.sol";
import {PayoutBase} from "./PayoutBase.sol";

/**
 * @title SignedHolderActions
 * @notice Re-gift, split and merge with the holder's EIP-712 signature instead of the holder's
 * transaction, so a holder with an empty wallet can act and a relayer pays the gas. The
 * signature (ECDSA or ERC-1271, see {HolderSignatures}) names the action and all its
 * arguments, the certificate's current nonce and a deadline; the domain binds it to this chain
 * and contract. The submitter chooses nothing: it can only send the action as signed, or not.
 *
 * Replay protection is the nonce of redemptions: each action here moves it on (transfer and
 * split) or burns the certificate (merge), so a signature works once and every other holder
 * signature of the same nonce (a redemption, another action) stops working with it.
 *
 * The signed cash-out is here although the holder-sent {Payouts-cashOut} is in the admin module:
 * a relayer pays for every signed action, and from the module it would cost about 2,900 gas
 * more (the module's cold code and the forwarding), on top of paying a holder who is not the
 * transaction's sender (a cold account, 2,600) and the signature (3,000 to recover, about
 * 1,400 of calldata).
 *
 * Each action applies the same rules as its holder-sent twin (pause, spendability, amounts),
 * in the same functions; only "who may act" differs: the signer must be the owner (an approved
 * operator acts with its own transactions, not by signature).
 */
abstract contract SignedHolderActions is CertificateLedger, PayoutBase, TypedDataDomain {
    using CertWord for uint256;

    bytes32 internal constant _TRANSFER_TYPEHASH =
        keccak256("Transfer(uint256 certificate,address to,uint256 nonce,uint256 deadline)");
    bytes32 internal constant _SPLIT_TYPEHASH =
        keccak256("Split(uint256 certificate,uint256 amount,address to,uint256 nonce,uint256 deadline)");
    bytes32 internal constant _MERGE_TYPEHASH =
        keccak256("Merge(uint256 from,uint256 into,uint256 nonce,uint256 deadline)");
    bytes32 internal constant _CASH_OUT_TYPEHASH =
        keccak256("CashOut(uint256 certificate,uint256 nonce,uint256 deadline)");

    /// @inheritdoc IGiftCertificates
    function transferWithAuthorization(TransferAuthorization calldata auth, bytes calldata signature) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        _requireNotPaused($);
        uint256 id = auth.certificate;
        address to = auth.to;
        if (to == address(0)) revert ERC1155InvalidReceiver(address(0));
        uint256 slot = GiftCertStorage.certSlot($, id);
        uint256 word = GiftCertStorage.load(slot);
        address owner = word.owner();
        if (owner == address(0)) revert UnknownCertificate(id);
        _requireSpendable(id, word);
        uint256 offset;
        assembly ("memory-safe") {
            offset := auth
        }
        _requireAuthorized(id, word, auth.nonce, auth.deadline, _digestOf(_TRANSFER_TYPEHASH, offset, 0x80), signature);
        (uint256 moved, bool ok) = word.withOwnerAndNextNonce(to);
        if (!ok) revert NonceExhausted(id);
        GiftCertStorage.store(slot, moved);
        emit IERC1155.TransferSingle(msg.sender, owner, to, id, 1);
        _checkReceiver(owner, to, id);
    }

    /// @inheritdoc IGiftCertificates
    function splitWithAuthorization(SplitAuthorization calldata auth, bytes calldata signature)
        external
        returns (uint256 newId)
    {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        _requireNotPaused($);
        uint256 id = auth.certificate;
        address to = auth.to;
        uint256 word = _existing($, id);
        uint256 offset;
        assembly ("memory-safe") {
            offset := auth
        }
        _requireAuthorized(id, word, auth.nonce, auth.deadline, _digestOf(_SPLIT_TYPEHASH, offset, 0xa0), signature);
        newId = _split($, id, word, auth.amount, to);
    }

    /// @inheritdoc IGiftCertificates
    function mergeWithAuthorization(MergeAuthorization calldata auth, bytes calldata signature) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        _requireNotPaused($);
        uint256 fromId = auth.from;
        uint256 intoId = auth.into;
        if (fromId == intoId || !_compatible(fromId, intoId)) revert IncompatibleCertificates(fromId, intoId);
        uint256 from = _existing($, fromId);
        uint256 into = _existing($, intoId);
        // The signer is `from`'s owner (checked with the signature); `into` must be theirs too.
        if (into.owner() != from.owner()) revert NotHolder(intoId, from.owner());
        uint256 offset;
        assembly ("memory-safe") {
            offset := auth
        }
        _requireAuthorized(fromId, from, auth.nonce, auth.deadline, _digestOf(_MERGE_TYPEHASH, offset, 0x80), signature);
        _merge($, fromId, intoId, from, into);
    }

    /// @inheritdoc IGiftCertificates
    function cashOutWithAuthorization(CashOutAuthorization calldata auth, bytes calldata signature)
        external
        nonReentrant
    {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        _requireNotPaused($);
        uint256 id = auth.certificate;
        uint256 word = _existing($, id);
        uint256 offset;
        assembly ("memory-safe") {
            offset := auth
        }
        _requireAuthorized(id, word, auth.nonce, auth.deadline, _digestOf(_CASH_OUT_TYPEHASH, offset, 0x60), signature);
        _cashOut($, id, word);
    }

    /// @dev The digest of a signed action's struct in calldata, under this escrow's domain.
    function _digestOf(bytes32 typehash, uint256 offset, uint256 size) private view returns (bytes32) {
        return _typedDigest(_domainSeparatorV4(), typehash, offset, size);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IGiftCertificates} from "../interfaces/IGiftCertificates.sol";
import {CertificateId} from "../CertificateId.sol";
import {GiftCertStorage, CertWord} from "../libraries/GiftCertStorage.sol";
import {TypedDataDomain} from "../libraries/TypedDataDomain.sol";
import {CertificateLedger} from "./CertificateLedger.sol";

/**
 * @title ClaimLinks
 * @notice Gifts sent as a link: the certificate is held by a claim key (an address whose private
 * key travels in the link after `#`) until someone claims it with that key's EIP-712 signature
 * over the recipient, chain and contract, so a copied claim cannot be redirected. No claim is
 * possible after the claim deadline; after it the buyer may take an unclaimed gift back with
 * {Payouts-reclaim}, which happens at most once per gift and so lives in the admin module.
 *
 * The claim deadline lives in the certificate word's nonce field, in days since 1970: the
 * deadline is the last second of that UTC day ({CertWord-claimDeadline}).
 */
abstract contract ClaimLinks is CertificateLedger, TypedDataDomain {
    using CertificateId for uint256;
    using CertWord for uint256;

    bytes32 internal constant _CLAIM_TYPEHASH = keccak256("Claim(uint256 certificate,address recipient)");

    /// @inheritdoc IGiftCertificates
    function issueClaimable(
        address claimKey,
        Terms calldata terms,
        uint256 amount,
        uint40 claimDeadline,
        string calldata message
    ) external payable returns (uint256 id) {
        if (claimDeadline <= block.timestamp || claimDeadline > terms.expiry) {
            revert InvalidClaimDeadline(claimDeadline);
        }
        uint256 day = claimDeadline / 1 days;
        if (day > CertWord.MAX_NONCE) revert InvalidClaimDeadline(claimDeadline);
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        id = _idOf(terms);
        uint256 flags = _beginIssue($, id) | CertWord.FLAG_AWAITING_CLAIM;
        _requireIssuable(amount);
        _requirePayment($, id.currency(), amount, msg.value);
        _mint($, claimKey, id, CertWord.pack(claimKey, amount, day, flags));
        _emitIssued(id, amount, message);
        emit ClaimLinkCreated(id, claimKey, CertWord.endOfDay(day));
        _collect($, id.currency(), amount);
    }

    /// @inheritdoc IGiftCertificates
    function claim(uint256 id, address recipient, bytes calldata signature) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        if ($.config.paused) revert EnforcedPause();
        uint256 slot = GiftCertStorage.certSlot($, id);
        uint256 word = GiftCertStorage.load(slot);
        // claimable (the flag implies the certificate exists), within its day and its expiry
        if (
            (word >> 248) & CertWord.FLAG_AWAITING_CLAIM == 0
                || block.timestamp > ((word >> 232) & CertWord.MAX_NONCE) * 1 days + 1 days - 1
                || block.timestamp >= (id >> 128) & 0xffffffffff || recipient == address(0)
        ) _requireClaimable($, id, recipient);
        address claimKey = address(uint160(word));
        // The claim key is a plain key made for the link: 65-byte ECDSA only (high-s refused).
        if (signature.length != 65 || _recover65(_claimDigest(id, recipient), signature) != claimKey) {
            revert InvalidSignature();
        }
        // recipient as owner, nonce 0 (it held the deadline), the claim flag cleared
        GiftCertStorage.store(
            slot, (word & (CertWord.MAX_BALANCE << 160 | (CertWord.FLAG_CONTRACT_BUYER << 248))) | uint160(recipient)
        );
        emit IERC1155.TransferSingle(msg.sender, claimKey, recipient, id, 1);
        _checkReceiver(claimKey, recipient, id);
    }

    /// @dev EIP-712 digest of Claim(certificate, recipient) on this chain and contract.
    function _claimDigest(uint256 id, address recipient) private view returns (bytes32 digest) {
        bytes32 separator = _domainSeparatorV4();
        bytes32 typehash = _CLAIM_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typehash)
            mstore(add(m, 0x20), id)
            mstore(add(m, 0x40), recipient)
            let structHash := keccak256(m, 0x60)
            mstore(0x00, 0x1901)
            mstore(0x20, separator)
            mstore(0x40, structHash)
            digest := keccak256(0x1e, 0x42)
            mstore(0x40, m)
        }
    }

    /// @dev A claim's checks one by one, each with its error.
    function _requireClaimable(GiftCertStorage.Layout storage $, uint256 id, address recipient) private view {
        uint40 deadline = _awaitingClaim($, id).claimDeadline();
        if (block.timestamp > deadline) revert ClaimWindowClosed(id, deadline);
        _requireNotExpired(id);
        if (recipient == address(0)) revert ERC1155InvalidReceiver(address(0));
    }
}

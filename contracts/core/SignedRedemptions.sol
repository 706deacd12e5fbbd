// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IGiftCertificates} from "../interfaces/IGiftCertificates.sol";
import {CertificateId} from "../CertificateId.sol";
import {GiftCertStorage, CertWord, MerchantWord} from "../libraries/GiftCertStorage.sol";
import {TypedDataDomain} from "../libraries/TypedDataDomain.sol";
import {CertificateLedger} from "./CertificateLedger.sol";

/**
 * @title SignedRedemptions
 * @notice Paying at the merchant: sent by the holder, or signed by the holder (EIP-712, ECDSA or
 * ERC-1271) and submitted by the merchant, alone or in a batch.
 *
 * Replay protection is the certificate's nonce, inside the certificate's word: only the holder's
 * own actions move it, so nobody else can void a holder's authorisation or sink a batch. The
 * merchant's order reference is data in the {Redeemed} event (the index answers "was order X
 * paid"). A batch settles every valid item and reports each refused one with the same revert
 * data the item would raise alone, unless the merchant asks for all or nothing.
 */
abstract contract SignedRedemptions is CertificateLedger, TypedDataDomain {
    using CertificateId for uint256;
    using CertWord for uint256;
    using MerchantWord for uint256;

    bytes32 private constant _REDEEMED = keccak256("Redeemed(uint256,uint256,uint256)");

    bytes32 internal constant _REDEMPTION_TYPEHASH = keccak256(
        "Redemption(uint256 certificate,uint32 merchant,uint256 amount,uint256 orderRef,uint256 nonce,uint256 deadline)"
    );

    /// @inheritdoc IGiftCertificates
    function redeem(uint256 id, uint256 amount, uint256 orderRef) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        if ($.config.paused) revert EnforcedPause();
        uint256 slot = GiftCertStorage.certSlot($, id);
        uint256 word = GiftCertStorage.load(slot);
        uint32 merchantId = uint32(id >> 224);
        uint256 mSlot = GiftCertStorage.merchantSlot($, merchantId);
        uint256 m = GiftCertStorage.load(mSlot);
        bool usual;
        // The usual case at once: sent by the owner, open, unexpired, claimed, 0 < amount <=
        // balance, merchant active. Anything else takes the checks below, which name the reason
        // (or let an approved operator through).
        assembly ("memory-safe") {
            let t := timestamp()
            usual := and(
                and(eq(and(word, 0xffffffffffffffffffffffffffffffffffffffff), caller()), iszero(and(shr(248, word), 5))),
                and(
                    and(iszero(lt(t, and(shr(168, id), 0xffffffffff))), lt(t, and(shr(128, id), 0xffffffffff))),
                    and(
                        and(gt(amount, 0), iszero(gt(amount, and(shr(160, word), 0xffffffffffffffffff)))),
                        and(shr(248, m), 1)
                    )
                )
            )
        }
        if (!usual) _requireRedeemable($, id, word, amount);
        unchecked {
            GiftCertStorage.store(slot, word - (amount << 160)); // amount <= balance: no borrow
        }
        _credit(merchantId, mSlot, m, uint8(id >> 216), amount);
        emit Redeemed(id, orderRef, amount);
        emit MetadataUpdate(id);
    }

    /// @dev The holder-sent redemption's checks, one by one, each with its error.
    function _requireRedeemable(GiftCertStorage.Layout storage $, uint256 id, uint256 word, uint256 amount)
        private
        view
    {
        if (word.owner() == address(0)) revert UnknownCertificate(id);
        _requireHolder($, id, word.owner());
        _requireSpendable(id, word);
        uint256 balance = word.balance();
        if (amount == 0) revert ZeroAmount();
        if (amount > balance) revert InsufficientBalance(id, balance, amount);
        uint32 merchantId = id.merchant();
        if (!_knownMerchant($, merchantId).active()) revert MerchantInactive(merchantId);
    }

    /// @inheritdoc IGiftCertificates
    function redeemWithAuthorization(Redemption calldata auth, bytes calldata signature) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        if ($.config.paused) revert EnforcedPause();
        uint32 merchantId;
        assembly ("memory-safe") {
            // unvalidated: dirty high bits differ from the full word _applySigned compares
            merchantId := and(calldataload(add(auth, 0x20)), 0xffffffff)
        }
        uint256 mSlot = GiftCertStorage.merchantSlot($, merchantId);
        uint256 m = GiftCertStorage.load(mSlot);
        // The caller is the merchant's active account (else the precise reason).
        if (address(uint160(m)) != msg.sender || !m.active()) _activeCallerMerchant($, merchantId);
        bytes memory refusal = _applySigned(auth, signature, merchantId);
        if (refusal.length != 0) _revertWith(refusal);
        uint256 id = auth.certificate;
        uint256 amount = auth.amount;
        bytes32 metadataUpdate = _METADATA_UPDATE;
        assembly ("memory-safe") {
            mstore(0x00, id)
            log1(0x00, 0x20, metadataUpdate) // emit MetadataUpdate(id)
        }
        _credit(merchantId, mSlot, m, uint8(id >> 216), amount);
        assembly ("memory-safe") {
            stop() // nothing to return: skips the return path's stack cleanup (about 25 gas)
        }
    }

    /// @inheritdoc IGiftCertificates
    function settleBatch(uint32 merchantId, Redemption[] calldata auths, bytes[] calldata signatures, bool allOrNothing)
        external
        returns (uint256 settled)
    {
        _requireNotPaused(GiftCertStorage.layout());
        if (auths.length == 0) revert EmptyBatch();
        if (auths.length != signatures.length) revert LengthMismatch();
        uint256 mSlot = _callerMerchantSlot(merchantId);
        uint256 ethTotal;
        for (uint256 i; i < auths.length; ++i) {
            Redemption calldata auth;
            assembly ("memory-safe") {
                auth := add(auths.offset, mul(i, 0xc0)) // i < auths.length: the loop's bound
            }
            bytes memory refusal = _applySigned(auth, _signatureAt(signatures, i), merchantId);
            uint256 id;
            uint256 amount;
            assembly ("memory-safe") {
                id := calldataload(auth)
                amount := calldataload(add(auth, 0x40))
            }
            if (refusal.length != 0) {
                if (allOrNothing) _revertWith(refusal);
                emit RedemptionRefused(i, id, refusal);
                continue;
            }
            uint8 currencyId = uint8(id >> 216); // CertificateId.currency, inline in the loop
            unchecked {
                ++settled;
                // each amount <= 2^72 (it fit a balance), so n items sum far below 2^256
                if (currencyId == _ETH) ethTotal += amount;
            }
            if (currencyId != _ETH) _credit(merchantId, mSlot, 0, currencyId, amount); // token ledger
        }
        // One write of the merchant word for all ETH items, one metadata event for all items.
        if (ethTotal != 0) _credit(merchantId, mSlot, GiftCertStorage.load(mSlot), _ETH, ethTotal);
        if (settled != 0) {
            emit BatchMetadataUpdate(uint256(merchantId) << 224, ((uint256(merchantId) + 1) << 224) - 1);
        }
    }

    /// @dev The i-th signature, sliced without the decoder's bounds checks: the merchant who
    /// sends the batch is the only one a malformed encoding can hurt (bytes past the end of
    /// calldata read as zero, which no signature matches).
    // Offset and length are two halves of one slice, not two writes of one value:
    // slither-disable-next-line write-after-write
    function _signatureAt(bytes[] calldata signatures, uint256 i) internal pure returns (bytes calldata signature) {
        assembly ("memory-safe") {
            let at := add(signatures.offset, calldataload(add(signatures.offset, shl(5, i))))
            signature.length := calldataload(at)
            signature.offset := add(at, 0x20)
        }
    }

    // ================================================================ internals

    /// @dev Verifies one authorisation and debits the certificate (the merchant's credit is the
    /// caller's). Returns why it was refused, as the revert data of a custom error, or nothing.
    /// The hot path reads the packed word inline; any failed check takes {_termsRefusal}, which
    /// names the reason.
    function _applySigned(Redemption calldata auth, bytes calldata signature, uint32 merchantId)
        private
        returns (bytes memory refusal)
    {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        // The six static words, read once and unvalidated: a value with dirty bits fails a
        // comparison below or the signature (which hashes the same words), never passes.
        uint256 id;
        uint256 amount;
        assembly ("memory-safe") {
            id := calldataload(auth)
            amount := calldataload(add(auth, 0x40))
        }
        uint256 slot = GiftCertStorage.certSlot($, id);
        uint256 word = GiftCertStorage.load(slot);
        bool refused;
        // Every check of {_termsRefusal} at once, without branches (bit layout in GiftCertStorage):
        // merchant, deadline, exists, claimed, open, unexpired, amount, nonce, nonce not spent.
        assembly ("memory-safe") {
            let merchant := calldataload(add(auth, 0x20))
            let authNonce := calldataload(add(auth, 0x80))
            let deadline := calldataload(add(auth, 0xa0))
            let t := timestamp()
            let nonce := and(shr(232, word), 0xffff)
            refused := or(
                or(or(iszero(eq(merchant, merchantId)), iszero(eq(shr(224, id), merchantId))), gt(t, deadline)),
                or(
                    or(iszero(and(word, 0xffffffffffffffffffffffffffffffffffffffff)), and(shr(248, word), 5)),
                    or(lt(t, and(shr(168, id), 0xffffffffff)), iszero(lt(t, and(shr(128, id), 0xffffffffff))))
                )
            )
            refused := or(
                refused,
                or(
                    or(iszero(amount), gt(amount, and(shr(160, word), 0xffffffffffffffffff))),
                    or(iszero(eq(authNonce, nonce)), eq(nonce, 0xffff))
                )
            )
        }
        if (refused) {
            (refusal,) = _termsRefusal($, auth, merchantId);
            if (refusal.length == 0) refusal = abi.encodeWithSelector(NonceExhausted.selector, id);
            return refusal;
        }
        // The usual holder's 65-byte ECDSA signature at once; anything else (EIP-2098, ERC-1271,
        // a wrong key) takes {_isValidOtherSignature}.
        address signer = address(uint160(word));
        bytes32 digest = _redemptionDigest(auth);
        if (signature.length != 65 || _recover65(digest, signature) != signer) {
            if (!_isValidOtherSignature(signer, digest, signature)) {
                return abi.encodeWithSelector(InvalidSignature.selector);
            }
        }
        unchecked {
            // balance >= amount and nonce < MAX_NONCE (checked above): no borrow or carry
            // crosses a field.
            GiftCertStorage.store(slot, word - (amount << 160) + (1 << 232));
        }
        bytes32 redeemed = _REDEEMED;
        assembly ("memory-safe") {
            // emit Redeemed(id, orderRef, amount), the order reference straight from calldata
            mstore(0x00, calldataload(add(auth, 0x60)))
            mstore(0x20, amount)
            log2(0x00, 0x40, redeemed, id)
        }
    }

    /// @dev Everything but the signature: merchant, deadline, certificate state, amount, nonce.
    function _termsRefusal(GiftCertStorage.Layout storage $, Redemption calldata auth, uint32 merchantId)
        private
        view
        returns (bytes memory refusal, uint256 word)
    {
        uint256 id = auth.certificate;
        if (auth.merchant != merchantId || id.merchant() != merchantId) {
            return (abi.encodeWithSelector(WrongMerchant.selector, id, auth.merchant), 0);
        }
        if (block.timestamp > auth.deadline) {
            return (abi.encodeWithSelector(AuthorizationExpired.selector, auth.deadline), 0);
        }
        word = $.certs[id];
        refusal = _spendRefusal(id, word); // an unknown certificate first
        if (refusal.length != 0) return (refusal, 0);
        uint256 balance = word.balance();
        if (auth.amount == 0) return (abi.encodeWithSelector(ZeroAmount.selector), 0);
        if (auth.amount > balance) {
            return (abi.encodeWithSelector(InsufficientBalance.selector, id, balance, auth.amount), 0);
        }
        if (auth.nonce != word.nonce()) {
            return (abi.encodeWithSelector(WrongNonce.selector, id, word.nonce(), auth.nonce), 0);
        }
    }

    /// @dev The EIP-712 digest of an authorisation: hashStruct over the six static words as
    /// they are in calldata (a field with dirty high bits hashes differently and so fails the
    /// signature check), then "\x19\x01" || domainSeparator || structHash.
    function _redemptionDigest(Redemption calldata auth) private view returns (bytes32 digest) {
        bytes32 separator = _domainSeparatorV4();
        bytes32 typehash = _REDEMPTION_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typehash)
            calldatacopy(add(m, 0x20), auth, 0xc0)
            let structHash := keccak256(m, 0xe0)
            mstore(0x00, 0x1901)
            mstore(0x20, separator)
            mstore(0x40, structHash)
            digest := keccak256(0x1e, 0x42)
            mstore(0x40, m)
        }
    }

    /// @dev Credits redeemed value to the merchant: ETH into its word `m` at `mSlot` (as read
    /// by the caller), a token into its ledger. Every sum is checked: a credit that would not
    /// fit reverts instead of wrapping.
    function _credit(uint32 merchantId, uint256 mSlot, uint256 m, uint8 currencyId, uint256 amount) internal {
        // `amount` is below 2^72 for one redemption and below 2^72 times the batch length for a
        // batch's ETH total, and what is owed is below 2^128: the sums are far from 2^256, so
        // they need no overflow check of their own; the comparisons with the fields' limits
        // are the checks.
        unchecked {
            if (currencyId == _ETH) {
                uint256 owed = m.owedEth() + amount;
                if (owed > MerchantWord.MAX_OWED_ETH) revert AmountTooLarge(owed);
                GiftCertStorage.store(mSlot, m + (amount << 160)); // owed fits 88 bits: no carry
            } else {
                GiftCertStorage.Ledger storage ledger = GiftCertStorage.layout().ledgers[merchantId][currencyId];
                uint256 owed = ledger.owed + amount;
                if (owed > type(uint128).max) revert AmountTooLarge(owed);
                ledger.owed = uint128(owed);
            }
        }
    }

    /// @dev The slot of the merchant word; the caller must be the merchant's active account
    /// (else the precise reason). redeemWithAuthorization makes the same check inline, as it
    /// needs the word too (a call here costs that hot path 114 gas).
    function _callerMerchantSlot(uint32 merchantId) internal view returns (uint256 mSlot) {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        mSlot = GiftCertStorage.merchantSlot($, merchantId);
        uint256 m = GiftCertStorage.load(mSlot);
        if (address(uint160(m)) != msg.sender || !m.active()) _activeCallerMerchant($, merchantId);
    }

    function _activeCallerMerchant(GiftCertStorage.Layout storage $, uint32 merchantId) private view returns (uint256 m) {
        m = _callerMerchant($, merchantId);
        if (!m.active()) revert MerchantInactive(merchantId);
    }
}

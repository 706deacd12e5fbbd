// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IGiftCertificates} from "../interfaces/IGiftCertificates.sol";
import {CertificateId} from "../CertificateId.sol";
import {GiftCertStorage, CertWord, MerchantWord} from "../libraries/GiftCertStorage.sol";
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
abstract contract SignedRedemptions is CertificateLedger, EIP712 {
    using CertificateId for uint256;
    using CertWord for uint256;
    using MerchantWord for uint256;

    bytes32 internal constant _REDEMPTION_TYPEHASH = keccak256(
        "Redemption(uint256 certificate,uint32 merchant,uint256 amount,uint256 orderRef,uint256 nonce,uint256 deadline)"
    );

    /// @dev Gas an ERC-1271 wallet may use to answer: enough for multisigs and passkey
    /// verification in Solidity (~200k), bounded so a wallet that burns gas when mined costs
    /// its item at most this much.
    uint256 internal constant _ERC1271_GAS = 250_000;

    /// @inheritdoc IGiftCertificates
    function redeem(uint256 id, uint256 amount, uint256 orderRef) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        _requireNotPaused($);
        uint256 word = _existing($, id);
        _requireHolder($, id, word.owner());
        _requireSpendable(id, word);
        uint256 balance = word.balance();
        if (amount == 0) revert ZeroAmount();
        if (amount > balance) revert InsufficientBalance(id, balance, amount);
        uint32 merchantId = id.merchant();
        uint256 m = _knownMerchant($, merchantId);
        if (!m.active()) revert MerchantInactive(merchantId);
        $.certs[id] = word.withBalance(balance - amount);
        _credit($, merchantId, m, id.currency(), amount);
        emit Redeemed(id, merchantId, orderRef, amount);
        emit MetadataUpdate(id);
    }

    /// @inheritdoc IGiftCertificates
    function redeemWithAuthorization(Redemption calldata auth, bytes calldata signature) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        _requireNotPaused($);
        uint256 m = _activeCallerMerchant($, auth.merchant);
        _revertWith(_applySigned(auth, signature, auth.merchant));
        _credit($, auth.merchant, m, auth.certificate.currency(), auth.amount);
    }

    /// @inheritdoc IGiftCertificates
    function settleBatch(uint32 merchantId, Redemption[] calldata auths, bytes[] calldata signatures, bool allOrNothing)
        external
        returns (uint256 settled)
    {
        _requireNotPaused(GiftCertStorage.layout());
        if (auths.length == 0) revert EmptyBatch();
        if (auths.length != signatures.length) revert LengthMismatch();
        _activeCallerMerchant(GiftCertStorage.layout(), merchantId);
        uint256 ethTotal;
        for (uint256 i; i < auths.length; ++i) {
            bytes memory refusal = _applySigned(auths[i], signatures[i], merchantId);
            if (refusal.length != 0) {
                if (allOrNothing) _revertWith(refusal);
                emit RedemptionRefused(i, auths[i].certificate, refusal);
                continue;
            }
            ++settled;
            uint8 currencyId = auths[i].certificate.currency();
            if (currencyId == _ETH) ethTotal += auths[i].amount;
            else _creditMerchant(merchantId, currencyId, auths[i].amount);
        }
        // One write of the merchant word for all ETH items.
        if (ethTotal != 0) _creditMerchant(merchantId, _ETH, ethTotal);
    }

    /// @inheritdoc IGiftCertificates
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ================================================================ internals

    /// @dev Verifies one authorisation and debits the certificate (the merchant's credit is the
    /// caller's). Returns why it was refused, as the revert data of a custom error, or nothing.
    function _applySigned(Redemption calldata auth, bytes calldata signature, uint32 merchantId)
        private
        returns (bytes memory refusal)
    {
        uint256 word;
        (refusal, word) = _termsRefusal(GiftCertStorage.layout(), auth, merchantId);
        if (refusal.length != 0) return refusal;
        if (!_isValidSignature(word.owner(), _redemptionDigest(auth), signature)) {
            return abi.encodeWithSelector(InvalidSignature.selector);
        }
        (uint256 next, bool ok) = word.withBalance(word.balance() - auth.amount).withOwnerAndNextNonce(word.owner());
        if (!ok) return abi.encodeWithSelector(NonceExhausted.selector, auth.certificate);
        GiftCertStorage.layout().certs[auth.certificate] = next;
        emit Redeemed(auth.certificate, merchantId, auth.orderRef, auth.amount);
        emit MetadataUpdate(auth.certificate);
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
        if (word.owner() == address(0)) return (abi.encodeWithSelector(UnknownCertificate.selector, id), 0);
        refusal = _spendRefusal(id, word);
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

    /// @dev The EIP-712 digest of an authorisation (its merchant and nonce checked by the caller).
    function _redemptionDigest(Redemption calldata auth) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    _REDEMPTION_TYPEHASH,
                    auth.certificate,
                    auth.merchant,
                    auth.amount,
                    auth.orderRef,
                    auth.nonce,
                    auth.deadline
                )
            )
        );
    }

    /// @dev Credits redeemed value to the merchant (`m` is its word as read). Every sum is
    /// checked: a credit that would not fit reverts instead of wrapping.
    function _credit(GiftCertStorage.Layout storage $, uint32 merchantId, uint256 m, uint8 currencyId, uint256 amount)
        private
    {
        if (currencyId == _ETH) {
            uint256 owed = m.owedEth() + amount;
            if (owed > MerchantWord.MAX_OWED_ETH) revert AmountTooLarge(owed);
            $.merchants[merchantId] = m.withOwedEth(owed);
        } else {
            GiftCertStorage.Ledger storage ledger = $.ledgers[merchantId][currencyId];
            uint256 owed = ledger.owed + amount;
            if (owed > type(uint128).max) revert AmountTooLarge(owed);
            ledger.owed = uint128(owed);
        }
    }

    /// @dev {_credit} reading the merchant word itself (batch settlement).
    function _creditMerchant(uint32 merchantId, uint8 currencyId, uint256 amount) private {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        _credit($, merchantId, $.merchants[merchantId], currencyId, amount);
    }

    function _activeCallerMerchant(GiftCertStorage.Layout storage $, uint32 merchantId) private view returns (uint256 m) {
        m = _callerMerchant($, merchantId);
        if (!m.active()) revert MerchantInactive(merchantId);
    }

    /// @dev ECDSA first (cheap for the usual EOA holder; high-s and malformed signatures are
    /// refused), then ERC-1271 for contract wallets with a gas cap and a 32-byte answer.
    function _isValidSignature(address signer, bytes32 digest, bytes calldata signature) internal view returns (bool) {
        // The third value only details a malformed signature, which is simply invalid here.
        // slither-disable-next-line unused-return
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == signer) return true;
        if (signer.code.length == 0) return false;
        bytes memory query = abi.encodeCall(IERC1271.isValidSignature, (digest, signature));
        bool valid;
        assembly ("memory-safe") {
            mstore(0x00, 0)
            let success := staticcall(_ERC1271_GAS, signer, add(query, 0x20), mload(query), 0x00, 0x20)
            valid := and(success, and(gt(returndatasize(), 0x1f), eq(mload(0x00), shl(224, 0x1626ba7e))))
        }
        return valid;
    }
}

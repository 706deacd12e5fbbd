// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IGiftCertificates} from "../interfaces/IGiftCertificates.sol";
import {GiftCertStorage, CertWord, TabWord} from "../libraries/GiftCertStorage.sol";
import {SignedRedemptions} from "./SignedRedemptions.sol";

/**
 * @title TabSettlement
 * @notice Payment tabs, the merchant's side: collecting the holder's latest voucher. A tab keeps
 * every purchase off chain: the holder signs `Voucher(certificate, epoch, cumulative)`, the
 * running total of the current epoch, and the merchant keeps only the latest one and settles
 * it when it likes, alone or many tabs in one transaction. A settle debits the total and moves
 * the epoch (the certificate's nonce) on, so every older voucher is void; only the merchant can
 * settle (if anyone could, the holder could settle an old small voucher to void the latest).
 *
 * The tab's state is in the certificate's word (flag TAB_OPEN, the nonce as epoch), so the
 * rules cost the hot paths nothing: every holder action already refuses a locked word. The
 * opening, close request and close are rare and live in the admin module ({TabAccounts}).
 *
 * Settling is never paused: a pause would otherwise let a close delay or an expiry grace run
 * out while the merchant cannot collect what the holder signed.
 */
abstract contract TabSettlement is SignedRedemptions {
    using CertWord for uint256;

    bytes32 internal constant _VOUCHER_TYPEHASH =
        keccak256("Voucher(uint256 certificate,uint256 epoch,uint256 cumulative)");
    bytes32 private constant _TAB_SETTLED = keccak256("TabSettled(uint256,uint256,uint256)");

    /// @inheritdoc IGiftCertificates
    function settleTabs(uint32 merchantId, Voucher[] calldata vouchers, bytes[] calldata signatures)
        external
        returns (uint256 collected)
    {
        if (vouchers.length == 0) revert EmptyBatch();
        if (vouchers.length != signatures.length) revert LengthMismatch();
        uint256 mSlot = _callerMerchantSlot(merchantId);
        uint256 ethTotal;
        for (uint256 i; i < vouchers.length; ++i) {
            uint256 offset;
            assembly ("memory-safe") {
                offset := add(vouchers.offset, mul(i, 0x60)) // i < vouchers.length: the bound
            }
            bytes memory refusal = _settleOne(offset, _signatureAt(signatures, i), merchantId);
            uint256 id;
            uint256 amount;
            assembly ("memory-safe") {
                id := calldataload(offset)
                amount := calldataload(add(offset, 0x40))
            }
            if (refusal.length != 0) {
                emit RedemptionRefused(i, id, refusal);
                continue;
            }
            uint8 currencyId = uint8(id >> 216);
            unchecked {
                ++collected;
                if (currencyId == _ETH) ethTotal += amount; // each < 2^72: no overflow
            }
            if (currencyId != _ETH) _credit(merchantId, mSlot, 0, currencyId, amount);
        }
        if (ethTotal != 0) _credit(merchantId, mSlot, GiftCertStorage.load(mSlot), _ETH, ethTotal);
        if (collected != 0) {
            emit BatchMetadataUpdate(uint256(merchantId) << 224, ((uint256(merchantId) + 1) << 224) - 1);
        }
    }

    /// @dev Checks one voucher (at calldata `offset`) and debits its certificate; returns why
    /// it was refused (the revert data of a custom error), or nothing.
    function _settleOne(uint256 offset, bytes calldata signature, uint32 merchantId)
        private
        returns (bytes memory)
    {
        uint256 id;
        uint256 amount;
        uint256 epoch;
        assembly ("memory-safe") {
            id := calldataload(offset)
            epoch := calldataload(add(offset, 0x20))
            amount := calldataload(add(offset, 0x40))
        }
        uint256 slot = GiftCertStorage.certSlot(GiftCertStorage.layout(), id);
        uint256 word = GiftCertStorage.load(slot);
        if (!_voucherUsual(id, epoch, amount, word, merchantId)) {
            return _voucherRefusal(id, epoch, amount, word, merchantId);
        }
        bytes32 digest = _typedDigest(_domainSeparatorV4(), _VOUCHER_TYPEHASH, offset, 0x60);
        if (signature.length != 65 || _recover65(digest, signature) != _tabSigner(id, word)) {
            return abi.encodeWithSelector(InvalidSignature.selector);
        }
        unchecked {
            // amount <= balance and nonce < max (checked): no borrow or carry crosses a field
            GiftCertStorage.store(slot, word - (amount << 160) + (1 << 232));
        }
        bytes32 settled = _TAB_SETTLED;
        assembly ("memory-safe") {
            // emit TabSettled(id, epoch, amount)
            mstore(0x00, epoch)
            mstore(0x20, amount)
            log2(0x00, 0x40, settled, id)
        }
        return "";
    }

    /// @dev Every check of {_voucherRefusal} at once: the merchant's certificate, a tab open, the
    /// current epoch (with room to move on), 0 < amount <= balance, before expiry + grace.
    function _voucherUsual(uint256 id, uint256 epoch, uint256 amount, uint256 word, uint32 merchantId)
        private
        view
        returns (bool usual)
    {
        uint256 grace = TabWord.GRACE;
        assembly ("memory-safe") {
            let nonce := and(shr(232, word), 0xffff)
            usual := and(
                and(eq(shr(224, id), merchantId), and(shr(250, word), 1)), // FLAG_TAB_OPEN is bit 2
                and(
                    and(eq(epoch, nonce), lt(nonce, 0xffff)),
                    and(
                        and(gt(amount, 0), iszero(gt(amount, and(shr(160, word), 0xffffffffffffffffff)))),
                        lt(timestamp(), add(and(shr(128, id), 0xffffffffff), grace))
                    )
                )
            )
        }
    }

    /// @dev Who signs the tab's vouchers: the owner's key, or the session key registered when
    /// the tab opened (ECDSA only: a contract wallet could revoke an ERC-1271 signature before
    /// the merchant settles it).
    function _tabSigner(uint256 id, uint256 word) private view returns (address) {
        if (!word.has(CertWord.FLAG_TAB_SESSION_KEY)) return word.owner();
        return TabWord.sessionKey(GiftCertStorage.layout().tabs[id]);
    }

    /// @dev Why a voucher cannot be settled, one check at a time.
    function _voucherRefusal(uint256 id, uint256 epoch, uint256 amount, uint256 word, uint32 merchantId)
        private
        view
        returns (bytes memory)
    {
        if (uint32(id >> 224) != merchantId) return abi.encodeWithSelector(WrongMerchant.selector, id, merchantId);
        if (!word.has(CertWord.FLAG_TAB_OPEN)) return abi.encodeWithSelector(TabNotOpen.selector, id);
        if (epoch != word.nonce()) return abi.encodeWithSelector(WrongEpoch.selector, id, word.nonce(), epoch);
        if (word.nonce() == CertWord.MAX_NONCE) return abi.encodeWithSelector(NonceExhausted.selector, id);
        if (amount == 0) return abi.encodeWithSelector(ZeroAmount.selector);
        if (amount > word.balance()) {
            return abi.encodeWithSelector(InsufficientBalance.selector, id, word.balance(), amount);
        }
        uint40 until = uint40((id >> 128) & 0xffffffffff) + TabWord.GRACE;
        return abi.encodeWithSelector(TabSettleEnded.selector, id, until);
    }
}

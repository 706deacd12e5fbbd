// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IGiftCertificatesAdmin} from "../interfaces/IGiftCertificates.sol";
import {CertificateId} from "../CertificateId.sol";
import {GiftCertStorage, CertWord, MerchantWord, TabWord} from "../libraries/GiftCertStorage.sol";
import {GiftCertDomain} from "../libraries/GiftCertDomain.sol";
import {HolderSignatures} from "./HolderSignatures.sol";

/**
 * @title TabAccounts
 * @notice Payment tabs, the holder's side, in the admin module: opening a tab, asking to close
 * it and closing it, and the view a merchant checks before serving. The merchant's settle is a
 * hot path in the escrow ({TabSettlement}).
 *
 * While a tab is open the certificate's value leaves only by the merchant's settle: transfer,
 * split, merge out of it, cash-out, redemptions and signed actions all refuse it (TabOpen);
 * top-ups and merges into it are allowed. Leaving: the holder asks to close, the merchant has
 * {TabWord-CLOSE_DELAY} to settle the latest voucher, then the holder closes. The merchant can
 * close at once (by its own transaction, or by signing a TabRelease the holder submits). Every
 * close moves the epoch on, so no voucher of the tab outlives it.
 */
abstract contract TabAccounts is IGiftCertificatesAdmin, HolderSignatures {
    using CertificateId for uint256;
    using CertWord for uint256;
    using MerchantWord for uint256;
    using TabWord for uint256;

    bytes32 internal constant _TAB_RELEASE_TYPEHASH = keccak256("TabRelease(uint256 certificate,uint256 epoch)");
    uint256 private constant _TAB_FLAGS = (CertWord.FLAG_TAB_OPEN | CertWord.FLAG_TAB_SESSION_KEY) << 248;

    /// @inheritdoc IGiftCertificatesAdmin
    function openTab(uint256 id, address sessionKey) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        _requireNotPaused($);
        uint256 word = _existing($, id);
        if (msg.sender != word.owner()) revert NotHolder(id, msg.sender);
        _requireSpendable(id, word); // claimed, no tab open already, open, unexpired
        // A new epoch: every signature the holder made before (payments, actions) is void, so
        // nothing but a voucher of this tab can take value from here on.
        // The tab needs an epoch it can settle in, and a settle needs room to move it on.
        (uint256 next, bool ok) = word.withOwnerAndNextNonce(word.owner());
        if (!ok || next.nonce() == CertWord.MAX_NONCE) revert NonceExhausted(id);
        uint256 flags = CertWord.FLAG_TAB_OPEN;
        if (sessionKey != address(0)) {
            flags |= CertWord.FLAG_TAB_SESSION_KEY;
            $.tabs[id] = uint160(sessionKey);
        }
        $.certs[id] = next | (flags << 248);
        emit TabOpened(id, next.nonce(), sessionKey);
        emit MetadataUpdate(id);
    }

    /// @inheritdoc IGiftCertificatesAdmin
    function requestTabClose(uint256 id) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint256 word = _openTab($, id);
        if (msg.sender != word.owner()) revert NotHolder(id, msg.sender);
        uint256 tabWord = $.tabs[id];
        if (tabWord.closeAt() != 0) revert TabCloseAlreadyRequested(id, tabWord.closeAt());
        uint40 closeAt = uint40(block.timestamp) + TabWord.CLOSE_DELAY;
        $.tabs[id] = tabWord.withCloseAt(closeAt);
        emit TabCloseRequested(id, closeAt);
    }

    /// @inheritdoc IGiftCertificatesAdmin
    function closeTab(uint256 id) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint256 word = _openTab($, id);
        if (msg.sender != _knownMerchant($, id.merchant()).account()) {
            if (msg.sender != word.owner()) revert NotHolder(id, msg.sender);
            uint40 closeAt = $.tabs[id].closeAt();
            if (closeAt == 0) revert TabCloseNotRequested(id);
            if (block.timestamp < closeAt) revert TabCloseDelay(id, closeAt);
        }
        _close($, id, word);
    }

    /// @inheritdoc IGiftCertificatesAdmin
    function closeTabWithRelease(uint256 id, bytes calldata merchantSignature) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint256 word = _openTab($, id);
        if (msg.sender != word.owner()) revert NotHolder(id, msg.sender);
        bytes32 structHash = keccak256(abi.encode(_TAB_RELEASE_TYPEHASH, id, word.nonce()));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", GiftCertDomain.separator(address(this)), structHash));
        address account = _knownMerchant($, id.merchant()).account();
        if (!_isSignedBy(account, digest, merchantSignature)) revert InvalidSignature();
        _close($, id, word);
    }

    /// @inheritdoc IGiftCertificatesAdmin
    function tab(uint256 id) external view returns (TabView memory view_) {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint256 word = $.certs[id];
        if (word.owner() == address(0)) revert UnknownCertificate(id);
        bool open = word.has(CertWord.FLAG_TAB_OPEN);
        uint256 tabWord = open ? $.tabs[id] : 0;
        view_ = TabView({
            open: open,
            epoch: open ? word.nonce() : 0,
            balance: word.balance(),
            signer: word.has(CertWord.FLAG_TAB_SESSION_KEY) ? tabWord.sessionKey() : word.owner(),
            closeAt: tabWord.closeAt(),
            settleUntil: id.expiry() + TabWord.GRACE
        });
    }

    /// @dev The word of a certificate with an open tab.
    function _openTab(GiftCertStorage.Layout storage $, uint256 id) private view returns (uint256 word) {
        word = _existing($, id);
        if (!word.has(CertWord.FLAG_TAB_OPEN)) revert TabNotOpen(id);
    }

    /// @dev Clears the tab: the flags off, the tab's word deleted, the epoch moved on (at the
    /// last nonce it stays: no signature of any kind is accepted there).
    function _close(GiftCertStorage.Layout storage $, uint256 id, uint256 word) private {
        uint256 cleared = word & ~_TAB_FLAGS;
        (uint256 next, bool ok) = cleared.withOwnerAndNextNonce(word.owner());
        $.certs[id] = ok ? next : cleared;
        delete $.tabs[id];
        emit TabClosed(id, (ok ? next : cleared).nonce());
        emit MetadataUpdate(id);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IGiftCertificatesAdmin} from "../interfaces/IGiftCertificates.sol";
import {CertificateId} from "../CertificateId.sol";
import {GiftCertStorage, CertWord, MerchantWord, TabWord} from "../libraries/GiftCertStorage.sol";
import {GiftCertDomain} from "../libraries/GiftCertDomain.sol";
import {HolderSignatures} from "./HolderSignatures.sol";
import {Issuance} from "./Issuance.sol";

/**
 * @title TabAccounts
 * @notice Payment tabs, the holder's side, in the admin module: opening a tab (on a certificate
 * the holder has, or on one the caller buys for itself, open from its first word), asking to
 * close it and closing it, and the view a merchant checks before serving. The merchant's settle is a
 * hot path in the escrow ({TabSettlement}).
 *
 * While a tab is open the certificate's value leaves only by the merchant's settle: transfer,
 * split, merge out of it, cash-out, redemptions and signed actions all refuse it (TabOpen);
 * top-ups and merges into it are allowed. Leaving: the holder asks to close, the merchant has
 * {TabWord-CLOSE_DELAY} to settle the latest voucher, then the holder closes. The merchant can
 * close at once (by its own transaction, or by signing a TabRelease the holder submits). Every
 * close moves the epoch on, so no voucher of the tab outlives it.
 */
abstract contract TabAccounts is IGiftCertificatesAdmin, HolderSignatures, Issuance {
    using CertificateId for uint256;
    using CertWord for uint256;
    using MerchantWord for uint256;
    using TabWord for uint256;

    bytes32 internal constant _TAB_RELEASE_TYPEHASH = keccak256("TabRelease(uint256 certificate,uint256 epoch)");
    bytes32 internal constant _OPEN_TAB_TYPEHASH =
        keccak256("OpenTab(uint256 certificate,address sessionKey,uint256 nonce,uint256 deadline)");
    bytes32 internal constant _REQUEST_TAB_CLOSE_TYPEHASH =
        keccak256("RequestTabClose(uint256 certificate,uint256 nonce,uint256 deadline)");
    bytes32 internal constant _CLOSE_TAB_TYPEHASH =
        keccak256("CloseTab(uint256 certificate,uint256 nonce,uint256 deadline)");
    uint256 private constant _TAB_FLAGS = (CertWord.FLAG_TAB_OPEN | CertWord.FLAG_TAB_SESSION_KEY) << 248;

    /// @inheritdoc IGiftCertificatesAdmin
    /// @dev The escrow's issue, step for step ({Issuance}), with the word minted already as
    /// {openTab} would leave it: the tab flags set and the epoch at 1. Only for the caller's
    /// own certificate, so the session key is always the holder's own choice.
    function issueWithTab(Terms calldata terms, uint256 amount, string calldata message, address sessionKey)
        external
        payable
        returns (uint256 id)
    {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        id = _idOf(terms);
        uint256 flags = _beginIssue($, id); // pause, merchant, validity; a contract buyer's flag
        _requireIssuable(amount);
        uint8 currencyId = id.currency();
        _requirePayment($, currencyId, amount, msg.value);
        uint256 word = CertWord.pack(msg.sender, amount, 1, flags);
        _requireSpendable(id, word); // as for {openTab}: open already (validFrom), unexpired
        _mint($, msg.sender, id, word | (_tabFlags($, id, sessionKey) << 248));
        _emitIssued(id, amount, message);
        emit TabOpened(id, 1, sessionKey);
        _collect($, currencyId, amount);
        _checkReceiver(address(0), msg.sender, id);
    }

    /// @inheritdoc IGiftCertificatesAdmin
    function openTab(uint256 id, address sessionKey) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        _requireNotPaused($);
        uint256 word = _existing($, id);
        if (msg.sender != word.owner()) revert NotHolder(id, msg.sender);
        _open($, id, word, sessionKey);
    }

    /// @inheritdoc IGiftCertificatesAdmin
    function openTabWithAuthorization(OpenTabAuthorization calldata auth, bytes calldata signature) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        _requireNotPaused($);
        uint256 id = auth.certificate;
        uint256 word = _existing($, id);
        _requireAuthorized(id, word, auth.nonce, auth.deadline, _digest(_OPEN_TAB_TYPEHASH, _at(auth), 0x80), signature);
        _open($, id, word, auth.sessionKey);
    }

    /// @inheritdoc IGiftCertificatesAdmin
    function requestTabClose(uint256 id) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint256 word = _openTab($, id);
        if (msg.sender != word.owner()) revert NotHolder(id, msg.sender);
        _requestClose($, id);
    }

    /// @inheritdoc IGiftCertificatesAdmin
    function requestTabCloseWithAuthorization(TabAuthorization calldata auth, bytes calldata signature) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint256 id = auth.certificate;
        uint256 word = _openTab($, id);
        _requireAuthorized(id, word, auth.nonce, auth.deadline, _digest(_REQUEST_TAB_CLOSE_TYPEHASH, _at(auth), 0x60), signature);
        _requestClose($, id);
    }

    /// @inheritdoc IGiftCertificatesAdmin
    function closeTab(uint256 id) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint256 word = _openTab($, id);
        if (msg.sender != _knownMerchant($, id.merchant()).account()) {
            if (msg.sender != word.owner()) revert NotHolder(id, msg.sender);
            _requireCloseDelayOver($, id);
        }
        _close($, id, word);
    }

    /// @inheritdoc IGiftCertificatesAdmin
    function closeTabWithAuthorization(TabAuthorization calldata auth, bytes calldata signature) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint256 id = auth.certificate;
        uint256 word = _openTab($, id);
        _requireAuthorized(id, word, auth.nonce, auth.deadline, _digest(_CLOSE_TAB_TYPEHASH, _at(auth), 0x60), signature);
        _requireCloseDelayOver($, id);
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

    /// @dev Opens the tab once the caller may act for the holder (the holder, or its signature).
    function _open(GiftCertStorage.Layout storage $, uint256 id, uint256 word, address sessionKey) private {
        _requireSpendable(id, word); // claimed, no tab open already, open, unexpired
        // A new epoch: every signature the holder made before (payments, actions) is void, so
        // nothing but a voucher of this tab can take value from here on. The tab needs an epoch
        // it can settle in, and a settle needs room to move it on.
        (uint256 next, bool ok) = word.withOwnerAndNextNonce(word.owner());
        if (!ok || next.nonce() == CertWord.MAX_NONCE) revert NonceExhausted(id);
        $.certs[id] = next | (_tabFlags($, id, sessionKey) << 248);
        emit TabOpened(id, next.nonce(), sessionKey);
        emit MetadataUpdate(id);
    }

    /// @dev A new tab's flags (low bits), with its session key, if any, recorded.
    function _tabFlags(GiftCertStorage.Layout storage $, uint256 id, address sessionKey) private returns (uint256 flags) {
        flags = CertWord.FLAG_TAB_OPEN;
        if (sessionKey != address(0)) {
            flags |= CertWord.FLAG_TAB_SESSION_KEY;
            $.tabs[id] = uint160(sessionKey);
        }
    }

    /// @dev Starts the close delay (once per tab).
    function _requestClose(GiftCertStorage.Layout storage $, uint256 id) private {
        uint256 tabWord = $.tabs[id];
        if (tabWord.closeAt() != 0) revert TabCloseAlreadyRequested(id, tabWord.closeAt());
        uint40 closeAt = uint40(block.timestamp) + TabWord.CLOSE_DELAY;
        $.tabs[id] = tabWord.withCloseAt(closeAt);
        emit TabCloseRequested(id, closeAt);
    }

    /// @dev The holder closes only after asking to and after the delay the merchant settles in.
    function _requireCloseDelayOver(GiftCertStorage.Layout storage $, uint256 id) private view {
        uint40 closeAt = $.tabs[id].closeAt();
        if (closeAt == 0) revert TabCloseNotRequested(id);
        if (block.timestamp < closeAt) revert TabCloseDelay(id, closeAt);
    }

    /// @dev The digest of a signed tab action's struct at calldata `offset`, under the escrow's
    /// domain (this code runs at the escrow's address, by delegatecall).
    function _digest(bytes32 typehash, uint256 offset, uint256 size) private view returns (bytes32) {
        return _typedDigest(GiftCertDomain.separator(address(this)), typehash, offset, size);
    }

    function _at(OpenTabAuthorization calldata auth) private pure returns (uint256 offset) {
        assembly ("memory-safe") {
            offset := auth
        }
    }

    function _at(TabAuthorization calldata auth) private pure returns (uint256 offset) {
        assembly ("memory-safe") {
            offset := auth
        }
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

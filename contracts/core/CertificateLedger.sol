// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC1155Utils} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Utils.sol";

import {IGiftCertificates} from "../interfaces/IGiftCertificates.sol";
import {CertificateId} from "../CertificateId.sol";
import {GiftCertStorage, CertWord, MerchantWord} from "../libraries/GiftCertStorage.sol";
import {HolderSignatures} from "./HolderSignatures.sol";
import {Issuance} from "./Issuance.sol";

/**
 * @title CertificateLedger
 * @notice The escrow's certificate ledger: issue, batch issue, top-up, split, merge and the
 * single ERC-1155 transfer, each a hot path kept in the escrow's own dispatcher. The batch
 * transfer lives in the admin module; the rules both share are {EscrowBase}. One storage word
 * per certificate (see {GiftCertStorage}). The checks and writes an issue is made of are
 * {Issuance}'s, which the admin module's issue-with-tab shares.
 *
 * Order inside every function: checks, then every state write and event, then external calls
 * (token pulls, receiver hooks, payouts), whether or not the function is `nonReentrant`.
 */
abstract contract CertificateLedger is IGiftCertificates, HolderSignatures, Issuance {
    using CertificateId for uint256;
    using CertWord for uint256;
    using MerchantWord for uint256;

    bytes32 internal constant _METADATA_UPDATE = keccak256("MetadataUpdate(uint256)");
    bytes32 private constant _TOPPED_UP = keccak256("ToppedUp(uint256,uint256)");

    // ================================================================ issue

    /// @inheritdoc IGiftCertificates
    function issue(address to, Terms calldata terms, uint256 amount, string calldata message)
        external
        payable
        returns (uint256 id)
    {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        id = _idOf(terms);
        uint256 flags = _beginIssue($, id);
        _requireIssuable(amount);
        uint8 currencyId = id.currency();
        _requirePayment($, currencyId, amount, msg.value);
        _mint($, to, id, CertWord.pack(to, amount, 0, flags));
        _emitIssued(id, amount, message);
        if (currencyId != _ETH) _collect($, currencyId, amount);
        assembly ("memory-safe") {
            // No code at `to`: no receiver hook, so return the id now (skipping the return
            // path's stack cleanup and encoder, about 50 gas).
            if iszero(extcodesize(to)) {
                mstore(0x00, id)
                return(0x00, 0x20)
            }
        }
        ERC1155Utils.checkOnERC1155Received(msg.sender, address(0), to, id, 1, "");
    }

    /// @inheritdoc IGiftCertificates
    function issueBatch(
        address[] calldata recipients,
        uint256[] calldata amounts,
        Terms calldata terms,
        string calldata message
    ) external payable returns (uint256 firstId) {
        if (recipients.length == 0) revert EmptyBatch();
        if (recipients.length != amounts.length) revert LengthMismatch();
        if (uint256(terms.serial) + recipients.length - 1 > type(uint32).max) {
            revert SerialOverflow(terms.serial, recipients.length);
        }
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        firstId = _idOf(terms);
        uint256 flags = _beginIssue($, firstId);
        uint256 total = _mintEach($, recipients, amounts, firstId, flags);
        // Still before any external call: a refused payment undoes the whole batch.
        _requirePayment($, firstId.currency(), total, msg.value);
        emit IssuedBatch(firstId, msg.sender, amounts, message);
        _collect($, firstId.currency(), total);
        for (uint256 i; i < recipients.length; ++i) {
            address to = recipients[i];
            if (to.code.length != 0) _checkReceiver(address(0), to, firstId + i);
        }
    }

    /// @dev The words of a batch: serials are consecutive and never cross into the buyer-tag
    /// bits (checked by the caller).
    function _mintEach(
        GiftCertStorage.Layout storage $,
        address[] calldata recipients,
        uint256[] calldata amounts,
        uint256 firstId,
        uint256 flags
    ) private returns (uint256 total) {
        uint256 n = recipients.length;
        uint256 refused; // 1 + the index of an item that fails a check, 0 when all pass
        mapping(uint256 => uint256) storage certs = $.certs;
        bytes32 transferSingle = _TRANSFER_SINGLE;
        // Per certificate: the recipient (a clean, non-zero address), the amount (1 to 2^72 - 1),
        // an unused id, one fresh word and its TransferSingle event. Any failed check stops the
        // loop; the Solidity checks below then revert with the item's own error.
        assembly ("memory-safe") {
            let base := certs.slot
            let high := shl(248, flags)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let to := calldataload(add(recipients.offset, shl(5, i)))
                let amount := calldataload(add(amounts.offset, shl(5, i)))
                let id := add(firstId, i)
                mstore(0x00, id)
                mstore(0x20, base)
                let slot := keccak256(0x00, 0x40)
                if or(or(iszero(to), shr(160, to)), or(or(iszero(amount), shr(72, amount)), sload(slot))) {
                    refused := add(i, 1)
                    break
                }
                sstore(slot, or(or(to, shl(160, amount)), high))
                total := add(total, amount) // n < 2^64 amounts below 2^72: no overflow
                mstore(0x00, id)
                mstore(0x20, 1)
                log4(0x00, 0x40, transferSingle, caller(), 0, to)
            }
        }
        if (refused != 0) {
            uint256 i = refused - 1;
            _requireIssuable(amounts[i]);
            _mint($, recipients[i], firstId + i, 0); // reverts: zero address or the id exists
        }
    }

    /// @inheritdoc IGiftCertificates
    function topUp(uint256 id, uint256 amount) external payable {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        if ($.config.paused) revert EnforcedPause();
        uint256 slot = GiftCertStorage.certSlot($, id);
        uint256 word = GiftCertStorage.load(slot);
        bool usual;
        // The usual case at once: an existing, unexpired ETH certificate, the exact value sent,
        // 0 < amount and the new balance within 72 bits. Anything else: the checks below.
        assembly ("memory-safe") {
            usual := and(
                and(iszero(iszero(and(word, 0xffffffffffffffffffffffffffffffffffffffff))), lt(timestamp(), and(shr(128, id), 0xffffffffff))),
                and(
                    and(iszero(and(shr(216, id), 0xff)), eq(callvalue(), amount)),
                    and(iszero(iszero(amount)), iszero(shr(72, add(and(shr(160, word), 0xffffffffffffffffff), amount))))
                )
            )
        }
        if (!usual) _requireTopUp($, id, word, amount, msg.value);
        unchecked {
            GiftCertStorage.store(slot, word + (amount << 160)); // fits 72 bits (checked): no carry
        }
        bytes32 toppedUp = _TOPPED_UP;
        bytes32 metadataUpdate = _METADATA_UPDATE;
        assembly ("memory-safe") {
            // emit ToppedUp(id, amount); emit MetadataUpdate(id)
            mstore(0x00, amount)
            log2(0x00, 0x20, toppedUp, id)
            mstore(0x00, id)
            log1(0x00, 0x20, metadataUpdate)
        }
        uint8 currencyId = id.currency();
        if (currencyId != _ETH) _collect($, currencyId, amount);
    }

    /// @dev A top-up's checks one by one, each with its error.
    function _requireTopUp(GiftCertStorage.Layout storage $, uint256 id, uint256 word, uint256 amount, uint256 value)
        private
        view
    {
        if (uint160(word) == 0) revert UnknownCertificate(id);
        _requireNotExpired(id);
        if (amount == 0) revert ZeroAmount();
        _requirePayment($, id.currency(), amount, value);
        _checkedBalance(word.balance() + amount);
    }

    // ================================================================ re-gift

    /// @inheritdoc IGiftCertificates
    function split(uint256 id, uint256 amount, address to) external returns (uint256 newId) {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        _requireNotPaused($);
        uint256 word = _existing($, id);
        _requireHolder($, id, word.owner());
        newId = _split($, id, word, amount, to);
    }

    /// @dev A split once the caller may act for the holder: the rest of the checks and the move.
    function _split(GiftCertStorage.Layout storage $, uint256 id, uint256 word, uint256 amount, address to)
        internal
        returns (uint256 newId)
    {
        _requireSpendable(id, word);
        uint256 balance = word.balance();
        if (amount == 0) revert ZeroAmount();
        if (amount > balance) revert InsufficientBalance(id, balance, amount);
        // A serial nobody chooses: the source id and its nonce (the nonce moves on below, so
        // the next split of the same certificate derives another one).
        newId = id.withSerial(uint32(uint256(keccak256(abi.encode(id, word.nonce())))));
        (uint256 moved, bool ok) = word.withBalance(balance - amount).withOwnerAndNextNonce(word.owner());
        if (!ok) revert NonceExhausted(id);
        $.certs[id] = moved;
        uint256 inherited = word.flags() & CertWord.FLAG_CONTRACT_BUYER;
        _mint($, to, newId, CertWord.pack(to, amount, 0, inherited));
        emit Split(id, newId, to, amount);
        emit MetadataUpdate(id);
        _checkReceiver(address(0), to, newId);
    }

    /// @inheritdoc IGiftCertificates
    function merge(uint256 fromId, uint256 intoId) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        _requireNotPaused($);
        if (fromId == intoId || !_compatible(fromId, intoId)) revert IncompatibleCertificates(fromId, intoId);
        uint256 from = _existing($, fromId);
        uint256 into = _existing($, intoId);
        _requireHolder($, fromId, from.owner());
        _requireHolder($, intoId, into.owner());
        _merge($, fromId, intoId, from, into);
    }

    /// @dev A merge once the caller may act for the holder of both: spendability and the move.
    function _merge(GiftCertStorage.Layout storage $, uint256 fromId, uint256 intoId, uint256 from, uint256 into)
        internal
    {
        _requireSpendable(fromId, from);
        // Merging into a certificate with an open tab adds to it (as a top-up does): allowed.
        _requireSpendable(intoId, into & ~(CertWord.FLAG_TAB_OPEN << 248));
        uint256 amount = from.balance();
        $.certs[intoId] = into.withBalance(_checkedBalance(into.balance() + amount));
        _burn($, fromId, from.owner());
        emit Merged(fromId, intoId, amount);
        emit MetadataUpdate(intoId);
    }

    // ================================================================ ERC-1155 transfers

    /// @notice Gives a whole certificate (value must be 1) to `to`.
    function safeTransferFrom(address from, address to, uint256 id, uint256 value, bytes calldata data)
        external
    {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        if ($.config.paused) revert EnforcedPause();
        mapping(uint256 => uint256) storage certs = $.certs;
        bool usual;
        // The usual case in one block: the owner moves a whole, open, unexpired, claimed
        // certificate to a real address and its nonce has room; the word gets the new owner and
        // the next nonce (flags untouched). Anything else takes {_transferChecked}, which names
        // the reason (or lets an approved operator through) and writes the same word. `from`
        // is the caller, so it is never address(0) here: no word of an unknown id matches it.
        assembly ("memory-safe") {
            mstore(0x00, id)
            mstore(0x20, certs.slot)
            let slot := keccak256(0x00, 0x40)
            let word := sload(slot)
            let t := timestamp()
            usual := and(
                and(and(eq(value, 1), iszero(iszero(to))), and(eq(and(word, 0xffffffffffffffffffffffffffffffffffffffff), from), eq(caller(), from))),
                and(
                    iszero(and(shr(248, word), 5)), // CertWord.LOCKS: no claim awaited, no tab
                    and(
                        and(iszero(lt(t, and(shr(168, id), 0xffffffffff))), lt(t, and(shr(128, id), 0xffffffffff))),
                        lt(and(shr(232, word), 0xffff), 0xffff)
                    )
                )
            )
            if usual { sstore(slot, add(or(shl(160, shr(160, word)), to), shl(232, 1))) }
        }
        if (!usual) _transferChecked($, from, to, id, value);
        bytes32 transferSingle = _TRANSFER_SINGLE;
        assembly ("memory-safe") {
            // emit IERC1155.TransferSingle(msg.sender, from, to, id, value); value is 1 here
            mstore(0x00, id)
            mstore(0x20, 1)
            log4(0x00, 0x40, transferSingle, caller(), from, to)
            // No code at `to`: no receiver hook, and nothing is left to do (ending here skips
            // the stack cleanup of the return path, about 25 gas).
            if iszero(extcodesize(to)) { stop() }
        }
        ERC1155Utils.checkOnERC1155Received(msg.sender, from, to, id, value, data);
    }

    // ================================================================ internals: checks

    function _checkedBalance(uint256 balance) internal pure returns (uint256) {
        if (balance > CertWord.MAX_BALANCE) revert AmountTooLarge(balance);
        return balance;
    }

    /// @dev Same merchant, currency and buyer, and `into` lasts at least as long.
    function _compatible(uint256 fromId, uint256 intoId) internal pure returns (bool) {
        return fromId.merchant() == intoId.merchant() && fromId.currency() == intoId.currency()
            && fromId.buyerTag() == intoId.buyerTag() && intoId.expiry() >= fromId.expiry();
    }
}

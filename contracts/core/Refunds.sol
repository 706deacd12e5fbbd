// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IGiftCertificates} from "../interfaces/IGiftCertificates.sol";
import {CertificateId} from "../CertificateId.sol";
import {GiftCertStorage, CertWord, TabWord} from "../libraries/GiftCertStorage.sol";
import {CertificateLedger} from "./CertificateLedger.sol";
import {PayoutBase} from "./PayoutBase.sol";

/**
 * @title Refunds
 * @notice The remaining balance of an expired certificate back to its buyer: the one payout
 * that stays in the escrow. It happens once per certificate like the payouts of the admin
 * module ({Payouts}), but it has a gas target (floor + 3,500), which a delegatecall to the
 * module would break by itself: the module's code is a cold account (2,600 gas) plus the
 * forwarding and the module's dispatcher (about 300 more; measured, 40,246 gas from the module
 * against 37,349 here, target 37,673). Keepers refund expired balances in bulk, so this is the
 * payout paid most often.
 */
abstract contract Refunds is CertificateLedger, PayoutBase {
    using CertificateId for uint256;
    using CertWord for uint256;

    /// @dev A refund of a certificate with an open tab waits for the tab's grace period (the
    /// merchant's last chance to settle), then clears the tab's word.
    function _endTab(GiftCertStorage.Layout storage $, uint256 id, uint40 expiry) private {
        uint40 settleUntil = expiry + TabWord.GRACE;
        if (block.timestamp < settleUntil) revert TabSettling(id, settleUntil);
        delete $.tabs[id];
    }

    /// @inheritdoc IGiftCertificates
    function refund(uint256 id, address buyer) external nonReentrant {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint256 word = _existing($, id);
        if (!GiftCertStorage.isBuyer($, id, word, buyer)) revert NotBuyer(id, buyer);
        uint40 expiry = id.expiry();
        if (block.timestamp < expiry) revert NotExpired(id, expiry);
        if (word.has(CertWord.FLAG_TAB_OPEN)) _endTab($, id, expiry);
        _burn($, id, word.owner());
        emit Refunded(id, buyer, word.balance());
        _pay($, id.currency(), buyer, word.balance());
    }
}

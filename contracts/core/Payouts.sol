// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IGiftCertificatesAdmin} from "../interfaces/IGiftCertificates.sol";
import {CertificateId} from "../CertificateId.sol";
import {GiftCertStorage, CertWord, MerchantWord} from "../libraries/GiftCertStorage.sol";
import {PayoutBase} from "./PayoutBase.sol";

/**
 * @title Payouts
 * @notice The rare ways value leaves escrow, compiled into the admin module: merchant voids,
 * small-balance cash-outs, the buyer's reclaim of an unclaimed claim link, merchant withdrawals
 * and deferred payments. Each happens at most once per certificate, or once per many
 * redemptions, so none is worth a place in the escrow's dispatcher (every function there costs
 * each hot call up to 22 gas to pass) or its code size. The refund after expiry, which has a gas
 * target of its own, stays in the escrow ({Refunds}); both share {PayoutBase}.
 *
 * This code moves value only when it runs by delegatecall from the escrow: it then reads and
 * writes the escrow's storage and sends the escrow's ETH and tokens. Called at the module's own
 * address it runs on the module's storage, which holds no certificate, ledger or deferred
 * payment (nothing can create one there: its one issue path, `issueWithTab`, needs a
 * registered merchant, and no account holds the role to register one in the module's own
 * storage) and no balance, so every payout there reverts before moving anything.
 *
 * Refunds, voids, cash-outs and reclaims push to the recipient with a gas cap and copy no return
 * data; a push that fails becomes a pull balance. Merchant withdrawals go only to the merchant's
 * own account, at the merchant's own request: no role can redirect them.
 */
abstract contract Payouts is IGiftCertificatesAdmin, PayoutBase {
    using CertificateId for uint256;
    using CertWord for uint256;
    using MerchantWord for uint256;

    /// @inheritdoc IGiftCertificatesAdmin
    function void(uint256 id) external nonReentrant {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint256 word = _existing($, id);
        uint32 merchantId = id.merchant();
        _callerMerchant($, merchantId);
        if (word.has(CertWord.FLAG_AWAITING_CLAIM)) revert AwaitingClaim(id);
        // The tab's vouchers are the merchant's to settle first; it can close the tab at once.
        if (word.has(CertWord.FLAG_TAB_OPEN)) revert TabOpen(id);
        // After expiry the balance belongs to the buyer's refund, not to the holder.
        _requireNotExpired(id);
        address holder = word.owner();
        _burn($, id, holder);
        emit Voided(id, merchantId, holder, word.balance());
        _pay($, id.currency(), holder, word.balance());
    }

    /// @inheritdoc IGiftCertificatesAdmin
    function cashOut(uint256 id) external nonReentrant {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        _requireNotPaused($);
        uint256 word = _existing($, id);
        _requireHolder($, id, word.owner());
        _cashOut($, id, word);
    }

    /// @inheritdoc IGiftCertificatesAdmin
    function reclaim(uint256 id) external nonReentrant {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint256 word = _awaitingClaim($, id);
        if (!GiftCertStorage.isBuyer($, id, word, msg.sender)) revert NotBuyer(id, msg.sender);
        uint40 deadline = word.claimDeadline();
        if (block.timestamp <= deadline) revert ClaimWindowOpen(id, deadline);
        _burn($, id, word.owner());
        emit Reclaimed(id, msg.sender, word.balance());
        _pay($, id.currency(), msg.sender, word.balance());
    }

    /// @inheritdoc IGiftCertificatesAdmin
    function withdrawMerchant(uint32 merchantId, uint8 currencyId) external nonReentrant {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint256 m = _callerMerchant($, merchantId);
        uint256 amount;
        if (currencyId == _ETH) {
            amount = m.owedEth();
            $.merchants[merchantId] = m.withOwedEth(0);
        } else {
            GiftCertStorage.Ledger storage ledger = $.ledgers[merchantId][currencyId];
            amount = ledger.owed;
            ledger.owed = 0;
        }
        if (amount == 0) revert NothingToWithdraw();
        emit MerchantWithdrawal(merchantId, currencyId, msg.sender, amount);
        _transferOut($, currencyId, msg.sender, amount, gasleft());
    }

    /// @inheritdoc IGiftCertificatesAdmin
    function withdrawDeferred(uint8 currencyId) external nonReentrant {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint256 amount = $.deferred[msg.sender][currencyId];
        if (amount == 0) revert NothingToWithdraw();
        $.deferred[msg.sender][currencyId] = 0;
        emit DeferredWithdrawn(msg.sender, currencyId, amount);
        _transferOut($, currencyId, msg.sender, amount, gasleft());
    }

    /// @dev Sends a withdrawal out with all the gas left, or reverts (the withdrawer asked for
    /// it and keeps its balance if it cannot take it).
    function _transferOut(GiftCertStorage.Layout storage $, uint8 currencyId, address to, uint256 amount, uint256 gasLimit)
        private
    {
        if (!_tryTransferOut($, currencyId, to, amount, gasLimit)) revert TransferFailed();
    }
}

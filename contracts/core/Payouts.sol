// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IGiftCertificates} from "../interfaces/IGiftCertificates.sol";
import {CertificateId} from "../CertificateId.sol";
import {GiftCertStorage, CertWord, MerchantWord} from "../libraries/GiftCertStorage.sol";
import {CertificateLedger} from "./CertificateLedger.sol";

/**
 * @title Payouts
 * @notice Money out of escrow: refunds to the buyer after expiry, merchant voids, small-balance
 * cash-outs, merchant withdrawals and deferred payments.
 *
 * Refunds, voids and cash-outs push to the recipient with a gas cap and copy no return data;
 * a push that fails becomes a pull balance ({withdrawDeferred}), so a reverting or gas-burning
 * recipient never locks funds or blocks a keeper. Merchant withdrawals go only to the
 * merchant's own account, at the merchant's own request: no role can redirect them.
 */
abstract contract Payouts is CertificateLedger {
    using SafeERC20 for IERC20;
    using CertificateId for uint256;
    using CertWord for uint256;
    using MerchantWord for uint256;

    /// @dev Gas forwarded to a pushed payout: enough for smart wallets, not for griefing.
    uint256 internal constant _PAYOUT_GAS = 100_000;

    /// @inheritdoc IGiftCertificates
    function refund(uint256 id, address buyer) external nonReentrant {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint256 word = _existing($, id);
        if (!GiftCertStorage.isBuyer($, id, word, buyer)) revert NotBuyer(id, buyer);
        uint40 expiry = id.expiry();
        if (block.timestamp < expiry) revert NotExpired(id, expiry);
        _burn($, id, word.owner());
        emit Refunded(id, buyer, word.balance());
        _pay($, id.currency(), buyer, word.balance());
    }

    /// @inheritdoc IGiftCertificates
    function void(uint256 id) external nonReentrant {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint256 word = _existing($, id);
        uint32 merchantId = id.merchant();
        _callerMerchant($, merchantId);
        if (word.has(CertWord.FLAG_AWAITING_CLAIM)) revert AwaitingClaim(id);
        // After expiry the balance belongs to the buyer's refund, not to the holder.
        _requireNotExpired(id);
        address holder = word.owner();
        _burn($, id, holder);
        emit Voided(id, merchantId, holder, word.balance());
        _pay($, id.currency(), holder, word.balance());
    }

    /// @inheritdoc IGiftCertificates
    function cashOut(uint256 id) external nonReentrant {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        _requireNotPaused($);
        uint256 word = _existing($, id);
        address holder = word.owner();
        _requireHolder($, id, holder);
        _requireSpendable(id, word);
        uint256 balance = word.balance();
        uint256 limit = $.ledgers[id.merchant()][id.currency()].cashOutLimit;
        if (balance == 0 || balance > limit) revert CashOutNotAllowed(id, balance, limit);
        _burn($, id, holder);
        emit CashedOut(id, holder, balance);
        _pay($, id.currency(), holder, balance);
    }

    /// @inheritdoc IGiftCertificates
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

    /// @inheritdoc IGiftCertificates
    function withdrawDeferred(uint8 currencyId) external nonReentrant {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint256 amount = $.deferred[msg.sender][currencyId];
        if (amount == 0) revert NothingToWithdraw();
        $.deferred[msg.sender][currencyId] = 0;
        emit DeferredWithdrawn(msg.sender, currencyId, amount);
        _transferOut($, currencyId, msg.sender, amount, gasleft());
    }

    // ================================================================ internals

    /// @dev Pushes a payment; if the recipient cannot take it, keeps it for {withdrawDeferred}.
    function _pay(GiftCertStorage.Layout storage $, uint8 currencyId, address to, uint256 amount) internal {
        if (amount == 0) return;
        if (!_tryTransferOut($, currencyId, to, amount, _PAYOUT_GAS)) {
            $.deferred[to][currencyId] += amount;
            emit PaymentDeferred(to, currencyId, amount);
        }
    }

    /// @dev Sends value out or reverts.
    function _transferOut(GiftCertStorage.Layout storage $, uint8 currencyId, address to, uint256 amount, uint256 gasLimit)
        private
    {
        if (!_tryTransferOut($, currencyId, to, amount, gasLimit)) revert TransferFailed();
    }

    /// @dev ETH by a call that copies no return data (a payee cannot make us pay to copy a huge
    /// answer); ERC-20 through SafeERC20, which reads at most one word of it.
    function _tryTransferOut(
        GiftCertStorage.Layout storage $,
        uint8 currencyId,
        address to,
        uint256 amount,
        uint256 gasLimit
    ) private returns (bool ok) {
        if (currencyId == _ETH) {
            assembly ("memory-safe") {
                ok := call(gasLimit, to, amount, 0, 0, 0, 0)
            }
        } else {
            ok = IERC20($.currencies[currencyId].token).trySafeTransfer(to, amount);
        }
    }
}

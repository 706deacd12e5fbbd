// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {CertificateId} from "../CertificateId.sol";
import {GiftCertStorage, CertWord} from "../libraries/GiftCertStorage.sol";
import {EscrowBase} from "./EscrowBase.sol";

/**
 * @title PayoutBase
 * @notice How value leaves escrow, for the escrow's {Refunds-refund} and the module's {Payouts}:
 * a pushed payment with a gas cap that copies no return data, kept as a pull balance
 * ({Payouts-withdrawDeferred}) when the recipient cannot take it, so a reverting or gas-burning
 * recipient never locks funds or blocks a keeper.
 *
 * Every function that pays out is `nonReentrant`. The guard is OpenZeppelin's transient one: its
 * flag lives in the transient storage of the contract whose code runs, and module code runs by
 * delegatecall in the escrow's context, so the escrow's and the module's payouts share one flag
 * (a payee that calls back into any of them while a payout runs is refused).
 */
abstract contract PayoutBase is EscrowBase, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev Gas forwarded to a pushed payout: enough for smart wallets, not for griefing.
    uint256 internal constant _PAYOUT_GAS = 100_000;

    /// @dev A cash-out once the caller may act for the holder (the holder, an operator, or the
    /// holder's signature): spendability, the merchant's limit, the burn and the payment,
    /// always to the holder.
    function _cashOut(GiftCertStorage.Layout storage $, uint256 id, uint256 word) internal {
        _requireSpendable(id, word);
        address holder = CertWord.owner(word);
        uint256 balance = CertWord.balance(word);
        uint256 limit = $.ledgers[CertificateId.merchant(id)][CertificateId.currency(id)].cashOutLimit;
        if (balance == 0 || balance > limit) revert CashOutNotAllowed(id, balance, limit);
        _burn($, id, holder);
        emit CashedOut(id, holder, balance);
        _pay($, CertificateId.currency(id), holder, balance);
    }

    /// @dev Pushes a payment; if the recipient cannot take it, keeps it for withdrawDeferred.
    function _pay(GiftCertStorage.Layout storage $, uint8 currencyId, address to, uint256 amount) internal {
        if (amount == 0) return;
        if (!_tryTransferOut($, currencyId, to, amount, _PAYOUT_GAS)) {
            $.deferred[to][currencyId] += amount;
            emit PaymentDeferred(to, currencyId, amount);
        }
    }

    /// @dev ETH by a call that copies no return data (a payee cannot make us pay to copy a huge
    /// answer); ERC-20 through SafeERC20, which reads at most one word of it.
    function _tryTransferOut(
        GiftCertStorage.Layout storage $,
        uint8 currencyId,
        address to,
        uint256 amount,
        uint256 gasLimit
    ) internal returns (bool ok) {
        if (currencyId == _ETH) {
            assembly ("memory-safe") {
                ok := call(gasLimit, to, amount, 0, 0, 0, 0)
            }
        } else {
            ok = IERC20($.currencies[currencyId].token).trySafeTransfer(to, amount);
        }
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Forwarder} from "./Forwarder.sol";

/// @notice Test helper: a payee that, when paid ETH, calls back into the escrow with a call the
/// test chose and records how that call ended (the selector of its error, or none when it
/// succeeded: a selector fits one word, so recording it stays within a payout's gas cap).
/// It accepts the payment either way, so the payout itself succeeds and the record survives.
/// It can also buy and hold certificates ({Forwarder}).
contract ReentrantPayee is Forwarder {
    address public target;
    bytes public reentry;
    bool public reentered;
    bool public reentrySucceeded;
    bytes4 public reentryError;

    /// @notice Arms the callback: on the next ETH received, call `target_` with `data`.
    function arm(address target_, bytes calldata data) external {
        target = target_;
        reentry = data;
    }

    receive() external payable {
        if (target == address(0) || reentered) return;
        reentered = true;
        (bool ok, bytes memory result) = target.call(reentry);
        reentrySucceeded = ok;
        if (result.length >= 4) reentryError = bytes4(result);
    }

    /// @notice Forwards a call (so this contract can be a buyer or holder).
    function execute(address to, uint256 value, bytes calldata data) external payable returns (bytes memory) {
        return _forward(to, value, data);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Forwarder} from "./Forwarder.sol";

/// @notice Test helper: an account that refuses ETH (a merchant or buyer whose payout reverts),
/// can call the certificate contract, and accepts ERC-1155 tokens.
contract RevertingReceiver is Forwarder {
    bool public refuse = true;

    receive() external payable {
        require(!refuse, "RevertingReceiver: no ETH");
    }

    function setRefuse(bool value) external {
        refuse = value;
    }

    /// @notice Forwards a call (so this contract can be a merchant account or buyer).
    function execute(address target, uint256 value, bytes calldata data) external payable returns (bytes memory) {
        return _forward(target, value, data);
    }
}

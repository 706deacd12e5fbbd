// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice Test helper: an account that refuses ETH (a merchant or buyer whose payout reverts),
/// can call the certificate contract, and accepts ERC-1155 tokens.
contract RevertingReceiver {
    bool public refuse = true;

    receive() external payable {
        require(!refuse, "RevertingReceiver: no ETH");
    }

    function setRefuse(bool value) external {
        refuse = value;
    }

    /// @notice Forwards a call (so this contract can be a merchant account or buyer).
    function execute(address target, uint256 value, bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory result) = target.call{value: value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
        return result;
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external pure returns (bytes4) {
        return this.onERC1155Received.selector;
    }
}

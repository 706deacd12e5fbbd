// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice Test helper base: an account that forwards calls (so a contract can be a buyer,
/// holder or merchant account) and accepts ERC-1155 tokens.
abstract contract Forwarder {
    /// @dev Calls `target` with `value` and `data`; a revert comes back with its own data.
    function _forward(address target, uint256 value, bytes calldata data) internal returns (bytes memory) {
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

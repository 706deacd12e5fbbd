// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title Multicall3's read side, for the local dev chain
/// @notice The functions the SDK uses of Multicall3 (deployed at
/// 0xcA11bde05977b3631167028862bE2a173976CA11 on most public chains), with the same signatures,
/// so the same client code batches reads on anvil, which has no Multicall3: several view calls
/// and the block's number and time in one `eth_call`. Written for this project; `giftcert
/// deploy` deploys it on the dev chain only.
contract Multicall3 {
    struct Call3 {
        address target;
        bool allowFailure;
        bytes callData;
    }

    struct Result {
        bool success;
        bytes returnData;
    }

    /// @notice Calls each target in order; a failing call reverts the whole batch unless it
    /// allows failure, in which case its revert data is returned with success = false.
    function aggregate3(Call3[] calldata calls) external payable returns (Result[] memory results) {
        uint256 length = calls.length;
        results = new Result[](length);
        for (uint256 i = 0; i < length; ++i) {
            Call3 calldata item = calls[i];
            (bool ok, bytes memory data) = item.target.call(item.callData);
            require(ok || item.allowFailure, "Multicall3: call failed");
            results[i] = Result(ok, data);
        }
    }

    function getBlockNumber() external view returns (uint256) {
        return block.number;
    }

    function getCurrentBlockTimestamp() external view returns (uint256) {
        return block.timestamp;
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC3525} from "@solvprotocol/erc-3525/ERC3525.sol";

/// @notice Gas anchor: the ERC-3525 reference implementation (Solv) with a public mint of a new
/// token (auto id) in `slot` holding `value`.
contract BenchERC3525 is ERC3525 {
    constructor() ERC3525("Bench ERC3525", "B3525", 18) {}

    function mint(address to, uint256 slot, uint256 value) external returns (uint256) {
        return _mint(to, slot, value);
    }

    /// @dev ERC-3525 has no batch mint: a plain loop over {_mint}.
    function mintBatch(address to, uint256 slot, uint256 value, uint256 count) external {
        for (uint256 i; i < count; ++i) {
            _mint(to, slot, value);
        }
    }
}

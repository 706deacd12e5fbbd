// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC6909} from "@openzeppelin/contracts/token/ERC6909/ERC6909.sol";

/// @notice Gas anchor: OpenZeppelin ERC-6909 with a public mint (no metadata, no access control).
contract BenchOZ6909 is ERC6909 {
    function mint(address to, uint256 id, uint256 amount) external {
        _mint(to, id, amount);
    }

    /// @dev ERC-6909 has no batch mint: a plain loop over {_mint}.
    function mintBatch(address to, uint256[] calldata ids, uint256[] calldata amounts) external {
        for (uint256 i; i < ids.length; ++i) {
            _mint(to, ids[i], amounts[i]);
        }
    }
}

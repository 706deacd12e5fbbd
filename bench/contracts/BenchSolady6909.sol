// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC6909} from "solady/src/tokens/ERC6909.sol";

/// @notice Gas anchor: Solady ERC-6909 with a public mint (minimal metadata).
contract BenchSolady6909 is ERC6909 {
    function name(uint256) public pure override returns (string memory) {
        return "Bench Solady6909";
    }

    function symbol(uint256) public pure override returns (string memory) {
        return "BS6909";
    }

    function tokenURI(uint256) public pure override returns (string memory) {
        return "";
    }

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

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC721} from "solady/src/tokens/ERC721.sol";

/// @notice Gas anchor: Solady ERC-721 with a public mint.
contract BenchSolady721 is ERC721 {
    function name() public pure override returns (string memory) {
        return "Bench Solady721";
    }

    function symbol() public pure override returns (string memory) {
        return "BS721";
    }

    function tokenURI(uint256) public pure override returns (string memory) {
        return "";
    }

    function mint(address to, uint256 id) external {
        _mint(to, id);
    }

    /// @dev Solady ERC-721 has no batch mint: a plain loop over {_mint}.
    function mintBatch(address to, uint256 firstId, uint256 count) external {
        for (uint256 i; i < count; ++i) {
            _mint(to, firstId + i);
        }
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @notice Gas anchor: OpenZeppelin ERC-721 with a public mint (no access control, no metadata).
contract BenchOZ721 is ERC721 {
    constructor() ERC721("Bench OZ721", "B721") {}

    function mint(address to, uint256 id) external {
        _mint(to, id);
    }

    /// @dev OZ ERC-721 has no batch mint: a plain loop over {_mint}.
    function mintBatch(address to, uint256 firstId, uint256 count) external {
        for (uint256 i; i < count; ++i) {
            _mint(to, firstId + i);
        }
    }
}

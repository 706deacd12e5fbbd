// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC1155} from "solady/src/tokens/ERC1155.sol";

/// @notice Gas anchor: Solady ERC-1155 with public mint and the standard's batch mint.
contract BenchSolady1155 is ERC1155 {
    function uri(uint256) public pure override returns (string memory) {
        return "";
    }

    function mint(address to, uint256 id, uint256 amount) external {
        _mint(to, id, amount, "");
    }

    function mintBatch(address to, uint256[] calldata ids, uint256[] calldata amounts) external {
        _batchMint(to, ids, amounts, "");
    }
}

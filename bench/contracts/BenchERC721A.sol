// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC721A} from "erc721a/contracts/ERC721A.sol";

/// @notice Gas anchor: ERC721A (Azuki) with a public mint of `quantity` consecutive tokens.
contract BenchERC721A is ERC721A {
    constructor() ERC721A("Bench ERC721A", "B721A") {}

    function mint(address to, uint256 quantity) external {
        _mint(to, quantity);
    }
}

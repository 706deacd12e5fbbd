// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Gas anchor: OpenZeppelin ERC-20 with a public mint (transfers are what is measured).
contract BenchOZ20 is ERC20 {
    constructor() ERC20("Bench OZ20", "B20") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

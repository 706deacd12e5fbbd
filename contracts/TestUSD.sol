// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/**
 * @title TestUSD
 * @notice A 6-decimal stablecoin for local chains and demos. Anyone may mint: never deploy it
 * where it could be mistaken for money.
 */
contract TestUSD is ERC20 {
    constructor() ERC20("Test USD", "tUSD") {}

    /// @notice 6 decimals, like USDC.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` (smallest units) to `to`. Test token: open to everyone.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

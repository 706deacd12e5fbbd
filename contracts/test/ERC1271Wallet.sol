// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

import {Forwarder} from "./Forwarder.sol";

/// @notice Test helper: a minimal contract wallet whose owner's ECDSA signature is the wallet's
/// ERC-1271 signature; it can hold certificates and forward calls.
contract ERC1271Wallet is IERC1271, Forwarder {
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address signer,,) = ECDSA.tryRecoverCalldata(hash, signature);
        return signer == owner ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }

    function execute(address target, uint256 value, bytes calldata data) external payable returns (bytes memory) {
        require(msg.sender == owner, "ERC1271Wallet: not owner");
        return _forward(target, value, data);
    }

    receive() external payable {}
}

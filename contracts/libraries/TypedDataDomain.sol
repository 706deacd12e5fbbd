// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {GiftCertDomain} from "./GiftCertDomain.sol";

/**
 * @title TypedDataDomain
 * @notice The escrow's domain separator, computed once at deployment and rebuilt only if the
 * chain id changes (a fork), as OpenZeppelin's EIP712 does. Unlike it, this base declares no
 * external function: the ERC-5267 views live in the admin module, which keeps them out of the
 * escrow's dispatcher (each function there costs every hot call up to 22 gas to pass), and it
 * does not compare `address(this)`: the escrow's code only runs at its own address (nothing
 * delegatecalls it), so the check could never fail.
 */
abstract contract TypedDataDomain {
    uint256 private immutable _cachedChainId = block.chainid;
    bytes32 private immutable _cachedSeparator = GiftCertDomain.separator(address(this));

    function _domainSeparatorV4() internal view returns (bytes32) {
        return block.chainid == _cachedChainId ? _cachedSeparator : GiftCertDomain.separator(address(this));
    }
}

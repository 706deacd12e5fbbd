// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title GiftCertDomain
 * @notice The EIP-712 domain of the escrow: name "GiftCertificates", version "1", the chain id
 * and the escrow's address (no salt). The admin module answers ERC-5267's `eip712Domain()` and
 * `domainSeparator()` from it; the escrow's hot paths read a cached copy ({TypedDataDomain}).
 */
library GiftCertDomain {
    string internal constant NAME = "GiftCertificates";
    string internal constant VERSION = "1";
    bytes32 private constant _TYPE_HASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    /// @dev The domain separator for `verifyingContract` on the current chain.
    function separator(address verifyingContract) internal view returns (bytes32) {
        return keccak256(
            abi.encode(_TYPE_HASH, keccak256(bytes(NAME)), keccak256(bytes(VERSION)), block.chainid, verifyingContract)
        );
    }
}

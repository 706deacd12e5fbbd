// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

import {CertWord} from "../libraries/GiftCertStorage.sol";
import {EscrowBase} from "./EscrowBase.sol";

/**
 * @title HolderSignatures
 * @notice Checking a holder's EIP-712 signature, for every path that acts on one: signed
 * redemptions, signed holder actions (transfer, split, merge, cash-out) and claims. A signature
 * is the certificate owner's when it is a 65-byte ECDSA signature (low s) that recovers to the
 * owner, a 64-byte EIP-2098 one that does, or the owner is a contract that answers ERC-1271's
 * `isValidSignature` with its magic value within a gas cap.
 *
 * Like {EscrowBase}, it declares no external function: it adds nothing to a dispatcher.
 */
abstract contract HolderSignatures is EscrowBase {
    using CertWord for uint256;

    /// @dev Gas an ERC-1271 wallet may use to answer: enough for multisigs and passkey
    /// verification in Solidity (~200k), bounded so a wallet that burns gas when mined costs
    /// its item at most this much.
    uint256 internal constant _ERC1271_GAS = 250_000;

    /// @dev Reverts unless a signed holder action may run now: before its deadline, with the
    /// certificate's current nonce (the one every holder signature uses, so a signed action and
    /// a signed redemption can never both be used) and signed by the certificate's owner.
    function _requireAuthorized(
        uint256 id,
        uint256 word,
        uint256 nonce,
        uint256 deadline,
        bytes32 digest,
        bytes calldata signature
    ) internal view {
        bool usual;
        address owner = address(uint160(word));
        // The usual case at once: in time, the current nonce, a 65-byte ECDSA signature of the
        // owner. Anything else: the checks below, each with its error (or ERC-1271).
        assembly ("memory-safe") {
            usual := and(iszero(gt(timestamp(), deadline)), eq(nonce, and(shr(232, word), 0xffff)))
        }
        if (usual && signature.length == 65 && _recover65(digest, signature) == owner) return;
        if (block.timestamp > deadline) revert AuthorizationExpired(deadline);
        if (nonce != word.nonce()) revert WrongNonce(id, word.nonce(), nonce);
        if (!_isSignedBy(owner, digest, signature)) revert InvalidSignature();
    }

    /// @dev The EIP-712 digest of a struct whose fields are `size` bytes of static words in
    /// calldata at `offset` (as they are in the call: a field with dirty high bits hashes
    /// differently and so fails the signature), under `separator`.
    function _typedDigest(bytes32 separator, bytes32 typehash, uint256 offset, uint256 size)
        internal
        pure
        returns (bytes32 digest)
    {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typehash)
            calldatacopy(add(m, 0x20), offset, size)
            let structHash := keccak256(m, add(size, 0x20))
            mstore(0x00, 0x1901)
            mstore(0x20, separator)
            mstore(0x40, structHash)
            digest := keccak256(0x1e, 0x42)
            mstore(0x40, m)
        }
    }

    /// @dev Whether `signature` over `digest` is `signer`'s (any of the three forms above).
    function _isSignedBy(address signer, bytes32 digest, bytes calldata signature) internal view returns (bool) {
        if (signature.length == 65 && _recover65(digest, signature) == signer) return true;
        return _isValidOtherSignature(signer, digest, signature);
    }

    /// @dev ecrecover of a 65-byte (r, s, v) signature, address(0) when invalid. Refuses the
    /// high-s twin of every signature (as OpenZeppelin's ECDSA does), so one signature has one
    /// encoding; v other than 27 or 28 makes the precompile answer nothing.
    function _recover65(bytes32 digest, bytes calldata signature) internal view returns (address signer) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            let s := calldataload(add(signature.offset, 0x20))
            if iszero(gt(s, 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0)) {
                mstore(0x00, digest)
                mstore(0x20, byte(0, calldataload(add(signature.offset, 0x40))))
                mstore(0x40, calldataload(signature.offset))
                mstore(0x60, s)
                pop(staticcall(gas(), 1, 0x00, 0x80, 0x40, 0x20))
                mstore(0x60, 0)
                // 32 bytes back: the signer at 0x40; nothing back: the zero slot at 0x60.
                signer := mload(xor(0x60, returndatasize()))
            }
            mstore(0x40, m)
        }
    }

    /// @dev Whether `signature` is the signer's, when it is not a 65-byte ECDSA signature that
    /// recovers to the signer (callers check that first, cheap for the usual EOA holder):
    /// a 64-byte (EIP-2098) ECDSA signature, else ERC-1271 for contract wallets with a gas cap
    /// and a 32-byte answer. High-s and malformed signatures are refused. A signer of
    /// address(0) never matches: the certificate word of an owner is never zero.
    function _isValidOtherSignature(address signer, bytes32 digest, bytes calldata signature)
        internal
        view
        returns (bool)
    {
        if (signature.length != 65) {
            // 64-byte (EIP-2098) and malformed signatures; the third value only details why.
            // slither-disable-next-line unused-return
            (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
            if (err == ECDSA.RecoverError.NoError && recovered == signer) return true;
        }
        if (signer.code.length == 0) return false;
        bytes memory query = abi.encodeCall(IERC1271.isValidSignature, (digest, signature));
        bool valid;
        assembly ("memory-safe") {
            mstore(0x00, 0)
            let success := staticcall(_ERC1271_GAS, signer, add(query, 0x20), mload(query), 0x00, 0x20)
            valid := and(success, and(gt(returndatasize(), 0x1f), eq(mload(0x00), shl(224, 0x1626ba7e))))
        }
        return valid;
    }
}

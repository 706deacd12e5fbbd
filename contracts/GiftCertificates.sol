// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IERC1155MetadataURI} from "@openzeppelin/contracts/token/ERC1155/extensions/IERC1155MetadataURI.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {IGiftCertificatesAdmin} from "./interfaces/IGiftCertificates.sol";
import {ClaimLinks} from "./core/ClaimLinks.sol";
import {SignedRedemptions} from "./core/SignedRedemptions.sol";

/**
 * @title GiftCertificates
 * @notice Tokenized gift certificates for small payments. A giver escrows ETH or an allow-listed
 * ERC-20 in a certificate for a friend; the holder spends it in pieces at the one merchant it is
 * for; whatever is left at expiry goes back to the giver.
 *
 * Each certificate is an ERC-1155 token with supply 1 and one storage word (owner, balance,
 * nonce, flags; see {GiftCertStorage}); its immutable terms live in its id ({CertificateId}).
 * For every currency: holdings == sum of certificate balances + merchant ledgers + deferred
 * payments.
 *
 * This contract holds the value-moving paths (ledger, claim links, signed redemptions, payouts).
 * Everything else (roles, merchant registry, currencies, pause, approvals, views, metadata)
 * is {GiftCertificatesAdmin}, reached by delegatecall from {fallback} with this contract's
 * storage, so the escrow keeps room under the 24,576-byte code limit. Both answer at this
 * address; the SDK's ABI is the union of {IGiftCertificates} and {IGiftCertificatesAdmin}.
 *
 * Storage: all of the system's state is in the ERC-7201 namespace of {GiftCertStorage}. The
 * only plain slot is AccessControl's role mapping in the admin module (slot 0, whose entries
 * live at hashed slots); the EIP-712 domain is cached in immutables ({TypedDataDomain}).
 */
contract GiftCertificates is ClaimLinks, SignedRedemptions {
    /// @notice The admin module this contract delegates everything else to.
    address public immutable adminModule;

    /// @param admin receives the admin, registrar and pauser roles.
    /// @param module a deployed {GiftCertificatesAdmin}.
    constructor(address admin, address module) {
        if (module.code.length == 0) revert InvalidAccount();
        adminModule = module;
        // The deployer picks the module (it picks the escrow's code too); this runs once, while
        // the escrow is being constructed, and the fallback only ever uses the immutable.
        // slither-disable-next-line controlled-delegatecall
        (bool ok, bytes memory reason) = module.delegatecall(abi.encodeCall(IGiftCertificatesAdmin.initialize, (admin)));
        if (!ok) _revertWith(reason);
    }

    /// @notice ERC-165: ERC-1155, its metadata URI, ERC-4906 and AccessControl (in the admin module).
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC1155).interfaceId || interfaceId == type(IERC1155MetadataURI).interfaceId
            || interfaceId == bytes4(0x49064906) // ERC-4906
            || interfaceId == type(IAccessControl).interfaceId || interfaceId == type(IERC165).interfaceId;
    }

    /// @notice Everything not implemented here runs in the admin module, on this storage.
    // slither-disable-next-line locked-ether
    fallback() external {
        address module = adminModule;
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), module, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}

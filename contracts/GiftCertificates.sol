// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IGiftCertificatesAdmin} from "./interfaces/IGiftCertificates.sol";
import {ClaimLinks} from "./core/ClaimLinks.sol";
import {TabSettlement} from "./core/TabSettlement.sol";
import {Refunds} from "./core/Refunds.sol";
import {SignedHolderActions} from "./core/SignedHolderActions.sol";

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
 * What runs where. This contract's own dispatcher holds only the per-payment hot paths: issue,
 * batch issue, claim-link issue and claim, top-up, split, merge, redeem, signed redemption,
 * batch settlement, the single ERC-1155 transfer and the signed holder actions (transfer, split
 * and merge by signature, for holders without gas) and the settle of payment tabs, plus the
 * refund after expiry (the one rare
 * path with a gas target; see {Refunds}). Each function here costs every call that passes it in
 * the dispatcher up to 22 gas, and each byte counts against the 24,576-byte limit that the
 * features still to come (signed holder actions, payment tabs) need room under.
 *
 * Everything else is {GiftCertificatesAdmin}, reached by delegatecall from {fallback}: the rare
 * value paths (void, cash-out, reclaim, merchant and deferred withdrawals, the batch transfer),
 * roles, merchant registry, currencies, pause, approvals, views, metadata, ERC-165 and the
 * EIP-712 domain views. Delegatecall runs the module's code on this contract's storage, balance
 * and transient storage (so the reentrancy guard is one flag for both), with this contract as
 * the sender of every payment it makes; called directly, the module runs on its own empty
 * storage and moves nothing. Both answer at this address; the SDK's ABI is the union of both
 * contracts' ABIs.
 *
 * Storage: all of the system's state is in the ERC-7201 namespace of {GiftCertStorage}. The
 * only plain slot is AccessControl's role mapping in the admin module (slot 0, whose entries
 * live at hashed slots); this contract has none (the EIP-712 domain and the module's address
 * are immutables).
 */
contract GiftCertificates is ClaimLinks, TabSettlement, SignedHolderActions, Refunds {
    /// @dev The admin module this contract delegates everything else to ({adminModule} reads it).
    address private immutable _module;

    /// @param admin receives the admin, registrar and pauser roles.
    /// @param module a deployed {GiftCertificatesAdmin}.
    constructor(address admin, address module) {
        if (module.code.length == 0) revert InvalidAccount();
        _module = module;
        // The deployer picks the module (it picks the escrow's code too); this runs once, while
        // the escrow is being constructed, and the fallback only ever uses the immutable.
        // slither-disable-next-line controlled-delegatecall
        (bool ok, bytes memory reason) = module.delegatecall(abi.encodeCall(IGiftCertificatesAdmin.initialize, (admin)));
        if (!ok) _revertWith(reason);
    }

    /// @notice Everything not implemented here runs in the admin module, on this storage.
    /// Payable for the module's one payable function, `issueWithTab` (delegatecall keeps the
    /// call's value): every other function of the module refuses a value itself, and the
    /// module has no receive or fallback, so plain ETH sent here is still refused.
    // slither-disable-next-line locked-ether
    fallback() external payable {
        address module = _module;
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), module, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}

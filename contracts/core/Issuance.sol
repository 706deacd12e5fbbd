// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ERC1155Utils} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Utils.sol";

import {CertificateId} from "../CertificateId.sol";
import {GiftCertStorage, CertWord, MerchantWord} from "../libraries/GiftCertStorage.sol";
import {EscrowBase} from "./EscrowBase.sol";

/**
 * @title Issuance
 * @notice The checks and writes an issue is made of: the terms against the pause, the merchant
 * and the policy, the id, the amount, the payment, the new word and its events, the token pull
 * and the receiver hook. The escrow's issue paths ({CertificateLedger}, {ClaimLinks}) and the
 * admin module's issue with a tab open ({TabAccounts-issueWithTab}) are built from them, so an
 * issue is checked the same way whichever contract runs it.
 *
 * Like {EscrowBase} it declares no external function: inheriting it adds nothing to a
 * dispatcher, and what a contract does not reach is not compiled into it.
 */
abstract contract Issuance is EscrowBase {
    using SafeERC20 for IERC20;
    using CertificateId for uint256;
    using CertWord for uint256;
    using MerchantWord for uint256;

    bytes32 internal constant _TRANSFER_SINGLE = keccak256("TransferSingle(address,address,address,uint256,uint256)");
    bytes32 private constant _ISSUED = keccak256("Issued(uint256,uint256,string)");

    /// @dev Checks an issue call's terms against the pause, the merchant and the policy, and
    /// returns the flags of the new certificates (a contract buyer is recorded in full).
    function _beginIssue(GiftCertStorage.Layout storage $, uint256 id) internal returns (uint256 flags) {
        GiftCertStorage.Config storage config = $.config;
        if (config.paused) revert EnforcedPause();
        uint32 merchantId = id.merchant();
        uint256 m = $.merchants[merchantId];
        if (m.account() == address(0)) revert UnknownMerchant(merchantId);
        if (!m.active()) revert MerchantInactive(merchantId);
        uint40 validFrom = id.validFrom();
        uint40 expiry = id.expiry();
        if (validFrom >= expiry) revert InvalidValidFrom(validFrom, expiry);
        // The minimum validity counts from when the certificate opens, not from now.
        uint256 start = validFrom > block.timestamp ? validFrom : block.timestamp;
        uint256 minimumExpiry = start + config.minValidity; // the same slot, warm
        if (expiry < minimumExpiry) revert ValidityTooShort(expiry, uint40(minimumExpiry));
        if (msg.sender != tx.origin) flags = _registerContractBuyer($);
    }

    /// @dev A contract's address can be ground (CREATE2 salts) for a 96-bit tag collision in
    /// about 2^48 tries, so a contract buyer's tag is bound to its full address on first use.
    function _registerContractBuyer(GiftCertStorage.Layout storage $) private returns (uint256) {
        uint96 tag = CertificateId.tagOf(msg.sender);
        address registered = $.contractBuyers[tag];
        if (registered == address(0)) $.contractBuyers[tag] = msg.sender;
        else if (registered != msg.sender) revert BuyerTagTaken(tag, registered);
        return CertWord.FLAG_CONTRACT_BUYER;
    }

    /// @dev The id of the first certificate of an issue call: the terms as they are in calldata
    /// (each field checked to fit its type, as the ABI decoder would: malformed input reverts
    /// without data) and the caller's buyer tag.
    function _idOf(Terms calldata terms) internal view returns (uint256 id) {
        assembly ("memory-safe") {
            let merchant := calldataload(terms)
            let currency := calldataload(add(terms, 0x20))
            let occasion := calldataload(add(terms, 0x40))
            let validFrom := calldataload(add(terms, 0x60))
            let expiry := calldataload(add(terms, 0x80))
            let serial := calldataload(add(terms, 0xa0))
            if or(
                or(or(shr(32, merchant), shr(8, currency)), or(shr(8, occasion), shr(40, validFrom))),
                or(shr(40, expiry), shr(32, serial))
            ) { revert(0, 0) }
            id := or(
                or(or(shl(224, merchant), shl(216, currency)), or(shl(208, occasion), shl(168, validFrom))),
                or(shl(128, expiry), serial)
            )
        }
        id |= uint256(CertificateId.tagOf(msg.sender)) << 32;
    }

    function _requireIssuable(uint256 amount) internal pure {
        if (amount == 0) revert ZeroAmount();
        if (amount > CertWord.MAX_BALANCE) revert AmountTooLarge(amount);
    }

    /// @dev ETH must come as the exact value; an ERC-20 must be allow-listed (pulled later).
    /// `value` is the call's msg.value, passed in by the payable entry points.
    function _requirePayment(GiftCertStorage.Layout storage $, uint8 currencyId, uint256 amount, uint256 value)
        internal
        view
    {
        if (currencyId == _ETH) {
            if (value != amount) revert WrongPayment(value, amount);
            return;
        }
        if (value != 0) revert UnexpectedEth();
        if (!$.currencies[currencyId].allowed) revert CurrencyNotAllowed(currencyId);
    }

    /// @dev Pulls an ERC-20 into escrow after the state is written; the exact amount must
    /// arrive (fee-on-transfer tokens are refused). ETH came with the call.
    function _collect(GiftCertStorage.Layout storage $, uint8 currencyId, uint256 amount) internal {
        if (currencyId == _ETH) return;
        IERC20 token = IERC20($.currencies[currencyId].token);
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert TokenAmountMismatch(received, amount);
    }

    /// @dev emit Issued(id, amount, message), encoded in place (the message straight from
    /// calldata, zero-padded to a whole word) instead of through the ABI encoder's helpers.
    function _emitIssued(uint256 id, uint256 amount, string calldata message) internal {
        bytes32 issued = _ISSUED;
        assembly ("memory-safe") {
            let m := mload(0x40) // scratch at the free memory pointer, not kept
            let length := message.length
            mstore(m, amount)
            mstore(add(m, 0x20), 0x40) // offset of the string in the data
            mstore(add(m, 0x40), length)
            mstore(add(add(m, 0x60), length), 0) // the padding after the last byte
            calldatacopy(add(m, 0x60), message.offset, length)
            log2(m, add(0x60, and(add(length, 0x1f), not(0x1f))), issued, id)
        }
    }

    /// @dev Writes a new certificate's word; the id must be unused.
    function _mint(GiftCertStorage.Layout storage $, address to, uint256 id, uint256 word) internal {
        mapping(uint256 => uint256) storage certs = $.certs;
        bytes32 transferSingle = _TRANSFER_SINGLE;
        bool minted;
        assembly ("memory-safe") {
            mstore(0x00, id)
            mstore(0x20, certs.slot)
            let slot := keccak256(0x00, 0x40)
            minted := and(iszero(iszero(to)), iszero(sload(slot)))
            if minted {
                sstore(slot, word)
                mstore(0x00, id)
                mstore(0x20, 1)
                log4(0x00, 0x40, transferSingle, caller(), 0, to) // IERC1155.TransferSingle
            }
        }
        if (!minted) {
            if (to == address(0)) revert ERC1155InvalidReceiver(address(0));
            revert CertificateExists(id);
        }
    }

    /// @dev The ERC-1155 receiver hook, called last.
    function _checkReceiver(address from, address to, uint256 id) internal {
        if (to.code.length != 0) ERC1155Utils.checkOnERC1155Received(msg.sender, from, to, id, 1, "");
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IERC1155MetadataURI} from "@openzeppelin/contracts/token/ERC1155/extensions/IERC1155MetadataURI.sol";
import {ERC1155Utils} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Utils.sol";

import {IGiftCertificatesAdmin, ICertificateRenderer} from "./interfaces/IGiftCertificates.sol";
import {CertificateId} from "./CertificateId.sol";
import {GiftCertStorage, CertWord, MerchantWord} from "./libraries/GiftCertStorage.sol";
import {GiftCertDomain} from "./libraries/GiftCertDomain.sol";
import {Payouts} from "./core/Payouts.sol";
import {TabAccounts} from "./core/TabAccounts.sol";

/**
 * @title GiftCertificatesAdmin
 * @notice The escrow's module for everything off the per-payment hot paths: the rare value
 * paths ({Payouts}: void, cash-out, reclaim, merchant and deferred withdrawals) and ERC-1155's
 * batch transfer, roles (admin, registrar, pauser), the merchant registry, currencies, policy,
 * pause, ERC-1155 approvals, views, metadata, ERC-165 and the EIP-712 domain views.
 * {GiftCertificates} delegatecalls it, so it runs on the escrow's storage, balance and
 * transient storage at the escrow's address, and every payment it makes is the escrow's. Called
 * directly it only touches its own storage, which is empty (nothing there was ever
 * initialized, issued or credited, and it holds no ETH or tokens): every value path reverts
 * there and moves nothing.
 *
 * What roles can do, and cannot: the registrar registers and (de)activates merchants, but only a
 * merchant's own account can change that account (so nobody can redirect a merchant's money);
 * the admin lists currencies and sets policy and the renderer; the pauser stops issue, transfers
 * and redemptions, never refunds, voids or withdrawals. No role moves anyone's value.
 */
contract GiftCertificatesAdmin is Payouts, TabAccounts, AccessControl {
    using CertificateId for uint256;
    using CertWord for uint256;
    using MerchantWord for uint256;

    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice Default minimum validity: 5 years, as US gift-card law requires.
    uint40 public constant DEFAULT_MIN_VALIDITY = 5 * 365 days + 1 days;

    /// @notice This module's address (the escrow's fallback delegates here): the code runs at
    /// the escrow's address, and an immutable lives in the code, so this answers the same there.
    address public immutable adminModule = address(this);

    /// @inheritdoc IGiftCertificatesAdmin
    /// @dev Runs only inside the escrow's constructor (delegatecall), when the escrow has no
    /// code yet; on the module itself or on a finished escrow it reverts.
    function initialize(address admin) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        if (address(this).code.length != 0 || $.config.initialized) revert AlreadyInitialized();
        if (admin == address(0)) revert InvalidAccount();
        $.config.initialized = true;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REGISTRAR_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        $.config.minValidity = DEFAULT_MIN_VALIDITY;
        $.currencies[_ETH] = GiftCertStorage.Currency(address(0), true);
        $.config.currencyCount = 1;
    }

    // ================================================================ merchants

    /// @notice Registers a merchant whose `account` redeems and receives payouts.
    function registerMerchant(address account, string calldata name)
        external
        onlyRole(REGISTRAR_ROLE)
        returns (uint32 merchantId)
    {
        if (account == address(0)) revert InvalidAccount();
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        merchantId = ++$.config.merchantCount;
        $.merchants[merchantId] = MerchantWord.pack(account, 0, true);
        $.merchantNames[merchantId] = name;
        emit MerchantRegistered(merchantId, account, name);
    }

    /// @notice Activates or deactivates a merchant: an inactive merchant gets no new certificates
    /// and takes no redemptions, but keeps withdrawing what it is owed and voiding.
    function setMerchantActive(uint32 merchantId, bool active) external onlyRole(REGISTRAR_ROLE) {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint256 m = _knownMerchant($, merchantId);
        $.merchants[merchantId] = MerchantWord.pack(m.account(), m.owedEth(), active);
        emit MerchantStatusChanged(merchantId, active);
    }

    /// @notice Moves a merchant to a new account. Only the merchant's current account may do it:
    /// the registrar cannot, so no role can point a merchant's ledger at itself.
    function setMerchantAccount(uint32 merchantId, address account) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint256 m = _callerMerchant($, merchantId);
        if (account == address(0)) revert InvalidAccount();
        $.merchants[merchantId] = MerchantWord.pack(account, m.owedEth(), m.active());
        emit MerchantAccountChanged(merchantId, account);
    }

    /// @notice The merchant lets holders cash out balances up to `limit` (0 disables cash-out).
    function setCashOutLimit(uint32 merchantId, uint8 currencyId, uint128 limit) external {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        _callerMerchant($, merchantId);
        $.ledgers[merchantId][currencyId].cashOutLimit = limit;
        emit CashOutLimitSet(merchantId, currencyId, limit);
    }

    // ================================================================ admin

    /// @notice Allow-lists an ERC-20 (standard tokens only: fee-on-transfer tokens are refused
    /// at deposit because amounts must be exact).
    function allowCurrency(address token) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint8 currencyId) {
        if (token == address(0) || token.code.length == 0) revert InvalidAccount();
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint8 count = $.config.currencyCount;
        if (count == type(uint8).max) revert TooManyCurrencies();
        // One id per token: two ids would split one token's liabilities in two.
        for (uint8 i = 1; i < count; ++i) {
            if ($.currencies[i].token == token) revert CurrencyAlreadyListed(i, token);
        }
        currencyId = count;
        $.config.currencyCount = count + 1;
        $.currencies[currencyId] = GiftCertStorage.Currency(token, true);
        emit CurrencyAllowed(currencyId, token);
    }

    /// @notice Suspends or restores new deposits in a currency; existing certificates keep working.
    function setCurrencyAllowed(uint8 currencyId, bool allowed) external onlyRole(DEFAULT_ADMIN_ROLE) {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        if (currencyId == _ETH || currencyId >= $.config.currencyCount) revert CurrencyNotAllowed(currencyId);
        $.currencies[currencyId].allowed = allowed;
        emit CurrencyStatusChanged(currencyId, allowed);
    }

    /// @notice Sets the minimum time from opening to expiry for new certificates.
    function setMinValidity(uint40 seconds_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        GiftCertStorage.layout().config.minValidity = seconds_;
        emit MinValiditySet(seconds_);
    }

    /// @notice Sets the metadata renderer (a view-only contract: it cannot move anything).
    function setRenderer(address newRenderer) external onlyRole(DEFAULT_ADMIN_ROLE) {
        GiftCertStorage.layout().renderer = newRenderer;
        emit RendererSet(newRenderer);
    }

    /// @notice Stops issue, claims, transfers of value and redemptions. Refunds, voids and
    /// withdrawals go on.
    function pause() external onlyRole(PAUSER_ROLE) {
        GiftCertStorage.Config storage config = GiftCertStorage.layout().config;
        if (config.paused) revert EnforcedPause();
        config.paused = true;
        emit Paused(msg.sender);
    }

    /// @notice Lifts a pause.
    function unpause() external onlyRole(PAUSER_ROLE) {
        GiftCertStorage.Config storage config = GiftCertStorage.layout().config;
        if (!config.paused) revert ExpectedPause();
        config.paused = false;
        emit Unpaused(msg.sender);
    }

    // ================================================================ ERC-1155

    /// @notice ERC-165 for the escrow: ERC-1155, its metadata URI, ERC-4906 and AccessControl.
    function supportsInterface(bytes4 interfaceId) public pure override(AccessControl) returns (bool) {
        return interfaceId == type(IERC1155).interfaceId || interfaceId == type(IERC1155MetadataURI).interfaceId
            || interfaceId == bytes4(0x49064906) // ERC-4906
            || interfaceId == type(IAccessControl).interfaceId || interfaceId == type(IERC165).interfaceId;
    }

    /// @notice Gives several whole certificates to `to`: each is checked and moves as in the
    /// escrow's `safeTransferFrom` (whose fast path this rare call does without); one event and
    /// one receiver check for the batch.
    function safeBatchTransferFrom(
        address from,
        address to,
        uint256[] calldata ids,
        uint256[] calldata values,
        bytes calldata data
    ) external {
        if (ids.length != values.length) revert ERC1155InvalidArrayLength(ids.length, values.length);
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        _requireNotPaused($);
        for (uint256 i; i < ids.length; ++i) {
            _transferChecked($, from, to, ids[i], values[i]);
        }
        emit IERC1155.TransferBatch(msg.sender, from, to, ids, values);
        ERC1155Utils.checkOnERC1155BatchReceived(msg.sender, from, to, ids, values, data);
    }


    /// @notice 1 if `account` holds certificate `id`, else 0.
    function balanceOf(address account, uint256 id) public view returns (uint256) {
        return account != address(0) && GiftCertStorage.layout().certs[id].owner() == account ? 1 : 0;
    }

    /// @notice Batched {balanceOf}.
    function balanceOfBatch(address[] calldata accounts, uint256[] calldata ids)
        external
        view
        returns (uint256[] memory balances)
    {
        if (accounts.length != ids.length) revert ERC1155InvalidArrayLength(ids.length, accounts.length);
        balances = new uint256[](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            balances[i] = balanceOf(accounts[i], ids[i]);
        }
    }

    /// @notice Lets `operator` move and spend all of the caller's certificates.
    function setApprovalForAll(address operator, bool approved) external {
        if (operator == address(0)) revert ERC1155InvalidOperator(address(0));
        GiftCertStorage.layout().operatorApprovals[msg.sender][operator] = approved;
        emit IERC1155.ApprovalForAll(msg.sender, operator, approved);
    }

    /// @notice Whether `operator` may act for `account`.
    function isApprovedForAll(address account, address operator) external view returns (bool) {
        return GiftCertStorage.layout().operatorApprovals[account][operator];
    }

    /// @notice Metadata JSON (data: URI) with on-chain SVG art, from the renderer.
    function uri(uint256 id) external view returns (string memory) {
        return ICertificateRenderer(GiftCertStorage.layout().renderer).render(certificate(id));
    }

    // ================================================================ views

    /// @notice Everything about one certificate (reverts for an unknown id).
    function certificate(uint256 id) public view returns (CertificateView memory view_) {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint256 word = $.certs[id];
        if (word.owner() == address(0)) revert UnknownCertificate(id);
        uint8 currencyId = id.currency();
        bool awaiting = word.has(CertWord.FLAG_AWAITING_CLAIM);
        view_ = CertificateView({
            id: id,
            owner: word.owner(),
            balance: word.balance(),
            merchant: id.merchant(),
            merchantName: $.merchantNames[id.merchant()],
            currency: currencyId,
            token: $.currencies[currencyId].token,
            occasion: id.occasion(),
            validFrom: id.validFrom(),
            expiry: id.expiry(),
            awaitingClaim: awaiting,
            claimDeadline: awaiting ? word.claimDeadline() : 0,
            nonce: awaiting ? 0 : word.nonce()
        });
    }

    /// @notice Owner of a certificate (address(0) if it does not exist or was burned).
    function ownerOf(uint256 id) external view returns (address) {
        return GiftCertStorage.layout().certs[id].owner();
    }

    /// @notice Remaining balance of a certificate in its currency's smallest unit.
    function balanceOfCertificate(uint256 id) external view returns (uint256) {
        return GiftCertStorage.layout().certs[id].balance();
    }

    /// @notice The nonce the holder's next signed authorisation must carry.
    function nonceOf(uint256 id) external view returns (uint256) {
        uint256 word = GiftCertStorage.layout().certs[id];
        return word.has(CertWord.FLAG_AWAITING_CLAIM) ? 0 : word.nonce();
    }

    /// @notice Whether `buyer` is the certificate's buyer (refund target).
    function isBuyer(uint256 id, address buyer) external view returns (bool) {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        return GiftCertStorage.isBuyer($, id, $.certs[id], buyer);
    }

    /// @notice A merchant's account, name and status.
    function merchant(uint32 merchantId) external view returns (address account, string memory name, bool active) {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        uint256 m = $.merchants[merchantId];
        return (m.account(), $.merchantNames[merchantId], m.active());
    }

    /// @notice Number of registered merchants (ids are 1..count).
    function merchantCount() external view returns (uint32) {
        return GiftCertStorage.layout().config.merchantCount;
    }

    /// @notice What the merchant can withdraw in a currency, and its cash-out limit there.
    function merchantLedger(uint32 merchantId, uint8 currencyId)
        external
        view
        returns (uint256 owed, uint256 cashOutLimit)
    {
        GiftCertStorage.Layout storage $ = GiftCertStorage.layout();
        GiftCertStorage.Ledger storage ledger = $.ledgers[merchantId][currencyId];
        owed = currencyId == _ETH ? $.merchants[merchantId].owedEth() : ledger.owed;
        cashOutLimit = ledger.cashOutLimit;
    }

    /// @notice Token address of a currency (address(0) for ETH) and whether deposits are allowed.
    function currency(uint8 currencyId) external view returns (address token, bool allowed) {
        GiftCertStorage.Currency storage c = GiftCertStorage.layout().currencies[currencyId];
        return (c.token, c.allowed);
    }

    /// @notice Number of currencies (ids are 0..count-1; 0 is ETH).
    function currencyCount() external view returns (uint8) {
        return GiftCertStorage.layout().config.currencyCount;
    }

    /// @notice Payments to `account` that failed and wait for {withdrawDeferred}.
    function deferredOf(address account, uint8 currencyId) external view returns (uint256) {
        return GiftCertStorage.layout().deferred[account][currencyId];
    }

    /// @notice Minimum time from opening to expiry, in seconds.
    function minValidity() external view returns (uint40) {
        return GiftCertStorage.layout().config.minValidity;
    }

    /// @notice Whether the contract is paused.
    function paused() external view returns (bool) {
        return GiftCertStorage.layout().config.paused;
    }

    /// @notice The metadata renderer.
    function renderer() external view returns (address) {
        return GiftCertStorage.layout().renderer;
    }

    /// @notice The EIP-712 domain separator of the escrow (this code runs at the escrow's
    /// address, by delegatecall): what the holder's and the claim key's signatures bind to.
    function domainSeparator() external view returns (bytes32) {
        return GiftCertDomain.separator(address(this));
    }

    /// @notice ERC-5267: the EIP-712 domain's fields (name, version, chain id, contract), as
    /// wallets read them to show what is being signed.
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", GiftCertDomain.NAME, GiftCertDomain.VERSION, block.chainid, address(this), bytes32(0), new uint256[](0));
    }
}

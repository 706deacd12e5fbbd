// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IERC1155MetadataURI} from "@openzeppelin/contracts/token/ERC1155/extensions/IERC1155MetadataURI.sol";
import {ERC1155Utils} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Utils.sol";
import {IERC1155Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {CertificateId} from "./CertificateId.sol";

/// @notice Renders a certificate's metadata JSON (with on-chain SVG art) for wallets.
interface ICertificateRenderer {
    /// @notice Metadata JSON (a data: URI) for `cert`.
    function render(GiftCertificates.CertificateView calldata cert) external view returns (string memory);
}

/**
 * @title GiftCertificates
 * @notice Tokenized gift certificates for small payments. A giver escrows ETH or an allow-listed
 * ERC-20 in a certificate for a friend; the holder spends it in pieces at the one merchant it is
 * for; whatever is left at expiry goes back to the giver.
 *
 * Each certificate is an ERC-1155 token with supply 1 (ERC-1155 keeps no per-owner counter, so a
 * certificate costs one storage slot where ERC-721 needs two). Its immutable terms live in its id
 * (see {CertificateId}); its slot holds owner, balance and flags.
 *
 * Money flow: redemptions credit the merchant's ledger (never call out), and merchants withdraw;
 * refunds, voids and cash-outs push to the recipient and fall back to a pull balance when the push
 * fails, so one reverting recipient never locks funds or blocks anyone else. For every currency:
 * holdings == sum of certificate balances + merchant ledgers + deferred payments.
 *
 * Reentrancy: every function that calls out (value transfers, token transfers, ERC-1155 receiver
 * hooks) is `nonReentrant` and writes state before the call. Redemption and merge make no calls
 * (ERC-1271 checks are static calls), so they skip the guard's gas.
 */
contract GiftCertificates is AccessControl, EIP712, ReentrancyGuardTransient, IERC1155, IERC1155MetadataURI, IERC1155Errors {
    using SafeERC20 for IERC20;
    using CertificateId for uint256;

    // ---------------------------------------------------------------- roles and constants

    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice Currency id 0 is native ETH; ERC-20s get ids 1..255 when allow-listed.
    uint8 public constant ETH = 0;

    /// @notice Default minimum validity: 5 years, as US gift-card law requires.
    uint40 public constant DEFAULT_MIN_VALIDITY = 5 * 365 days + 1 days;

    /// @notice Gas forwarded to a payout recipient; enough for smart wallets, not for griefing.
    uint256 public constant PAYOUT_GAS = 100_000;

    bytes32 public constant REDEMPTION_TYPEHASH = keccak256(
        "Redemption(uint256 certificate,uint32 merchant,uint256 amount,uint256 orderRef,uint256 deadline)"
    );
    bytes32 public constant CLAIM_TYPEHASH = keccak256("Claim(uint256 certificate,address recipient)");

    uint8 private constant _FLAG_AWAITING_CLAIM = 1;

    // ---------------------------------------------------------------- types

    /// @dev One slot per certificate.
    struct Cert {
        address owner;
        uint88 balance;
        uint8 flags;
    }

    /// @dev One slot per merchant; ETH owed to the merchant is packed here because ETH
    /// redemptions are the hot path (saves a cold slot per redemption).
    struct Merchant {
        address account;
        bool active;
        uint88 owedEth;
    }

    /// @dev One slot per (merchant, ERC-20 currency), plus the cash-out limit for every currency.
    struct Ledger {
        uint128 owed;
        uint128 cashOutLimit;
    }

    struct Currency {
        address token;
        bool allowed;
    }

    /// @dev Contract-wide configuration in one slot, read by every state change.
    struct Config {
        uint32 lastSerial;
        uint40 minValidity;
        bool paused;
        uint8 currencyCount;
        uint32 merchantCount;
    }

    /// @notice Terms shared by every certificate of an issue call.
    struct Terms {
        uint32 merchant;
        uint8 currency;
        uint8 occasion;
        uint40 validFrom;
        uint40 expiry;
    }

    /// @notice A holder's authorisation for a merchant to redeem `amount` from `certificate`.
    /// `orderRef` is the merchant's order reference, usable once per merchant: it is the nonce.
    struct Redemption {
        uint256 certificate;
        uint32 merchant;
        uint256 amount;
        uint256 orderRef;
        uint256 deadline;
    }

    /// @notice Everything a renderer or client needs to show one certificate.
    struct CertificateView {
        uint256 id;
        address owner;
        uint256 balance;
        uint32 merchant;
        string merchantName;
        uint8 currency;
        address token;
        uint8 occasion;
        uint40 validFrom;
        uint40 expiry;
        bool awaitingClaim;
        uint40 claimDeadline;
    }

    // ---------------------------------------------------------------- storage

    Config private _config;
    mapping(uint256 id => Cert) private _certs;
    mapping(uint256 id => uint40) private _claimDeadlines;
    mapping(uint32 merchantId => Merchant) private _merchants;
    mapping(uint32 merchantId => string) private _merchantNames;
    mapping(uint32 merchantId => mapping(uint8 currencyId => Ledger)) private _ledgers;
    mapping(uint32 merchantId => mapping(uint256 word => uint256)) private _usedOrderRefs;
    mapping(uint8 currencyId => Currency) private _currencies;
    mapping(address account => mapping(uint8 currencyId => uint256)) private _deferred;
    mapping(address account => mapping(address operator => bool)) private _operatorApprovals;
    ICertificateRenderer public renderer;

    // ---------------------------------------------------------------- events

    /// @notice A certificate was bought: `buyer` escrowed `amount`; `message` is the giver's note.
    event Issued(uint256 indexed id, address indexed buyer, uint256 amount, string message);
    /// @notice A certificate was issued to a claim key; the buyer may reclaim after `deadline`.
    event ClaimLinkCreated(uint256 indexed id, address indexed claimKey, uint40 deadline);
    event Claimed(uint256 indexed id, address indexed recipient);
    event Reclaimed(uint256 indexed id, address indexed buyer, uint256 amount);
    event ToppedUp(uint256 indexed id, address indexed from, uint256 amount);
    event Split(uint256 indexed fromId, uint256 indexed newId, address indexed to, uint256 amount);
    event Merged(uint256 indexed fromId, uint256 indexed intoId, uint256 amount);
    event Redeemed(uint256 indexed id, uint32 indexed merchant, uint256 indexed orderRef, uint256 amount);
    event Refunded(uint256 indexed id, address indexed buyer, uint256 amount);
    event Voided(uint256 indexed id, uint32 indexed merchant, address indexed holder, uint256 amount);
    event CashedOut(uint256 indexed id, address indexed holder, uint256 amount);
    /// @notice ERC-4906: wallets should refresh this token's metadata (its balance changed).
    event MetadataUpdate(uint256 _tokenId);

    event MerchantRegistered(uint32 indexed merchant, address indexed account, string name);
    event MerchantStatusChanged(uint32 indexed merchant, bool active);
    event MerchantAccountChanged(uint32 indexed merchant, address indexed account);
    event CashOutLimitSet(uint32 indexed merchant, uint8 indexed currency, uint256 limit);
    event MerchantWithdrawal(uint32 indexed merchant, uint8 indexed currency, address to, uint256 amount);
    event CurrencyAllowed(uint8 indexed currency, address indexed token);
    event CurrencyStatusChanged(uint8 indexed currency, bool allowed);
    event MinValiditySet(uint40 minValidity);
    event RendererSet(address indexed renderer);
    event Paused(address indexed account);
    event Unpaused(address indexed account);
    /// @notice A push payment failed; `to` can withdraw it with {withdrawDeferred}.
    event PaymentDeferred(address indexed to, uint8 indexed currency, uint256 amount);
    event DeferredWithdrawn(address indexed to, uint8 indexed currency, uint256 amount);

    // ---------------------------------------------------------------- errors

    error EnforcedPause();
    error ExpectedPause();
    error UnknownCertificate(uint256 id);
    error NotHolder(uint256 id, address caller);
    error NotBuyer(uint256 id, address caller);
    error NotMerchant(uint32 merchant, address caller);
    error UnknownMerchant(uint32 merchant);
    error MerchantInactive(uint32 merchant);
    error WrongMerchant(uint256 id, uint32 merchant);
    error CurrencyNotAllowed(uint8 currency);
    error CurrencyMismatch(uint256 id, uint8 currency);
    error TooManyCurrencies();
    error CurrencyAlreadyListed(uint8 currency, address token);
    error ZeroAmount();
    error AmountTooLarge(uint256 amount);
    error WrongPayment(uint256 sent, uint256 expected);
    error UnexpectedEth();
    error TokenAmountMismatch(uint256 received, uint256 expected);
    error ValidityTooShort(uint40 expiry, uint40 minimumExpiry);
    error InvalidValidFrom(uint40 validFrom, uint40 expiry);
    error NotYetValid(uint256 id, uint40 validFrom);
    error Expired(uint256 id, uint40 expiry);
    error NotExpired(uint256 id, uint40 expiry);
    error InsufficientBalance(uint256 id, uint256 balance, uint256 needed);
    error OrderRefUsed(uint32 merchant, uint256 orderRef);
    error AuthorizationExpired(uint256 deadline);
    error InvalidSignature();
    error AwaitingClaim(uint256 id);
    error NotClaimable(uint256 id);
    error ClaimWindowOpen(uint256 id, uint40 deadline);
    error InvalidClaimDeadline(uint40 deadline);
    error IncompatibleCertificates(uint256 fromId, uint256 intoId);
    error CashOutNotAllowed(uint256 id, uint256 balance, uint256 limit);
    error NothingToWithdraw();
    error LengthMismatch();
    error EmptyBatch();
    error TransferFailed();
    error InvalidAccount();

    // ---------------------------------------------------------------- construction

    /// @param admin receives the admin, registrar and pauser roles.
    constructor(address admin) EIP712("GiftCertificates", "1") {
        if (admin == address(0)) revert InvalidAccount();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REGISTRAR_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        _config.minValidity = DEFAULT_MIN_VALIDITY;
        _currencies[ETH] = Currency(address(0), true);
        _config.currencyCount = 1;
    }

    // ================================================================ issue

    /**
     * @notice Buys a certificate for `to` and escrows `amount` of the terms' currency in it.
     * @dev ETH: send exactly `amount` as value. ERC-20: approve this contract first.
     * The occasion is a small enum shown in the art; the message lives only in the event.
     * @return id the new certificate's id.
     */
    function issue(address to, Terms calldata terms, uint256 amount, string calldata message)
        external
        payable
        nonReentrant
        returns (uint256 id)
    {
        id = _beginIssue(terms, 1);
        _collect(terms.currency, amount, msg.value);
        _mintNew(to, id, amount, 0, message);
    }

    /**
     * @notice Buys one certificate per recipient, all on the same terms, in one transaction.
     * @dev For ETH send the exact sum of `amounts` as value.
     * @return firstId the id of the first certificate; the rest follow with consecutive serials.
     */
    function issueBatch(
        address[] calldata recipients,
        uint256[] calldata amounts,
        Terms calldata terms,
        string calldata message
    ) external payable nonReentrant returns (uint256 firstId) {
        uint256 n = recipients.length;
        if (n == 0) revert EmptyBatch();
        if (n != amounts.length) revert LengthMismatch();
        uint256 total = 0;
        for (uint256 i; i < n; ++i) {
            total += amounts[i];
        }
        firstId = _beginIssue(terms, n);
        _collect(terms.currency, total, msg.value);
        for (uint256 i; i < n; ++i) {
            _mintNew(recipients[i], firstId + i, amounts[i], 0, message); // serials are consecutive
        }
    }

    /**
     * @notice Buys a certificate redeemable through a claim link: it is held by `claimKey`
     * (an address whose private key travels in the link) until someone claims it with that key's
     * signature over the recipient. After `claimDeadline` the buyer may take an unclaimed gift back.
     */
    function issueClaimable(
        address claimKey,
        Terms calldata terms,
        uint256 amount,
        uint40 claimDeadline,
        string calldata message
    ) external payable nonReentrant returns (uint256 id) {
        if (claimDeadline <= block.timestamp || claimDeadline > terms.expiry) {
            revert InvalidClaimDeadline(claimDeadline);
        }
        id = _beginIssue(terms, 1);
        _collect(terms.currency, amount, msg.value);
        _mintNew(claimKey, id, amount, _FLAG_AWAITING_CLAIM, message);
        _claimDeadlines[id] = claimDeadline;
        emit ClaimLinkCreated(id, claimKey, claimDeadline);
    }

    /**
     * @notice Adds `amount` to a certificate's balance (reload). Anyone may top up; whatever is
     * left at expiry still returns to the original buyer.
     */
    function topUp(uint256 id, uint256 amount) external payable nonReentrant {
        _requireNotPaused();
        Cert storage cert = _existing(id);
        _requireNotExpired(id);
        _collect(id.currency(), amount, msg.value);
        uint256 newBalance = cert.balance + amount;
        if (newBalance > type(uint88).max) revert AmountTooLarge(newBalance);
        cert.balance = uint88(newBalance);
        emit ToppedUp(id, msg.sender, amount);
        emit MetadataUpdate(id);
    }

    // ================================================================ claim links

    /**
     * @notice Delivers a claim-link certificate to `recipient`. `signature` is the claim key's
     * EIP-712 signature of Claim(certificate, recipient) on this chain and contract, so a copied
     * transaction cannot redirect the gift. Anyone may submit it (the recipient needs no gas).
     */
    function claim(uint256 id, address recipient, bytes calldata signature) external nonReentrant {
        Cert storage cert = _existing(id);
        if (cert.flags & _FLAG_AWAITING_CLAIM == 0) revert NotClaimable(id);
        _requireNotExpired(id);
        if (recipient == address(0)) revert ERC1155InvalidReceiver(address(0));
        address claimKey = cert.owner;
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(CLAIM_TYPEHASH, id, recipient)));
        if (!_isValidSignature(claimKey, digest, signature)) revert InvalidSignature();
        cert.owner = recipient;
        cert.flags &= ~_FLAG_AWAITING_CLAIM;
        delete _claimDeadlines[id];
        emit Claimed(id, recipient);
        emit TransferSingle(msg.sender, claimKey, recipient, id, 1);
        ERC1155Utils.checkOnERC1155Received(msg.sender, claimKey, recipient, id, 1, "");
    }

    /// @notice The buyer takes back an unclaimed claim-link gift once its claim deadline passed.
    function reclaim(uint256 id) external nonReentrant {
        Cert storage cert = _existing(id);
        if (cert.flags & _FLAG_AWAITING_CLAIM == 0) revert NotClaimable(id);
        _requireBuyer(id, msg.sender);
        uint40 deadline = _claimDeadlines[id];
        if (block.timestamp <= deadline) revert ClaimWindowOpen(id, deadline);
        delete _claimDeadlines[id];
        uint256 amount = _burn(id, cert.owner);
        emit Reclaimed(id, msg.sender, amount);
        _pay(id.currency(), msg.sender, amount);
    }

    // ================================================================ re-gift

    /**
     * @notice Moves `amount` of a certificate's balance into a new certificate for `to`, on the
     * same terms (merchant, currency, dates, buyer).
     * @return newId the new certificate's id.
     */
    function split(uint256 id, uint256 amount, address to) external nonReentrant returns (uint256 newId) {
        _requireNotPaused();
        Cert storage cert = _existing(id);
        _requireHolder(id, cert.owner);
        _requireSpendable(id, cert);
        if (amount == 0) revert ZeroAmount();
        uint256 balance = cert.balance;
        if (amount > balance) revert InsufficientBalance(id, balance, amount);
        cert.balance = uint88(balance - amount);
        newId = id.withSerial(_nextSerial());
        _mintTo(to, newId, amount, 0);
        emit Split(id, newId, to, amount);
        emit MetadataUpdate(id);
    }

    /**
     * @notice Moves the whole balance of `fromId` into `intoId` and burns `fromId`. Both must be
     * held by the caller, open, for the same merchant, currency and buyer, and `intoId` must not
     * expire before `fromId` (the holder never loses time).
     */
    function merge(uint256 fromId, uint256 intoId) external {
        _requireNotPaused();
        if (fromId == intoId || !_compatible(fromId, intoId)) revert IncompatibleCertificates(fromId, intoId);
        Cert storage from = _existing(fromId);
        Cert storage into = _existing(intoId);
        _requireHolder(fromId, from.owner);
        _requireHolder(intoId, into.owner);
        _requireSpendable(fromId, from);
        _requireSpendable(intoId, into);
        uint256 amount = _burn(fromId, from.owner);
        into.balance += uint88(amount); // same currency, sum bounded by that currency's holdings
        emit Merged(fromId, intoId, amount);
        emit MetadataUpdate(intoId);
    }

    // ================================================================ redeem

    /**
     * @notice The holder pays `amount` to the certificate's merchant for order `orderRef`.
     * @dev The merchant's ledger is credited; the merchant withdraws with {withdrawMerchant}.
     */
    function redeem(uint256 id, uint256 amount, uint256 orderRef) external {
        _requireNotPaused();
        Cert storage cert = _existing(id);
        _requireHolder(id, cert.owner);
        uint32 merchantId = id.merchant();
        _debit(id, cert, merchantId, amount, orderRef);
        _credit(merchantId, id.currency(), amount);
    }

    /**
     * @notice The merchant redeems with the holder's EIP-712 authorisation (the holder pays no
     * gas). Signatures from contract wallets are checked with ERC-1271.
     */
    function redeemWithAuthorization(Redemption calldata auth, bytes calldata signature) external {
        _requireNotPaused();
        _requireMerchantAccount(auth.merchant);
        _redeemAuthorized(auth, signature);
        _credit(auth.merchant, auth.certificate.currency(), auth.amount);
    }

    /**
     * @notice Settles many authorisations for one merchant in one transaction. All or nothing:
     * the first failing authorisation reverts the batch with its reason.
     */
    function settleBatch(uint32 merchantId, Redemption[] calldata auths, bytes[] calldata signatures) external {
        _requireNotPaused();
        uint256 n = auths.length;
        if (n == 0) revert EmptyBatch();
        if (n != signatures.length) revert LengthMismatch();
        _requireMerchantAccount(merchantId);
        uint256 ethTotal = 0;
        for (uint256 i; i < n; ++i) {
            Redemption calldata auth = auths[i];
            if (auth.merchant != merchantId) revert WrongMerchant(auth.certificate, auth.merchant);
            _redeemAuthorized(auth, signatures[i]);
            uint8 currencyId = auth.certificate.currency();
            if (currencyId == ETH) ethTotal += auth.amount;
            else _credit(merchantId, currencyId, auth.amount);
        }
        if (ethTotal != 0) _credit(merchantId, ETH, ethTotal);
    }

    // ================================================================ refunds, voids, cash-out

    /**
     * @notice After expiry, returns the remaining balance to the buyer and burns the certificate.
     * Anyone may trigger it; the money only goes to `buyer`, who must be the certificate's buyer.
     * Works while paused.
     */
    function refund(uint256 id, address buyer) external nonReentrant {
        Cert storage cert = _existing(id);
        _requireBuyer(id, buyer);
        uint40 expiry = id.expiry();
        if (block.timestamp < expiry) revert NotExpired(id, expiry);
        if (cert.flags & _FLAG_AWAITING_CLAIM != 0) delete _claimDeadlines[id];
        uint256 amount = _burn(id, cert.owner);
        emit Refunded(id, buyer, amount);
        _pay(id.currency(), buyer, amount);
    }

    /// @notice The merchant voids a certificate: its remaining balance goes back to the holder.
    function void(uint256 id) external nonReentrant {
        Cert storage cert = _existing(id);
        uint32 merchantId = id.merchant();
        _requireMerchantAccount(merchantId);
        if (cert.flags & _FLAG_AWAITING_CLAIM != 0) revert AwaitingClaim(id);
        address holder = cert.owner;
        uint256 amount = _burn(id, holder);
        emit Voided(id, merchantId, holder, amount);
        _pay(id.currency(), holder, amount);
    }

    /// @notice The holder takes out a small remaining balance, where the merchant allows it.
    function cashOut(uint256 id) external nonReentrant {
        _requireNotPaused();
        Cert storage cert = _existing(id);
        address holder = cert.owner;
        _requireHolder(id, holder);
        _requireSpendable(id, cert);
        uint256 balance = cert.balance;
        uint256 limit = _ledgers[id.merchant()][id.currency()].cashOutLimit;
        if (balance == 0 || balance > limit) revert CashOutNotAllowed(id, balance, limit);
        _burn(id, holder);
        emit CashedOut(id, holder, balance);
        _pay(id.currency(), holder, balance);
    }

    // ================================================================ withdrawals

    /// @notice Pays the merchant's accumulated redemptions in `currencyId` to its account.
    function withdrawMerchant(uint32 merchantId, uint8 currencyId) external nonReentrant {
        address account = _requireMerchantAccount(merchantId);
        uint256 amount;
        if (currencyId == ETH) {
            amount = _merchants[merchantId].owedEth;
            _merchants[merchantId].owedEth = 0;
        } else {
            Ledger storage ledger = _ledgers[merchantId][currencyId];
            amount = ledger.owed;
            ledger.owed = 0;
        }
        if (amount == 0) revert NothingToWithdraw();
        emit MerchantWithdrawal(merchantId, currencyId, account, amount);
        _transferOut(currencyId, account, amount, type(uint256).max);
    }

    /// @notice Withdraws payments to the caller that could not be pushed (see {PaymentDeferred}).
    function withdrawDeferred(uint8 currencyId) external nonReentrant {
        uint256 amount = _deferred[msg.sender][currencyId];
        if (amount == 0) revert NothingToWithdraw();
        _deferred[msg.sender][currencyId] = 0;
        emit DeferredWithdrawn(msg.sender, currencyId, amount);
        _transferOut(currencyId, msg.sender, amount, type(uint256).max);
    }

    // ================================================================ merchants (registrar)

    /// @notice Registers a merchant whose `account` redeems and receives payouts.
    function registerMerchant(address account, string calldata name)
        external
        onlyRole(REGISTRAR_ROLE)
        returns (uint32 merchantId)
    {
        if (account == address(0)) revert InvalidAccount();
        merchantId = ++_config.merchantCount;
        _merchants[merchantId] = Merchant(account, true, 0);
        _merchantNames[merchantId] = name;
        emit MerchantRegistered(merchantId, account, name);
    }

    /// @notice Activates or deactivates a merchant; an inactive merchant cannot be issued or redeem.
    function setMerchantActive(uint32 merchantId, bool active) external onlyRole(REGISTRAR_ROLE) {
        _knownMerchant(merchantId).active = active;
        emit MerchantStatusChanged(merchantId, active);
    }

    /// @notice Changes a merchant's account; the registrar or the merchant itself may do it.
    function setMerchantAccount(uint32 merchantId, address account) external {
        Merchant storage record = _knownMerchant(merchantId);
        if (msg.sender != record.account && !hasRole(REGISTRAR_ROLE, msg.sender)) {
            revert NotMerchant(merchantId, msg.sender);
        }
        if (account == address(0)) revert InvalidAccount();
        record.account = account;
        emit MerchantAccountChanged(merchantId, account);
    }

    /// @notice The merchant lets holders cash out balances up to `limit` (0 disables cash-out).
    function setCashOutLimit(uint32 merchantId, uint8 currencyId, uint128 limit) external {
        _requireMerchantAccount(merchantId);
        _ledgers[merchantId][currencyId].cashOutLimit = limit;
        emit CashOutLimitSet(merchantId, currencyId, limit);
    }

    // ================================================================ admin

    /// @notice Allow-lists an ERC-20 (standard tokens only: fee-on-transfer tokens are rejected
    /// at deposit because amounts must be exact).
    function allowCurrency(address token) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint8 currencyId) {
        if (token == address(0) || token.code.length == 0) revert InvalidAccount();
        uint8 count = _config.currencyCount;
        if (count == type(uint8).max) revert TooManyCurrencies();
        // One id per token: two ids would split one token's liabilities in two.
        for (uint8 i = 1; i < count; ++i) {
            if (_currencies[i].token == token) revert CurrencyAlreadyListed(i, token);
        }
        currencyId = count;
        _config.currencyCount = count + 1;
        _currencies[currencyId] = Currency(token, true);
        emit CurrencyAllowed(currencyId, token);
    }

    /// @notice Suspends or restores new deposits in a currency; existing certificates keep working.
    function setCurrencyAllowed(uint8 currencyId, bool allowed) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (currencyId == ETH || currencyId >= _config.currencyCount) revert CurrencyNotAllowed(currencyId);
        _currencies[currencyId].allowed = allowed;
        emit CurrencyStatusChanged(currencyId, allowed);
    }

    /// @notice Sets the minimum time from issue to expiry.
    function setMinValidity(uint40 seconds_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _config.minValidity = seconds_;
        emit MinValiditySet(seconds_);
    }

    /// @notice Sets the metadata renderer.
    function setRenderer(ICertificateRenderer newRenderer) external onlyRole(DEFAULT_ADMIN_ROLE) {
        renderer = newRenderer;
        emit RendererSet(address(newRenderer));
    }

    /// @notice Stops issue, transfers of value and redemptions. Refunds and withdrawals go on.
    function pause() external onlyRole(PAUSER_ROLE) {
        if (_config.paused) revert EnforcedPause();
        _config.paused = true;
        emit Paused(msg.sender);
    }

    /// @notice Lifts a pause.
    function unpause() external onlyRole(PAUSER_ROLE) {
        if (!_config.paused) revert ExpectedPause();
        _config.paused = false;
        emit Unpaused(msg.sender);
    }

    // ================================================================ ERC-1155

    /// @notice 1 if `account` holds certificate `id`, else 0.
    function balanceOf(address account, uint256 id) public view returns (uint256) {
        return account != address(0) && _certs[id].owner == account ? 1 : 0;
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
        _operatorApprovals[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    /// @notice Whether `operator` may act for `account`.
    function isApprovedForAll(address account, address operator) public view returns (bool) {
        return _operatorApprovals[account][operator];
    }

    /// @notice Gives a whole certificate (value must be 1) to `to`.
    function safeTransferFrom(address from, address to, uint256 id, uint256 value, bytes calldata data)
        external
        nonReentrant
    {
        _transfer(from, to, id, value);
        emit TransferSingle(msg.sender, from, to, id, value);
        ERC1155Utils.checkOnERC1155Received(msg.sender, from, to, id, value, data);
    }

    /// @notice Gives several whole certificates to `to`.
    function safeBatchTransferFrom(
        address from,
        address to,
        uint256[] calldata ids,
        uint256[] calldata values,
        bytes calldata data
    ) external nonReentrant {
        if (ids.length != values.length) revert ERC1155InvalidArrayLength(ids.length, values.length);
        for (uint256 i; i < ids.length; ++i) {
            _transfer(from, to, ids[i], values[i]);
        }
        emit TransferBatch(msg.sender, from, to, ids, values);
        ERC1155Utils.checkOnERC1155BatchReceived(msg.sender, from, to, ids, values, data);
    }

    /// @notice Metadata JSON (data: URI) with on-chain SVG art, from the renderer.
    function uri(uint256 id) external view returns (string memory) {
        return renderer.render(certificate(id));
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) public view override(AccessControl, IERC165) returns (bool) {
        return interfaceId == type(IERC1155).interfaceId || interfaceId == type(IERC1155MetadataURI).interfaceId
            || interfaceId == bytes4(0x49064906) // ERC-4906
            || super.supportsInterface(interfaceId);
    }

    // ================================================================ views

    /// @notice Everything about one certificate (reverts for an unknown id).
    function certificate(uint256 id) public view returns (CertificateView memory view_) {
        Cert storage cert = _existing(id);
        uint8 currencyId = id.currency();
        view_ = CertificateView({
            id: id,
            owner: cert.owner,
            balance: cert.balance,
            merchant: id.merchant(),
            merchantName: _merchantNames[id.merchant()],
            currency: currencyId,
            token: _currencies[currencyId].token,
            occasion: id.occasion(),
            validFrom: id.validFrom(),
            expiry: id.expiry(),
            awaitingClaim: cert.flags & _FLAG_AWAITING_CLAIM != 0,
            claimDeadline: _claimDeadlines[id]
        });
    }

    /// @notice Owner of a certificate (address(0) if it does not exist or was burned).
    function ownerOf(uint256 id) external view returns (address) {
        return _certs[id].owner;
    }

    /// @notice Remaining balance of a certificate in its currency's smallest unit.
    function balanceOfCertificate(uint256 id) external view returns (uint256) {
        return _certs[id].balance;
    }

    /// @notice Whether `buyer` is the certificate's buyer (refund target).
    function isBuyer(uint256 id, address buyer) external pure returns (bool) {
        return id.buyerTag() == CertificateId.tagOf(buyer);
    }

    /// @notice A merchant's account, name and status.
    function merchant(uint32 merchantId) external view returns (address account, string memory name, bool active) {
        Merchant storage m = _merchants[merchantId];
        return (m.account, _merchantNames[merchantId], m.active);
    }

    /// @notice Number of registered merchants (ids are 1..count).
    function merchantCount() external view returns (uint32) {
        return _config.merchantCount;
    }

    /// @notice What the merchant can withdraw in a currency, and its cash-out limit there.
    function merchantLedger(uint32 merchantId, uint8 currencyId)
        external
        view
        returns (uint256 owed, uint256 cashOutLimit)
    {
        Ledger storage ledger = _ledgers[merchantId][currencyId];
        owed = currencyId == ETH ? _merchants[merchantId].owedEth : ledger.owed;
        cashOutLimit = ledger.cashOutLimit;
    }

    /// @notice Whether a merchant's order reference has been used.
    function orderRefUsed(uint32 merchantId, uint256 orderRef) external view returns (bool) {
        return _usedOrderRefs[merchantId][orderRef >> 8] & (1 << (orderRef & 0xff)) != 0;
    }

    /// @notice Token address of a currency (address(0) for ETH) and whether deposits are allowed.
    function currency(uint8 currencyId) external view returns (address token, bool allowed) {
        Currency storage c = _currencies[currencyId];
        return (c.token, c.allowed);
    }

    /// @notice Number of currencies (ids are 0..count-1; 0 is ETH).
    function currencyCount() external view returns (uint8) {
        return _config.currencyCount;
    }

    /// @notice Payments to `account` that failed and wait for {withdrawDeferred}.
    function deferredOf(address account, uint8 currencyId) external view returns (uint256) {
        return _deferred[account][currencyId];
    }

    /// @notice Minimum time from issue to expiry, in seconds.
    function minValidity() external view returns (uint40) {
        return _config.minValidity;
    }

    /// @notice Whether the contract is paused.
    function paused() external view returns (bool) {
        return _config.paused;
    }

    /// @notice The EIP-712 domain separator (chain id and this contract are bound into it).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ================================================================ internals: issue

    /// @dev Checks terms, mints one certificate and emits its events.
    function _mintNew(address to, uint256 id, uint256 amount, uint8 flags, string calldata message) private {
        _mintTo(to, id, amount, flags);
        emit Issued(id, msg.sender, amount, message);
    }

    /// @dev Validates the terms of an issue call and reserves `count` serials, reading and
    /// writing the config slot once however many certificates the call issues. Returns the first
    /// id; the others are the following integers (only the serial, in the low bits, differs).
    function _beginIssue(Terms calldata terms, uint256 count) private returns (uint256 firstId) {
        Config memory config = _config;
        if (config.paused) revert EnforcedPause();
        Merchant storage m = _merchants[terms.merchant];
        if (m.account == address(0)) revert UnknownMerchant(terms.merchant);
        if (!m.active) revert MerchantInactive(terms.merchant);
        uint40 minimumExpiry = uint40(block.timestamp) + config.minValidity;
        if (terms.expiry < minimumExpiry) revert ValidityTooShort(terms.expiry, minimumExpiry);
        if (terms.validFrom >= terms.expiry) revert InvalidValidFrom(terms.validFrom, terms.expiry);
        _config.lastSerial = SafeCast.toUint32(config.lastSerial + count);
        firstId = CertificateId.encode(
            terms.merchant,
            terms.currency,
            terms.occasion,
            terms.validFrom,
            terms.expiry,
            CertificateId.tagOf(msg.sender),
            config.lastSerial + 1
        );
    }

    /// @dev Takes `amount` (the total of an issue call or top-up) into escrow.
    function _collect(uint8 currencyId, uint256 amount, uint256 value) private {
        if (amount == 0) revert ZeroAmount();
        if (amount > type(uint88).max) revert AmountTooLarge(amount);
        if (currencyId == ETH) {
            if (value != amount) revert WrongPayment(value, amount);
            return;
        }
        if (value != 0) revert UnexpectedEth();
        Currency storage c = _currencies[currencyId];
        if (!c.allowed) revert CurrencyNotAllowed(currencyId);
        IERC20 token = IERC20(c.token);
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert TokenAmountMismatch(received, amount);
    }

    /// @dev Writes the certificate's single slot; the receiver hook runs last (CEI).
    function _mintTo(address to, uint256 id, uint256 amount, uint8 flags) private {
        if (to == address(0)) revert ERC1155InvalidReceiver(address(0));
        if (amount == 0) revert ZeroAmount();
        if (amount > type(uint88).max) revert AmountTooLarge(amount);
        _certs[id] = Cert(to, uint88(amount), flags);
        emit TransferSingle(msg.sender, address(0), to, id, 1);
        if (to.code.length != 0) ERC1155Utils.checkOnERC1155Received(msg.sender, address(0), to, id, 1, "");
    }

    /// @dev Takes the next serial (split mints one certificate outside an issue call).
    function _nextSerial() private returns (uint32 serial) {
        serial = ++_config.lastSerial;
    }

    // ================================================================ internals: redeem

    /// @dev Verifies an authorisation and debits the certificate (merchant credit is the caller's).
    function _redeemAuthorized(Redemption calldata auth, bytes calldata signature) private {
        if (block.timestamp > auth.deadline) revert AuthorizationExpired(auth.deadline);
        uint256 id = auth.certificate;
        if (id.merchant() != auth.merchant) revert WrongMerchant(id, auth.merchant);
        Cert storage cert = _existing(id);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(REDEMPTION_TYPEHASH, id, auth.merchant, auth.amount, auth.orderRef, auth.deadline))
        );
        if (!_isValidSignature(cert.owner, digest, signature)) revert InvalidSignature();
        _debit(id, cert, auth.merchant, auth.amount, auth.orderRef);
    }

    /// @dev Checks and records one redemption against a certificate.
    function _debit(uint256 id, Cert storage cert, uint32 merchantId, uint256 amount, uint256 orderRef) private {
        _requireSpendable(id, cert);
        if (amount == 0) revert ZeroAmount();
        uint256 balance = cert.balance;
        if (amount > balance) revert InsufficientBalance(id, balance, amount);
        _useOrderRef(merchantId, orderRef);
        cert.balance = uint88(balance - amount);
        emit Redeemed(id, merchantId, orderRef, amount);
        emit MetadataUpdate(id);
    }

    /// @dev Marks an order reference used; one bit per reference, 256 per slot (sequential
    /// references from one merchant share slots, so most redemptions update a warm-ish word).
    function _useOrderRef(uint32 merchantId, uint256 orderRef) private {
        uint256 bit = 1 << (orderRef & 0xff);
        uint256 word = _usedOrderRefs[merchantId][orderRef >> 8];
        if (word & bit != 0) revert OrderRefUsed(merchantId, orderRef);
        _usedOrderRefs[merchantId][orderRef >> 8] = word | bit;
    }

    /// @dev Credits redeemed value to a merchant, who must be active.
    function _credit(uint32 merchantId, uint8 currencyId, uint256 amount) private {
        Merchant storage m = _merchants[merchantId];
        if (!m.active) revert MerchantInactive(merchantId);
        if (currencyId == ETH) {
            m.owedEth += uint88(amount); // bounded by ETH escrowed, which fits uint88 per cert
        } else {
            _ledgers[merchantId][currencyId].owed += uint128(amount);
        }
    }

    // ================================================================ internals: money out

    /// @dev Pushes a payment; if the recipient cannot take it, keeps it for {withdrawDeferred}.
    function _pay(uint8 currencyId, address to, uint256 amount) private {
        if (amount == 0) return;
        if (!_tryTransferOut(currencyId, to, amount, PAYOUT_GAS)) {
            _deferred[to][currencyId] += amount;
            emit PaymentDeferred(to, currencyId, amount);
        }
    }

    /// @dev Sends value out or reverts.
    function _transferOut(uint8 currencyId, address to, uint256 amount, uint256 gasLimit) private {
        if (!_tryTransferOut(currencyId, to, amount, gasLimit)) revert TransferFailed();
    }

    function _tryTransferOut(uint8 currencyId, address to, uint256 amount, uint256 gasLimit) private returns (bool ok) {
        if (currencyId == ETH) {
            (ok,) = to.call{value: amount, gas: gasLimit > gasleft() ? gasleft() : gasLimit}("");
        } else {
            ok = IERC20(_currencies[currencyId].token).trySafeTransfer(to, amount);
        }
    }

    // ================================================================ internals: checks

    function _existing(uint256 id) private view returns (Cert storage cert) {
        cert = _certs[id];
        if (cert.owner == address(0)) revert UnknownCertificate(id);
    }

    /// @dev Clears a certificate's slot (gas refund) and returns what it held.
    function _burn(uint256 id, address owner) private returns (uint256 amount) {
        amount = _certs[id].balance;
        delete _certs[id];
        emit TransferSingle(msg.sender, owner, address(0), id, 1);
    }

    function _transfer(address from, address to, uint256 id, uint256 value) private {
        _requireNotPaused();
        if (to == address(0)) revert ERC1155InvalidReceiver(address(0));
        Cert storage cert = _certs[id];
        address owner = cert.owner;
        if (value != 1 || owner != from || from == address(0)) {
            revert ERC1155InsufficientBalance(from, balanceOf(from, id), value, id);
        }
        if (msg.sender != from && !_operatorApprovals[from][msg.sender]) {
            revert ERC1155MissingApprovalForAll(msg.sender, from);
        }
        _requireSpendable(id, cert);
        cert.owner = to;
    }

    /// @dev Open (past validFrom), not expired and not waiting for a claim.
    function _requireSpendable(uint256 id, Cert storage cert) private view {
        if (cert.flags & _FLAG_AWAITING_CLAIM != 0) revert AwaitingClaim(id);
        uint40 validFrom = id.validFrom();
        if (block.timestamp < validFrom) revert NotYetValid(id, validFrom);
        _requireNotExpired(id);
    }

    function _requireNotExpired(uint256 id) private view {
        uint40 expiry = id.expiry();
        if (block.timestamp >= expiry) revert Expired(id, expiry);
    }

    function _requireHolder(uint256 id, address owner) private view {
        if (msg.sender != owner && !_operatorApprovals[owner][msg.sender]) revert NotHolder(id, msg.sender);
    }

    function _requireBuyer(uint256 id, address buyer) private pure {
        if (id.buyerTag() != CertificateId.tagOf(buyer)) revert NotBuyer(id, buyer);
    }

    function _requireNotPaused() private view {
        if (_config.paused) revert EnforcedPause();
    }

    function _knownMerchant(uint32 merchantId) private view returns (Merchant storage m) {
        m = _merchants[merchantId];
        if (m.account == address(0)) revert UnknownMerchant(merchantId);
    }

    /// @dev The caller must be the merchant's account; returns it.
    function _requireMerchantAccount(uint32 merchantId) private view returns (address account) {
        account = _knownMerchant(merchantId).account;
        if (msg.sender != account) revert NotMerchant(merchantId, msg.sender);
    }

    /// @dev ECDSA first (cheap for the usual EOA holder), then ERC-1271 for contract wallets.
    function _isValidSignature(address signer, bytes32 digest, bytes calldata signature) private view returns (bool) {
        // The third value only details a malformed signature, which is simply invalid here.
        // slither-disable-next-line unused-return
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == signer) return true;
        return signer.code.length != 0 && SignatureChecker.isValidERC1271SignatureNow(signer, digest, signature);
    }

    /// @dev Same merchant, currency, occasion-agnostic buyer, and `into` lasts at least as long.
    function _compatible(uint256 fromId, uint256 intoId) private pure returns (bool) {
        return fromId.merchant() == intoId.merchant() && fromId.currency() == intoId.currency()
            && fromId.buyerTag() == intoId.buyerTag() && intoId.expiry() >= fromId.expiry();
    }
}

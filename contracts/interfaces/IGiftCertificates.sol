// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";

/**
 * @title IGiftCertificatesTypes
 * @notice The structs, events and errors of the gift-certificate system, declared once. The
 * escrow contract ({GiftCertificates}), its admin module ({GiftCertificatesAdmin}), the renderer
 * and the Python SDK's ABI all take them from here.
 */
interface IGiftCertificatesTypes {
    // ---------------------------------------------------------------- structs

    /// @notice Terms shared by every certificate of an issue call. `serial` is any number the
    /// buyer has not used with the same terms: it makes the id unique without a contract-wide
    /// counter (a batch of n uses serial .. serial + n - 1).
    struct Terms {
        uint32 merchant;
        uint8 currency;
        uint8 occasion;
        uint40 validFrom;
        uint40 expiry;
        uint32 serial;
    }

    /// @notice A holder's authorisation for a merchant to redeem `amount` from `certificate`.
    /// `nonce` is the certificate's current nonce (see {IGiftCertificatesAdmin-certificate}):
    /// replay protection belongs to the signer, so nobody else can use it up. `orderRef` is the
    /// merchant's order reference, carried into the {Redeemed} event as data.
    struct Redemption {
        uint256 certificate;
        uint32 merchant;
        uint256 amount;
        uint256 orderRef;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice A holder's authorisation to give the whole certificate to `to` (a re-gift),
    /// submittable by anyone (a relayer pays the gas). Like every holder signature it uses the
    /// certificate's current `nonce` and expires after `deadline`; the EIP-712 domain binds it
    /// to one chain and this contract.
    struct TransferAuthorization {
        uint256 certificate;
        address to;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice A holder's authorisation to move `amount` of a certificate into a new one for `to`.
    struct SplitAuthorization {
        uint256 certificate;
        uint256 amount;
        address to;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice A holder's authorisation to move the whole balance of `from` into `into` (both
    /// the signer's); `nonce` is `from`'s.
    struct MergeAuthorization {
        uint256 from;
        uint256 into;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice A holder's authorisation to cash out a small balance; the value goes to the
    /// holder, whoever submits it.
    struct CashOutAuthorization {
        uint256 certificate;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice The holder's signed running total of a payment tab: the merchant may collect
    /// `cumulative` (everything bought in this `epoch`) once; see {IGiftCertificates-settleTabs}.
    struct Voucher {
        uint256 certificate;
        uint256 epoch;
        uint256 cumulative;
    }

    /// @notice A holder's authorisation to open a payment tab (see {IGiftCertificatesAdmin-openTab}),
    /// submittable by anyone, so a holder without gas opens one too.
    struct OpenTabAuthorization {
        uint256 certificate;
        address sessionKey;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice A holder's authorisation to ask to close, or to close, a payment tab (one struct,
    /// two EIP-712 types: RequestTabClose and CloseTab); `nonce` is the tab's epoch.
    struct TabAuthorization {
        uint256 certificate;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice What a merchant checks before serving on a tab ({IGiftCertificatesAdmin-tab}).
    struct TabView {
        bool open;
        uint256 epoch;
        uint256 balance;
        address signer;
        uint40 closeAt;
        uint40 settleUntil;
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
        uint256 nonce;
    }

    // ---------------------------------------------------------------- events

    /// @notice A certificate was bought with `amount` escrowed; `message` is the giver's note. The
    /// buyer is the operator of the mint's TransferSingle (and its tag is in the id): a buyer
    /// topic here would cost every issue 375 gas to say it again.
    event Issued(uint256 indexed id, uint256 amount, string message);
    /// @notice Certificates `firstId` .. `firstId + amounts.length - 1` were bought in one call,
    /// the i-th holding `amounts[i]` (their recipients are in the TransferSingle events).
    event IssuedBatch(uint256 indexed firstId, address indexed buyer, uint256[] amounts, string message);
    /// @notice A certificate was issued to a claim key; the buyer may reclaim after `deadline`.
    /// A claim is the TransferSingle out of `claimKey` to a real address (the claim key can move
    /// the certificate no other way; reclaim burns it), so no second event repeats it (1,500 gas).
    event ClaimLinkCreated(uint256 indexed id, address indexed claimKey, uint40 deadline);
    event Reclaimed(uint256 indexed id, address indexed buyer, uint256 amount);
    /// @notice `amount` was added to certificate `id` (by the transaction's caller; anyone may).
    event ToppedUp(uint256 indexed id, uint256 amount);
    event Split(uint256 indexed fromId, uint256 indexed newId, address indexed to, uint256 amount);
    event Merged(uint256 indexed fromId, uint256 indexed intoId, uint256 amount);
    /// @notice `amount` of certificate `id` was paid to its merchant (the id's top 32 bits) for
    /// the merchant's `orderRef`. Only the id is a topic (order lookups go through an index):
    /// each topic would cost every payment 119 gas more, a merchant field 256.
    event Redeemed(uint256 indexed id, uint256 orderRef, uint256 amount);
    /// @notice Item `index` of a batch settlement was refused; `reason` is the revert data the
    /// same authorisation would raise alone (a custom error of this interface).
    event RedemptionRefused(uint256 indexed index, uint256 indexed certificate, bytes reason);
    /// @notice A payment tab opened on `id` for its merchant; vouchers carry `epoch` and are
    /// signed by `sessionKey` (address(0): the owner's key).
    event TabOpened(uint256 indexed id, uint256 epoch, address sessionKey);
    /// @notice The merchant collected a voucher's `amount`; the tab goes on at `epoch` + 1.
    event TabSettled(uint256 indexed id, uint256 epoch, uint256 amount);
    /// @notice The holder asked to close the tab; the merchant may settle until `closeAt`.
    event TabCloseRequested(uint256 indexed id, uint40 closeAt);
    event TabClosed(uint256 indexed id, uint256 epoch);
    event Refunded(uint256 indexed id, address indexed buyer, uint256 amount);
    event Voided(uint256 indexed id, uint32 indexed merchant, address indexed holder, uint256 amount);
    event CashedOut(uint256 indexed id, address indexed holder, uint256 amount);
    /// @notice ERC-4906: wallets should refresh this token's metadata (its balance changed).
    event MetadataUpdate(uint256 _tokenId);
    /// @notice ERC-4906: tokens in this id range may have changed. A batch settlement emits one
    /// over its merchant's id range (ids start with the merchant) instead of one per item.
    event BatchMetadataUpdate(uint256 _fromTokenId, uint256 _toTokenId);

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
    error CertificateExists(uint256 id);
    error SerialOverflow(uint32 serial, uint256 count);
    error NotHolder(uint256 id, address caller);
    error NotBuyer(uint256 id, address caller);
    error NotMerchant(uint32 merchant, address caller);
    error UnknownMerchant(uint32 merchant);
    error MerchantInactive(uint32 merchant);
    error WrongMerchant(uint256 id, uint32 merchant);
    error CurrencyNotAllowed(uint8 currency);
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
    error WrongNonce(uint256 id, uint256 expected, uint256 given);
    error NonceExhausted(uint256 id);
    error AuthorizationExpired(uint256 deadline);
    error InvalidSignature();
    error AwaitingClaim(uint256 id);
    error NotClaimable(uint256 id);
    error ClaimWindowOpen(uint256 id, uint40 deadline);
    error ClaimWindowClosed(uint256 id, uint40 deadline);
    error InvalidClaimDeadline(uint40 deadline);
    error BuyerTagTaken(uint96 tag, address registered);
    error IncompatibleCertificates(uint256 fromId, uint256 intoId);
    error CashOutNotAllowed(uint256 id, uint256 balance, uint256 limit);
    error NothingToWithdraw();
    error LengthMismatch();
    error EmptyBatch();
    error TransferFailed();
    error InvalidAccount();
    error AlreadyInitialized();
    error TabOpen(uint256 id);
    error TabNotOpen(uint256 id);
    error TabCloseNotRequested(uint256 id);
    error TabCloseAlreadyRequested(uint256 id, uint40 closeAt);
    error TabCloseDelay(uint256 id, uint40 closeAt);
    error TabSettling(uint256 id, uint40 settleUntil);
    error TabSettleEnded(uint256 id, uint40 settleUntil);
    error WrongEpoch(uint256 id, uint256 expected, uint256 given);
}

/**
 * @title IGiftCertificates
 * @notice The functions the escrow ({GiftCertificates}) runs itself: the per-payment hot paths
 * (issue, top-up, claim, split, merge, redemptions, and ERC-1155's single transfer beside
 * them) and the refund after expiry. Everything else is in {IGiftCertificatesAdmin}; the
 * deployed escrow answers both at one address.
 */
interface IGiftCertificates is IGiftCertificatesTypes {
    /// @notice Buys a certificate for `to` and escrows `amount` of the terms' currency in it.
    function issue(address to, Terms calldata terms, uint256 amount, string calldata message)
        external
        payable
        returns (uint256 id);

    /// @notice Buys one certificate per recipient, all on the same terms, in one transaction.
    function issueBatch(
        address[] calldata recipients,
        uint256[] calldata amounts,
        Terms calldata terms,
        string calldata message
    ) external payable returns (uint256 firstId);

    /// @notice Buys a certificate held by `claimKey` until claimed with that key's signature.
    function issueClaimable(
        address claimKey,
        Terms calldata terms,
        uint256 amount,
        uint40 claimDeadline,
        string calldata message
    ) external payable returns (uint256 id);

    /// @notice Adds `amount` to a certificate's balance (reload).
    function topUp(uint256 id, uint256 amount) external payable;

    /// @notice Delivers a claim-link certificate to `recipient` with the claim key's signature.
    function claim(uint256 id, address recipient, bytes calldata signature) external;

    /// @notice Moves `amount` of a certificate's balance into a new certificate for `to`.
    function split(uint256 id, uint256 amount, address to) external returns (uint256 newId);

    /// @notice Moves the whole balance of `fromId` into `intoId` and burns `fromId`.
    function merge(uint256 fromId, uint256 intoId) external;

    /// @notice The holder pays `amount` to the certificate's merchant for order `orderRef`.
    function redeem(uint256 id, uint256 amount, uint256 orderRef) external;

    /// @notice The merchant redeems with the holder's EIP-712 authorisation.
    function redeemWithAuthorization(Redemption calldata auth, bytes calldata signature) external;

    /// @notice Settles many authorisations for one merchant in one transaction.
    function settleBatch(
        uint32 merchantId,
        Redemption[] calldata auths,
        bytes[] calldata signatures,
        bool allOrNothing
    ) external returns (uint256 settled);

    /// @notice After expiry, returns the remaining balance to the buyer (with a tab open, after
    /// the tab's grace period, so the merchant can settle the last voucher first).
    function refund(uint256 id, address buyer) external;

    /// @notice The merchant collects the latest voucher of each tab; a refused voucher is
    /// reported ({RedemptionRefused}) and the rest settle. Not stopped by a pause: a pause must
    /// not let a close delay or an expiry grace run out while the merchant cannot collect.
    function settleTabs(uint32 merchantId, Voucher[] calldata vouchers, bytes[] calldata signatures)
        external
        returns (uint256 collected);

    /// @notice Gives a whole certificate to `auth.to` with its holder's EIP-712 signature
    /// (ECDSA or ERC-1271); anyone may submit it. Moves the nonce on, as every transfer does.
    function transferWithAuthorization(TransferAuthorization calldata auth, bytes calldata signature) external;

    /// @notice {split} with the holder's signature; anyone may submit it.
    function splitWithAuthorization(SplitAuthorization calldata auth, bytes calldata signature)
        external
        returns (uint256 newId);

    /// @notice {merge} with the holder's signature (the holder of both); anyone may submit it.
    function mergeWithAuthorization(MergeAuthorization calldata auth, bytes calldata signature) external;

    /// @notice The holder's cash-out ({IGiftCertificatesAdmin-cashOut}) with the holder's
    /// signature; anyone may submit it, and the value goes to the holder.
    function cashOutWithAuthorization(CashOutAuthorization calldata auth, bytes calldata signature) external;

}

/**
 * @title IGiftCertificatesAdmin
 * @notice The rare value paths (void, cash-out, reclaim, withdrawals; ERC-1155's batch transfer
 * beside them), roles, the merchant registry, currencies, policy, ERC-1155 approvals and every
 * view. Implemented by {GiftCertificatesAdmin}, reached through the escrow's fallback
 * (delegatecall), so it reads and writes the escrow's storage and moves the escrow's value at
 * the escrow's address.
 */
interface IGiftCertificatesAdmin is IGiftCertificatesTypes, IERC5267 {
    /// @notice Sets up roles and defaults; only callable while the escrow is being constructed.
    function initialize(address admin) external;

    /// @notice The merchant voids a certificate: its balance goes back to the holder.
    function void(uint256 id) external;

    /// @notice The holder opens a payment tab on a certificate for its merchant; `sessionKey`
    /// (or address(0) for the owner's own key) signs the vouchers.
    function openTab(uint256 id, address sessionKey) external;

    /// @notice Buys a certificate for the caller with a payment tab already open at its
    /// merchant: `issue(msg.sender, terms, amount, message)` and `openTab(id, sessionKey)` in one
    /// call and one storage word (the tab flag and epoch 1 are in the word the mint writes).
    /// Paid, checked and refused exactly as `issue` (pause, merchant, validity, amount, ETH value
    /// or ERC-20 allowance), and refused as `openTab` would be if the certificate is not open
    /// yet (`validFrom` in the future). The certificate is always the caller's own: a giver
    /// cannot hand someone a tab whose session key the giver holds.
    /// @param sessionKey signs the tab's vouchers; address(0) for the caller's own key.
    /// @return id the new certificate. Events: TransferSingle, Issued, then TabOpened(id, 1,
    /// sessionKey).
    function issueWithTab(Terms calldata terms, uint256 amount, string calldata message, address sessionKey)
        external
        payable
        returns (uint256 id);

    /// @notice The holder asks to close a tab; the merchant has {TAB_CLOSE_DELAY} to settle.
    function requestTabClose(uint256 id) external;

    /// @notice Closes a tab: by the merchant at once, or by the holder after the close delay.
    function closeTab(uint256 id) external;

    /// @notice The holder closes a tab at once with the merchant's EIP-712 TabRelease signature.
    function closeTabWithRelease(uint256 id, bytes calldata merchantSignature) external;

    /// @notice {openTab} with the holder's EIP-712 signature; anyone may submit it.
    function openTabWithAuthorization(OpenTabAuthorization calldata auth, bytes calldata signature) external;

    /// @notice {requestTabClose} with the holder's EIP-712 signature; anyone may submit it.
    function requestTabCloseWithAuthorization(TabAuthorization calldata auth, bytes calldata signature) external;

    /// @notice The holder's {closeTab} after the close delay, with the holder's EIP-712
    /// signature; anyone may submit it.
    function closeTabWithAuthorization(TabAuthorization calldata auth, bytes calldata signature) external;

    /// @notice A tab's state, for the merchant's check before serving (free: a view).
    function tab(uint256 id) external view returns (TabView memory);

    /// @notice The holder takes out a small remaining balance, where the merchant allows it.
    function cashOut(uint256 id) external;

    /// @notice The buyer takes back an unclaimed claim-link gift after its claim deadline.
    function reclaim(uint256 id) external;

    /// @notice Pays the merchant's accumulated redemptions in a currency to its own account.
    function withdrawMerchant(uint32 merchantId, uint8 currencyId) external;

    /// @notice Withdraws payments to the caller that could not be pushed.
    function withdrawDeferred(uint8 currencyId) external;

    function registerMerchant(address account, string calldata name) external returns (uint32 merchantId);
    function setMerchantActive(uint32 merchantId, bool active) external;
    function setMerchantAccount(uint32 merchantId, address account) external;
    function setCashOutLimit(uint32 merchantId, uint8 currencyId, uint128 limit) external;
    function allowCurrency(address token) external returns (uint8 currencyId);
    function setCurrencyAllowed(uint8 currencyId, bool allowed) external;
    function setMinValidity(uint40 seconds_) external;
    function setRenderer(address newRenderer) external;
    function pause() external;
    function unpause() external;

    function certificate(uint256 id) external view returns (CertificateView memory);
    function ownerOf(uint256 id) external view returns (address);
    function balanceOfCertificate(uint256 id) external view returns (uint256);
    function nonceOf(uint256 id) external view returns (uint256);
    function isBuyer(uint256 id, address buyer) external view returns (bool);
    function merchant(uint32 merchantId) external view returns (address account, string memory name, bool active);
    function merchantCount() external view returns (uint32);
    function merchantLedger(uint32 merchantId, uint8 currencyId) external view returns (uint256 owed, uint256 cashOutLimit);
    function currency(uint8 currencyId) external view returns (address token, bool allowed);
    function currencyCount() external view returns (uint8);
    function deferredOf(address account, uint8 currencyId) external view returns (uint256);
    function minValidity() external view returns (uint40);
    function paused() external view returns (bool);
    function renderer() external view returns (address);
    function uri(uint256 id) external view returns (string memory);

    /// @notice The EIP-712 domain separator (chain id and this contract are bound into it).
    function domainSeparator() external view returns (bytes32);
}

/// @notice Renders a certificate's metadata JSON (with on-chain SVG art) for wallets.
interface ICertificateRenderer {
    /// @notice Metadata JSON (a data: URI) for `cert`.
    function render(IGiftCertificatesTypes.CertificateView calldata cert) external view returns (string memory);
}

"""Every request and response body of /api/v1, declared once. A request model validates the
input (a refusal is a 400 naming the field), a response model shapes the output, and both make
/api/v1/openapi.json. Request models refuse fields they do not declare, so what a handler can
read is exactly what the document says.

Adding a field is one line in one model here: the handler reads it from its `body`, the
document lists it, schemathesis generates it."""

from __future__ import annotations

import copy
from typing import Annotated, Any, Generic, Literal, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, RootModel, Tag

from giftcert.authorization import MAX_SIGNATURE_BYTES
from giftcert.rules import DAY
from webapp.api.fields import (
    CERTIFICATE,
    TIMESTAMP,
    Address,
    AddressRule,
    Amount,
    Boolean,
    CertificateId,
    CurrencyRule,
    DateRule,
    HexBytes,
    MerchantId,
    Signature,
    Text,
    Timestamp,
    TxHash,
    Uint,
    json_type,
)

AUTH_FORMAT = ("gc2:certificate:merchant:amount:orderRef:nonce:deadline:signature (amount "
               "in the currency's smallest units)")


class Body(BaseModel):
    """A request: only the declared fields, each validated by its type."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    """A response: the declared fields, with their JSON types (strict: nothing is converted)."""

    model_config = ConfigDict(extra="allow", strict=True, populate_by_name=True)


# -- shared parts ------------------------------------------------------------------------------

CurrencyRef = Annotated[int | str | None, CurrencyRule()]  # an id, a symbol or a token address


class Money(Out):
    amount: str = Field(description="A decimal, as text")
    currency: str = Field(description="The currency's symbol")


class Error(Out):
    """What every refusal looks like (4xx): the reason in words and the field it is about."""

    error: str
    field: str | None = Field(description="The input to fix (null: the request as a whole)")
    code: str | None = Field(None, description="The contract's error name, when it is one")
    details: dict[str, Any] | None = Field(None, description="The error's arguments")


class Refusal(Out):
    """A batch item that is (or would be) refused."""

    item: int = Field(description="Its line, from 1")
    index: int | None = Field(None, description="Its position, from 0 (mined refusals only)")
    certificate: str
    ref: str = Field(description="The certificate's short reference for people (7K2M-Q9XD)")
    reason: str = Field(description="The contract's error name (WrongNonce, "
                                    "AuthorizationExpired, InsufficientBalance, ...)")
    message: str = Field(description="The reason in plain words")
    details: dict[str, Any] | None = Field(None, description="The error's arguments (mined "
                                                             "refusals only)")


# -- reads ------------------------------------------------------------------------------------

class CertificatePath(Body):
    certificate: CertificateId


class MerchantPath(Body):
    merchant: MerchantId


class HolderPath(Body):
    holder: Address


class TxHashPath(Body):
    txHash: TxHash  # noqa: N815 - the documented name


class Query(BaseModel):
    """A query string: unknown parameters are ignored (cache busters, tracking tags)."""

    model_config = ConfigDict(extra="ignore")

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Made once per class: flask-openapi3 asks for a query model's JSON Schema on every
        request (measured: 350 us of a holder's-certificates page, 2.5 us to validate)."""
        key = (cls, args, tuple(sorted(kwargs.items())))
        if key not in _SCHEMAS:
            _SCHEMAS[key] = super().model_json_schema(*args, **kwargs)
        return copy.deepcopy(_SCHEMAS[key])


_SCHEMAS: dict[Any, dict[str, Any]] = {}


class HolderQuery(Query):
    closed: Boolean = Field(False, description="Include closed (spent, refunded) certificates")
    limit: Annotated[int, Uint(1, 500)] = Field(50, description="Certificates per page")
    after: Annotated[int | None, CERTIFICATE] = Field(
        None, description="The `next` of the page before")


class RedemptionsQuery(Query):
    limit: Annotated[int, Uint(1, 10_000)] = 100


class IndexerState(Out):
    """The index as its writer last left it (the cursor row's heartbeat: no node call)."""

    mode: Literal["in-process", "service"] = Field(
        description="in-process: this web process follows the chain; service: it only reads "
                    "what `giftcert index --follow` writes")
    block: int | None = Field(description="The last indexed block")
    head: int | None = Field(description="The chain's head when the writer last looked")
    lagBlocks: int | None = Field(  # noqa: N815
        description="Blocks behind the chain's head (the newer of the writer's and this "
                    "process's view of it)")
    secondsSinceCheck: float | None = Field(  # noqa: N815
        description="Since the writer last looked at the chain (a few seconds while one runs)")
    writer: str | None = Field(description="Which process wrote last")
    error: str | None = Field(description="This process's last follow error (in-process)")


class RelaySpend(Out):
    gas: int = Field(description="Gas counted today (UTC): used when mined, else the estimate")
    eth: str = Field(description="ETH paid for mined transactions today, with its unit")


class RelayStatus(Out):
    """The sponsor relay (issue 16): who pays, what is left, what today cost."""

    enabled: bool
    relayer: str | None = Field(description="The relayer account (null: no relay)")
    balance: str | None = Field(description="Its balance, e.g. \"9.98 ETH\" (null: the chain "
                                            "does not answer)")
    spentToday: RelaySpend | None = Field(  # noqa: N815
        description="Today's spend (null: the database does not answer)")
    budget: int = Field(description="The day's gas budget (GIFTCERT_RELAY_GAS_BUDGET_DAY)")
    keeper: bool = Field(description="Whether this process runs a keeper thread")


class Status(Out):
    chainId: int  # noqa: N815
    contract: str
    chain: Literal["reachable", "unreachable"]
    chainHead: int | None  # noqa: N815
    chainError: str | None = None  # noqa: N815
    database: Literal["reachable", "unreachable"]
    databaseError: str | None = None  # noqa: N815
    indexer: IndexerState
    indexedBlock: int | None  # noqa: N815
    indexerError: str | None  # noqa: N815
    servedBy: str = Field(description="The web process that answered")  # noqa: N815
    relay: RelayStatus | None = None


class Currency(Out):
    id: int
    symbol: str
    decimals: int
    token: str | None = Field(description="The ERC-20 token (null: ETH)")
    allowed: bool


class Merchant(Out):
    id: int
    account: str
    name: str
    active: bool


class Policy(Out):
    minValidity: int = Field(description="Minimum seconds from opening to expiry")  # noqa: N815
    paused: bool


class Occasion(Out):
    id: int
    name: str


class Config(Out):
    chainId: int  # noqa: N815
    contract: str
    currencies: list[Currency]
    merchants: list[Merchant]
    policy: Policy
    occasions: list[Occasion]
    eip712: dict[str, Any] = Field(description="The EIP-712 domain and types")


Currencies = RootModel[list[Currency]]
Merchants = RootModel[list[Merchant]]

CertificateStatus = Literal["active", "awaiting-claim", "expired", "not-yet-valid", "closed"]


class CertificateFields(Out):
    """What the chain and the index both say of a certificate."""

    id: str
    owner: str
    balance: Money
    merchant: int
    merchantName: str  # noqa: N815
    currency: str
    occasion: int
    occasionName: str  # noqa: N815
    validFrom: int  # noqa: N815
    expiry: int
    awaitingClaim: bool  # noqa: N815
    status: CertificateStatus


class Certificate(CertificateFields):
    """A certificate as the chain reports it."""

    ref: str = Field(description="Its short reference for people (7K2M-Q9XD); GET "
                                 "/gifts/{ref} gives the id back")
    claimDeadline: int  # noqa: N815
    nonce: int = Field(description="The nonce the holder's next signed authorisation carries")


class IndexedCertificate(CertificateFields):
    """A certificate as the index has it."""

    ref: str = Field(description="Its short reference for people (7K2M-Q9XD)")
    issued: Money
    buyer: str | None
    tabOpen: bool = Field(False, description="A payment tab is open on it: it pays on the "  # noqa: N815
                                             "tab only (GET /certificates/{id}/tab)")


class GiftRefPath(Body):
    ref: Annotated[str, Text(16)] = Field(description="A short gift reference (7K2M-Q9XD; "
                                                      "any case, the dash optional)")


class GiftRef(Out):
    ref: str
    id: str = Field(description="The certificate's id (what wallets and the API use)")


class AccountPath(Body):
    address: Address


class Roles(Out):
    """The contract roles an account holds (the site shows Admin to these accounts)."""

    address: str
    admin: bool
    registrar: bool
    pauser: bool


class HolderCertificates(Out):
    holder: str
    next: str | None = Field(description="`after=` of the following page (null: the last)")
    certificates: list[IndexedCertificate]


class Activity(Out):
    event: str = Field(description="The contract event")
    label: str = Field(description="What it was, in words")
    block: int
    txHash: str  # noqa: N815
    timestamp: int | None
    date: str
    amount: Money | None
    args: dict[str, Any]


History = RootModel[list[Activity]]


class DayTotal(Out):
    day: str
    currency: str
    total: Money
    count: int
    units: str


class MerchantStats(Out):
    merchant: int
    name: str
    openCertificates: int  # noqa: N815
    liability: list[Money]
    expiredUnrefunded: list[Money]  # noqa: N815
    issued: list[Money]
    refunded: list[Money]
    reclaimed: list[Money]
    voided: list[Money]
    cashedOut: list[Money]  # noqa: N815
    breakage: list[Money]
    redemptionsByDay: list[DayTotal]  # noqa: N815
    openTabs: int = Field(0, description="Certificates with a payment tab open here")  # noqa: N815
    tabBalances: list[Money] = Field([], description="Their balances")  # noqa: N815
    tabSettles: int = Field(0, description="Tab settles collected here")  # noqa: N815
    tabsSettled: list[Money] = Field([], description="What the tab settles collected")  # noqa: N815


class MerchantRedemption(Out):
    certificate: str
    orderRef: str  # noqa: N815
    tab: bool = Field(False, description="A tab's settle (its running total; no order)")
    amount: Money
    day: str
    timestamp: int
    txHash: str  # noqa: N815
    block: int


MerchantRedemptions = RootModel[list[MerchantRedemption]]


class Payment(Out):
    certificate: str
    merchant: int
    orderRef: str  # noqa: N815
    units: str


class TabSettledOut(Out):
    """A tab a transaction collected (a TabSettled event)."""

    certificate: str
    ref: str = Field(description="The certificate's short reference for people")
    merchant: int
    epoch: str = Field(description="The epoch of the voucher collected (its vouchers are void "
                                   "since)")
    units: str = Field(description="Smallest units collected")
    amount: Money = Field(description="What the merchant collected")


class SettledTab(Out):
    """A tab's voucher to be collected by a settle."""

    certificate: str
    ref: str = Field(description="The certificate's short reference for people (7K2M-Q9XD)")
    amount: Money


class TransactionOutcome(Out):
    """The outcome of a mined transaction (202 with status pending while it is not)."""

    txHash: str  # noqa: N815
    status: Literal["pending", "success", "reverted"]
    block: int | None = None
    issued: list[str] = Field([], description="Certificates bought (a batch: firstId .. "
                                              "firstId + n - 1)")
    split: list[str] = []
    redeemed: list[Payment] = Field([], description="Payments made (Redeemed events)")
    tabsSettled: list[TabSettledOut] = Field([], description=(  # noqa: N815
        "Tabs collected (TabSettled events): each certificate, the voucher's epoch and the "
        "amount"))
    refused: list[Refusal] = Field([], description="Items a batch settlement refused "
                                                   "(RedemptionRefused events), each with its "
                                                   "reason in words")


# -- transactions -------------------------------------------------------------------------------

class Sender(Body):
    """Every transaction: the account that will send it (the build simulates it from there)."""

    sender: Address = Field(alias="from")


class Terms(Sender):
    """What every certificate of a purchase shares."""

    merchant: MerchantId
    currency: CurrencyRef = None
    occasion: Annotated[int | None, Uint(0, 255)] = Field(
        None, description="The occasion's number (0: Gift), see /config")
    message: Annotated[str | None, Text()] = Field(
        None, description="The giver's message (on the card)")
    validFrom: Annotated[int | None, TIMESTAMP] = Field(  # noqa: N815
        None, description="Opens on (Unix time): no spending before it")
    validFromDate: Annotated[int | None, DateRule(field="validFrom")] = Field(  # noqa: N815
        None, description="Opens on, as a day (YYYY-MM-DD, midnight UTC); wins over validFrom")
    expiry: Annotated[int | None, TIMESTAMP] = Field(
        None, description="Expiry (Unix time); default: the minimum validity and one day")
    expiryDays: Annotated[int | None, Uint(1, 36_500, field="expiry")] = Field(  # noqa: N815
        None, description="Expiry as days from now; wins over expiry")


class IssueRequest(Terms):
    amount: Amount
    to: Annotated[str | None, AddressRule()] = Field(
        None, description="The recipient (required without claimKey)")
    claimKey: Annotated[str | None, AddressRule()] = Field(  # noqa: N815
        None, description="A claim link's key address: the gift waits for its signature")
    claimDays: Annotated[int | None, Uint(1, 3650)] = Field(  # noqa: N815
        None, description="Days the claim link can be claimed (default 30, at most the expiry)")
    delivery: Literal["address", "link"] | None = Field(
        None, description="The give form's choice (informational: claimKey decides)")


class IssueWithTabRequest(Terms):
    """A certificate for the sender itself with a payment tab already open at its merchant
    (one transaction). There is no recipient: the contract mints it to the sender."""

    amount: Amount
    sessionKey: Annotated[str | None, AddressRule()] = Field(  # noqa: N815
        None, description="A key that signs the tab's vouchers instead of the sender's own "
                          "account (for a contract wallet); it never holds the certificate")


class BatchRow(Body):
    to: Any = Field(None, json_schema_extra={"type": "string"})
    amount: Any = Field(None, json_schema_extra={"type": "string"})
    message: Any = Field(None, json_schema_extra={"type": "string"})


Rows = Field(description="CSV text (address,amount[,message] per line; a header line is "
                         "skipped) or a list of {to, amount, message}; at most 200")


RowsIn = Annotated[Union[Annotated[str, Text(100_000), Tag("text")],  # noqa: UP007
                         Annotated[list[BatchRow], Tag("list")]],
                   Discriminator(json_type("text", "list"))]


class IssueBatchRequest(Terms):
    rows: RowsIn = Rows


class PreviewRequest(Body):
    currency: CurrencyRef = None
    rows: RowsIn = Rows


class CertificateRequest(Sender):
    certificate: CertificateId


class TopUpRequest(CertificateRequest):
    amount: Amount


class TransferRequest(CertificateRequest):
    to: Address


class SplitRequest(CertificateRequest):
    amount: Amount
    to: Address


class MergeRequest(CertificateRequest):
    into: CertificateId = Field(description="The certificate that receives the balance")


class ClaimRequest(CertificateRequest):
    recipient: Address
    signature: Signature = Field(description="The claim key's EIP-712 Claim signature")


class RedeemRequest(CertificateRequest):
    amount: Amount
    orderRef: Annotated[int, Uint()] = Field(  # noqa: N815
        description="The merchant's order reference")


class RefundRequest(CertificateRequest):
    buyer: Annotated[str | None, AddressRule()] = Field(
        None, description="The buyer (default: from)")


PrimaryType = TypeVar("PrimaryType")  # TypedDataIn's primaryType: Literal["Redemption"], ...
Message = TypeVar("Message", bound=Body)  # TypedDataIn's message model


class DomainIn(Body):
    name: Annotated[str | None, Text(64)] = None
    version: Annotated[str | None, Text(16)] = None
    chainId: Annotated[int, Uint()]  # noqa: N815
    verifyingContract: Address  # noqa: N815


class RedemptionMessage(Body):
    certificate: CertificateId
    merchant: MerchantId
    amount: Annotated[int, Uint(1)] = Field(description="Smallest units")
    orderRef: Annotated[int, Uint()]  # noqa: N815
    nonce: Annotated[int, Uint()]
    deadline: Annotated[int, Uint()]


class TypedDataIn(Body, Generic[PrimaryType, Message]):
    """An EIP-712 document as a /typed-data/* route returned it (and the wallet signed): its
    `primaryType` (a Literal of the one type name) and `message` model are the parameters."""

    types: dict[str, Any] | None = None
    primaryType: PrimaryType | None = None  # noqa: N815
    domain: DomainIn
    message: Message


class RedemptionTypedData(TypedDataIn[Literal["Redemption"], RedemptionMessage]):
    """An EIP-712 Redemption as /typed-data/redemption returned it (and the wallet signed)."""


class SignedAuthorization(Body):
    typedData: RedemptionTypedData  # noqa: N815
    signature: Annotated[bytes, HexBytes(max_bytes=MAX_SIGNATURE_BYTES, description=(
        "The holder's signature: 65 bytes (r, s, v) from an account, any length from a "
        "contract wallet (ERC-1271)"))]


Authorization = Field(description="The compact text " + AUTH_FORMAT + ", or its JSON "
                                  "{typedData, signature} (as an object or as text)")


AuthorizationIn = Annotated[Union[Annotated[str, Text(10_000), Tag("text")],  # noqa: UP007
                                  Annotated[SignedAuthorization, Tag("object")]],
                            Discriminator(json_type("text", "object"))]


class RedeemAuthorizedRequest(Sender):
    authorization: AuthorizationIn = Authorization


class SettleBatchRequest(Sender):
    merchant: MerchantId
    authorizations: Annotated[Union[  # noqa: UP007
        Annotated[list[AuthorizationIn], Tag("list")],
        Annotated[str, Text(200_000), Tag("text")]], Discriminator(json_type("list", "text"))
    ] = Field(
        description="A list, or text with one per line; each is the compact text "
                    + AUTH_FORMAT + " or its JSON {typedData, signature}; at most 100")


class MerchantRequest(Sender):
    merchant: MerchantId


class WithdrawRequest(MerchantRequest):
    currency: CurrencyRef = None


class CashOutLimitRequest(MerchantRequest):
    currency: CurrencyRef = None
    limit: Amount = Field(description="The largest balance a holder may take out (0: none)")


class RegisterMerchantRequest(Sender):
    account: Address
    name: Annotated[str, Text(64)]


class MerchantActiveRequest(MerchantRequest):
    active: Boolean


class AllowCurrencyRequest(Sender):
    token: Address = Field(description="The ERC-20 token contract")


class CurrencyAllowedRequest(Sender):
    currency: Annotated[int | str, CurrencyRule()]
    allowed: Boolean


class MinValidityRequest(Sender):
    seconds: Timestamp = Field(description="Minimum time from opening to expiry")


class UnsignedTx(Out):
    """For eth_sendTransaction: integers as 0x hex."""

    sender: str = Field(alias="from")
    to: str
    data: str
    value: str
    chainId: str  # noqa: N815
    gas: str
    estimatedFee: str = Field(description="gas x gas price, in wei (to show before the "  # noqa: N815
                                          "wallet opens)")


class Built(Out):
    """An unsigned transaction, simulated from `from` first (a revert is a 422 naming the
    contract's error)."""

    operation: str
    tx: UnsignedTx | None


class Paying(Built):
    """A transaction that pays: ETH as its value; an ERC-20 may need an approve first, in
    which case `approve` is that transaction and `tx` is null (build again once mined)."""

    needsApproval: bool  # noqa: N815
    approve: UnsignedTx | None = None
    total: Money


class IssueBuilt(Paying):
    claimDeadline: int | None = Field(  # noqa: N815
        None, description="A claim link: claimable until this second (the end of a UTC day)")
    validFrom: int | None = Field(None, description="Opens on (Unix time; 0: at once)")  # noqa: N815
    expiry: int | None = Field(None, description="Expires at (Unix time, by the chain's clock)")


class IssueWithTabBuilt(Paying):
    holder: str = Field(description="Who will hold the certificate: always `from`, the buyer")
    validFrom: int = Field(0, description="Opens on (Unix time; 0: at once, as a tab needs)")  # noqa: N815
    expiry: int | None = Field(None, description="Expires at (Unix time, by the chain's clock)")


class IssueBatchBuilt(Paying):
    count: int
    validFrom: int | None = Field(None, description="Opens on (Unix time; 0: at once)")  # noqa: N815
    expiry: int | None = Field(None, description="Expires at (Unix time, by the chain's clock)")


class RedemptionOut(Out):
    """A payment authorisation, decoded and checked against the chain."""

    certificate: str
    ref: str = Field(description="The certificate's short reference for people (7K2M-Q9XD)")
    merchant: int
    orderRef: str  # noqa: N815
    nonce: str
    deadline: int
    signer: str | None = Field(description="Who signed it (null: no valid signature)")
    authorization: str = Field(description="The compact authorisation shown as QR code: "
                                           + AUTH_FORMAT)
    amount: Money | None = None
    holder: str | None = None
    balance: Money | None = None
    signedByHolder: bool | None = None  # noqa: N815
    currentNonce: str | None = None  # noqa: N815
    orderPaid: bool | None = Field(None, description="The index already holds a payment for "
                                                     "this order reference")


class RedeemAuthorizedBuilt(Built):
    redemption: RedemptionOut


class SettleBuilt(Built):
    count: int = Field(description="Authorisations in the batch")
    willSettle: int = Field(description="How many the site expects to be paid (the "  # noqa: N815
                                        "contract's checks run off-chain)")
    refused: list[Refusal] = Field(description="The items expected to be refused, and why; "
                                               "the receipt has the last word (GET "
                                               "/transactions/{txHash})")
    total: list[Money] = Field([], description="What the merchant receives, per currency (the "
                                               "items expected to be paid)")


# -- bulk preview ------------------------------------------------------------------------------

class RowError(Out):
    field: str
    error: str


class PreviewRow(Out):
    row: int
    errors: list[RowError]
    to: Any = None
    amount: Any = None
    message: str | None = None


class Preview(Out):
    rows: list[PreviewRow]
    valid: int
    invalid: int
    total: Money


# -- typed data and authorisations ------------------------------------------------------------

class TypedRedemptionRequest(Body):
    certificate: CertificateId
    amount: Amount
    orderRef: Annotated[int | None, Uint()] = Field(  # noqa: N815
        None, description="The merchant's order reference (default: a fresh random one)")
    deadline: Annotated[int | None, Uint()] = Field(
        None, description="Unix time (default: now + validFor)")
    validFor: Annotated[int | None, Uint(60, 30 * DAY)] = Field(  # noqa: N815
        None, description="Seconds the authorisation stays valid (default 3600)")


class TypedRedemption(Out):
    typedData: dict[str, Any] = Field(description="EIP-712 Redemption(certificate, merchant, "  # noqa: N815
                                                  "amount, orderRef, nonce, deadline) for "
                                                  "eth_signTypedData_v4")
    holder: str
    merchant: int
    merchantName: str  # noqa: N815
    amount: Money
    orderRef: str  # noqa: N815
    nonce: str = Field(description="The certificate's current nonce: the holder has one usable "
                                   "authorisation per certificate; signing another, paying "
                                   "with it or passing the certificate on replaces it")
    deadline: int
    orderPaid: bool = Field(description="The index already holds a payment for this order "  # noqa: N815
                                        "reference at this merchant (said, not refused: an "
                                        "order may be paid in parts)")


class TypedClaimRequest(Body):
    certificate: CertificateId
    recipient: Address


class TypedClaim(Out):
    typedData: dict[str, Any]  # noqa: N815
    claimKey: str = Field(description="The address the link's key must sign as")  # noqa: N815


class SubmitAuthorizationRequest(SignedAuthorization):
    """The typed data /typed-data/redemption returned, and the wallet's signature of it."""


class DecodeRequest(Body):
    authorization: AuthorizationIn = Authorization


# -- Sign-In with Ethereum -------------------------------------------------------------------

class SiweNonceQuery(Query):
    address: Address


class SiweNonce(Out):
    message: str = Field(description="The EIP-4361 message to sign (personal_sign)")
    nonce: str
    expirationTime: str  # noqa: N815


class SiweVerifyRequest(Body):
    message: Annotated[str, Text(2000)]
    signature: Annotated[bytes, HexBytes(max_bytes=4096, description=(
        "personal_sign of the message: 65 bytes from an account, any length from a contract "
        "wallet (ERC-1271)"))]


class SignedIn(Out):
    address: str
    merchants: list[Merchant]


class Session(SignedIn):
    expires: int


class SignedOut(Out):
    signedOut: bool  # noqa: N815


# -- payment tabs (issue 17) ------------------------------------------------------------------

VOUCHER_FORMAT = ("gt1:... (the compact voucher text, shown as QR code: the certificate, the "
                  "tab's epoch, the running total in the currency's smallest units and the "
                  "holder's signature)")


class OpenTabRequest(CertificateRequest):
    sessionKey: Annotated[str | None, AddressRule()] = Field(  # noqa: N815
        None, description="A key that signs the vouchers instead of the holder's own (for a "
                          "contract wallet); default: the holder's account")


class VoucherMessage(Body):
    certificate: CertificateId
    epoch: Annotated[int, Uint()]
    cumulative: Annotated[int, Uint(1)] = Field(description="The running total, smallest units")


class VoucherTypedData(TypedDataIn[Literal["Voucher"], VoucherMessage]):
    """An EIP-712 Voucher as /typed-data/voucher returned it (and the wallet signed)."""


class SignedVoucherIn(Body):
    typedData: VoucherTypedData  # noqa: N815
    signature: Signature = Field(description="The holder's (or the tab's session key's) "
                                             "EIP-712 signature: 65 bytes r, s, v")


VoucherIn = Annotated[Union[Annotated[str, Text(2000), Tag("text")],  # noqa: UP007
                            Annotated[SignedVoucherIn, Tag("object")]],
                      Discriminator(json_type("text", "object"))]


class VoucherRequest(Body):
    voucher: VoucherIn = Field(description="The compact text " + VOUCHER_FORMAT + ", or its "
                                           "JSON {typedData, signature}")


class TypedVoucherRequest(Body):
    certificate: CertificateId
    amount: Amount = Field(description="This purchase (the running total grows by it)")


class TabState(Out):
    """A certificate's payment tab: the chain's view, and the latest voucher its merchant keeps."""

    certificate: str
    ref: str = Field(description="The certificate's short reference for people (7K2M-Q9XD)")
    merchant: int
    merchantName: str  # noqa: N815
    state: Literal["none", "open", "closing", "closable"] = Field(
        description="none: no tab; open; closing: the holder asked to close and the merchant "
                    "may settle until closeAt; closable: closeAt has passed")
    open: bool
    epoch: str = Field(description="The tab's epoch: a voucher carries it; a settle or a "
                                   "close moves it on")
    balance: Money
    unsettled: Money = Field(description="The running total of the latest voucher the merchant "
                                         "keeps for this epoch (signed, not yet collected)")
    left: Money = Field(description="What more can be bought on the tab: balance - unsettled")
    closeAt: int | None = Field(description="Close requested: the merchant may settle until "  # noqa: N815
                                            "then (Unix time); null: no close requested")
    settleUntil: int = Field(description="The last moment a voucher can be settled (expiry "  # noqa: N815
                                         "and the grace period)")
    signer: str | None = Field(description="Who signs the vouchers (null: no tab)")


class TypedVoucher(Out):
    typedData: dict[str, Any] = Field(description="EIP-712 Voucher(certificate, epoch, "  # noqa: N815
                                                  "cumulative) for eth_signTypedData_v4")
    certificate: str
    ref: str
    merchant: int
    merchantName: str  # noqa: N815
    epoch: str
    previous: Money = Field(description="The tab's running total before this purchase (the "
                                        "merchant's latest kept voucher)")
    purchase: Money = Field(description="This purchase")
    total: Money = Field(description="The new running total the holder signs")
    balance: Money


class VoucherOut(Out):
    """A voucher, read and checked as the merchant checks it before serving."""

    certificate: str
    ref: str
    merchant: int
    merchantName: str  # noqa: N815
    epoch: str
    total: Money = Field(description="The voucher's running total")
    previous: Money = Field(description="The running total kept before it (0: none)")
    purchase: Money = Field(description="What this voucher adds to the kept one")
    balance: Money
    holder: str
    voucher: str = Field(description="The compact text " + VOUCHER_FORMAT)
    kept: bool = Field(description="Whether the site's database keeps it as the tab's latest")
    closeAt: int | None = Field(None, description="The holder asked to close the tab: it "  # noqa: N815
                                                  "closes then (the merchant settles before)")
    warning: str | None = Field(None, description="What the merchant must know before serving "
                                                  "(a close pending: serve no more on it)")


class MerchantTab(Out):
    certificate: str
    ref: str
    epoch: str
    unsettled: Money
    balance: Money
    closeAt: int | None  # noqa: N815
    settleUntil: int  # noqa: N815


class MerchantTabs(Out):
    merchant: int
    tabs: list[MerchantTab]
    unsettled: list[Money] = Field(description="Unsettled, per currency")


class SettleTabsRequest(MerchantRequest):
    certificates: list[CertificateId] | None = Field(
        None, description="The tabs to settle (default: every open tab with a kept voucher); "
                          "at most 100", max_length=100)


class SettleTabsBuilt(Built):
    count: int = Field(description="Vouchers in the batch")
    willSettle: int = Field(description="How many the site expects to be collected")  # noqa: N815
    refused: list[Refusal] = Field(description="The vouchers expected to be refused, and why")
    total: list[Money] = Field([], description="What the merchant collects, per currency")
    tabs: list[SettledTab] = Field([], description="The vouchers sent, in batch order (a "
                                                   "refusal after mining names its index)")

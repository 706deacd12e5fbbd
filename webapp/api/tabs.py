"""Payment tabs (issue 17) in the API: a certificate's tab as the chain has it and with the
latest voucher its merchant keeps; the Voucher the holder signs for the next purchase (typed
data: the kept running total plus this purchase); a voucher read and checked as the merchant
checks it before serving (the SDK's `check_voucher`); keeping it (the merchant's database:
every worker sees it); the merchant's open tabs with their unsettled totals; and the settle
of all of them in one `settleTabs` batch (POST /tx/settle-tabs, in webapp/api/operations.py).

The SDK (giftcert.tabs) owns the voucher's text (`gt1:`), its signature rules, the check and
the store; nothing here names a contract function."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from giftcert import eip712
from giftcert.client import Certificate, wallet_json
from giftcert.errors import (
    ContractRevert,
    InvalidInput,
    UnknownCertificate,
    VoucherBelowPrevious,
    WrongEpoch,
)
from giftcert.money import CurrencyInfo, Money, from_units
from giftcert.tabs import (
    GRACE,
    SignedVoucher,
    Tab,
    VoucherCheck,
    check_voucher,
    decode_voucher,
    tab_from_view,
)
from giftcert.vouchers import VoucherStore
from webapp import siwe
from webapp.api.blueprint import PAYMENTS, Reply, get, post
from webapp.api.fields import units
from webapp.api.lookups import live_certificate, merchant_arg
from webapp.api.models import (
    CertificatePath,
    MerchantPath,
    MerchantTabs,
    SignedVoucherIn,
    TabState,
    TypedVoucher,
    TypedVoucherRequest,
    VoucherOut,
    VoucherRequest,
)
from webapp.errors import ApiError, bad, refused, revert_message
from webapp.present import currency_or_eth, date_time, gift_ref, money, state

SIGNED_IN = {
    401: {"description": "Nobody is signed in", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}},
    403: {"description": "Signed in, but not as this voucher's (or tab's) merchant",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
}
# A kept voucher that can never be collected (its tab settled or closed since, the gift gone):
# the desk's list leaves it out, and the index forgets it when it records the settle or close.
VOID = frozenset({"WrongEpoch", "TabNotOpen", "UnknownCertificate", "TabSettleEnded"})


# -- the SDK's tabs, as the site reads them -------------------------------------------------

def store() -> VoucherStore:
    """The merchants' kept vouchers, in the site's database (one store per process state)."""
    st = state()
    found: VoucherStore | None = getattr(st, "vouchers", None)
    if found is None:
        found = VoucherStore(st.indexer.engine)
        st.vouchers = found  # type: ignore[attr-defined]
    return found


def parse_voucher(raw: str | SignedVoucherIn, field: str = "voucher") -> SignedVoucher:
    """A voucher from its compact text (gt1:...), its JSON, or the wallet's {typedData,
    signature}, for this chain and contract; unreadable is a 400 naming `field`."""
    client = state().client
    data: Any = raw
    if isinstance(raw, SignedVoucherIn):
        data = {"typedData": raw.typedData.model_dump(exclude_none=True),
                "signature": "0x" + raw.signature.hex()}
    try:
        return decode_voucher(data, chain_id=client.chain_id, contract=client.address,
                              field=field)
    except InvalidInput as exc:
        raise bad(exc.message, field) from None


def kept_voucher(cert_id: int, epoch: int) -> SignedVoucher | None:
    """The latest voucher the merchant keeps for this tab's epoch (None: none, or only one of
    an epoch already settled or closed)."""
    latest = store().latest(cert_id)
    return latest if latest is not None and latest.epoch == epoch else None


@dataclass(frozen=True)
class TabView:
    """A certificate's tab as the site shows it: the chain's view and the merchant's kept
    running total of its epoch."""

    cert: Certificate
    tab: Tab
    kept: int  # units of the merchant's latest kept voucher of this epoch

    @property
    def info(self) -> CurrencyInfo:
        return self.cert.currency

    def money(self, amount: int) -> Money:
        return from_units(amount, self.info)

    @property
    def balance_units(self) -> int:
        return self.tab.balance_units

    def state(self, now: int) -> str:
        if not self.tab.open:
            return "none"
        if self.tab.close_at:
            return "closable" if now >= self.tab.close_at else "closing"
        return "open"

    def to_json(self, now: int) -> dict[str, Any]:
        left = max(0, self.balance_units - self.kept)
        return {"certificate": str(self.cert.id), "ref": gift_ref(self.cert.id),
                "merchant": self.cert.merchant, "merchantName": self.cert.merchant_name,
                "state": self.state(now), "open": self.tab.open,
                "epoch": str(self.tab.epoch), "balance": self.tab.balance.to_json(),
                "unsettled": self.money(self.kept).to_json(),
                "left": self.money(left).to_json(),
                "closeAt": self.tab.close_at or None, "settleUntil": self.tab.settle_until,
                "signer": self.tab.signer if self.tab.open else None}


def tab_view(cert: Certificate) -> TabView:
    """The chain's tab of `cert` (one view call) and the merchant's kept total for it."""
    tab = state().client.tab(cert.id)
    kept = kept_voucher(cert.id, tab.epoch) if tab.open else None
    return TabView(cert, tab, kept.cumulative if kept is not None else 0)


def check(voucher: SignedVoucher) -> VoucherCheck:
    """The merchant's check before serving (the SDK's, from one free view), against the
    voucher the merchant keeps for the tab: a smaller running total is an old voucher."""
    return check_voucher(state().client, voucher, previous_total=store().latest(
        voucher.certificate))


def voucher_json(checked: VoucherCheck, cert: Certificate, kept: bool) -> dict[str, Any]:
    voucher, info = checked.voucher, cert.currency
    return {"certificate": str(cert.id), "ref": gift_ref(cert.id), "merchant": cert.merchant,
            "merchantName": cert.merchant_name, "epoch": str(voucher.epoch),
            "total": voucher.total(info).to_json(),
            "previous": from_units(checked.previous, info).to_json(),
            "purchase": from_units(max(0, checked.increase_units), info).to_json(),
            "balance": (checked.tab.balance if checked.tab else cert.balance).to_json(),
            "holder": cert.owner, "voucher": voucher.to_text(), "kept": kept,
            **close_warning(checked.tab)}


def close_warning(tab: Tab | None) -> dict[str, Any]:
    """A close pending, said to the merchant: what was signed can still be collected until the
    tab closes, but nothing more should be served on it."""
    if tab is None or not tab.close_at:
        return {}
    return {"closeAt": tab.close_at,
            "warning": f"the customer has asked to close this tab: serve nothing more on it, "
                       f"and settle it before {date_time(tab.close_at)}"}


def said(amount: Any, info: CurrencyInfo) -> str:
    """Smallest units as a person reads them: "10.50 tUSD"."""
    return money(from_units(int(amount), info))


def voucher_refusal(problem: ContractRevert, cert: Certificate | None,
                    field: str = "voucher") -> ApiError:
    """A voucher's refusal in words, with the figures that make it plain."""
    name, args = problem.error_name, problem.args_by_name
    message = revert_message(name)
    info = cert.currency if cert is not None else None
    if info is not None and name == "InsufficientBalance":
        message = (f"the tab total {said(args['needed'], info)} is more than the gift holds "
                   f"({said(args['balance'], info)})")
    elif info is not None and name == "VoucherBelowPrevious":
        message = (f"this is an old voucher (tab total {said(args['given'], info)}): a newer "
                   f"one for {said(args['previous'], info)} is already kept")
    elif name == "InvalidSignature":
        message = "the voucher is not signed by the gift's holder (or it was altered)"
    elif name == "WrongMerchant":
        message = "this voucher is for another shop"
    elif name == "UnknownCertificate":
        return ApiError(404, "no such gift (or it was closed)", field, name)
    return ApiError(422, message, field, name)


def signed_in_merchant(merchant_id: int, field: str) -> None:
    """The request comes from the signed-in account of this merchant (401 / 403 otherwise)."""
    session = state().siwe.session(siwe.session_id())
    if session is None:
        raise ApiError(401, "sign in on the merchant desk first", None, "NotSignedIn")
    if not any(m.id == merchant_id for m in state().merchants_of(session.address)):
        raise ApiError(403, "you are not signed in as this shop", field, "NotMerchant")


def live_tabs(merchant_id: int) -> list[tuple[SignedVoucher, Tab]]:
    """The merchant's kept vouchers of tabs still open at the voucher's epoch, each with its
    tab (one node call for all); a kept voucher its tab has moved past (settled or closed
    since, the index not there yet) is left out (a read only: the index forgets those when it
    records the settle or close)."""
    kept = [s.voucher for s in store().open_tabs(merchant_id)]
    if not kept:
        return []
    client = state().client
    reads = client.read_many([("tab", (v.certificate,)) for v in kept])
    out = []
    for voucher, read in zip(kept, reads, strict=True):
        if read.error is not None and not isinstance(read.error, UnknownCertificate):
            raise read.error
        tab = None if read.error is not None else tab_from_view(
            voucher.certificate, read.result, client.currency(voucher.currency_id))
        if tab is None or not tab.open or voucher.epoch < tab.epoch:
            continue
        out.append((voucher, tab))
    return out


def merchant_tabs(merchant_id: int) -> dict[str, Any]:
    """The merchant's open tabs with their unsettled totals: those with a kept voucher of the
    tab's current epoch (as of the chain now), then the other tabs the index has open (nothing
    to collect on them yet)."""
    rows = []
    per_currency: dict[int, tuple[CurrencyInfo, int]] = {}
    listed = set()
    for voucher, tab in live_tabs(merchant_id):
        info = tab.currency
        _, so_far = per_currency.get(info.id, (info, 0))
        per_currency[info.id] = (info, so_far + voucher.cumulative)
        listed.add(voucher.certificate)
        rows.append({"certificate": str(voucher.certificate), "ref": gift_ref(voucher.certificate),
                     "epoch": str(tab.epoch), "unsettled": voucher.total(info).to_json(),
                     "balance": tab.balance.to_json(), "closeAt": tab.close_at or None,
                     "settleUntil": tab.settle_until})
    st = state()
    for row in st.indexer.open_tabs(merchant_id):
        cert_id = int(row["id"])
        if cert_id in listed:
            continue
        info = currency_or_eth(st, int(row["currency"]))
        rows.append({"certificate": str(cert_id), "ref": gift_ref(cert_id),
                     "epoch": str(row["tab_epoch"] or 0),
                     "unsettled": from_units(0, info).to_json(),
                     "balance": from_units(int(row["balance"]), info).to_json(),
                     "closeAt": row["tab_close_at"] or None,
                     "settleUntil": int(row["expiry"]) + GRACE})
    return {"merchant": merchant_id, "tabs": rows,
            "unsettled": [from_units(u, info).to_json() for info, u in per_currency.values()
                          if u]}


# -- routes --------------------------------------------------------------------------------

@get("/certificates/<certificate>/tab", TabState, tags=[PAYMENTS])
def tab_route(path: CertificatePath) -> Reply:
    """A certificate's payment tab

    Open or not, its epoch, a close requested (the merchant may settle until closeAt), and the
    running total of the latest voucher its merchant keeps (unsettled) with what is left to
    buy on it."""
    cert = live_certificate(path.certificate)
    return tab_view(cert).to_json(state().client.now())


@post("/typed-data/voucher", TypedVoucher, tags=[PAYMENTS])
def typed_voucher(body: TypedVoucherRequest) -> Reply:
    """EIP-712 Voucher for the next purchase on a tab

    The new running total is the merchant's latest kept voucher of this epoch plus this
    purchase; it must stay within the balance, the tab must be open with no close requested."""
    st = state()
    cert = live_certificate(body.certificate)
    amount = units(body.amount, cert.currency)
    view = tab_view(cert)
    if not view.tab.open:
        raise refused("TabNotOpen", "certificate")
    if view.tab.close_at:
        raise ApiError(422, "you asked to close this tab: it takes no more purchases",
                       "certificate", "TabCloseAlreadyRequested")
    total = view.kept + amount
    if total > view.balance_units:
        left = said(max(0, view.balance_units - view.kept), view.info)
        raise ApiError(422, f"the gift has {left} left on the tab (tab total "
                       f"{said(view.kept, view.info)} of {money(view.tab.balance)}): pay at "
                       "most that", "amount", "InsufficientBalance")
    doc = eip712.voucher(st.client.chain_id, st.client.address, certificate=cert.id,
                         epoch=view.tab.epoch, cumulative=total)
    return {"typedData": wallet_json(doc), "certificate": str(cert.id), "ref": gift_ref(cert.id),
            "merchant": cert.merchant, "merchantName": cert.merchant_name,
            "epoch": str(view.tab.epoch), "previous": view.money(view.kept).to_json(),
            "purchase": view.money(amount).to_json(), "total": view.money(total).to_json(),
            "balance": view.tab.balance.to_json()}


def _checked(body: VoucherRequest) -> tuple[VoucherCheck, Certificate]:
    voucher = parse_voucher(body.voucher)
    cert = live_certificate(voucher.certificate, "voucher")
    return check(voucher), cert


@post("/vouchers/decode", VoucherOut, tags=[PAYMENTS])
def decode_voucher_route(body: VoucherRequest) -> Reply:
    """Read and check a voucher (nothing is kept)

    What the merchant checks before serving, said in plain words (422 with `code`: an old
    voucher (VoucherBelowPrevious), over the balance (InsufficientBalance), a wrong epoch
    (WrongEpoch), a close pending or the settle window ending soon (TabClosingSoon), badly
    signed (InvalidSignature), no tab (TabNotOpen), ...). The holder's page hands in its
    signature here to get the compact text for the QR code."""
    checked, cert = _checked(body)
    if checked.refusal is not None:
        raise voucher_refusal(checked.refusal, cert)
    return voucher_json(checked, cert, kept=False)


@post("/vouchers", VoucherOut, status=201, tags=[PAYMENTS], responses=SIGNED_IN)
def keep_voucher(body: VoucherRequest) -> Reply:
    """Keep a voucher as its tab's latest (the signed-in merchant's desk)

    Checked first as /vouchers/decode checks it; a good one is kept in the site's database
    (the latest per tab: every worker sees it) and collected later with POST /tx/settle-tabs.
    The voucher already kept, handed in again, is not an error (201, kept). The store keeps
    only what the check verified, and only if it is newer than what it holds when it writes:
    a newer voucher another desk kept meanwhile wins (422 VoucherBelowPrevious)."""
    voucher = parse_voucher(body.voucher)
    cert = live_certificate(voucher.certificate, "voucher")
    signed_in_merchant(cert.merchant, "voucher")
    latest = store().latest(voucher.certificate)
    checked = check(voucher)
    if checked.refusal is not None:
        raise voucher_refusal(checked.refusal, cert)
    if latest == voucher:  # the same again: what it added was said the first time
        return voucher_json(checked, cert, kept=True)
    if not store().keep(checked):
        newer = store().latest(voucher.certificate)
        if newer != voucher:  # another worker kept a newer one between the check and now
            raise voucher_refusal(_outrun(voucher, newer), cert)
    return voucher_json(checked, cert, kept=True)


def _outrun(voucher: SignedVoucher, newer: SignedVoucher | None) -> ContractRevert:
    """Why the store did not keep a verified voucher: a newer one is kept."""
    if newer is not None and newer.epoch > voucher.epoch:
        return WrongEpoch({"id": voucher.certificate, "expected": newer.epoch,
                           "given": voucher.epoch})
    previous = newer.cumulative if newer is not None else 0
    return VoucherBelowPrevious({"id": voucher.certificate, "previous": previous,
                                 "given": voucher.cumulative})


@get("/merchants/<merchant>/tabs", MerchantTabs, tags=[PAYMENTS], responses=SIGNED_IN)
def open_tabs_route(path: MerchantPath) -> Reply:
    """The signed-in merchant's open tabs and their unsettled totals"""
    m = merchant_arg(path.merchant)
    signed_in_merchant(m.id, "merchant")
    return merchant_tabs(m.id)


__all__ = ["check", "live_tabs", "merchant_tabs", "parse_voucher", "store", "tab_view",
           "voucher_refusal"]

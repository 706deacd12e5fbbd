"""Contract-level test harness: a deployed GiftCertificates with two merchants and a stablecoin.

Deployment happens once per test session; each test runs inside an anvil snapshot that is
reverted afterwards, so tests stay independent without paying for a deployment each.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from web3 import Web3
from web3.logs import DISCARD

from giftcert import eip712
from giftcert.errors import ContractRevert, UnknownRevert, decode_revert
from giftcert.transactions import call, deploy, send

ETH = 0
YEAR = 365 * 24 * 3600
DAY = 24 * 3600
ONE_ETH = 10**18
USD = 10**6  # TestUSD has 6 decimals


@dataclass
class Harness:
    """A deployed system and the dev accounts playing its roles."""

    w3: Web3
    gc: Any
    usd: Any
    renderer: Any
    keys: dict[str, str]
    admin: str
    buyer: str
    holder: str
    friend: str
    coffee_account: str
    books_account: str
    outsider: str
    coffee: int = 1
    books: int = 2
    usd_id: int = 1
    artifacts: Any = None
    _extra: dict = field(default_factory=dict)

    # -- chain -------------------------------------------------------------------------

    def now(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    def warp(self, seconds: int) -> None:
        self.w3.provider.make_request("evm_increaseTime", [seconds])
        self.w3.provider.make_request("evm_mine", [])

    def eth_balance(self, account: str) -> int:
        return self.w3.eth.get_balance(account)

    # -- transactions ------------------------------------------------------------------

    def tx(self, fn_name: str, *args: Any, sender: str, value: int = 0, contract: Any = None):
        target = contract or self.gc
        return send(self.w3, getattr(target.functions, fn_name)(*args), sender, value=value)

    def view(self, fn_name: str, *args: Any, contract: Any = None) -> Any:
        return call(getattr((contract or self.gc).functions, fn_name)(*args))

    @contextmanager
    def reverts(self, error_name: str, **expected_args: Any):
        """Asserts the block raises the contract error `error_name` (with these arguments)."""
        with pytest.raises(ContractRevert) as info:
            yield info
        error = info.value
        if isinstance(error, UnknownRevert) and error.raw:
            error = decode_revert(self.gc.abi, error.raw)  # raised through a helper contract
        assert error.error_name == error_name, f"expected {error_name}, got {error}"
        for key, value in expected_args.items():
            assert error.args_by_name[key] == value, error

    # -- domain helpers ----------------------------------------------------------------

    def terms(
        self,
        merchant: int | None = None,
        currency: int = ETH,
        occasion: int = 1,
        valid_from: int = 0,
        validity: int = 5 * YEAR + 30 * DAY,
        serial: int | None = None,
    ) -> tuple:
        """Terms valid `validity` from now, with a fresh serial unless one is given."""
        if serial is None:
            self._extra["serial"] = serial = self._extra.get("serial", 1000) + 1000
        return (merchant or self.coffee, currency, occasion, valid_from, self.now() + validity,
                serial)

    def issue(
        self,
        to: str | None = None,
        amount: int = ONE_ETH // 100,
        *,
        sender: str | None = None,
        message: str = "Enjoy!",
        **terms_kw: Any,
    ) -> int:
        """Issues one certificate and returns its id (from the Issued event)."""
        sender = sender or self.buyer
        terms = self.terms(**terms_kw)
        value = amount if terms[1] == ETH else 0
        receipt = self.tx(
            "issue", to or self.holder, terms, amount, message, sender=sender, value=value
        )
        return self.issued_ids(receipt)[0]

    def issued_ids(self, receipt) -> list[int]:
        """Ids of the certificates an issue call made (single, claimable or batch)."""
        ids = [e["args"]["id"] for e in self.events("Issued", receipt)]
        for batch in self.events("IssuedBatch", receipt):
            first = batch["args"]["firstId"]
            ids += [first + i for i in range(len(batch["args"]["amounts"]))]
        return ids

    def events(self, name: str, receipt) -> list:
        """Decoded `name` events of the certificate contract in a receipt (others ignored)."""
        return getattr(self.gc.events, name)().process_receipt(receipt, errors=DISCARD)

    def fund_usd(self, account: str, amount: int) -> None:
        self.tx("mint", account, amount, sender=account, contract=self.usd)
        self.tx("approve", self.gc.address, 2**256 - 1, sender=account, contract=self.usd)

    def cert(self, cert_id: int) -> dict:
        names = [c["name"] for c in _output_components(self.gc.abi, "certificate")]
        return dict(zip(names, self.view("certificate", cert_id), strict=True))

    def balance(self, cert_id: int) -> int:
        return self.view("balanceOfCertificate", cert_id)

    def owed(self, merchant: int, currency: int = ETH) -> int:
        return self.view("merchantLedger", merchant, currency)[0]

    def sign_redemption(
        self,
        signer: str,
        cert_id: int,
        amount: int,
        order_ref: int,
        merchant: int | None = None,
        deadline: int | None = None,
        chain_id: int | None = None,
        contract: str | None = None,
        nonce: int | None = None,
    ) -> tuple[tuple, bytes]:
        """A Redemption signed by `signer`, with the certificate's current nonce by default."""
        merchant = merchant or (cert_id >> 224)
        deadline = deadline or self.now() + 3600
        nonce = self.view("nonceOf", cert_id) if nonce is None else nonce
        document = eip712.redemption(
            chain_id or self.w3.eth.chain_id,
            contract or self.gc.address,
            certificate=cert_id,
            merchant=merchant,
            amount=amount,
            order_ref=order_ref,
            nonce=nonce,
            deadline=deadline,
        )
        auth = (cert_id, merchant, amount, order_ref, nonce, deadline)
        return auth, eip712.sign_typed_data(self.keys[signer], document)

    def sign_claim(
        self,
        claim_key: str,
        cert_id: int,
        recipient: str,
        chain_id: int | None = None,
        contract: str | None = None,
    ) -> bytes:
        document = eip712.claim(
            chain_id or self.w3.eth.chain_id,
            contract or self.gc.address,
            certificate=cert_id,
            recipient=recipient,
        )
        return eip712.sign_typed_data(claim_key, document)

    def sign_action(self, kind: str, signer: str, cert_id: int, *, deadline: int | None = None,
                    nonce: int | None = None, chain_id: int | None = None,
                    contract: str | None = None, key: str | None = None,
                    **fields: Any) -> tuple[tuple, bytes]:
        """A signed holder action (transfer `to`, split `amount`+`to`, merge `into`, cash-out)
        of `cert_id` by `signer`, at the certificate's current nonce by default: the struct and
        the signature, as the contract's `...WithAuthorization` takes them."""
        message: dict[str, Any] = {
            "nonce": self.view("nonceOf", cert_id) if nonce is None else nonce,
            "deadline": deadline or self.now() + 3600,
            **({"from": cert_id} if kind == "merge" else {"certificate": cert_id}),
            **fields,
        }
        document = eip712.holder_action(kind, chain_id or self.w3.eth.chain_id,
                                        contract or self.gc.address, **message)
        struct = tuple(document["message"].values())
        return struct, eip712.sign_typed_data(key or self.keys[signer], document)

    def sign_voucher(self, signer: str, cert_id: int, cumulative: int, *,
                     epoch: int | None = None, key: str | None = None,
                     chain_id: int | None = None, contract: str | None = None
                     ) -> tuple[tuple, bytes]:
        """A payment tab's voucher (the running total of the current epoch) signed by
        `signer` (or `key`): the struct and the signature, as settleTabs takes them."""
        epoch = self.view("nonceOf", cert_id) if epoch is None else epoch
        document = eip712.voucher(chain_id or self.w3.eth.chain_id, contract or self.gc.address,
                                  certificate=cert_id, epoch=epoch, cumulative=cumulative)
        return (cert_id, epoch, cumulative), eip712.sign_typed_data(key or self.keys[signer],
                                                                    document)

    def settle_tabs(self, merchant: int, *signed: tuple[tuple, bytes], sender: str | None = None):
        """settleTabs from the merchant's account; returns the receipt."""
        account = {self.coffee: self.coffee_account, self.books: self.books_account}[merchant]
        return self.tx("settleTabs", merchant, [v for v, _ in signed], [s for _, s in signed],
                       sender=sender or account)

    def refusals(self, receipt) -> list[tuple[int, str]]:
        """(index, error name) of each item a batch refused."""
        return [(e["args"]["index"], decode_revert(self.gc.abi, e["args"]["reason"]).error_name)
                for e in self.events("RedemptionRefused", receipt)]

    def deploy_helper(self, name: str, *args: Any):
        artifact = self.artifacts[name]
        return deploy(self.w3, artifact.abi, artifact.bytecode, self.admin, *args)


def _output_components(abi: list[dict], fn_name: str) -> list[dict]:
    fn = next(e for e in abi if e.get("type") == "function" and e.get("name") == fn_name)
    return fn["outputs"][0]["components"]


@pytest.fixture(scope="session")
def system(w3, artifacts, dev_accounts) -> Harness:
    accounts = [a.address for a in dev_accounts]
    keys = {a.address: a.key.hex() for a in dev_accounts}
    admin, buyer, holder, friend, coffee_acct, books_acct, outsider = accounts[:7]

    def deploy_as_admin(name: str, *args):
        return deploy(w3, artifacts[name].abi, artifacts[name].bytecode, admin, *args)

    module = deploy_as_admin("GiftCertificatesAdmin")
    gc = deploy_as_admin("GiftCertificates", admin, module.address)
    renderer = deploy_as_admin("CertificateRenderer")
    usd = deploy_as_admin("TestUSD")
    h = Harness(
        w3=w3,
        gc=gc,
        usd=usd,
        renderer=renderer,
        keys=keys,
        admin=admin,
        buyer=buyer,
        holder=holder,
        friend=friend,
        coffee_account=coffee_acct,
        books_account=books_acct,
        outsider=outsider,
        artifacts=artifacts,
    )
    h.tx("setRenderer", renderer.address, sender=admin)
    h.tx("allowCurrency", usd.address, sender=admin)
    h.tx("registerMerchant", coffee_acct, "Corner Coffee", sender=admin)
    h.tx("registerMerchant", books_acct, "Page Turner Books", sender=admin)
    return h


@pytest.fixture
def h(system: Harness):
    """The deployed system, rolled back to its deployed state after each test."""
    snapshot = system.w3.provider.make_request("evm_snapshot", [])["result"]
    yield system
    system.w3.provider.make_request("evm_revert", [snapshot])
    forget_the_pool(system.w3)


def forget_the_pool(w3) -> None:
    """Drops whatever anvil's pool still holds: a revert keeps pending transactions and mines
    them afterwards, and one stuck there (a nonce gap) would hold back every later
    transaction of its sender. Contract tests wait for each receipt, so nothing is lost."""
    w3.provider.make_request("anvil_dropAllTransactions", [])


def holdings(h: Harness, currency: int) -> int:
    """What the contract actually holds in a currency."""
    if currency == ETH:
        return h.eth_balance(h.gc.address)
    return h.view("balanceOf", h.gc.address, contract=h.usd)


def liabilities(h: Harness, currency: int, cert_ids, accounts) -> int:
    """Sum of certificate balances (of that currency), merchant ledgers and deferred payments."""
    total = sum(h.balance(c) for c in cert_ids if (c >> 216) & 0xFF == currency)
    total += sum(h.owed(m, currency) for m in range(1, h.view("merchantCount") + 1))
    total += sum(h.view("deferredOf", a, currency) for a in accounts)
    return total


class ModelledCertificates:
    """What both stateful machines keep of the chain: the live certificates and each merchant's
    ledger, with the steps and the teardown check they share. A machine sets `harness`."""

    harness: Harness
    certs: dict[int, dict]
    owed: dict[tuple[int, int], int]
    tracks_nonce = False  # a machine that models every nonce move checks them at teardown

    def _pick(self, index: int) -> int | None:
        live = sorted(self.certs)
        return live[index % len(live)] if live else None

    def _expired(self, cert: dict) -> bool:
        return self.harness.now() + 1 >= cert["expiry"]

    def _issue_modelled(self, buyer: str, holder: str, merchant: int, currency: int,
                        amount: int, extra_days: int) -> dict:
        """Issues a certificate valid five years and some days; returns its model entry."""
        h = self.harness
        if currency != ETH:
            h.fund_usd(buyer, amount)
        cert_id = h.issue(to=holder, amount=amount, sender=buyer, merchant=merchant,
                          currency=currency, validity=5 * YEAR + 2 * DAY + extra_days * DAY)
        cert = {"owner": holder, "balance": amount, "currency": currency, "nonce": 0,
                "merchant": merchant, "buyer": buyer, "expiry": (cert_id >> 128) & (2**40 - 1)}
        self.certs[cert_id] = cert
        return cert

    def _assert_chain_matches_model(self) -> None:
        h = self.harness
        for cert_id, cert in self.certs.items():  # every certificate, once per sequence
            assert h.balance(cert_id) == cert["balance"], cert_id
            assert h.view("ownerOf", cert_id) == cert["owner"], cert_id
            if self.tracks_nonce:
                assert h.view("nonceOf", cert_id) == cert["nonce"], cert_id
        for (merchant, currency), owed in self.owed.items():
            assert h.owed(merchant, currency) == owed, (merchant, currency)

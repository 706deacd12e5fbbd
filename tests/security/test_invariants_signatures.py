"""Stateful property test focused on signed redemptions and failing payouts.

Random sequences of: issuing to EOAs, to an ERC-1271 contract wallet and to a contract that
cannot sign or take ETH; transfers; merchant-submitted EIP-712 redemptions, singly and in
batches (all-or-nothing, or skip-failed with a RedemptionRefused event per refused item), each
one either genuine or attacked (replayed, signed for another chain, for another contract, by the
wrong key, past its deadline, with a stale or future nonce, superseded by a later authorisation
of the holder, naming another merchant, with the amount changed after signing, submitted by an
outsider) or reusing an order reference (v2: order references are event data, so that lands);
voids to a holder that refuses ETH; withdrawals by a merchant whose payout account reverts (and
later accepts); time passing.

A Python model predicts, for every call, the contract's exact error (in the contract's order of
checks) or success, and for a skip-failed batch exactly which items are refused and why; after
every step, for each currency, the contract's holdings must equal certificate balances + merchant
ledgers + deferred payments, and every merchant ledger must match the model. At teardown every
modelled certificate balance, owner and nonce is checked on chain.

SIGNATURE_SEQUENCES (default 30, split over two shards) sets the size; `make audit` raises it.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

import pytest
from harness import DAY, ETH, USD, Harness, ModelledCertificates
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from giftcert import eip712
from giftcert.errors import ContractRevert, UnknownRevert, decode_revert

SEQUENCES = int(os.environ.get("SIGNATURE_SEQUENCES", "30"))
STEPS = int(os.environ.get("SIGNATURE_STEPS", "10"))
SHARDS = 2

ATTACKS = [
    "genuine",
    "replay",
    "wrong_chain",
    "wrong_contract",
    "wrong_signer",
    "expired_deadline",
    "stale_nonce",
    "superseded",
    "wrong_merchant",
    "reused_order_ref",  # not an attack in v2: lands like a genuine one
    "amount_changed",
    "outsider_submits",
]


@dataclass
class Signed:
    """An authorisation as submitted, and what its signature actually covers."""

    # certificate, merchant, amount, orderRef, nonce, deadline
    auth: tuple[int, int, int, int, int, int]
    signature: bytes
    signed_auth: tuple[int, int, int, int, int, int]
    chain_id: int
    contract: str
    signer: str  # the address whose key signed


@dataclass
class Actors:
    wallet: object  # ERC1271Wallet owned by h.friend
    sink: object  # RevertingReceiver holding certificates: cannot sign, refuses ETH
    shop: object  # RevertingReceiver as merchant 3's account: its ETH payouts revert
    shop_id: int


@pytest.fixture(scope="module")
def actors(system: Harness):
    h = system
    snapshot = h.w3.provider.make_request("evm_snapshot", [])["result"]
    wallet = h.deploy_helper("ERC1271Wallet", h.friend)
    sink = h.deploy_helper("RevertingReceiver")
    shop = h.deploy_helper("RevertingReceiver")
    h.tx("registerMerchant", shop.address, "Broken Payout Shop", sender=h.admin)
    yield Actors(wallet, sink, shop, h.view("merchantCount"))
    h.w3.provider.make_request("evm_revert", [snapshot])


def make_machine(h: Harness, a: Actors, sequences_run: list[int], outcomes: Counter):
    eoas = [h.buyer, h.holder, h.friend, h.outsider]
    holders = [*eoas, a.wallet.address, a.sink.address]
    merchant_ids = [h.coffee, h.books, a.shop_id]
    merchant_account = {
        h.coffee: h.coffee_account,
        h.books: h.books_account,
        a.shop_id: a.shop.address,
    }
    currencies = [ETH, h.usd_id]
    reads = Reads(h)
    chain_id = h.w3.eth.chain_id
    other_contract = h.usd.address  # a real contract that is not the certificate contract

    def signer_of(owner: str) -> str | None:
        """Whose key the contract accepts for a certificate held by `owner`."""
        if owner == a.wallet.address:
            return h.friend  # ERC-1271: the wallet accepts its owner's signature
        if owner == a.sink.address:
            return None  # a contract without ERC-1271: nobody can sign for it
        return owner

    def via(account: str, fn_name: str, *args):
        """Sends a certificate-contract call as `account` (an EOA or one of the test contracts)."""
        if account in (a.shop.address, a.sink.address):
            helper = a.shop if account == a.shop.address else a.sink
            data = getattr(h.gc.functions, fn_name)(*args)._encode_transaction_data()
            return h.tx("execute", h.gc.address, 0, data, sender=h.admin, contract=helper)
        if account == a.wallet.address:
            data = getattr(h.gc.functions, fn_name)(*args)._encode_transaction_data()
            return h.tx("execute", h.gc.address, 0, data, sender=h.friend, contract=a.wallet)
        return h.tx(fn_name, *args, sender=account)

    class SignatureMachine(ModelledCertificates, RuleBasedStateMachine):
        harness = h
        tracks_nonce = True  # signed redemptions and transfers move it; teardown checks it

        @initialize(
            gifts=st.lists(
                st.tuples(
                    st.sampled_from(holders),
                    st.sampled_from(merchant_ids),
                    st.sampled_from(currencies),
                    st.integers(1, 5 * USD),
                ),
                min_size=2,
                max_size=4,
            )
        )
        def start(self, gifts):
            sequences_run.append(1)
            self.snapshot = h.w3.provider.make_request("evm_snapshot", [])["result"]
            self.certs: dict[int, dict] = {}
            self.gone: set[int] = set()  # burned by void: their authorisations must fail
            self.owed = {(m, c): reads.owed(m, c) for m in merchant_ids for c in currencies}
            self.deferred = {c: h.view("deferredOf", a.sink.address, c) for c in currencies}
            self.used_refs: dict[int, set[int]] = {m: set() for m in merchant_ids}
            self.next_ref = {m: 1 for m in merchant_ids}
            self.landed: list[Signed] = []
            self.shop_refuses = h.view("refuse", contract=a.shop)
            self.untracked = {
                c: reads.holdings(c)
                - sum(self.owed[(m, c)] for m in merchant_ids)
                - self.deferred[c]
                for c in currencies
            }
            for holder, merchant, currency, amount in gifts:  # every sequence has some to spend
                self.issue(h.buyer, holder, merchant, currency, amount, 0)

        def teardown(self):
            if not hasattr(self, "snapshot"):
                return
            try:
                self._assert_chain_matches_model()
                for cert_id in self.gone:
                    assert h.balance(cert_id) == 0, cert_id
                for currency, deferred in self.deferred.items():
                    assert h.view("deferredOf", a.sink.address, currency) == deferred
            finally:
                h.w3.provider.make_request("evm_revert", [self.snapshot])

        # -- helpers ---------------------------------------------------------------------
        def _fresh_ref(self, merchant: int) -> int:
            ref = self.next_ref[merchant]
            self.next_ref[merchant] += 1
            return ref

        def _attempt(self, expected: str | None, action):
            try:
                result = action()
            except ContractRevert as exc:
                if isinstance(exc, UnknownRevert) and exc.raw:
                    exc = decode_revert(h.gc.abi, exc.raw)  # bubbled up through execute()
                outcomes[exc.error_name] += 1
                assert exc.error_name == expected, f"got {exc}, expected {expected}"
                return None
            outcomes["success"] += 1
            assert expected is None, f"expected {expected}, the call succeeded"
            return result

        def _sign(self, cert_id: int, amount: int, attack: str, index: int,
                  nonce: int | None = None) -> Signed:
            """Signed by whoever the attack says, with the certificate's nonce in the model
            unless `nonce` is given (successive items of a batch carry successive ones)."""
            cert = self.certs[cert_id]
            merchant = cert["merchant"]
            if attack == "wrong_merchant":
                merchant = next(m for m in merchant_ids if m != cert["merchant"])
            if attack == "reused_order_ref" and self.used_refs[merchant]:
                refs = sorted(self.used_refs[merchant])
                ref = refs[index % len(refs)]
            else:
                ref = self._fresh_ref(merchant)
            deadline = h.now() - 1 if attack == "expired_deadline" else h.now() + 3600
            nonce = cert["nonce"] if nonce is None else nonce
            if attack == "stale_nonce":
                nonce = nonce - 1 if nonce and index % 2 else nonce + 1  # used, or not yet
            auth = (cert_id, merchant, amount, ref, nonce, deadline)
            signer = signer_of(cert["owner"]) or h.outsider  # the sink's "signature" is anyone's
            if attack == "wrong_signer":
                signer = next(e for e in eoas if e != signer)
            chain = chain_id + 1 if attack == "wrong_chain" else chain_id
            contract = other_contract if attack == "wrong_contract" else h.gc.address
            document = eip712.redemption(
                chain,
                contract,
                certificate=cert_id,
                merchant=merchant,
                amount=amount,
                order_ref=ref,
                nonce=nonce,
                deadline=deadline,
            )
            signature = eip712.sign_typed_data(h.keys[signer], document)
            submitted = (
                (cert_id, merchant, amount + 1, ref, nonce, deadline)
                if attack == "amount_changed"
                else auth
            )
            return Signed(submitted, signature, auth, chain, contract, signer)

        def _predict(self, s: Signed, scratch: dict, settling: int) -> str | None:
            """The error the contract gives one authorisation settled by merchant `settling`,
            in its order of checks (merchant, deadline, certificate, spendable, balance, nonce,
            signature); on success applies it to `scratch` (balances and nonces so far)."""
            cert_id, merchant, amount, _ref, nonce, deadline = s.auth
            cert = self.certs.get(cert_id)
            if merchant != settling or cert_id >> 224 != settling:
                return "WrongMerchant"
            if h.now() + 1 > deadline:
                return "AuthorizationExpired"
            if cert is None:
                return "UnknownCertificate"
            if self._expired(cert):
                return "Expired"
            balance = scratch["balances"].get(cert_id, cert["balance"])
            if amount > balance:
                return "InsufficientBalance"
            if nonce != scratch["nonces"].get(cert_id, cert["nonce"]):
                return "WrongNonce"
            valid = (
                s.auth == s.signed_auth
                and s.chain_id == chain_id
                and s.contract == h.gc.address
                and s.signer == signer_of(cert["owner"])
            )
            if not valid:
                return "InvalidSignature"
            scratch["balances"][cert_id] = balance - amount
            scratch["nonces"][cert_id] = nonce + 1
            return None

        def _land(self, landed: list[Signed]) -> None:
            for s in landed:
                cert_id, merchant, amount, ref, _, _ = s.auth
                cert = self.certs[cert_id]
                cert["balance"] -= amount
                cert["nonce"] += 1
                self.used_refs[merchant].add(ref)
                self.owed[(merchant, cert["currency"])] += amount
                self.landed.append(s)

        # -- rules -----------------------------------------------------------------------
        @rule(
            buyer=st.sampled_from(eoas),
            holder=st.sampled_from(holders),
            merchant=st.sampled_from(merchant_ids),
            currency=st.sampled_from(currencies),
            amount=st.integers(1, 5 * USD),
            extra_days=st.integers(0, 400),
        )
        def issue(self, buyer, holder, merchant, currency, amount, extra_days):
            self._issue_modelled(buyer, holder, merchant, currency, amount, extra_days)

        @precondition(lambda self: self.certs)
        @rule(index=st.integers(0, 10**6), to=st.sampled_from(holders))
        def transfer(self, index, to):
            """Ownership moves: authorisations signed by the previous holder stop working."""
            cert_id = self._pick(index)
            cert = self.certs[cert_id]
            owner = cert["owner"]
            error = "Expired" if self._expired(cert) else None
            if self._attempt(
                error, lambda: via(owner, "safeTransferFrom", owner, to, cert_id, 1, b"")
            ):
                cert["owner"] = to
                cert["nonce"] += 1  # even to the same owner: no earlier signature survives

        @precondition(lambda self: self.certs)
        @rule(
            index=st.integers(0, 10**6),
            part=st.integers(1, 1100),
            attack=st.sampled_from(ATTACKS),
        )
        def redeem_signed(self, index, part, attack):
            """One authorisation, submitted by the merchant it names (or an outsider)."""
            queue = []
            if attack == "replay":
                if not self.landed:
                    return
                queue.append(self.landed[index % len(self.landed)])
            else:
                cert_id = self._pick(index)
                cert = self.certs[cert_id]
                amount = max(1, cert["balance"] * part // 1000)
                queue.append(self._sign(cert_id, amount, attack, index))
                if attack == "superseded":
                    # the holder signs again (same nonce) and that one is settled first
                    later = self._sign(cert_id, max(1, amount // 2), "genuine", index + 1)
                    queue.insert(0, later)
            for signed in queue:
                merchant = signed.auth[1]
                submitter = (
                    h.outsider if attack == "outsider_submits" else merchant_account[merchant]
                )
                error = "NotMerchant" if submitter != merchant_account[merchant] else None
                scratch = {"balances": {}, "nonces": {}}
                error = error or self._predict(signed, scratch, merchant)
                if self._attempt(
                    error,
                    lambda s=signed, by=submitter: via(
                        by, "redeemWithAuthorization", s.auth, s.signature
                    ),
                ):
                    self._land([signed])

        @precondition(lambda self: self.certs)
        @rule(
            merchant=st.sampled_from(merchant_ids),
            picks=st.lists(
                st.tuples(st.integers(0, 10**6), st.integers(1, 600)), min_size=1, max_size=4
            ),
            attack=st.sampled_from(ATTACKS),
            position=st.integers(0, 3),
            all_or_nothing=st.booleans(),
        )
        def settle_batch(self, merchant, picks, attack, position, all_or_nothing):
            """A batch for one merchant with (maybe) one attacked authorisation. All or
            nothing: the first refused authorisation reverts the batch and names the error.
            Skip-failed: every valid one lands and each refused one is reported, in order."""
            mine = sorted(c for c, cert in self.certs.items() if cert["merchant"] == merchant)
            signable = [c for c in mine if signer_of(self.certs[c]["owner"])]
            if not signable:
                return
            batch = []
            next_nonce: dict[int, int] = {}  # genuine items on one certificate: n, n+1, ...
            for index, part in picks:
                cert_id = signable[index % len(signable)]
                amount = max(1, self.certs[cert_id]["balance"] * part // 3000)
                nonce = next_nonce.get(cert_id, self.certs[cert_id]["nonce"])
                next_nonce[cert_id] = nonce + 1
                batch.append(self._sign(cert_id, amount, "genuine", index, nonce))
            if attack == "replay":
                replays = [s for s in self.landed if s.auth[1] == merchant]
                if replays:
                    batch.insert(position % (len(batch) + 1), replays[position % len(replays)])
            elif attack not in ("genuine", "outsider_submits"):
                cert_id = mine[position % len(mine)]
                amount = max(1, self.certs[cert_id]["balance"] // 4)
                batch.insert(
                    position % (len(batch) + 1), self._sign(cert_id, amount, attack, position)
                )
            submitter = h.outsider if attack == "outsider_submits" else merchant_account[merchant]
            error = "NotMerchant" if submitter != merchant_account[merchant] else None
            scratch = {"balances": {}, "nonces": {}}
            verdicts = [] if error else [self._predict(s, scratch, merchant) for s in batch]
            if all_or_nothing and not error:
                error = next((v for v in verdicts if v), None)
            receipt = self._attempt(
                error,
                lambda: via(
                    submitter,
                    "settleBatch",
                    merchant,
                    [s.auth for s in batch],
                    [s.signature for s in batch],
                    all_or_nothing,
                ),
            )
            if not receipt:
                return
            reported = [
                (e["args"]["index"], e["args"]["certificate"],
                 decode_revert(h.gc.abi, e["args"]["reason"]).error_name)
                for e in h.events("RedemptionRefused", receipt)
            ]
            expected = [(i, s.auth[0], v) for i, (s, v) in enumerate(zip(batch, verdicts,
                                                                         strict=True)) if v]
            assert reported == expected
            outcomes.update(f"refused in batch: {v}" for _, _, v in reported)
            self._land([s for s, v in zip(batch, verdicts, strict=True) if v is None])

        @precondition(lambda self: self.certs)
        @rule(index=st.integers(0, 10**6))
        def void(self, index):
            """The merchant voids: the holder is paid, or (a holder refusing ETH) owed. Not
            after expiry (v2): the balance is then the buyer's refund."""
            cert_id = self._pick(index)
            cert = self.certs[cert_id]
            if not self._attempt(
                "Expired" if self._expired(cert) else None,
                lambda: via(merchant_account[cert["merchant"]], "void", cert_id),
            ):
                return
            self.certs.pop(cert_id)
            self.gone.add(cert_id)
            if cert["owner"] == a.sink.address and cert["currency"] == ETH:
                self.deferred[ETH] += cert["balance"]  # pull payment: kept, not lost

        @precondition(lambda self: any(self.owed.values()))
        @rule(merchant=st.sampled_from(merchant_ids), currency=st.sampled_from(currencies))
        def withdraw(self, merchant, currency):
            owed = self.owed[(merchant, currency)]
            if not owed:
                error = "NothingToWithdraw"
            elif merchant == a.shop_id and currency == ETH and self.shop_refuses:
                error = "TransferFailed"  # the whole call reverts: the ledger keeps the money
            else:
                error = None
            if self._attempt(
                error,
                lambda: via(merchant_account[merchant], "withdrawMerchant", merchant, currency),
            ):
                self.owed[(merchant, currency)] = 0

        @rule(refuse=st.booleans())
        def shop_payout_account(self, refuse):
            h.tx("setRefuse", refuse, sender=h.admin, contract=a.shop)
            self.shop_refuses = refuse

        @rule(days=st.sampled_from([1, 400, 3 * 365]))
        def time_passes(self, days):
            h.warp(days * DAY)

        # -- invariants ------------------------------------------------------------------
        @invariant()
        def solvent(self):
            if not hasattr(self, "untracked"):
                return
            for currency in currencies:
                held = reads.holdings(currency)
                certs = sum(c["balance"] for c in self.certs.values() if c["currency"] == currency)
                ledgers = sum(self.owed[(m, currency)] for m in merchant_ids)
                expected = self.untracked[currency] + certs + ledgers + self.deferred[currency]
                assert held == expected, (currency, held, expected)
                for m in merchant_ids:
                    assert reads.owed(m, currency) == self.owed[(m, currency)], (m, currency)

    return SignatureMachine


class Reads:
    """Raw eth_call reads with calldata encoded once: web3's contract-function objects cost
    ~12 ms a call here, which would dominate a step."""

    def __init__(self, h: Harness):
        self.h = h
        self._ledger = {}

    def _call(self, to: str, data: str) -> int:
        reply = self.h.w3.provider.make_request("eth_call", [{"to": to, "data": data}, "latest"])
        return int(reply["result"][2:66], 16)

    def holdings(self, currency: int) -> int:
        if currency == ETH:
            reply = self.h.w3.provider.make_request("eth_getBalance", [self.h.gc.address, "latest"])
            return int(reply["result"], 16)
        if "usd" not in self._ledger:
            self._ledger["usd"] = self.h.usd.encode_abi("balanceOf", [self.h.gc.address])
        return self._call(self.h.usd.address, self._ledger["usd"])

    def owed(self, merchant: int, currency: int) -> int:
        key = (merchant, currency)
        if key not in self._ledger:
            self._ledger[key] = self.h.gc.encode_abi("merchantLedger", [merchant, currency])
        return self._call(self.h.gc.address, self._ledger[key])


@pytest.mark.parametrize("shard", range(SHARDS))
def test_signature_attacks_never_move_value(system, actors, shard):
    sequences_run: list[int] = []
    outcomes: Counter = Counter()
    run_state_machine_as_test(
        make_machine(system, actors, sequences_run, outcomes),
        settings=settings(
            max_examples=max(1, SEQUENCES // SHARDS),
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )
    print(f"signatures shard {shard}: {len(sequences_run)} sequences of up to {STEPS} steps")
    print("outcomes:", ", ".join(f"{k} {v}" for k, v in outcomes.most_common()))
    assert len(sequences_run) >= SEQUENCES // SHARDS

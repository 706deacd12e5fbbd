"""Property-based stateful test: random sequences of every value-moving operation across several
accounts, two merchants and two currencies. After every step the chain must agree with a simple
Python model, and for each currency holdings == certificate balances + merchant ledgers. The
model keeps each certificate's nonce too, and batches settle in the skip-failed mode with stale,
over-balance and mis-signed items mixed in: the refused ones must be exactly those the model
refuses, with its reason.

HYPOTHESIS_SEQUENCES (default 200) sets how many sequences run; `make audit` raises it.
"""

from __future__ import annotations

import os

import pytest
from harness import DAY, ETH, USD, Harness, ModelledCertificates, forget_the_pool
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

from giftcert.errors import ContractRevert, decode_revert

SEQUENCES = int(os.environ.get("HYPOTHESIS_SEQUENCES", "200"))
STEPS = int(os.environ.get("HYPOTHESIS_STEPS", "8"))


def make_machine(h: Harness, sequences_run: list[int]):
    people = [h.buyer, h.holder, h.friend, h.outsider]
    merchants = {h.coffee: h.coffee_account, h.books: h.books_account}
    currencies = [ETH, h.usd_id]

    class GiftMachine(ModelledCertificates, RuleBasedStateMachine):
        harness = h
        tracks_nonce = True

        @initialize()
        def start(self):
            sequences_run.append(1)
            forget_the_pool(h.w3)
            self.snapshot = h.w3.provider.make_request("evm_snapshot", [])["result"]
            self.certs: dict[int, dict] = {}
            self.owed = {(m, c): h.owed(m, c) for m in merchants for c in currencies}
            self.order_ref = 0
            self.held = {c: _holdings(h, c) for c in currencies}
            # value escrowed before this sequence, in certificates the model does not track
            self.untracked = {
                c: self.held[c] - sum(self.owed[(m, c)] for m in merchants) for c in currencies
            }

        def teardown(self):
            if not hasattr(self, "snapshot"):
                return
            try:
                self._assert_chain_matches_model()
            finally:
                h.w3.provider.make_request("evm_revert", [self.snapshot])

        # -- helpers ---------------------------------------------------------------------
        def _next_ref(self) -> int:
            self.order_ref += 1
            return self.order_ref

        def _attempt(self, expected_error: str | None, action):
            try:
                result = action()
            except ContractRevert as exc:
                assert exc.error_name == expected_error, (
                    f"unexpected {exc}, expected {expected_error}"
                )
                return None
            assert expected_error is None, f"expected {expected_error}, call succeeded"
            return result

        # -- rules -----------------------------------------------------------------------
        @rule(
            buyer=st.sampled_from(people),
            holder=st.sampled_from(people),
            merchant=st.sampled_from([1, 2]),
            currency=st.sampled_from([0, 1]),
            amount=st.integers(1, 5 * USD),
            extra_days=st.integers(0, 400),
        )
        def issue(self, buyer, holder, merchant, currency, amount, extra_days):
            self._issue_modelled(buyer, holder, merchant, currency, amount, extra_days)
            self.held[currency] += amount

        @precondition(lambda self: self.certs)
        @rule(
            index=st.integers(0, 10**6), amount=st.integers(1, USD), payer=st.sampled_from(people)
        )
        def top_up(self, index, amount, payer):
            cert_id = self._pick(index)
            cert = self.certs[cert_id]
            if cert["currency"] != ETH:
                h.fund_usd(payer, amount)
            value = amount if cert["currency"] == ETH else 0
            error = "Expired" if self._expired(cert) else None
            if self._attempt(
                error, lambda: h.tx("topUp", cert_id, amount, sender=payer, value=value)
            ):
                cert["balance"] += amount
                self.held[cert["currency"]] += amount

        @precondition(lambda self: self.certs)
        @rule(index=st.integers(0, 10**6), to=st.sampled_from(people))
        def transfer(self, index, to):
            cert_id = self._pick(index)
            cert = self.certs[cert_id]
            error = "Expired" if self._expired(cert) else None
            owner = cert["owner"]
            if self._attempt(
                error, lambda: h.tx("safeTransferFrom", owner, to, cert_id, 1, b"", sender=owner)
            ):
                cert["owner"] = to
                cert["nonce"] += 1

        @precondition(lambda self: self.certs)
        @rule(index=st.integers(0, 10**6), part=st.integers(0, 1200), to=st.sampled_from(people))
        def split(self, index, part, to):
            cert_id = self._pick(index)
            cert = self.certs[cert_id]
            amount = cert["balance"] * part // 1000
            error = (
                "Expired"
                if self._expired(cert)
                else "ZeroAmount"
                if amount == 0
                else "InsufficientBalance"
                if amount > cert["balance"]
                else None
            )
            receipt = self._attempt(
                error, lambda: h.tx("split", cert_id, amount, to, sender=cert["owner"])
            )
            if receipt:
                new_id = h.events("Split", receipt)[0]["args"]["newId"]
                self.certs[new_id] = {**cert, "owner": to, "balance": amount, "nonce": 0}
                cert["balance"] -= amount
                cert["nonce"] += 1

        @precondition(lambda self: len(self.certs) >= 2)
        @rule(a=st.integers(0, 10**6), b=st.integers(0, 10**6))
        def merge(self, a, b):
            from_id, into_id = self._pick(a), self._pick(b)
            src, dst = self.certs[from_id], self.certs[into_id]
            compatible = (
                from_id != into_id
                and src["merchant"] == dst["merchant"]
                and src["currency"] == dst["currency"]
                and src["buyer"] == dst["buyer"]
                and dst["expiry"] >= src["expiry"]
            )
            if not compatible:
                error = "IncompatibleCertificates"
            elif src["owner"] != dst["owner"]:
                error = "NotHolder"
            elif self._expired(src):
                error = "Expired"
            else:
                error = None
            if self._attempt(error, lambda: h.tx("merge", from_id, into_id, sender=src["owner"])):
                dst["balance"] += src["balance"]
                del self.certs[from_id]

        @precondition(lambda self: self.certs)
        @rule(index=st.integers(0, 10**6), part=st.integers(1, 1100), signed=st.booleans())
        def redeem(self, index, part, signed):
            cert_id = self._pick(index)
            cert = self.certs[cert_id]
            amount = max(1, cert["balance"] * part // 1000)
            error = (
                "Expired"
                if self._expired(cert)
                else "InsufficientBalance"
                if amount > cert["balance"]
                else None
            )
            ref = self._next_ref()
            if signed:
                auth, sig = h.sign_redemption(
                    cert["owner"], cert_id, amount, order_ref=ref, deadline=h.now() + 3600
                )
                account = merchants[cert["merchant"]]
                action = lambda: h.tx("redeemWithAuthorization", auth, sig, sender=account)  # noqa: E731
            else:
                action = lambda: h.tx("redeem", cert_id, amount, ref, sender=cert["owner"])  # noqa: E731
            if self._attempt(error, action):
                cert["balance"] -= amount
                cert["nonce"] += int(signed)
                self.owed[(cert["merchant"], cert["currency"])] += amount

        @precondition(lambda self: self.certs)
        @rule(
            merchant=st.sampled_from([1, 2]),
            picks=st.lists(
                st.tuples(st.integers(0, 10**6), st.integers(1, 1100),
                          st.sampled_from(["good", "good", "stale", "forged"])),
                min_size=1, max_size=5),
        )
        def settle_batch(self, merchant, picks):
            """Skip-failed settlement: every valid item settles, each refused one is reported."""
            items, expected = [], {}
            nonces = {cid: c["nonce"] for cid, c in self.certs.items()}
            balances = {cid: c["balance"] for cid, c in self.certs.items()}
            for i, (index, part, kind) in enumerate(picks):
                cert_id = self._pick(index)
                cert = self.certs[cert_id]
                amount = max(1, cert["balance"] * part // 1000)
                nonce = nonces[cert_id] + (1 if kind == "stale" else 0)
                signer = h.outsider if kind == "forged" and cert["owner"] != h.outsider else (
                    h.friend if kind == "forged" else cert["owner"])
                auth, sig = h.sign_redemption(signer, cert_id, amount, order_ref=self._next_ref(),
                                              deadline=h.now() + 3600, nonce=nonce,
                                              merchant=merchant)
                items.append((auth, sig))
                if cert["merchant"] != merchant:
                    expected[i] = "WrongMerchant"
                elif self._expired(cert):
                    expected[i] = "Expired"
                elif amount > balances[cert_id]:
                    expected[i] = "InsufficientBalance"
                elif nonce != nonces[cert_id]:
                    expected[i] = "WrongNonce"
                elif kind == "forged":
                    expected[i] = "InvalidSignature"
                else:
                    balances[cert_id] -= amount
                    nonces[cert_id] += 1
            receipt = h.tx("settleBatch", merchant, [a for a, _ in items], [s for _, s in items],
                           False, sender=merchants[merchant])
            refused = {e["args"]["index"]: decode_revert(h.gc.abi, e["args"]["reason"]).error_name
                       for e in h.events("RedemptionRefused", receipt)}
            assert refused == expected, (refused, expected)
            for cert_id, cert in self.certs.items():
                paid = cert["balance"] - balances[cert_id]
                self.owed[(cert["merchant"], cert["currency"])] += paid
                cert["balance"], cert["nonce"] = balances[cert_id], nonces[cert_id]

        @precondition(lambda self: self.certs)
        @rule(index=st.integers(0, 10**6))
        def refund(self, index):
            cert_id = self._pick(index)
            cert = self.certs[cert_id]
            error = None if self._expired(cert) else "NotExpired"
            if self._attempt(
                error, lambda: h.tx("refund", cert_id, cert["buyer"], sender=h.outsider)
            ):
                self.held[cert["currency"]] -= cert["balance"]
                del self.certs[cert_id]

        @precondition(lambda self: self.certs)
        @rule(index=st.integers(0, 10**6))
        def void(self, index):
            cert_id = self._pick(index)
            cert = self.certs[cert_id]
            error = "Expired" if self._expired(cert) else None  # after expiry it is the buyer's
            account = merchants[cert["merchant"]]
            if self._attempt(error, lambda: h.tx("void", cert_id, sender=account)):
                self.held[cert["currency"]] -= cert["balance"]
                del self.certs[cert_id]

        @rule(merchant=st.sampled_from([1, 2]), currency=st.sampled_from([0, 1]))
        def withdraw(self, merchant, currency):
            owed = self.owed[(merchant, currency)]
            error = None if owed else "NothingToWithdraw"
            if self._attempt(
                error,
                lambda: h.tx("withdrawMerchant", merchant, currency, sender=merchants[merchant]),
            ):
                self.held[currency] -= owed
                self.owed[(merchant, currency)] = 0

        @rule(days=st.sampled_from([1, 30, 400, 2 * 365]))
        def time_passes(self, days):
            h.warp(days * DAY)

        # -- invariants ------------------------------------------------------------------
        @invariant()
        def solvent(self):
            """Holdings == untracked + certificate balances + merchant ledgers, per currency.

            Balances and ledgers come from the model here (two RPC reads per step keep 200
            sequences fast); teardown checks every modelled balance and ledger on chain.
            """
            if not hasattr(self, "held"):
                return
            for currency in currencies:
                on_chain = _holdings(h, currency)
                certs = sum(c["balance"] for c in self.certs.values() if c["currency"] == currency)
                ledgers = sum(self.owed[(m, currency)] for m in merchants)
                assert on_chain == self.untracked[currency] + certs + ledgers, (currency, on_chain)

    return GiftMachine


def _holdings(h: Harness, currency: int) -> int:
    if currency == ETH:
        return h.eth_balance(h.gc.address)
    return h.view("balanceOf", h.gc.address, contract=h.usd)


SHARDS = 2  # two halves, so pytest-xdist runs them on both cores


@pytest.mark.parametrize("shard", range(SHARDS))
def test_random_sequences_keep_solvency(system, shard):
    sequences_run: list[int] = []
    machine = make_machine(system, sequences_run)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=SEQUENCES // SHARDS,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )
    # Hypothesis may stop early when it runs out of distinct inputs; make sure it did not.
    print(f"shard {shard}: {len(sequences_run)} sequences of up to {STEPS} steps")
    assert len(sequences_run) >= SEQUENCES // SHARDS

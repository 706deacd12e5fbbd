"""Payment tabs under attack (issue 17): a stateful property test in which a dishonest holder
tries every other way out while vouchers are outstanding (transfer, split, merge out, redeem,
signed redemption, cash-out, a second tab, closing, the buyer's refund at expiry), time passes
and the chain may be paused, and an honest merchant, which serves only after the free on-chain
check and settles its latest voucher when a close is pending or the end is near, always collects
every purchase it served. After every step: the chain matches the model and the escrow is
solvent (holdings == certificate balances + merchant ledgers).

TAB_SEQUENCES (default 200) sets how many sequences run; `make audit` runs 2,000.
"""

from __future__ import annotations

import os

import pytest
from harness import DAY, ETH, ONE_ETH, Harness, forget_the_pool
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from giftcert.errors import ContractRevert

SEQUENCES = int(os.environ.get("TAB_SEQUENCES", "200"))
STEPS = int(os.environ.get("TAB_STEPS", "10"))
SHARDS = 2
ZERO = "0x" + "00" * 20
CLOSE_DELAY = 2 * DAY
GRACE = 7 * DAY
VALIDITY = 20 * DAY
START = 10_000


def make_machine(h: Harness, sequences_run: list[int]):
    class TabMachine(RuleBasedStateMachine):
        @initialize()
        def start(self):
            sequences_run.append(1)
            forget_the_pool(h.w3)
            self.snapshot = h.w3.provider.make_request("evm_snapshot", [])["result"]
            h.tx("setMinValidity", 0, sender=h.admin)
            self.cert = h.issue(amount=START, validity=VALIDITY)
            self.expiry = self.cert >> 128 & (2**40 - 1)
            h.tx("openTab", self.cert, ZERO, sender=h.holder)
            h.tx("setCashOutLimit", h.coffee, ETH, ONE_ETH, sender=h.coffee_account)
            self.open, self.epoch, self.balance = True, 1, START
            self.close_at = 0
            self.served = 0  # everything the merchant handed over on this tab
            self.collected = 0  # everything it settled
            self.latest: tuple[tuple, bytes] | None = None  # the merchant's latest voucher
            self.total = 0  # the latest voucher's running total
            self.refunded = False
            self.paused = False
            self.side = 0
            self.owed_before = h.owed(h.coffee)
            self.held_before = h.eth_balance(h.gc.address) - START

        def teardown(self):
            if not hasattr(self, "snapshot"):
                return
            try:
                if not hasattr(self, "total"):  # start itself failed: let its error show
                    return
                if self.latest is not None and h.now() < self.expiry + GRACE:
                    self._merchant_settles()
                assert self.refunded or self.collected == self.served, \
                    "the merchant lost purchases it served"
            finally:
                h.w3.provider.make_request("evm_revert", [self.snapshot])

        # -- helpers ---------------------------------------------------------------------
        def _refused(self, error: str | set[str], name: str, *args, sender: str, value=0):
            errors = {error} if isinstance(error, str) else error
            try:
                h.tx(name, *args, sender=sender, value=value)
            except ContractRevert as exc:
                assert exc.error_name in errors, f"{name}: {exc}, expected {errors}"
                return
            raise AssertionError(f"{name} succeeded while a tab was open")

        def _merchant_settles(self):
            assert self.latest is not None
            receipt = h.settle_tabs(h.coffee, self.latest)
            assert h.refusals(receipt) == [], h.refusals(receipt)
            self.balance -= self.total
            self.collected += self.total
            self.epoch += 1
            self.latest, self.total = None, 0

        def _ending_soon(self, seconds: int) -> bool:
            """Whether `seconds` from now the merchant could no longer settle."""
            later = h.now() + seconds
            return (self.close_at and later >= self.close_at - 60) or \
                later >= self.expiry + GRACE - 60

        def _blocked_reasons(self) -> set[str]:
            reasons = {"TabOpen"} if self.open else set()
            if h.now() >= self.expiry:
                reasons.add("Expired")
            if self.paused:
                reasons.add("EnforcedPause")
            return reasons or {"none"}

        # -- the honest holder buys; the honest merchant serves and settles -----------------
        @rule(price=st.integers(1, 1500))
        def buy(self, price):
            if not self.open or self.refunded:
                return
            total = self.total + price
            tab = h.view("tab", self.cert)
            # The merchant's free check before serving: open, no close pending, this epoch,
            # the balance covers the new total, settling stays possible for a while.
            serves = (tab[0] and tab[4] == 0 and tab[1] == self.epoch and tab[2] >= total
                      and h.now() + DAY < tab[5])
            if not serves:
                return
            self.latest = h.sign_voucher(h.holder, self.cert, total)
            self.total = total
            self.served += price

        @rule()
        def merchant_settles_when_it_likes(self):
            if self.latest is not None:
                self._merchant_settles()

        # -- the dishonest holder tries every other way out ----------------------------------
        @rule(attack=st.sampled_from(["transfer", "split", "merge_out", "redeem", "cash_out",
                                      "signed_redeem", "signed_transfer", "second_tab"]))
        def holder_tries_to_leave_with_the_value(self, attack):
            if not self.open or self.refunded:
                return
            reasons = self._blocked_reasons()
            c = self.cert
            if attack == "transfer":
                self._refused(reasons, "safeTransferFrom", h.holder, h.friend, c, 1, b"",
                              sender=h.holder)
            elif attack == "split":
                self._refused(reasons, "split", c, 1, h.friend, sender=h.holder)
            elif attack == "merge_out":
                other = h.issue(amount=5, validity=VALIDITY + 30 * DAY) \
                    if h.now() < self.expiry and not self.paused else None
                if other is not None:
                    self.side += 5
                    self._refused(reasons | {"IncompatibleCertificates"}, "merge", c, other,
                                  sender=h.holder)
            elif attack == "redeem":
                self._refused(reasons, "redeem", c, 1, 1, sender=h.holder)
            elif attack == "cash_out":
                self._refused(reasons, "cashOut", c, sender=h.holder)
            elif attack == "signed_redeem":
                auth, sig = h.sign_redemption(h.holder, c, 1, order_ref=1)
                self._refused(reasons | {"AuthorizationExpired"}, "redeemWithAuthorization",
                              auth, sig, sender=h.coffee_account)
            elif attack == "signed_transfer":
                struct, sig = h.sign_action("transfer", h.holder, c, to=h.friend)
                self._refused(reasons, "transferWithAuthorization", struct, sig,
                              sender=h.outsider)
            else:
                self._refused(reasons | {"TabOpen"}, "openTab", c, ZERO, sender=h.holder)

        @rule()
        def holder_settles_an_old_voucher_itself(self):
            """Only the merchant settles: the holder cannot void the latest voucher."""
            if self.latest is None:
                return
            stale = h.sign_voucher(h.holder, self.cert, 1)
            self._refused("NotMerchant", "settleTabs", h.coffee, [stale[0]], [stale[1]],
                          sender=h.holder)

        @rule()
        def holder_asks_to_close(self):
            if not self.open or self.close_at or self.refunded:
                return
            h.tx("requestTabClose", self.cert, sender=h.holder)
            self.close_at = h.now() + CLOSE_DELAY

        @rule()
        def holder_closes(self):
            if not self.open or self.refunded:
                return
            if not self.close_at:
                self._refused("TabCloseNotRequested", "closeTab", self.cert, sender=h.holder)
            elif h.now() < self.close_at:
                self._refused("TabCloseDelay", "closeTab", self.cert, sender=h.holder)
            else:
                assert self.latest is None  # the merchant settled within the delay
                h.tx("closeTab", self.cert, sender=h.holder)
                self.open, self.close_at = False, 0
                self.epoch += 1

        @rule()
        def buyer_asks_for_the_refund(self):
            if self.refunded:
                return
            now = h.now()
            if now < self.expiry:
                self._refused("NotExpired", "refund", self.cert, h.buyer, sender=h.buyer)
            elif self.open and now < self.expiry + GRACE:
                self._refused("TabSettling", "refund", self.cert, h.buyer, sender=h.buyer)
            else:
                assert self.latest is None  # collected before the end
                h.tx("refund", self.cert, h.buyer, sender=h.buyer)
                self.refunded = True
                self.balance = 0

        @rule(top_up=st.integers(1, 500))
        def someone_tops_up(self, top_up):
            if self.refunded or h.now() >= self.expiry or self.paused:
                return
            h.tx("topUp", self.cert, top_up, sender=h.buyer, value=top_up)
            self.balance += top_up

        @rule()
        def the_pauser_toggles(self):
            h.tx("unpause" if self.paused else "pause", sender=h.admin)
            self.paused = not self.paused

        @rule(seconds=st.sampled_from([60, DAY // 2, DAY, 3 * DAY, 8 * DAY]))
        def time_passes(self, seconds):
            # The honest merchant settles before its chance would end.
            if self.latest is not None and self._ending_soon(seconds):
                self._merchant_settles()
            h.warp(seconds)

        # -- after every step ----------------------------------------------------------------
        @invariant()
        def chain_matches_the_model_and_the_escrow_is_solvent(self):
            if not hasattr(self, "cert"):
                return
            assert h.balance(self.cert) == self.balance
            assert h.owed(h.coffee) == self.owed_before + self.collected
            if not self.refunded:
                tab = h.view("tab", self.cert)
                assert tab[0] == self.open
                if self.open:
                    assert tab[1] == self.epoch
            # Solvency, exactly: what the escrow holds is what it owes (this certificate, the
            # merchant's collections, the other certificates the attacks issued).
            assert h.eth_balance(h.gc.address) == (self.held_before + self.balance
                                                    + self.collected + self.side)

    return TabMachine


@pytest.mark.parametrize("shard", range(SHARDS))
def test_a_dishonest_holder_never_gets_past_an_honest_merchant(system, shard):
    sequences_run: list[int] = []
    run_state_machine_as_test(
        make_machine(system, sequences_run),
        settings=settings(max_examples=SEQUENCES // SHARDS, stateful_step_count=STEPS,
                          deadline=None, suppress_health_check=list(HealthCheck),
                          database=None),
    )
    print(f"tabs shard {shard}: {len(sequences_run)} sequences of up to {STEPS} steps")
    assert len(sequences_run) >= SEQUENCES // SHARDS

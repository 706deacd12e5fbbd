"""A small version of `bench/load.py` (make audit runs 1,200): concurrent signed redemptions,
singly and in batches, with double submissions and overspending; nothing lost or doubled."""

from bench.load import report, run_load
from giftcert.client import GiftCert


def test_concurrent_redemptions_land_once_or_fail_with_a_reason(h):
    admin = GiftCert(h.w3, h.gc, h.admin)
    merchants = {h.coffee: h.coffee_account, h.books: h.books_account}
    result = run_load(
        admin,
        merchants,
        redemptions=120,
        holders=12,
        threads=12,
        twice_share=0.1,
        say=lambda _: None,
    )
    report(result)
    assert result.lost == 0
    assert result.duplicates_on_chain == 0
    assert result.mismatches == []
    assert result.landed > 0 and result.batches > 0
    # every refusal is the contract's own reason (a second submission, an overspend)
    assert set(result.failed_by_reason) <= {"OrderRefUsed", "InsufficientBalance"}
    assert result.failed_by_reason.get("OrderRefUsed", 0) > 0

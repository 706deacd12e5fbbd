"""A small version of `bench/load.py` (make audit runs 1,200 through the SDK and 1,200 through
the API): concurrent signed redemptions, singly and in batches, with double submissions and
overspending; nothing lost or doubled."""

from bench.load import load_chain, report, run_load
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
    assert set(result.failed_by_reason) <= {"WrongNonce", "InsufficientBalance"}
    assert result.failed_by_reason.get("WrongNonce", 0) > 0


def test_concurrent_redemptions_through_the_api_land_once_or_fail_with_a_reason():
    """The same run through the site (`giftcert serve` on its own anvil): holders get the typed
    data from the API, sign locally and hand the signature in; merchants have the API build the
    transaction, sign it with their own key and send it raw."""
    with load_chain(2, serve=True) as chain:
        result = run_load(
            chain.admin,
            chain.merchant_accounts,
            redemptions=120,
            holders=12,
            threads=12,
            twice_share=0.1,
            via="api",
            site=chain.site,
            merchant_keys=chain.merchant_keys,
            say=lambda _: None,
        )
    report(result)
    assert result.via == "api" and result.http_requests > 0
    assert result.errors == 0  # no 5xx from the site, no exception
    assert result.lost == 0
    assert result.duplicates_on_chain == 0
    assert result.mismatches == []  # ledgers and balances match the chain to the unit
    assert result.landed > 0 and result.batches > 0
    assert set(result.failed_by_reason) <= {"WrongNonce", "InsufficientBalance"}
    assert result.failed_by_reason.get("WrongNonce", 0) > 0
    # every refusal is accounted for where it happened (API check, simulation or mined tx)
    assert sum(result.refused_at.values()) == sum(result.failed_by_reason.values())

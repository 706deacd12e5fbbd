"""Every page, as a phone (390x844) and a laptop (1280x800) show it: no horizontal scroll, and
no axe-core violation (axe from npm, node_modules/axe-core, injected by the test: the site
never serves it and nothing is fetched). Also the page head (favicon, description) and the
network-unreachable page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from e2e_stack import (
    BOOKS,
    COFFEE,
    FRIEND,
    GIVER,
    HOLDER,
    Chain,
    connect,
    gift_for_holder,
    ref,
    reload_until,
    sign_in_merchant,
)
from playwright.sync_api import expect

from giftcert.config import PROJECT_ROOT

AXE = Path(PROJECT_ROOT) / "node_modules" / "axe-core" / "axe.min.js"
SIZES = ["phone", "desktop"]


def axe_violations(page: Any) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(content=AXE.read_text())
    result = page.evaluate("""async () => {
        const r = await axe.run(document, { resultTypes: ["violations"] });
        return r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + n.failureSummary) }));
    }""")
    return result


def overflow(page: Any) -> dict[str, Any] | None:
    """What sticks out sideways, if anything (the page's width beyond the screen's)."""
    return page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const scroll = document.documentElement.scrollWidth;
        if (scroll <= width) return null;
        const wide = [...document.querySelectorAll("body *")].filter(el => {
            const r = el.getBoundingClientRect(); return r.right > width + 1 && r.width > 0; })
            .slice(0, 5).map(el => el.tagName + "." + el.className + "#" + el.id);
        return { width, scroll, wide };
    }""")


def check(page: Any, name: str, problems: list[str]) -> None:
    page.wait_for_load_state("networkidle")
    found = axe_violations(page)
    if found:
        problems.append(f"{name}: axe {json.dumps(found, indent=1)}")
    wide = overflow(page)
    if wide:
        problems.append(f"{name}: horizontal overflow {wide}")


@pytest.fixture(scope="module")
def gifts(e2e_chain: Chain) -> dict[str, int]:
    """A spendable gift of the holder's and an unclaimed claim-link gift."""
    giver = e2e_chain.client(GIVER)
    link = giver.issue_claimable("5", e2e_chain.merchant_id("Corner Coffee"), "tUSD",
                                 message="A little something\n— Robin")
    return {"spendable": gift_for_holder(e2e_chain, "18"), "link": link.certificate.id,
            "link_path": link.path}


@pytest.mark.parametrize("size", SIZES)
def test_every_page_has_no_axe_violation_and_no_sideways_scroll(open_browser, e2e_chain: Chain,
                                                                 gifts: dict[str, Any],
                                                                 size: str):
    problems: list[str] = []
    holder = open_browser(HOLDER, size=size)
    page = connect(holder, "/")
    holder_address = e2e_chain.address(HOLDER)
    cert = ref(gifts["spendable"])
    pages = ["/", "/give", "/give/bulk", "/my", f"/holder/{holder_address}",
             f"/certificates/{cert}", f"/gift/{cert}", f"/gift/{cert}?sent=1", f"/pay/{cert}",
             f"/tab/{cert}",
             f"/pay?merchant={e2e_chain.merchant_id('Corner Coffee')}&currency=tUSD&amount=4.50"
             "&ref=12", gifts["link_path"], f"/gift/{ref(gifts['link'])}", "/admin/",
             "/merchant/login", "/certificates/ZZZZ-ZZZZ",
             f"/certificates/{e2e_chain.demo['expiredRefundable']}",
             f"/certificates/{e2e_chain.demo['openingNextWeek']}"]
    for path in pages:
        holder.goto(path)
        if path.startswith("/holder/"):
            reload_until(page, page.get_by_test_id("cert-card"))
        check(page, path, problems)
    # A review open, and the pay page's code.
    holder.goto("/give")
    page.get_by_test_id("give-amount").fill("0.01")
    page.get_by_test_id("give-currency").select_option("ETH")
    page.get_by_test_id("give-to").fill(e2e_chain.address(FRIEND))
    page.get_by_test_id("give-review").click()
    expect(page.get_by_test_id("give-form").get_by_test_id("tx-review")).to_be_visible()
    check(page, "/give (review)", problems)
    holder.goto(f"/pay/{cert}")
    page.get_by_test_id("pay-amount").fill("1")
    page.get_by_test_id("pay-sign").click()
    expect(page.get_by_test_id("pay-result")).to_be_visible()
    check(page, "/pay (code)", problems)

    merchant = open_browser(COFFEE, size=size)
    desk = sign_in_merchant(merchant, "Corner Coffee")
    check(desk, "/merchant/", problems)
    outsider = open_browser(FRIEND, size=size)
    none = outsider.goto("/merchant/login")
    none.get_by_test_id("siwe-button").click()
    expect(none.get_by_test_id("not-merchant")).to_be_visible()
    check(none, "/merchant/ (not a shop)", problems)
    assert not problems, "\n".join(problems)


def test_pages_have_a_favicon_a_description_and_a_logo(open_browser):
    visitor = open_browser(HOLDER)
    page = visitor.goto("/")
    icon = page.locator('link[rel="icon"]').get_attribute("href")
    assert icon and icon.endswith(".svg")
    assert visitor.context.request.get(visitor.site.url + icon).status == 200
    assert visitor.context.request.get(visitor.site.url + "/favicon.ico").status == 200
    description = page.locator('meta[name="description"]').get_attribute("content")
    assert description and len(description) > 50
    logo = page.locator(".brand img")
    expect(logo).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth > 0", logo.element_handle())


def test_a_page_that_needs_the_network_says_it_is_unreachable(open_browser,
                                                              e2e_chain: Chain):
    """The node stops answering: a page that needs it says so in words, and an action's
    error raises the banner; nothing is sent."""
    visitor = open_browser(BOOKS)
    page = connect(visitor, "/give")
    visitor.context.route("**/api/v1/tx/issue", lambda route: route.fulfill(
        status=503, content_type="application/json",
        body=json.dumps({"error": "chain unreachable: the node does not answer", "field": None})))
    page.get_by_test_id("give-amount").fill("1")
    page.get_by_test_id("give-to").fill(e2e_chain.address(FRIEND))
    page.get_by_test_id("give-review").click()
    expect(page.get_by_test_id("chain-down")).to_be_visible()
    expect(page.get_by_test_id("give-form").get_by_test_id("form-error")).to_contain_text(
        "cannot be reached")
    assert visitor.wallet.sent == []


def test_admin_link_and_holder_actions_only_for_who_may_use_them(open_browser,
                                                                e2e_chain: Chain):
    from e2e_stack import ADMIN, STRANGER

    cert = ref(gift_for_holder(e2e_chain, "6"))
    admin = open_browser(ADMIN)
    page = connect(admin, "/")
    expect(page.get_by_test_id("nav-admin")).to_be_visible()
    stranger = open_browser(STRANGER)
    page = connect(stranger, f"/certificates/{cert}")
    expect(page.get_by_test_id("nav-admin")).to_be_hidden()
    for form in ("regift-part-form", "regift-whole-form", "cert-pay"):
        expect(page.get_by_test_id(form).first).to_be_hidden()
    expect(page.get_by_test_id("holder-hint")).to_be_visible()
    holder = open_browser(HOLDER)
    page = connect(holder, f"/certificates/{cert}")
    expect(page.get_by_test_id("regift-part-form")).to_be_visible()
    expect(page.get_by_test_id("holder-hint")).to_be_hidden()

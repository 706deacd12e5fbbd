"""The `giftcert` command against the test anvil: good input works, bad input is one line."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from decimal import Decimal

import click
import pytest
from click.testing import CliRunner
from sdk.cli_helpers import one_line_error

from giftcert.cli import main
from giftcert.client import DAY
from giftcert.errors import ContractRevert
from giftcert.money import Money


def test_every_subcommand_has_help(run):
    for command in ("deploy", "demo", "issue", "show", "list", "redeem", "sign-redeem", "settle",
                    "order", "refund", "merchant", "index", "serve", "chain", "compile"):
        assert "Usage:" in run(command, "--help").output
    assert "add" in run("merchant", "--help").output


def test_deploy_reuses_recorded_deployment(run, sdk):
    data = json.loads(run("deploy", "--json").stdout)
    assert data["gift_certificates"] == sdk.record.gift_certificates and not data["created"]


def test_issue_show_list_redeem_flow(run, sdk):
    issued = json.loads(run("--account", "1", "issue", "--to", sdk.holder.sender, "--amount",
                            "12.50", "--merchant", "1", "--json").output)
    cert_id = issued["id"]
    assert issued["balance"] == {"amount": "12.50", "currency": "tUSD"}
    assert "12.50 tUSD" in run("show", cert_id).output
    run("--account", "2", "redeem", cert_id, "--amount", "2.5", "--order-ref", "1")
    listed = json.loads(run("list", "--owner", sdk.holder.sender, "--json").output)
    rows = [(c["id"], c["balance"], c["status"]) for c in listed]
    assert rows == [(cert_id, "10 tUSD", "active")]
    assert "no certificates" in run("list", "--owner", sdk.friend.sender).output


def test_sign_redeem_then_settle(run, sdk, tmp_path):
    cert = sdk.buyer.issue(sdk.holder.sender, "5", sdk.coffee_id, "tUSD")
    auth = run("--account", "2", "sign-redeem", str(cert.id), "--amount", "1.25",
               "--order-ref", "42").output
    assert json.loads(auth)["typedData"]["primaryType"] == "Redemption"
    path = tmp_path / "auths.json"
    path.write_text(f"[{auth}]")
    assert "settled 1 of 1 in " in run("--account", "4", "settle", str(path)).output
    assert sdk.holder.certificate(cert.id).balance.amount == 3.75
    assert "settle [OPTIONS] FILE" in run("settle", "--help").output
    assert "Exit status" in run("settle", "--help").output

    # The same file again: its nonce is used, nothing would settle, so nothing is sent.
    block = sdk.w3.eth.block_number
    again = run("--account", "4", "settle", str(path), "--json", ok=False)
    assert again.exit_code == 1 and sdk.w3.eth.block_number == block
    data = json.loads(again.stdout)
    assert data["settled"] == 0 and data["tx"] is None and data["total"] == 1
    assert [(r["index"], r["certificate"], r["reason"]) for r in data["refused"]] == [
        (0, str(cert.id), "WrongNonce")]
    assert "Ask the customer to sign again" in data["refused"][0]["message"]
    one_line_error(run("--account", "4", "settle", str(path), ok=False), "nothing settled",
                   "WrongNonce")

    # Mixed: the valid one settles (exit 0), the others are reported with their reasons.
    small = sdk.buyer.issue(sdk.holder.sender, "1", sdk.coffee_id, "tUSD")
    fresh = run("--account", "2", "sign-redeem", str(cert.id), "--amount", "1",
                "--order-ref", "43").output
    too_much = run("--account", "2", "sign-redeem", str(small.id), "--amount", "2",
                   "--order-ref", "44").output
    path.write_text(f"[{auth}, {fresh}, {too_much}]")
    out = run("--account", "4", "settle", str(path)).output
    assert "settled 1 of 3 in " in out
    assert (f"refused #0 (certificate {cert.id}): WrongNonce: This authorisation was already "
            "used") in out
    assert (f"refused #2 (certificate {small.id}): InsufficientBalance: the certificate holds "
            "1 tUSD, less than the 2 tUSD asked") in out
    assert sdk.holder.certificate(cert.id).balance.amount == Decimal("2.75")


def test_order_lookup_answers_from_the_index(run, sdk):
    """Order references are event data only: `giftcert order` asks the index."""
    cert = sdk.buyer.issue(sdk.holder.sender, "5", sdk.coffee_id, "tUSD")
    sdk.holder.redeem(cert.id, "1.25", order_ref=42)
    sdk.holder.redeem(cert.id, "0.75", order_ref=42)  # one order paid in two parts
    data = json.loads(run("order", "42", "--merchant", str(sdk.coffee_id), "--json").stdout)
    assert data["paid"] and data["orderRef"] == "42"
    assert [p["amount"]["amount"] for p in data["payments"]] == ["1.25", "0.75"]
    assert all(p["certificate"] == str(cert.id) for p in data["payments"])
    assert "paid in 2 payments" in run("order", "42", "--merchant", str(sdk.coffee_id)).output
    assert "no payment found" in run("order", "42", "--merchant", str(sdk.books_id)).output
    assert not json.loads(run("order", "43", "--merchant", "1", "--json").stdout)["paid"]


def test_merchant_add_list_and_claim_link_and_refund(run, sdk):
    added = json.loads(run("merchant", "add", "Green Leaf Tea", sdk.friend.sender, "--json").output)
    assert added["id"] == 3
    assert "Green Leaf Tea" in run("merchant", "list").output
    assert "/claim/" in run("--account", "1", "issue", "--claim-link", "--amount", "3",
                            "--merchant", "1").output
    sdk.admin.set_min_validity(3600)
    cert = sdk.buyer.issue(sdk.holder.sender, "4", 1, "tUSD", expiry=sdk.buyer.now() + 3700)
    sdk.warp(4000)
    assert "refunded 4 tUSD" in run("--account", "1", "refund", str(cert.id)).output


def test_issue_batch_from_csv_shows_progress(run, sdk, tmp_path):
    path = tmp_path / "batch.csv"
    path.write_text(f"recipient,amount\n{sdk.holder.sender},1\n{sdk.friend.sender},2.5\n")
    result = run("--account", "1", "issue", "--csv", str(path), "--merchant", "2", "--json")
    assert len(json.loads(result.stdout)) == 2


def test_index_once(run):
    data = json.loads(run("index", "--json").stdout)
    assert data["events"] > 0 and data["merchants"] == 2


@pytest.mark.parametrize("args, needles", [
    (["issue", "--to", "0x1234", "--amount", "1", "--merchant", "1"], ["not a valid address"]),
    (["issue", "--to", "0x" + "11" * 20, "--amount", "-5", "--merchant", "1"], ["negative"]),
    (["issue", "--to", "0x" + "11" * 20, "--amount", "1.0000001", "--merchant", "1"],
     ["more than 6 decimal places"]),
    (["issue", "--to", "0x" + "11" * 20, "--amount", "0", "--merchant", "1"], ["greater than"]),
    (["issue", "--to", "0x" + "11" * 20, "--amount", "1", "--merchant", "9"],
     ["UnknownMerchant", "No such merchant"]),
    (["issue", "--to", "0x" + "11" * 20, "--amount", "1", "--merchant", "1", "--currency",
      "DOGE"], ["unknown currency 'DOGE'"]),
    (["show", "12345"], ["no certificate 12345"]),
    (["show", "not-a-number"], ["not a certificate id"]),
    (["list", "--owner", "nope"], ["not a valid address"]),
    (["settle", "/no/such/file.json"], ["does not exist"]),
])
def test_bad_input_is_one_line(run, args, needles):
    one_line_error(run(*args, ok=False), *needles)


def test_wrong_network_and_missing_deployment(sdk, tmp_path):
    runner = CliRunner(mix_stderr=False)
    none = str(tmp_path / "none.env")
    wrong = {**sdk.env, "GIFTCERT_CHAIN_ID": "5", "GIFTCERT_DEPLOYER_KEY": "0x" + "ab" * 32}
    one_line_error(runner.invoke(main, ["--env-file", none, "show", "1"], env=wrong),
                   "wrong network")
    empty = {**sdk.env, "GIFTCERT_DEPLOYMENTS_DIR": str(tmp_path / "empty")}
    one_line_error(runner.invoke(main, ["--env-file", none, "show", "1"], env=empty),
                   "giftcert deploy")
    down = {**sdk.env, "GIFTCERT_RPC_URL": "http://127.0.0.1:1"}
    one_line_error(runner.invoke(main, ["--env-file", none, "show", "1"], env=down),
                   "no Ethereum node")


def test_serve_is_offered_once_the_web_app_exists(run):
    # `serve` runs forever, so it is not started here; the web tests and browser tests serve it.
    listed = "serve" in run("--help").output.split("Commands:")[1]
    assert listed == (importlib.util.find_spec("webapp") is not None)
    assert "waitress" in run("serve", "--help").output


def test_serve_comes_from_the_entry_point_group_and_the_cli_never_imports_webapp():
    from importlib.metadata import entry_points

    import click

    (serve,) = [ep for ep in entry_points(group="giftcert.commands") if ep.name == "serve"]
    assert serve.value == "webapp.cli:serve"
    with click.Context(main) as ctx:
        assert main.get_command(ctx, "serve").callback.__module__ == "webapp.cli"
    code = ("import sys, giftcert.cli; "
            "sys.exit(1 if any(m.split('.')[0] == 'webapp' for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_csv_problems_are_one_line_naming_each_row(run, sdk, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(f"recipient,amount\n{sdk.holder.sender},1\n0x1234,2\n{sdk.friend.sender},-1\n")
    block = sdk.w3.eth.block_number
    one_line_error(run("--account", "1", "issue", "--csv", str(path), "--merchant", "1",
                       ok=False), "fix these rows first", "row 2: to:", "row 3: amount:")
    assert sdk.w3.eth.block_number == block  # nothing sent


def test_only_giftcert_errors_become_one_line():
    """A bug (TypeError, OSError) must show its traceback, not pass for a user's mistake."""
    from giftcert.cli import friendly
    from giftcert.errors import InvalidInput

    def raising(exc: Exception):
        @friendly
        def command() -> None:
            raise exc
        return command

    for bug in (TypeError("bug"), OSError("disk"), KeyError("k")):
        with pytest.raises(type(bug)):
            raising(bug)()
    with pytest.raises(click.ClickException, match="fix it"):
        raising(InvalidInput("fix it"))()



def test_refund_expired_returns_value_to_the_givers(run, sdk):
    sdk.admin.set_min_validity(3600)
    soon = sdk.buyer.now() + 3700
    usd = sdk.buyer.issue(sdk.holder.sender, "4", sdk.coffee_id, "tUSD", expiry=soon)
    eth = sdk.friend.issue(sdk.holder.sender, "0.25", sdk.books_id, "ETH", expiry=soon)
    spent = sdk.buyer.issue(sdk.holder.sender, "1", sdk.coffee_id, "tUSD", expiry=soon)
    sdk.holder.redeem(spent.id, "1", order_ref=9)  # nothing left: not due
    later = sdk.buyer.issue(sdk.holder.sender, "2", sdk.coffee_id, "tUSD",
                            expiry=soon + 10 * DAY)  # not expired yet
    sdk.warp(4000)
    planned = json.loads(run("refund-expired", "--dry-run", "--json").stdout)
    assert {r["id"] for r in planned["refunded"]} >= {str(usd.id), str(eth.id)}
    assert str(later.id) not in {r["id"] for r in planned["refunded"]}
    assert sdk.buyer.certificate(usd.id).exists  # a dry run sends nothing

    tusd = sdk.buyer.token("tUSD").functions.balanceOf(sdk.buyer.sender)
    usd_before = tusd.call()
    eth_before = sdk.w3.eth.get_balance(sdk.friend.sender)
    out = run("--account", "6", "refund-expired")  # a keeper, neither giver, pays the gas
    assert "refunded" in out.output and "0 failed" in out.output
    assert sdk.w3.eth.get_balance(sdk.friend.sender) == eth_before + 25 * 10**16
    assert tusd.call() == usd_before + 4 * 10**6
    for cert in (usd, eth):
        with pytest.raises(ContractRevert):
            sdk.buyer.certificate(cert.id)
    assert sdk.buyer.certificate(later.id).balance == Money(Decimal("2"), "tUSD")
    assert "nothing to refund" in run("refund-expired").output

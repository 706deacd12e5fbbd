"""`giftcert tab ...` against the test anvil: a holder opens a tab and signs running totals, the
merchant verifies and keeps them, settles and runs the keeper; bad input is one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal

from sdk.cli_helpers import one_line_error

from giftcert.money import Money

HOLDER, COFFEE = "2", "4"  # --account: the holder's and Corner Coffee's dev accounts


def test_every_tab_subcommand_has_help(run):
    listed = run("tab", "--help").output
    for command in ("open", "issue", "request-close", "close", "release", "show", "sign",
                    "verify", "settle", "keep"):
        assert command in listed
        assert "Usage:" in run("tab", command, "--help").output


def test_tab_issue_buys_yourself_a_certificate_with_the_tab_open(run, sdk):
    session = "0x" + "ab" * 20
    made = json.loads(run("--account", HOLDER, "tab", "issue", "--amount", "7.5", "--merchant",
                          str(sdk.coffee_id), "--session-key", session, "--json").output)
    assert made["open"] and made["epoch"] == 1 and made["merchant"] == sdk.coffee_id
    assert made["balance"] == {"amount": "7.50", "currency": "tUSD"}
    cert = int(made["certificate"])
    assert sdk.holder.certificate(cert).owner == sdk.holder.sender
    assert sdk.holder.tab(cert).signer.lower() == session
    text = run("--account", HOLDER, "tab", "issue", "--amount", "0.001", "--currency", "ETH",
               "--merchant", str(sdk.coffee_id), "--valid-days", "2000").output
    assert "with a tab open (epoch 1): 0.001 ETH" in text and sdk.holder.sender in text
    one_line_error(run("--account", HOLDER, "tab", "issue", "--amount", "1", "--merchant",
                       "99", ok=False), "99")


def test_a_tab_from_opening_to_the_keeper(run, sdk, tmp_path):
    cert = sdk.buyer.issue(sdk.holder.sender, "20", sdk.coffee_id, "tUSD")
    opened = json.loads(run("--account", HOLDER, "tab", "open", str(cert.id), "--json").output)
    assert opened["open"] and opened["epoch"] == 1 and opened["signer"] == sdk.holder.sender
    assert "balance 20 tUSD" in run("tab", "show", str(cert.id)).output

    first = run("--account", HOLDER, "tab", "sign", str(cert.id), "--total", "3").output.strip()
    assert first.startswith(f"gt1:{cert.id}:1:3000000:0x")
    out = run("--account", COFFEE, "tab", "verify", first, "--keep").output
    assert "ok: total 3 tUSD, this purchase 3 tUSD; kept" in out
    second = run("--account", HOLDER, "tab", "sign", str(cert.id), "--total", "4.5",
                 "--json").output
    path = tmp_path / "voucher.json"
    path.write_text(second)
    data = json.loads(run("--account", COFFEE, "tab", "verify", f"@{path}", "--keep",
                          "--json").output)
    assert data["ok"] and data["kept"] and data["increase"] == {"amount": "1.50",
                                                                "currency": "tUSD"}
    # the first voucher again is below what is kept: refused, one line, exit 1
    one_line_error(run("--account", COFFEE, "tab", "verify", first, "--keep", ok=False),
                   "VoucherBelowPrevious")
    # nothing due below the threshold; then a lower threshold settles the stored voucher
    waiting = run("--account", COFFEE, "tab", "keep", "--merchant", "1", "--threshold",
                  "10 tUSD").output
    assert "nothing due; 1 waiting" in waiting
    kept = json.loads(run("--account", COFFEE, "tab", "keep", "--merchant", "1",
                          "--threshold", "4 tUSD", "--json").output)
    assert [v["cumulative"] for v in kept["settled"]] == ["4500000"]
    assert sdk.holder.tab(cert.id).balance == Money(Decimal("15.5"), "tUSD")
    assert "nothing due; 0 waiting" in run("--account", COFFEE, "tab", "keep", "--merchant",
                                           "1").output
    one_line_error(run("--account", COFFEE, "tab", "verify", first, ok=False), "WrongEpoch")


def test_settle_many_from_a_file_and_from_arguments(run, sdk, tmp_path):
    certs = [sdk.buyer.issue(sdk.holder.sender, "10", sdk.coffee_id, "tUSD") for _ in range(3)]
    for c in certs:
        run("--account", HOLDER, "tab", "open", str(c.id))
    texts = [run("--account", HOLDER, "tab", "sign", str(c.id), "--total", "2").output.strip()
             for c in certs]
    path = tmp_path / "vouchers.txt"
    path.write_text("\n".join(texts[:2]) + "\n")
    out = run("--account", COFFEE, "tab", "settle", "--merchant", "1", "--file", str(path),
              texts[2]).output
    assert out.startswith("settled 3 of 3 in 0x")
    assert all(sdk.holder.tab(c.id).epoch == 2 for c in certs)
    again = run("--account", COFFEE, "tab", "settle", "--merchant", "1", texts[0], ok=False)
    one_line_error(again, "nothing settled", "WrongEpoch")
    fresh = run("--account", HOLDER, "tab", "sign", str(certs[0].id), "--total",
                "1").output.strip()
    mixed = run("--account", COFFEE, "tab", "settle", "--merchant", "1", texts[1],
                fresh).output
    assert "settled 1 of 2" in mixed and "refused #0" in mixed and "WrongEpoch" in mixed
    # the store's vouchers: verified and kept at the till, settled by --stored, then gone
    for c in certs[1:]:
        text = run("--account", HOLDER, "tab", "sign", str(c.id), "--total", "1.5").output
        run("--account", COFFEE, "tab", "verify", text.strip(), "--keep")
    stored = json.loads(run("--account", COFFEE, "tab", "settle", "--merchant", "1", "--stored",
                            "--json").output)
    assert sorted(v["certificate"] for v in stored["settled"]) == sorted(str(c.id)
                                                                         for c in certs[1:])
    one_line_error(run("--account", COFFEE, "tab", "settle", "--merchant", "1", "--stored",
                       ok=False), "no vouchers")


def test_closing_from_the_command_line(run, sdk):
    cert = sdk.buyer.issue(sdk.holder.sender, "5", sdk.coffee_id, "tUSD")
    run("--account", HOLDER, "tab", "open", str(cert.id))
    assert "close requested" in run("--account", HOLDER, "tab", "request-close",
                                    str(cert.id)).output
    one_line_error(run("--account", HOLDER, "tab", "close", str(cert.id), ok=False),
                   "TabCloseDelay")
    one_line_error(run("--account", HOLDER, "tab", "request-close", str(cert.id), ok=False),
                   "TabCloseAlreadyRequested")
    release = run("--account", COFFEE, "tab", "release", str(cert.id)).output.strip()
    assert "closed the tab" in run("--account", HOLDER, "tab", "close", str(cert.id),
                                   "--release", release).output
    run("--account", HOLDER, "tab", "open", str(cert.id))
    assert "closed the tab" in run("--account", COFFEE, "tab", "close", str(cert.id)).output
    one_line_error(run("--account", COFFEE, "tab", "close", str(cert.id), ok=False),
                   "TabNotOpen")


def test_bad_input_is_one_line(run, sdk):
    cert = sdk.buyer.issue(sdk.holder.sender, "5", sdk.coffee_id, "tUSD")
    one_line_error(run("--account", HOLDER, "tab", "sign", str(cert.id), "--total", "1",
                       ok=False), "TabNotOpen")
    one_line_error(run("tab", "verify", "gt1:12:nope", ok=False), "not a tab voucher")
    one_line_error(run("tab", "verify", "@/nonexistent/voucher", ok=False), "cannot read")
    one_line_error(run("tab", "settle", "--merchant", "1", ok=False), "no vouchers")
    one_line_error(run("--account", COFFEE, "tab", "keep", "--merchant", "1", "--threshold",
                       "10", ok=False), "e.g. '10 tUSD'")
    one_line_error(run("--account", HOLDER, "tab", "sign", str(cert.id), "--total", "1.2345678",
                       ok=False), "decimal places")
    one_line_error(run("--account", HOLDER, "tab", "open", str(cert.id), "--session-key",
                       "0x12", ok=False), "not a valid address")


def test_the_tab_command_runs_as_a_module_too(sdk, tmp_path):
    """`python -m giftcert.cli tab ...` (the tab commands import the cli module themselves)."""
    env = {**os.environ, **sdk.env, "GIFTCERT_DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"}
    cert = sdk.buyer.issue(sdk.holder.sender, "5", sdk.coffee_id, "tUSD")
    done = subprocess.run([sys.executable, "-m", "giftcert.cli", "--env-file",
                           str(tmp_path / "none.env"), "tab", "show", str(cert.id), "--json"],
                          env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["open"] is False

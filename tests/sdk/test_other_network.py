"""The same code on another EVM network, configured only by a .env file: a chain that is not
the dev chain (id 11155111, Sepolia's), a key of the operator's own, no dev keys accepted."""

from __future__ import annotations

import json

from click.testing import CliRunner
from eth_account import Account
from web3 import Web3

from giftcert.chain import Anvil
from giftcert.cli import main
from giftcert.config import ANVIL_DEV_KEYS

CHAIN_ID = 11155111


def test_deploy_and_use_on_another_network_from_a_dotenv(tmp_path, monkeypatch):
    for name in [n for n in __import__("os").environ if n.startswith("GIFTCERT_")]:
        monkeypatch.delenv(name)  # only the .env file speaks
    operator, friend = Account.create(), Account.create()
    node = Anvil.on_free_port(chain_id=CHAIN_ID)
    try:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        w3.provider.make_request("anvil_setBalance", [operator.address, hex(10**19)])
        settings = {
            "GIFTCERT_RPC_URL": node.rpc_url, "GIFTCERT_CHAIN_ID": str(CHAIN_ID),
            "GIFTCERT_DEPLOYER_KEY": operator.key.to_0x_hex(),
            "GIFTCERT_STATE_DIR": str(tmp_path / "state"),
            "GIFTCERT_DEPLOYMENTS_DIR": str(tmp_path / "deployments"),
        }
        dotenv = tmp_path / ".env"
        dotenv.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        runner = CliRunner(mix_stderr=False)

        def run(*args: str):
            result = runner.invoke(main, ["--env-file", str(dotenv), *args])
            assert result.exit_code == 0, result.output + result.stderr
            assert operator.key.hex()[-40:] not in result.output + result.stderr
            return result.output

        run("deploy")
        record = tmp_path / "deployments" / f"{CHAIN_ID}.json"
        assert json.loads(record.read_text())["chain_id"] == CHAIN_ID
        assert operator.key.hex()[-40:] not in record.read_text()
        assert json.loads(run("merchant", "add", "Harbour Bakery", operator.address,
                              "--json"))["id"] == 1
        issued = json.loads(run("issue", "--to", friend.address, "--amount", "0.02",
                                "--merchant", "1", "--currency", "ETH", "--json"))
        shown = json.loads(run("show", str(issued["id"]), "--json"))
        assert shown["owner"] == friend.address and shown["balance"]["amount"] == "0.02"
        assert w3.eth.get_balance(json.loads(record.read_text())["gift_certificates"]) == 2 * 10**16

        # Anvil's published dev keys are refused here, with a message that says what to do.
        dotenv.write_text(dotenv.read_text().replace(operator.key.to_0x_hex(),
                                                     ANVIL_DEV_KEYS[0]))
        refused = runner.invoke(main, ["--env-file", str(dotenv), "deploy"])
        assert refused.exit_code != 0
        message = refused.output + refused.stderr
        assert "GIFTCERT_DEPLOYER_KEY" in message and ANVIL_DEV_KEYS[0] not in message
    finally:
        node.stop()

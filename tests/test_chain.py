"""The local chain: anvil start/stop, state surviving a restart, refusing a taken port."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from web3 import Web3

from giftcert.chain import Anvil, ChainError, find_anvil, free_port, port_in_use

RECIPIENT = "0x000000000000000000000000000000000000bEEF"


def test_session_anvil_answers(w3: Web3, dev_accounts) -> None:
    assert w3.eth.chain_id == 31337
    assert w3.eth.get_balance(dev_accounts[0].address) > 0


def test_find_anvil_and_free_port() -> None:
    assert find_anvil().is_file()
    port = free_port()
    assert 0 < port < 65536 and not port_in_use(port)


def test_state_survives_restart(tmp_path: Path, dev_accounts) -> None:
    state = tmp_path / "state" / "anvil-state.json"
    with Anvil(free_port(), state_file=state) as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        tx = w3.eth.send_transaction(
            {"from": dev_accounts[0].address, "to": RECIPIENT, "value": 12345}
        )
        w3.eth.wait_for_transaction_receipt(tx)
        w3.provider.make_request("evm_mine", [])
        block = w3.eth.block_number
    assert block >= 2
    assert state.is_file() and not node.running

    with Anvil(free_port(), state_file=state) as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        assert w3.eth.block_number == block
        assert w3.eth.get_balance(RECIPIENT) == 12345


def test_a_state_file_cut_short_is_refused_in_words_with_the_way_back(
        tmp_path: Path, dev_accounts) -> None:
    """anvil writes its state in place; a kill -9 mid-write leaves a short file. Start says so
    and names the copy it kept at the last start, which starts the chain as it was then."""
    state = tmp_path / "anvil-state.json"
    with Anvil(free_port(), state_file=state) as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction(
            {"from": dev_accounts[0].address, "to": RECIPIENT, "value": 777}))
    with Anvil(free_port(), state_file=state):  # this start keeps the copy
        pass
    copy = state.with_name(state.name + ".last-start")
    assert copy.is_file()
    state.write_bytes(state.read_bytes()[:100])  # what a kill in the middle of a write leaves
    with pytest.raises(ChainError, match=r"cut short .*mv .*last-start") as refused:
        Anvil(free_port(), state_file=state).start()
    assert str(copy) in str(refused.value) and "Traceback" not in str(refused.value)
    copy.replace(state)
    with Anvil(free_port(), state_file=state) as node:
        assert Web3(Web3.HTTPProvider(node.rpc_url)).eth.get_balance(RECIPIENT) == 777


def test_refuses_a_port_in_use() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(ChainError, match=f"port {port} .* already in use"):
            Anvil(port).start()


def test_on_free_port_tries_again_when_the_port_is_taken(monkeypatch) -> None:
    import giftcert.chain as chain

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        # The first port offered is taken by someone else by the time anvil starts.
        offers = iter([taken, free_port()])
        monkeypatch.setattr(chain, "free_port", lambda: next(offers))
        node = Anvil.on_free_port()
        try:
            assert node.port != taken
            assert Web3(Web3.HTTPProvider(node.rpc_url)).eth.chain_id == 31337
        finally:
            node.stop()
        monkeypatch.setattr(chain, "free_port", lambda: taken)
        with pytest.raises(ChainError, match="already in use"):
            Anvil.on_free_port(attempts=2)

"""One exception hierarchy (every contract error a declared class); the ABI ships, cannot drift."""

from __future__ import annotations

import ast
import json
import tomllib
from pathlib import Path

import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector

import giftcert.errors as errors
from giftcert import abis
from giftcert.client import GiftCert
from giftcert.config import PROJECT_ROOT
from giftcert.errors import (
    BUILTIN_ERRORS,
    ContractRevert,
    GiftCertError,
    InsufficientBalance,
    InvalidInput,
    NodeUnreachable,
    UndeclaredRevert,
    UnknownRevert,
    declared_errors,
    decode_revert,
    revert_class,
)
from giftcert.money import ETH


def _abi_errors(abi) -> dict[str, tuple[str, ...]]:
    return {e["name"]: tuple(i["name"] for i in e["inputs"]) for e in abi if e["type"] == "error"}


def test_every_abi_error_has_a_declared_class_and_every_class_an_abi_error():
    in_abi = _abi_errors(abis.load_abi("GiftCertificates"))
    declared = {n: c for n, c in declared_errors().items() if n not in BUILTIN_ERRORS}
    missing, extra = sorted(set(in_abi) - set(declared)), sorted(set(declared) - set(in_abi))
    assert not missing, f"declare these contract errors in giftcert/errors.py: {missing}"
    assert not extra, f"no longer contract errors, delete from giftcert/errors.py: {extra}"
    for name, params in in_abi.items():
        cls = declared[name]
        assert cls.params == params, f"{name}: arguments {cls.params} != ABI {params}"
        assert issubclass(cls, ContractRevert) and cls.error_name == name
        assert cls.__doc__ and cls.__doc__.strip(), f"{name} needs a docstring (its hint)"


def test_classes_are_written_out_not_made_at_run_time():
    tree = ast.parse(Path(errors.__file__).read_text())
    written = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    assert {c.__name__ for c in declared_errors().values()} <= written
    made = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
            and n.func.id == "type" and len(n.args) != 1]  # type(name, bases, dict)
    assert not made


def test_a_hint_is_the_whole_first_paragraph_on_one_line():
    for name, cls in declared_errors().items():
        hint = errors.hint_of(cls)
        assert hint and "\n" not in hint and "  " not in hint, name
        assert hint.endswith("."), f"{name}: a hint is a sentence: {hint!r}"
    closed = errors.hint_of(errors.ClaimWindowClosed)
    assert closed.endswith("(the giver may take it back).")  # docstring's second line too
    assert errors.ClaimWindowClosed({"id": 1, "deadline": 2}).hint == closed


def test_hierarchy_and_decoding():
    assert issubclass(InvalidInput, ValueError) and issubclass(InvalidInput, GiftCertError)
    assert issubclass(ContractRevert, GiftCertError) and issubclass(NodeUnreachable, GiftCertError)
    abi = abis.load_abi()
    selector = function_signature_to_4byte_selector("InsufficientBalance(uint256,uint256,uint256)")
    data = selector + encode(["uint256"] * 3, [7, 1, 2])
    exc = decode_revert(abi, data)
    assert type(exc) is InsufficientBalance is revert_class("InsufficientBalance")
    assert exc.args_by_name == {"id": 7, "balance": 1, "needed": 2} and exc.raw == data
    assert "balance is too small" in exc.hint
    assert isinstance(decode_revert(abi, "0xdeadbeef"), UnknownRevert)
    assert decode_revert(abi, b"").error_name == "UnknownRevert"
    other = [{"type": "error", "name": "HelperOnly", "inputs": [{"name": "x", "type": "uint8"}]}]
    helper = decode_revert(other, function_signature_to_4byte_selector("HelperOnly(uint8)")
                           + encode(["uint8"], [3]))
    assert type(helper) is UndeclaredRevert and helper.error_name == "HelperOnly"
    assert helper.args_by_name == {"x": 3}
    message = decode_revert(abi, function_signature_to_4byte_selector("Error(string)")
                            + encode(["string"], ["no"]))
    assert message.error_name == "Error" and message.args_by_name == {"message": "no"}
    with pytest.raises(KeyError):
        revert_class("NoSuchError")


def test_a_node_that_does_not_answer_is_node_unreachable(sdk):
    from web3 import Web3

    down = Web3(Web3.HTTPProvider("http://127.0.0.1:1", request_kwargs={"timeout": 2}))
    client = GiftCert(down, down.eth.contract(address=sdk.admin.address, abi=abis.load_abi()),
                      sdk.holder.sender, chain_id=31337)
    with pytest.raises(NodeUnreachable):
        client.now()
    with pytest.raises(NodeUnreachable):
        client.certificate(1)
    with pytest.raises(NodeUnreachable):
        client.calls.split(1, "1", sdk.friend.sender)  # reads the certificate's currency
    assert client.currency(0) is ETH  # ETH needs no node


def test_the_shipped_abi_is_the_compiled_one(artifacts):
    drifted = abis.abi_drift(artifacts)
    assert not drifted, (f"giftcert/abi/ is out of date for {drifted}: regenerate it with "
                         f"`{abis.REGENERATE}` and commit giftcert/abi/*.json")


def test_abis_are_package_data_and_drift_is_detected(artifacts, tmp_path):
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    assert "abi/*.json" in pyproject["tool"]["setuptools"]["package-data"]["giftcert"]
    for name in abis.SHIPPED:
        assert (abis.abi_dir() / f"{name}.json").is_file()
    assert abis.write_abis(artifacts, tmp_path) and not abis.write_abis(artifacts, tmp_path)
    assert abis.abi_drift(artifacts, tmp_path) == []
    changed = json.loads((tmp_path / "GiftCertificates.json").read_text())[1:]
    (tmp_path / "GiftCertificates.json").write_text(json.dumps(changed))
    assert abis.abi_drift(artifacts, tmp_path) == ["GiftCertificates"]


def test_connecting_never_compiles(sdk, monkeypatch):
    import giftcert.compiler
    import giftcert.deploy

    def refuse(*args, **kwargs):
        raise AssertionError("connect compiled the contracts")

    monkeypatch.setattr(giftcert.compiler, "compile_contracts", refuse)
    monkeypatch.setattr(giftcert.deploy, "compile_contracts", refuse)
    client, record = giftcert.deploy.connect(sdk.settings)
    assert client.address == sdk.admin.address and client.merchants()
